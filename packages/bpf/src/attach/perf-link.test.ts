/**
 * perf_event_set_bpf_prog's limits, on hand-assembled programs: BPF_TRACE_MAX_PROGS programs per tracepoint
 * (E2BIG past it), EACCES for a tracepoint program that reads past the tracepoint's record, and a PERF_EVENT
 * program on a BPF output event (accepted; such an event never overflows into it). The attach paths end to end,
 * with clang objects, are in apps/cli/src/e2e/{tracepoint,kprobe,perf-event}.test.ts.
 */
import { createKernel } from '@ebpf-sim/kernel';
import { BPF_PROG_TYPE, Errno, Libc, PERF_COUNT_SW, PERF_EVENT_IOC, PERF_SAMPLE, PERF_TYPE } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { registerBpf } from '../syscall/bpf-syscall.js';
import { BPF_TRACE_MAX_PROGS } from './perf-link.js';

/** r0 = 0; exit. */
const RETURN_0 = Uint8Array.from([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
/** r0 = *(u64 *)(r1 + 64); exit: reads the record up to byte 72. */
const READ_AT_64 = Uint8Array.from([0x79, 0x10, 64, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

describe('perf_event_set_bpf_prog', () => {
  it('takes BPF_TRACE_MAX_PROGS programs per tracepoint, refuses reads past the record, and takes PERF_EVENT programs on output events', () => {
    const kernel = createKernel({ cpus: 2 });
    registerBpf(kernel);
    const hook = kernel.hooks.require('syscalls:sys_enter_getpid');
    const r: Record<string, number> = {};
    kernel.vfs.registerProgram('/bin/test', function* (ctx) {
      const libc = new Libc(ctx);
      const load = function* (progType: number, insns: Uint8Array) {
        const { ret } = yield* libc.bpfProgLoad({ progType, insns, license: 'GPL' });
        if (ret < 0) throw new Error(`PROG_LOAD: ${ret}`);
        return ret;
      };
      const prog = yield* load(BPF_PROG_TYPE.TRACEPOINT, RETURN_0);
      let last = 0;
      for (let index = 0; index <= BPF_TRACE_MAX_PROGS && last === 0; index++) {
        const pfd = yield* libc.perfEventOpen({ type: PERF_TYPE.TRACEPOINT, config: hook.id }, -1, 0);
        last = yield* libc.ioctl(pfd, PERF_EVENT_IOC.SET_BPF, prog);
        if (last === 0) r.attached = (r.attached ?? 0) + 1;
      }
      r.past = last;
      r.onHook = hook.programs.length;
      const wide = yield* load(BPF_PROG_TYPE.TRACEPOINT, READ_AT_64);
      const other = yield* libc.perfEventOpen({ type: PERF_TYPE.TRACEPOINT, config: kernel.hooks.require('syscalls:sys_enter_openat').id }, -1, 0);
      r.readPastRecord = yield* libc.ioctl(other, PERF_EVENT_IOC.SET_BPF, wide);
      const output = yield* libc.perfEventOpen({ type: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.BPF_OUTPUT, sampleType: PERF_SAMPLE.RAW }, -1, 0);
      const perfProg = yield* load(BPF_PROG_TYPE.PERF_EVENT, RETURN_0);
      r.onOutput = yield* libc.ioctl(output, PERF_EVENT_IOC.SET_BPF, perfProg);
      return 0;
    });
    kernel.spawn('/bin/test');
    kernel.run({ untilNs: 1e9 });
    // The process exited: its perf fds went, and every program with them.
    expect(r).toEqual({ attached: BPF_TRACE_MAX_PROGS, past: -Errno.E2BIG, onHook: BPF_TRACE_MAX_PROGS, readPastRecord: -Errno.EACCES, onOutput: 0 });
    expect(hook.programs.length).toBe(0);
  });
});
