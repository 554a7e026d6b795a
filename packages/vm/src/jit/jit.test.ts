/**
 * JIT scenarios the random programs do not reach: irreducible control flow (the dispatch fallback), tail
 * calls (also from a subprogram), budget exhaustion, call-depth overflow, memory growth inside a helper, the
 * unchecked mode, the `auto` engine, and a large generated program. Each compares with the interpreter.
 */
import type { RawInsn } from '@ebpf-sim/isa';
import { asm } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import type { HelperSpec } from '../helpers.js';
import { Arena, LinearMemory, Perm } from '../memory.js';
import { type Program } from '../program.js';
import { loadProgram } from '../load.js';
import { EngineState } from '../engine-state.js';
import { Vm, type TailCallHook, type VmOptions } from '../vm.js';
import { JitLimitError, MAX_WASM_FUNCTION_BYTES } from './compile.js';
import { AUTO_HOT_INSNS, compiled } from './engine.js';

const { R0, R1, R2, R3, R4, R6, R10, Add, Arsh, Div, Lsh, Mod, Mov, Rsh, SMod, Sub, Xor, JEq, JLt, JNe, Ja, Call, Exit, Ldx, Stx, label, program } = asm;

function outcome(vm: Vm, ok: boolean) {
  return { ok, r0: ok ? vm.r0 : null, regs: [...vm.regs], executed: vm.executed, fault: vm.fault, running: vm.running?.name };
}

/** Run `prog` on both engines with the same options; return both outcomes. */
function both(prog: Program, options: Omit<VmOptions, 'engine'> = {}, args: ReadonlyArray<number | bigint> = []) {
  const run = (engine: 'interp' | 'jit') => {
    const vm = new Vm({ ...options, engine });
    return outcome(vm, vm.runArgs(prog, args));
  };
  return { jit: run('jit'), interp: run('interp') };
}

describe('structuring', () => {
  it('compiles an irreducible loop (two entries) with the dispatch fallback, same result', () => {
    const prog = loadProgram(
      program(
        Mov.imm(R0, 0),
        Mov.imm(R2, 0),
        JEq.imm(R1, 0, 'b'),
        label('a'),
        Add.imm(R0, 1),
        Add.imm(R2, 1),
        label('b'),
        Add.imm(R0, 2),
        JLt.imm(R2, 5, 'a'),
        Exit(),
      ),
    );
    expect(compiled(prog, 'checked').functions[0]?.kind).toBe('dispatch');
    for (const r1 of [0, 1]) {
      const { jit, interp } = both(prog, {}, [r1]);
      expect(jit).toEqual(interp);
      expect(jit.ok).toBe(true);
    }
  });

  it('structures nested loops and forward branches without the fallback', () => {
    const prog = loadProgram(
      program(
        Mov.imm(R0, 0),
        Mov.imm(R2, 0),
        label('outer'),
        Mov.imm(R3, 0),
        label('inner'),
        JEq.imm(R3, 2, 'skip'),
        Add.reg(R0, R3),
        label('skip'),
        Add.imm(R3, 1),
        JLt.imm(R3, 4, 'inner'),
        Add.imm(R2, 1),
        JLt.imm(R2, 3, 'outer'),
        Exit(),
      ),
    );
    expect(compiled(prog, 'checked').functions.map((f) => f.kind)).toEqual(['structured']);
    const { jit, interp } = both(prog);
    expect(jit).toEqual(interp);
    expect(jit.r0).toBe(12n);
  });
});

