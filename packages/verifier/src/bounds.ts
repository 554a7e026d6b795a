/**
 * Scalar bounds: keeping the tnum and the eight min/max bounds consistent (Linux reg_bounds_sync), and the
 * abstract semantics of each ALU operation on scalars (Linux adjust_scalar_min_max_vals).
 */
import { Reg, S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, markUnbounded, markKnown } from './reg.js';
import {
  TNUM_UNKNOWN,
  U32_MAX_N,
  low32,
  U64_MAX,
  tnumAdd,
  tnumAnd,
  tnumArshift,
  tnumCast,
  tnumClearSubreg,
  tnumConst,
  tnumIntersect,
  tnumIsConst,
  tnumLshift,
  tnumMul,
  tnumOr,
  tnumRange,
  tnumRange32,
  tnumRshift,
  tnumSub,
  tnumSubreg,
  tnumXor,
  bigU32,
  tnum32,
} from './tnum.js';

const maxB = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const minB = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const s32 = (v: number): number => v | 0;
const u32 = (v: number): number => v >>> 0;

function updateReg32Bounds(r: Reg): void {
  const t = tnumSubreg(r.varOff);
  const v = Number(t.value);
  const m = Number(t.mask);
  r.s32min = Math.max(r.s32min, s32(v | (m & 0x8000_0000)));
  r.s32max = Math.min(r.s32max, s32(v | (m & 0x7fff_ffff)));
  r.u32min = Math.max(r.u32min, v);
  r.u32max = Math.min(r.u32max, u32(v | m));
}

const SIGN_BIT = 1n << 63n;
const HIGH_HALF = 0xffff_ffff_0000_0000n;
const S32_MIN_N = BigInt(S32_MIN);
const S32_MAX_N = BigInt(S32_MAX);

function updateReg64Bounds(r: Reg): void {
  const { value, mask } = r.varOff;
  r.smin = maxB(r.smin, BigInt.asIntN(64, value | (mask & SIGN_BIT)));
  r.smax = minB(r.smax, BigInt.asIntN(64, value | (mask & S64_MAX)));
  r.umin = maxB(r.umin, value);
  r.umax = minB(r.umax, value | mask);
}

function deduce32(r: Reg): void {
  // The upper halves of the 64-bit unsigned range agree: the low halves bound the subregister.
  if ((r.umax <= U32_MAX_N && r.umin <= U32_MAX_N) || r.umin >> 32n === r.umax >> 32n) {
    const lo = Number(r.umin & 0xffff_ffffn);
    const hi = Number(r.umax & 0xffff_ffffn);
    r.u32min = Math.max(r.u32min, lo);
    r.u32max = Math.min(r.u32max, hi);
    if (s32(lo) <= s32(hi)) {
      r.s32min = Math.max(r.s32min, s32(lo));
      r.s32max = Math.min(r.s32max, s32(hi));
    }
  }
  if (r.smin >> 32n === r.smax >> 32n) {
    const lo = Number(BigInt.asUintN(32, r.smin));
    const hi = Number(BigInt.asUintN(32, r.smax));
    r.u32min = Math.max(r.u32min, lo);
    r.u32max = Math.min(r.u32max, hi);
    if (s32(lo) <= s32(hi)) {
      r.s32min = Math.max(r.s32min, s32(lo));
      r.s32max = Math.min(r.s32max, s32(hi));
    }
  }
  // A 64-bit signed range inside the s32 range bounds the subregister the same way.
  if (r.smin >= S32_MIN_N && r.smax <= S32_MAX_N) {
    r.s32min = Math.max(r.s32min, Number(r.smin));
    r.s32max = Math.min(r.s32max, Number(r.smax));
  }
  if (s32(r.u32min) <= s32(r.u32max)) {
    r.s32min = Math.max(r.s32min, s32(r.u32min));
    r.s32max = Math.min(r.s32max, s32(r.u32max));
  }
  if (u32(r.s32min) <= u32(r.s32max)) {
    r.u32min = Math.max(r.u32min, u32(r.s32min));
    r.u32max = Math.min(r.u32max, u32(r.s32max));
  }
}

function deduce64(r: Reg): void {
  if (BigInt.asIntN(64, r.umin) <= BigInt.asIntN(64, r.umax)) {
    r.smin = maxB(r.smin, BigInt.asIntN(64, r.umin));
    r.smax = minB(r.smax, BigInt.asIntN(64, r.umax));
  }
  if (BigInt.asUintN(64, r.smin) <= BigInt.asUintN(64, r.smax)) {
    r.umin = maxB(r.umin, BigInt.asUintN(64, r.smin));
    r.umax = minB(r.umax, BigInt.asUintN(64, r.smax));
  }
}

function deduceMixed(r: Reg): void {
  // The 64-bit range can be narrowed by the subregister bounds within the same upper half.
  const hiMin = r.umin & HIGH_HALF;
  const hiMax = r.umax & HIGH_HALF;
  r.umin = maxB(r.umin, hiMin | BigInt(r.u32min));
  r.umax = minB(r.umax, hiMax | BigInt(r.u32max));
  if (r.smin >= 0n && r.smax <= 0xffff_ffffn) {
    // A non-negative value below 2^32 is its own subregister.
    r.smin = maxB(r.smin, BigInt(r.u32min));
    r.smax = minB(r.smax, BigInt(r.u32max));
  }
}

