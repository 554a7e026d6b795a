/**
 * Attaching a loaded program where its SEC() name says, as libbpf's bpf_program__attach() (tools/lib/bpf/libbpf.c:
 * attach_kprobe, attach_ksyscall, attach_tp, attach_raw_tp, attach_trace, attach_lsm, attach_iter) and the
 * attach calls that need a target libbpf cannot read from the section (bpf_program__attach_xdp,
 * bpf_program__attach_tcx, bpf_program__attach_perf_event). The syscalls are libbpf's, in libbpf's order:
 *
 * - kprobe/kretprobe/ksyscall: read /sys/bus/event_source/devices/kprobe/type (and format/retprobe for a
 *   kretprobe), perf_event_open the kprobe PMU with config1 = the function name's address and config2 = the
 *   offset, then attach the program to the perf event;
 * - tracepoint/tp: the id from /sys/kernel/tracing/events/CAT/NAME/id, perf_event_open PERF_TYPE_TRACEPOINT
 *   (pid -1, cpu 0), then attach the program to the perf event;
 * - a perf event: BPF_LINK_CREATE with BPF_PERF_EVENT (and the cookie), then PERF_EVENT_IOC_ENABLE;
 * - raw_tp/raw_tracepoint: BPF_RAW_TRACEPOINT_OPEN with the name and cookie;
 * - tp_btf/fentry/fexit/fmod_ret/freplace/lsm: BPF_LINK_CREATE with the program's expected attach type,
 *   falling back to BPF_RAW_TRACEPOINT_OPEN with no name on EINVAL (libbpf's bpf_link_create);
 * - iter: BPF_LINK_CREATE with BPF_TRACE_ITER;
 * - xdp: BPF_LINK_CREATE with BPF_XDP on opts.ifindex; tcx/ingress, tcx/egress: with BPF_TCX_* (mprog options).
 *
 * Where this differs from libbpf: libbpf decides between a perf link and ioctl(PERF_EVENT_IOC_SET_BPF) with a
 * feature probe (probe_perf_link); here BPF_LINK_CREATE is tried and the ioctl used when it answers EINVAL
 * (no cookie asked), the same outcome without loading a probe program. The syscall wrapper prefix of
 * ksyscall is __x64_sys_ (x86_64, as the model is) without libbpf's probe. Tracefs is /sys/kernel/tracing
 * (libbpf uses /sys/kernel/debug/tracing when debugfs is there). Legacy kprobes (kprobe_events) are not made.
 */
import { BPF_ATTACH_TYPE, Errno, O, PERF_EVENT_IOC, PERF_FLAG, PERF_TYPE, errnoName, type Libc, type Sys, type UserStack } from '@ebpf-sim/uapi';
import { LoaderError } from './errors.js';
import { Link, syscallError, type LinkLibc } from './links.js';
import type { ProgramSection } from './sec-defs.js';

/** Where the kernel publishes the kprobe PMU (libbpf's determine_kprobe_perf_type / _retprobe_bit). */
export const KPROBE_PMU_TYPE_PATH = '/sys/bus/event_source/devices/kprobe/type';
export const KPROBE_PMU_RETPROBE_PATH = '/sys/bus/event_source/devices/kprobe/format/retprobe';
/** tracefs, where tracepoint ids are (libbpf's tracefs_path()). */
export const TRACEFS_PATH = '/sys/kernel/tracing';
/** The syscall wrapper prefix ksyscall probes (libbpf's arch_specific_syscall_pfx() on x86_64, then "sys_"). */
export const SYSCALL_WRAPPER_PREFIX = '__x64_sys_';

/** What attaching uses of user space's libc: files (sysfs, tracefs), perf_event_open, ioctl, bpf(), and the stack for names. */
export type AttachLibc = LinkLibc &
  Pick<Libc, 'open' | 'readAll' | 'perfEventOpen' | 'bpfAttr'> & { readonly stack: Pick<UserStack, 'mark' | 'release' | 'pushString'> };

