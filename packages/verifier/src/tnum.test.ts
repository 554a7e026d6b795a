import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tnumAdd, tnumMul, type Tnum } from './tnum.js';

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
