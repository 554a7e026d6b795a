import { createKernel } from '@ebpf-sim/kernel';
import { BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/bpf-syscall.js';
import { runUserProgram } from '../testing/user-program.js';
import { BpfAttachment, hookRecursionGuard, progActive } from './hook-program.js';

/** r0 = 0; exit. */
const RETURN_0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

describe('BpfAttachment: a loaded program on a kernel hook point', () => {
  it('runs once per firing while attached, with the guard of its type, and stops when detached', () => {
    const kernel = createKernel({ cpus: 1 });
    const bpf = registerBpf(kernel);
    runUserProgram(kernel, function* (libc) {
      const loaded = yield* libc.bpfProgLoad({ progType: BPF_PROG_TYPE.RAW_TRACEPOINT, insns: RETURN_0, license: 'GPL' });
      expect(loaded.ret).toBeGreaterThan(0);
      // Pin it so the program outlives the process.
      expect(yield* libc.bpfObjPin(loaded.ret, '/sys/fs/bpf/hook_program_test')).toBe(0);
    });
    const prog = bpf.progs.progs.find(1);
    expect(prog).toBeDefined();
    if (prog === undefined) return;
    const hook = kernel.hooks.require('raw_syscalls:sys_enter');
    const first = new BpfAttachment(bpf.runtime, prog, 7n);
    const second = new BpfAttachment(bpf.runtime, prog, 8n);
    expect(first.guard).toBe('program');
    expect(first.active).toBe(second.active);
    expect(first.active).toBe(progActive(prog));
    const detach = hook.attach(first);
    runUserProgram(kernel, function* (libc) {
      yield* libc.getpid();
      yield* libc.getpid();
    });
    const fired = hook.fired;
    expect(fired).toBeGreaterThanOrEqual(2);
    expect(first.runs).toBe(fired);
    expect(first.faults).toBe(0);
    detach();
    runUserProgram(kernel, function* (libc) {
      yield* libc.getpid();
    });
    expect(first.runs).toBe(fired);
  });

  it('takes the recursion guard Linux checks on each run path', () => {
    expect(hookRecursionGuard(BPF_PROG_TYPE.KPROBE)).toBe('cpu');
    expect(hookRecursionGuard(BPF_PROG_TYPE.TRACEPOINT)).toBe('cpu');
    expect(hookRecursionGuard(BPF_PROG_TYPE.PERF_EVENT)).toBe('cpu');
    expect(hookRecursionGuard(BPF_PROG_TYPE.TRACING)).toBe('program');
    expect(hookRecursionGuard(BPF_PROG_TYPE.LSM)).toBe('none');
    expect(hookRecursionGuard(BPF_PROG_TYPE.XDP)).toBe('none');
  });
});
