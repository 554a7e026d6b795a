/**
 * Vm.runRepeat (BPF_PROG_TEST_RUN's `repeat`): on every engine, `runRepeat(n)` must leave exactly what n
 * single runs leave (r0, registers, executed, fault, memory), stop at the first faulting run and say which,
 * treat a requested exit as a normal end, and give each run its own tail-call count.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { asm } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { loadBenchSuite } from './node/bench-suite.js';
import { loadConformanceTests } from './node/conformance-files.js';
import type { HelperContext } from './helpers.js';
import { nextRepeatChunk, REPEAT_CHUNK_INSNS } from './interp.js';
import type { MemoryChecks } from './jit/compile.js';
import { Arena, LinearMemory, Perm } from './memory.js';
import { type Program } from './program.js';
import { loadProgram } from './load.js';
import { bytesFromHex, RawRunner } from './raw.js';
import { Vm, type EngineName, type VmOptions } from './vm.js';

const { R0, R1, R3, R6, Add, Mov, JEq, JNe, Call, Exit, Ldx, Stx, label, program } = asm;

const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared');
const haveShared = existsSync(join(SHARED, 'conformance', 'tests.json')) && existsSync(join(SHARED, 'bench', 'manifest.json'));
if (!haveShared) console.warn(`runRepeat on the shared bench and conformance programs skipped: ${SHARED} is absent`);

const ENGINES: ReadonlyArray<readonly [string, EngineName, MemoryChecks]> = [
  ['interp', 'interp', 'checked'],
  ['jit checked', 'jit', 'checked'],
  ['jit unchecked', 'jit', 'unchecked'],
  ['auto', 'auto', 'checked'],
];

/** Everything a run leaves that a caller can observe, with the input region's bytes. */
function state(runner: RawRunner, ok: boolean, addr: number, length: number) {
  const vm = runner.vm;
  return { ok, regs: [...vm.regs], executed: vm.executed, fault: vm.fault, mem: length === 0 ? [] : [...vm.mem.read(addr, length)] };
}

/** `runRepeat(n)` on one runner against n single runs on another, both from a fresh copy of `input`. */
function compare(engine: EngineName, checks: MemoryChecks, prog: Program, input: Uint8Array, n: number) {
  const repeated = new RawRunner({ engine, memoryChecks: checks, prime: false });
  const single = new RawRunner({ engine, memoryChecks: checks, prime: false });
  const a = repeated.placeInput(input);
  const okRepeat = repeated.vm.runRepeat(prog, a, input.length, n);
  const b = single.placeInput(input);
  let okSingle = true;
  let runs = 0;
  for (let i = 0; i < n && okSingle; i++, runs++) okSingle = single.vm.run(prog, b, input.length);
  expect(b).toBe(a);
  expect({ ...state(repeated, okRepeat, a, input.length), runs: repeated.vm.runs }).toEqual({ ...state(single, okSingle, b, input.length), runs });
}

describe.skipIf(!haveShared)('runRepeat equals n single runs (../shared programs)', () => {
  const tests = haveShared ? loadConformanceTests(join(SHARED, 'conformance', 'tests.json')) : [];
  const suite = haveShared ? loadBenchSuite(join(SHARED, 'bench')) : null;

  it.each(ENGINES)('bench programs, %s', (_label, engine, checks) => {
    for (const bench of suite?.programs ?? []) compare(engine, checks, bench.program, suite?.input ?? new Uint8Array(0), 3);
    // `auto` turns the program hot inside the loop and continues in the module's loop.
    if (engine === 'auto') for (const bench of suite?.programs ?? []) compare(engine, checks, bench.program, suite?.input ?? new Uint8Array(0), 260);
  });

  it.each(ENGINES.slice(0, 3))('conformance programs, %s', (_label, engine, checks) => {
    expect(tests).toHaveLength(313);
    for (const test of tests) compare(engine, checks, loadProgram(bytesFromHex(test.program_hex), { name: test.name }), bytesFromHex(test.mem_hex), 3);
  });
});

/** r1 points at a u32 counter: count this run, then stop with `stopper` once the count reaches `k`. */
function countingProgram(k: number, stopper: ReturnType<typeof Call.helper>): Program {
  return loadProgram(program(Ldx.w(R0, R1, 0), Add.imm(R0, 1), Stx.w(R1, 0, R0), JEq.imm(R0, k, 'stop'), Exit(), label('stop'), stopper, Exit()), {
    name: 'counting',
  });
}

function vmWithCounter(engine: EngineName, checks: MemoryChecks, options: Omit<VmOptions, 'arena' | 'engine' | 'memoryChecks'> = {}) {
  const mem = new LinearMemory();
  const arena = new Arena(mem);
  const vm = new Vm({ ...options, arena, engine, memoryChecks: checks });
  const counter = arena.alloc(8, Perm.RW, 'counter').start;
  const count = () => new DataView(mem.memory.buffer).getUint32(counter, true);
  return { vm, counter, count };
}

