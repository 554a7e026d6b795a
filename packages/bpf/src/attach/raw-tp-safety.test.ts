import { createKernel, fireRawTracepoint, rawTracepointHookName } from '@ebpf-sim/kernel';
import { BPF_FUNC, BPF_PROG_TYPE, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { HELPERS } from '../helpers/index.js';
import { registerBpf } from '../syscall/bpf-syscall.js';
import { runUserProgram } from '../testing/user-program.js';

/** r0 = bpf_get_prandom_u32(); exit. */
const CALL_PRANDOM = new Uint8Array([0x85, 0, 0, 0, BPF_FUNC.get_prandom_u32, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
/** r0 = 0 four times over, then exit: five instructions. */
const FIVE_INSNS = new Uint8Array([...Array.from({ length: 4 }, () => [0xb7, 0, 0, 0, 0, 0, 0, 0]).flat(), 0x95, 0, 0, 0, 0, 0, 0, 0]);

function* rawTpOpen(libc: Libc, name: string, prog: number): Generator<number, number, number> {
  const mark = libc.stack.mark();
  try {
    return (yield* libc.bpfAttr('RAW_TRACEPOINT_OPEN', { name: libc.stack.pushString(name), prog_fd: prog })).ret;
  } finally {
    libc.stack.release(mark);
  }
}

describe('run-time safety at hooks', () => {
  it('a helper that throws stops the program, not the kernel: the syscalls go on and the fault is counted', () => {
    const kernel = createKernel({ cpus: 1 });
    // get_prandom_u32 whose implementation throws, as a buggy helper would.
    const helpers = new Map(HELPERS);
    const prandom = HELPERS.get(BPF_FUNC.get_prandom_u32);
    if (prandom === undefined) throw new Error('no get_prandom_u32');
    helpers.set(BPF_FUNC.get_prandom_u32, {
      ...prandom,
      impl: () => () => {
        throw new Error('helper bug');
      },
    });
    const bpf = registerBpf(kernel, { helpers });
    let pids: number[] = [];
    runUserProgram(kernel, function* (libc) {
      const prog = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.RAW_TRACEPOINT, insns: CALL_PRANDOM, license: 'GPL' });
      expect(prog.ret).toBeGreaterThan(0);
      const link = yield* rawTpOpen(libc, 'sys_enter', prog.ret);
      expect(link).toBeGreaterThan(0);
      pids = [yield* libc.getpid(), yield* libc.getpid()];
      yield* libc.close(link);
    });
    expect(pids[0]).toBeGreaterThan(0);
    expect(pids[1]).toBe(pids[0]);
    // getpid, getpid, close: three runs, each stopped in the helper.
    expect(bpf.runtime.hookFaults).toBe(3);
    expect(bpf.runtime.hookFaultLog.at(-1)).toMatch(/^bpf: program bpf_prog stopped at a hook: .*helper bug/);
    expect(kernel.crashes).toEqual([]);
  });

  it('a run that exhausts its instruction budget is stopped with r0 = 0 and counted', () => {
    const kernel = createKernel({ cpus: 1 });
    const bpf = registerBpf(kernel);
    runUserProgram(kernel, function* (libc) {
      const prog = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.RAW_TRACEPOINT, insns: FIVE_INSNS, license: 'GPL' });
      expect(prog.ret).toBeGreaterThan(0);
      const link = yield* rawTpOpen(libc, 'sys_enter', prog.ret);
      expect(link).toBeGreaterThan(0);
      // A budget smaller than the program: every run is a runaway.
      const engine = bpf.runtime.vmOf({ jited: false } as Parameters<typeof bpf.runtime.vmOf>[0]);
      const jit = bpf.runtime.vmOf({ jited: true } as Parameters<typeof bpf.runtime.vmOf>[0]);
      const budgets = [engine.budget, jit.budget];
      engine.budget = 2;
      jit.budget = 2;
      expect(yield* libc.getpid()).toBeGreaterThan(0);
      engine.budget = budgets[0] ?? 0;
      jit.budget = budgets[1] ?? 0;
      yield* libc.close(link);
    });
    expect(bpf.runtime.hookFaults).toBe(1);
    expect(bpf.runtime.hookFaultLog[0]).toMatch(/budget/);
  });

  it('run_cnt and run_time_ns count the runs at hooks while stats are on (BPF_ENABLE_STATS)', () => {
    const kernel = createKernel({ cpus: 1 });
    registerBpf(kernel);
    runUserProgram(kernel, function* (libc) {
      const prog = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.RAW_TRACEPOINT, insns: FIVE_INSNS, license: 'GPL' });
      const link = yield* rawTpOpen(libc, 'sys_enter', prog.ret);
      // Stats off: not counted.
      yield* libc.getpid();
      const stats = yield* libc.bpfEnableStats();
      expect(stats).toBeGreaterThan(0);
      for (let i = 0; i < 4; i++) yield* libc.getpid();
      // The info syscall's own sys_enter is the fifth run counted.
      const info = yield* libc.bpfProgGetInfo(prog.ret);
      if (!info.ok) throw new Error(`info: ${info.errno}`);
      expect(info.value.runCnt).toBe(5);
      expect(info.value.runTimeNs).toBeGreaterThan(0);
      yield* libc.close(stats);
      yield* libc.getpid();
      const after = yield* libc.bpfProgGetInfo(prog.ret);
      expect(after.ok && after.value.runCnt).toBe(6);
      yield* libc.close(link);
    });
  });

  it('a program that fires its own raw tracepoint from a helper is not entered again there: the miss is counted', () => {
    const kernel = createKernel({ cpus: 1 });
    const hook = kernel.hooks.require(rawTracepointHookName('sched_wakeup'));
    let nested = 0;
    let misses: number[] = [];
    // get_prandom_u32 that fires sched_wakeup, as a helper waking a task would.
    const helpers = new Map(HELPERS);
    const prandom = HELPERS.get(BPF_FUNC.get_prandom_u32);
    if (prandom === undefined) throw new Error('no get_prandom_u32');
    helpers.set(BPF_FUNC.get_prandom_u32, {
      ...prandom,
      impl: () => () => {
        nested++;
        fireRawTracepoint(kernel.hookArena, hook, kernel.current.currentCpu, kernel.current.currentTask(), 0);
        return 0;
      },
    });
    const bpf = registerBpf(kernel, { helpers });
    runUserProgram(kernel, function* (libc) {
      const prog = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.RAW_TRACEPOINT, insns: CALL_PRANDOM, license: 'GPL' });
      const link = yield* rawTpOpen(libc, 'sched_wakeup', prog.ret);
      expect(link).toBeGreaterThan(0);
      // The program runs at the kernel's own firing; its helper's firing finds prog->active up.
      fireRawTracepoint(kernel.hookArena, hook, kernel.current.currentCpu, kernel.current.currentTask(), 0);
      misses = hook.programs.map((program) => program.recursionMisses);
      yield* libc.close(link);
    });
    expect(nested).toBe(1);
    expect(hook.fired).toBe(2);
    expect(misses).toEqual([1]);
    expect(bpf.runtime.hookFaults).toBe(0);
  });
});