describe('extension pairs', () => {
  it("`<<= 32; >>= 32` and `<<= 32; s>>= 32` (one extension when in one block) give the interpreter's results", () => {
    const prog = loadProgram(
      program(
        // zero and sign extension of r1 and r2, fused
        Mov.reg(R0, R1),
        Lsh.imm(R0, 32),
        Rsh.imm(R0, 32),
        Mov.reg(R3, R2),
        Lsh.imm(R3, 32),
        Arsh.imm(R3, 32),
        Xor.reg(R0, R3),
        // a jump target between the shifts (two blocks), and shifts of two registers: not fused
        Mov.reg(R3, R1),
        Lsh.imm(R3, 32),
        JEq.imm(R2, 0, 'next'),
        label('next'),
        Arsh.imm(R3, 32),
        Mov.reg(R4, R2),
        Lsh.imm(R4, 32),
        Rsh.imm(R3, 32),
        Add.reg(R0, R3),
        Add.reg(R0, R4),
        Exit(),
      ),
    );
    const values = [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x1_0000_0000n, 0xdead_beef_8000_0001n, (1n << 64n) - 1n];
    for (const r1 of values) {
      for (const r2 of values) {
        const { jit, interp } = both(prog, {}, [r1, r2]);
        expect(jit, `r1 ${r1}, r2 ${r2}`).toEqual(interp);
        const zext = (v: bigint) => v & 0xffffffffn;
        const sext = (v: bigint) => BigInt.asUintN(64, BigInt.asIntN(32, v));
        const r3 = sext(r1) >> 32n;
        expect(jit.r0).toBe(BigInt.asUintN(64, (zext(r1) ^ sext(r2)) + r3 + BigInt.asUintN(64, r2 << 32n)));
      }
    }
  });
});

describe('divisorsNonZero', () => {
  // r0 = r1 / r2 + r1 % r2 (64-bit) + w1 / w2 (32-bit) + r1 s% r2
  const items = [
    Mov.reg(R0, R1),
    Div.reg(R0, R2),
    Mov.reg(R3, R1),
    Mod.reg(R3, R2),
    Add.reg(R0, R3),
    Mov.reg(R3, R1),
    Div.reg32(R3, R2),
    Add.reg(R0, R3),
    Mov.reg(R3, R1),
    SMod.reg(R3, R2),
    Add.reg(R0, R3),
    Exit(),
  ];
  const proven = [1, 3, 6, 9];

  it("divides without the zero test and gives the interpreter's results while the proof holds", () => {
    const prog = loadProgram(program(...items), { divisorsNonZero: proven });
    // Divisors whose low 32 bits are non-zero too (the 32-bit division divides by w2).
    const values = [1n, 2n, 7n, 0x7fffffffn, 0x80000000n, 0xffffffffn, (1n << 63n) + 1n, (1n << 64n) - 1n, 0x1_0000_0003n];
    for (const r1 of [0n, ...values]) {
      for (const r2 of values) {
        const { jit, interp } = both(prog, {}, [r1, r2]);
        expect(jit, `r1 ${r1}, r2 ${r2}`).toEqual(interp);
      }
    }
  });

  it('a wrong proof is unchecked: the JIT traps on a zero divisor where the interpreter gives x / 0 = 0', () => {
    const { jit, interp } = both(loadProgram(program(...items), { divisorsNonZero: proven }), {}, [5n, 0n]);
    expect(interp.ok).toBe(true);
    expect(jit.fault).toMatchObject({ kind: 'memory', pc: -1 });
    // Unproved, the same division tests its divisor.
    const tested = both(loadProgram(program(...items)), {}, [5n, 0n]);
    expect(tested.jit).toEqual(tested.interp);
  });

  it('refuses a slot that is no division or modulo (facts of another program)', () => {
    expect(() => loadProgram(program(...items), { divisorsNonZero: [0] })).toThrow(/divisorsNonZero names insn 0, which is no division or modulo/);
  });
});

