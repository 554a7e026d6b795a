/**
 * 64-bit integer arithmetic on two 32-bit halves, without BigInt and without allocating: the interpreter keeps
 * every register as a (lo, hi) pair of int32 words. Results that do not fit in one return value are written to
 * {@link WIDE}, a module-level scratch array.
 *
 * Division relies on one fact about IEEE doubles: for integers 0 <= n < 2^53 and 0 < d, `Math.floor(n / d)` is
 * exact (when n/d is not an integer it is at least 1/d away from one, and the rounding error of the quotient
 * is at most (n/d)·2^-53 < 1/d).
 */

/** Scratch output: [quotient lo, quotient hi, remainder lo, remainder hi] of {@link udiv64}. */
export const WIDE = new Int32Array(4);

const TWO32 = 4294967296;

/**
 * 2^-19: how far from an integer a double quotient of two 64-bit operands must be for its floor to be exact
 * when the quotient is below 2^32 (its absolute error is at most 2^32 · 3 · 2^-53 < 2^-19).
 */
export const QUOTIENT_EPS = 1.9073486328125e-6;
/** 2^-32: multiplying by it is exact, and cheaper than dividing by 2^32. */
const INV_TWO32 = 1 / TWO32;

/**
 * Unsigned 64-bit division n / d with d != 0: quotient and remainder into {@link WIDE}.
 */
export function udiv64(nLo: number, nHi: number, dLo: number, dHi: number): void {
  const nl = nLo >>> 0;
  const nh = nHi >>> 0;
  const dl = dLo >>> 0;
  if (dHi === 0) {
    if (nh === 0) {
      const q = Math.floor(nl / dl);
      WIDE[0] = q;
      WIDE[1] = 0;
      WIDE[2] = nl - q * dl;
      WIDE[3] = 0;
      return;
    }
    // 32-bit divisor, wide dividend: the high word of the quotient by a machine divide (both operands uint32),
    // then the low word from r·2^32 + nl (r < dl, so that quotient is below 2^32) by the double estimate,
    // exact unless it lies within QUOTIENT_EPS of an integer.
    const qh = (nh / dl) >>> 0;
    let r = nh - qh * dl;
    const x = (r * TWO32 + nl) / dl;
    const ql = x >>> 0;
    const f = x - ql;
    if (f > QUOTIENT_EPS && f < 1 - QUOTIENT_EPS) {
      WIDE[0] = ql;
      WIDE[1] = qh;
      WIDE[2] = nl - Math.imul(ql, dl);
      WIDE[3] = 0;
      return;
    }
    // Near an integer: schoolbook division of r·2^32 + nl in two 16-bit steps, every dividend below 2^48.
    let t = r * 65536 + (nl >>> 16);
    const q1 = Math.floor(t / dl);
    r = t - q1 * dl;
    t = r * 65536 + (nl & 0xffff);
    const q0 = Math.floor(t / dl);
    r = t - q0 * dl;
    WIDE[0] = q1 * 65536 + q0;
    WIDE[1] = qh;
    WIDE[2] = r;
    WIDE[3] = 0;
    return;
  }
  // Divisor >= 2^32, so the quotient is < 2^32, and the double estimate n / d is within 1 of it (each operand
  // and the quotient carry a relative error of at most 2^-53, so the absolute error is below 2^-20).
  const dh = dHi >>> 0;
  if (nh < dh) {
    WIDE[0] = 0;
    WIDE[1] = 0;
    WIDE[2] = nLo;
    WIDE[3] = nHi;
    return;
  }
  let q = Math.floor((nh * TWO32 + nl) / (dh * TWO32 + dl));
  if (q > 0xffffffff) q = 0xffffffff;
  // p = q * d exactly: the low word by imul; the high word from the rounded double product q * dl (off by at
  // most 2^11, so rounding (q * dl - low) / 2^32 gives the exact carry) plus q * dh (exact: below 2^33).
  const pLo = Math.imul(q, dLo) >>> 0;
  const pHi = Math.floor((q * dl - pLo) * INV_TWO32 + 0.5) + q * dh;
  // r = n - p, as a (possibly negative) high part and a low word in [0, 2^32).
  let rLo = nl - pLo;
  let rHi = nh - pHi;
  if (rLo < 0) {
    rLo += TWO32;
    rHi -= 1;
  }
  if (rHi < 0) {
    // The estimate was one too high.
    q -= 1;
    rLo += dl;
    rHi += dh;
    if (rLo >= TWO32) {
      rLo -= TWO32;
      rHi += 1;
    }
  } else if (rHi > dh || (rHi === dh && rLo >= dl)) {
    // One too low.
    q += 1;
    rLo -= dl;
    rHi -= dh;
    if (rLo < 0) {
      rLo += TWO32;
      rHi -= 1;
    }
  }
  WIDE[0] = q;
  WIDE[1] = 0;
  WIDE[2] = rLo;
  WIDE[3] = rHi;
}

/**
 * Signed 64-bit division (C semantics: quotient truncated toward zero, remainder has the dividend's sign),
 * d != 0. INT64_MIN / -1 wraps to INT64_MIN and its remainder is 0, as RFC 9669 requires.
 */
export function sdiv64(nLo: number, nHi: number, dLo: number, dHi: number): void {
  const nNeg = nHi < 0;
  const dNeg = dHi < 0;
  let aLo = nLo;
  let aHi = nHi;
  if (nNeg) {
    aLo = -nLo | 0;
    aHi = (~nHi + (nLo === 0 ? 1 : 0)) | 0;
  }
  let bLo = dLo;
  let bHi = dHi;
  if (dNeg) {
    bLo = -dLo | 0;
    bHi = (~dHi + (dLo === 0 ? 1 : 0)) | 0;
  }
  udiv64(aLo, aHi, bLo, bHi);
  if (nNeg !== dNeg) {
    const qLo = WIDE[0] ?? 0;
    const qHi = WIDE[1] ?? 0;
    WIDE[0] = -qLo | 0;
    WIDE[1] = (~qHi + (qLo === 0 ? 1 : 0)) | 0;
  }
  if (nNeg) {
    const rLo = WIDE[2] ?? 0;
    const rHi = WIDE[3] ?? 0;
    WIDE[2] = -rLo | 0;
    WIDE[3] = (~rHi + (rLo === 0 ? 1 : 0)) | 0;
  }
}

/** (lo, hi) halves of a 64-bit value given as a bigint or a safe integer (negative numbers are two's complement). */
export function splitU64(value: bigint | number): [number, number] {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer; pass a bigint for 64-bit values`);
    const lo = value % TWO32;
    return [lo | 0, Math.floor(value / TWO32) | 0];
  }
  const u = BigInt.asUintN(64, value);
  return [Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0];
}

/** Low word of a 64-bit argument (see {@link splitU64}); allocation-free for numbers in [0, 2^32). */
export function lo32(value: number | bigint): number {
  return typeof value === 'number' && value >>> 0 === value ? value | 0 : splitU64(value)[0];
}

/** High word of a 64-bit argument (see {@link splitU64}); allocation-free for numbers in [0, 2^32). */
export function hi32(value: number | bigint): number {
  return typeof value === 'number' && value >>> 0 === value ? 0 : splitU64(value)[1];
}

/** The unsigned 64-bit value of a (lo, hi) pair. */
export function joinU64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
