/**
 * Links as kernel objects (kernel/bpf/syscall.c: struct bpf_link, bpf_link_prime / bpf_link_settle /
 * bpf_link_cleanup, bpf_link_put, link_idr, BPF_LINK_GET_NEXT_ID, BPF_LINK_GET_FD_BY_ID, BPF_LINK_DETACH,
 * BPF_LINK_UPDATE, bpf_link_get_info_by_fd). A link is an attachment of a program to a hook that lives as an
 * `anon_inode:bpf_link` fd with a reference count and an id; its last reference undoes the attachment.
 *
 * This file is the part every link type shares. What a type does (attach, detach, swap the program, its part
 * of bpf_link_info) is its {@link BpfLinkOps}, as Linux's struct bpf_link_ops; the attach paths create links
 * with {@link LinkSyscall.prime} and {@link LinkSyscall.settle}.
 */
import { hasCapability, type File, type FileOperations, type KernelServices, type Task, type UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTR_LAYOUTS, BPF_F_REPLACE, BPF_LINK_INFO, BPF_LINK_TYPE, BPF_LINK_TYPE_NAMES, CAP, Errno, O } from '@ebpf-sim/uapi';
import { CyclicIdr } from './idr.js';
import { progTagHex, type ProgObject } from './prog.js';

/** struct bpf_link_ops: what one link type does, to links `L` (links with a program unless said otherwise). */
export interface BpfLinkOps<L extends AnyBpfLink = BpfLink> {
  /** enum bpf_link_type (BPF_LINK_TYPE): bpf_link_info.type. */
  readonly type: number;
  /** The size of the type's link object in kernel memory (its struct, e.g. struct bpf_raw_tp_link), for memory accounting. */
  readonly objectSize: number;
  /** The last reference went (ops->release): undo the attachment, if LINK_DETACH has not already. */
  release(link: L): void;
  /** BPF_LINK_DETACH (ops->detach): undo the attachment now; the link lives on, attached to nothing. Absent: EOPNOTSUPP, as Linux. */
  detach?(link: L): number;
  /**
   * BPF_LINK_UPDATE (ops->update_prog): run `newProg` where the link's program runs, 0 or -errno. With
   * BPF_F_REPLACE `oldProg` is the program the caller expects to be replaced (EPERM if it is not, as Linux's
   * types answer). The shared code then swaps `link.prog` and drops the old program. Absent: EINVAL, as Linux.
   */
  updateProg?(link: L, newProg: ProgObject, oldProg: ProgObject | null): number;
  /**
   * BPF_LINK_UPDATE of a link that holds a map, not a program (ops->update_map, struct_ops links): the whole
   * command is the type's (new_map_fd, BPF_F_REPLACE with old_map_fd), as Linux's link_update_map. Present, it is
   * taken instead of updateProg.
   */
  updateMap?(link: L, task: Task, newMapFd: number, oldMapFd: number, replace: boolean): number;
  /** ops->fill_link_info: the type's part of struct bpf_link_info, written at BPF_LINK_INFO.union of `info`; 0 or -errno. */
  fillInfo?(link: L, info: DataView, mm: UserCopy): number;
  /** ops->show_fdinfo: the type's lines of /proc/PID/fdinfo after the shared ones, each ending in a newline. */
  showFdinfo?(link: L): string;
}

/**
 * struct bpf_link. Most links hold a program (`P` = ProgObject, what attach paths see); a struct_ops link holds
 * none (link->prog NULL in Linux: its map is its attachment), so the shared code handles {@link AnyBpfLink}.
 */
export interface BpfLink<P extends ProgObject | null = ProgObject> {
  readonly ops: BpfLinkOps<BpfLink<P>>;
  /** 0 until {@link LinkSyscall.settle} publishes it: a primed link is not found by id (bpf_link_by_id). */
  id: number;
  /** Files, pins and whatever else holds the link (link->refcnt). */
  refs: number;
  /** The program the link holds a reference on until it is freed (LINK_UPDATE swaps it); null for a struct_ops link. */
  prog: P;
  /** The link object's kernel memory (objectSize bytes). */
  readonly address: number;
  /** The type's own state (the rest of its struct). */
  readonly data: unknown;
}

/** A link with or without a program, as the shared link code and the link registries hold them. */
export type AnyBpfLink = BpfLink<ProgObject | null>;

/** What the link commands read of the syscall in progress, and the program references they take. */
export interface LinkAttrAccess {
  u32(offset: number): number;
  putU32(mm: UserCopy, address: number, value: number): number;
  /** bpf_check_uarg_tail_zero on OBJ_GET_INFO_BY_FD's user struct: the length to copy, or -E2BIG / -EFAULT. */
  infoLen(mm: UserCopy, uinfo: number, infoLen: number, size: number): number;
  /** bpf_prog_get: the program behind `fd`, or -EBADF / -EINVAL (no reference taken). */
  progFromFd(task: Task, fd: number): ProgObject | number;
  /** bpf_prog_put. */
  progPut(prog: ProgObject): void;
}

