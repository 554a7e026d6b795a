/**
 * Trampoline links (kernel/bpf/syscall.c: bpf_tracing_prog_attach, bpf_tracing_link_lops; kernel/bpf/trampoline.c):
 * fentry and fexit TRACING programs and BPF LSM programs, attached where their attach_btf_id (checked at load by
 * bpf_check_attach_target) points. The kernel's hooks stand for the BPF trampoline: `fentry:<fn>` and
 * `fexit:<fn>` at every function with a kprobe site, `lsm:<hook>` for `bpf_lsm_<hook>`. A BPF_LINK_TYPE_TRACING
 * link holds the attachment.
 *
 * Also the BPF_LINK_CREATE entry of TRACING and LSM programs (link_create's `case BPF_PROG_TYPE_LSM: case
 * BPF_PROG_TYPE_TRACING:`).
 */
import { fentryHookName, fexitHookName, fmodRetHookName, type HookPoint, type Task } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_ATTR_LAYOUTS, BPF_LINK_INFO_TRACING as TRACING_LINK_INFO, BPF_LINK_TYPE, BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { BpfLink, BpfLinkOps } from '../syscall/link.js';
import type { ProgObject } from '../syscall/prog.js';
import { BpfAttachment } from './hook-program.js';
import type { LinkCreateRequest } from './link-create.js';
import { attrU64, rawTpLinkAttach, tpBtfName } from './raw-tp-link.js';

/** sizeof(struct bpf_tracing_link) on x86_64 Linux 6.18 (its vmlinux BTF: struct bpf_tramp_link, trampoline, tgt_prog). */
const TRACING_LINK_SIZE = 128;

/** BPF_MAX_TRAMP_LINKS on x86_64 (include/linux/bpf.h): programs one trampoline takes; more is E2BIG. */
export const BPF_MAX_TRAMP_LINKS = 38;

/** The prefix of the functions BPF LSM programs attach to (kernel/bpf/bpf_lsm.c: `bpf_lsm_<hook>`). */
const BPF_LSM_PREFIX = 'bpf_lsm_';

/** The type's part of struct bpf_tracing_link. */
export interface TracingLinkData {
  /** The link's attach type (the program's expected_attach_type). */
  readonly attachType: number;
  /** The trampoline's key unpacked: the BTF object (vmlinux's id) and the function's BTF id. */
  readonly targetObjId: number;
  readonly targetBtfId: number;
  readonly cookie: bigint;
  readonly hook: HookPoint;
  readonly attachment: BpfAttachment;
  detach: (() => void) | undefined;
}

/** Programs linked to a trampoline now (prog->aux: a program is on at most one trampoline at a time here). */
const linked = new WeakSet<ProgObject>();

function release(link: BpfLink): void {
  const data = link.data as TracingLinkData;
  if (data.detach === undefined) return;
  data.detach();
  data.detach = undefined;
  linked.delete(link.prog);
}

/** bpf_tracing_link_lops: release, show_fdinfo and fill_link_info (LINK_DETACH answers EOPNOTSUPP, LINK_UPDATE EINVAL). */
export const TRACING_LINK_OPS: BpfLinkOps = {
  type: BPF_LINK_TYPE.TRACING,
  objectSize: TRACING_LINK_SIZE,
  release,
  fillInfo: (link, info) => {
    const data = link.data as TracingLinkData;
    info.setUint32(TRACING_LINK_INFO.attach_type, data.attachType, true);
    info.setUint32(TRACING_LINK_INFO.target_obj_id, data.targetObjId, true);
    info.setUint32(TRACING_LINK_INFO.target_btf_id, data.targetBtfId, true);
    info.setBigUint64(TRACING_LINK_INFO.cookie, data.cookie, true);
    return 0;
  },
  // bpf_tracing_link_show_fdinfo.
  showFdinfo: (link) => {
    const data = link.data as TracingLinkData;
    return `attach_type:\t${data.attachType}\ntarget_obj_id:\t${data.targetObjId}\ntarget_btf_id:\t${data.targetBtfId}\ncookie:\t${data.cookie}\n`;
  },
};

/**
 * The hook standing for the trampoline of `prog`'s target: fentry/fmod_ret/fexit at the function, the LSM hook
 * of a `bpf_lsm_<hook>` target. Undefined for a target this kernel has no site for.
 */