describe.each(ENGINES)('runRepeat on %s', (_label, engine, checks) => {
  it('stops at the run that faults, reports it like a single run and says which run it was', () => {
    const prog = countingProgram(5, Call.helper(99));
    const { vm, counter, count } = vmWithCounter(engine, checks);
    expect(vm.runRepeat(prog, counter, 0, 10)).toBe(false);
    expect(vm.runs).toBe(5);
    expect(count()).toBe(5);
    const fault = vm.fault;
    expect(fault?.kind).toBe('unknown-helper');
    const executed = vm.executed;
    // The same run alone: counter at 4, so this run is the 5th.
    const single = vmWithCounter(engine, checks);
    new DataView(single.vm.mem.memory.buffer).setUint32(single.counter, 4, true);
    expect(single.vm.run(prog, single.counter, 0)).toBe(false);
    expect({ fault: single.vm.fault, executed: single.vm.executed, r0: single.vm.regs[0] }).toEqual({ fault, executed, r0: vm.regs[0] });
  });

  it('runs every iteration when none faults, leaving the last run', () => {
    const prog = countingProgram(1000, Call.helper(99));
    const { vm, counter, count } = vmWithCounter(engine, checks);
    expect(vm.runRepeat(prog, counter, 0, 7)).toBe(true);
    expect({ runs: vm.runs, count: count(), r0: vm.r0, executed: vm.executed, fault: vm.fault }).toEqual({
      runs: 7,
      count: 7,
      r0: 7n,
      executed: 5,
      fault: null,
    });
  });

  it('gives each run fresh registers: what a run wrote is gone at the next (r0, r1, r6)', () => {
    // Returns r6 + r1 as the run found them, then overwrites r0, r1 and r6; with r2 counting runs through memory
    // that is the only thing allowed to carry over.
    const prog = loadProgram(program(Mov.reg(R0, R6), Add.reg(R0, R1), Mov.imm(R6, 5), Mov.imm(R1, 9), Exit()), { name: 'fresh' });
    const vm = new Vm({ engine, memoryChecks: checks });
    expect(vm.runRepeat(prog, 40, 0, 5)).toBe(true);
    expect({ runs: vm.runs, r0: vm.r0, r1: vm.reg(1), r6: vm.reg(6) }).toEqual({ runs: 5, r0: 40n, r1: 9n, r6: 5n });
  });

  it('a requested exit ends that run normally and the loop goes on', () => {
    // Helper 5 requests exit with r0 = 77 when its r1 (the count) is odd, else returns 5.
    const helpers = [
      {
        id: 5,
        name: 'exit_if_odd',
        fn: (ctx: HelperContext) => {
          if (ctx.argU32(1) % 2 === 1) ctx.requestExit(77);
          return 5;
        },
      },
    ];
    const prog = loadProgram(
      program(Mov.reg(R6, R1), Ldx.w(R0, R6, 0), Add.imm(R0, 1), Stx.w(R6, 0, R0), Mov.reg(R1, R0), Call.helper(5), Add.imm(R0, 1000), Exit()),
      { name: 'exits' },
    );
    const { vm, counter, count } = vmWithCounter(engine, checks, { helpers });
    expect(vm.runRepeat(prog, counter, 0, 3)).toBe(true);
    expect({ runs: vm.runs, count: count(), r0: vm.r0, fault: vm.fault }).toEqual({ runs: 3, count: 3, r0: 77n, fault: null });
    expect(vm.runRepeat(prog, counter, 0, 5)).toBe(true);
    expect({ runs: vm.runs, count: count(), r0: vm.r0, executed: vm.executed, fault: vm.fault }).toEqual({
      runs: 5,
      count: 8,
      r0: 1005n,
      executed: 8,
      fault: null,
    });
  });

  it('counts tail calls per run, as fresh runs do', () => {
    // Tail-calls itself: each run enters it 1 + MAX_TAIL_CALL_CNT (33) times, then the call falls through.
    const self: { prog: Program | null } = { prog: null };
    const prog = loadProgram(
      program(
        Mov.reg(R6, R1),
        Ldx.w(R0, R6, 0),
        Add.imm(R0, 1),
        Stx.w(R6, 0, R0),
        Mov.imm(R3, 0),
        Call.helper(12),
        Ldx.w(R0, R6, 0),
        JNe.imm(R0, 0, 'out'),
        Mov.imm(R0, 1),
        label('out'),
        Exit(),
      ),
      { name: 'self' },
    );
    self.prog = prog;
    const { vm, counter, count } = vmWithCounter(engine, checks, { tailCall: () => self.prog });
    expect(vm.runRepeat(prog, counter, 0, 3)).toBe(true);
    expect({ runs: vm.runs, count: count(), r0: vm.r0, running: vm.running?.name }).toEqual({ runs: 3, count: 3 * 34, r0: 102n, running: 'self' });
  });

  it('gives each run the whole budget and reports a budget fault like a single run', () => {
    // Loops r1 times: 3 + 2 * r1 instructions.
    const prog = loadProgram(program(Mov.imm(R0, 0), label('loop'), Add.imm(R0, 1), JNe.reg(R0, R1, 'loop'), Exit()), { name: 'loop' });
    const { vm } = vmWithCounter(engine, checks, { budget: 100 });
    expect(vm.runRepeat(prog, 40, 0, 50)).toBe(true);
    expect({ runs: vm.runs, executed: vm.executed, r0: vm.r0 }).toEqual({ runs: 50, executed: 82, r0: 40n });
    expect(vm.runRepeat(prog, 60, 0, 50)).toBe(false);
    const single = vmWithCounter(engine, checks, { budget: 100 }).vm;
    expect(single.run(prog, 60, 0)).toBe(false);
    expect({ runs: vm.runs, executed: vm.executed, fault: vm.fault }).toEqual({ runs: 1, executed: single.executed, fault: single.fault });
    expect(vm.fault?.kind).toBe('budget');
  });

  it.skipIf(checks === 'unchecked')('reports a memory fault of a later run exactly as a single run does', () => {
    // Reads through a NULL pointer on the 3rd run.
    const prog = countingProgram(3, Ldx.dw(R0, R6, 0));
    const { vm, counter } = vmWithCounter(engine, checks);
    expect(vm.runRepeat(prog, counter, 0, 9)).toBe(false);
    expect(vm.runs).toBe(3);
    expect(vm.fault).toMatchObject({ kind: 'memory', pc: 5, address: 0n, size: 8, access: 'read' });
  });

  it('counts runs right for a repeat above 2^31 - 1 (BPF_PROG_TEST_RUN takes a u32)', () => {
    const prog = countingProgram(3, Call.helper(99));
    const { vm, counter, count } = vmWithCounter(engine, checks);
    expect(vm.runRepeat(prog, counter, 0, 0xffff_ffff)).toBe(false);
    expect({ runs: vm.runs, count: count(), fault: vm.fault?.kind }).toEqual({ runs: 3, count: 3, fault: 'unknown-helper' });
  });

  it('rejects a repeat count that is not a positive integer', () => {
    const { vm } = vmWithCounter(engine, checks);
    const prog = loadProgram(program(Mov.imm(R0, 1), Exit()));
    expect(() => vm.runRepeat(prog, 0, 0, 0)).toThrow(RangeError);
    expect(() => vm.runRepeat(prog, 0, 0, 1.5)).toThrow(/positive integer/);
  });
});

