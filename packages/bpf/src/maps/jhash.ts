/**
 * Bob Jenkins' lookup3 hash as Linux's include/linux/jhash.h has it: `jhash(key, length, initval)` over bytes
 * and `jhash2(key, words, initval)` over u32 words, which hashtab.c's htab_map_hash uses for keys whose size is
 * a multiple of 4 (both give the same value for the same bytes on a little-endian machine). Both read the key
 * in place (a byte or word array and an index), so hashing a key in kernel memory makes no copy and no
 * allocation.
 */

/** JHASH_INITVAL: an arbitrary value (include/linux/jhash.h). */
export const JHASH_INITVAL = 0xdeadbeef;

const rol32 = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** __jhash_mix's results: module state, so the mix hands back three values without allocating. */
let ma = 0;
let mb = 0;
let mc = 0;

/** __jhash_mix(a, b, c), into ma, mb, mc. */
function mix(a: number, b: number, c: number): void {
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
  ma = a;
  mb = b;
  mc = c;
}

/** __jhash_final(a, b, c), returning c as a signed int32 (a small integer to V8: no heap number). */
function final(a: number, b: number, c: number): number {
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
  return (c - rol32(b, 24)) | 0;
}

/** The 32-bit jhash of `length` bytes of `src` at `off`, seeded with `initval`. */
export function jhash(src: Uint8Array, off: number, length: number, initval: number): number {
  let a = (JHASH_INITVAL + length + initval) | 0;
  let b = a;
  let c = a;
  let k = off;
  let left = length;
  while (left > 12) {
    mix(
      (a + (src[k]! | (src[k + 1]! << 8) | (src[k + 2]! << 16) | (src[k + 3]! << 24))) | 0,
      (b + (src[k + 4]! | (src[k + 5]! << 8) | (src[k + 6]! << 16) | (src[k + 7]! << 24))) | 0,
      (c + (src[k + 8]! | (src[k + 9]! << 8) | (src[k + 10]! << 16) | (src[k + 11]! << 24))) | 0,
    );
    a = ma;
    b = mb;
    c = mc;
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
  return final(a, b, c) >>> 0;
}

/**
 * jhash2: the jhash of `words` u32 words of `src` from index `at`, seeded with `initval`, as a signed int32
 * (`>>> 0` gives jhash's u32): a hash table's hot path keeps it a small integer, never a heap number.
 */
export function jhash2(src: Uint32Array, at: number, words: number, initval: number): number {
  let a = (JHASH_INITVAL + (words << 2) + initval) | 0;
  let b = a;
  let c = a;
  let k = at;
  let left = words;
  while (left > 3) {
    mix((a + src[k]!) | 0, (b + src[k + 1]!) | 0, (c + src[k + 2]!) | 0);
    a = ma;
    b = mb;
    c = mc;
    left -= 3;
    k += 3;
  }
  if (left === 0) return c;
  // case 3, 2, 1 fall through to the final mix.
  if (left === 3) c = (c + src[k + 2]!) | 0;
  if (left >= 2) b = (b + src[k + 1]!) | 0;
  a = (a + src[k]!) | 0;
  return final(a, b, c);
}
