/**
 * Differential property test: random valid programs (ALU and JMP of both widths, every division edge, byte
 * swaps, sign extensions, stack loads and stores of every size, atomics, accesses through a data pointer and
 * through wild pointers, a bounded loop, helper calls, a bpf-to-bpf call) run on the interpreter and on the
 * checked JIT, which must agree on everything observable: exit or fault (the whole fault report), every
 * register, the executed count, the stack and the data region. Loaded with `budgetTests: 'loop'` and
 * `exitRegisters: 'r0'` the JIT must agree on all but the registers; with `budgetTests: 'entry'` (as the bpf
 * subsystem loads verified programs) on all but the registers and `executed` (loops are not counted).
 *
 * Reproduce a failure with the seed fast-check prints: `JIT_DIFF_SEED=<seed> npx vitest run packages/vm/src/jit`.
 */
import type { RawInsn } from '@ebpf-sim/isa';
import { AluOp, AtomicOp, Class, JmpOp, Mode, Size, Source } from '@ebpf-sim/isa';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HelperSpec } from '../helpers.js';
import { Arena, LinearMemory, Perm } from '../memory.js';
import { loadProgram } from '../load.js';
import { Vm, type EngineName } from '../vm.js';
import type { MemoryChecks } from './compile.js';

const RUNS = 1500;
const DATA_SIZE = 64;
const SIZES = [Size.B, Size.H, Size.W, Size.DW] as const;
const SIZE_BYTES: Readonly<Record<number, number>> = { [Size.B]: 1, [Size.H]: 2, [Size.W]: 4, [Size.DW]: 8 };

/** Registers random instructions may write: r6 holds the data pointer, r9 the loop counter, r10 is read-only. */
const WRITABLE = [0, 1, 2, 3, 4, 5, 7, 8] as const;
const dst = fc.constantFrom(...WRITABLE);
const anyReg = fc.integer({ min: 0, max: 10 });
const imm = fc.oneof(
  fc.constantFrom(0, 1, -1, 2, 7, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 0xffff, 0x8000),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
);

const HELPERS: readonly HelperSpec[] = [
  { id: 1, name: 'mix', fn: (ctx) => (ctx.arg(1) ^ (ctx.arg(2) << 1n) ^ ctx.arg(5)) + 7n },
  {
    id: 2,
    name: 'fail',
    fn: (ctx) =>
      ctx.argU32(1) % 5 === 4
        ? ((): never => {
            throw new Error('refused');
          })()
        : 0,
  },
];

/** A unit of code: its instructions, and for a jump, the unit index (in its list) the last one jumps to. */
interface Unit {
  readonly insns: readonly RawInsn[];
  readonly skip?: number;
  /** Absolute unit index of the jump target, set when the lists are laid out. */
  target?: number;
}

const I = (code: number, d: number, s: number, off: number, k: number): RawInsn => ({ code, dst: d, src: s, off, imm: k });
const EXIT = I(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0);

const aluOp = fc.constantFrom(
  AluOp.ADD,
  AluOp.SUB,
  AluOp.MUL,
  AluOp.DIV,
  AluOp.OR,
  AluOp.AND,
  AluOp.LSH,
  AluOp.RSH,
  AluOp.MOD,
  AluOp.XOR,
  AluOp.MOV,
  AluOp.ARSH,
);

const alu: fc.Arbitrary<Unit> = fc
  .record({ wide: fc.boolean(), op: aluOp, x: fc.boolean(), d: dst, s: anyReg, k: imm, signed: fc.boolean() })
  .map(({ wide, op, x, d, s, k, signed }) => {
    const cls = wide ? Class.ALU64 : Class.ALU;
    const off = (op === AluOp.DIV || op === AluOp.MOD) && signed ? 1 : 0;
    return { insns: [I(cls | op | (x ? Source.X : Source.K), d, x ? s : 0, off, x ? 0 : k)] };
  });

