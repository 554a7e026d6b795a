/**
 * Unit tests for the tricky parts of the execution model, written with the isa `asm` builder: division
 * edge cases, shifts, sign extension, byte swaps, atomics, calls, helpers, tail calls, may_goto, legacy
 * packet loads, faults and the budget.
 */
import { asm, type RawInsn } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { BPF_MAX_LOOPS, MAX_TAIL_CALL_CNT, formatFault } from './fault.js';
import type { HelperSpec } from './helpers.js';
import { Arena, LinearMemory, NULL_GUARD, Perm } from './memory.js';
import { type Program } from './program.js';
import { loadProgram } from './load.js';
import { Vm, type VmOptions } from './vm.js';

const { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 } = asm;
const { Add, Mov, Exit, Ldx, Stx, St, Call, JEq, JNe, Ja, label, program, LdImm64 } = asm;

function machine(options: Omit<VmOptions, 'memory' | 'arena'> = {}) {
  const mem = new LinearMemory({ pages: 2 });
  const arena = new Arena(mem);
  const vm = new Vm({ ...options, arena });
  return { mem, arena, vm };
}

function prog(...items: Array<asm.ProgramItem | readonly asm.ProgramItem[]>): Program {
  return loadProgram(program(...items));
}

/** Run a program on a fresh VM and return r0 (throwing on a fault). */
function r0Of(insns: RawInsn[], options: Omit<VmOptions, 'memory' | 'arena'> = {}): bigint {
  const { vm } = machine(options);
  return vm.execute(loadProgram(insns), [], { throwOnFault: true }).r0;
}

const u64 = (v: bigint) => BigInt.asUintN(64, v);
const INT64_MIN = 1n << 63n;

describe('division and modulo', () => {
  it('unsigned division by zero gives 0; modulo by zero leaves dst (32-bit: zero-extended)', () => {
    expect(r0Of(program(LdImm64.value(R0, -5n), Mov.imm(R1, 0), asm.Div.reg(R0, R1), Exit()))).toBe(0n);
    expect(r0Of(program(LdImm64.value(R0, -5n), Mov.imm(R1, 0), asm.Mod.reg(R0, R1), Exit()))).toBe(u64(-5n));
    expect(r0Of(program(LdImm64.value(R0, -5n), Mov.imm(R1, 0), asm.Mod.reg32(R0, R1), Exit()))).toBe(0xfffffffbn);
    expect(r0Of(program(LdImm64.value(R0, -5n), asm.Div.imm32(R0, 0), Exit()))).toBe(0n);
  });

  it('signed INT_MIN / -1 wraps to INT_MIN and INT_MIN % -1 is 0, in both widths', () => {
    expect(r0Of(program(LdImm64.value(R0, INT64_MIN), asm.SDiv.imm(R0, -1), Exit()))).toBe(INT64_MIN);
    expect(r0Of(program(LdImm64.value(R0, INT64_MIN), asm.SMod.imm(R0, -1), Exit()))).toBe(0n);
    expect(r0Of(program(Mov.imm32(R0, -0x80000000), asm.SDiv.imm32(R0, -1), Exit()))).toBe(0x80000000n);
    expect(r0Of(program(Mov.imm32(R0, -0x80000000), asm.SMod.imm32(R0, -1), Exit()))).toBe(0n);
  });

  it('signed division truncates toward zero and the remainder takes the dividend sign', () => {
    expect(r0Of(program(Mov.imm(R0, -7), asm.SDiv.imm(R0, 2), Exit()))).toBe(u64(-3n));
    expect(r0Of(program(Mov.imm(R0, -7), asm.SMod.imm(R0, 2), Exit()))).toBe(u64(-1n));
    expect(r0Of(program(Mov.imm(R0, 7), asm.SMod.imm(R0, -2), Exit()))).toBe(1n);
  });

  it('divides full 64-bit values by 64-bit divisors exactly', () => {
    const a = 0xfedcba9876543210n;
    const b = 0x1_0000_0003n;
    expect(r0Of(program(LdImm64.value(R0, a), LdImm64.value(R1, b), asm.Div.reg(R0, R1), Exit()))).toBe(a / b);
    expect(r0Of(program(LdImm64.value(R0, a), LdImm64.value(R1, b), asm.Mod.reg(R0, R1), Exit()))).toBe(a % b);
    expect(r0Of(program(LdImm64.value(R0, -1n), Mov.imm(R1, 7), asm.Div.reg(R0, R1), Exit()))).toBe((2n ** 64n - 1n) / 7n);
  });
});