describe('budget and call depth', () => {
  it('stops a runaway loop with the interpreter budget fault (same pc, executed, detail)', () => {
    const prog = loadProgram(program(Mov.imm(R0, 0), label('l'), Add.imm(R0, 1), Add.imm(R1, 2), Ja('l')));
    for (const budget of [1, 2, 3, 1000, 1001, 1002]) {
      const { jit, interp } = both(prog, { budget });
      expect(jit.fault?.kind).toBe('budget');
      expect({ fault: jit.fault, executed: jit.executed }).toEqual({ fault: interp.fault, executed: interp.executed });
    }
  });

  it('runs a loop-free program with any budget exactly like the interpreter (fuel-test-free copy or not)', () => {
    const prog = loadProgram(program(Mov.imm(R0, 0), JEq.imm(R1, 0, 'a'), Add.imm(R0, 1), Add.imm(R0, 2), label('a'), Add.imm(R0, 3), Add.imm(R0, 4), Exit()));
    for (let budget = 1; budget <= 8; budget++) {
      for (const r1 of [0, 1]) {
        const { jit, interp } = both(prog, { budget }, [r1]);
        // At a budget fault the registers may differ by the last block's effects (README); the rest is exact.
        if (jit.fault?.kind === 'budget') expect({ fault: jit.fault, executed: jit.executed }).toEqual({ fault: interp.fault, executed: interp.executed });
        else expect(jit, `budget ${budget}, r1 ${r1}`).toEqual(interp);
      }
    }
  });

  it("budgetTests 'loop': checked code tests the fuel only at loop headers; a run that ends normally is exact", () => {
    // 1: r0 += 1; if r0 == 3 goto skip; r0 += 1; skip (4): r1 -= 1; if r1 != 0 goto 1; exit
    const items = [
      Mov.imm(R0, 0),
      label('l'),
      Add.imm(R0, 1),
      JEq.imm(R0, 3, 'skip'),
      Add.imm(R0, 1),
      label('skip'),
      Sub.imm(R1, 1),
      JNe.imm(R1, 0, 'l'),
      Exit(),
    ];
    const perBlock = loadProgram(program(...items));
    const perLoop = loadProgram(program(...items), { budgetTests: 'loop' });
    for (const r1 of [1, 5, 100]) {
      const { jit, interp } = both(perLoop, {}, [r1]);
      expect(jit).toEqual(interp);
    }
    const interpPcs = new Set<number>();
    for (let budget = 1; budget <= 40; budget++) {
      const { jit, interp } = both(perLoop, { budget }, [100]);
      expect(jit.fault?.kind).toBe('budget');
      expect(jit.executed).toBe(budget);
      // The overdraw is noticed in the entry block (0) or the loop header's block (1..3), never after it...
      expect(jit.fault?.pc).toBeLessThanOrEqual(3);
      interpPcs.add(interp.fault?.pc ?? -1);
      // ...while per-block tests report the interpreter's instruction.
      const exact = both(perBlock, { budget }, [100]);
      expect({ fault: exact.jit.fault, executed: exact.jit.executed }).toEqual({ fault: interp.fault, executed: interp.executed });
    }
    expect(interpPcs.has(4)).toBe(true);
  });

  it("budgetTests 'loop': a helper, a memory fault and the exit inside a branchy loop see the exact count (the pending charge)", () => {
    // l: r0 += 1; if r0 & 1 goto odd; r3 += 5; call 1 (even passes); goto tail; odd: r3 += 1; r3 += 2;
    // tail: if r0 == r1 load from r2 (0: a fault); r4 -= 1; if r4 != 0 goto l; exit
    const items = [
      Mov.imm(R0, 0),
      Mov.imm(R3, 0),
      Mov.imm(R4, 9),
      label('l'),
      Add.imm(R0, 1),
      Mov.reg(R6, R0),
      asm.JSet.imm(R6, 1, 'odd'),
      Add.imm(R3, 5),
      Call.helper(1),
      Mov.reg(R0, R6),
      Ja('tail'),
      label('odd'),
      Add.imm(R3, 1),
      Add.imm(R3, 2),
      label('tail'),
      JNe.reg(R0, R1, 'next'),
      Ldx.dw(R6, R2, 0),
      label('next'),
      Sub.imm(R4, 1),
      JNe.imm(R4, 0, 'l'),
      Mov.reg(R0, R3),
      Exit(),
    ];
    const prog = loadProgram(program(...items), { budgetTests: 'loop' });
    for (const r1 of [0, 3, 4, 100]) {
      const { jit, interp } = both(prog, { helpers: [{ id: 1, name: 'zero', fn: () => 0n }] }, [r1, 0]);
      expect(jit, `r1 ${r1}`).toEqual(interp);
      expect(jit.fault?.kind ?? 'none').toBe(r1 === 3 || r1 === 4 ? 'memory' : 'none');
    }
    // What the JIT tells a helper (the interpreter does not bring its count up to date for helpers): the
    // instructions run up to and including the call. The 2nd, 4th, ... passes call it: 3 + 8 (an odd pass) + 5,
    // then 18 more for each two passes (10 for the rest of the even one, 8 for the odd one).
    const seen: number[] = [];
    // The helper's context is the engine's state, whose count the JIT brings up to date for the call.
    const vm = new Vm({ engine: 'jit', helpers: [{ id: 1, name: 'count', fn: (ctx) => (seen.push(ctx instanceof EngineState ? ctx.executed : -1), 0n) }] });
    expect(vm.runArgs(prog, [100, 0])).toBe(true);
    expect(seen).toEqual([16, 34, 52, 70]);
  });

  it("budgetTests 'entry': loops take no budget; the result is the interpreter's, executed counts what is outside loops", () => {
    // r0 = 0; r3 = 0; l: r0 += 1; if r0 & 1 goto odd; r3 += 5; goto tail; odd: r3 += 1; tail: if r0 < r1 goto l;
    // r0 = r3; exit: 2 instructions before the loop, 2 after it.
    const items = [
      Mov.imm(R0, 0),
      Mov.imm(R3, 0),
      label('l'),
      Add.imm(R0, 1),
      asm.JSet.imm(R0, 1, 'odd'),
      Add.imm(R3, 5),
      Ja('tail'),
      label('odd'),
      Add.imm(R3, 1),
      label('tail'),
      JLt.reg(R0, R1, 'l'),
      Mov.reg(R0, R3),
      Exit(),
    ];
    const prog = loadProgram(program(...items), { budgetTests: 'entry', exitRegisters: 'r0' });
    for (const r1 of [1, 2, 7, 100_000]) {
      const { jit, interp } = both(prog, {}, [r1]);
      expect(jit.ok).toBe(true);
      expect(jit.r0).toBe(interp.r0);
      expect(jit.executed).toBe(4);
      expect(interp.executed).toBeGreaterThan(4);
    }
    // A budget far below what the loop runs: the loop is not counted, so the run ends normally...
    expect(both(prog, { budget: 10 }, [100_000]).jit).toMatchObject({ ok: true, r0: 300_000n, executed: 4 });
    // ...while a budget below the loop-free part still stops it (the entry block's test).
    const stopped = both(prog, { budget: 1 }, [5]).jit;
    expect(stopped.fault?.kind).toBe('budget');
  });

  it("budgetTests 'entry': a loop at the function's entry still tests its entry block; a loop-free program keeps the exact count", () => {
    // l: r0 += 1; if r0 < r1 goto l; exit (the entry block is the loop header)
    const looping = loadProgram(program(label('l'), Add.imm(R0, 1), JLt.reg(R0, R1, 'l'), Exit()), { budgetTests: 'entry' });
    const { jit, interp } = both(looping, { budget: 1000 }, [10_000]);
    expect(jit.fault?.kind).toBe('budget');
    expect(interp.fault?.kind).toBe('budget');
    expect(both(looping, {}, [50]).jit).toMatchObject({ ok: true, r0: 50n, executed: 101 });
    const straight = loadProgram(program(Mov.imm(R0, 1), Add.imm(R0, 2), JEq.imm(R1, 0, 'z'), Add.imm(R0, 3), label('z'), Exit()), {
      budgetTests: 'entry',
    });
    for (const r1 of [0, 1]) {
      const { jit: j, interp: i } = both(straight, {}, [r1]);
      expect(j).toEqual(i);
    }
    // As in `loop` mode, the entry block tests the budget: one below its three instructions stops the run.
    for (let budget = 1; budget < 3; budget++) expect(both(straight, { budget }, [1]).jit.fault?.kind).toBe('budget');
    expect(both(straight, { budget: 5 }, [1]).jit).toMatchObject({ ok: true, executed: 5 });
  });

  it("exitRegisters 'r0': the JIT publishes r0 alone at the exit and on a fault; r0, the fault and executed stay exact", () => {
    // r3 = 7; r0 = r1 + r3; r4 = *(u64 *)(r1 + 0) when r1 != 0 (an unmapped address: a memory fault)
    const items = [Mov.imm(R3, 7), Mov.reg(R0, R1), Add.reg(R0, R3), JEq.imm(R1, 0, 'out'), Ldx.dw(R2, R1, 0), label('out'), Exit()];
    const all = loadProgram(program(...items));
    const r0Only = loadProgram(program(...items), { exitRegisters: 'r0' });
    const vm = new Vm({ engine: 'jit' });
    expect(vm.run(all, 0)).toBe(true);
    expect(vm.reg(3)).toBe(7n);
    expect(vm.run(r0Only, 0)).toBe(true);
    // r0Low reads the verdict from the exchange area without flushing: the same value, the other registers unread.
    expect(vm.r0Low).toBe(7);
    expect(vm.r0).toBe(7n);
    expect(vm.r0Low).toBe(7);
    expect(vm.executed).toBe(5);
    // r3 was not published: it reads as the run's initial value.
    expect(vm.reg(3)).toBe(0n);
    const { interp } = both(all, {}, [16]);
    expect(vm.run(r0Only, 16)).toBe(false);
    expect({ fault: vm.fault, executed: vm.executed }).toEqual({ fault: interp.fault, executed: interp.executed });
  });

  it('faults on unbounded recursion like the interpreter (MAX_CALL_FRAMES)', () => {
    const prog = loadProgram(program(label('f'), Add.imm(R0, 1), Call.local('f'), Exit()));
    const { jit, interp } = both(prog);
    expect(jit.fault?.kind).toBe('call-depth');
    expect(jit).toEqual(interp);
  });

  it('keeps the caller registers across bpf-to-bpf calls and gives each frame its own stack', () => {
    const prog = loadProgram(
      program(
        Mov.imm(R6, 7),
        Mov.imm(R1, 5),
        Stx.dw(R10, -8, R1),
        Call.local('f'),
        Ldx.dw(R2, R10, -8),
        Add.reg(R0, R2),
        Add.reg(R0, R6),
        Exit(),
        label('f'),
        Mov.imm(R6, 100),
        Stx.dw(R10, -8, R6),
        Ldx.dw(R0, R10, -8),
        Add.reg(R0, R1),
        Exit(),
      ),
    );
    const { jit, interp } = both(prog);
    expect(jit).toEqual(interp);
    expect(jit.r0).toBe(117n);
  });
});