export type LinkServices = Pick<KernelServices, 'fds' | 'phys'>;

const L = BPF_ATTR_LAYOUTS;

/** A link between bpf_link_prime and bpf_link_settle / bpf_link_cleanup: its id reserved, no fd yet. */
export interface LinkPrimer<P extends ProgObject | null = ProgObject> {
  readonly link: BpfLink<P>;
  readonly id: number;
}

export class LinkSyscall {
  /** Link ids (link_idr). */
  readonly ids = new CyclicIdr<AnyBpfLink>();
  /** bpf_link_fops: an fd's last close, or its last pin going, drops a reference. */
  readonly fops: FileOperations;
  private readonly info = new Uint8Array(BPF_LINK_INFO.size);
  private readonly infoView = new DataView(this.info.buffer);

  constructor(
    private readonly k: LinkServices,
    private readonly a: LinkAttrAccess,
  ) {
    const put = (object: unknown): void => this.put(object as AnyBpfLink);
    this.fops = {
      name: 'bpf_link',
      release: (file: File) => put(file.privateData),
      unpin: put,
      showFdinfo: (file: File) => showLinkFdinfo(file.privateData as AnyBpfLink),
    };
  }

  /**
   * bpf_link_init + bpf_link_prime: a link of `ops` holding `prog` (the caller's reference passes to the link),
   * its object allocated and its id reserved. Attach, then {@link settle}; on failure {@link cleanup}.
   * Returns -ENOMEM or -ENOSPC, with the program reference still the caller's.
   */
  prime<P extends ProgObject | null>(ops: BpfLinkOps<BpfLink<P>>, prog: P, data: unknown): LinkPrimer<P> | number {
    const address = this.k.phys.kmalloc(ops.objectSize, 'bpf-link');
    if (address < 0) return -Errno.ENOMEM;
    const link: BpfLink<P> = { ops, id: 0, refs: 1, prog, address, data };
    const id = this.ids.alloc(link);
    if (id < 0) {
      this.k.phys.kfree(address);
      return id;
    }
    return { link, id };
  }

  /**
   * bpf_link_settle: the attached link gets its fd (`anon_inode:bpf_link`) and its id is published. Linux
   * reserves the fd in bpf_link_prime; here the fd is installed now, so a full fd table (-EMFILE) releases the
   * just-made attachment again, as the link's last reference going would.
   */
  settle(task: Task, primer: LinkPrimer<ProgObject | null>): number {
    const { link } = primer;
    link.id = primer.id;
    const fd = this.k.fds.installFd(task, 'bpf_link', this.fops, link, O.RDWR | O.CLOEXEC);
    if (fd < 0) this.put(link);
    return fd;
  }

  /** bpf_link_cleanup: attaching failed; the id and the object go, the program reference goes back to the caller. */
  cleanup(primer: LinkPrimer<ProgObject | null>): void {
    this.ids.remove(primer.id);
    this.k.phys.kfree(primer.link.address);
  }

  /** bpf_link_put: the last reference releases the attachment (if still attached), the program, the id and the object. */
  put(link: AnyBpfLink): void {
    if (--link.refs > 0) return;
    this.ids.remove(link.id);
    link.ops.release(link);
    if (link.prog !== null) this.a.progPut(link.prog);
    this.k.phys.kfree(link.address);
  }

  /** bpf_link_get_from_fd: the link behind `fd` (no reference taken), -EBADF for no file, -EINVAL for another kind. */
  fromFd(task: Task, fd: number): AnyBpfLink | number {
    const file = this.k.fds.fdget(task, fd);
    if (file === undefined) return -Errno.EBADF;
    if (file.ops !== this.fops) return -Errno.EINVAL;
    return file.privateData as AnyBpfLink;
  }

  /** bpf_link_new_fd for a holder that took a reference: -EMFILE drops it again. */
  newFd(task: Task, link: AnyBpfLink): number {
    const fd = this.k.fds.installFd(task, 'bpf_link', this.fops, link, O.RDWR | O.CLOEXEC);
    if (fd < 0) this.put(link);
    return fd;
  }

  /** bpf_link_get_fd_by_id: CHECK_ATTR ends at link_id (open_flags must be 0); id 0 and unsettled links are ENOENT. */
  getFdById(task: Task): number {
    if (!hasCapability(task.group.cred, CAP.SYS_ADMIN)) return -Errno.EPERM;
    const id = this.a.u32(L.LINK_GET_FD_BY_ID.id.offset);
    const link = id === 0 ? undefined : this.ids.find(id);
    if (link === undefined || link.id === 0) return -Errno.ENOENT;
    link.refs++;
    return this.newFd(task, link);
  }