describe('shifts, sign extension, byte swaps', () => {
  it('masks shift amounts (& 63, & 31)', () => {
    expect(r0Of(program(Mov.imm(R0, 1), Mov.imm(R1, 65), asm.Lsh.reg(R0, R1), Exit()))).toBe(2n);
    expect(r0Of(program(Mov.imm32(R0, 1), Mov.imm(R1, 33), asm.Lsh.reg32(R0, R1), Exit()))).toBe(2n);
    expect(r0Of(program(LdImm64.value(R0, INT64_MIN), asm.Arsh.imm(R0, 63), Exit()))).toBe(u64(-1n));
    expect(r0Of(program(Mov.imm(R0, -1), asm.Arsh.imm32(R0, 4), Exit()))).toBe(0xffffffffn);
  });

  it('zero-extends every 32-bit ALU result', () => {
    expect(r0Of(program(Mov.imm(R0, -1), Add.imm32(R0, 0), Exit()))).toBe(0xffffffffn);
    expect(r0Of(program(Mov.imm(R0, -1), asm.Neg.r32(R0), Exit()))).toBe(1n);
  });

  it('movsx and sign-extending loads', () => {
    expect(r0Of(program(Mov.imm(R1, 0x80), asm.MovSX.reg(R0, R1, 8), Exit()))).toBe(u64(-128n));
    expect(r0Of(program(Mov.imm(R1, 0x8000), asm.MovSX.reg32(R0, R1, 16), Exit()))).toBe(0xffff8000n);
    expect(r0Of(program(Mov.imm32(R1, -2), asm.MovSX.reg(R0, R1, 32), Exit()))).toBe(u64(-2n));
    expect(r0Of(program(St.b(R10, -1, 0xfe), asm.LdxSX.b(R0, R10, -1), Exit()))).toBe(u64(-2n));
    expect(r0Of(program(St.w(R10, -4, -3), asm.LdxSX.w(R0, R10, -4), Exit()))).toBe(u64(-3n));
  });

  it('be/le truncate on a little-endian machine; bswap swaps unconditionally', () => {
    const v = 0x0102030405060708n;
    expect(r0Of(program(LdImm64.value(R0, v), asm.Swap.le(R0, 16), Exit()))).toBe(0x0708n);
    expect(r0Of(program(LdImm64.value(R0, v), asm.Swap.be(R0, 32), Exit()))).toBe(0x08070605n);
    expect(r0Of(program(LdImm64.value(R0, v), asm.Swap.bswap(R0, 64), Exit()))).toBe(0x0807060504030201n);
  });
});

describe('atomics', () => {
  it('fetch forms return the old value in src; 32-bit forms zero-extend it', () => {
    const insns = program(St.dw(R10, -8, -1), Mov.imm(R1, 1), asm.Atomic.fetchAdd('dw', R10, -8, R1), Ldx.dw(R2, R10, -8), Mov.reg(R0, R1), Exit());
    expect(r0Of(insns)).toBe(u64(-1n));
    const w = program(St.w(R10, -8, -1), Mov.imm(R1, 1), asm.Atomic.fetchAdd('w', R10, -8, R1), Ldx.w(R0, R10, -8), Add.reg(R0, R1), Exit());
    // memory becomes 0, r1 = 0xffffffff (zero-extended old value)
    expect(r0Of(w)).toBe(0xffffffffn);
  });

  it('cmpxchg compares with r0 and always loads the old value into r0', () => {
    const hit = program(St.dw(R10, -8, 5), Mov.imm(R0, 5), Mov.imm(R1, 9), asm.Atomic.cmpxchg('dw', R10, -8, R1), Ldx.dw(R2, R10, -8), Add.reg(R0, R2), Exit());
    expect(r0Of(hit)).toBe(5n + 9n);
    const miss = program(
      St.dw(R10, -8, 5),
      Mov.imm(R0, 4),
      Mov.imm(R1, 9),
      asm.Atomic.cmpxchg('dw', R10, -8, R1),
      Ldx.dw(R2, R10, -8),
      Add.reg(R0, R2),
      Exit(),
    );
    expect(r0Of(miss)).toBe(5n + 5n);
  });
});

