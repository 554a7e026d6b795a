/**
 * Bob Jenkins' lookup3 hash as Linux's include/linux/jhash.h has it: `jhash(key, length, initval)`, the hash
 * hashtab.c buckets keys with (jhash2 over u32 words gives the same value for lengths that are multiples of 4,
 * so one function serves both). Reads the key straight from a byte array at an offset, so hashing a key in
 * kernel memory makes no copy and no allocation.
 */

/** JHASH_INITVAL: an arbitrary value (include/linux/jhash.h). */
export const JHASH_INITVAL = 0xdeadbeef;

const rol32 = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** The 32-bit jhash of `length` bytes of `src` at `off`, seeded with `initval`. */
export function jhash(src: Uint8Array, off: number, length: number, initval: number): number {
  let a = (JHASH_INITVAL + length + initval) | 0;
  let b = a;
  let c = a;
  let k = off;
  let left = length;
  while (left > 12) {
    a = (a + (src[k]! | (src[k + 1]! << 8) | (src[k + 2]! << 16) | (src[k + 3]! << 24))) | 0;
    b = (b + (src[k + 4]! | (src[k + 5]! << 8) | (src[k + 6]! << 16) | (src[k + 7]! << 24))) | 0;
    c = (c + (src[k + 8]! | (src[k + 9]! << 8) | (src[k + 10]! << 16) | (src[k + 11]! << 24))) | 0;
    // __jhash_mix
    a = (a - c) | 0;
    a ^= rol32(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rol32(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rol32(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rol32(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rol32(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rol32(b, 4);
    b = (b + a) | 0;
    left -= 12;
    k += 12;
  }
  if (left === 0) return c >>> 0;
  // The last block, as the C switch falls through from `case left` down to `case 1`.
  if (left >= 12) c = (c + (src[k + 11]! << 24)) | 0;
  if (left >= 11) c = (c + (src[k + 10]! << 16)) | 0;
  if (left >= 10) c = (c + (src[k + 9]! << 8)) | 0;
  if (left >= 9) c = (c + src[k + 8]!) | 0;
  if (left >= 8) b = (b + (src[k + 7]! << 24)) | 0;
  if (left >= 7) b = (b + (src[k + 6]! << 16)) | 0;
  if (left >= 6) b = (b + (src[k + 5]! << 8)) | 0;
  if (left >= 5) b = (b + src[k + 4]!) | 0;
  if (left >= 4) a = (a + (src[k + 3]! << 24)) | 0;
  if (left >= 3) a = (a + (src[k + 2]! << 16)) | 0;
  if (left >= 2) a = (a + (src[k + 1]! << 8)) | 0;
  a = (a + src[k]!) | 0;
  // __jhash_final
  c ^= b;
  c = (c - rol32(b, 14)) | 0;
  a ^= c;
  a = (a - rol32(c, 11)) | 0;
  b ^= a;
  b = (b - rol32(a, 25)) | 0;
  c ^= b;
  c = (c - rol32(b, 16)) | 0;
  a ^= c;
  a = (a - rol32(c, 4)) | 0;
  b ^= a;
  b = (b - rol32(a, 14)) | 0;
  c ^= b;
  c = (c - rol32(b, 24)) | 0;
  return c >>> 0;
}