describe('tail calls', () => {
  const target = loadProgram(program(Add.imm(R0, 40), Add.imm(R1, 1), Exit()), { name: 'target' });
  const hook: TailCallHook = (ctx) => (ctx.argU32(3) === 1 ? target : null);

  it('continues in the tail-called program, which ends the run', () => {
    const prog = loadProgram(program(Mov.imm(R0, 2), Mov.imm(R3, 1), Call.helper(12), Mov.imm(R0, 99), Exit()), { name: 'main' });
    const { jit, interp } = both(prog, { tailCall: hook });
    expect(jit).toEqual(interp);
    expect(jit.r0).toBe(42n);
  });

  it('falls through when the slot is empty', () => {
    const prog = loadProgram(program(Mov.imm(R0, 2), Mov.imm(R3, 0), Call.helper(12), Add.imm(R0, 5), Exit()), { name: 'main' });
    const { jit, interp } = both(prog, { tailCall: hook });
    expect(jit).toEqual(interp);
    expect(jit.r0).toBe(7n);
  });

  it('from a subprogram: the tail-called program returns to the caller frame', () => {
    const prog = loadProgram(
      program(Mov.imm(R6, 3), Call.local('f'), Add.reg(R0, R6), Exit(), label('f'), Mov.imm(R0, 1), Mov.imm(R3, 1), Call.helper(12), Mov.imm(R0, 1000), Exit()),
      { name: 'main' },
    );
    const { jit, interp } = both(prog, { tailCall: hook });
    expect(jit).toEqual(interp);
    expect(jit.r0).toBe(44n);
  });
});

