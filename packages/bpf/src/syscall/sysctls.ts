/**
 * The bpf subsystem's sysctls (kernel/bpf/syscall.c bpf_syscall_table, net/core/sysctl_net_core.c):
 * kernel.unprivileged_bpf_disabled, kernel.bpf_stats_enabled and net.core.bpf_jit_enable, with Linux's write
 * rules. Writing any of them needs CAP_SYS_ADMIN.
 */
import { hasCapability, type SysctlEntry, type Sysctls, type Task } from '@ebpf-sim/kernel';
import { CAP, Errno } from '@ebpf-sim/uapi';
import { UNPRIV_DEFAULT, unprivWrite } from './permissions.js';

export interface BpfSysctls {
  readonly unprivBpfDisabled: SysctlEntry;
  readonly statsEnabled: SysctlEntry;
  readonly jitEnable: SysctlEntry;
}

const admin = (task: Task): boolean => hasCapability(task.group.cred, CAP.SYS_ADMIN);

/** proc_dointvec_minmax's range check: 0 in range, else -EINVAL. */
const inRange = (value: number, min: number, max: number): number => (Number.isInteger(value) && value >= min && value <= max ? 0 : -Errno.EINVAL);

/**
 * Register the three sysctls. `statsKey` is bpf_stats_enabled_key: kernel.bpf_stats_enabled adds one to it
 * while set (bpf_stats_handler), as each ENABLE_STATS fd does; the file shows the sysctl's own setting.
 */
export function registerBpfSysctls(sysctl: Sysctls, statsKey: { enabled: number }): BpfSysctls {
  const unprivBpfDisabled = sysctl.register('kernel.unprivileged_bpf_disabled', UNPRIV_DEFAULT, (task, value, old) =>
    admin(task) ? unprivWrite(value, old) : -Errno.EPERM,
  );
  const statsEnabled = sysctl.register('kernel.bpf_stats_enabled', 0, (task, value, old) => {
    if (!admin(task)) return -Errno.EPERM;
    const bad = inRange(value, 0, 1);
    if (bad !== 0) return bad;
    statsKey.enabled += value - old;
    return 0;
  });
  // 0: interpreter, 1: JIT, 2: JIT with debug output (runs as 1 here). Kernels built with
  // CONFIG_BPF_JIT_ALWAYS_ON refuse 0; this one has the interpreter, as the issue asks.
  const jitEnable = sysctl.register('net.core.bpf_jit_enable', 1, (task, value) => (admin(task) ? inRange(value, 0, 2) : -Errno.EPERM));
  return { unprivBpfDisabled, statsEnabled, jitEnable };
}