const unary: fc.Arbitrary<Unit> = fc
  .record({
    wide: fc.boolean(),
    kind: fc.constantFrom('neg', 'movsx8', 'movsx16', 'movsx32', 'le', 'be', 'bswap'),
    bits: fc.constantFrom(16, 32, 64),
    d: dst,
    s: anyReg,
  })
  .map(({ wide, kind, bits, d, s }) => {
    const cls = wide ? Class.ALU64 : Class.ALU;
    switch (kind) {
      case 'neg':
        return { insns: [I(cls | AluOp.NEG, d, 0, 0, 0)] };
      case 'le':
        return { insns: [I(Class.ALU | AluOp.END | Source.K, d, 0, 0, bits)] };
      case 'be':
        return { insns: [I(Class.ALU | AluOp.END | Source.X, d, 0, 0, bits)] };
      case 'bswap':
        return { insns: [I(Class.ALU64 | AluOp.END, d, 0, 0, bits)] };
      default: {
        const width = Number(kind.slice(5));
        return { insns: [I((width === 32 ? Class.ALU64 : cls) | AluOp.MOV | Source.X, d, s, width, 0)] };
      }
    }
  });

const ldImm64: fc.Arbitrary<Unit> = fc
  .record({ d: dst, lo: imm, hi: imm })
  .map(({ d, lo, hi }) => ({ insns: [{ code: Class.LD | Size.DW, dst: d, src: 0, off: 0, imm: lo, imm2: hi }] }));

/** Stack accesses anywhere in the frame (any alignment), every size, loads with and without sign extension. */
const stack: fc.Arbitrary<Unit> = fc
  .record({
    size: fc.constantFrom(...SIZES),
    kind: fc.constantFrom('st', 'stx', 'ldx', 'ldxsx'),
    at: fc.integer({ min: 0, max: 511 }),
    r: dst,
    s: anyReg,
    k: imm,
  })
  .map(({ size, kind, at, r, s, k }) => {
    const width = SIZE_BYTES[size] ?? 1;
    const off = -Math.max(width, 512 - at);
    switch (kind) {
      case 'st':
        return { insns: [I(Class.ST | Mode.MEM | size, 10, 0, off, k)] };
      case 'stx':
        return { insns: [I(Class.STX | Mode.MEM | size, 10, s, off, 0)] };
      case 'ldx':
        return { insns: [I(Class.LDX | Mode.MEM | size, r, 10, off, 0)] };
      default:
        return { insns: [I(Class.LDX | (size === Size.DW ? Mode.MEM : Mode.MEMSX) | size, r, 10, off, 0)] };
    }
  });

/** Accesses through the data pointer r6 (sometimes past the region: a fault) or through any register. */
const pointer: fc.Arbitrary<Unit> = fc
  .record({
    size: fc.constantFrom(...SIZES),
    store: fc.boolean(),
    wild: fc.integer({ min: 0, max: 9 }),
    base: anyReg,
    off: fc.integer({ min: -8, max: DATA_SIZE + 4 }),
    r: dst,
    s: anyReg,
  })
  .map(({ size, store, wild, base, off, r, s }) => {
    const b = wild === 0 ? base : 6;
    return { insns: [store ? I(Class.STX | Mode.MEM | size, b, s, off, 0) : I(Class.LDX | Mode.MEM | size, r, b, off, 0)] };
  });

const atomic: fc.Arbitrary<Unit> = fc
  .record({
    dw: fc.boolean(),
    op: fc.constantFrom(AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR, AtomicOp.XCHG, AtomicOp.CMPXCHG),
    fetch: fc.boolean(),
    onStack: fc.boolean(),
    slot: fc.integer({ min: 1, max: 8 }),
    s: dst,
  })
  .map(({ dw, op, fetch, onStack, slot, s }) => {
    const k = op === AtomicOp.XCHG || op === AtomicOp.CMPXCHG || !fetch ? op : op | AtomicOp.FETCH;
    return { insns: [I(Class.STX | Mode.ATOMIC | (dw ? Size.DW : Size.W), onStack ? 10 : 6, s, onStack ? -8 * slot : 8 * (slot - 1), k)] };
  });

const jumpOp = fc.constantFrom(JmpOp.JEQ, JmpOp.JGT, JmpOp.JGE, JmpOp.JSET, JmpOp.JNE, JmpOp.JSGT, JmpOp.JSGE, JmpOp.JLT, JmpOp.JLE, JmpOp.JSLT, JmpOp.JSLE);