/** Options of attach(): libbpf's bpf_kprobe_opts, bpf_tracepoint_opts, bpf_trace_opts, bpf_tcx_opts... in one. */
export interface AttachOptions {
  /** The bpf_cookie the program reads with bpf_get_attach_cookie (perf events, raw tracepoints, tracing links). */
  readonly cookie?: number | bigint;
  /**
   * What a bare SEC() name leaves out: the function of SEC("kprobe") (`vfs_read`, `vfs_read+0x10`), the
   * `category/name` of SEC("tracepoint"), the name of SEC("raw_tp"), the syscall of SEC("ksyscall"). It
   * replaces the section's own target when given.
   */
  readonly target?: string;
  /** xdp, tcx: the interface (required). */
  readonly ifindex?: number;
  /** cgroup_skb/*, cgroup/sock_create, ...: an fd of the cgroup v2 directory to attach to (bpf_program__attach_cgroup). */
  readonly cgroupFd?: number;
  /** SEC("perf_event"): the perf event fd to attach to (bpf_program__attach_perf_event); the link owns it. */
  readonly perfEventFd?: number;
  /** tcx: BPF_LINK_CREATE flags (BPF_F_BEFORE, BPF_F_AFTER, BPF_F_ID...), and what they are relative to. */
  readonly flags?: number;
  readonly relativeFd?: number;
  readonly relativeId?: number;
  readonly expectedRevision?: number;
}

/** The loaded program attach() works on (a ProgramHandle is one): its name and SEC() from the object, its fd. */
export interface AttachProgram {
  readonly spec: { readonly name: string; readonly sectionName: string; readonly section: ProgramSection | undefined };
  readonly fd: number;
}

interface Target {
  readonly libc: AttachLibc;
  readonly prog: AttachProgram;
  readonly opts: AttachOptions;
  /** What follows `type/` in the section name, or opts.target; '' for a bare section. */
  readonly extras: string;
  readonly cookie: bigint;
}

/** How one kind of section attaches: a link, or undefined when the section names no target (no auto-attach). */
type Attacher = (t: Target) => Sys<Link | undefined>;

const invalid = (prog: AttachProgram, message: string): LoaderError =>
  new LoaderError(`prog '${prog.spec.name}': ${message}`, 'invalid', undefined, Errno.EINVAL);

/** libbpf's parse_uint_from_file: the number after `prefix` in the file's first line, or -errno. */
function* readUintFile(libc: AttachLibc, path: string, prefix: string): Sys<number> {
  const fd = yield* libc.open(path, O.RDONLY | O.CLOEXEC);
  if (fd < 0) return fd;
  const got = yield* libc.readAll(fd);
  yield* libc.close(fd);
  if (!got.ok) return -got.errno;
  const text = new TextDecoder().decode(got.value);
  const match = text.startsWith(prefix) ? /^\s*([+-]?\d+)/.exec(text.slice(prefix.length)) : null;
  return match === null ? -Errno.EIO : Number(match[1]);
}

/** A u64 cookie as the attr encoder takes it (a bigint: every 64-bit value, as libbpf's __u64 bpf_cookie). */
function cookieOf(prog: AttachProgram, cookie: number | bigint | undefined): bigint {
  if (typeof cookie === 'number' && !Number.isSafeInteger(cookie)) throw invalid(prog, `cookie ${cookie} is not an exact integer (pass a bigint)`);
  const n = BigInt(cookie ?? 0);
  if (n < 0n || n >= 1n << 64n) throw invalid(prog, `cookie ${n} is out of range (0 to 2^64-1)`);
  return n;
}

/** `what` with a string pushed on the user stack for as long as it runs (the name pointers of perf_event_open and RAW_TRACEPOINT_OPEN). */
function* withString<T>(libc: AttachLibc, text: string, what: (address: number) => Sys<T>): Sys<T> {
  const mark = libc.stack.mark();
  try {
    return yield* what(libc.stack.pushString(text));
  } finally {
    libc.stack.release(mark);
  }
}