function boundOffset(r: Reg): void {
  const v64 = tnumIntersect(r.varOff, tnumRange(r.umin, r.umax));
  const v32 = tnumIntersect(tnumSubreg(v64), tnumRange32(r.u32min, r.u32max));
  r.varOff = tnumOr(tnumClearSubreg(v64), v32);
}

/** Make the tnum and all eight bounds agree (Linux reg_bounds_sync). */
export function syncBounds(r: Reg): void {
  // Most scalars hold values below 2^32 (32-bit ALU, packet loads, counters, lengths): the same steps on
  // doubles, without BigInt allocations. Everything else takes the general path.
  if (r.umax <= U32_MAX_N && r.smin >= 0n && r.smax <= U32_MAX_N && r.varOff.value <= U32_MAX_N && r.varOff.mask <= U32_MAX_N) {
    syncBounds32Domain(r);
    return;
  }
  // A scalar about which nothing is known stays so (checked in bounds.test.ts); so does a constant whose
  // bounds all say so (the general path ends in markKnown of the same value).
  if (isUnknownScalar(r) || isKnownConst(r)) return;
  syncBoundsGeneral(r);
}

/** Nothing known: every bit unknown, every bound at its limit (what markUnknown leaves). */
function isUnknownScalar(r: Reg): boolean {
  return (
    r.varOff.mask === U64_MAX &&
    r.umin === 0n &&
    r.umax === U64_MAX &&
    r.smin === S64_MIN &&
    r.smax === S64_MAX &&
    r.u32min === 0 &&
    r.u32max === U32_MAX &&
    r.s32min === S32_MIN &&
    r.s32max === S32_MAX
  );
}

/** Math.max/Math.min for values that are known numbers (cheaper than the variadic builtins). */
const maxN = (a: number, b: number): number => (a > b ? a : b);
const minN = (a: number, b: number): number => (a < b ? a : b);

/**
 * Results of the number paths below: rangeTnum32's tnum (rv; rm) and the 32-bit tnum operations' (tv; tm).
 * Fields of one object rather than module variables, and double from the start (values reach 2^32 - 1): V8
 * updates a double field in place, where each store of a non-small number to a module variable allocates.
 */
const OUT = { rv: 0.5, rm: 0.5, tv: 0.5, tm: 0.5 };

/** tnum_range for unsigned values below 2^32, as [value, mask]. */
function rangeTnum32(min: number, max: number): void {
  const chi = (min ^ max) >>> 0;
  if (chi === 0) {
    OUT.rv = min;
    OUT.rm = 0;
    return;
  }
  const delta = 2 ** (32 - Math.clz32(chi)) - 1;
  OUT.rv = (min & ~delta) >>> 0;
  OUT.rm = delta;
}

/**
 * syncBounds for a register whose every 64-bit fact lies in [0, 2^32): the upper halves are zero, so each
 * step of the general path reduces to the same comparisons on doubles (bounds.test.ts checks both paths
 * agree). Every step keeps the facts inside that domain: minimums only grow up to a maximum and maximums
 * only shrink down to a minimum of values in it.
 */
function syncBounds32Domain(r: Reg): void {
  syncBounds32Numbers(r, Number(r.umin), Number(r.umax), Number(r.smin), Number(r.smax), Number(r.varOff.value), Number(r.varOff.mask));
}

/**
 * syncBounds32Domain on 64-bit facts given as numbers in [0, 2^32) (the 32-bit ones are read from `r`); the
 * results are written back to `r`, reusing its BigInts where a fact did not change.
 */