describe('helpers and memory', () => {
  it('sees the memory grow inside a helper and keeps accessing it', () => {
    const mem = new LinearMemory({ pages: 1 });
    const arena = new Arena(mem);
    const helpers: HelperSpec[] = [
      {
        id: 1,
        name: 'grow',
        fn: () => {
          mem.grow(1);
          return arena.alloc(16, Perm.RW, 'late').start;
        },
      },
    ];
    const prog = loadProgram(program(Call.helper(1), Mov.imm(R1, 77), Stx.dw(R0, 0, R1), Ldx.dw(R0, R0, 0), Exit()));
    const vm = new Vm({ arena, helpers, engine: 'jit' });
    expect(vm.run(prog)).toBe(true);
    expect(vm.r0).toBe(77n);
  });

  it('survives a program run from inside a helper on another VM over the same memory', () => {
    const mem = new LinearMemory({ pages: 2 });
    const arena = new Arena(mem);
    const inner = loadProgram(program(Mov.imm(R1, 1000), Mov.imm(R6, 2000), Mov.reg(R0, R1), Add.reg(R0, R6), Exit()));
    const innerVm = new Vm({ arena, engine: 'jit' });
    const helpers: HelperSpec[] = [{ id: 1, name: 'nested', fn: () => (innerVm.run(inner) ? innerVm.r0 : 0n) }];
    const outer = loadProgram(program(Mov.imm(R6, 5), Mov.imm(R1, 7), Call.helper(1), Add.reg(R0, R6), Add.reg(R0, R1), Exit()));
    for (const engine of ['jit', 'interp'] as const) {
      const vm = new Vm({ arena, engine, helpers });
      expect(vm.run(outer)).toBe(true);
      expect(vm.r0).toBe(3012n);
    }
  });

  it('reports a helper error and a requested exit like the interpreter', () => {
    const helpers: HelperSpec[] = [
      {
        id: 1,
        name: 'fails',
        fn: () => {
          throw new Error('no');
        },
      },
      {
        id: 2,
        name: 'exits',
        fn: (ctx) => {
          ctx.requestExit(9);
          return 0;
        },
      },
    ];
    for (const id of [1, 2]) {
      const prog = loadProgram(program(Mov.imm(R6, 5), Call.local('f'), Exit(), label('f'), Mov.imm(R6, 6), Call.helper(id), Exit()));
      const { jit, interp } = both(prog, { helpers });
      expect(jit).toEqual(interp);
    }
  });
});

