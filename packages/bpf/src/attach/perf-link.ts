/**
 * Programs on perf events (kernel/events/core.c perf_event_set_bpf_prog, kernel/trace/bpf_trace.c
 * perf_event_attach_bpf_prog, kernel/bpf/syscall.c bpf_perf_link_attach and bpf_perf_link_fill_link_info):
 * PERF_EVENT_IOC_SET_BPF and BPF_LINK_CREATE with attach_type BPF_PERF_EVENT put a KPROBE program on a kprobe
 * event, a TRACEPOINT program on a tracepoint event, a PERF_EVENT program on a software event. A tracing
 * event's program joins the tracepoint's or probe's program list (tp_event->prog_array, in attach order, at
 * most BPF_TRACE_MAX_PROGS); a software event runs its own. Each is a {@link BpfAttachment} on the event's
 * hook, with the cookie of the link (0 for SET_BPF).
 *
 * A perf link holds the perf event's file: closing the event's fd while the link lives keeps the event (and
 * the program on it) alive; the link's last reference detaches the program and drops the file.
 */
import {
  KALLSYMS,
  KERNEL_ADDRESS_HI,
  type File,
  type PerfBpfEvent,
  type PerfEventBpfHost,
  type PerfEventBpfOps,
  type Task,
  type UserCopy,
} from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_ATTR_LAYOUTS, BPF_LINK_INFO_PERF_EVENT, BPF_LINK_TYPE, BPF_PERF_EVENT_TYPE, BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { BpfLink, BpfLinkOps } from '../syscall/link.js';
import type { ProgObject } from '../syscall/prog.js';
import { BpfAttachment } from './hook-program.js';
import type { LinkCreateHandler } from './link-create.js';
import { copyNameToUser } from './raw-tp-link.js';

/** BPF_TRACE_MAX_PROGS: programs one tracepoint or probe takes through perf events (E2BIG past it). */
export const BPF_TRACE_MAX_PROGS = 64;

/** sizeof(struct bpf_perf_link): the link, then the perf file pointer. */
const BPF_PERF_LINK_SIZE = 72;

/** event->prog: the program, its attachment on the event's hook, how to undo it, and event->bpf_cookie. */
interface EventProg {
  readonly prog: ProgObject;
  readonly attachment: BpfAttachment;
  readonly detach: (() => void) | undefined;
  readonly cookie: bigint;
}

/** event->prog with its cookie and attachment, or undefined when no program is set on the event. */
export const eventProg = (event: PerfBpfEvent): EventProg | undefined => event.bpf as EventProg | undefined;

/** The program type each kind of event takes (perf_event_set_bpf_prog; perf_event_set_bpf_handler for software events). */
const PROG_TYPE_OF_EVENT = {
  tracepoint: BPF_PROG_TYPE.TRACEPOINT,
  kprobe: BPF_PROG_TYPE.KPROBE,
  kretprobe: BPF_PROG_TYPE.KPROBE,
  software: BPF_PROG_TYPE.PERF_EVENT,
} as const;

/**
 * perf_event_set_bpf_prog: `prog` runs on `event` with `cookie`. EINVAL for a program of the wrong type;
 * EACCES for a tracepoint program that reads past the tracepoint's record (max_ctx_offset >
 * trace_event_get_offsets); EEXIST when the event has a program; E2BIG when the tracepoint or probe has
 * BPF_TRACE_MAX_PROGS already. The caller's reference on `prog` passes to the event on success.
 */
