/**
 * Which programs may load with BPF_F_SLEEPABLE, as Linux 6.18 decides before verifying (kernel/bpf/verifier.c
 * check_attach_btf_id and bpf_check_attach_target): only some program types (can_be_sleepable), and among fentry/
 * fexit/fmod_ret and LSM programs only those attached where sleeping is allowed: a function on the error-injection
 * list (ALLOW_ERROR_INJECTION, the syscall wrappers here) or an LSM hook of bpf_lsm.c's sleepable_lsm_hooks set.
 * SYSCALL programs, which load only as sleepable, are prog-types/syscall.ts's `onlySleepable`. A sleepable program
 * is then verified with `sleepable` (the verifier's sleepable.ts: helpers that may sleep, RCU sections).
 */
import { errorInjectionType } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_PROG_F, BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import { BtfKind } from '@ebpf-sim/btf';
import { INSN_LIMIT } from '@ebpf-sim/verifier';
import type { KernelBtf } from '../vmlinux/btf-attach.js';

/** The refusal BPF_PROG_LOAD answers with: the log, and -errno. */
export interface SleepableRefusal {
  readonly log: string;
  readonly program: number;
}

/** The statistics line a refusal before the verifier's walk still ends the log with (print_verification_stats). */
const PROCESSED_NONE = `processed 0 insns (limit ${INSN_LIMIT}) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n`;

/** can_be_sleepable's TRACING attach types. */
const SLEEPABLE_TRACING: ReadonlySet<number> = new Set([
  BPF_ATTACH_TYPE.TRACE_FENTRY,
  BPF_ATTACH_TYPE.TRACE_FEXIT,
  BPF_ATTACH_TYPE.MODIFY_RETURN,
  BPF_ATTACH_TYPE.TRACE_ITER,
]);

/**
 * can_be_sleepable: fentry/fexit/fmod_ret/iter tracing programs, LSM, KPROBE (only uprobes, checked when attaching)
 * and STRUCT_OPS programs.
 */
export function canBeSleepable(progType: number, expectedAttachType: number): boolean {
  if (progType === BPF_PROG_TYPE.TRACING) return SLEEPABLE_TRACING.has(expectedAttachType);
  return progType === BPF_PROG_TYPE.LSM || progType === BPF_PROG_TYPE.KPROBE || progType === BPF_PROG_TYPE.STRUCT_OPS;
}

/**
 * bpf_lsm.c's sleepable_lsm_hooks (Linux 6.18; the hooks under CONFIG_SECURITY_NETWORK, _PATH and KEYS are in it
 * too): hooks called where the caller may sleep. Others (task_kill, ...) take only non-sleepable programs.
 */
const SLEEPABLE_LSM_HOOKS: ReadonlySet<string> = new Set(
  [
    'bpf',
    'bpf_map',
    'bpf_map_create',
    'bpf_map_free',
    'bpf_prog',
    'bpf_prog_load',
    'bpf_prog_free',
    'bpf_token_create',
    'bpf_token_free',
    'bpf_token_cmd',
    'bpf_token_capable',
    'bprm_check_security',
    'bprm_committed_creds',
    'bprm_committing_creds',
    'bprm_creds_for_exec',
    'bprm_creds_from_file',
    'capget',
    'capset',
    'cred_prepare',
    'file_ioctl',
    'file_lock',
    'file_open',
    'file_post_open',
    'file_receive',
    'inode_create',
    'inode_free_security',
    'inode_getattr',
    'inode_getxattr',
    'inode_mknod',
    'inode_need_killpriv',
    'inode_post_setxattr',
    'inode_post_removexattr',
    'inode_readlink',
    'inode_removexattr',
    'inode_rename',
    'inode_rmdir',
    'inode_setattr',
    'inode_setxattr',
    'inode_symlink',
    'inode_unlink',
    'kernel_module_request',
    'kernel_read_file',
    'kernfs_init_security',
    'mmap_file',
    'sb_alloc_security',
    'sb_eat_lsm_opts',
    'sb_kern_mount',
    'sb_mount',
    'sb_remount',
    'sb_set_mnt_opts',
    'sb_show_options',
    'sb_statfs',
    'sb_umount',
    'settime',
    'socket_accept',
    'socket_bind',
    'socket_connect',
    'socket_create',
    'socket_getpeername',
    'socket_getpeersec_dgram',
    'socket_getsockname',
    'socket_getsockopt',
    'socket_listen',
    'socket_post_create',
    'socket_recvmsg',
    'socket_sendmsg',
    'socket_shutdown',
    'socket_socketpair',
    'syslog',
    'task_alloc',
    'task_getsecid_obj',
    'task_prctl',
    'task_setscheduler',
    'task_to_inode',
    'userns_create',
  ].map((hook) => `bpf_lsm_${hook}`),
);

/**
 * check_attach_btf_id's refusal of BPF_F_SLEEPABLE for a program type that cannot sleep (before the attach target
 * is looked at), or undefined.
 */
export function sleepableTypeRefusal(progType: number, expectedAttachType: number, progFlags: number): SleepableRefusal | undefined {
  if ((progFlags & BPF_PROG_F.SLEEPABLE) === 0 || progType === BPF_PROG_TYPE.SYSCALL || canBeSleepable(progType, expectedAttachType)) return undefined;
  return { log: `Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable\n${PROCESSED_NONE}`, program: -Errno.EINVAL };
}

/**
 * bpf_check_attach_target's sleepable check for fentry/fexit/fmod_ret and LSM programs: `<function> is not
 * sleepable` unless the target may sleep. Undefined when the program is not sleepable, is of another kind, or names
 * no function (the attach-target checks refuse that with their own line).
 */
export function sleepableTargetRefusal(
  vmlinux: KernelBtf | undefined,
  progType: number,
  expectedAttachType: number,
  attachBtfId: number,
  progFlags: number,
): SleepableRefusal | undefined {
  if ((progFlags & BPF_PROG_F.SLEEPABLE) === 0 || vmlinux === undefined || attachBtfId === 0) return undefined;
  const isLsm = progType === BPF_PROG_TYPE.LSM;
  if (!isLsm && !(progType === BPF_PROG_TYPE.TRACING && expectedAttachType !== BPF_ATTACH_TYPE.TRACE_ITER && SLEEPABLE_TRACING.has(expectedAttachType))) {
    return undefined;
  }
  const t = vmlinux.btf.types[attachBtfId];
  if (t?.kind !== BtfKind.FUNC || t.name === '') return undefined;
  const sleepable = isLsm ? SLEEPABLE_LSM_HOOKS.has(t.name) : errorInjectionType(t.name) !== undefined;
  return sleepable ? undefined : { log: `${t.name} is not sleepable\n${PROCESSED_NONE}`, program: -Errno.EINVAL };
}
