/**
 * tcx (kernel/bpf/tcx.c): SCHED_CLS programs on a device's ingress or egress, kept in a {@link MprogEntry} per
 * device and direction and run by the stack at `dev.tcIngress` / `dev.tcEgress` (tcx_run: the first verdict
 * other than TCX_NEXT wins). Attached by BPF_LINK_CREATE (BPF_TCX_INGRESS / BPF_TCX_EGRESS: a tcx link) or by
 * BPF_PROG_ATTACH (the program held by the device until BPF_PROG_DETACH), listed by BPF_PROG_QUERY.
 *
 * As Linux, the entry exists only while it holds programs: the last detach frees it (a query then answers
 * count 0, revision 1) and the next attach starts again at revision 1.
 */
import type { HookPoint, NetDevice, Task, UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_ATTR_LAYOUTS, BPF_F_ATTACH, BPF_LINK_INFO_TCX, BPF_LINK_TYPE, Errno } from '@ebpf-sim/uapi';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { BpfLink, BpfLinkOps } from '../syscall/link.js';
import type { ProgObject } from '../syscall/prog.js';
import type { LinkCreateHandler } from './link-create.js';
import { MprogEntry } from './mprog.js';

/** The tcx entry of each hook point (a device's ingress or egress), while it has programs. */
const entries = new WeakMap<HookPoint, MprogEntry>();

/** The hook of `attachType` on `dev` (BPF_TCX_INGRESS or BPF_TCX_EGRESS). */
function tcxHook(dev: NetDevice, attachType: number): HookPoint {
  return attachType === BPF_ATTACH_TYPE.TCX_INGRESS ? dev.tcIngress : dev.tcEgress;
}

/** tcx_entry_fetch_or_create. */
function fetchOrCreate(bpf: BpfSyscall, hook: HookPoint): { entry: MprogEntry; created: boolean } {
  const entry = entries.get(hook);
  if (entry !== undefined) return { entry, created: false };
  const fresh = new MprogEntry(bpf, hook);
  entries.set(hook, fresh);
  return { entry: fresh, created: true };
}

/** After a detach: an entry with no program left is freed (tcx_entry_is_active false: tcx_entry_free). */
function dropIfEmpty(hook: HookPoint, entry: MprogEntry): void {
  if (entry.total !== 0) return;
  entry.uninstall();
  entries.delete(hook);
}

/** The programs at a device's ingress or egress, in run order (for the CLI's `net show` and tests). */
export function tcxEntry(dev: NetDevice, attachType: number): MprogEntry | undefined {
  return entries.get(tcxHook(dev, attachType));
}

/** tcx_prog_attach: BPF_PROG_ATTACH of a SCHED_CLS program (the entry takes the caller's reference on success). */
export function tcxProgAttach(bpf: BpfSyscall, task: Task, prog: ProgObject): number {
  const A = BPF_ATTR_LAYOUTS.PROG_ATTACH;
  const dev = bpf.netDevice(bpf.u32(A.target_ifindex.offset));
  if (dev === undefined) return -Errno.ENODEV;
  const flags = bpf.u32(A.attach_flags.offset);
  let replace: ProgObject | null = null;
  if ((flags & BPF_F_ATTACH.REPLACE) !== 0) {
    // bpf_prog_get_type(replace_bpf_fd, prog->type).
    const old = bpf.progFromFd(task, bpf.u32(A.replace_bpf_fd.offset));
    if (typeof old === 'number') return old;
    if (old.progType !== prog.progType) return -Errno.EINVAL;
    replace = old;
  }
  const hook = tcxHook(dev, bpf.u32(A.attach_type.offset));
  const { entry, created } = fetchOrCreate(bpf, hook);
  const ret = entry.attach(task, prog, null, replace, flags, bpf.u32(A.relative_fd.offset), bpf.u64(A.expected_revision.offset));
  if (ret === 0) entry.commit();
  else if (created) dropIfEmpty(hook, entry);
  return ret;
}

/** tcx_prog_detach: BPF_PROG_DETACH (prog null: the one the placement flags name). */
export function tcxProgDetach(bpf: BpfSyscall, task: Task, prog: ProgObject | null): number {
  const D = BPF_ATTR_LAYOUTS.PROG_DETACH;
  const dev = bpf.netDevice(bpf.u32(D.target_ifindex.offset));
  if (dev === undefined) return -Errno.ENODEV;
  const hook = tcxHook(dev, bpf.u32(D.attach_type.offset));
  const entry = entries.get(hook);
  if (entry === undefined) return -Errno.ENOENT;
  const ret = entry.detach(task, prog, null, bpf.u32(D.attach_flags.offset), bpf.u32(D.relative_fd.offset), bpf.u64(D.expected_revision.offset));
  if (ret !== 0) return ret;
  entry.commit();
  dropIfEmpty(hook, entry);
  return 0;
}

/**
 * tcx_prog_query: ENODEV for no device, else bpf_mprog_query, which answers for a direction with nothing attached
 * too: count 0 and revision 1, what a fresh entry has (Linux 6.18 passes it a NULL entry; verified on 6.18).
 */