export function perfEventSetBpfProg(bpf: BpfSyscall, event: PerfBpfEvent, prog: ProgObject, cookie: bigint): number {
  const kind = event.kind;
  if (kind === 'software') {
    // perf_event_set_bpf_handler checks EEXIST before the program's type.
    if (event.bpf !== undefined) return -Errno.EEXIST;
    if (prog.progType !== PROG_TYPE_OF_EVENT.software) return -Errno.EINVAL;
  } else {
    if (prog.progType !== PROG_TYPE_OF_EVENT[kind]) return -Errno.EINVAL;
    const hook = event.hook;
    if (kind === 'tracepoint' && hook !== undefined && prog.maxCtxOffset > hook.ctxSize) return -Errno.EACCES;
    if (event.bpf !== undefined) return -Errno.EEXIST;
    if (hook !== undefined && hook.programs.filter((program) => program instanceof BpfAttachment).length >= BPF_TRACE_MAX_PROGS) return -Errno.E2BIG;
  }
  const attachment = new BpfAttachment(bpf.runtime, prog, cookie);
  // A BPF output event has no hook: it never overflows into its program, as in Linux.
  const detach = event.hook?.attach(attachment);
  event.bpf = { prog, attachment, detach, cookie } satisfies EventProg;
  return 0;
}

/** perf_event_free_bpf_prog: detach the event's program and drop the event's reference on it. */
export function perfEventFreeBpfProg(bpf: BpfSyscall, event: PerfBpfEvent): void {
  const current = eventProg(event);
  if (current === undefined) return;
  event.bpf = undefined;
  current.detach?.();
  bpf.progs.put(current.prog);
}

/** The bpf subsystem's side of PERF_EVENT_IOC_SET_BPF, registered with the kernel's perf events at registerBpf. */
export function perfEventBpfOps(bpf: BpfSyscall): PerfEventBpfOps {
  return {
    setBpf(task: Task, event: PerfBpfEvent, progFd: number): number {
      // bpf_prog_get: EBADF for no file, EINVAL for a file that is not a program.
      const prog = bpf.progFromFd(task, progFd);
      if (typeof prog === 'number') return prog;
      prog.refs++;
      const ret = perfEventSetBpfProg(bpf, event, prog, 0n);
      if (ret < 0) bpf.progs.put(prog);
      return ret;
    },
    freeBpf(event: PerfBpfEvent): void {
      perfEventFreeBpfProg(bpf, event);
    },
  };
}

/** struct bpf_perf_link's own part: the perf event's file (a reference) and the event in it. */
interface PerfLinkData {
  readonly file: File;
  readonly event: PerfBpfEvent;
}

const dataOf = (link: BpfLink): PerfLinkData => link.data as PerfLinkData;

/**
 * bpf_perf_link_lops: release, fill_link_info, show_fdinfo; no detach (LINK_DETACH is EOPNOTSUPP) and no
 * update_prog (LINK_UPDATE is EINVAL), as Linux 6.18 answers (measured on this machine's kernel).
 */
function perfLinkOps(bpf: BpfSyscall, perf: PerfEventBpfHost): BpfLinkOps {
  return {
    type: BPF_LINK_TYPE.PERF_EVENT,
    objectSize: BPF_PERF_LINK_SIZE,
    release(link: BpfLink): void {
      const { file, event } = dataOf(link);
      perfEventFreeBpfProg(bpf, event);
      perf.fput(file);
    },
    fillInfo(link: BpfLink, info: DataView, mm: UserCopy): number {
      return fillPerfLinkInfo(link, info, mm, bpf.kernelAddressesShown());
    },
    showFdinfo: (link: BpfLink) => showPerfLinkFdinfo(link, bpf.kernelAddressesShown()),
  };
}

/** %#llx: hexadecimal with 0x, but a bare 0 for zero. */
const altHex = (value: number | bigint): string => (value === 0 || value === 0n ? '0' : `0x${value.toString(16)}`);

/**
 * A kprobe's kp.addr as bpf_get_kprobe_info reports it: the probed function's address in /proc/kallsyms plus the
 * probe's offset (register_kprobe resolved the symbol), or 0 when the reader may not see kernel addresses
 * (kallsyms_show_value) or the function has no symbol.
 */
