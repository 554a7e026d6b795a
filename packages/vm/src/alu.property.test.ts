/**
 * Property test: every ALU64 and ALU32 operation (register source) against a BigInt reference model of
 * RFC 9669 semantics. The reference lives here only; the interpreter never uses BigInt.
 */
import { asm } from '@ebpf-sim/isa';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Arena, LinearMemory, Perm } from './memory.js';
import { type Program } from './program.js';
import { loadProgram } from './load.js';
import { Vm } from './vm.js';

const { R0, R1, R2, R3, R4 } = asm;
const M64 = (1n << 64n) - 1n;
const M32 = (1n << 32n) - 1n;

const s64 = (v: bigint) => BigInt.asIntN(64, v);
const s32 = (v: bigint) => BigInt.asIntN(32, v);
/** C division: truncate toward zero; the remainder has the dividend's sign. */
const tdiv = (a: bigint, b: bigint) => a / b;
const tmod = (a: bigint, b: bigint) => a % b;

type Op = 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'or' | 'and' | 'lsh' | 'rsh' | 'mod' | 'smod' | 'xor' | 'mov' | 'arsh';

/** RFC 9669 §4.1 on unsigned 64-bit inputs; `bits` 64 (ALU64) or 32 (ALU, result zero-extended). */
function reference(op: Op, bits: 32 | 64, a: bigint, b: bigint): bigint {
  const mask = bits === 64 ? M64 : M32;
  const signed = bits === 64 ? s64 : s32;
  const x = a & mask;
  const y = b & mask;
  const shift = y & BigInt(bits - 1);
  let r: bigint;
  switch (op) {
    case 'add':
      r = x + y;
      break;
    case 'sub':
      r = x - y;
      break;
    case 'mul':
      r = x * y;
      break;
    case 'div':
      r = y === 0n ? 0n : x / y;
      break;
    case 'sdiv':
      r = y === 0n ? 0n : tdiv(signed(x), signed(y));
      break;
    case 'mod':
      r = y === 0n ? x : x % y;
      break;
    case 'smod':
      r = y === 0n ? x : tmod(signed(x), signed(y));
      break;
    case 'or':
      r = x | y;
      break;
    case 'and':
      r = x & y;
      break;
    case 'xor':
      r = x ^ y;
      break;
    case 'mov':
      r = y;
      break;
    case 'lsh':
      r = x << shift;
      break;
    case 'rsh':
      r = x >> shift;
      break;
    case 'arsh':
      r = signed(x) >> shift;
      break;
  }
  return r & mask;
}

const BUILDERS: Readonly<Record<Op, asm.AluBuilder>> = {
  add: asm.Add,
  sub: asm.Sub,
  mul: asm.Mul,
  div: asm.Div,
  sdiv: asm.SDiv,
  or: asm.Or,
  and: asm.And,
  lsh: asm.Lsh,
  rsh: asm.Rsh,
  mod: asm.Mod,
  smod: asm.SMod,
  xor: asm.Xor,
  mov: asm.Mov,
  arsh: asm.Arsh,
};

/** Values biased toward the edges: 0, ±1, int32 and int64 limits, powers of two, and anything at all. */
const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, M64, M32, 1n << 31n, 1n << 32n, 1n << 63n, (1n << 63n) - 1n, M64 - 1n, 0xffffffff00000000n),
  fc.bigInt({ min: 0n, max: M64 }),
  fc.bigInt({ min: 0n, max: M32 }),
  fc.integer({ min: 0, max: 63 }).map((n) => 1n << BigInt(n)),
  fc.integer({ min: -64, max: 64 }).map((n) => BigInt(n) & M64),
);

