/**
 * Re-entering the engine: a helper called from a running program starts another run, on the same VM (a
 * callback, as bpf_loop's will, or another program) or on another VM over the same memory, and the outer run
 * goes on exactly as if the helper had not run anything: its registers, call frames, stack, may_goto counter,
 * executed count and fault are its own (engine-state.ts keeps one state per nesting level).
 */
import { asm } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { MAX_CALL_FRAMES } from './fault.js';
import type { HelperContext, HelperSpec } from './helpers.js';
import type { MemoryChecks } from './jit/compile.js';
import { Arena, LinearMemory } from './memory.js';
import { type Program } from './program.js';
import { loadProgram } from './load.js';
import { Vm, type EngineName } from './vm.js';

const { R0, R1, R2, R3, R6, R7, R8, R9, R10 } = asm;
const { Add, Mov, Exit, Ldx, Stx, St, Call, JEq, Ja, label, program } = asm;

const ENGINES: ReadonlyArray<readonly [EngineName, MemoryChecks]> = [
  ['interp', 'checked'],
  ['jit', 'checked'],
  ['jit', 'unchecked'],
  ['auto', 'checked'],
];

const HELPER_RUN = 1;

/**
 * The outer program: callee-saved registers and a stack slot set, a bpf-to-bpf call (so the helper runs at
 * depth 1), the helper call inside it (r1 = a pointer to the u64 99 at r10 - 8 of frame 1, the callback's
 * context), then everything checked after the helper returns. r0 = 1000 + what the helper returned when all
 * survived, else a small number saying what was clobbered.
 */
const outer = (): Program =>
  loadProgram(
    program(
      Mov.imm(R6, 61),
      Mov.imm(R7, 71),
      St.dw(R10, -8, 88),
      Call.local('f'),
      // Back at depth 0: r6, r7 and the stack slot are the caller's.
      JEq.imm(R6, 61, 'r6ok'),
      Mov.imm(R0, 1),
      Exit(),
      label('r6ok'),
      JEq.imm(R7, 71, 'r7ok'),
      Mov.imm(R0, 2),
      Exit(),
      label('r7ok'),
      Ldx.dw(R1, R10, -8),
      JEq.imm(R1, 88, 'stackok'),
      Mov.imm(R0, 3),
      Exit(),
      label('stackok'),
      Add.imm(R0, 1000),
      Exit(),
      // Depth 1: its own registers and frame; r1 = a pointer to the caller's stack slot (a callback's ctx).
      label('f'),
      Mov.imm(R8, 81),
      Mov.imm(R9, 91),
      St.dw(R10, -8, 99),
      St.dw(R10, -16, 77),
      Mov.reg(R1, R10),
      Add.imm(R1, -8),
      Call.helper(HELPER_RUN),
      Mov.reg(R6, R0),
      JEq.imm(R8, 81, 'r8ok'),
      Mov.imm(R0, 4),
      Exit(),
      label('r8ok'),
      JEq.imm(R9, 91, 'r9ok'),
      Mov.imm(R0, 5),
      Exit(),
      label('r9ok'),
      Ldx.dw(R2, R10, -16),
      JEq.imm(R2, 77, 'frameok'),
      Mov.imm(R0, 6),
      Exit(),
      label('frameok'),
      Mov.reg(R0, R6),
      Mov.imm(R6, 0),
      Exit(),
    ),
    { name: 'outer' },
  );

/**
 * The inner program (a callback): writes every register, uses its own stack frame and a bpf-to-bpf call, adds
 * 1 to the u64 its r1 points to (the outer run's stack slot) and returns that value plus 7.
 */
const inner = (): Program =>
  loadProgram(
    program(
      Mov.reg(R9, R1),
      St.dw(R10, -8, -1),
      St.dw(R10, -16, -1),
      Mov.imm(R6, -6),
      Mov.imm(R7, -7),
      Mov.imm(R8, -8),
      Call.local('g'),
      Ldx.dw(R0, R9, 0),
      Add.imm(R0, 1),
      Stx.dw(R9, 0, R0),
      Add.imm(R0, 7),
      Exit(),
      label('g'),
      Mov.imm(R6, -60),
      St.dw(R10, -8, -2),
      Mov.imm(R0, 0),
      Exit(),
    ),
    { name: 'inner' },
  );

function vmWith(engine: EngineName, checks: MemoryChecks, helpers: HelperSpec[]): Vm {
  const mem = new LinearMemory({ pages: 2 });
  return new Vm({ arena: new Arena(mem), engine, memoryChecks: checks, helpers });
}