export function kprobeAddress(functionName: string, offset: number, shown: boolean): bigint {
  const symbol = shown ? KALLSYMS.get(functionName) : undefined;
  return symbol === undefined ? 0n : (BigInt(KERNEL_ADDRESS_HI) << 32n) | BigInt(symbol.lo + offset);
}

/**
 * bpf_perf_link_show_fdinfo by the program's type (measured for a tracepoint on Linux 6.18:
 * `tp_name:\tsys_enter_openat\nevent_type:\ttracepoint\ncookie:\t3735928559\n`).
 */
function showPerfLinkFdinfo(link: BpfLink, addressesShown: boolean): string {
  const { event } = dataOf(link);
  const cookie = BigInt.asUintN(64, eventProg(event)?.cookie ?? 0n).toString();
  switch (link.prog.progType) {
    case BPF_PROG_TYPE.PERF_EVENT:
      return `type:\t${event.attrType}\nconfig:\t${event.config}\nevent_type:\tevent\ncookie:\t${cookie}\n`;
    case BPF_PROG_TYPE.TRACEPOINT:
      return `tp_name:\t${event.name}\nevent_type:\ttracepoint\ncookie:\t${cookie}\n`;
    case BPF_PROG_TYPE.KPROBE:
      // The address as bpf_link_info has it, the missed count 0 (see fillPerfLinkInfo).
      return `name:\t${event.name}\noffset:\t${altHex(event.probeOffset)}\nmissed:\t0\naddr:\t${altHex(kprobeAddress(event.name, event.probeOffset, addressesShown))}\nevent_type:\t${event.kind}\ncookie:\t${cookie}\n`;
    default:
      return '';
  }
}

/**
 * bpf_perf_link_fill_link_info by the program's type: the tracepoint's name (BPF_PERF_EVENT_TRACEPOINT), the
 * probed function, offset, address and missed count (BPF_PERF_EVENT_KPROBE / KRETPROBE), or the event's type
 * and config (BPF_PERF_EVENT_EVENT), each with the cookie. The name goes to the user buffer as
 * bpf_perf_link_fill_common copies it: name_len and the pointer must both be set or both be 0 (EINVAL);
 * name_len comes back as strlen + 1; a buffer too small gets the name cut and NUL-terminated, and ENOSPC.
 * The kprobe's address is the function's in /proc/kallsyms plus the offset, 0 for a reader that may not see kernel
 * addresses (bpf_perf_link_fill_kprobe: `if (!kallsyms_show_value(current_cred())) addr = 0`).
 */
function fillPerfLinkInfo(link: BpfLink, info: DataView, mm: UserCopy, addressesShown: boolean): number {
  const { event } = dataOf(link);
  const cookie = eventProg(event)?.cookie ?? 0n;
  const P = BPF_LINK_INFO_PERF_EVENT;
  switch (link.prog.progType) {
    case BPF_PROG_TYPE.PERF_EVENT:
      info.setBigUint64(P.event.config, BigInt(event.config), true);
      info.setUint32(P.event.type, event.attrType, true);
      info.setBigUint64(P.event.cookie, cookie, true);
      info.setUint32(P.type, BPF_PERF_EVENT_TYPE.EVENT, true);
      return 0;
    case BPF_PROG_TYPE.TRACEPOINT: {
      const err = copyName(info, P.tracepoint.tp_name, P.tracepoint.name_len, event.name, mm);
      if (err !== 0) return err;
      info.setUint32(P.type, BPF_PERF_EVENT_TYPE.TRACEPOINT, true);
      info.setBigUint64(P.tracepoint.cookie, cookie, true);
      return 0;
    }
    case BPF_PROG_TYPE.KPROBE: {
      const err = copyName(info, P.kprobe.func_name, P.kprobe.name_len, event.name, mm);
      if (err !== 0) return err;
      info.setUint32(P.type, event.kind === 'kretprobe' ? BPF_PERF_EVENT_TYPE.KRETPROBE : BPF_PERF_EVENT_TYPE.KPROBE, true);
      info.setUint32(P.kprobe.offset, event.probeOffset, true);
      // trace_kprobe_missed: a modelled kprobe always hits (runs its programs' guards count their own misses).
      info.setBigUint64(P.kprobe.missed, 0n, true);
      info.setBigUint64(P.kprobe.addr, kprobeAddress(event.name, event.probeOffset, addressesShown), true);
      info.setBigUint64(P.kprobe.cookie, cookie, true);
      return 0;
    }
    default:
      return -Errno.EOPNOTSUPP;
  }
}