describe('engines', () => {
  const loop = loadProgram(program(Mov.imm(R0, 0), label('l'), Add.imm(R0, 3), Sub.imm(R1, 1), JNe.imm(R1, 0, 'l'), Exit()));

  it('unchecked mode gives the same results for valid programs, and a fault (not a crash) when leaving the memory', () => {
    const vm = new Vm({ engine: 'jit', memoryChecks: 'unchecked' });
    expect(vm.run(loop, 10)).toBe(true);
    expect(vm.r0).toBe(30n);
    const wild = loadProgram(program(Mov.imm(R1, -16), Ldx.dw(R0, R1, 0), Exit()));
    expect(vm.run(wild)).toBe(false);
    expect(vm.fault?.kind).toBe('memory');
    // Runaway programs still stop: the fuel is tested at loop headers.
    const runaway = loadProgram(program(Mov.imm(R0, 0), label('top'), Add.imm(R0, 1), JEq.imm(R0, 3, 'skip'), Add.imm(R0, 1), label('skip'), Ja('top')));
    const limited = new Vm({ engine: 'jit', memoryChecks: 'unchecked', budget: 10_000 });
    expect(limited.run(runaway)).toBe(false);
    expect(limited.fault?.kind).toBe('budget');
    expect(limited.executed).toBe(10_000);
  });

  it('auto interprets a program until it is hot, then runs it compiled, with the same results', () => {
    const vm = new Vm({ engine: 'auto' });
    expect(vm.isCompiled(loop)).toBe(false);
    let runs = 0;
    while (!vm.isCompiled(loop) && runs < 10_000) {
      expect(vm.run(loop, 100)).toBe(true);
      runs++;
    }
    expect(vm.isCompiled(loop)).toBe(true);
    expect(runs).toBeGreaterThan(1);
    expect(vm.run(loop, 100)).toBe(true);
    expect(vm.r0).toBe(300n);
    expect(vm.executed).toBe(2 + 3 * 100);
  });

  it('compiles a generated 4096-instruction program with branches and calls', () => {
    const body: RawInsn[] = [];
    for (let i = 0; i < 1000; i++) body.push(Add.imm(R0, i), JEq.imm(R1, i, 1), Sub.imm(R0, 1), Mov.reg(R2, R0));
    const prog = loadProgram(program(Mov.imm(R0, 0), Call.local('f'), ...body, Exit(), label('f'), Add.imm(R0, 1), Exit()));
    expect(prog.insns.length).toBeGreaterThanOrEqual(4000);
    const code = compiled(prog, 'checked');
    expect(code.functions).toHaveLength(2);
    const { jit, interp } = both(prog, {}, [500]);
    expect(jit).toEqual(interp);
  });
});