describe.each(ENGINES)('re-entering the engine from a helper (%s, %s)', (engine, checks) => {
  it('a nested run on the same VM leaves the outer run as it was; its stack frames follow the live ones', () => {
    const callback = inner();
    const seen: Array<{ ok: boolean; r0: bigint; executed: number; running: string | undefined }> = [];
    const helpers: HelperSpec[] = [
      {
        id: HELPER_RUN,
        name: 'run_callback',
        fn: (ctx: HelperContext) => {
          const ok = vm.run(callback, ctx.arg(1));
          // Until the helper returns, the VM's readers describe the nested run.
          seen.push({ ok, r0: vm.r0, executed: vm.executed, running: vm.running?.name });
          // The helper's context is still the outer run's.
          expect(ctx.argNumber(1)).toBe(vm.stackTop - 512 - 8);
          return vm.r0;
        },
      },
    ];
    const vm = vmWith(engine, checks, helpers);
    const prog = outer();
    for (let round = 0; round < 300; round++) {
      expect(vm.run(prog), `round ${round}: ${vm.fault?.kind ?? ''}`).toBe(true);
      // The callback read 99 through the pointer to the outer frame 1 and stored 100 there: 100 + 7.
      expect(vm.r0, `round ${round}`).toBe(1107n);
      expect(vm.fault).toBeNull();
      expect(vm.running?.name).toBe('outer');
      expect(vm.executed).toBe(25);
    }
    expect(seen.every((s) => s.ok && s.r0 === 107n && s.executed === 16 && s.running === 'inner')).toBe(true);
  });

  it('a nested run that faults or requests an exit ends only itself', () => {
    const faulting = loadProgram(program(Mov.imm(R6, 1), Call.helper(99), Exit()), { name: 'faulting' });
    const exiting = loadProgram(program(Call.helper(3), Mov.imm(R0, 1), Exit()), { name: 'exiting' });
    const helpers: HelperSpec[] = [
      {
        id: HELPER_RUN,
        name: 'run_faulting',
        fn: () => {
          expect(vm.run(faulting)).toBe(false);
          expect(vm.fault?.kind).toBe('unknown-helper');
          expect(vm.run(exiting)).toBe(true);
          return vm.r0;
        },
      },
      {
        id: 3,
        name: 'exit',
        fn: (ctx) => {
          ctx.requestExit(5);
          return 0;
        },
      },
    ];
    const vm = vmWith(engine, checks, helpers);
    const prog = outer();
    for (let round = 0; round < 300; round++) {
      expect(vm.run(prog)).toBe(true);
      expect(vm.r0).toBe(1005n);
      expect(vm.fault).toBeNull();
    }
  });

  it('runRepeat, runArgs and execute nest too; the outer repeat loop counts its own runs', () => {
    const count = loadProgram(program(Ldx.dw(R0, R1, 0), Add.imm(R0, 1), Stx.dw(R1, 0, R0), Exit()), { name: 'count' });
    const helpers: HelperSpec[] = [
      {
        id: HELPER_RUN,
        name: 'run_repeat',
        fn: (ctx) => {
          expect(vm.runRepeat(count, ctx.arg(1), 0, 5)).toBe(true);
          expect(vm.runs).toBe(5);
          expect(vm.execute(count, [ctx.arg(1)]).r0).toBe(105n);
          return vm.r0;
        },
      },
    ];
    const vm = vmWith(engine, checks, helpers);
    expect(vm.runRepeat(outer(), 0, 0, 400)).toBe(true);
    expect(vm.runs).toBe(400);
    expect(vm.r0).toBe(1105n);
  });

  it('nesting takes a frame per level: past MAX_CALL_FRAMES the nested run faults with call-depth', () => {
    // Each level calls the helper from depth 0 of its run, so level k's entry frame is frame k.
    const recurse = loadProgram(program(Call.helper(HELPER_RUN), Add.imm(R0, 1), Exit()), { name: 'recurse' });
    const faults: string[] = [];
    const helpers: HelperSpec[] = [
      {
        id: HELPER_RUN,
        name: 'recurse',
        fn: () => {
          if (vm.run(recurse)) return vm.r0;
          faults.push(`${vm.fault?.kind ?? ''} ${vm.fault?.detail ?? 0}`);
          return 0;
        },
      },
    ];
    const vm = vmWith(engine, checks, helpers);
    for (let round = 0; round < 250; round++) {
      faults.length = 0;
      expect(vm.run(recurse)).toBe(true);
      expect(vm.r0).toBe(BigInt(MAX_CALL_FRAMES));
      expect(faults).toEqual([`call-depth ${MAX_CALL_FRAMES + 1}`]);
    }
  });

  it('a helper can run a program on another VM over the same memory in the middle of a run', () => {
    const mem = new LinearMemory({ pages: 2 });
    const arena = new Arena(mem);
    const other = new Vm({ arena, engine, memoryChecks: checks });
    const callback = loadProgram(program(Mov.imm(R6, 5), Mov.imm(R0, 40), Add.reg(R0, R6), Exit()), { name: 'other' });
    const vm = new Vm({
      arena,
      engine,
      memoryChecks: checks,
      helpers: [{ id: HELPER_RUN, name: 'other_vm', fn: () => (other.run(callback) ? other.r0 : 0n) }],
    });
    const prog = loadProgram(program(Mov.imm(R6, 2), Call.helper(HELPER_RUN), Add.reg(R0, R6), Mov.reg(R3, R0), Ja(0), Exit()), { name: 'caller' });
    for (let round = 0; round < 300; round++) {
      expect(vm.run(prog)).toBe(true);
      expect(vm.r0).toBe(47n);
      expect(vm.reg(6)).toBe(2n);
      expect(other.reg(6)).toBe(5n);
    }
  });
});

describe('re-entry gives every engine the same state', () => {
  it('registers, executed and fault after a nested run and after the outer run agree across engines', () => {
    const results = ENGINES.map(([engine, checks]) => {
      const callback = inner();
      const snapshots: unknown[] = [];
      const vm: Vm = vmWith(engine, checks, [
        {
          id: HELPER_RUN,
          name: 'run_callback',
          fn: (ctx) => {
            vm.run(callback, ctx.arg(1));
            snapshots.push({ regs: [...vm.regs], executed: vm.executed, fault: vm.fault });
            return vm.r0;
          },
        },
      ]);
      const prog = outer();
      for (let round = 0; round < 250; round++) vm.run(prog);
      return { snapshots: snapshots.slice(-1), regs: [...vm.regs], executed: vm.executed, fault: vm.fault };
    });
    for (const result of results.slice(1)) expect(result).toEqual(results[0]);
  });
});