/** Forward conditional jumps (both widths), `ja` and `may_goto`, over the next `skip` units. */
const jump: fc.Arbitrary<Unit> = fc
  .record({
    kind: fc.constantFrom('jcc', 'jcc', 'jcc', 'ja', 'may_goto'),
    wide: fc.boolean(),
    op: jumpOp,
    x: fc.boolean(),
    d: anyReg,
    s: anyReg,
    k: imm,
    skip: fc.integer({ min: 0, max: 4 }),
  })
  .map(({ kind, wide, op, x, d, s, k, skip }) => {
    if (kind === 'ja') return { insns: [I(Class.JMP | JmpOp.JA, 0, 0, 0, 0)], skip };
    if (kind === 'may_goto') return { insns: [I(Class.JMP | JmpOp.JCOND, 0, 0, 0, 0)], skip };
    return { insns: [I((wide ? Class.JMP : Class.JMP32) | op | (x ? Source.X : Source.K), d, x ? s : 0, 0, x ? 0 : k)], skip };
  });

const helperCall: fc.Arbitrary<Unit> = fc.constantFrom(1, 1, 2).map((id) => ({ insns: [I(Class.JMP | JmpOp.CALL, 0, 0, 0, id)] }));

const unit = fc.oneof(
  { arbitrary: alu, weight: 8 },
  { arbitrary: unary, weight: 2 },
  { arbitrary: ldImm64, weight: 1 },
  { arbitrary: stack, weight: 4 },
  { arbitrary: pointer, weight: 2 },
  { arbitrary: atomic, weight: 1 },
  { arbitrary: jump, weight: 3 },
  { arbitrary: helperCall, weight: 1 },
);
const units = fc.array(unit, { maxLength: 14 });

interface Shape {
  readonly head: Unit[];
  readonly body: Unit[];
  readonly loops: number;
  readonly tail: Unit[];
  readonly sub: Unit[] | null;
}

// loops 0: no loop (and often no call), so the entry function is loop-free: its fuel-test-free copy runs.
const shape: fc.Arbitrary<Shape> = fc.record({
  head: units,
  body: units,
  loops: fc.integer({ min: 0, max: 6 }),
  tail: units,
  sub: fc.option(units, { nil: null }),
});

/** Lay the shape out: forward jumps inside each list, the loop's backward jump, a call to the subprogram. */
function assemble(s: Shape): RawInsn[] {
  const all: Unit[] = [];
  const list = (items: readonly Unit[], after: number): void => {
    const base = all.length;
    items.forEach((u, i) => all.push(u.skip === undefined ? u : { ...u, target: Math.min(base + i + 1 + u.skip, base + items.length + after) }));
  };
  all.push({ insns: [I(Class.ALU64 | AluOp.MOV | Source.X, 6, 1, 0, 0)] });
  list(s.head, 0);
  if (s.loops > 0) {
    all.push({ insns: [I(Class.ALU64 | AluOp.MOV | Source.K, 9, 0, 0, s.loops)] });
    const loopStart = all.length;
    list(s.body, 0);
    all.push({ insns: [I(Class.ALU64 | AluOp.ADD | Source.K, 9, 0, 0, -1)] });
    all.push({ insns: [I(Class.JMP | JmpOp.JNE | Source.K, 9, 0, 0, 0)], target: loopStart });
  }
  const callAt = s.sub === null ? -1 : all.length;
  if (s.sub !== null) all.push({ insns: [I(Class.JMP | JmpOp.CALL, 0, 1, 0, 0)] });
  list(s.tail, 0);
  all.push({ insns: [EXIT] });
  const subStart = all.length;
  if (s.sub !== null) {
    list(s.sub, 0);
    all.push({ insns: [EXIT] });
  }
  // Slot of each unit.
  const slots: number[] = [];
  let slot = 0;
  for (const u of all) {
    slots.push(slot);
    for (const insn of u.insns) slot += insn.code === (Class.LD | Size.DW) ? 2 : 1;
  }
  slots.push(slot);
  return all.flatMap((u, i) => {
    const last = u.insns.length - 1;
    return u.insns.map((insn, j) => {
      const at = (slots[i] ?? 0) + j;
      if (i === callAt) return { ...insn, imm: (slots[subStart] ?? 0) - at - 1 };
      if (j !== last || u.target === undefined) return insn;
      const rel = (slots[u.target] ?? 0) - at - 1;
      // gotol (JMP32 | JA) keeps its offset in imm; everything else in off.
      return { ...insn, off: rel };
    });
  });
}

