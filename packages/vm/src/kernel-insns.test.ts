/**
 * The kernel's own instructions (kernel-insns.ts): BPF_REG_AX (r11) and BPF_ST_NOSPEC, in the sequences Linux
 * 6.18's do_misc_fixups and convert_ctx_accesses write, run on every engine with the same results; user
 * bytecode still cannot use either.
 */
import type { RawInsn } from '@ebpf-sim/isa';
import { AluOp, Class, JmpOp, Source, encodeProgram } from '@ebpf-sim/isa';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BPF_REG_AX as AX, BPF_ST_NOSPEC, decodeKernelProgram } from './kernel-insns.js';
import { loadProgram } from './load.js';
import { Arena, LinearMemory } from './memory.js';
import { ENGINES, Vm } from './vm.js';

const ins = (code: number, dst: number, src: number, off: number, imm: number): RawInsn => ({ code, dst, src, off, imm });
const alu64 = (op: number, dst: number, src: number): RawInsn => ins(Class.ALU64 | op | Source.X, dst, src, 0, 0);
const alu64k = (op: number, dst: number, imm: number): RawInsn => ins(Class.ALU64 | op | Source.K, dst, 0, 0, imm);
const NOSPEC = ins(BPF_ST_NOSPEC, 0, 0, 0, 0);
const EXIT = ins(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0);

/**
 * `r0 = r1; r0 += r2` as do_misc_fixups sanitises it for an unprivileged loader (alu_limit 7, the offset in the
 * source register, not negative; Linux's BPF_REG_AX masking sequence), with the `nospec` barrier after it.
 */
const MASKED_ADD: readonly RawInsn[] = [
  ins(Class.ALU | AluOp.MOV | Source.K, AX, 0, 0, 7),
  alu64(AluOp.SUB, AX, 2),
  alu64(AluOp.OR, AX, 2),
  alu64k(AluOp.NEG, AX, 0),
  alu64k(AluOp.ARSH, AX, 63),
  alu64(AluOp.AND, AX, 2),
  alu64(AluOp.MOV, 0, 1),
  alu64(AluOp.ADD, 0, AX),
  NOSPEC,
  EXIT,
];

/** `r0 = r1 s/ r2` with Linux 6.x's signed-division guard (BPF_REG_AX as scratch). */
const GUARDED_SDIV: readonly RawInsn[] = [
  alu64(AluOp.MOV, 0, 1),
  alu64(AluOp.MOV, AX, 2),
  alu64k(AluOp.ADD, AX, 1),
  ins(Class.JMP | JmpOp.JGT | Source.K, AX, 0, 4, 1),
  ins(Class.JMP | JmpOp.JEQ | Source.K, AX, 0, 1, 0),
  ins(Class.ALU64 | AluOp.MOV | Source.K, 0, 0, 0, 0),
  alu64k(AluOp.NEG, 0, 0),
  ins(Class.JMP | JmpOp.JA, 0, 0, 1, 0),
  ins(Class.ALU64 | AluOp.DIV | Source.X, 0, 2, 1, 0),
  EXIT,
];

function runAll(insns: readonly RawInsn[], r1: bigint, r2: bigint): Array<{ engine: string; ok: boolean; r0: bigint; executed: number }> {
  const prog = loadProgram(insns, { kernelInsns: true });
  return ENGINES.map((engine) => {
    const vm = new Vm({ arena: new Arena(new LinearMemory()), engine, prime: false });
    const ok = vm.run(prog, r1, r2);
    return { engine, ok, r0: vm.r0, executed: vm.executed };
  });
}