/**
 * bpf_program__attach_perf_event_opts: BPF_LINK_CREATE(BPF_PERF_EVENT) with the cookie, or ioctl SET_BPF when
 * the kernel has no perf links (EINVAL, no cookie); then PERF_EVENT_IOC_ENABLE. The link owns `pfd`; on failure
 * it is left to the caller to close, as libbpf's callers do.
 */
function* attachPerfEvent(t: Target, pfd: number, description: string): Sys<Link> {
  const { libc, prog } = t;
  if (pfd < 0) throw invalid(prog, `invalid perf event FD ${pfd}`);
  const { ret } = yield* libc.bpfAttr('LINK_CREATE', { prog_fd: prog.fd, target_fd: pfd, attach_type: BPF_ATTACH_TYPE.PERF_EVENT, bpf_cookie: t.cookie });
  let link: Link;
  if (ret >= 0) link = new Link(libc, { kind: 'bpf_link', fd: ret, perfEventFd: pfd, description });
  else if (ret === -Errno.EINVAL && t.cookie === 0n) {
    const set = yield* libc.ioctl(pfd, PERF_EVENT_IOC.SET_BPF, prog.fd);
    if (set < 0) throw syscallError(`prog '${prog.spec.name}': failed to attach to perf_event FD ${pfd}`, set);
    link = new Link(libc, { kind: 'perf_ioctl', fd: pfd, perfEventFd: pfd, description });
  } else throw syscallError(`prog '${prog.spec.name}': failed to create BPF link for perf_event FD ${pfd}`, ret);
  const on = yield* libc.ioctl(pfd, PERF_EVENT_IOC.ENABLE, 0);
  if (on < 0) {
    if (link.kind === 'bpf_link') yield* libc.close(link.fd);
    throw syscallError(`prog '${prog.spec.name}': failed to enable perf_event FD ${pfd}`, on);
  }
  return link;
}

/** perf_event_open_probe for a kprobe: the PMU type (and retprobe bit), config1 = the name, config2 = the offset; pid -1, cpu 0. */
function* openKprobe(t: Target, retprobe: boolean, func: string, offset: number): Sys<number> {
  const { libc } = t;
  const type = yield* readUintFile(libc, KPROBE_PMU_TYPE_PATH, '');
  if (type < 0) return type;
  let config = 0;
  if (retprobe) {
    const bit = yield* readUintFile(libc, KPROBE_PMU_RETPROBE_PATH, 'config:');
    if (bit < 0) return bit;
    config = 2 ** bit;
  }
  return yield* withString(libc, func, (name) => libc.perfEventOpen({ type, config, config1: name, config2: offset }, -1, 0, -1, PERF_FLAG.FD_CLOEXEC));
}

/** bpf_program__attach_kprobe_opts without the legacy path: the kprobe PMU must be there. */
function* attachKprobeAt(t: Target, retprobe: boolean, func: string, offset: number): Sys<Link> {
  const kind = retprobe ? 'kretprobe' : 'kprobe';
  const point = `${kind} '${func}+0x${offset.toString(16)}'`;
  // libbpf first asks whether the PMU exists (legacy = determine_kprobe_perf_type() < 0).
  const pmu = yield* readUintFile(t.libc, KPROBE_PMU_TYPE_PATH, '');
  if (pmu < 0)
    throw new LoaderError(
      `prog '${t.prog.spec.name}': failed to create ${point} perf event: the kprobe PMU is missing (${KPROBE_PMU_TYPE_PATH}: -${errnoName(pmu)}) and legacy kprobe_events are not supported`,
      'unsupported',
      undefined,
      -pmu,
    );
  const pfd = yield* openKprobe(t, retprobe, func, offset);
  if (pfd < 0) throw syscallError(`prog '${t.prog.spec.name}': failed to create ${point} perf event`, pfd);
  try {
    return yield* attachPerfEvent(t, pfd, `prog '${t.prog.spec.name}' at ${kind} '${func}'`);
  } catch (error) {
    yield* t.libc.close(pfd);
    throw error;
  }
}

