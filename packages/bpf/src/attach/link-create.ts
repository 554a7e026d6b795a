/**
 * BPF_LINK_CREATE (kernel/bpf/syscall.c: link_create): take the program behind prog_fd, then hand the
 * request to the attach path of the program's type, as Linux's `switch (prog->type)` does. Each attach path
 * has its {@link LinkCreateHandler} (in its own file) and an entry in LINK_CREATE_HANDLERS; a program type
 * with no attach path gets EINVAL, as Linux's `default:`.
 *
 * bpf_prog_attach_check_attach_type is each handler's first step (its rule differs by type).
 */
import type { Task, UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_ATTR_LAYOUTS, BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { ProgObject } from '../syscall/prog.js';
import { tcxLinkCreate } from './tcx.js';
import { xdpLinkCreate } from './xdp-link.js';
import { perfLinkCreate } from './perf-link.js';
import { tracingLinkCreate } from './tracing-link.js';
import { cgroupLinkCreate } from './cgroup-link.js';
import { structOpsLinkCreate } from './struct-ops-link.js';

const C = BPF_ATTR_LAYOUTS.LINK_CREATE;

/** One BPF_LINK_CREATE in progress, its attr block read through `bpf.u32(...)` / `bpf.u64(...)` at LINK_CREATE's offsets. */
export interface LinkCreateRequest {
  readonly bpf: BpfSyscall;
  readonly task: Task;
  readonly mm: UserCopy;
  /**
   * The program, with a reference the handler owns: on success it passes to the link
   * (`bpf.links.prime(ops, prog, ...)`); on failure (a negative return) the caller drops it.
   */
  readonly prog: ProgObject;
  /** link_create.attach_type. */
  readonly attachType: number;
  /** link_create.target_fd (target_ifindex for XDP and tcx). */
  readonly targetFd: number;
  /** link_create.flags. */
  readonly flags: number;
}

/** An attach path: the new link's fd, or -errno (with the program reference left for the caller to drop). */
export type LinkCreateHandler = (request: LinkCreateRequest) => number;

/**
 * The attach path of each program type (BPF_PROG_TYPE -> handler), as Linux's switch in link_create. Each
 * attach-path file exports its handler and adds its program types here.
 */
const LINK_CREATE_HANDLERS: ReadonlyMap<number, LinkCreateHandler> = new Map<number, LinkCreateHandler>([
  [BPF_PROG_TYPE.XDP, xdpLinkCreate],
  [BPF_PROG_TYPE.SCHED_CLS, tcxLinkCreate],
  [BPF_PROG_TYPE.KPROBE, perfLinkCreate],
  [BPF_PROG_TYPE.TRACEPOINT, perfLinkCreate],
  [BPF_PROG_TYPE.PERF_EVENT, perfLinkCreate],
  [BPF_PROG_TYPE.TRACING, tracingLinkCreate],
  [BPF_PROG_TYPE.LSM, tracingLinkCreate],
  [BPF_PROG_TYPE.CGROUP_SKB, cgroupLinkCreate],
  [BPF_PROG_TYPE.CGROUP_SOCK, cgroupLinkCreate],
]);

/** link_create, after CHECK_ATTR (the syscall's command table checks the tail past uprobe_multi.pid). */
export function linkCreate(bpf: BpfSyscall, task: Task, mm: UserCopy): number {
  // A struct_ops link names a map (map_fd in prog_fd's place), not a program: taken before any program, as Linux.
  if (bpf.u32(C.attach_type.offset) === BPF_ATTACH_TYPE.STRUCT_OPS) return structOpsLinkCreate(bpf, task);
  const prog = bpf.progFromFd(task, bpf.u32(C.prog_fd.offset));
  if (typeof prog === 'number') return prog;
  prog.refs++;
  const handler = LINK_CREATE_HANDLERS.get(prog.progType);
  const ret =
    handler === undefined
      ? -Errno.EINVAL
      : handler({ bpf, task, mm, prog, attachType: bpf.u32(C.attach_type.offset), targetFd: bpf.u32(C.target_fd.offset), flags: bpf.u32(C.flags.offset) });
  if (ret < 0) bpf.progs.put(prog);
  return ret;
}