describe('programs too large for a WebAssembly function', () => {
  // A checked load through a register emits a few hundred bytes of WebAssembly (the access test, and the
  // slow path that calls the embedder), so 24 Ki of them make a function over the limit.
  const loads = 24 * 1024;
  const mem = new LinearMemory();
  const arena = new Arena(mem);
  const data = arena.alloc(8, Perm.RW, 'data').start;
  const big = loadProgram(program(...Array.from({ length: loads }, () => Ldx.dw(R0, R1, 0)), Exit()), { name: 'big' });

  it('the JIT refuses them with JitLimitError before compiling; auto runs them on the interpreter', () => {
    expect(() => compiled(big, 'checked')).toThrow(JitLimitError);
    const jit = new Vm({ arena, engine: 'jit' });
    expect(() => jit.run(big, data)).toThrow(/program too large for the JIT: 'big', the function at insn 0, needs more than the 7654321 bytes/);
    expect(MAX_WASM_FUNCTION_BYTES).toBe(7_654_321);
    const auto = new Vm({ arena, engine: 'auto' });
    // One run is past AUTO_HOT_INSNS: the next would run compiled, but the program stays on the interpreter.
    expect(loads).toBeGreaterThan(AUTO_HOT_INSNS);
    for (let run = 0; run < 3; run++) {
      expect(auto.run(big, data)).toBe(true);
      expect(auto.executed).toBe(loads + 1);
    }
    expect(auto.isCompiled(big)).toBe(false);
    // A bench-sized program still compiles in the same process.
    const small = loadProgram(program(Ldx.dw(R0, R1, 0), Exit()));
    expect(jit.run(small, data)).toBe(true);
  });
});