function syncBounds32Numbers(r: Reg, umin: number, umax: number, smin: number, smax: number, tv: number, tm: number): void {
  let u32min = r.u32min;
  let u32max = r.u32max;
  let s32min = r.s32min;
  let s32max = r.s32max;
  for (let pass = 0; pass < 2; pass++) {
    // updateReg32Bounds + updateReg64Bounds (bit 63 of the tnum is known 0)
    s32min = maxN(s32min, tv | (tm & 0x8000_0000) | 0);
    s32max = minN(s32max, tv | (tm & 0x7fff_ffff) | 0);
    u32min = maxN(u32min, tv);
    u32max = minN(u32max, (tv | tm) >>> 0);
    smin = maxN(smin, tv);
    smax = minN(smax, (tv | tm) >>> 0);
    umin = maxN(umin, tv);
    umax = minN(umax, (tv | tm) >>> 0);
    if (pass === 1) break;
    for (let round = 0; round < 2; round++) {
      // deduce32: the upper halves of both 64-bit ranges are zero
      u32min = maxN(u32min, umin);
      u32max = minN(u32max, umax);
      if ((umin | 0) <= (umax | 0)) {
        s32min = maxN(s32min, umin | 0);
        s32max = minN(s32max, umax | 0);
      }
      u32min = maxN(u32min, smin);
      u32max = minN(u32max, smax);
      if ((smin | 0) <= (smax | 0)) {
        s32min = maxN(s32min, smin | 0);
        s32max = minN(s32max, smax | 0);
      }
      if (smax <= S32_MAX) {
        s32min = maxN(s32min, smin);
        s32max = minN(s32max, smax);
      }
      if ((u32min | 0) <= (u32max | 0)) {
        s32min = maxN(s32min, u32min | 0);
        s32max = minN(s32max, u32max | 0);
      }
      if (s32min >>> 0 <= s32max >>> 0) {
        u32min = maxN(u32min, s32min >>> 0);
        u32max = minN(u32max, s32max >>> 0);
      }
      // deduce64: signed and unsigned agree on non-negative values
      if (umin <= umax) {
        smin = maxN(smin, umin);
        smax = minN(smax, umax);
      }
      if (smin <= smax) {
        umin = maxN(umin, smin);
        umax = minN(umax, smax);
      }
      if (round === 0) {
        // deduceMixed: the value is its own subregister
        umin = maxN(umin, u32min);
        umax = minN(umax, u32max);
        smin = maxN(smin, u32min);
        smax = minN(smax, u32max);
      }
    }
    // boundOffset: intersect the tnum with the 64-bit range, then its subregister with the 32-bit range
    rangeTnum32(umin, umax);
    let mu = tm & OUT.rm;
    let v = (tv | OUT.rv) & ~mu;
    rangeTnum32(u32min, u32max);
    mu &= OUT.rm;
    v = ((v | OUT.rv) & ~mu) >>> 0;
    tv = v;
    tm = (mu & ~v) >>> 0;
  }
  if (tm === 0) {
    // markKnown for a value below 2^32: one BigInt serves the tnum and the four 64-bit bounds.
    const t = tnum32(tv, 0);
    const v = t.value;
    r.varOff = t;
    r.umin = r.umax = r.smin = r.smax = v;
    r.u32min = r.u32max = tv;
    r.s32min = r.s32max = tv | 0;
    return;
  }
  if (tv !== Number(r.varOff.value) || tm !== Number(r.varOff.mask)) r.varOff = tnum32(tv, tm);
  // BigInts are immutable: equal bounds share one (the signed bounds often equal the unsigned ones here).
  if (umin !== Number(r.umin)) r.umin = bigU32(umin);
  if (umax !== Number(r.umax)) r.umax = bigU32(umax);
  if (smin !== Number(r.smin)) r.smin = smin === umin ? r.umin : bigU32(smin);
  if (smax !== Number(r.smax)) r.smax = smax === umax ? r.umax : bigU32(smax);
  r.u32min = u32min;
  r.u32max = u32max;
  r.s32min = s32min;
  r.s32max = s32max;
}

/** The general reg_bounds_sync on BigInt bounds (exported for the test that compares both paths). */
export function syncBoundsGeneral(r: Reg): void {
  updateReg32Bounds(r);
  updateReg64Bounds(r);
  deduce32(r);
  deduce64(r);
  deduceMixed(r);
  deduce32(r);
  deduce64(r);
  boundOffset(r);
  updateReg32Bounds(r);
  updateReg64Bounds(r);
  if (tnumIsConst(r.varOff)) markKnown(r, r.varOff.value);
}

/** True when the bounds describe no value: the path is impossible. */
export function boundsInvalid(r: Reg): boolean {
  return r.umin > r.umax || r.smin > r.smax || r.u32min > r.u32max || r.s32min > r.s32max;
}

/** Reset 64-bit bounds to the 32-bit ones after a 32-bit operation (zero extension). */
export function zext32(r: Reg): void {
  // The subregister tnum and the 32-bit unsigned bounds become the 64-bit facts, all in [0, 2^32): the number
  // path of syncBounds, without BigInts in between. The 32-bit signed bounds carry over only when they are
  // consistent with the unsigned ones.
  syncBounds32Numbers(r, r.u32min, r.u32max, r.u32min, r.u32max, low32(r.varOff.value), low32(r.varOff.mask));
}

/** zext32 through BigInt tnum and bounds and the general syncBounds (for the test that compares both). */
export function zext32General(r: Reg): void {
  r.varOff = tnumSubreg(r.varOff);
  zeroUpper(r);
  syncBoundsGeneral(r);
}

/** Derive the 64-bit facts of a value sign-extended from its low `bits` bits. */
export function signExtend(r: Reg, bits: 8 | 16 | 32): void {
  if (tnumIsConst(r.varOff)) {
    markKnown(r, BigInt.asIntN(bits, r.varOff.value));
    return;
  }
  const t = tnumCast(r.varOff, bits / 8);
  const sign = 1n << BigInt(bits - 1);
  const lowMin = BigInt.asIntN(bits, t.value | (t.mask & sign));
  const lowMax = BigInt.asIntN(bits, t.value | (t.mask & (sign - 1n)));
  markUnbounded(r);
  r.varOff = TNUM_UNKNOWN;
  if ((t.mask & sign) === 0n) {
    // Sign bit known: the value is exactly the sign extension of the known tnum.
    r.varOff = { value: BigInt.asUintN(64, BigInt.asIntN(bits, t.value)) & ~t.mask & U64_MAX, mask: t.mask };
  }
  r.smin = lowMin;
  r.smax = lowMax;
  syncBounds(r);
}