/** attach_kprobe: `kprobe/FUNC[+OFFSET]`, `kretprobe/FUNC` (sscanf "%m[a-zA-Z0-9_.]+%li"). */
const attachKprobe: Attacher = function* (t) {
  if (t.extras === '') return undefined;
  const retprobe = t.prog.spec.sectionName.startsWith('kretprobe');
  const match = /^([a-zA-Z0-9_.]+)(?:\+(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*))?/.exec(t.extras);
  if (match === null) throw invalid(t.prog, `kprobe name is invalid: ${t.extras}`);
  const [, func = '', offsetText] = match;
  const offset =
    offsetText === undefined
      ? 0
      : offsetText.startsWith('0') && offsetText.length > 1 && !/^0[xX]/.test(offsetText)
        ? parseInt(offsetText, 8)
        : Number(offsetText);
  if (retprobe && offset !== 0) throw invalid(t.prog, 'kretprobes do not support offset specification');
  return yield* attachKprobeAt(t, retprobe, func, offset);
};

/** attach_ksyscall: `ksyscall/NAME` probes the syscall's wrapper, __x64_sys_NAME. */
const attachKsyscall: Attacher = function* (t) {
  if (t.extras === '') return undefined;
  return yield* attachKprobeAt(t, t.prog.spec.sectionName.startsWith('kretsyscall'), `${SYSCALL_WRAPPER_PREFIX}${t.extras}`, 0);
};

/** attach_tp: `tracepoint/CATEGORY/NAME` (or tp/): the id from tracefs, a PERF_TYPE_TRACEPOINT event, the program on it. */
const attachTracepoint: Attacher = function* (t) {
  if (t.extras === '') return undefined;
  const slash = t.extras.indexOf('/');
  if (slash < 0) throw invalid(t.prog, `invalid tracepoint '${t.extras}': expected CATEGORY/NAME`);
  const category = t.extras.slice(0, slash);
  const name = t.extras.slice(slash + 1);
  const id = yield* readUintFile(t.libc, `${TRACEFS_PATH}/events/${category}/${name}/id`, '');
  if (id < 0) throw syscallError(`prog '${t.prog.spec.name}': failed to determine tracepoint '${category}/${name}' perf event ID`, id);
  const pfd = yield* t.libc.perfEventOpen({ type: PERF_TYPE.TRACEPOINT, config: id }, -1, 0, -1, PERF_FLAG.FD_CLOEXEC);
  if (pfd < 0) throw syscallError(`prog '${t.prog.spec.name}': failed to create tracepoint '${category}/${name}' perf event`, pfd);
  try {
    return yield* attachPerfEvent(t, pfd, `prog '${t.prog.spec.name}' at tracepoint '${category}/${name}'`);
  } catch (error) {
    yield* t.libc.close(pfd);
    throw error;
  }
};

/** attach_raw_tp: BPF_RAW_TRACEPOINT_OPEN with the tracepoint's name and the cookie. */
const attachRawTracepoint: Attacher = function* (t) {
  if (t.extras === '') return undefined;
  const { libc, prog } = t;
  const { ret } = yield* withString(libc, t.extras, (name) => libc.bpfAttr('RAW_TRACEPOINT_OPEN', { name, prog_fd: prog.fd, cookie: t.cookie }));
  if (ret < 0) throw syscallError(`prog '${prog.spec.name}': failed to attach to raw tracepoint '${t.extras}'`, ret);
  return new Link(libc, { kind: 'bpf_link', fd: ret, description: `prog '${prog.spec.name}' at raw tracepoint '${t.extras}'` });
};

/**
 * bpf_program__attach_btf_id (attach_trace, attach_lsm): BPF_LINK_CREATE with the expected attach type (the
 * target is the attach_btf_id given at load) and the cookie; on EINVAL without a cookie, libbpf's fallback for
 * kernels before tracing links, BPF_RAW_TRACEPOINT_OPEN with no name.
 */
