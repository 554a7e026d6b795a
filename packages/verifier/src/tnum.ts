/**
 * Tristate numbers (Linux kernel/bpf/tnum.c): a 64-bit value where each bit is known 0, known 1 or unknown.
 * `mask` has a 1 for every unknown bit; `value` holds the known bits (and 0 where unknown). Values are
 * unsigned 64-bit BigInts.
 */

export const U64_MAX = 0xffff_ffff_ffff_ffffn;
export const U32_MAX_N = 0xffff_ffffn;

export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

export const TNUM_UNKNOWN: Tnum = { value: 0n, mask: U64_MAX };

/** The low 32 bits of a u64 BigInt as a number (no allocation when it already fits). */
export function low32(v: bigint): number {
  return v <= U32_MAX_N ? Number(v) : Number(BigInt.asUintN(32, v));
}

/**
 * Small caches of the BigInts and tnums of values below 2^32 (direct-mapped by a hash of the number): the
 * 32-bit paths of bounds.ts produce the same few values over and over (loop counters, masks, constants), and
 * a BigInt or tnum is immutable, so one object can serve every register that holds it. A miss replaces the
 * entry; the cost is a lookup instead of an allocation per bound per instruction.
 */
const CACHE_BITS = 12;
const CACHE_MASK = (1 << CACHE_BITS) - 1;
const BIG_KEYS = new Float64Array(CACHE_MASK + 1).fill(-1);
const BIG_VALS: bigint[] = new Array<bigint>(CACHE_MASK + 1).fill(0n);
const TNUM_V = new Float64Array(CACHE_MASK + 1).fill(-1);
const TNUM_M = new Float64Array(CACHE_MASK + 1).fill(-1);
const TNUMS: Tnum[] = new Array<Tnum>(CACHE_MASK + 1).fill(TNUM_UNKNOWN);

/** BigInt(n) for an integer n in [0, 2^32), shared through the cache. */
export function bigU32(n: number): bigint {
  const k = (n ^ (n >>> CACHE_BITS) ^ (n >>> 24)) & CACHE_MASK;
  if (BIG_KEYS[k] === n) return BIG_VALS[k] ?? BigInt(n);
  const b = BigInt(n);
  BIG_KEYS[k] = n;
  BIG_VALS[k] = b;
  return b;
}

/** The tnum (v; m) for integers v, m in [0, 2^32) with v & m === 0, shared through the cache. */
export function tnum32(v: number, m: number): Tnum {
  const k = (v ^ (v >>> CACHE_BITS) ^ (Math.imul(m ^ (m >>> 16), 0x9e37_79b1) >>> (32 - CACHE_BITS))) & CACHE_MASK;
  if (TNUM_V[k] === v && TNUM_M[k] === m) return TNUMS[k] ?? TNUM_UNKNOWN;
  const t: Tnum = { value: bigU32(v), mask: m === 0 ? 0n : bigU32(m) };
  TNUM_V[k] = v;
  TNUM_M[k] = m;
  TNUMS[k] = t;
  return t;
}

export function tnumConst(value: bigint): Tnum {
  return { value: BigInt.asUintN(64, value), mask: 0n };
}

export function tnumIsConst(a: Tnum): boolean {
  return a.mask === 0n;
}

export function tnumIsUnknown(a: Tnum): boolean {
  return a.mask === U64_MAX;
}

/** tnumRange for integers in [0, 2^32), on numbers (the tnum comes from the cache). */
export function tnumRange32(min: number, max: number): Tnum {
  const chi = (min ^ max) >>> 0;
  if (chi === 0) return tnum32(min, 0);
  const delta = 2 ** (32 - Math.clz32(chi)) - 1;
  return tnum32((min & ~delta) >>> 0, delta);
}

/** The smallest tnum containing every value in [min, max] (unsigned). */
export function tnumRange(min: bigint, max: bigint): Tnum {
  if (min <= U32_MAX_N && max <= U32_MAX_N && min >= 0n) return tnumRange32(Number(min), Number(max));
  const chi = min ^ max;
  if (chi === 0n) return tnumConst(min);
  const hi = Number(chi >> 32n);
  const bits = hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(Number(chi));
  if (bits > 63) return TNUM_UNKNOWN;
  const delta = (1n << BigInt(bits)) - 1n;
  return { value: min & ~delta & U64_MAX, mask: delta };
}

export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  const sm = BigInt.asUintN(64, a.mask + b.mask);
  const sv = BigInt.asUintN(64, a.value + b.value);
  const sigma = BigInt.asUintN(64, sm + sv);
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return { value: sv & ~mu & U64_MAX, mask: mu };
}

export function tnumSub(a: Tnum, b: Tnum): Tnum {
  const dv = BigInt.asUintN(64, a.value - b.value);
  const alpha = BigInt.asUintN(64, dv + a.mask);
  const beta = BigInt.asUintN(64, dv - b.mask);
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return { value: dv & ~mu & U64_MAX, mask: mu };
}

export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return { value: v, mask: alpha & beta & ~v & U64_MAX };
}

export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return { value: v, mask: mu & ~v & U64_MAX };
}

export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return { value: v & ~mu & U64_MAX, mask: mu };
}

/**
 * Multiplication by repeated shift-and-add over the bits of `a` (the kernel's tnum_mul). The accumulated
 * uncertainty has value 0, so each tnum_add into it reduces to `mask = (acc + m) | acc | m`; the loop runs
 * on 32-bit halves in numbers (no BigInt per bit), and once every bit is unknown the product is unknown.
 */