describe('bpf-to-bpf calls', () => {
  it('preserves r6-r9 for the caller and gives the callee a fresh 512-byte frame', () => {
    const p = prog(
      Mov.imm(R6, 6),
      Mov.imm(R9, 9),
      St.dw(R10, -8, 100),
      Mov.reg(R1, R10),
      Call.local('f'),
      // r0 = callee result + r6 + r9 + our stack slot
      Add.reg(R0, R6),
      Add.reg(R0, R9),
      Ldx.dw(R2, R10, -8),
      Add.reg(R0, R2),
      Exit(),
      label('f'),
      Mov.imm(R6, 1000),
      Mov.imm(R9, 1000),
      St.dw(R10, -8, 7),
      // r1 is the caller's r10: the callee's frame is exactly 512 bytes below it.
      Mov.reg(R0, R1),
      asm.Sub.reg(R0, R10),
      Exit(),
    );
    const { vm } = machine();
    expect(vm.execute(p, [], { throwOnFault: true }).r0).toBe(512n + 6n + 9n + 100n);
  });

  it('lets a callee read its caller stack through a pointer', () => {
    const p = prog(St.dw(R10, -8, 41), Mov.reg(R1, R10), Add.imm(R1, -8), Call.local('f'), Exit(), label('f'), Ldx.dw(R0, R1, 0), Add.imm(R0, 1), Exit());
    expect(machine().vm.execute(p, [], { throwOnFault: true }).r0).toBe(42n);
  });

  it('stops at 8 frames (MAX_CALL_FRAMES)', () => {
    const p = prog(Call.local('f'), Exit(), label('f'), Call.local('f'), Exit());
    const { vm } = machine();
    expect(vm.execute(p).fault).toMatchObject({ kind: 'call-depth', detail: 9, pc: 2 });
  });
});