export function tcxProgQuery(bpf: BpfSyscall, mm: UserCopy, uattr: number): number {
  const Q = BPF_ATTR_LAYOUTS.PROG_QUERY;
  const dev = bpf.netDevice(bpf.u32(Q.target_ifindex.offset));
  if (dev === undefined) return -Errno.ENODEV;
  const hook = tcxHook(dev, bpf.u32(Q.attach_type.offset));
  return (entries.get(hook) ?? new MprogEntry(bpf, hook)).query(bpf, mm, uattr);
}

/** struct tcx_link: the device (null once detached or gone) and the direction (its attach type). */
interface TcxLinkData {
  dev: NetDevice | null;
  readonly location: number;
  readonly bpf: BpfSyscall;
}

const dataOf = (link: BpfLink): TcxLinkData => link.data as TcxLinkData;

/** tcx_link_release (also ops->detach): take the link's program out of the entry, once. */
function tcxLinkRelease(link: BpfLink): void {
  const tcx = dataOf(link);
  if (tcx.dev === null) return;
  const hook = tcxHook(tcx.dev, tcx.location);
  const entry = entries.get(hook);
  tcx.dev = null;
  if (entry === undefined) return;
  // A link's own program and link always match its slot (Linux WARNs otherwise); nothing is named by fd (no task).
  if (entry.detach(null, link.prog, link, 0, 0, 0) !== 0) return;
  entry.commit();
  dropIfEmpty(hook, entry);
}

/** sizeof(struct tcx_link): struct bpf_link (64 bytes in 6.18) + the device pointer + the location, padded. */
const TCX_LINK_SIZE = 80;

export const TCX_LINK_OPS: BpfLinkOps = {
  type: BPF_LINK_TYPE.TCX,
  objectSize: TCX_LINK_SIZE,
  release: tcxLinkRelease,
  detach(link) {
    tcxLinkRelease(link);
    return 0;
  },
  /** tcx_link_update: ENOLINK once detached, EPERM when old is not the link's program; the slot takes the new one. */
  updateProg(link, newProg, oldProg) {
    const tcx = dataOf(link);
    if (tcx.dev === null) return -Errno.ENOLINK;
    if (oldProg !== null && link.prog !== oldProg) return -Errno.EPERM;
    if (link.prog === newProg) return 0;
    const entry = entries.get(tcxHook(tcx.dev, tcx.location));
    if (entry === undefined) return -Errno.ENOENT;
    const ret = entry.attach(null, newProg, link, link.prog, BPF_F_ATTACH.REPLACE | BPF_F_ATTACH.ID, link.prog.id, 0);
    if (ret === 0) entry.commit();
    return ret;
  },
  fillInfo(link, info) {
    const tcx = dataOf(link);
    info.setUint32(BPF_LINK_INFO_TCX.ifindex, tcx.dev === null ? 0 : tcx.dev.ifindex, true);
    info.setUint32(BPF_LINK_INFO_TCX.attach_type, tcx.location, true);
    return 0;
  },
  showFdinfo(link) {
    const tcx = dataOf(link);
    const where = tcx.location === BPF_ATTACH_TYPE.TCX_INGRESS ? 'ingress' : 'egress';
    return `ifindex:\t${tcx.dev === null ? 0 : tcx.dev.ifindex}\nattach_type:\t${tcx.location} (${where})\n`;
  },
};

/**
 * tcx_link_attach for BPF_LINK_CREATE of a SCHED_CLS program: bpf_prog_attach_check_attach_type (only
 * BPF_TCX_INGRESS / BPF_TCX_EGRESS), ENODEV for no device, then the link placed by link_create.flags and
 * tcx.relative_fd / expected_revision.
 */
export const tcxLinkCreate: LinkCreateHandler = ({ bpf, task, prog, attachType, flags }) => {
  if (attachType !== BPF_ATTACH_TYPE.TCX_INGRESS && attachType !== BPF_ATTACH_TYPE.TCX_EGRESS) return -Errno.EINVAL;
  const C = BPF_ATTR_LAYOUTS.LINK_CREATE;
  const dev = bpf.netDevice(bpf.u32(C.target_ifindex.offset));
  if (dev === undefined) return -Errno.ENODEV;
  const data: TcxLinkData = { dev, location: attachType, bpf };
  const primer = bpf.links.prime(TCX_LINK_OPS, prog, data);
  if (typeof primer === 'number') return primer;
  const hook = tcxHook(dev, attachType);
  const { entry, created } = fetchOrCreate(bpf, hook);
  const ret = entry.attach(task, prog, primer.link, null, flags, bpf.u32(C.relative_fd.offset), bpf.u64(C.expected_revision.offset));
  if (ret !== 0) {
    if (created) dropIfEmpty(hook, entry);
    data.dev = null;
    bpf.links.cleanup(primer);
    return ret;
  }
  entry.commit();
  return bpf.links.settle(task, primer);
};