export function tnumMul(a: Tnum, b: Tnum): Tnum {
  let avLo = Number(BigInt.asUintN(32, a.value));
  let avHi = Number(a.value >> 32n);
  let amLo = Number(BigInt.asUintN(32, a.mask));
  let amHi = Number(a.mask >> 32n);
  let bvLo = Number(BigInt.asUintN(32, b.value));
  let bvHi = Number(b.value >> 32n);
  let bmLo = Number(BigInt.asUintN(32, b.mask));
  let bmHi = Number(b.mask >> 32n);
  let accLo = 0;
  let accHi = 0;
  while ((avLo | avHi | amLo | amHi) !== 0) {
    let mLo = -1;
    let mHi = 0;
    if (avLo & 1) {
      mLo = bmLo;
      mHi = bmHi;
    } else if (amLo & 1) {
      mLo = (bvLo | bmLo) >>> 0;
      mHi = (bvHi | bmHi) >>> 0;
    }
    if (mLo >= 0) {
      const sumLo = accLo + mLo;
      const sumHi = (accHi + mHi + (sumLo > 0xffff_ffff ? 1 : 0)) >>> 0;
      accLo = ((sumLo >>> 0) | accLo | mLo) >>> 0;
      accHi = (sumHi | accHi | mHi) >>> 0;
      if (accLo === 0xffff_ffff && accHi === 0xffff_ffff) return TNUM_UNKNOWN;
    }
    avLo = ((avLo >>> 1) | ((avHi & 1) << 31)) >>> 0;
    avHi >>>= 1;
    amLo = ((amLo >>> 1) | ((amHi & 1) << 31)) >>> 0;
    amHi >>>= 1;
    bvHi = ((bvHi << 1) | (bvLo >>> 31)) >>> 0;
    bvLo = (bvLo << 1) >>> 0;
    bmHi = ((bmHi << 1) | (bmLo >>> 31)) >>> 0;
    bmLo = (bmLo << 1) >>> 0;
  }
  const accM = (BigInt(accHi) << 32n) | BigInt(accLo);
  return tnumAdd({ value: BigInt.asUintN(64, a.value * b.value), mask: 0n }, { value: 0n, mask: accM });
}

export function tnumLshift(a: Tnum, shift: number): Tnum {
  const s = BigInt(shift);
  return { value: BigInt.asUintN(64, a.value << s), mask: BigInt.asUintN(64, a.mask << s) };
}

export function tnumRshift(a: Tnum, shift: number): Tnum {
  const s = BigInt(shift);
  return { value: a.value >> s, mask: a.mask >> s };
}

/** Arithmetic right shift in `bits`-bit arithmetic (32 or 64). */
export function tnumArshift(a: Tnum, shift: number, bits: 32 | 64): Tnum {
  const s = BigInt(shift);
  if (bits === 32) {
    const v = BigInt.asIntN(32, a.value) >> s;
    const m = BigInt.asIntN(32, a.mask) >> s;
    return { value: BigInt.asUintN(32, v), mask: BigInt.asUintN(32, m) };
  }
  return { value: BigInt.asUintN(64, BigInt.asIntN(64, a.value) >> s), mask: BigInt.asUintN(64, BigInt.asIntN(64, a.mask) >> s) };
}

export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return { value: v & ~mu & U64_MAX, mask: mu };
}

/** Masks of the low 0..8 bytes. */
const BYTE_MASKS: readonly bigint[] = Array.from({ length: 9 }, (_, n) => (1n << BigInt(n * 8)) - 1n);
/** The upper 32 bits of a u64. */
const HIGH_HALF = 0xffff_ffff_0000_0000n;

/** Keep the low `size` bytes. */
export function tnumCast(a: Tnum, size: number): Tnum {
  const m = BYTE_MASKS[size] ?? (1n << BigInt(size * 8)) - 1n;
  if (a.value <= m && a.mask <= m) return a;
  return { value: a.value & m, mask: a.mask & m };
}

export function tnumSubreg(a: Tnum): Tnum {
  return tnumCast(a, 4);
}

export function tnumClearSubreg(a: Tnum): Tnum {
  return { value: a.value & HIGH_HALF, mask: a.mask & HIGH_HALF };
}

/** Replace the low 32 bits of `a` with the low 32 bits of `b`. */
export function tnumWithSubreg(a: Tnum, b: Tnum): Tnum {
  return tnumOr(tnumClearSubreg(a), tnumSubreg(b));
}

/** True when every value of `b` is a value of `a`. */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  // Pruning compares tnums at every prune point: values below 2^32 (most) on numbers, without BigInts.
  if (a.mask <= U32_MAX_N && b.mask <= U32_MAX_N && a.value <= U32_MAX_N && b.value <= U32_MAX_N) {
    const am = Number(a.mask);
    const bm = Number(b.mask);
    if ((bm & ~am) !== 0) return false;
    return (Number(b.value) & ~am) >>> 0 === Number(a.value);
  }
  if (a.mask === U64_MAX) return a.value === 0n;
  if ((b.mask & ~a.mask & U64_MAX) !== 0n) return false;
  return (b.value & ~a.mask & U64_MAX) === a.value;
}

export function tnumEquals(a: Tnum, b: Tnum): boolean {
  return a.value === b.value && a.mask === b.mask;
}

export function tnumToString(a: Tnum): string {
  return `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;
}