describe('helpers', () => {
  const helpers: HelperSpec[] = [
    { id: 1, name: 'sum', fn: (ctx) => ctx.arg(1) + ctx.arg(2) + ctx.arg(3) + ctx.arg(4) + ctx.arg(5) },
    {
      id: 2,
      name: 'fail',
      fn: () => {
        throw new Error('bad argument');
      },
    },
    { id: 3, name: 'neg', fn: () => -22 },
    {
      id: 4,
      name: 'grow',
      fn: (ctx) => {
        ctx.mem.grow(1);
        return ctx.mem.size;
      },
    },
  ];

  it('passes r1-r5, returns in r0, and leaves r1-r5 as they were (our deterministic "clobber")', () => {
    const p = prog(Mov.imm(R1, 1), Mov.imm(R2, 2), Mov.imm(R3, 3), Mov.imm(R4, 4), Mov.imm(R5, 5), Call.helper(1), Add.reg(R0, R1), Add.reg(R0, R5), Exit());
    expect(machine({ helpers }).vm.execute(p, [], { throwOnFault: true }).r0).toBe(15n + 1n + 5n);
  });

  it('sign-extends negative numbers (errno) and calls through callx', () => {
    expect(r0Of(program(Call.helper(3), Exit()), { helpers })).toBe(u64(-22n));
    expect(r0Of(program(Mov.imm(R1, 40), Mov.imm(R2, 2), Mov.imm(R8, 1), Call.reg(R8), Exit()), { helpers })).toBe(42n);
  });

  it('faults on unknown ids and on helpers that throw', () => {
    const { vm } = machine({ helpers });
    expect(vm.execute(prog(Call.helper(99), Exit())).fault).toMatchObject({ kind: 'unknown-helper', detail: 99, pc: 0 });
    const failed = vm.execute(prog(Mov.imm(R0, 0), Call.helper(2), Exit())).fault;
    expect(failed).toMatchObject({ kind: 'helper-error', detail: 2, pc: 1, message: 'bad argument' });
    expect(failed && formatFault(failed)).toContain('helper failed (insn 1, function #2): bad argument');
  });

  it('formats faults with the default hints (naming no front end option) or with hints the embedder gives', () => {
    const { vm } = machine({ budget: 3 });
    const fault = vm.execute(prog(Mov.imm(R0, 0), label('top'), Add.imm(R0, 1), Ja('top'))).fault;
    if (fault === null) throw new Error('expected a budget fault');
    expect(formatFault(fault)).toBe(
      'execution budget exhausted (insn 1, after 3 instructions)\n  hint: the program ran longer than the instruction budget allows; if that is expected, run it with a larger budget',
    );
    expect(formatFault(fault, { budget: 'raise it with --budget N' })).toBe(
      'execution budget exhausted (insn 1, after 3 instructions)\n  hint: raise it with --budget N',
    );
    expect(formatFault(fault, { memory: 'not this one' })).toContain('hint: the program ran longer');
  });

  it('keeps working when a helper grows the memory (the old buffer is detached)', () => {
    const { vm, arena } = machine({ helpers });
    const region = arena.alloc(8, Perm.RW, 'value');
    const p = prog(Mov.reg(R6, R1), Call.helper(4), St.dw(R6, 0, 7), Ldx.dw(R0, R6, 0), Exit());
    expect(vm.execute(p, [region.start], { throwOnFault: true }).r0).toBe(7n);
  });

  it('sees a memory the embedder grew directly (WebAssembly.Memory.grow between runs)', () => {
    const { vm } = machine({ helpers });
    const before = vm.mem.dataView;
    const end = vm.mem.size;
    vm.mem.memory.grow(1);
    vm.mem.mapRegion(end, 16, Perm.RW, 'grown');
    const p = prog(St.dw(R1, 8, 9), Ldx.dw(R0, R1, 8), Exit());
    expect(vm.execute(p, [end], { throwOnFault: true }).r0).toBe(9n);
    expect(vm.mem.dataView === before).toBe(false);
    expect(vm.mem.dataView.byteLength).toBe(end + 65536);
  });
});

describe('tail calls', () => {
  it('continues in the program the hook returns, keeping r1; a null slot falls through', () => {
    const target = prog(Mov.reg(R0, R1), Add.imm(R0, 1000), Exit());
    const entry = prog(Mov.imm(R2, 0), Mov.imm(R3, 0), Call.helper(12), Mov.imm(R0, 1), Exit());
    const { vm } = machine({ tailCall: (ctx) => (ctx.arg(3) === 0n ? target : null) });
    expect(vm.execute(entry, [5], { throwOnFault: true }).r0).toBe(1005n);
    const miss = prog(Mov.imm(R3, 1), Call.helper(12), Mov.imm(R0, 1), Exit());
    expect(vm.execute(miss, [5], { throwOnFault: true }).r0).toBe(1n);
  });

  it('allows at most 33 chained tail calls (MAX_TAIL_CALL_CNT)', () => {
    // Each run of `self` counts in r6 through the stack... r1 is the context: count in memory it points to.
    const { vm, arena } = machine({ tailCall: () => self });
    const counter = arena.alloc(8, Perm.RW, 'counter');
    const self: Program = prog(Ldx.dw(R6, R1, 0), Add.imm(R6, 1), Stx.dw(R1, 0, R6), Call.helper(12), Ldx.dw(R0, R1, 0), Exit());
    expect(vm.execute(self, [counter.start], { throwOnFault: true }).r0).toBe(BigInt(MAX_TAIL_CALL_CNT + 1));
  });

  it('returns from a tail-called program to the caller of the frame', () => {
    const target = prog(Mov.imm(R0, 7), Exit());
    const entry = prog(Call.local('f'), Add.imm(R0, 100), Exit(), label('f'), Call.helper(12), Mov.imm(R0, 1), Exit());
    const { vm } = machine({ tailCall: () => target });
    expect(vm.execute(entry, [], { throwOnFault: true }).r0).toBe(107n);
  });
});