describe('lean runs keep registers in the exchange area until read', () => {
  it('two VMs over one memory: each sees its own last run, whatever ran since', () => {
    const mem = new LinearMemory();
    const arena = new Arena(mem);
    const a = new Vm({ arena, engine: 'jit' });
    const b = new Vm({ arena, engine: 'jit' });
    const interp = new Vm({ arena, engine: 'interp' });
    const progA = loadProgram(program(Mov.imm(R0, 7), Mov.reg(R6, R1), Add.imm(R6, 1), Exit()), { name: 'a' });
    const progB = loadProgram(program(Mov.imm(R0, 9), Mov.imm(R6, 3), Mov.imm(R3, -1), Exit()), { name: 'b' });
    for (let round = 0; round < 3; round++) {
      expect(a.run(progA, 100, 5)).toBe(true);
      expect(b.run(progB, 200, 6)).toBe(true);
      expect(b.run(progB, 201, 6)).toBe(true);
      interp.run(progB, 300, 7);
      expect([...a.regs]).toEqual([...interp.regs].map((_, i) => (i === 0 ? 7 : i === 2 ? 100 : i === 4 ? 5 : i === 12 ? 101 : i === 20 ? a.stackTop : 0)));
      expect([...b.regs]).toEqual([...interp.regs].map((x, i) => (i === 2 ? 201 : i === 4 ? 6 : i === 20 ? b.stackTop : x)));
      expect(a.r0).toBe(7n);
      expect(b.reg(3)).toBe(0xffffffffffffffffn);
    }
  });
});

describe('wasm calls (LoadOptions.wasmCalls)', () => {
  /** `(a, b) => a + *(u32 *)b` over `memory`, as a WebAssembly export (hand-assembled). */
  const addLoaded = (memory: WebAssembly.Memory): ((a: number, b: number) => number) => {
    const name = (text: string): number[] => [text.length, ...Array.from(text, (ch) => ch.charCodeAt(0))];
    const section = (id: number, content: number[]): number[] => [id, content.length, ...content];
    const body = [0, 0x20, 0, 0x20, 1, 0x28, 2, 0, 0x6a, 0x0b];
    const bytes = Uint8Array.from([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]),
      ...section(2, [1, ...name('e'), ...name('mem'), 0x02, 0x00, 0x00]),
      ...section(3, [1, 0]),
      ...section(7, [1, ...name('f'), 0x00, 0]),
      ...section(10, [1, body.length, ...body]),
    ]);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { e: { mem: memory } });
    return instance.exports.f as (a: number, b: number) => number;
  };

  it('calls the WebAssembly function from JIT code and the helper of the same id on the interpreter, with the same result', () => {
    const mem = new LinearMemory({ pages: 2 });
    const arena = new Arena(mem);
    const id = 0x10000;
    const view = new DataView(mem.memory.buffer);
    let helperCalls = 0;
    const helpers: HelperSpec[] = [
      {
        id,
        name: 'add_loaded',
        fn: (ctx) => {
          helperCalls++;
          return (ctx.argU32(1) + view.getUint32(ctx.argU32(2), true)) >>> 0;
        },
      },
    ];
    // r0 = f(r1, r10 - 8) with 0xfffffff0 stored there: the u32 result is zero-extended; r1..r5 keep their values.
    const prog = loadProgram(
      program(Mov.imm(R1, -16), Stx.w(R10, -8, R1), Mov.imm(R1, 5), Mov.reg(R2, R10), Add.imm(R2, -8), Mov.imm(R3, 9), Call.helper(id), Exit()),
      { wasmCalls: new Map([[id, addLoaded(mem.memory)]]) },
    );
    const { jit, interp } = both(prog, { arena, helpers });
    expect(helperCalls).toBe(1);
    // Each VM has its own stack in the shared arena: r2 and r10 differ by that alone.
    const seen = (o: typeof jit) => ({ ok: o.ok, r0: o.r0, r1: o.regs[2], r3: o.regs[6], executed: o.executed, fault: o.fault });
    expect(seen(jit)).toEqual(seen(interp));
    expect(jit.r0).toBe(0xfffffff5n);
    expect(seen(jit)).toMatchObject({ r1: 5, r3: 9 });
  });
});