const attachBtfId: Attacher = function* (t) {
  const { libc, prog } = t;
  const attachType = prog.spec.section?.expectedAttachType ?? 0;
  const what = `prog '${prog.spec.name}' at ${prog.spec.sectionName}`;
  const { ret } = yield* libc.bpfAttr('LINK_CREATE', { prog_fd: prog.fd, target_fd: 0, attach_type: attachType, tracing_cookie: t.cookie });
  if (ret >= 0) return new Link(libc, { kind: 'bpf_link', fd: ret, description: what });
  const fallback = ret === -Errno.EINVAL && t.cookie === 0n && FALLBACK_TO_RAW_TP.has(attachType);
  const raw = fallback ? (yield* libc.bpfAttr('RAW_TRACEPOINT_OPEN', { name: 0, prog_fd: prog.fd })).ret : ret;
  if (raw < 0) throw syscallError(`prog '${prog.spec.name}': failed to attach`, raw);
  return new Link(libc, { kind: 'bpf_link', fd: raw, description: what });
};

/** The attach types bpf_link_create retries with BPF_RAW_TRACEPOINT_OPEN. */
const FALLBACK_TO_RAW_TP: ReadonlySet<number> = new Set([
  BPF_ATTACH_TYPE.TRACE_RAW_TP,
  BPF_ATTACH_TYPE.LSM_MAC,
  BPF_ATTACH_TYPE.TRACE_FENTRY,
  BPF_ATTACH_TYPE.TRACE_FEXIT,
  BPF_ATTACH_TYPE.MODIFY_RETURN,
]);

/** attach_iter without options: BPF_LINK_CREATE with BPF_TRACE_ITER and no iter_info. */
const attachIter: Attacher = function* (t) {
  const { libc, prog } = t;
  const { ret } = yield* libc.bpfAttr('LINK_CREATE', { prog_fd: prog.fd, target_fd: 0, attach_type: BPF_ATTACH_TYPE.TRACE_ITER });
  if (ret < 0) throw syscallError(`prog '${prog.spec.name}': failed to attach to iterator`, ret);
  return new Link(libc, { kind: 'bpf_link', fd: ret, description: `prog '${prog.spec.name}' at ${prog.spec.sectionName}` });
};

function requireIfindex(t: Target, target: string): number {
  const ifindex = t.opts.ifindex;
  if (ifindex === undefined || !Number.isInteger(ifindex) || ifindex <= 0)
    throw invalid(t.prog, `attaching to ${target} needs the interface: opts.ifindex (target netdevice ifindex cannot be zero)`);
  return ifindex;
}

/** bpf_program__attach_xdp: BPF_LINK_CREATE with BPF_XDP on the interface. */
const attachXdp: Attacher = function* (t) {
  const { libc, prog } = t;
  const ifindex = requireIfindex(t, 'xdp');
  const attachType = prog.spec.section?.expectedAttachType ?? BPF_ATTACH_TYPE.XDP;
  const { ret } = yield* libc.bpfAttr('LINK_CREATE', { prog_fd: prog.fd, target_ifindex: ifindex, attach_type: attachType });
  if (ret < 0) throw syscallError(`prog '${prog.spec.name}': failed to attach to xdp`, ret);
  return new Link(libc, { kind: 'bpf_link', fd: ret, description: `prog '${prog.spec.name}' at xdp ifindex ${ifindex}` });
};

/** bpf_program__attach_tcx: BPF_LINK_CREATE with BPF_TCX_INGRESS/EGRESS, the mprog flags and relative program. */
const attachTcx: Attacher = function* (t) {
  const { libc, prog, opts } = t;
  const ifindex = requireIfindex(t, 'tcx');
  if ((opts.relativeFd ?? 0) !== 0 && (opts.relativeId ?? 0) !== 0) throw invalid(prog, 'relative_fd and relative_id cannot be set at the same time');
  const attachType = prog.spec.section?.expectedAttachType ?? 0;
  const { ret } = yield* libc.bpfAttr('LINK_CREATE', {
    prog_fd: prog.fd,
    target_ifindex: ifindex,
    attach_type: attachType,
    flags: opts.flags ?? 0,
    ...((opts.relativeId ?? 0) !== 0 ? { relative_id: opts.relativeId } : { relative_fd: opts.relativeFd ?? 0 }),
    expected_revision: opts.expectedRevision ?? 0,
  });
  if (ret < 0) throw syscallError(`prog '${prog.spec.name}': failed to attach to tcx`, ret);
  return new Link(libc, { kind: 'bpf_link', fd: ret, description: `prog '${prog.spec.name}' at tcx ifindex ${ifindex}` });
};