describe('ALU against a BigInt reference model', () => {
  const mem = new LinearMemory({ pages: 1 });
  const arena = new Arena(mem);
  const vm = new Vm({ arena });
  const data = arena.alloc(16, Perm.RW, 'operands').start;
  const ops = Object.keys(BUILDERS) as Op[];
  const programs = new Map<string, Program>(
    ops.flatMap((op) =>
      ([64, 32] as const).map((bits) => {
        const b = BUILDERS[op];
        const insn = bits === 64 ? b.reg(R2, R3) : b.reg32(R2, R3);
        // r2 = operand a, r3 = operand b (both loaded from memory), r2 op= r3, return r2.
        const prog = loadProgram(asm.program(asm.Ldx.dw(R2, R1, 0), asm.Ldx.dw(R3, R1, 8), insn, asm.Mov.reg(R0, R2), asm.Exit()));
        return [`${op}${bits}`, prog] as const;
      }),
    ),
  );

  // The same operations written the compiler's three-operand way, `r2 = r4; r2 op= r3`: the interpreter runs
  // mov + div/mod as one superinstruction with its own fast path.
  for (const op of ['div', 'mod'] as const) {
    const prog = loadProgram(
      asm.program(asm.Ldx.dw(R4, R1, 0), asm.Ldx.dw(R3, R1, 8), asm.Mov.reg(R2, R4), BUILDERS[op].reg(R2, R3), asm.Mov.reg(R0, R2), asm.Exit()),
    );
    programs.set(`${op}64mov`, prog);
  }

  function run(op: Op, bits: 32 | 64, a: bigint, b: bigint, variant = ''): bigint {
    const view = mem.dataView;
    view.setBigUint64(data, a, true);
    view.setBigUint64(data + 8, b, true);
    const prog = programs.get(`${op}${bits}${variant}`);
    if (!prog || !vm.run(prog, data)) throw new Error(`${op}${bits} did not run`);
    return vm.r0;
  }

  it.each(ops.flatMap((op) => [[op, 64] as const, [op, 32] as const]))('%s (%d-bit)', (op, bits) => {
    fc.assert(
      fc.property(u64, u64, (a, b) => {
        expect(run(op, bits, a, b), `${op}${bits}(0x${a.toString(16)}, 0x${b.toString(16)})`).toBe(reference(op, bits, a, b));
        if (bits === 64 && (op === 'div' || op === 'mod'))
          expect(run(op, bits, a, b, 'mov'), `mov; ${op}64(0x${a.toString(16)}, 0x${b.toString(16)})`).toBe(reference(op, bits, a, b));
      }),
      { numRuns: 150 },
    );
  });

  // Dividends next to a multiple of a wide divisor (d >= 2^32), where the double estimate of the quotient is
  // most likely one off and the correction step decides.
  it.each(['div', 'mod', 'sdiv', 'smod'] as const)('%s (64-bit) near multiples of a wide divisor', (op) => {
    const wide = fc.bigInt({ min: 1n << 32n, max: M64 });
    fc.assert(
      fc.property(wide, fc.bigInt({ min: 0n, max: M32 }), fc.integer({ min: -3, max: 3 }), (d, q, delta) => {
        const a = (d * q + BigInt(delta)) & M64;
        expect(run(op, 64, a, d), `${op}64(0x${a.toString(16)}, 0x${d.toString(16)})`).toBe(reference(op, 64, a, d));
        if (op === 'div' || op === 'mod')
          expect(run(op, 64, a, d, 'mov'), `mov; ${op}64(0x${a.toString(16)}, 0x${d.toString(16)})`).toBe(reference(op, 64, a, d));
      }),
      { numRuns: 400 },
    );
  });

  // The same with a divisor below 2^32 and a dividend above: quotients below 2^32 take the double estimate,
  // larger ones the exact long division.
  it.each(['div', 'mod'] as const)('%s (64-bit) near multiples of a narrow divisor', (op) => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: M32 }), fc.bigInt({ min: 0n, max: M64 }), fc.integer({ min: -3, max: 3 }), (d, q, delta) => {
        const a = (d * (q % ((M64 + 1n) / d)) + BigInt(delta)) & M64;
        expect(run(op, 64, a, d), `${op}64(0x${a.toString(16)}, 0x${d.toString(16)})`).toBe(reference(op, 64, a, d));
        expect(run(op, 64, a, d, 'mov'), `mov; ${op}64(0x${a.toString(16)}, 0x${d.toString(16)})`).toBe(reference(op, 64, a, d));
      }),
      { numRuns: 400 },
    );
  });
});