function add64(dst: Reg, src: Reg): void {
  const smin = dst.smin + src.smin;
  const smax = dst.smax + src.smax;
  if (smin < S64_MIN || smax > S64_MAX) {
    dst.smin = S64_MIN;
    dst.smax = S64_MAX;
  } else {
    dst.smin = smin;
    dst.smax = smax;
  }
  const umin = dst.umin + src.umin;
  const umax = dst.umax + src.umax;
  if (umax > U64_MAX) {
    dst.umin = 0n;
    dst.umax = U64_MAX;
  } else {
    dst.umin = umin;
    dst.umax = umax;
  }
}

function add32(dst: Reg, src: Reg): void {
  const smin = dst.s32min + src.s32min;
  const smax = dst.s32max + src.s32max;
  if (smin < S32_MIN || smax > S32_MAX) {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  } else {
    dst.s32min = smin;
    dst.s32max = smax;
  }
  const umin = dst.u32min + src.u32min;
  const umax = dst.u32max + src.u32max;
  if (umax > U32_MAX) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  } else {
    dst.u32min = umin;
    dst.u32max = umax;
  }
}

function sub64(dst: Reg, src: Reg): void {
  const smin = dst.smin - src.smax;
  const smax = dst.smax - src.smin;
  if (smin < S64_MIN || smax > S64_MAX) {
    dst.smin = S64_MIN;
    dst.smax = S64_MAX;
  } else {
    dst.smin = smin;
    dst.smax = smax;
  }
  if (dst.umin < src.umax) {
    dst.umin = 0n;
    dst.umax = U64_MAX;
  } else {
    dst.umin = dst.umin - src.umax;
    dst.umax = dst.umax - src.umin;
  }
}

function sub32(dst: Reg, src: Reg): void {
  const smin = dst.s32min - src.s32max;
  const smax = dst.s32max - src.s32min;
  if (smin < S32_MIN || smax > S32_MAX) {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  } else {
    dst.s32min = smin;
    dst.s32max = smax;
  }
  if (dst.u32min < src.u32max) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  } else {
    dst.u32min = dst.u32min - src.u32max;
    dst.u32max = dst.u32max - src.u32min;
  }
}

function mul64(dst: Reg, src: Reg): void {
  const umax = dst.umax * src.umax;
  if (umax > U64_MAX) {
    dst.umin = 0n;
    dst.umax = U64_MAX;
  } else {
    dst.umin = dst.umin * src.umin;
    dst.umax = umax;
  }
  const p = [dst.smin * src.smin, dst.smin * src.smax, dst.smax * src.smin, dst.smax * src.smax];
  let lo = p[0] ?? 0n;
  let hi = lo;
  for (const x of p) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (lo < S64_MIN || hi > S64_MAX) {
    dst.smin = S64_MIN;
    dst.smax = S64_MAX;
  } else {
    dst.smin = lo;
    dst.smax = hi;
  }
}

function mul32(dst: Reg, src: Reg): void {
  const umax = dst.u32max * src.u32max;
  if (umax > U32_MAX) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  } else {
    dst.u32min = dst.u32min * src.u32min;
    dst.u32max = umax;
  }
  const p0 = dst.s32min * src.s32min;
  const p1 = dst.s32min * src.s32max;
  const p2 = dst.s32max * src.s32min;
  const p3 = dst.s32max * src.s32max;
  const lo = Math.min(p0, p1, p2, p3);
  const hi = Math.max(p0, p1, p2, p3);
  if (lo < S32_MIN || hi > S32_MAX) {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  } else {
    dst.s32min = lo;
    dst.s32max = hi;
  }
}

/** Signed bounds follow the unsigned ones when both operands are non-negative; otherwise unbounded. */
function signedFromUnsigned64(dst: Reg, bothNonNeg: boolean): void {
  if (bothNonNeg && dst.umax <= S64_MAX) {
    dst.smin = dst.umin;
    dst.smax = dst.umax;
  } else {
    dst.smin = S64_MIN;
    dst.smax = S64_MAX;
  }
}

function signedFromUnsigned32(dst: Reg, bothNonNeg: boolean): void {
  if (bothNonNeg && dst.u32max <= S32_MAX) {
    dst.s32min = dst.u32min;
    dst.s32max = dst.u32max;
  } else {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  }
}

/** The ALU operations whose result range the verifier computes; others give an unknown scalar. */
export type ScalarOp = 'add' | 'sub' | 'mul' | 'and' | 'or' | 'xor' | 'lsh' | 'rsh' | 'arsh';

/**
 * dst = dst OP src on scalars (`is64` false: 32-bit ALU, zero-extended). `src` is not modified. Shifts
 * must have been checked to be in range by the caller; shift amounts that are not constant give an
 * unknown result here only for `lsh`/`arsh` (Linux is as coarse for them in practice).
 */
