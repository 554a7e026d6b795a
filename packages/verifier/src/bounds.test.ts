import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scalarAlu, scalarAluGeneral, syncBounds, syncBoundsGeneral, zext32, zext32General, type ScalarOp } from './bounds.js';
import { Reg, RegType, markKnown, markUnknown } from './reg.js';

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
  it('leaves an unknown scalar as it is (the shortcut syncBounds takes)', () => {
    const r = new Reg();
    markUnknown(r);
    const before = fields(r);
    syncBoundsGeneral(r);
    expect(fields(r)).toBe(before);
  });

  it('leaves a known constant as it is, at any 64-bit value (the shortcut syncBounds takes)', () => {
    const u64 = fc.oneof(
      fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
      fc.bigInt({ min: -300n, max: 300n }),
      fc.constantFrom(1n << 63n, (1n << 63n) - 1n, 1n << 32n),
    );
    fc.assert(
      fc.property(u64, (v) => {
        const r = new Reg();
        markUnknown(r);
        markKnown(r, v);
        const before = fields(r);
        syncBoundsGeneral(r);
        expect(fields(r)).toBe(before);
        syncBounds(r);
        expect(fields(r)).toBe(before);
      }),
      { numRuns: 2000 },
    );
  });

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

const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }), small.map(BigInt), fc.constantFrom(0n, 0xffff_ffff_ffff_ffffn));
const s64 = fc.oneof(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), s32.map(BigInt));

/** A scalar with the given tnum and bounds, each pair ordered. */
function scalarOf(value: bigint, mask: bigint, u: [bigint, bigint], s: [bigint, bigint], u32: [number, number], s32p: [number, number]): Reg {
  const r = new Reg();
  r.type = RegType.SCALAR;
  r.varOff = { value: value & ~mask & 0xffff_ffff_ffff_ffffn, mask };
  r.umin = u[0] < u[1] ? u[0] : u[1];
  r.umax = u[0] < u[1] ? u[1] : u[0];
  r.smin = s[0] < s[1] ? s[0] : s[1];
  r.smax = s[0] < s[1] ? s[1] : s[0];
  r.u32min = Math.min(...u32);
  r.u32max = Math.max(...u32);
  r.s32min = Math.min(...s32p);
  r.s32max = Math.max(...s32p);
  return r;
}

/** An arbitrary scalar: any tnum and any bounds, ordered or not. */
const anyScalar = fc
  .tuple(u64, u64, u64, u64, s64, s64, fc.tuple(small, small, s32, s32), fc.boolean())
  .map(([tv, tm, ua, ub, sa, sb, [u32a, u32b, s32a, s32b], constant]) => scalarOf(tv, constant ? 0n : tm, [ua, ub], [sa, sb], [u32a, u32b], [s32a, s32b]));

describe('scalarAlu', () => {
  it('computes 32-bit operations on numbers exactly as the general BigInt path', () => {
    const ops: ScalarOp[] = ['add', 'sub', 'mul', 'and', 'or', 'xor', 'lsh', 'rsh', 'arsh'];
    fc.assert(
      fc.property(
        fc.constantFrom(...ops),
        anyScalar,
        anyScalar,
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: 31 }),
        (op, dstIn, srcIn, k1, k2) => {
          // Fresh copies: fast-check replays the generated objects while shrinking.
          const dst = dstIn.clone();
          const src = srcIn.clone();
          if (op === 'lsh' || op === 'rsh' || op === 'arsh') {
            // The caller only shifts by amounts known to be below 32.
            src.u32min = Math.min(k1, k2);
            src.u32max = Math.max(k1, k2);
          }
          const general = dst.clone();
          scalarAlu(op, dst, src, false);
          scalarAluGeneral(op, general, src, false);
          expect(fields(dst)).toBe(fields(general));
        },
      ),
      { numRuns: 4000 },
    );
  });
});

describe('scalarAlu on known constants', () => {
  it('gives the general BigInt result for every 64-bit operation', () => {
    const ops: ScalarOp[] = ['add', 'sub', 'mul', 'and', 'or', 'xor', 'lsh', 'rsh', 'arsh'];
    fc.assert(
      fc.property(fc.constantFrom(...ops), u64, u64, fc.integer({ min: 0, max: 63 }), (op, a, b, k) => {
        const dst = new Reg();
        dst.type = RegType.SCALAR;
        markKnown(dst, a);
        const src = new Reg();
        src.type = RegType.SCALAR;
        markKnown(src, op === 'lsh' || op === 'rsh' || op === 'arsh' ? BigInt(k) : b);
        const general = dst.clone();
        scalarAlu(op, dst, src, true);
        scalarAluGeneral(op, general, src, true);
        expect(fields(dst)).toBe(fields(general));
      }),
      { numRuns: 3000 },
    );
  });
});

/** The 64-bit scalarAlu (with its fast paths) and the general BigInt path agree on fresh copies of dst. */
function sameAsGeneral64(op: ScalarOp, dstIn: Reg, srcIn: Reg): void {
  const dst = dstIn.clone();
  const general = dstIn.clone();
  scalarAlu(op, dst, srcIn, true);
  scalarAluGeneral(op, general, srcIn, true);
  expect(fields(dst)).toBe(fields(general));
}

/** A scalar whose 64-bit facts all lie in [0, 2^32) (any 32-bit facts). */
const domainScalar = fc
  .tuple(fc.tuple(small, small, small, small, small, small), fc.tuple(small, small, s32, s32), fc.boolean())
  .map(([[tv, tm, ua, ub, sa, sb], [u32a, u32b, s32a, s32b], constant]) =>
    scalarOf(BigInt(tv), constant ? 0n : BigInt(tm), [BigInt(ua), BigInt(ub)], [BigInt(sa), BigInt(sb)], [u32a, u32b], [s32a, s32b]),
  );

describe('scalarAlu on 64-bit values below 2^32', () => {
  it('gives the general BigInt result for and, or and xor', () => {
    const ops: ScalarOp[] = ['and', 'or', 'xor'];
    fc.assert(fc.property(fc.constantFrom(...ops), domainScalar, domainScalar, sameAsGeneral64), { numRuns: 3000 });
  });
});

describe('scalarAlu on an unknown 64-bit operand', () => {
  it('gives the general BigInt result for add, sub, mul and xor', () => {
    const unknown = fc.constant(null).map(() => {
      const r = new Reg();
      markUnknown(r);
      return r;
    });
    const operand = fc.oneof(anyScalar, unknown, domainScalar);
    fc.assert(fc.property(fc.constantFrom<ScalarOp>('add', 'sub', 'mul', 'xor'), fc.oneof(unknown, operand), fc.oneof(unknown, operand), sameAsGeneral64), {
      numRuns: 3000,
    });
  });
});

describe('zext32', () => {
  it('gives the result of the BigInt steps and the general syncBounds', () => {
    fc.assert(
      fc.property(anyScalar, (r) => {
        const fast = r.clone();
        const general = r.clone();
        zext32(fast);
        zext32General(general);
        expect(fields(fast)).toBe(fields(general));
      }),
      { numRuns: 2000 },
    );
  });
});