/** One VM per engine over identical memory layouts. */
class Side {
  readonly vm: Vm;
  readonly data: number;

  constructor(engine: EngineName, memoryChecks: MemoryChecks = 'checked') {
    const mem = new LinearMemory({ pages: 2 });
    const arena = new Arena(mem);
    this.vm = new Vm({ arena, engine, memoryChecks, helpers: HELPERS, budget: 100_000 });
    this.data = arena.alloc(DATA_SIZE, Perm.RW, 'data').start;
  }

  /** Run with r1 = the data pointer and r2.. = args; `lean` uses `Vm.run` (r1, r2 only), else `Vm.runArgs`. */
  run(prog: ReturnType<typeof loadProgram>, args: readonly bigint[], lean: boolean) {
    const vm = this.vm;
    const bytes = vm.mem.bytes();
    bytes.fill(0, vm.stackBase, vm.stackTop);
    for (let i = 0; i < DATA_SIZE; i++) bytes[this.data + i] = (i * 37 + 11) & 0xff;
    const ok = lean ? vm.run(prog, this.data, args[0] ?? 0n) : vm.runArgs(prog, [this.data, ...args]);
    return {
      ok,
      r0: ok ? vm.r0 : null,
      regs: [...vm.regs],
      executed: vm.executed,
      fault: vm.fault,
      stack: [...vm.mem.read(vm.stackBase, vm.stackTop - vm.stackBase)],
      data: [...vm.mem.read(this.data, DATA_SIZE)],
    };
  }
}

const seedFromEnv = process.env['JIT_DIFF_SEED'];

describe('JIT ≡ interpreter on random programs', () => {
  const interp = new Side('interp');
  const jit = new Side('jit');
  const unchecked = new Side('jit', 'unchecked');

  it(`${RUNS} random programs give the same registers, memory, executed count and fault (and unchecked, without memory faults)`, () => {
    fc.assert(
      fc.property(shape, fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 4, maxLength: 4 }), fc.boolean(), (s, args, lean) => {
        const prog = loadProgram(assemble(s), { name: 'random' });
        // Twice on the JIT: the second run takes the lean path with registers left by the first.
        const first = jit.run(prog, args, lean);
        expect(first).toEqual(interp.run(prog, args, lean));
        const expected = interp.run(prog, args, true);
        expect(jit.run(prog, args, true)).toEqual(expected);
        // Without memory faults, the unchecked JIT (for verified programs) must agree too.
        if (expected.fault?.kind !== 'memory') expect(unchecked.run(prog, args, true)).toEqual(expected);
        // Loaded as the bpf subsystem loads verified programs (the budget tested at loop headers, only r0 read
        // after the run): the same r0, memory, executed count and fault, all but the registers (and a budget
        // fault's pc, noticed at a loop header).
        const asVerified = jit.run(loadProgram(assemble(s), { name: 'random', budgetTests: 'loop', exitRegisters: 'r0' }), args, true);
        if (expected.fault?.kind === 'budget') expect(asVerified.fault?.kind).toBe('budget');
        else expect({ ...asVerified, regs: [] }).toEqual({ ...expected, regs: [] });
        // As the bpf subsystem loads them now (`entry`: loops take no budget): the same r0, memory and fault;
        // `executed` counts only what ran outside loops, so at most the interpreter's.
        if (expected.fault?.kind !== 'budget') {
          const asLoaded = jit.run(loadProgram(assemble(s), { name: 'random', budgetTests: 'entry', exitRegisters: 'r0' }), args, true);
          expect({ ...asLoaded, regs: [], executed: 0 }).toEqual({ ...expected, regs: [], executed: 0 });
          expect(asLoaded.executed).toBeLessThanOrEqual(expected.executed);
        }
      }),
      { numRuns: RUNS, ...(seedFromEnv === undefined ? {} : { seed: Number(seedFromEnv) }) },
    );
  });
});