export function scalarAlu(op: ScalarOp, dst: Reg, src: Reg, is64: boolean): void {
  if (!is64) scalarAlu32(op, dst, src);
  else if (isKnownConst(dst) && isKnownConst(src)) markKnown(dst, constAlu64(op, dst.varOff.value, src.varOff.value));
  else if ((op === 'and' || op === 'or' || op === 'xor') && in32Domain(dst) && in32Domain(src)) bitwise64In32Domain(op, dst, src);
  else if (unknownResult64(op, dst, src)) {
    markUnbounded(dst);
    dst.varOff = TNUM_UNKNOWN;
  } else scalarAluGeneral(op, dst, src, true);
}

/**
 * True when the 64-bit `op` on an unknown scalar gives an unknown scalar, whatever the other operand (as
 * long as its bounds are in order, as every live register's are): xor and the carries of add and sub spread
 * the unknown bits everywhere and every bound overflows; so does mul by something odd and non-zero (the
 * unknown bit 0 of the product is shifted to every position). bounds.test.ts compares with the general path.
 */
function unknownResult64(op: ScalarOp, dst: Reg, src: Reg): boolean {
  switch (op) {
    case 'xor':
      return isUnknownScalar(dst) || isUnknownScalar(src);
    case 'add':
    case 'sub':
      return (isUnknownScalar(dst) && !boundsInvalid(src)) || (isUnknownScalar(src) && !boundsInvalid(dst));
    case 'mul':
      return (
        ((src.varOff.value | src.varOff.mask) & 1n) === 1n &&
        src.umax !== 0n &&
        src.u32max !== 0 &&
        (src.smin !== 0n || src.smax !== 0n) &&
        (src.s32min !== 0 || src.s32max !== 0) &&
        !boundsInvalid(src) &&
        isUnknownScalar(dst)
      );
    default:
      return false;
  }
}

/** Every 64-bit fact of `r` lies in [0, 2^32): its upper half is known zero (the domain of syncBounds32Domain). */
function in32Domain(r: Reg): boolean {
  return r.umax <= U32_MAX_N && r.smin >= 0n && r.smax <= U32_MAX_N && r.varOff.value <= U32_MAX_N && r.varOff.mask <= U32_MAX_N;
}

/**
 * 64-bit and/or/xor of two registers in the 32-bit domain: the upper halves stay known zero, so the 64-bit
 * tnum is its subregister, both operands are non-negative (signed bounds follow the unsigned ones) and
 * syncBounds keeps to the domain. The same steps as scalarAluGeneral on numbers (bounds.test.ts compares).
 */
function bitwise64In32Domain(op: 'and' | 'or' | 'xor', dst: Reg, src: Reg): void {
  const av = Number(dst.varOff.value);
  const am = Number(dst.varOff.mask);
  const bv = Number(src.varOff.value);
  const bm = Number(src.varOff.mask);
  let umin: number;
  let umax: number;
  if (op === 'and') {
    OUT.tv = (av & bv) >>> 0;
    OUT.tm = ((av | am) & (bv | bm) & ~OUT.tv) >>> 0;
    dst.u32min = OUT.tv;
    dst.u32max = minN(dst.u32max, src.u32max);
    signedFromUnsigned32(dst, dst.s32min >= 0 && src.s32min >= 0);
    umin = OUT.tv;
    umax = minN(Number(dst.umax), Number(src.umax));
  } else if (op === 'or') {
    const nonNeg32 = dst.s32min >= 0 && src.s32min >= 0;
    OUT.tv = (av | bv) >>> 0;
    OUT.tm = ((am | bm) & ~OUT.tv) >>> 0;
    dst.u32min = maxN(dst.u32min, src.u32min);
    dst.u32max = (OUT.tv | OUT.tm) >>> 0;
    signedFromUnsigned32(dst, nonNeg32);
    umin = maxN(Number(dst.umin), Number(src.umin));
    umax = (OUT.tv | OUT.tm) >>> 0;
  } else {
    const nonNeg32 = dst.s32min >= 0 && src.s32min >= 0;
    OUT.tm = (am | bm) >>> 0;
    OUT.tv = ((av ^ bv) & ~OUT.tm) >>> 0;
    dst.u32min = OUT.tv;
    dst.u32max = (OUT.tv | OUT.tm) >>> 0;
    signedFromUnsigned32(dst, nonNeg32);
    umin = OUT.tv;
    umax = (OUT.tv | OUT.tm) >>> 0;
  }
  syncBounds32Numbers(dst, umin, umax, umin, umax, OUT.tv, OUT.tm);
}

/** A constant whose eight bounds all say so (what markKnown leaves). */
function isKnownConst(r: Reg): boolean {
  const v = r.varOff.value;
  if (r.varOff.mask !== 0n || r.umin !== v || r.umax !== v || r.smin !== r.smax || r.u32min !== r.u32max || r.s32min !== r.s32max) return false;
  if (r.smin !== (r.smin >= 0n ? v : BigInt.asIntN(64, v))) return false;
  const lo = low32(v);
  return r.u32min === lo && r.s32min === (lo | 0);
}

/**
 * 64-bit ALU on two known constants: the result is the constant (the general path computes the same
 * through the tnum and bounds, bounds.test.ts compares them). Shift amounts are below 64 (checked before).
 */