const encoder = new TextEncoder();

/** bpf_perf_link_fill_common's name copy (bpf_copy_to_user), the length written back at `lenOffset`. */
function copyName(info: DataView, ptrOffset: number, lenOffset: number, name: string, mm: UserCopy): number {
  const ulen = info.getUint32(lenOffset, true);
  const lo = info.getUint32(ptrOffset, true);
  const hi = info.getUint32(ptrOffset + 4, true);
  const hasBuffer = lo !== 0 || hi !== 0;
  if ((ulen === 0) !== !hasBuffer) return -Errno.EINVAL;
  const bytes = encoder.encode(`${name}\0`);
  info.setUint32(lenOffset, bytes.length, true);
  if (!hasBuffer) return 0;
  return copyNameToUser(mm, lo + hi * 2 ** 32, ulen, bytes.subarray(0, bytes.length - 1));
}

const C = BPF_ATTR_LAYOUTS.LINK_CREATE;
const MULTI_ATTACH_TYPES: ReadonlySet<number> = new Set([BPF_ATTACH_TYPE.TRACE_KPROBE_MULTI, BPF_ATTACH_TYPE.TRACE_UPROBE_MULTI]);

/**
 * BPF_LINK_CREATE for KPROBE, TRACEPOINT and PERF_EVENT programs. bpf_prog_attach_check_attach_type: TRACEPOINT
 * and PERF_EVENT programs take only BPF_PERF_EVENT (EINVAL); a KPROBE program's other attach types
 * (kprobe_multi, uprobe_multi, sessions) are not modelled and refused with EINVAL as link_create's
 * unhandled cases. Then bpf_perf_link_attach: flags must be 0 (EINVAL); target_fd must be a perf event
 * (EBADF); the link is primed, the program set on the event with link_create.perf_event.bpf_cookie (its
 * errnos above), and the event takes its own reference on the program.
 */
export const perfLinkCreate: LinkCreateHandler = (request) => {
  const { bpf, task, prog } = request;
  const perf = bpf.perfBpf;
  if (request.attachType !== BPF_ATTACH_TYPE.PERF_EVENT || perf === undefined) return -Errno.EINVAL;
  // A KPROBE program loaded for kprobe_multi or uprobe_multi attaches only with that attach type.
  if (MULTI_ATTACH_TYPES.has(prog.expectedAttachType)) return -Errno.EINVAL;
  if (request.flags !== 0) return -Errno.EINVAL;
  const file = perf.fget(task, request.targetFd);
  if (typeof file === 'number') return file;
  const event = perf.bpfEventOf(file);
  if (event === undefined) {
    perf.fput(file);
    return -Errno.EBADF;
  }
  const primer = bpf.links.prime(perfLinkOps(bpf, perf), prog, { file, event } satisfies PerfLinkData);
  if (typeof primer === 'number') {
    perf.fput(file);
    return primer;
  }
  const cookie = BigInt(bpf.u32(C.bpf_cookie.offset)) | (BigInt(bpf.u32(C.bpf_cookie.offset + 4)) << 32n);
  const err = perfEventSetBpfProg(bpf, event, prog, cookie);
  if (err < 0) {
    bpf.links.cleanup(primer);
    perf.fput(file);
    return err;
  }
  // perf_event_set_bpf_prog takes no reference of its own: the event's is taken here (bpf_prog_inc).
  prog.refs++;
  return bpf.links.settle(task, primer);
};
