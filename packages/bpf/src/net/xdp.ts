/**
 * struct xdp_buff as Linux's XDP code handles it (include/net/xdp.h, net/core/filter.c): the linear part between
 * data_meta/data and data_end inside a frame of frame_sz bytes from data_hard_start, the skb_shared_info in the
 * frame's last SKB_SHARED_INFO.size bytes, and for a multi-buffer frame (XDP_FLAGS_HAS_FRAGS) its page fragments.
 * Shared by the XDP helpers and BPF_PROG_TEST_RUN. Pointers are u64 in kernel memory; simulated physical
 * addresses are below 2^32, so they are read and written as numbers.
 */
import { MAX_SKB_FRAGS, SKB_FRAG, SKB_SHARED_INFO, XDP_BUFF, XDP_FLAGS_HAS_FRAGS } from '@ebpf-sim/kernel';
import { Errno, PAGE_SIZE } from '@ebpf-sim/uapi';

/** sizeof(struct xdp_frame) on x86_64 Linux 6.18: the head of the headroom a frame keeps for itself (Linux 6.18: adjust_head grows at most 216 bytes). */
export const XDP_FRAME_SIZE = 40;
/** ETH_HLEN: a frame keeps at least an Ethernet header. */
export const ETH_HLEN = 14;
/** Largest metadata (type_max of skb_shared_info.meta_len, xdp_metalen_invalid). */
export const XDP_METADATA_MAX = 255;
/** rxq->frag_size of a test run's queue: each fragment is one page. */
export const XDP_FRAG_SIZE = PAGE_SIZE;

export function readPtr(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
}