function constAlu64(op: ScalarOp, a: bigint, b: bigint): bigint {
  switch (op) {
    case 'add':
      return BigInt.asUintN(64, a + b);
    case 'sub':
      return BigInt.asUintN(64, a - b);
    case 'mul':
      return BigInt.asUintN(64, a * b);
    case 'and':
      return a & b;
    case 'or':
      return a | b;
    case 'xor':
      return a ^ b;
    case 'lsh':
      return BigInt.asUintN(64, a << b);
    case 'rsh':
      return a >> b;
    case 'arsh':
      return BigInt.asUintN(64, BigInt.asIntN(64, a) >> b);
  }
}

function tnumAdd32(av: number, am: number, bv: number, bm: number): void {
  const sm = (am + bm) >>> 0;
  const sv = (av + bv) >>> 0;
  const chi = ((sm + sv) >>> 0) ^ sv;
  const mu = chi | am | bm;
  OUT.tv = (sv & ~mu) >>> 0;
  OUT.tm = mu >>> 0;
}

function tnumSub32(av: number, am: number, bv: number, bm: number): void {
  const dv = (av - bv) >>> 0;
  const chi = ((dv + am) >>> 0) ^ ((dv - bm) >>> 0);
  const mu = chi | am | bm;
  OUT.tv = (dv & ~mu) >>> 0;
  OUT.tm = mu >>> 0;
}

function tnumMul32(av: number, am: number, bv: number, bm: number): void {
  const accV = Math.imul(av, bv) >>> 0;
  let mv = 0;
  let mm = 0;
  while (av !== 0 || am !== 0) {
    if (av & 1) {
      tnumAdd32(mv, mm, 0, bm);
      mv = OUT.tv;
      mm = OUT.tm;
    } else if (am & 1) {
      tnumAdd32(mv, mm, 0, (bv | bm) >>> 0);
      mv = OUT.tv;
      mm = OUT.tm;
    }
    av >>>= 1;
    am >>>= 1;
    bv = (bv << 1) >>> 0;
    bm = (bm << 1) >>> 0;
  }
  tnumAdd32(accV, 0, mv, mm);
}

/**
 * 32-bit ALU on scalars. The low 32 bits of every tnum operation depend only on the low 32 bits of its
 * operands (carries go up), and the 64-bit bounds are rebuilt from the 32-bit ones afterwards (zero
 * extension), so this is the general path restricted to what survives, on numbers instead of BigInts
 * (bounds.test.ts compares the two).
 */
function scalarAlu32(op: ScalarOp, dst: Reg, src: Reg): void {
  const av = low32(dst.varOff.value);
  const am = low32(dst.varOff.mask);
  const bv = low32(src.varOff.value);
  const bm = low32(src.varOff.mask);
  switch (op) {
    case 'add':
      add32(dst, src);
      tnumAdd32(av, am, bv, bm);
      break;
    case 'sub':
      sub32(dst, src);
      tnumSub32(av, am, bv, bm);
      break;
    case 'mul':
      mul32(dst, src);
      tnumMul32(av, am, bv, bm);
      break;
    case 'and': {
      const v = av & bv;
      OUT.tv = v >>> 0;
      OUT.tm = ((av | am) & (bv | bm) & ~v) >>> 0;
      dst.u32min = OUT.tv;
      dst.u32max = Math.min(dst.u32max, src.u32max);
      signedFromUnsigned32(dst, dst.s32min >= 0 && src.s32min >= 0);
      break;
    }
    case 'or': {
      const nonNeg = dst.s32min >= 0 && src.s32min >= 0;
      const v = av | bv;
      OUT.tv = v >>> 0;
      OUT.tm = ((am | bm) & ~v) >>> 0;
      dst.u32min = Math.max(dst.u32min, src.u32min);
      dst.u32max = (OUT.tv | OUT.tm) >>> 0;
      signedFromUnsigned32(dst, nonNeg);
      break;
    }
    case 'xor': {
      const nonNeg = dst.s32min >= 0 && src.s32min >= 0;
      const mu = am | bm;
      OUT.tv = ((av ^ bv) & ~mu) >>> 0;
      OUT.tm = mu >>> 0;
      dst.u32min = OUT.tv;
      dst.u32max = (OUT.tv | OUT.tm) >>> 0;
      signedFromUnsigned32(dst, nonNeg);
      break;
    }
    case 'lsh':
    case 'rsh':
    case 'arsh':
      shift32(op, dst, src, bm === 0, av, am);
      break;
  }
  // Zero extension: the 64-bit facts are the 32-bit ones, all in [0, 2^32), so syncBounds takes its number
  // path; go there directly, without the BigInts of the intermediate tnum and bounds.
  syncBounds32Numbers(dst, dst.u32min, dst.u32max, dst.u32min, dst.u32max, OUT.tv, OUT.tm);
}

/** The 32-bit bounds after a left shift by the constant `k`. */
function lshBounds32(dst: Reg, k: number): void {
  dst.s32min = S32_MIN;
  dst.s32max = S32_MAX;
  if (k < 32 && dst.u32max <= U32_MAX >>> k) {
    dst.u32min = (dst.u32min * 2 ** k) >>> 0;
    dst.u32max = (dst.u32max * 2 ** k) >>> 0;
  } else {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  }
}

