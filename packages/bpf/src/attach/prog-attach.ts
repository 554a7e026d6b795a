/**
 * BPF_PROG_ATTACH, BPF_PROG_DETACH and BPF_PROG_QUERY (kernel/bpf/syscall.c bpf_prog_attach, bpf_prog_detach,
 * bpf_prog_query): attachments without a link, held by the attach point until detached. The attach type
 * names the program type (attach_type_to_prog_type); each program type's attach point is an entry of the
 * tables below, as Linux's switches. tcx and the cgroup types (CGROUP_SKB, CGROUP_SOCK: cgroup-link.ts) are
 * modelled (sockmaps, lirc and the flow dissector are not): their attach types answer EINVAL, as a kernel built
 * without them does.
 */
import { hasCapability, type Task, type UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_ATTR_LAYOUTS, BPF_F_ATTACH, BPF_F_QUERY_EFFECTIVE, BPF_PROG_TYPE, CAP, Errno } from '@ebpf-sim/uapi';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { ProgObject } from '../syscall/prog.js';
import { tcxProgAttach, tcxProgDetach, tcxProgQuery } from './tcx.js';
import { CGROUP_PROG_TYPE_OF_ATTACH_TYPE } from './cgroup.js';
import { cgroupProgAttach, cgroupProgDetach, cgroupProgQuery } from './cgroup-link.js';

/** attach_type_to_prog_type for the attach types of modelled attach points (others: BPF_PROG_TYPE_UNSPEC). */
const PROG_TYPE_OF_ATTACH_TYPE: ReadonlyMap<number, number> = new Map([
  [BPF_ATTACH_TYPE.TCX_INGRESS, BPF_PROG_TYPE.SCHED_CLS],
  [BPF_ATTACH_TYPE.TCX_EGRESS, BPF_PROG_TYPE.SCHED_CLS],
  [BPF_ATTACH_TYPE.XDP, BPF_PROG_TYPE.XDP],
  ...CGROUP_PROG_TYPE_OF_ATTACH_TYPE,
]);

/** is_cgroup_prog_type: attach flags may carry the mprog placement bits, relative_fd and expected_revision too. */
const CGROUP_PROG_TYPES: ReadonlySet<number> = new Set(CGROUP_PROG_TYPE_OF_ATTACH_TYPE.values());

/** bpf_mprog_supported: the program types whose attach points are bpf_mprog arrays. */
const MPROG_PROG_TYPES: ReadonlySet<number> = new Set([BPF_PROG_TYPE.SCHED_CLS]);

/** BPF_F_ATTACH_MASK_BASE and BPF_F_ATTACH_MASK_MPROG. */
const ATTACH_MASK_BASE = BPF_F_ATTACH.ALLOW_OVERRIDE | BPF_F_ATTACH.ALLOW_MULTI | BPF_F_ATTACH.REPLACE;
const ATTACH_MASK_MPROG = BPF_F_ATTACH.REPLACE | BPF_F_ATTACH.BEFORE | BPF_F_ATTACH.AFTER | BPF_F_ATTACH.ID | BPF_F_ATTACH.LINK;

/** One program type's non-link attach point: attach (taking the caller's program reference on success) and detach. */
interface ProgAttachPoint {
  attach(bpf: BpfSyscall, task: Task, prog: ProgObject): number;
  detach(bpf: BpfSyscall, task: Task, prog: ProgObject | null): number;
}

/** bpf_prog_attach's and bpf_prog_detach's switch on the program type. */
const ATTACH_POINTS: ReadonlyMap<number, ProgAttachPoint> = new Map([
  [BPF_PROG_TYPE.SCHED_CLS, { attach: tcxProgAttach, detach: tcxProgDetach }],
  [BPF_PROG_TYPE.CGROUP_SKB, { attach: cgroupProgAttach, detach: cgroupProgDetach }],
  [BPF_PROG_TYPE.CGROUP_SOCK, { attach: cgroupProgAttach, detach: cgroupProgDetach }],
]);

/** bpf_prog_query's switch on the attach type. */
const QUERY_POINTS: ReadonlyMap<number, (bpf: BpfSyscall, mm: UserCopy, uattr: number, task: Task) => number> = new Map([
  [BPF_ATTACH_TYPE.TCX_INGRESS, tcxProgQuery],
  [BPF_ATTACH_TYPE.TCX_EGRESS, tcxProgQuery],
  ...[...CGROUP_PROG_TYPE_OF_ATTACH_TYPE.keys()].map((type) => [type, cgroupProgQuery] as const),
]);

/**
 * bpf_prog_attach_check_attach_type for the non-link path: SCHED_CLS programs go to tcx only; the other types
 * must be the attach type's program type.
 */
