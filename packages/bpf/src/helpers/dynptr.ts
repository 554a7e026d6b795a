/**
 * Dynptr helpers (kernel/bpf/helpers.c and ringbuf.c): a dynptr is a `struct bpf_dynptr_kern` (16 bytes,
 * maps/ringbuf-records.ts DYNPTR_KERN) that a program makes on its stack (bpf_dynptr_from_mem over a map value,
 * bpf_ringbuf_reserve_dynptr over a ring buffer record) or gets from the kernel (bpf_user_ringbuf_drain's
 * callback), then reads, writes or slices (bpf_dynptr_read/write/data), and for a ring buffer record submits
 * or discards. The verifier (dynptr.ts in @ebpf-sim/verifier) tracks the stack slots and the record's reference.
 * Packet dynptrs (bpf_dynptr_from_skb / bpf_dynptr_from_xdp, kfuncs/dynptr.ts) read and write through the packet
 * (__bpf_skb_load_bytes, __bpf_xdp_store_bytes, ...) and are sliced by the bpf_dynptr_slice kfuncs only.
 */
import { SK_BUFF } from '@ebpf-sim/kernel';
import { BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import type { RingBufMap } from '../maps/ringbuf.js';
import { DYNPTR_KERN, ringbufOfSample } from '../maps/ringbuf-records.js';
import { skbClearHash, skbEnsureWritable, skbHeadlen } from '../net/skbuff.js';
import { readPtr, xdpCopyBuf, xdpPointer } from '../net/xdp.js';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/** DYNPTR_SIZE_MASK: the low 24 bits of bpf_dynptr_kern.size are the size (the type and read-only bits above). */
const DYNPTR_SIZE_MASK = 0xffffff;
/** bpf_skb_store_bytes's flags, which bpf_dynptr_write passes on for an skb dynptr. */
const BPF_F_RECOMPUTE_CSUM = 1;
const BPF_F_INVALIDATE_HASH = 2;

/** ptr->data (a kernel address; 0 for a NULL dynptr). */
function dataOf(view: DataView, ptr: number): number {
  return view.getUint32(ptr + DYNPTR_KERN.data, true) + view.getUint32(ptr + DYNPTR_KERN.data + 4, true) * 0x1_0000_0000;
}

/** bpf_dynptr_init(ptr, data, type, offset 0, size), read-only when `rdonly` (bpf_dynptr_set_rdonly). */
export function dynptrInit(view: DataView, ptr: number, data: number, type: number, size: number, rdonly = false): void {
  view.setUint32(ptr + DYNPTR_KERN.data, data >>> 0, true);
  view.setUint32(ptr + DYNPTR_KERN.data + 4, Math.floor(data / 0x1_0000_0000), true);
  view.setUint32(ptr + DYNPTR_KERN.size, (size | (type << DYNPTR_KERN.TYPE_SHIFT) | (rdonly ? DYNPTR_KERN.RDONLY_BIT : 0)) >>> 0, true);
  view.setUint32(ptr + DYNPTR_KERN.offset, 0, true);
}

/** bpf_dynptr_set_null: every field 0. */
export function dynptrSetNull(bytes: Uint8Array, ptr: number): void {
  bytes.fill(0, ptr, ptr + DYNPTR_KERN.SIZE);
}

/** bpf_dynptr_get_type. */
function typeOf(view: DataView, ptr: number): number {
  return (view.getUint32(ptr + DYNPTR_KERN.size, true) >>> DYNPTR_KERN.TYPE_SHIFT) & DYNPTR_KERN.TYPE_MASK;
}

/**
 * bpf_dynptr_check_off_len: `len` bytes at `offset` inside the dynptr's size; their offset in the dynptr's data
 * (ptr->offset + offset), or -1 (the caller answers -E2BIG or NULL).
 */
function offsetIn(view: DataView, ptr: number, offset: number, len: number): number {
  const size = view.getUint32(ptr + DYNPTR_KERN.size, true) & DYNPTR_SIZE_MASK;
  if (len > size || offset > size - len) return -1;
  return view.getUint32(ptr + DYNPTR_KERN.offset, true) + offset;
}

/**
 * The address of `len` bytes at `offset` of a memory-backed (local, ringbuf) dynptr, or -1 out of range. Packet
 * dynptrs (skb, xdp) have no flat data: their callers go through the packet.
 */
function sliceAt(view: DataView, ptr: number, offset: number, len: number): number {
  const off = offsetIn(view, ptr, offset, len);
  return off < 0 ? -1 : dataOf(view, ptr) + off;
}

function isRdonly(view: DataView, ptr: number): boolean {
  return (view.getUint32(ptr + DYNPTR_KERN.size, true) & DYNPTR_KERN.RDONLY_BIT) !== 0;
}

/**
 * skb_header_pointer over the linear skbs of this kernel: the address of `len` bytes at `off` of the packet, or
 * 0 past the linear part (bpf_dynptr_check_off_len has checked `off + len` against skb->len already).
 */
function skbPointer(view: DataView, skb: number, off: number, len: number): number {
  return off + len <= skbHeadlen(view, skb) ? readPtr(view, skb + SK_BUFF.data) + off : 0;
}

/**
 * The address of `len` bytes at `offset` of the dynptr's data as bpf_dynptr_slice hands it out (after
 * bpf_dynptr_check_off_len): the memory itself for local and ringbuf dynptrs, the packet's bytes where they are
 * contiguous (skb_header_pointer, bpf_xdp_pointer), else copied into `buffer` (0 without one). 0 when out of range.
 */
export function dynptrSlice(env: HelperEnv, ptr: number, offset: number, buffer: number, len: number): number {
  const { view, bytes } = env.k.phys;
  const data = dataOf(view, ptr);
  if (data === 0) return 0;
  const off = offsetIn(view, ptr, offset, len);
  if (off < 0) return 0;
  switch (typeOf(view, ptr)) {
    case DYNPTR_KERN.TYPE_SKB:
      // skb_header_pointer / skb_pointer_if_linear: this kernel's skbs are linear, so the bytes (checked against
      // skb->len above) are always in the head and the buffer is never needed.
      return skbPointer(view, data, off, len);
    case DYNPTR_KERN.TYPE_XDP: {
      const at = xdpPointer(view, data, off, len);
      if (at > 0) return at;
      if (buffer === 0 || at < 0) return 0;
      xdpCopyBuf(bytes, view, data, off, buffer, len, false);
      return buffer;
    }
    default:
      return data + off;
  }
}

/** bpf_dynptr_is_rdonly for the rdwr slice. */
export function dynptrIsRdonly(env: HelperEnv, ptr: number): boolean {
  return isRdonly(env.k.phys.view, ptr);
}

/**
 * bpf_dynptr_from_mem(data, size, flags, ptr): a local dynptr over `size` bytes of a map value; -E2BIG above
 * DYNPTR_MAX_SIZE, -EINVAL for any flag, the dynptr NULL on failure.
 */
const dynptrFromMem: HelperImpl = (env) => (ctx) => {
  const { view, bytes } = env.k.phys;
  const ptr = ctx.argNumber(4);
  const size = ctx.argU32(2);
  const err = size > DYNPTR_KERN.MAX_SIZE ? -Errno.E2BIG : ctx.argNumber(3) !== 0 ? -Errno.EINVAL : 0;
  if (err !== 0) {
    dynptrSetNull(bytes, ptr);
    return err;
  }
  dynptrInit(view, ptr, ctx.argNumber(1), DYNPTR_KERN.TYPE_LOCAL, size);
  return 0;
};

/**
 * bpf_dynptr_read(dst, len, src, offset, flags): copy `len` bytes at `offset` of the dynptr's data to `dst`; 0,
 * -EINVAL for a NULL dynptr or any flag, -E2BIG past its size (bpf_dynptr_check_off_len).
 */
const dynptrRead: HelperImpl = (env) => (ctx) => {
  const { view, bytes } = env.k.phys;
  const src = ctx.argNumber(3);
  const data = dataOf(view, src);
  if (data === 0 || ctx.argNumber(5) !== 0) return -Errno.EINVAL;
  const len = ctx.argU32(2);
  const off = offsetIn(view, src, ctx.argU32(4), len);
  if (off < 0) return -Errno.E2BIG;
  const dst = ctx.argNumber(1);
  switch (typeOf(view, src)) {
    case DYNPTR_KERN.TYPE_SKB: {
      // __bpf_skb_load_bytes: skb_header_pointer, which the linear skbs always answer.
      const at = skbPointer(view, data, off, len);
      if (at === 0) {
        bytes.fill(0, dst, dst + len);
        return -Errno.EFAULT;
      }
      bytes.copyWithin(dst, at, at + len);
      return 0;
    }
    case DYNPTR_KERN.TYPE_XDP:
      // __bpf_xdp_load_bytes: the linear part, then the fragments.
      xdpCopyBuf(bytes, view, data, off, dst, len, false);
      return 0;
    default:
      bytes.copyWithin(dst, data + off, data + off + len);
      return 0;
  }
};

/**
 * bpf_dynptr_write(dst, offset, src, len, flags): copy `len` bytes from `src` into the dynptr at `offset`
 * (memmove: a map value may be under two dynptrs); -EINVAL for a NULL or read-only dynptr or any flag, -E2BIG
 * past its size.
 */
const dynptrWrite: HelperImpl = (env) => (ctx) => {
  const { view, bytes } = env.k.phys;
  const dst = ctx.argNumber(1);
  if (dataOf(view, dst) === 0 || isRdonly(view, dst)) return -Errno.EINVAL;
  const len = ctx.argU32(4);
  const off = offsetIn(view, dst, ctx.argU32(2), len);
  if (off < 0) return -Errno.E2BIG;
  const flags = ctx.argNumber(5);
  const src = ctx.argNumber(3);
  const data = dataOf(view, dst);
  switch (typeOf(view, dst)) {
    case DYNPTR_KERN.TYPE_SKB: {
      // __bpf_skb_store_bytes: its flags, a writable head, then the copy (CHECKSUM_NONE: no csum to recompute).
      if ((flags & ~(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH)) !== 0) return -Errno.EINVAL;
      const err = skbEnsureWritable(view, data, off + len);
      if (err !== 0) return err;
      const at = readPtr(view, data + SK_BUFF.data) + off;
      bytes.copyWithin(at, src, src + len);
      if ((flags & BPF_F_INVALIDATE_HASH) !== 0) skbClearHash(view, data);
      return 0;
    }
    case DYNPTR_KERN.TYPE_XDP:
      if (flags !== 0) return -Errno.EINVAL;
      xdpCopyBuf(bytes, view, data, off, src, len, true);
      return 0;
    default:
      if (flags !== 0) return -Errno.EINVAL;
      bytes.copyWithin(data + off, src, src + len);
      return 0;
  }
};

/** bpf_dynptr_data(ptr, offset, len): the address of `len` bytes at `offset`, or NULL (NULL or read-only dynptr, out of range). */
const dynptrData: HelperImpl = (env) => (ctx) => {
  const view = env.k.phys.view;
  const ptr = ctx.argNumber(1);
  // skb and xdp dynptrs are sliced with bpf_dynptr_slice(_rdwr): bpf_dynptr_data gives NULL for them.
  const type = typeOf(view, ptr);
  if (dataOf(view, ptr) === 0 || type === DYNPTR_KERN.TYPE_SKB || type === DYNPTR_KERN.TYPE_XDP) return 0;
  const at = sliceAt(view, ptr, ctx.argU32(2), ctx.argU32(3));
  if (at < 0 || isRdonly(view, ptr)) return 0;
  return at;
};

/** The ring buffer a program names in r1 (the verifier allows only RINGBUF maps there), or undefined. */
function ringAt(env: HelperEnv, address: number): RingBufMap | undefined {
  const map = env.mapAt(address);
  return map?.type === BPF_MAP_TYPE.RINGBUF ? (map as RingBufMap) : undefined;
}

/**
 * bpf_ringbuf_reserve_dynptr(map, size, flags, ptr): a ringbuf dynptr over a new record of `size` bytes; on
 * failure (any flag: -EINVAL; above DYNPTR_MAX_SIZE: -E2BIG; no room: -EINVAL) the dynptr is NULL, and the
 * program must still submit or discard it (the verifier gave it a reference either way).
 */
const ringbufReserveDynptr: HelperImpl = (env) => (ctx) => {
  const { view, bytes } = env.k.phys;
  const ptr = ctx.argNumber(4);
  const size = ctx.argU32(2);
  let err = ctx.argNumber(3) !== 0 ? -Errno.EINVAL : size > DYNPTR_KERN.MAX_SIZE ? -Errno.E2BIG : 0;
  const sample = err === 0 ? (ringAt(env, ctx.argNumber(1))?.reserve(size) ?? 0) : 0;
  if (err === 0 && sample === 0) err = -Errno.EINVAL;
  if (err !== 0) {
    dynptrSetNull(bytes, ptr);
    return err;
  }
  dynptrInit(view, ptr, sample, DYNPTR_KERN.TYPE_RINGBUF, size);
  return 0;
};

/** bpf_ringbuf_submit_dynptr / bpf_ringbuf_discard_dynptr(ptr, flags): commit the record (none for a NULL dynptr), then NULL the dynptr. */
const ringbufCommitDynptr =
  (discard: boolean): HelperImpl =>
  (env) => {
    const { bytes, view } = env.k.phys;
    return (ctx) => {
      const ptr = ctx.argNumber(1);
      const sample = dataOf(view, ptr);
      if (sample === 0) return 0;
      ringbufOfSample(bytes, view, sample)?.commit(sample, ctx.argU32(2), discard);
      dynptrSetNull(bytes, ptr);
      return 0;
    };
  };

export const DYNPTR_HELPERS: readonly BpfHelper[] = [
  helper(
    'dynptr_from_mem',
    { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything', 'ptr_to_dynptr_uninit_local'], dataIsMapValue: true },
    dynptrFromMem,
  ),
  helper('dynptr_read', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'ptr_to_dynptr', 'anything', 'anything'] }, dynptrRead),
  helper('dynptr_write', { ret: 'integer', args: ['ptr_to_dynptr', 'anything', 'ptr_to_mem', 'const_size_or_zero', 'anything'] }, dynptrWrite),
  helper('dynptr_data', { ret: 'ptr_to_dynptr_mem_or_null', args: ['ptr_to_dynptr', 'anything', 'const_alloc_size_or_zero'] }, dynptrData),
  helper(
    'ringbuf_reserve_dynptr',
    { ret: 'integer', args: ['const_map_ptr', 'anything', 'anything', 'ptr_to_dynptr_uninit_ringbuf'], mapTypes: ['ringbuf'] },
    ringbufReserveDynptr,
  ),
  helper('ringbuf_submit_dynptr', { ret: 'void', args: ['ptr_to_dynptr_release_ringbuf', 'anything'] }, ringbufCommitDynptr(false)),
  helper('ringbuf_discard_dynptr', { ret: 'void', args: ['ptr_to_dynptr_release_ringbuf', 'anything'] }, ringbufCommitDynptr(true)),
];
