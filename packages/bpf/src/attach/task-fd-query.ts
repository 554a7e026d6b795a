/**
 * BPF_TASK_FD_QUERY (kernel/bpf/syscall.c: bpf_task_fd_query, bpf_task_fd_query_copy; bpf_get_perf_event_info in
 * kernel/trace/bpf_trace.c): what a process's fd runs, for `bpftool perf show`. A raw tracepoint link names its
 * tracepoint (BPF_FD_TYPE_RAW_TRACEPOINT); a perf event with a program names its tracepoint, or its probed
 * function and offset (BPF_FD_TYPE_TRACEPOINT, KPROBE, KRETPROBE). Any other fd is -ENOTSUPP, which bpftool's
 * has_perf_query_support expects for an fd with nothing attached.
 */
import { hasCapability, type Task, type UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTR_LAYOUTS, BPF_FD_TYPE, BPF_PROG_TYPE, CAP, Errno } from '@ebpf-sim/uapi';
import { ENOTSUPP } from '../maps/map.js';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import { eventProg, kprobeAddress } from './perf-link.js';
import { copyNameToUser, RAW_TP_LINK_OPS, type RawTpLinkData } from './raw-tp-link.js';
import type { BpfLink } from '../syscall/link.js';

const Q = BPF_ATTR_LAYOUTS.TASK_FD_QUERY;
const encoder = new TextEncoder();

/** What one fd runs: bpf_task_fd_query_copy's arguments. */
interface FdQueryAnswer {
  readonly progId: number;
  readonly fdType: number;
  readonly name: string;
  readonly probeOffset: number;
  readonly probeAddr: bigint;
}

/** bpf_task_fd_query, after CHECK_ATTR: 0 (or -ENOSPC with the name cut) with the answer written back, or -errno. */
export function taskFdQuery(bpf: BpfSyscall, task: Task, mm: UserCopy, uattr: number): number {
  if (!hasCapability(task.group.cred, CAP.SYS_ADMIN)) return -Errno.EPERM;
  if (bpf.u32(Q.flags.offset) !== 0) return -Errno.EINVAL;
  const target = bpf.taskByPid(bpf.s32(Q.pid.offset));
  if (target === undefined) return -Errno.ENOENT;
  const file = bpf.fileOf(target, bpf.u32(Q.fd.offset));
  if (file === undefined) return -Errno.EBADF;
  let answer: FdQueryAnswer | number = -ENOTSUPP;
  if (file.ops === bpf.links.fops) {
    const link = file.privateData as BpfLink;
    if (link.ops === RAW_TP_LINK_OPS)
      answer = { progId: link.prog.id, fdType: BPF_FD_TYPE.RAW_TRACEPOINT, name: (link.data as RawTpLinkData).tpName, probeOffset: 0, probeAddr: 0n };
  } else {
    const event = bpf.perfBpf?.bpfEventOf(file);
    if (event !== undefined) {
      // bpf_get_perf_event_info: ENOENT without a program, EOPNOTSUPP for a PERF_EVENT program (a sampling event).
      const prog = eventProg(event)?.prog;
      if (prog === undefined) answer = -Errno.ENOENT;
      else if (prog.progType === BPF_PROG_TYPE.PERF_EVENT) answer = -Errno.EOPNOTSUPP;
      else if (event.kind === 'tracepoint') answer = { progId: prog.id, fdType: BPF_FD_TYPE.TRACEPOINT, name: event.name, probeOffset: 0, probeAddr: 0n };
      else {
        // bpf_get_kprobe_info: the symbol and offset the probe was made with, and kp.addr for a caller that may
        // see kernel addresses (kallsyms_show_value(current_cred())), as the perf link's info reports it.
        const fdType = event.kind === 'kretprobe' ? BPF_FD_TYPE.KRETPROBE : BPF_FD_TYPE.KPROBE;
        const probeAddr = kprobeAddress(event.name, event.probeOffset, bpf.kernelAddressesShown());
        answer = { progId: prog.id, fdType, name: event.name, probeOffset: event.probeOffset, probeAddr };
      }
    }
  }
  return typeof answer === 'number' ? answer : copyAnswer(bpf, mm, uattr, answer);
}

/**
 * bpf_task_fd_query_copy: buf_len becomes the name's length; a buffer of buf_len bytes gets the name and its NUL,
 * or (too short) its first buf_len - 1 bytes, a NUL and -ENOSPC; then prog_id, fd_type, probe_offset, probe_addr.
 */
function copyAnswer(bpf: BpfSyscall, mm: UserCopy, uattr: number, answer: FdQueryAnswer): number {
  const name = encoder.encode(answer.name);
  const inputLen = bpf.u32(Q.buf_len.offset);
  const ubuf = bpf.u64(Q.buf.offset);
  if (bpf.putU32(mm, uattr + Q.buf_len.offset, name.length) !== 0) return -Errno.EFAULT;
  const err = inputLen !== 0 && ubuf !== 0 ? copyNameToUser(mm, ubuf, inputLen, name) : 0;
  if (err === -Errno.EFAULT) return err;
  // The four outputs are contiguous in the attr (prog_id, fd_type, probe_offset, probe_addr): one copy.
  const start = Q.prog_id.offset;
  const out = new Uint8Array(Q.probe_addr.offset + 8 - start);
  const view = new DataView(out.buffer);
  view.setUint32(Q.prog_id.offset - start, answer.progId, true);
  view.setUint32(Q.fd_type.offset - start, answer.fdType, true);
  view.setBigUint64(Q.probe_offset.offset - start, BigInt(answer.probeOffset), true);
  view.setBigUint64(Q.probe_addr.offset - start, answer.probeAddr, true);
  if (!mm.copyToUser(uattr + start, out, 0, out.length)) return -Errno.EFAULT;
  return err;
}