  /**
   * link_detach: ops->detach, or EOPNOTSUPP for a type without one. The link stays, attached to nothing, until its
   * last reference; it keeps its program (Linux frees that with the link, so bpf_link_info still shows prog_id).
   */
  detach(task: Task): number {
    const link = this.fromFd(task, this.a.u32(L.LINK_DETACH.link_fd.offset));
    if (typeof link === 'number') return link;
    if (link.ops.detach === undefined) return -Errno.EOPNOTSUPP;
    return link.ops.detach(link);
  }

  /** link_update: flags only BPF_F_REPLACE; old_prog_fd only with it; the new program (and old) taken before ops->update_prog. */
  update(task: Task): number {
    const U = L.LINK_UPDATE;
    const flags = this.a.u32(U.flags.offset);
    if ((flags & ~BPF_F_REPLACE) !== 0) return -Errno.EINVAL;
    const link = this.fromFd(task, this.a.u32(U.link_fd.offset));
    if (typeof link === 'number') return link;
    // link_update_map: a link holding a map takes new_map_fd (and old_map_fd with BPF_F_REPLACE) instead.
    if (link.ops.updateMap !== undefined)
      return link.ops.updateMap(link, task, this.a.u32(U.new_map_fd.offset), this.a.u32(U.old_map_fd.offset), (flags & BPF_F_REPLACE) !== 0);
    const newProg = this.a.progFromFd(task, this.a.u32(U.new_prog_fd.offset));
    if (typeof newProg === 'number') return newProg;
    let oldProg: ProgObject | null = null;
    const oldFd = this.a.u32(U.old_prog_fd.offset);
    if ((flags & BPF_F_REPLACE) !== 0) {
      const old = this.a.progFromFd(task, oldFd);
      if (typeof old === 'number') return old;
      oldProg = old;
    } else if (oldFd !== 0) return -Errno.EINVAL;
    if (link.ops.updateProg === undefined) return -Errno.EINVAL;
    const ret = link.ops.updateProg(link, newProg, oldProg);
    if (ret !== 0) return ret;
    // The link now holds the new program; the reference it held on the one it ran goes.
    newProg.refs++;
    const previous = link.prog;
    link.prog = newProg;
    if (previous !== null) this.a.progPut(previous);
    return 0;
  }

  /** bpf_link_get_info_by_fd: type, id, prog_id, then the type's fill_link_info; min(info_len, sizeof) copied back. */
  getInfo(mm: UserCopy, link: AnyBpfLink, uinfo: number, rawInfoLen: number, infoLenAddress: number): number {
    const infoLen = this.a.infoLen(mm, uinfo, rawInfoLen, BPF_LINK_INFO.size);
    if (infoLen < 0) return infoLen;
    const info = this.info;
    const view = this.infoView;
    info.fill(0);
    if (!mm.copyFromUser(uinfo, info, 0, infoLen)) return -Errno.EFAULT;
    view.setUint32(BPF_LINK_INFO.type, link.ops.type, true);
    view.setUint32(BPF_LINK_INFO.id, link.id, true);
    if (link.prog !== null) view.setUint32(BPF_LINK_INFO.prog_id, link.prog.id, true);
    if (link.ops.fillInfo !== undefined) {
      const err = link.ops.fillInfo(link, view, mm);
      if (err !== 0) return err;
    }
    if (!mm.copyToUser(uinfo, info, 0, infoLen)) return -Errno.EFAULT;
    return this.a.putU32(mm, infoLenAddress, infoLen);
  }
}

/**
 * bpf_link_type_strs, the names fdinfo prints (include/linux/bpf_types.h's BPF_LINK_TYPE entries): libbpf's
 * names (BPF_LINK_TYPE_NAMES, which bpftool prints), except that the kernel calls a perf-event link `perf`
 * (recorded on Linux 6.18: `link_type:\tperf` for a tracepoint link made by bpf_program__attach).
 */
const KERNEL_LINK_TYPE_NAMES: Readonly<Record<number, string>> = { ...BPF_LINK_TYPE_NAMES, [BPF_LINK_TYPE.PERF_EVENT]: 'perf' };

/** bpf_link_show_fdinfo: the type's name and the link id, the program's tag and id (when it has one), then the type's own lines. */
function showLinkFdinfo(link: AnyBpfLink): string {
  const type = KERNEL_LINK_TYPE_NAMES[link.ops.type] ?? String(link.ops.type);
  const prog = link.prog === null ? '' : `prog_tag:\t${progTagHex(link.prog)}\nprog_id:\t${link.prog.id}\n`;
  return `link_type:\t${type}\nlink_id:\t${link.id}\n${prog}${link.ops.showFdinfo?.(link) ?? ''}`;
}