/**
 * bpf_program__attach_cgroup: BPF_LINK_CREATE of the program's expected attach type on opts.cgroupFd (libbpf's
 * bpf_program_attach_fd with target "cgroup"); the kernel makes it a cgroup link, which allows several programs.
 */
const attachCgroup: Attacher = function* (t) {
  const { libc, prog, opts } = t;
  const cgroupFd = opts.cgroupFd;
  if (cgroupFd === undefined || !Number.isInteger(cgroupFd) || cgroupFd < 0)
    throw invalid(prog, 'attaching to a cgroup needs the cgroup: opts.cgroupFd (an open fd of its /sys/fs/cgroup directory)');
  const attachType = prog.spec.section?.expectedAttachType ?? 0;
  const { ret } = yield* libc.bpfAttr('LINK_CREATE', { prog_fd: prog.fd, target_fd: cgroupFd, attach_type: attachType });
  if (ret < 0) throw syscallError(`prog '${prog.spec.name}': failed to attach to cgroup`, ret);
  return new Link(libc, { kind: 'bpf_link', fd: ret, description: `prog '${prog.spec.name}' at cgroup fd ${cgroupFd}` });
};

/** bpf_program__attach_perf_event_opts on opts.perfEventFd. */
const attachToPerfEventFd: Attacher = function* (t) {
  const pfd = t.opts.perfEventFd;
  if (pfd === undefined) throw invalid(t.prog, 'SEC("perf_event") needs the perf event: opts.perfEventFd (from perf_event_open)');
  return yield* attachPerfEvent(t, pfd, `prog '${t.prog.spec.name}' at perf event fd ${pfd}`);
};

/**
 * The auto-attach functions of libbpf's section_defs[] (the SEC_DEF rows with a prog_attach_fn), by the row's
 * `sec`: what bpf_program__attach and the skeleton's attach run.
 */
const AUTO_ATTACH: Readonly<Record<string, Attacher>> = {
  'kprobe+': attachKprobe,
  'kretprobe+': attachKprobe,
  'ksyscall+': attachKsyscall,
  'kretsyscall+': attachKsyscall,
  'tracepoint+': attachTracepoint,
  'tp+': attachTracepoint,
  'raw_tracepoint+': attachRawTracepoint,
  'raw_tp+': attachRawTracepoint,
  'raw_tracepoint.w+': attachRawTracepoint,
  'raw_tp.w+': attachRawTracepoint,
  'tp_btf+': attachBtfId,
  'fentry+': attachBtfId,
  'fmod_ret+': attachBtfId,
  'fexit+': attachBtfId,
  'fentry.s+': attachBtfId,
  'fmod_ret.s+': attachBtfId,
  'fexit.s+': attachBtfId,
  'freplace+': attachBtfId,
  'lsm+': attachBtfId,
  'lsm.s+': attachBtfId,
  'iter+': attachIter,
  'iter.s+': attachIter,
};

/**
 * Sections libbpf does not auto-attach but that attach() takes with a target in the options (libbpf's
 * bpf_program__attach_xdp, bpf_program__attach_tcx, bpf_program__attach_perf_event, bpf_program__attach_cgroup).
 */
const ATTACH_WITH_TARGET: Readonly<Record<string, Attacher>> = {
  xdp: attachXdp,
  'xdp.frags': attachXdp,
  'tc/ingress': attachTcx,
  'tc/egress': attachTcx,
  'tcx/ingress': attachTcx,
  'tcx/egress': attachTcx,
  perf_event: attachToPerfEventFd,
  'cgroup_skb/ingress': attachCgroup,
  'cgroup_skb/egress': attachCgroup,
  'cgroup/skb': attachCgroup,
  'cgroup/sock_create': attachCgroup,
  'cgroup/sock_release': attachCgroup,
  'cgroup/sock': attachCgroup,
  'cgroup/post_bind4': attachCgroup,
  'cgroup/post_bind6': attachCgroup,
};