describe('may_goto, budget, LD ABS/IND', () => {
  it('may_goto falls through BPF_MAX_LOOPS times per frame, then jumps', () => {
    const p = prog(Mov.imm(R0, 0), label('loop'), asm.MayGoto('out'), Add.imm(R0, 1), Ja('loop'), label('out'), Exit());
    expect(machine({ budget: 4 * BPF_MAX_LOOPS }).vm.execute(p, [], { throwOnFault: true }).r0).toBe(BigInt(BPF_MAX_LOOPS));
  });

  it('stops a runaway program with a budget fault', () => {
    const { vm } = machine({ budget: 1000 });
    const result = vm.execute(prog(label('spin'), Ja('spin'), Exit()));
    expect(result.fault).toMatchObject({ kind: 'budget', detail: 1000, pc: 0 });
    expect(result.executed).toBe(1000);
  });

  it('LD ABS/IND read big-endian from the packet; out of bounds ends the program with r0 = 0', () => {
    const { vm, arena } = machine();
    const packet = arena.allocBytes(new Uint8Array([0x12, 0x34, 0x56, 0x78, 0x9a]), Perm.R, 'packet');
    vm.setPacket(packet.start, 5);
    expect(vm.execute(prog(asm.LdAbs.w(1), Exit()), [], { throwOnFault: true }).r0).toBe(0x3456789an);
    expect(vm.execute(prog(Mov.imm(R7, 3), asm.LdInd.h(R7, 0), Exit()), [], { throwOnFault: true }).r0).toBe(0x789an);
    expect(vm.execute(prog(Mov.imm(R0, 5), asm.LdAbs.w(2), Mov.imm(R0, 9), Exit()), [], { throwOnFault: true }).r0).toBe(0n);
    vm.clearPacket();
    expect(vm.execute(prog(asm.LdAbs.b(0), Exit())).fault?.kind).toBe('no-packet');
  });
});

describe('memory faults', () => {
  it('NULL dereference, out of a region, read-only region, dead stack frames', () => {
    const { vm, arena } = machine();
    const ro = arena.alloc(8, Perm.R, 'ro');
    expect(vm.execute(prog(Ldx.dw(R0, R1, 0), Exit()), [0]).fault).toMatchObject({ kind: 'memory', pc: 0, address: 0n, size: 8, access: 'read' });
    expect(vm.execute(prog(Ldx.w(R0, R1, 6), Exit()), [ro.start]).fault).toMatchObject({ kind: 'memory', address: BigInt(ro.start + 6), size: 4 });
    expect(vm.execute(prog(St.b(R1, 0, 1), Exit()), [ro.start]).fault).toMatchObject({ kind: 'memory', access: 'write' });
    expect(vm.execute(prog(Ldx.dw(R0, R1, 0), Exit()), [ro.start], { throwOnFault: true }).r0).toBe(0n);
    // Below the live frame (r10 - 512 - 8) is not accessible; r10 + 0 is the next object, here read-only.
    expect(vm.execute(prog(Ldx.dw(R0, R10, -520), Exit())).fault?.kind).toBe('memory');
    expect(vm.execute(prog(St.b(R10, 0, 1), Exit())).fault).toMatchObject({ kind: 'memory', access: 'write', address: BigInt(vm.stackTop) });
    // A callee's frame is dead once it returns.
    const dead = prog(Call.local('f'), Ldx.dw(R0, R0, 0), Exit(), label('f'), Mov.reg(R0, R10), Add.imm(R0, -8), Exit());
    expect(vm.execute(dead).fault).toMatchObject({ kind: 'memory', pc: 1 });
  });

  it('computes pointers in full 64 bits: a high word never aliases a low address', () => {
    const { vm, arena } = machine();
    const region = arena.alloc(16, Perm.RW, 'data');
    const far = (1n << 32n) + BigInt(region.start);
    expect(vm.execute(prog(Ldx.dw(R0, R1, 0), Exit()), [far]).fault).toMatchObject({ kind: 'memory', address: far });
    // -8 + (start + 8) wraps to start: a legal 64-bit address computation.
    const wrapped = prog(LdImm64.value(R2, -8n), Add.imm(R2, 0), Add.reg(R2, R1), Ldx.dw(R0, R2, 8), Exit());
    expect(vm.execute(wrapped, [region.start]).fault).toBeNull();
  });

  it('faults when running off the end and on unresolved map references', () => {
    const { vm } = machine();
    expect(vm.execute(prog(Mov.imm(R0, 1))).fault).toMatchObject({ kind: 'fell-off', pc: 1 });
    expect(vm.execute(prog(LdImm64.mapFd(R1, 3), Exit())).fault).toMatchObject({ kind: 'unresolved-ld-imm64', detail: 1, pc: 0 });
    const resolved = loadProgram(program(LdImm64.mapFd(R0, 3), Exit()), { resolveLdImm64: (insn) => BigInt(insn.imm) * 0x1000n });
    expect(vm.execute(resolved, [], { throwOnFault: true }).r0).toBe(0x3000n);
  });
});

