/**
 * The Internet checksum arithmetic of Linux (include/net/checksum.h, arch/x86/lib/csum-partial_64.c) on 32-bit
 * partial sums (`__wsum`) and folded 16-bit checksums (`__sum16`), as plain numbers: no BigInt, no allocation.
 *
 * Values are "native": a 16-bit field is read little-endian from memory and a 32-bit word likewise, which is
 * how x86 sums network-order data. One's complement sums do not depend on byte order, so a checksum computed
 * on the little-endian words and stored little-endian is the network-order checksum.
 */

const U32 = 0x1_0000_0000;

/** csum_add: the 32-bit one's complement sum (end-around carry) of two partial sums. */
export function csumAdd(csum: number, addend: number): number {
  const res = (csum + addend) >>> 0;
  return (res + (res < addend >>> 0 ? 1 : 0)) >>> 0;
}

/** csum_sub: csum_add of the complement. */
export function csumSub(csum: number, addend: number): number {
  return csumAdd(csum, ~addend >>> 0);
}

/** csum_fold: a 32-bit partial sum folded to 16 bits and complemented (the checksum field's value). */
export function csumFold(csum: number): number {
  let sum = (csum & 0xffff) + (csum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** csum_from32to16: a 32-bit partial sum folded to 16 bits, not complemented (what bpf_csum_diff returns). */
export function csumFrom32to16(csum: number): number {
  let sum = (csum & 0xffff) + (csum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** csum16_add: 16-bit one's complement addition (csum_replace2's arithmetic). */
export function csum16Add(csum: number, addend: number): number {
  const res = (csum + addend) & 0xffff;
  return (res + (res < addend ? 1 : 0)) & 0xffff;
}

/**
 * csum_partial of x86_64: `len` bytes at `addr` summed into the 32-bit `seed`. x86 adds the buffer as 64-bit
 * words into a 64-bit accumulator with end-around carry (a trailing 4-, 2- and 1-byte piece as the low half),
 * then folds the two halves with one end-around carry (add32_with_carry). The exact 32-bit value matters to
 * bpf_csum_diff, whose seed a program chains from call to call.
 */
export function csumPartial(view: DataView, addr: number, len: number, seed: number): number {
  // The accumulator as two halves, each kept below 2^53 (buffers of helpers are at most a few KiB).
  let lo = seed >>> 0;
  let hi = 0;
  let at = addr;
  const end = addr + len;
  for (; at + 8 <= end; at += 8) {
    lo += view.getUint32(at, true);
    hi += view.getUint32(at + 4, true);
  }
  if (at + 4 <= end) {
    lo += view.getUint32(at, true);
    at += 4;
  }
  if (at + 2 <= end) {
    lo += view.getUint16(at, true);
    at += 2;
  }
  if (at < end) lo += view.getUint8(at);
  // Normalize to a 64-bit value with end-around carry: carries of the low half go to the high half, carries out
  // of the high half (2^64) come back in at the bottom.
  for (;;) {
    const carry = Math.floor(lo / U32);
    lo -= carry * U32;
    hi += carry;
    const wrap = Math.floor(hi / U32);
    if (wrap === 0) break;
    hi -= wrap * U32;
    lo += wrap;
  }
  const sum = hi + lo;
  return sum >= U32 ? sum - U32 + 1 : sum;
}

/** csum_replace4: `*sum` (a folded checksum) updated for a 32-bit field changing from `from` to `to`. */
export function csumReplace4(sum: number, from: number, to: number): number {
  return csumFold(csumAdd(csumSub(~sum >>> 0, from), to));
}

/** csum_replace2: the same for a 16-bit field, in 16-bit arithmetic. */
export function csumReplace2(sum: number, from: number, to: number): number {
  return ~csum16Add(csum16Add(~sum & 0xffff, ~from & 0xffff), to & 0xffff) & 0xffff;
}

/** csum_replace_by_diff: `*sum` updated by a partial sum of the change (bpf_csum_diff's result). */
export function csumReplaceByDiff(sum: number, diff: number): number {
  return csumFold(csumAdd(diff, ~sum >>> 0));
}