function shift32(op: 'lsh' | 'rsh' | 'arsh', dst: Reg, src: Reg, srcConst: boolean, av: number, am: number): void {
  const amtMin = src.u32min;
  const amtMax = src.u32max;
  if (!srcConst) {
    OUT.tv = 0;
    if (op === 'rsh') {
      // Right shift by an amount in [amtMin, amtMax]: the range shrinks toward zero.
      dst.u32min = dst.u32min >>> Math.min(amtMax, 31);
      dst.u32max = amtMin >= 32 ? 0 : dst.u32max >>> amtMin;
      dst.s32min = S32_MIN;
      dst.s32max = S32_MAX;
      // The low half of an unknown u64 shifted right by amtMin.
      OUT.tm = amtMin <= 32 ? U32_MAX : amtMin >= 64 ? 0 : 2 ** (64 - amtMin) - 1;
      return;
    }
    markUnbounded(dst);
    OUT.tm = U32_MAX;
    return;
  }
  const k = amtMin;
  if (op === 'lsh') {
    OUT.tv = (av << k) >>> 0;
    OUT.tm = (am << k) >>> 0;
    lshBounds32(dst, k);
    return;
  }
  if (op === 'rsh') {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
    OUT.tv = av >>> k;
    OUT.tm = am >>> k;
    dst.u32min = dst.u32min >>> k;
    dst.u32max = dst.u32max >>> k;
    return;
  }
  // arsh: the subregister result is the sign-shifted s32 range.
  OUT.tv = ((av | 0) >> k) >>> 0;
  OUT.tm = ((am | 0) >> k) >>> 0;
  dst.s32min = dst.s32min >> Math.min(k, 31);
  dst.s32max = dst.s32max >> Math.min(k, 31);
  if (dst.s32min >= 0) {
    dst.u32min = dst.s32min;
    dst.u32max = dst.s32max;
  } else {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  }
}

/** The ALU on BigInt tnums and bounds; 32-bit operations work on the zero-extended subregisters. */
export function scalarAluGeneral(op: ScalarOp, dst: Reg, src: Reg, is64: boolean): void {
  if (!is64) {
    // Work on the subregisters: truncate both to 32 bits first.
    dst.varOff = tnumSubreg(dst.varOff);
    zeroUpper(dst);
  }
  const srcOff = is64 ? src.varOff : tnumSubreg(src.varOff);
  const srcConst = tnumIsConst(srcOff);
  switch (op) {
    case 'add':
      add32(dst, src);
      add64(dst, src);
      dst.varOff = tnumAdd(dst.varOff, srcOff);
      break;
    case 'sub':
      sub32(dst, src);
      sub64(dst, src);
      dst.varOff = tnumSub(dst.varOff, srcOff);
      break;
    case 'mul':
      mul32(dst, src);
      mul64(dst, src);
      dst.varOff = tnumMul(dst.varOff, srcOff);
      break;
    case 'and': {
      dst.varOff = tnumAnd(dst.varOff, srcOff);
      const t32 = tnumSubreg(dst.varOff);
      dst.u32min = Number(t32.value);
      dst.u32max = Math.min(dst.u32max, src.u32max);
      signedFromUnsigned32(dst, dst.s32min >= 0 && src.s32min >= 0);
      dst.umin = dst.varOff.value;
      dst.umax = minB(dst.umax, src.umax);
      signedFromUnsigned64(dst, dst.smin >= 0n && src.smin >= 0n);
      break;
    }
    case 'or': {
      const nonNeg32 = dst.s32min >= 0 && src.s32min >= 0;
      const nonNeg64 = dst.smin >= 0n && src.smin >= 0n;
      dst.varOff = tnumOr(dst.varOff, srcOff);
      const t32 = tnumSubreg(dst.varOff);
      dst.u32min = Math.max(dst.u32min, src.u32min);
      dst.u32max = Number(t32.value | t32.mask);
      signedFromUnsigned32(dst, nonNeg32);
      dst.umin = maxB(dst.umin, src.umin);
      dst.umax = dst.varOff.value | dst.varOff.mask;
      signedFromUnsigned64(dst, nonNeg64);
      break;
    }
    case 'xor': {
      const nonNeg32 = dst.s32min >= 0 && src.s32min >= 0;
      const nonNeg64 = dst.smin >= 0n && src.smin >= 0n;
      dst.varOff = tnumXor(dst.varOff, srcOff);
      const t32 = tnumSubreg(dst.varOff);
      dst.u32min = Number(t32.value);
      dst.u32max = Number(t32.value | t32.mask);
      signedFromUnsigned32(dst, nonNeg32);
      dst.umin = dst.varOff.value;
      dst.umax = dst.varOff.value | dst.varOff.mask;
      signedFromUnsigned64(dst, nonNeg64);
      break;
    }
    case 'lsh':
    case 'rsh':
    case 'arsh':
      shift(op, dst, src, srcConst, is64);
      break;
  }
  if (!is64) {
    dst.varOff = tnumSubreg(dst.varOff);
    zeroUpper(dst);
  }
  syncBounds(dst);
}

