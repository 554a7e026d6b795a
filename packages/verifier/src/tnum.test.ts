import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reg } from './reg.js';
import { bigU32, tnum32, tnumAdd, tnumIn, tnumMul, tnumRange, type Tnum } from './tnum.js';

const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }), fc.bigInt({ min: 0n, max: 0xffffn }), fc.constantFrom(0n, 0xffff_ffff_ffff_ffffn));

/** The kernel's tnum_mul step by step with full tnum additions: the reference for the shortcut in tnumMul. */
function tnumMulReference(a: Tnum, b: Tnum): Tnum {
  let av = a.value;
  let am = a.mask;
  let bv = b.value;
  let bm = b.mask;
  let acc: Tnum = { value: 0n, mask: 0n };
  while (av !== 0n || am !== 0n) {
    if ((av & 1n) === 1n) acc = tnumAdd(acc, { value: 0n, mask: bm });
    else if ((am & 1n) === 1n) acc = tnumAdd(acc, { value: 0n, mask: bv | bm });
    av >>= 1n;
    am >>= 1n;
    bv = BigInt.asUintN(64, bv << 1n);
    bm = BigInt.asUintN(64, bm << 1n);
  }
  return tnumAdd({ value: BigInt.asUintN(64, a.value * b.value), mask: 0n }, acc);
}

describe('tnumMul', () => {
  it('equals the step-by-step tnum_mul', () => {
    const tnum = fc.tuple(u64, u64, fc.boolean()).map(([v, m, narrow]): Tnum => {
      const mask = narrow ? m & 0xffn : m;
      return { value: v & ~mask & 0xffff_ffff_ffff_ffffn, mask };
    });
    fc.assert(
      fc.property(tnum, tnum, (a, b) => {
        const got = tnumMul(a, b);
        const want = tnumMulReference(a, b);
        expect([got.value, got.mask]).toEqual([want.value, want.mask]);
      }),
      { numRuns: 2000 },
    );
  });
});

/** The kernel's tnum_in on BigInts: the reference for tnumIn's number path. */
function tnumInReference(a: Tnum, b: Tnum): boolean {
  const U64 = 0xffff_ffff_ffff_ffffn;
  if ((b.mask & ~a.mask & U64) !== 0n) return false;
  return (b.value & ~a.mask & U64) === a.value;
}

describe('tnumIn', () => {
  it('equals tnum_in on BigInts, below 2^32 (number path) and above', () => {
    const tnum = fc.tuple(u64, u64, fc.integer({ min: 0, max: 2 })).map(([v, m, width]): Tnum => {
      const mask = width === 0 ? m & 0xffff_ffffn : width === 1 ? m & 0xfn : m;
      const value = (width === 2 ? v : v & 0xffff_ffffn) & ~mask & 0xffff_ffff_ffff_ffffn;
      return { value, mask };
    });
    // Pairs where `b` is often inside `a`: `b` drops some of `a`'s unknown bits to known values.
    const pair = fc.tuple(tnum, u64, u64).map(([a, keep, bits]): [Tnum, Tnum] => {
      const mask = a.mask & keep;
      return [a, { value: (a.value | (bits & a.mask)) & ~mask, mask }];
    });
    fc.assert(
      fc.property(fc.oneof(pair, fc.tuple(tnum, tnum)), ([a, b]) => {
        expect(tnumIn(a, b)).toBe(tnumInReference(a, b));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('bigU32 and tnum32 (the caches)', () => {
  it('return the BigInts and tnums of their numbers, whatever the cache held before', () => {
    const u32 = fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 64 }), fc.constantFrom(0, 0xffff_ffff, 0x8000_0000));
    fc.assert(
      fc.property(fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 50 }), (pairs) => {
        for (const [v, m] of pairs) {
          expect(bigU32(v)).toBe(BigInt(v));
          const value = (v & ~m) >>> 0;
          const t = tnum32(value, m);
          expect([t.value, t.mask]).toEqual([BigInt(value), BigInt(m)]);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('Reg unsigned 32-bit bounds', () => {
  it('read back every value in [0, 2^32) as written (stored as int32 bit patterns)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 0xffff_ffff }), (lo, hi) => {
        const r = new Reg();
        r.u32min = lo;
        r.u32max = hi;
        const c = r.clone();
        expect([r.u32min, r.u32max, c.u32min, c.u32max]).toEqual([lo, hi, lo, hi]);
      }),
      { numRuns: 1000 },
    );
  });
});

/** The kernel's tnum_range on BigInts: the reference for tnumRange's number path. */
function tnumRangeReference(min: bigint, max: bigint): Tnum {
  const chi = min ^ max;
  let bits = 0;
  while (bits < 64 && chi >> BigInt(bits) !== 0n) bits++;
  if (bits > 63) return { value: 0n, mask: 0xffff_ffff_ffff_ffffn };
  const delta = (1n << BigInt(bits)) - 1n;
  return { value: min & ~delta & 0xffff_ffff_ffff_ffffn, mask: delta };
}

describe('tnumRange', () => {
  it('equals tnum_range on BigInts, below 2^32 (number path) and above', () => {
    const v = fc.oneof(u64, fc.bigInt({ min: 0n, max: 0xffff_ffffn }), fc.constantFrom(0xffff_ffffn, 0x8000_0000n, 1n << 32n));
    fc.assert(
      fc.property(v, v, (a, b) => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        const got = tnumRange(min, max);
        const want = tnumRangeReference(min, max);
        expect([got.value, got.mask]).toEqual([want.value, want.mask]);
      }),
      { numRuns: 5000 },
    );
  });
});
