/**
 * Raw tracepoint links (kernel/bpf/syscall.c: bpf_raw_tracepoint_open, bpf_raw_tp_link_attach,
 * bpf_raw_tp_link_lops). A RAW_TRACEPOINT program is attached by the tracepoint's name; a TRACING program with
 * expected_attach_type BPF_TRACE_RAW_TP (tp_btf) by the tracepoint it was verified against. Both make a
 * BPF_LINK_TYPE_RAW_TRACEPOINT link whose attachment runs the program on the kernel's `raw_tp:<name>` hook with
 * the TP_PROTO arguments as u64 slots, and the link's cookie for bpf_get_attach_cookie.
 * The command itself (name resolution by program type) is raw-tracepoint-open.ts.
 */
import { rawTracepointHookName, type Task, type UserCopy } from '@ebpf-sim/kernel';
import { BPF_LINK_INFO_RAW_TRACEPOINT as RAW_TP_LINK_INFO, BPF_LINK_TYPE, Errno } from '@ebpf-sim/uapi';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { BpfLink, BpfLinkOps } from '../syscall/link.js';
import type { ProgObject } from '../syscall/prog.js';
import { BTF_TRACE_PREFIX } from '../vmlinux/btf-attach.js';
import { BpfAttachment } from './hook-program.js';

/** sizeof(struct bpf_raw_tp_link) on x86_64 Linux 6.18 (its vmlinux BTF: struct bpf_link, btp, cookie). */
const RAW_TP_LINK_SIZE = 104;

/** The type's part of struct bpf_raw_tp_link: the tracepoint, and the attachment that runs the program there. */
export interface RawTpLinkData {
  readonly tpName: string;
  readonly cookie: bigint;
  readonly attachment: BpfAttachment;
  /** Undoes the attachment (the hook's detach). */
  detach: (() => void) | undefined;
}

const encoder = new TextEncoder();

function release(link: BpfLink): void {
  const data = link.data as RawTpLinkData;
  data.detach?.();
  data.detach = undefined;
}

/** bpf_raw_tp_link_fill_link_info: the name (if the caller gave a buffer), its length with the NUL, the cookie. */
function fillInfo(link: BpfLink, info: DataView, mm: UserCopy): number {
  const data = link.data as RawTpLinkData;
  const ubuf = info.getUint32(RAW_TP_LINK_INFO.tp_name, true) + info.getUint32(RAW_TP_LINK_INFO.tp_name + 4, true) * 0x1_0000_0000;
  const ulen = info.getUint32(RAW_TP_LINK_INFO.tp_name_len, true);
  if ((ulen === 0) !== (ubuf === 0)) return -Errno.EINVAL;
  const name = encoder.encode(data.tpName);
  info.setUint32(RAW_TP_LINK_INFO.tp_name_len, name.length + 1, true);
  info.setBigUint64(RAW_TP_LINK_INFO.cookie, data.cookie, true);
  if (ubuf === 0) return 0;
  return copyNameToUser(mm, ubuf, ulen, name);
}

/**
 * bpf_copy_to_user: the string and its NUL when `ulen` holds them; otherwise the first ulen - 1 bytes and a NUL,
 * and -ENOSPC.
 */
export function copyNameToUser(mm: UserCopy, ubuf: number, ulen: number, name: Uint8Array): number {
  const bytes = new Uint8Array(Math.min(ulen, name.length + 1));
  bytes.set(name.subarray(0, bytes.length - 1));
  if (!mm.copyToUser(ubuf, bytes, 0, bytes.length)) return -Errno.EFAULT;
  return ulen < name.length + 1 ? -Errno.ENOSPC : 0;
}

/** bpf_raw_tp_link_lops: release and fill_link_info only (LINK_DETACH is EOPNOTSUPP, LINK_UPDATE EINVAL, as recorded on 6.18). */
export const RAW_TP_LINK_OPS: BpfLinkOps = {
  type: BPF_LINK_TYPE.RAW_TRACEPOINT,
  objectSize: RAW_TP_LINK_SIZE,
  release,
  fillInfo,
  showFdinfo: (link) => {
    const data = link.data as RawTpLinkData;
    return `tp_name:\t${data.tpName}\ncookie:\t${data.cookie}\n`;
  },
};

/** The tracepoint a tp_btf program was verified against (attach_func_name): its `btf_trace_<name>` typedef without the prefix. */
export function tpBtfName(bpf: BpfSyscall, prog: ProgObject): string | undefined {
  const name = bpf.progs.vmlinux?.btf.types[prog.attachBtfId]?.name;
  return name?.startsWith(BTF_TRACE_PREFIX) === true ? name.slice(BTF_TRACE_PREFIX.length) : undefined;
}

/**
 * The attaching half of bpf_raw_tp_link_attach, once the tracepoint's name is known: the link's fd, or -errno
 * (the caller drops its program reference on failure).
 */
export function rawTpLinkAttach(bpf: BpfSyscall, task: Task, prog: ProgObject, tpName: string, cookie: bigint): number {
  // bpf_get_raw_tracepoint: an unknown name is ENOENT.
  const hook = bpf.hookPoints?.get(rawTracepointHookName(tpName));
  if (hook === undefined) return -Errno.ENOENT;
  const attachment = new BpfAttachment(bpf.runtime, prog, cookie);
  const data: RawTpLinkData = { tpName, cookie, attachment, detach: undefined };
  const primer = bpf.links.prime(RAW_TP_LINK_OPS, prog, data);
  if (typeof primer === 'number') return primer;
  // bpf_probe_register: programs on one tracepoint run in attach order.
  data.detach = hook.attach(attachment);
  return bpf.links.settle(task, primer);
}

/** The attr block's u64 at `offset` (a cookie), as the u64 it is. */
export function attrU64(bpf: BpfSyscall, offset: number): bigint {
  return (BigInt(bpf.u64High(offset)) << 32n) | BigInt(bpf.u32(offset));
}