/** Bounds of the low 32 bits become the 64-bit bounds (used before a 32-bit op on the subregister). */
function zeroUpper(r: Reg): void {
  r.umin = BigInt(r.u32min);
  r.umax = BigInt(r.u32max);
  r.smin = r.umin;
  r.smax = r.umax;
}

function shift(op: 'lsh' | 'rsh' | 'arsh', dst: Reg, src: Reg, srcConst: boolean, is64: boolean): void {
  const bits = is64 ? 64 : 32;
  const amtMin = is64 ? Number(src.umin) : src.u32min;
  const amtMax = is64 ? Number(src.umax) : src.u32max;
  if (!srcConst) {
    if (op === 'rsh') {
      // Right shift by an amount in [amtMin, amtMax]: the range shrinks toward zero.
      dst.u32min = is64 ? 0 : dst.u32min >>> Math.min(amtMax, 31);
      dst.u32max = is64 ? U32_MAX : amtMin >= 32 ? 0 : dst.u32max >>> amtMin;
      dst.s32min = S32_MIN;
      dst.s32max = S32_MAX;
      dst.umin = dst.umin >> BigInt(amtMax);
      dst.umax = dst.umax >> BigInt(amtMin);
      dst.smin = S64_MIN;
      dst.smax = S64_MAX;
      dst.varOff = tnumRshift(TNUM_UNKNOWN, amtMin);
      if (!is64) dst.varOff = tnumSubreg(dst.varOff);
      return;
    }
    markUnbounded(dst);
    dst.varOff = TNUM_UNKNOWN;
    return;
  }
  const k = amtMin;
  if (op === 'lsh') {
    dst.varOff = tnumLshift(dst.varOff, k);
    if (!is64) dst.varOff = tnumSubreg(dst.varOff);
    lshBounds32(dst, k);
    dst.smin = S64_MIN;
    dst.smax = S64_MAX;
    if (dst.umax <= U64_MAX >> BigInt(k)) {
      dst.umin = dst.umin << BigInt(k);
      dst.umax = dst.umax << BigInt(k);
    } else {
      dst.umin = 0n;
      dst.umax = U64_MAX;
    }
    return;
  }
  if (op === 'rsh') {
    dst.varOff = tnumRshift(is64 ? dst.varOff : tnumSubreg(dst.varOff), k);
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
    if (is64) {
      // The low half of a 64-bit right shift takes bits from the upper half: derive it from the tnum.
      dst.u32min = 0;
      dst.u32max = U32_MAX;
    } else {
      dst.u32min = dst.u32min >>> k;
      dst.u32max = dst.u32max >>> k;
    }
    dst.smin = S64_MIN;
    dst.smax = S64_MAX;
    dst.umin = dst.umin >> BigInt(k);
    dst.umax = dst.umax >> BigInt(k);
    return;
  }
  // arsh
  dst.varOff = tnumArshift(dst.varOff, k, bits);
  dst.s32min = dst.s32min >> Math.min(k, 31);
  dst.s32max = dst.s32max >> Math.min(k, 31);
  dst.u32min = 0;
  dst.u32max = U32_MAX;
  dst.smin = dst.smin >> BigInt(k);
  dst.smax = dst.smax >> BigInt(k);
  dst.umin = 0n;
  dst.umax = U64_MAX;
  if (!is64) {
    // 32-bit arsh: the subregister result is the sign-shifted s32 range.
    dst.u32min = 0;
    dst.u32max = U32_MAX;
    if (dst.s32min >= 0) {
      dst.u32min = dst.s32min;
      dst.u32max = dst.s32max;
    }
  }
}

const CONST_REGS = new Map<bigint, Reg>();

/**
 * A constant 64-bit value as a scalar register for immediate operands. Shared and cached: callers only read
 * it (clone it to refine it), which saves an allocation per instruction on the hot path.
 */
/** Immediate operands as registers, by the immediate: for 64-bit operations and for 32-bit ones. */
const IMM_REGS_64 = new Map<number, Reg>();
const IMM_REGS_32 = new Map<number, Reg>();

/**
 * constReg of an instruction's immediate (a signed 32-bit number), as is for 64-bit operations or zero-extended
 * from 32 bits, looked up by the number: no BigInt per instruction. Shared: callers only read it (or copy it).
 */
export function immReg(imm: number, is64: boolean): Reg {
  const cache = is64 ? IMM_REGS_64 : IMM_REGS_32;
  let r = cache.get(imm);
  if (r) return r;
  r = constReg(is64 ? BigInt(imm) : BigInt(imm >>> 0));
  if (cache.size > 4096) cache.clear();
  cache.set(imm, r);
  return r;
}

export function constReg(v: bigint): Reg {
  let r = CONST_REGS.get(v);
  if (r) return r;
  r = new Reg();
  r.type = 1;
  markKnown(r, v);
  if (CONST_REGS.size > 4096) CONST_REGS.clear();
  CONST_REGS.set(v, r);
  return r;
}

export { tnumConst };