/** Why a section cannot attach here, for the ones with a known other way. */
const NO_ATTACH_REASON: Readonly<Record<string, string>> = {
  socket: 'socket filters are attached to a socket with setsockopt(SO_ATTACH_BPF), not by libbpf',
  tc: 'SEC("tc") has no attach type: use SEC("tcx/ingress") or SEC("tcx/egress")',
  classifier: 'SEC("classifier") has no attach type: use SEC("tcx/ingress") or SEC("tcx/egress")',
};

function makeTarget(libc: AttachLibc, prog: AttachProgram, opts: AttachOptions): Target {
  return { libc, prog, opts, extras: opts.target ?? prog.spec.section?.attachTo ?? '', cookie: cookieOf(prog, opts.cookie) };
}

/**
 * What the skeleton's attach does for one program (bpf_object__attach_skeleton's loop body): the link, or
 * undefined when libbpf skips the program (its section has no auto-attach, or names no target, as a bare
 * SEC("kprobe")). A failure throws a LoaderError with libbpf's message and the errno.
 */
export function* autoAttach(libc: AttachLibc, prog: AttachProgram, opts: AttachOptions = {}): Sys<Link | undefined> {
  const sec = prog.spec.section?.def.sec;
  const attacher = sec === undefined ? undefined : AUTO_ATTACH[sec];
  if (attacher === undefined) return undefined;
  return yield* attacher(makeTarget(libc, prog, opts));
}

/**
 * bpf_program__attach (plus the targeted attach calls for xdp, tcx and perf_event): attach the program as its
 * SEC() name says, with `opts` for what the name leaves out. A section that cannot attach (no attach function,
 * or no target) throws a LoaderError naming the section.
 */
export function* attachProgram(libc: AttachLibc, prog: AttachProgram, opts: AttachOptions = {}): Sys<Link> {
  if (prog.fd < 0) throw invalid(prog, "can't attach BPF program without FD (was it loaded?)");
  const sec = prog.spec.section?.def.sec;
  const attacher = sec === undefined ? undefined : (AUTO_ATTACH[sec] ?? ATTACH_WITH_TARGET[sec]);
  if (sec === undefined || attacher === undefined) {
    const reason = (sec === undefined ? undefined : NO_ATTACH_REASON[sec]) ?? 'libbpf has no attach function for this section';
    throw new LoaderError(`prog '${prog.spec.name}': can't attach SEC("${prog.spec.sectionName}"): ${reason}`, 'unsupported', undefined, Errno.EOPNOTSUPP);
  }
  const link = yield* attacher(makeTarget(libc, prog, opts));
  if (link === undefined)
    throw new LoaderError(
      `prog '${prog.spec.name}': SEC("${prog.spec.sectionName}") names no target to attach to`,
      'unsupported',
      'give it in the section name or in the attach options (target)',
      Errno.EOPNOTSUPP,
    );
  return link;
}

/**
 * bpf_object__attach_skeleton's program loop: auto-attach every program, in the object's order, skipping those
 * libbpf skips. On a failure the links made so far are destroyed (libbpf leaves them to the skeleton's destroy)
 * and the error is thrown.
 */
export function* attachAll(libc: AttachLibc, programs: Iterable<AttachProgram>): Sys<Map<string, Link>> {
  const links = new Map<string, Link>();
  for (const prog of programs) {
    try {
      const link = yield* autoAttach(libc, prog);
      if (link !== undefined) links.set(prog.spec.name, link);
    } catch (error) {
      for (const made of links.values()) yield* made.destroy();
      if (error instanceof LoaderError) error.message = `prog '${prog.spec.name}': failed to auto-attach: ${error.message}`;
      throw error;
    }
  }
  return links;
}
