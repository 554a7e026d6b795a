/**
 * From a ring buffer record back to its ring, as bpf_ringbuf_restore_from_rec does: the record header's
 * pg_off is its page's distance from the ring's first page. The rings of one physical memory are kept by
 * that first page's address. A leaf module (type imports only), so the helpers reach rings without importing
 * the map classes at run time.
 */
import { BPF_RINGBUF, PAGE_SIZE } from '@ebpf-sim/uapi';
import type { RingBufMap } from './ringbuf.js';

/**
 * struct bpf_dynptr_kern { void *data; u32 size; u32 offset; } (include/linux/bpf.h): the dynptr a drain callback
 * gets; `size`'s top bits carry the dynptr's type (DYNPTR_TYPE_SHIFT), BPF_DYNPTR_TYPE_LOCAL for a user ring
 * buffer's sample, and a size is at most DYNPTR_MAX_SIZE (bpf_dynptr_check_size).
 */
export const DYNPTR_KERN = {
  data: 0,
  size: 8,
  offset: 12,
  SIZE: 16,
  TYPE_SHIFT: 28,
  TYPE_LOCAL: 1,
  MAX_SIZE: (1 << 24) - 1,
  /** BPF_DYNPTR_TYPE_RINGBUF (enum bpf_dynptr_type): bpf_ringbuf_reserve_dynptr's record. */
  TYPE_RINGBUF: 2,
  /** BPF_DYNPTR_TYPE_SKB / BPF_DYNPTR_TYPE_XDP: bpf_dynptr_from_skb / bpf_dynptr_from_xdp over a packet (data: the sk_buff / xdp_buff). */
  TYPE_SKB: 3,
  TYPE_XDP: 4,
  /** The type's bits above DYNPTR_TYPE_SHIFT (bits 28..30: Linux DYNPTR_TYPE_MASK). */
  TYPE_MASK: 0x7,
  /** DYNPTR_RDONLY_BIT: the top bit of `size`. */
  RDONLY_BIT: 0x8000_0000,
} as const;

const RINGS = new WeakMap<Uint8Array, Map<number, RingBufMap>>();

/** Record `ring`, whose pages start at `base` in the physical memory `bytes`. */
export function registerRing(bytes: Uint8Array, base: number, ring: RingBufMap): void {
  let rings = RINGS.get(bytes);
  if (rings === undefined) RINGS.set(bytes, (rings = new Map<number, RingBufMap>()));
  rings.set(base, ring);
}

/** Forget the ring at `base` (map_free). */
export function unregisterRing(bytes: Uint8Array, base: number): void {
  RINGS.get(bytes)?.delete(base);
}

/** The ring a record's sample belongs to (the header's page minus its pg_off pages), or undefined. */
export function ringbufOfSample(bytes: Uint8Array, view: DataView, sample: number): RingBufMap | undefined {
  const hdr = sample - BPF_RINGBUF.HDR_SZ;
  if (hdr < 0 || hdr + BPF_RINGBUF.HDR_SZ > bytes.length) return undefined;
  const pgOff = view.getInt32(hdr + 4, true);
  return RINGS.get(bytes)?.get((hdr & ~(PAGE_SIZE - 1)) - pgOff * PAGE_SIZE);
}