function checkAttachType(prog: ProgObject, attachType: number): boolean {
  if (prog.progType === BPF_PROG_TYPE.SCHED_CLS) return attachType === BPF_ATTACH_TYPE.TCX_INGRESS || attachType === BPF_ATTACH_TYPE.TCX_EGRESS;
  // The cgroup types' rule (with its EPERM for CGROUP_SKB without CAP_NET_ADMIN) is cgroupProgAttach's first step.
  if (CGROUP_PROG_TYPES.has(prog.progType)) return true;
  return PROG_TYPE_OF_ATTACH_TYPE.get(attachType) === prog.progType;
}

/** bpf_prog_attach (after CHECK_ATTR). */
export function progAttach(bpf: BpfSyscall, task: Task): number {
  const A = BPF_ATTR_LAYOUTS.PROG_ATTACH;
  const ptype = PROG_TYPE_OF_ATTACH_TYPE.get(bpf.u32(A.attach_type.offset));
  if (ptype === undefined) return -Errno.EINVAL;
  const flags = bpf.u32(A.attach_flags.offset);
  if (MPROG_PROG_TYPES.has(ptype)) {
    if ((flags & ~ATTACH_MASK_MPROG) !== 0) return -Errno.EINVAL;
  } else if (CGROUP_PROG_TYPES.has(ptype)) {
    if ((flags & ~(ATTACH_MASK_BASE | ATTACH_MASK_MPROG)) !== 0) return -Errno.EINVAL;
  } else {
    if ((flags & ~ATTACH_MASK_BASE) !== 0) return -Errno.EINVAL;
    if (bpf.u32(A.relative_fd.offset) !== 0 || bpf.u64(A.expected_revision.offset) !== 0) return -Errno.EINVAL;
  }
  // bpf_prog_get_type: the program must be of the attach type's program type.
  const prog = bpf.progFromFd(task, bpf.u32(A.attach_bpf_fd.offset));
  if (typeof prog === 'number') return prog;
  if (prog.progType !== ptype) return -Errno.EINVAL;
  if (!checkAttachType(prog, bpf.u32(A.attach_type.offset))) return -Errno.EINVAL;
  const point = ATTACH_POINTS.get(ptype);
  if (point === undefined) return -Errno.EINVAL;
  prog.refs++;
  const ret = point.attach(bpf, task, prog);
  if (ret !== 0) bpf.progs.put(prog);
  return ret;
}

/** bpf_prog_detach (after CHECK_ATTR). */
export function progDetach(bpf: BpfSyscall, task: Task): number {
  const D = BPF_ATTR_LAYOUTS.PROG_DETACH;
  const ptype = PROG_TYPE_OF_ATTACH_TYPE.get(bpf.u32(D.attach_type.offset));
  let prog: ProgObject | null = null;
  if (ptype !== undefined && MPROG_PROG_TYPES.has(ptype)) {
    if ((bpf.u32(D.attach_flags.offset) & ~ATTACH_MASK_MPROG) !== 0) return -Errno.EINVAL;
    const fd = bpf.u32(D.attach_bpf_fd.offset);
    if (fd !== 0) {
      const found = bpf.progFromFd(task, fd);
      if (typeof found === 'number') return found;
      if (found.progType !== ptype) return -Errno.EINVAL;
      prog = found;
    }
  } else if (ptype !== undefined && CGROUP_PROG_TYPES.has(ptype)) {
    if (bpf.u32(D.attach_flags.offset) !== 0 || bpf.u32(D.relative_fd.offset) !== 0) return -Errno.EINVAL;
  } else if (bpf.u32(D.attach_flags.offset) !== 0 || bpf.u32(D.relative_fd.offset) !== 0 || bpf.u64(D.expected_revision.offset) !== 0) {
    return -Errno.EINVAL;
  }
  const point = ptype === undefined ? undefined : ATTACH_POINTS.get(ptype);
  return point === undefined ? -Errno.EINVAL : point.detach(bpf, task, prog);
}

/** bpf_prog_query (after CHECK_ATTR): CAP_NET_ADMIN, only BPF_F_QUERY_EFFECTIVE, then the attach type's query. */
export function progQuery(bpf: BpfSyscall, task: Task, mm: UserCopy, uattr: number): number {
  if (!hasCapability(task.group.cred, CAP.NET_ADMIN)) return -Errno.EPERM;
  const Q = BPF_ATTR_LAYOUTS.PROG_QUERY;
  if ((bpf.u32(Q.query_flags.offset) & ~BPF_F_QUERY_EFFECTIVE) !== 0) return -Errno.EINVAL;
  const query = QUERY_POINTS.get(bpf.u32(Q.attach_type.offset));
  return query === undefined ? -Errno.EINVAL : query(bpf, mm, uattr, task);
}
