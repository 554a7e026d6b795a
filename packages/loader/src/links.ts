/**
 * Links in user space, as libbpf's struct bpf_link: what attach() returns. A link owns an fd: a BPF link (BPF_LINK_CREATE,
 * BPF_RAW_TRACEPOINT_OPEN) or, for a perf event attached with ioctl(PERF_EVENT_IOC_SET_BPF), the perf event's fd
 * itself. Destroying it lets go of the attachment as libbpf's bpf_link__destroy does (close; for a perf event,
 * PERF_EVENT_IOC_DISABLE first and both fds closed, bpf_link_perf_detach); pinning keeps it in the kernel past
 * the process (bpf_link__pin).
 */
import { BPF_LINK_TYPE_NAMES, Errno, PERF_EVENT_IOC, errnoName, type BpfLinkInfo, type Libc, type Sys } from '@ebpf-sim/uapi';
import { LoaderError } from './errors.js';

/** What links use of user space's libc. */
export type LinkLibc = Pick<Libc, 'close' | 'ioctl' | 'bpfObjPin' | 'bpfObjGet' | 'unlink' | 'mkdir' | 'bpfLinkDetach' | 'bpfLinkUpdate' | 'bpfLinkGetInfo'>;

export function syscallError(what: string, ret: number): LoaderError {
  return new LoaderError(`${what}: -${errnoName(ret)}`, 'syscall', undefined, -ret);
}

/** How a link holds its attachment. */
export type LinkKind =
  /** A BPF link fd: BPF_LINK_CREATE (perf event, tracing, LSM, XDP, tcx, iterator) or BPF_RAW_TRACEPOINT_OPEN. */
  | 'bpf_link'
  /** The perf event's own fd, with the program set by PERF_EVENT_IOC_SET_BPF (libbpf's fallback without perf links). */
  | 'perf_ioctl';

export interface LinkOptions {
  readonly kind: LinkKind;
  readonly fd: number;
  /** The perf event under a perf link (closed with it), as bpf_link_perf.perf_event_fd. */
  readonly perfEventFd?: number;
  /** What it attaches, for messages: `prog 'handle_exec' at tracepoint 'syscalls/sys_enter_execve'`. */
  readonly description: string;
  /** Where it is pinned, for a link opened from a pin. */
  readonly pinPath?: string;
}

/** A link: libbpf's bpf_link__fd / __pin / __unpin / __detach / __update_program / __disconnect / __destroy. */
export class Link {
  readonly kind: LinkKind;
  readonly fd: number;
  readonly perfEventFd: number | undefined;
  readonly description: string;
  private pinned: string | undefined;
  private disconnected = false;
  private destroyed = false;

  constructor(
    private readonly libc: LinkLibc,
    options: LinkOptions,
  ) {
    this.kind = options.kind;
    this.fd = options.fd;
    this.perfEventFd = options.perfEventFd;
    this.description = options.description;
    this.pinned = options.pinPath;
  }

  /** bpf_link__pin_path. */
  get pinPath(): string | undefined {
    return this.pinned;
  }

  /**
   * bpf_link__pin: BPF_OBJ_PIN at `path`, after creating its parent directory (make_parent_dir). EBUSY when the
   * link is pinned already. (libbpf also checks that the directory is on a bpffs with statfs; BPF_OBJ_PIN refuses
   * other file systems anyway.) A perf event attached by ioctl has no link to pin: EINVAL from BPF_OBJ_PIN.
   */
  *pin(path: string): Sys<void> {
    if (this.pinned !== undefined) throw new LoaderError(`${this.description}: link already pinned at ${this.pinned}`, 'syscall', undefined, Errno.EBUSY);
    const slash = path.lastIndexOf('/');
    if (slash > 0) {
      const made = yield* this.libc.mkdir(path.slice(0, slash), 0o700);
      if (made < 0 && errnoName(made) !== 'EEXIST') throw syscallError(`${this.description}: creating ${path.slice(0, slash)}`, made);
    }
    const ret = yield* this.libc.bpfObjPin(this.fd, path);
    if (ret < 0) throw syscallError(`${this.description}: pinning at ${path}`, ret);
    this.pinned = path;
  }

  /** bpf_link__unpin: unlink the pin (EINVAL when not pinned). */
  *unpin(): Sys<void> {
    if (this.pinned === undefined) throw new LoaderError(`${this.description}: link is not pinned`, 'syscall', undefined, Errno.EINVAL);
    const ret = yield* this.libc.unlink(this.pinned);
    if (ret < 0) throw syscallError(`${this.description}: unpinning ${this.pinned}`, ret);
    this.pinned = undefined;
  }

  /** bpf_link__detach: BPF_LINK_DETACH (the link stays, with nothing attached; EOPNOTSUPP for types that cannot). */
  *detach(): Sys<void> {
    const ret = yield* this.libc.bpfLinkDetach(this.fd);
    if (ret < 0) throw syscallError(`${this.description}: BPF_LINK_DETACH`, ret);
  }

  /** bpf_link__update_program: BPF_LINK_UPDATE to the program behind `progFd` (with BPF_F_REPLACE and `oldProgFd`, only if that one runs). */
  *update(progFd: number, flags = 0, oldProgFd = 0): Sys<void> {
    const ret = yield* this.libc.bpfLinkUpdate(this.fd, progFd, flags, oldProgFd);
    if (ret < 0) throw syscallError(`${this.description}: BPF_LINK_UPDATE`, ret);
  }

  /** BPF_OBJ_GET_INFO_BY_FD of the link (bpf_link_get_info_by_fd): type, id, program id and the per-type union. */
  *info(): Sys<BpfLinkInfo & { readonly typeName: string }> {
    const got = yield* this.libc.bpfLinkGetInfo(this.fd);
    if (!got.ok) throw syscallError(`${this.description}: BPF_OBJ_GET_INFO_BY_FD`, -got.errno);
    return { ...got.value, typeName: BPF_LINK_TYPE_NAMES[got.value.type] ?? `type ${got.value.type}` };
  }

  /** bpf_link__disconnect: destroy() will then leave the attachment alone (only closing the fds). */
  disconnect(): void {
    this.disconnected = true;
  }

  /**
   * bpf_link__destroy: close the link (the kernel detaches when no fd or pin holds it). A perf link is first
   * disabled with PERF_EVENT_IOC_DISABLE, and its perf event fd closed too (bpf_link_perf_detach). Once only.
   */
  *destroy(): Sys<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.disconnected) return;
    const pfd = this.perfEventFd;
    let failure = 0;
    if (pfd !== undefined) {
      const off = yield* this.libc.ioctl(pfd, PERF_EVENT_IOC.DISABLE, 0);
      if (off < 0) failure = off;
      if (pfd !== this.fd) yield* this.libc.close(pfd);
    }
    yield* this.libc.close(this.fd);
    if (failure < 0) throw syscallError(`${this.description}: PERF_EVENT_IOC_DISABLE`, failure);
  }
}

/** bpf_link__open: a link pinned at `path` (BPF_OBJ_GET), destroyed by closing its fd. */
export function* openLink(libc: LinkLibc, path: string): Sys<Link> {
  const fd = yield* libc.bpfObjGet(path);
  if (fd < 0) throw syscallError(`failed to open link at ${path}`, fd);
  return new Link(libc, { kind: 'bpf_link', fd, description: `link at ${path}`, pinPath: path });
}
