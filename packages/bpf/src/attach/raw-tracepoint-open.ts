/**
 * BPF_RAW_TRACEPOINT_OPEN (kernel/bpf/syscall.c: bpf_raw_tracepoint_open and the name-resolving half of
 * bpf_raw_tp_link_attach): a RAW_TRACEPOINT program names its tracepoint; a tp_btf program uses the one it was
 * verified against; other TRACING, LSM and EXT programs pass no name and go to the trampoline attach, as
 * libbpf's fallback for kernels without BPF_LINK_CREATE uses it.
 */
import type { Task, UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_ATTR_LAYOUTS, BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { ProgObject } from '../syscall/prog.js';
import { attrU64, rawTpLinkAttach, tpBtfName } from './raw-tp-link.js';
import { tracingProgAttach } from './tracing-link.js';

/** Linux's tp_name buffer in bpf_raw_tp_link_attach: `char buf[128]`, filled by strncpy_from_user(buf, name, 127). */
const TP_NAME_MAX = 127;

const decoder = new TextDecoder();

/** bpf_raw_tp_link_attach: the link's fd, or -errno (the caller drops its program reference on failure). */
export function rawTpAttachByName(bpf: BpfSyscall, task: Task, mm: UserCopy, prog: ProgObject, userTpName: number, cookie: bigint): number {
  let tpName: string;
  switch (prog.progType) {
    case BPF_PROG_TYPE.TRACING:
    case BPF_PROG_TYPE.EXT:
    case BPF_PROG_TYPE.LSM: {
      // "The attach point for this category of programs should be specified via btf_id during program load."
      if (userTpName !== 0) return -Errno.EINVAL;
      if (prog.progType === BPF_PROG_TYPE.TRACING && prog.expectedAttachType === BPF_ATTACH_TYPE.TRACE_RAW_TP) {
        const name = tpBtfName(bpf, prog);
        if (name === undefined) return -Errno.EINVAL;
        tpName = name;
        break;
      }
      return tracingProgAttach(bpf, task, prog, 0, 0, 0n);
    }
    case BPF_PROG_TYPE.RAW_TRACEPOINT:
    case BPF_PROG_TYPE.RAW_TRACEPOINT_WRITABLE: {
      // strncpy_from_user(buf, user_tp_name, 127): a longer name is cut at 127 bytes; a fault (NULL too) is EFAULT.
      const name = mm.readCString(userTpName, TP_NAME_MAX + 1);
      if (typeof name === 'number') {
        if (name !== -Errno.ENAMETOOLONG) return -Errno.EFAULT;
        const bytes = new Uint8Array(TP_NAME_MAX);
        if (!mm.copyFromUser(userTpName, bytes, 0, TP_NAME_MAX)) return -Errno.EFAULT;
        tpName = decoder.decode(bytes);
      } else tpName = name;
      break;
    }
    default:
      return -Errno.EINVAL;
  }
  return rawTpLinkAttach(bpf, task, prog, tpName, cookie);
}

const R = BPF_ATTR_LAYOUTS.RAW_TRACEPOINT_OPEN;

/** BPF_RAW_TRACEPOINT_OPEN (bpf_raw_tracepoint_open): the program's reference passes to the link, or is dropped on failure. */
export function rawTracepointOpen(bpf: BpfSyscall, task: Task, mm: UserCopy): number {
  const prog = bpf.progFromFd(task, bpf.u32(R.prog_fd.offset));
  if (typeof prog === 'number') return prog;
  prog.refs++;
  const fd = rawTpAttachByName(bpf, task, mm, prog, bpf.u64(R.name.offset), attrU64(bpf, R.cookie.offset));
  if (fd < 0) bpf.progs.put(prog);
  return fd;
}