describe('repeat counts past the int32 range (BPF_PROG_TEST_RUN allows any u32)', () => {
  const U32_MAX = 2 ** 32 - 1;

  it('the interpreter counts in chunks that each fit its int32 pool word and add up to the repeat exactly', () => {
    for (const repeat of [2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, U32_MAX]) {
      for (const executed of [1, 16, 82]) {
        // As runRepeat does: a first chunk of one run, then chunks sized by the run's instruction count.
        let done = 1;
        let smallest = Infinity;
        let largest = 0;
        while (done < repeat) {
          const chunk = nextRepeatChunk(done, repeat, executed);
          smallest = Math.min(smallest, chunk);
          largest = Math.max(largest, chunk);
          done += chunk;
        }
        expect({ done, smallest: smallest >= 1, largest: largest <= REPEAT_CHUNK_INSNS / executed }, `repeat ${repeat}, ${executed} insns`).toEqual({
          done: repeat,
          smallest: true,
          largest: true,
        });
      }
    }
    // Long runs: one run per chunk; the last chunk is what is left.
    expect(nextRepeatChunk(7, U32_MAX, 2 ** 30)).toBe(1);
    expect(nextRepeatChunk(U32_MAX - 3, U32_MAX, 1)).toBe(3);
  });

  it.each(ENGINES)('%s: a run count over many chunks is exact (each run counts itself in memory)', (_label, engine, checks) => {
    const mem = new LinearMemory();
    const arena = new Arena(mem);
    const counter = arena.alloc(8, Perm.RW, 'counter').start;
    const vm = new Vm({ arena, engine, memoryChecks: checks });
    const count = loadProgram(program(Ldx.dw(R0, R1, 0), Add.imm(R0, 1), Stx.dw(R1, 0, R0), Exit()), { name: 'count' });
    const repeat = 5 * (REPEAT_CHUNK_INSNS / 4) + 3;
    expect(vm.runRepeat(count, counter, 0, repeat)).toBe(true);
    expect(vm.runs).toBe(repeat);
    expect(mem.dataView.getUint32(counter, true)).toBe(repeat);
    expect(vm.r0).toBe(BigInt(repeat));
  });
});