function trampolineHook(bpf: BpfSyscall, prog: ProgObject): HookPoint | undefined {
  const name = bpf.progs.vmlinux?.btf.types[prog.attachBtfId]?.name;
  const hooks = bpf.hookPoints;
  if (name === undefined || hooks === undefined) return undefined;
  switch (prog.expectedAttachType) {
    case BPF_ATTACH_TYPE.TRACE_FENTRY:
      return hooks.get(fentryHookName(name));
    case BPF_ATTACH_TYPE.TRACE_FEXIT:
      return hooks.get(fexitHookName(name));
    case BPF_ATTACH_TYPE.MODIFY_RETURN:
      return hooks.get(fmodRetHookName(name));
    case BPF_ATTACH_TYPE.LSM_MAC:
      return name.startsWith(BPF_LSM_PREFIX) ? hooks.get(`lsm:${name.slice(BPF_LSM_PREFIX.length)}`) : undefined;
    default:
      return undefined;
  }
}

/**
 * bpf_tracing_prog_attach with no target program: the link's fd, or -errno (the caller drops its program
 * reference on failure). `tgtProgFd` and `btfId` name another attach target (a program, for EXT and fentry on
 * BPF programs): not modelled, so only their absence passes.
 */
export function tracingProgAttach(bpf: BpfSyscall, task: Task, prog: ProgObject, tgtProgFd: number, btfId: number, cookie: bigint): number {
  const A = BPF_ATTACH_TYPE;
  switch (prog.progType) {
    case BPF_PROG_TYPE.TRACING:
      if (prog.expectedAttachType !== A.TRACE_FENTRY && prog.expectedAttachType !== A.TRACE_FEXIT && prog.expectedAttachType !== A.MODIFY_RETURN)
        return -Errno.EINVAL;
      break;
    case BPF_PROG_TYPE.EXT:
      if (prog.expectedAttachType !== 0) return -Errno.EINVAL;
      break;
    case BPF_PROG_TYPE.LSM:
      if (prog.expectedAttachType !== A.LSM_MAC) return -Errno.EINVAL;
      break;
    default:
      return -Errno.EINVAL;
  }
  if ((tgtProgFd !== 0) !== (btfId !== 0)) return -Errno.EINVAL;
  // "For now we only allow new targets for BPF_PROG_TYPE_EXT": and EXT's target programs are not modelled.
  if (tgtProgFd !== 0) return -Errno.EINVAL;
  // Re-attach (or first attach) to the program's own attach_btf_id: TRACING and LSM only, with a BTF target.
  if (prog.progType !== BPF_PROG_TYPE.TRACING && prog.progType !== BPF_PROG_TYPE.LSM) return -Errno.EINVAL;
  if (prog.attachBtfId === 0) return -Errno.EINVAL;
  const hook = trampolineHook(bpf, prog);
  if (hook === undefined) return -Errno.EINVAL;
  // __bpf_trampoline_link_prog: a program already on the trampoline is EBUSY; a full trampoline E2BIG.
  if (linked.has(prog)) return -Errno.EBUSY;
  if (hook.programs.length >= BPF_MAX_TRAMP_LINKS) return -Errno.E2BIG;
  const attachment = new BpfAttachment(bpf.runtime, prog, cookie);
  const data: TracingLinkData = {
    attachType: prog.expectedAttachType,
    targetObjId: bpf.progs.vmlinuxObjectId,
    targetBtfId: prog.attachBtfId,
    cookie,
    hook,
    attachment,
    detach: undefined,
  };
  const primer = bpf.links.prime(TRACING_LINK_OPS, prog, data);
  if (typeof primer === 'number') return primer;
  data.detach = hook.attach(attachment);
  linked.add(prog);
  return bpf.links.settle(task, primer);
}

const C = BPF_ATTR_LAYOUTS.LINK_CREATE;

/**
 * link_create for TRACING and LSM programs: attach_type must be the program's expected_attach_type; tp_btf makes
 * a raw tracepoint link, fentry/fexit/fmod_ret/lsm a trampoline link (link_create.tracing.cookie for both).
 * BPF_TRACE_ITER (iterators) and BPF_LSM_CGROUP programs are not modelled (they do not load here).
 */
export function tracingLinkCreate(request: LinkCreateRequest): number {
  const { bpf, task, prog, attachType } = request;
  if (attachType !== prog.expectedAttachType) return -Errno.EINVAL;
  const cookie = attrU64(bpf, C.tracing_cookie.offset);
  if (prog.expectedAttachType === BPF_ATTACH_TYPE.TRACE_RAW_TP) {
    const name = tpBtfName(bpf, prog);
    return name === undefined ? -Errno.EINVAL : rawTpLinkAttach(bpf, task, prog, name, cookie);
  }
  return tracingProgAttach(bpf, task, prog, request.targetFd, bpf.u32(C.target_btf_id.offset), cookie);
}