describe('loading and the region API', () => {
  it('rejects jumps out of the program and into the middle of LD imm64', () => {
    expect(() => loadProgram(program(Ja(5), Exit()))).toThrow(/jump out of range from insn 0 to 6/);
    expect(() => loadProgram(program(JEq.imm(R1, 0, 1), LdImm64.value(R0, 1n), Exit()))).toThrow(/jump into the middle of ldimm64 insn 1/);
    expect(() => loadProgram(program(Call.local(-5), Exit()))).toThrow(/call out of range/);
  });

  it('maps and unmaps regions, refusing page 0, overlaps and the outside of the memory', () => {
    const mem = new LinearMemory({ pages: 1 });
    expect(() => mem.mapRegion(0, 8, Perm.R, 'null')).toThrow(/page 0/);
    expect(() => mem.mapRegion(NULL_GUARD, 1 << 20, Perm.R, 'big')).toThrow(/beyond the memory size/);
    mem.mapRegion(0x2000, 0x100, Perm.RW, 'a');
    expect(() => mem.mapRegion(0x20f0, 0x20, Perm.R, 'b')).toThrow(/overlaps region 'a'/);
    expect(mem.regionAt(0x2010)?.name).toBe('a');
    expect(mem.findRegion(0x20f8, 8, Perm.W)).toBe(0);
    expect(mem.findRegion(0x20f9, 8, Perm.R)).toBe(-1);
    mem.unmapRegion(0x2000);
    expect(mem.regions()).toEqual([]);
    expect(() => mem.unmapRegion(0x2000)).toThrow(/no region starts/);
  });

  it('arena: aligned bump allocation, growth on demand, reset unmaps', () => {
    const mem = new LinearMemory({ pages: 1 });
    const arena = new Arena(mem);
    const a = arena.alloc(3, Perm.RW, 'a');
    const b = arena.alloc(70000, Perm.R, 'b', 16);
    expect(a.start).toBe(NULL_GUARD);
    expect(b.start % 16).toBe(0);
    expect(mem.size).toBeGreaterThanOrEqual(b.start + 70000);
    arena.reset();
    expect(mem.regions()).toEqual([]);
  });

  it('rejects an embedder memory without a place for the stack', () => {
    expect(() => new Vm({ memory: new LinearMemory() })).toThrow(/stackAddr or an arena/);
    const shared = new WebAssembly.Memory({ initial: 1 });
    const vm = new Vm({ memory: new LinearMemory({ memory: shared }), stackAddr: 0x8000 });
    expect(vm.stackTop).toBe(0x8000 + 4096);
    expect(vm.mem.memory).toBe(shared);
  });
});

describe('register state', () => {
  it('exposes registers as lo/hi pairs and as bigints', () => {
    const { vm } = machine();
    vm.execute(prog(LdImm64.value(R9, -2n), Mov.imm(R0, 3), Exit()), [1n, 2n, 3n, 4n, 5n]);
    expect(vm.reg(9)).toBe(u64(-2n));
    expect([vm.regs[18], vm.regs[19]]).toEqual([-2, -1]);
    expect(vm.reg(5)).toBe(5n);
    expect(vm.reg(10)).toBe(BigInt(vm.stackTop));
    void [R4, R8, JNe];
  });
});