export function writePtr(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** xdp_data_meta_unsupported / xdp_get_metalen: metadata length, 0 when data_meta is invalid (past data). */
export function xdpMetalen(view: DataView, xdp: number): number {
  const data = readPtr(view, xdp + XDP_BUFF.data);
  const meta = readPtr(view, xdp + XDP_BUFF.data_meta);
  return meta > data ? 0 : data - meta;
}

/** xdp_metalen_invalid: metadata must be 4-byte aligned and at most XDP_METADATA_MAX. */
export function xdpMetalenInvalid(metalen: number): boolean {
  return (metalen & 3) !== 0 || metalen > XDP_METADATA_MAX;
}

/** xdp_data_hard_end: where the data may grow to (the shared info follows). */
export function xdpHardEnd(view: DataView, xdp: number): number {
  return readPtr(view, xdp + XDP_BUFF.data_hard_start) + view.getUint32(xdp + XDP_BUFF.frame_sz, true) - SKB_SHARED_INFO.size;
}

/** xdp_get_shared_info_from_buff. */
export const xdpSharedInfo = xdpHardEnd;

export function xdpHasFrags(view: DataView, xdp: number): boolean {
  return (view.getUint32(xdp + XDP_BUFF.flags, true) & XDP_FLAGS_HAS_FRAGS) !== 0;
}

/** xdp_get_buff_len: the linear part plus the fragments. */
export function xdpBuffLen(view: DataView, xdp: number): number {
  const linear = readPtr(view, xdp + XDP_BUFF.data_end) - readPtr(view, xdp + XDP_BUFF.data);
  return xdpHasFrags(view, xdp) ? linear + view.getUint32(xdpSharedInfo(view, xdp) + SKB_SHARED_INFO.xdp_frags_size, true) : linear;
}

/** Address of fragment `i` (skb_frag_t) in the shared info `sinfo`. */
export function fragAt(sinfo: number, i: number): number {
  return sinfo + SKB_SHARED_INFO.frags + i * SKB_FRAG.size;
}

export function nrFrags(view: DataView, sinfo: number): number {
  return view.getUint8(sinfo + SKB_SHARED_INFO.nr_frags);
}

/**
 * bpf_xdp_copy_buf: copy `len` bytes at `offset` of the frame (linear part, then fragments) to or from `buf`.
 * The caller has checked offset + len against xdp_get_buff_len.
 */
export function xdpCopyBuf(bytes: Uint8Array, view: DataView, xdp: number, offset: number, buf: number, len: number, toFrame: boolean): void {
  const data = readPtr(view, xdp + XDP_BUFF.data);
  const linear = readPtr(view, xdp + XDP_BUFF.data_end) - data;
  let off = offset;
  let at = buf;
  let left = len;
  if (off < linear) {
    const size = Math.min(left, linear - off);
    copyBytes(bytes, data + off, at, size, toFrame);
    at += size;
    left -= size;
  }
  off = Math.max(0, off - linear);
  if (left === 0 || !xdpHasFrags(view, xdp)) return;
  const sinfo = xdpSharedInfo(view, xdp);
  for (let i = 0; i < nrFrags(view, sinfo) && left > 0; i++) {
    const frag = fragAt(sinfo, i);
    const fragLen = view.getUint32(frag + SKB_FRAG.len, true);
    if (off >= fragLen) {
      off -= fragLen;
      continue;
    }
    const size = Math.min(left, fragLen - off);
    copyBytes(bytes, readPtr(view, frag + SKB_FRAG.netmem) + view.getUint32(frag + SKB_FRAG.offset, true) + off, at, size, toFrame);
    at += size;
    left -= size;
    off = 0;
  }
}

function copyBytes(bytes: Uint8Array, frameAddr: number, bufAddr: number, size: number, toFrame: boolean): void {
  if (toFrame) bytes.copyWithin(frameAddr, bufAddr, bufAddr + size);
  else bytes.copyWithin(bufAddr, frameAddr, frameAddr + size);
}

/**
 * bpf_xdp_pointer: the address of `len` bytes at `offset` when they are in the linear part, 0 when they must be
 * copied piecewise (they cross into fragments), or -errno: offset or len above 0xffff -EFAULT, past the frame
 * -EINVAL.
 */
export function xdpPointer(view: DataView, xdp: number, offset: number, len: number): number {
  if (offset > 0xffff || len > 0xffff) return -Errno.EFAULT;
  if (offset + len > xdpBuffLen(view, xdp)) return -Errno.EINVAL;
  const data = readPtr(view, xdp + XDP_BUFF.data);
  const linear = readPtr(view, xdp + XDP_BUFF.data_end) - data;
  return offset + len <= linear ? data + offset : 0;
}

/** Kernel memory the fragment pages come from and go back to. */
export interface FragPages {
  kfree(address: number): void;
}

/** bpf_xdp_frags_shrink_tail: drop `offset` bytes from the end of a multi-buffer frame, freeing emptied pages. */
export function xdpFragsShrinkTail(view: DataView, pages: FragPages, xdp: number, offset: number): number {
  if (offset > xdpBuffLen(view, xdp) - ETH_HLEN) return -Errno.EINVAL;
  const sinfo = xdpSharedInfo(view, xdp);
  let left = offset;
  let freed = 0;
  let lenFree = 0;
  for (let i = nrFrags(view, sinfo) - 1; i >= 0 && left > 0; i--) {
    const frag = fragAt(sinfo, i);
    const size = view.getUint32(frag + SKB_FRAG.len, true);
    const shrink = Math.min(left, size);
    lenFree += shrink;
    left -= shrink;
    if (shrink === size) {
      pages.kfree(readPtr(view, frag + SKB_FRAG.netmem));
      freed++;
    } else {
      view.setUint32(frag + SKB_FRAG.len, size - shrink, true);
    }
  }
  const remaining = nrFrags(view, sinfo) - freed;
  view.setUint8(sinfo + SKB_SHARED_INFO.nr_frags, remaining);
  view.setUint32(sinfo + SKB_SHARED_INFO.xdp_frags_size, view.getUint32(sinfo + SKB_SHARED_INFO.xdp_frags_size, true) - lenFree, true);
  if (remaining === 0) {
    view.setUint32(xdp + XDP_BUFF.flags, view.getUint32(xdp + XDP_BUFF.flags, true) & ~XDP_FLAGS_HAS_FRAGS, true);
    writePtr(view, xdp + XDP_BUFF.data_end, readPtr(view, xdp + XDP_BUFF.data_end) - left);
  }
  return 0;
}

/** bpf_xdp_frags_increase_tail: grow the last fragment within its page (rxq->frag_size, one page in a test run). */
export function xdpFragsIncreaseTail(bytes: Uint8Array, view: DataView, xdp: number, offset: number): number {
  const sinfo = xdpSharedInfo(view, xdp);
  const frag = fragAt(sinfo, nrFrags(view, sinfo) - 1);
  const size = view.getUint32(frag + SKB_FRAG.len, true);
  const fragOff = view.getUint32(frag + SKB_FRAG.offset, true);
  if (offset > XDP_FRAG_SIZE - size - fragOff) return -Errno.EINVAL;
  const end = readPtr(view, frag + SKB_FRAG.netmem) + fragOff + size;
  bytes.fill(0, end, end + offset);
  view.setUint32(frag + SKB_FRAG.len, size + offset, true);
  view.setUint32(sinfo + SKB_SHARED_INFO.xdp_frags_size, view.getUint32(sinfo + SKB_SHARED_INFO.xdp_frags_size, true) + offset, true);
  return 0;
}

/** The fragment count limit, re-exported for the test run that builds them. */
export { MAX_SKB_FRAGS };