describe('kernel instructions: r11 and nospec', () => {
  it('runs the Spectre v1 masking: an offset within alu_limit moves the pointer, any other leaves it (every engine)', () => {
    const base = 0x1000n;
    const cases: Array<[bigint, bigint]> = [
      [0n, base],
      [5n, base + 5n],
      [7n, base + 7n],
      [8n, base],
      [0xffff_ffff_ffff_ffffn, base],
      [0x8000_0000_0000_0000n, base],
    ];
    for (const [off, want] of cases) {
      for (const run of runAll(MASKED_ADD, base, off)) {
        expect(run, `off ${off} on ${run.engine}`).toEqual({ engine: run.engine, ok: true, r0: want, executed: MASKED_ADD.length });
      }
    }
  });

  it('agrees on the masking for any alu_limit and offset, both directions (interpreter, JIT, auto)', () => {
    const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), u64, u64, fc.boolean(), (limit, base, off, sub) => {
        // do_misc_fixups' sequence for `r0 += r2` or `r0 -= r2` (off in the source register), alu_limit `limit`.
        const insns = [ins(Class.ALU | AluOp.MOV | Source.K, AX, 0, 0, limit), ...MASKED_ADD.slice(1)];
        if (sub) insns[7] = alu64(AluOp.SUB, 0, AX);
        const masked = off <= BigInt(limit) ? off : 0n;
        const want = BigInt.asUintN(64, sub ? base - masked : base + masked);
        for (const run of runAll(insns, base, off)) expect(run.r0, run.engine).toBe(want);
      }),
      { numRuns: 200 },
    );
  });

  it("runs Linux's signed-division guard with r11: x s/ 0 = 0, LLONG_MIN s/ -1 = LLONG_MIN (every engine)", () => {
    const min = 0x8000_0000_0000_0000n;
    const cases: Array<[bigint, bigint, bigint]> = [
      [42n, 0n, 0n],
      [min, 0xffff_ffff_ffff_ffffn, min],
      [7n, 0xffff_ffff_ffff_ffffn, BigInt.asUintN(64, -7n)],
      [100n, 7n, 14n],
      [BigInt.asUintN(64, -100n), 7n, BigInt.asUintN(64, -14n)],
    ];
    for (const [x, y, want] of cases) {
      const runs = runAll(GUARDED_SDIV, x, y);
      for (const run of runs) expect(run.r0, `${x} s/ ${y} on ${run.engine}`).toBe(want);
      // Interpreter and JIT count the same instructions along the same path.
      expect(new Set(runs.map((r) => r.executed)).size).toBe(1);
    }
  });

  it('keeps r11 to the kernel: Vm.regs shows r0..r10 only, and r11 is kept apart from all of them', () => {
    // Every register r0..r10 set, r11 written and read back: no register of the program's changes.
    const insns: RawInsn[] = [];
    for (let r = 0; r <= 9; r++) insns.push(ins(Class.ALU64 | AluOp.MOV | Source.K, r, 0, 0, 100 + r));
    insns.push(ins(Class.ALU64 | AluOp.MOV | Source.K, AX, 0, 0, -1), alu64(AluOp.ADD, AX, 10));
    for (let r = 1; r <= 9; r++) insns.push(alu64(AluOp.ADD, 0, r));
    insns.push(alu64(AluOp.SUB, AX, 10), alu64(AluOp.ADD, 0, AX), EXIT);
    const prog = loadProgram(insns, { kernelInsns: true });
    for (const engine of ENGINES) {
      const vm = new Vm({ arena: new Arena(new LinearMemory()), engine, prime: false });
      expect(vm.regs.length).toBe(22);
      expect(vm.run(prog)).toBe(true);
      expect(vm.r0, engine).toBe(BigInt(100 * 10 + 45 - 1));
    }
  });

  it('runs nospec as a no-op that counts as one instruction, and keeps its opcode in the program', () => {
    const insns = [ins(Class.ALU64 | AluOp.MOV | Source.K, 0, 0, 0, 3), NOSPEC, NOSPEC, alu64k(AluOp.ADD, 0, 4), NOSPEC, EXIT];
    const prog = loadProgram(insns, { kernelInsns: true });
    expect(Array.from(prog.bytes())).toEqual(Array.from(encodeProgram(insns)));
    for (const engine of ENGINES) {
      const vm = new Vm({ arena: new Arena(new LinearMemory()), engine, prime: false });
      expect(vm.run(prog)).toBe(true);
      expect({ r0: vm.r0, executed: vm.executed }).toEqual({ r0: 7n, executed: 6 });
    }
  });

  it('decodes r11 operands and nospec as written, an LD imm64 beside them untouched', () => {
    const insns = [{ ...ins(0x18, 1, 0, 0, 0x1234), imm2: 0x5678 }, ins(Class.ALU | AluOp.MOV | Source.K, AX, 0, 0, 7), NOSPEC, alu64(AluOp.ADD, 0, AX), EXIT];
    const decoded = decodeKernelProgram(encodeProgram(insns));
    expect(decoded.map((i) => [i.slot, i.code, i.dst, i.src, i.imm, i.imm2 ?? null])).toEqual([
      [0, 0x18, 1, 0, 0x1234, 0x5678],
      [2, Class.ALU | AluOp.MOV | Source.K, AX, 0, 7, null],
      [3, BPF_ST_NOSPEC, 0, 0, 0, null],
      [4, Class.ALU64 | AluOp.ADD | Source.X, 0, AX, 0, null],
      [5, Class.JMP | JmpOp.EXIT, 0, 0, 0, null],
    ]);
  });

  it('refuses r11 and nospec in user bytecode, and malformed kernel instructions', () => {
    expect(() => loadProgram(MASKED_ADD)).toThrow(/invalid register/);
    expect(() => loadProgram([NOSPEC, EXIT])).toThrow(/invalid opcode/);
    // A barrier uses no field; r12 and up are no register even for the kernel.
    expect(() => loadProgram([ins(BPF_ST_NOSPEC, 1, 0, 0, 0), EXIT], { kernelInsns: true })).toThrow(/invalid opcode/);
    expect(() => loadProgram([alu64(AluOp.MOV, 12, 1), EXIT], { kernelInsns: true })).toThrow(/invalid register/);
  });
});
