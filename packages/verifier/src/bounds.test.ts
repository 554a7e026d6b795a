import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { syncBounds, syncBoundsGeneral } from './bounds.js';
import { Reg, RegType } from './reg.js';

/** A value below 2^32 that is often near a power of two or a small constant (where the bounds interact). */
const small = fc.oneof(
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: 31 }).map((b) => 2 ** b),
  fc.integer({ min: 0, max: 32 }).map((b) => 2 ** b - 1),
  fc.constantFrom(0x7fff_ffff, 0x8000_0000, 0xffff_ffff),
);
const s32 = fc.oneof(fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }), fc.integer({ min: -5, max: 300 }), fc.constantFrom(-0x8000_0000, 0x7fff_ffff));

function fields(r: Reg): string {
  return [r.varOff.value, r.varOff.mask, r.smin, r.smax, r.umin, r.umax, r.s32min, r.s32max, r.u32min, r.u32max].join(',');
}

describe('syncBounds', () => {
  it('gives the general BigInt result on registers whose facts lie below 2^32', () => {
    fc.assert(
      fc.property(fc.tuple(small, small, small, small, small, small, small, small), fc.tuple(s32, s32), fc.boolean(), (v, s, ordered) => {
        const [a, b, c, d, tv, tm, u32a, u32b] = v;
        const r = new Reg();
        r.type = RegType.SCALAR;
        // Ordered pairs model real registers; unordered ones the contradictory bounds of a dead branch.
        r.umin = BigInt(ordered ? Math.min(a, b) : a);
        r.umax = BigInt(ordered ? Math.max(a, b) : b);
        r.smin = BigInt(ordered ? Math.min(c, d) : c);
        r.smax = BigInt(ordered ? Math.max(c, d) : d);
        r.varOff = { value: BigInt((tv & ~tm) >>> 0), mask: BigInt(tm) };
        r.u32min = ordered ? Math.min(u32a, u32b) : u32a;
        r.u32max = ordered ? Math.max(u32a, u32b) : u32b;
        r.s32min = ordered ? Math.min(s[0], s[1]) : s[0];
        r.s32max = ordered ? Math.max(s[0], s[1]) : s[1];
        const general = r.clone();
        syncBounds(r);
        syncBoundsGeneral(general);
        expect(fields(r)).toBe(fields(general));
      }),
      { numRuns: 3000 },
    );
  });
});
