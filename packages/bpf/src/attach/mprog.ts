/**
 * bpf_mprog (kernel/bpf/mprog.c, include/linux/bpf_mprog.h): an ordered array of programs at one attach
 * point, each attached by a link or by BPF_PROG_ATTACH, with placement rules (BPF_F_BEFORE / BPF_F_AFTER a
 * relative program or link, named by fd or by id), BPF_F_REPLACE, a revision that each change bumps (so
 * user space can say "only if nothing changed since I looked": expected_revision, ESTALE), and the query.
 * tcx (tcx.ts) keeps one per device and direction.
 *
 * The positions follow Linux's bpf_mprog_pos_{exact,before,after} and the same "every rule must agree on one
 * index" logic, so the errnos (ENOENT, EBUSY, ERANGE, EEXIST, EINVAL) come out as Linux's.
 *
 * The hook runs the array in order: each change is committed by re-attaching the programs to the hook point
 * in the new order (Linux swaps in the peer bpf_mprog_entry and waits out readers; attach and detach are
 * syscalls, never on the packet path, so rebuilding the hook's list there is the same atomic swap).
 *
 * Linux takes references on the relative program or link while it resolves a request; here a request runs to
 * its end without anything else running, so the lookups take none.
 */
import type { HookPoint, Task, UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTR_LAYOUTS, BPF_F_ATTACH, BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { AnyBpfLink, BpfLink } from '../syscall/link.js';
import type { ProgObject } from '../syscall/prog.js';
import { BpfAttachment } from './hook-program.js';

/** BPF_MPROG_MAX: the size of the arrays; bpf_mprog_max() is one less (the array keeps a NULL terminator). */
export const BPF_MPROG_MAX = 64;
const MPROG_MAX_INDEX = BPF_MPROG_MAX - 1;

/** One slot: the program (bpf_mprog_fp), the link that holds it or null (bpf_mprog_cp), and how it runs at the hook. */
export interface MprogItem {
  prog: ProgObject;
  link: BpfLink | null;
  attachment: BpfAttachment;
}

/** struct bpf_tuple: a program and the link it came with (both null: "no relative object", first/last). */
interface Tuple {
  prog: ProgObject | null;
  link: BpfLink | null;
}

/** What the placement rules and the query read of the bpf subsystem. */
export type MprogBpf = Pick<BpfSyscall, 'runtime' | 'links' | 'progs' | 'progFromFd' | 'putU32'>;

const Q = BPF_ATTR_LAYOUTS.PROG_QUERY;

/** bpf_mprog_bundle + its active bpf_mprog_entry: the programs in run order, the revision, the hook they run at. */
export class MprogEntry {
  readonly items: MprogItem[] = [];
  /** Starts at 1 (bpf_mprog_bundle_init); each committed change adds one. */
  revision = 1;
  /** A program detached without a link, whose reference goes at commit (bpf_mprog_mark_for_release). */
  private release: ProgObject | null = null;
  private readonly detachers: Array<() => void> = [];
  private readonly u64Out = new Uint8Array(8);
  private readonly u64View = new DataView(this.u64Out.buffer);

  constructor(
    private readonly bpf: MprogBpf,
    readonly hook: HookPoint,
  ) {}

  get total(): number {
    return this.items.length;
  }

  /** bpf_mprog_exists. */
  exists(prog: ProgObject): boolean {
    return this.items.some((item) => item.prog === prog);
  }

  /**
   * bpf_mprog_attach: put `progNew` (held by `link`, or by the entry itself when link is null) where the flags
   * say, or in `progOld`'s place with BPF_F_REPLACE. 0 or -errno; on success call {@link commit}.
   */
  attach(task: Task | null, progNew: ProgObject, link: BpfLink | null, progOld: ProgObject | null, flags: number, idOrFd: number, revision: number): number {
    if (revision !== 0 && revision !== this.revision) return -Errno.ESTALE;
    if (this.exists(progNew)) return -Errno.EEXIST;
    const rtuple = this.relative(task, idOrFd, flags & ~BPF_F_ATTACH.REPLACE, progNew.progType);
    if (typeof rtuple === 'number') return rtuple;
    let idx = -Errno.ERANGE;
    if ((flags & BPF_F_ATTACH.REPLACE) !== 0) {
      const tidx = this.posExact({ prog: progOld, link });
      if (tidx < 0) return tidx;
      idx = tidx;
    }
    const placed = this.place(rtuple, flags, idx);
    if (placed.err !== 0) return placed.err;
    idx = placed.idx;
    if (idx >= MPROG_MAX_INDEX) return -Errno.ERANGE;
    if ((placed.flags & BPF_F_ATTACH.REPLACE) !== 0) {
      // bpf_mprog_replace: the slot takes the new program; a program attached without a link loses its reference.
      const item = this.items[idx] as MprogItem;
      const old = item.prog;
      item.prog = progNew;
      item.link = link;
      item.attachment = new BpfAttachment(this.bpf.runtime, progNew);
      if (link === null) this.bpf.progs.put(old);
      return 0;
    }
    // bpf_mprog_insert: BPF_F_BEFORE's index is the slot before the anchor, so the new one goes one further.
    const at = idx === this.total ? idx : (placed.flags & BPF_F_ATTACH.BEFORE) !== 0 ? idx + 1 : idx;
    this.items.splice(at, 0, { prog: progNew, link, attachment: new BpfAttachment(this.bpf.runtime, progNew) });
    return 0;
  }

  /**
   * bpf_mprog_detach: take out `prog` (with `link`, or the one the flags point at when prog is null); EBUSY for a
   * link's program without its link. 0 or -errno; on success call {@link commit}.
   */
  detach(task: Task | null, prog: ProgObject | null, link: BpfLink | null, flags: number, idOrFd: number, revision: number): number {
    if ((flags & BPF_F_ATTACH.REPLACE) !== 0) return -Errno.EINVAL;
    if (revision !== 0 && revision !== this.revision) return -Errno.ESTALE;
    const rtuple = this.relative(task, idOrFd, flags, prog === null ? BPF_PROG_TYPE.UNSPEC : prog.progType);
    if (typeof rtuple === 'number') return rtuple;
    let idx = -Errno.ERANGE;
    if (prog !== null) {
      const tidx = this.posExact({ prog, link });
      if (tidx < 0) return tidx;
      idx = tidx;
    }
    const placed = this.place(rtuple, flags, idx);
    if (placed.err !== 0) return placed.err;
    idx = placed.idx;
    if (idx >= MPROG_MAX_INDEX) return -Errno.ERANGE;
    // bpf_mprog_fetch: -1 is the first, total the last; a link's slot is not removed by a request without it.
    const total = this.total;
    const at = idx === -1 ? 0 : idx === total ? total - 1 : idx;
    const item = this.items[at];
    if (item === undefined) return -Errno.ENOENT;
    if (item.link !== null && link === null) return -Errno.EBUSY;
    this.items.splice(at, 1);
    if (item.link === null) this.release = item.prog;
    return 0;
  }

  /** bpf_mprog_commit: the hook runs the new order, a program detached without a link is put, the revision moves on. */
  commit(): void {
    for (const detach of this.detachers) detach();
    this.detachers.length = 0;
    for (const item of this.items) this.detachers.push(this.hook.attach(item.attachment));
    if (this.release !== null) {
      this.bpf.progs.put(this.release);
      this.release = null;
    }
    this.revision++;
  }

  /**
   * bpf_mprog_query: attach_flags (0), revision and count written back; then, when user space gave a count and a
   * prog_ids array, up to count ids (and link ids, and zero flags where asked), -ENOSPC when they do not all fit.
   */
  query(bpf: Pick<BpfSyscall, 'u32' | 'u64'>, mm: UserCopy, uattr: number): number {
    if (bpf.u32(Q.query_flags.offset) !== 0 || bpf.u32(Q.attach_flags.offset) !== 0) return -Errno.EINVAL;
    let count = this.total;
    if (this.bpf.putU32(mm, uattr + Q.attach_flags.offset, 0) !== 0) return -Errno.EFAULT;
    this.u64View.setUint32(0, this.revision >>> 0, true);
    this.u64View.setUint32(4, Math.floor(this.revision / 0x1_0000_0000), true);
    if (!mm.copyToUser(uattr + Q.revision.offset, this.u64Out, 0, 8)) return -Errno.EFAULT;
    if (this.bpf.putU32(mm, uattr + Q.count.offset, count) !== 0) return -Errno.EFAULT;
    const progIds = bpf.u64(Q.prog_ids.offset);
    const progFlags = bpf.u64(Q.prog_attach_flags.offset);
    const linkIds = bpf.u64(Q.link_ids.offset);
    const linkFlags = bpf.u64(Q.link_attach_flags.offset);
    const room = bpf.u32(Q.count.offset);
    if (room === 0 || progIds === 0 || count === 0) return 0;
    let ret = 0;
    if (room < count) {
      count = room;
      ret = -Errno.ENOSPC;
    }
    for (let i = 0; i < count; i++) {
      const item = this.items[i] as MprogItem;
      if (this.bpf.putU32(mm, progIds + 4 * i, item.prog.id) !== 0) return -Errno.EFAULT;
      if (progFlags !== 0 && this.bpf.putU32(mm, progFlags + 4 * i, 0) !== 0) return -Errno.EFAULT;
      if (linkIds !== 0 && this.bpf.putU32(mm, linkIds + 4 * i, item.link === null ? 0 : item.link.id) !== 0) return -Errno.EFAULT;
      if (linkFlags !== 0 && this.bpf.putU32(mm, linkFlags + 4 * i, 0) !== 0) return -Errno.EFAULT;
    }
    return ret;
  }

  /** Detach everything from the hook (the device goes away, or the entry is freed after its last program). */
  uninstall(): void {
    for (const detach of this.detachers) detach();
    this.detachers.length = 0;
  }

  /**
   * The BPF_F_BEFORE / BPF_F_AFTER rules on top of the index REPLACE (or the detached program) chose, each of
   * which must agree; with no rule at all, the end (and the flags become BPF_F_AFTER), as Linux.
   */
  private place(rtuple: Tuple, flags: number, start: number): { err: number; idx: number; flags: number } {
    let idx = start;
    if ((flags & BPF_F_ATTACH.BEFORE) !== 0) {
      const tidx = this.posBefore(rtuple);
      if (tidx < -1 || (idx >= -1 && tidx !== idx)) return { err: tidx < -1 ? tidx : -Errno.ERANGE, idx, flags };
      idx = tidx;
    }
    if ((flags & BPF_F_ATTACH.AFTER) !== 0) {
      const tidx = this.posAfter(rtuple);
      if (tidx < -1 || (idx >= -1 && tidx !== idx)) return { err: tidx < 0 ? tidx : -Errno.ERANGE, idx, flags };
      idx = tidx;
    }
    if (idx < -1) {
      if (rtuple.prog !== null || flags !== 0) return { err: -Errno.EINVAL, idx, flags };
      return { err: 0, idx: this.total, flags: BPF_F_ATTACH.AFTER };
    }
    return { err: 0, idx, flags };
  }

  /** bpf_mprog_pos_exact: the slot of exactly this program and link; EBUSY when the program is there with another link. */
  private posExact(tuple: Tuple): number {
    for (let i = 0; i < this.total; i++) {
      const item = this.items[i] as MprogItem;
      if (tuple.prog === item.prog) return tuple.link === item.link ? i : -Errno.EBUSY;
    }
    return -Errno.ENOENT;
  }

  /** bpf_mprog_pos_before: the slot before the anchor (-1: before the first), ENOENT for an anchor not here. */
  private posBefore(tuple: Tuple): number {
    for (let i = 0; i < this.total; i++) {
      const item = this.items[i] as MprogItem;
      if (tuple.prog === item.prog && (tuple.link === null || tuple.link === item.link)) return i - 1;
    }
    return tuple.prog !== null ? -Errno.ENOENT : -1;
  }

  /** bpf_mprog_pos_after: the slot after the anchor (total: after the last), ENOENT for an anchor not here. */
  private posAfter(tuple: Tuple): number {
    for (let i = 0; i < this.total; i++) {
      const item = this.items[i] as MprogItem;
      if (tuple.prog === item.prog && (tuple.link === null || tuple.link === item.link)) return i + 1;
    }
    return tuple.prog !== null ? -Errno.ENOENT : this.total;
  }

  /**
   * bpf_mprog_tuple_relative: the relative object of BPF_F_BEFORE / BPF_F_AFTER: a link (BPF_F_LINK) or a program,
   * by id (BPF_F_ID) or fd; none when neither flag nor fd is given. Its program must be of `type` (when set).
   * `task` null: the caller names nothing by fd (a link's own release and update), so an fd is EBADF.
   */
  private relative(task: Task | null, idOrFd: number, flags: number, type: number): Tuple | number {
    const byId = (flags & BPF_F_ATTACH.ID) !== 0;
    if ((flags & BPF_F_ATTACH.LINK) !== 0) {
      const link = byId ? this.linkById(idOrFd) : idOrFd === 0 ? -Errno.EINVAL : task === null ? -Errno.EBADF : this.bpf.links.fromFd(task, idOrFd);
      if (typeof link === 'number') return link;
      // A link without a program (struct_ops) is no relative: EINVAL (Linux's link->prog->type would read NULL).
      if (link.prog === null) return -Errno.EINVAL;
      if (type !== 0 && link.prog.progType !== type) return -Errno.EINVAL;
      return { prog: link.prog, link: link as BpfLink };
    }
    if (!byId && idOrFd === 0) return { prog: null, link: null };
    const prog = byId ? (this.bpf.progs.progs.find(idOrFd) ?? -Errno.ENOENT) : task === null ? -Errno.EBADF : this.bpf.progFromFd(task, idOrFd);
    if (typeof prog === 'number') return prog;
    if (type !== 0 && prog.progType !== type) return -Errno.EINVAL;
    return { prog, link: null };
  }

  /** bpf_link_by_id: ENOENT for id 0 or no link, EAGAIN for one not yet settled. */
  private linkById(id: number): AnyBpfLink | number {
    if (id === 0) return -Errno.ENOENT;
    const link = this.bpf.links.ids.find(id);
    if (link === undefined) return -Errno.ENOENT;
    return link.id === 0 ? -Errno.EAGAIN : link;
  }
}
