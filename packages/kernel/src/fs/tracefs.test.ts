import { existsSync, readFileSync } from 'node:fs';
import { Errno, Libc, O, SyscallNr, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { HookPoint } from '../hooks/hook.js';
import { createKernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import { PRINTK_FLAGS, printkLine, traceHeader, Tracefs } from './tracefs.js';

/** What this machine's Linux wrote (fixtures/tracefs/record.sh): the whole `trace` file. */
const FIXTURE = new URL('../../fixtures/tracefs/lines.txt', import.meta.url);

describe('the bpf_trace_printk line and the trace header, against Linux', () => {
  it('has the fixture to compare with', () => {
    expect(existsSync(FIXTURE)).toBe(true);
  });

  const recorded = readFileSync(FIXTURE, 'utf8').split(/(?<=\n)/);
  const header = recorded.filter((line) => line.startsWith('#')).join('');
  const events = recorded.filter((line) => !line.startsWith('#'));
  // Varying parts (pid, cpu, timestamp) are read from the recording and fed to our formatter; the rest must match byte for byte.
  const pattern = /^ *(\S+)-(\d+) +\[(\d{3})\] (\S{5}) +(\d+)\.(\d{6}): bpf_trace_printk: (.*)\n$/;

  it.each([
    ['an XDP test run', 'xdp test run 42', PRINTK_FLAGS.xdpTestRun],
    ['a syscall program run from bpf()', 'syscall program 7', PRINTK_FLAGS.syscall],
    ['a tracepoint program', 'tracepoint getppid\n', PRINTK_FLAGS.tracepoint],
  ])('formats the line of %s as Linux does', (_what, message, flags) => {
    const index = events.findIndex((line) => line.includes(message.trimEnd()));
    expect(index).toBeGreaterThanOrEqual(0);
    // A message ending in '\n' gives an empty line after it, as in the recording.
    const linux = events.slice(index, index + (message.endsWith('\n') ? 2 : 1)).join('');
    const match = pattern.exec(events[index] as string);
    expect(match).not.toBeNull();
    const [, comm, pid, cpu, , secs, usecs] = match as unknown as string[];
    const nowNs = Number(secs) * 1e9 + Number(usecs) * 1e3 + 999;
    expect(printkLine(comm as string, Number(pid), Number(cpu), flags, nowNs, message)).toBe(linux);
  });

  it("prints Linux's header for the nop tracer", () => {
    const counts = /entries-in-buffer\/entries-written: (\d+)\/(\d+) +#P:(\d+)/.exec(header);
    expect(counts).not.toBeNull();
    const [, entries, written, cpus] = counts as unknown as string[];
    expect(traceHeader(Number(entries), Number(written), Number(cpus))).toBe(header);
  });

  it('pads short and long comms and pids as %16s-%-7d, the cpu as %03d and the seconds as %5lu', () => {
    expect(printkLine('<idle>', 0, 1, '..s1.', 5_000_123_456, 'x')).toBe('          <idle>-0       [001] ..s1.     5.000123: bpf_trace_printk: x\n');
    expect(printkLine('a-very-long-comm', 1234567, 12, '...11', 123456_000_000_000, 'y')).toBe(
      'a-very-long-comm-1234567 [012] ...11 123456.000000: bpf_trace_printk: y\n',
    );
  });
});

describe('the trace buffer', () => {
  const hook = new HookPoint('sched:sched_switch', 'tracepoint', 0, 0, [], () => undefined);
  const sources = (task: Task | undefined, running: HookPoint | undefined = undefined) => ({
    current: { currentCpu: 1, currentTask: () => task, currentTaskStruct: () => task?.kernelAddress ?? 0 },
    clock: { now: 2_500_000_000 },
    running: () => running,
    nrCpus: 2,
  });

  it('writes <idle>-0 with no current task, the hook kind picks the flags, and a full buffer overwrites the oldest with a count', () => {
    const trace = new Tracefs(9, sources(undefined, hook), 3);
    for (const n of [1, 2, 3, 4, 5]) trace.printk(`m${n}`);
    expect(trace.snapshot()).toEqual(['m3', 'm4', 'm5'].map((m) => printkLine('<idle>', 0, 1, PRINTK_FLAGS.tracepoint, 2_500_000_000, m)));
    expect([trace.entries, trace.written, trace.overwritten]).toEqual([3, 5, 2]);
    expect(trace.render().split('\n')[2]).toBe('# entries-in-buffer/entries-written: 3/5   #P:2');
    expect(trace.take()).toContain('m3');
    expect([trace.entries, trace.written, trace.overwritten]).toEqual([2, 5, 2]);
  });

  it("raises the 'b' flag while bottom halves are disabled (an XDP test run) and uses the task's comm and pid", () => {
    const trace = new Tracefs(9, sources({ comm: 'loader', pid: 77 } as Task));
    trace.printk('plain');
    trace.bhDisabled[1] = 1;
    trace.printk('xdp');
    expect(trace.snapshot()).toEqual([
      printkLine('loader', 77, 1, PRINTK_FLAGS.syscall, 2_500_000_000, 'plain'),
      printkLine('loader', 77, 1, PRINTK_FLAGS.xdpTestRun, 2_500_000_000, 'xdp'),
    ]);
  });
});

describe('tracefs through syscalls', () => {
  it('trace_pipe blocks until a line arrives and consumes it; trace shows the buffer with its header; O_TRUNC empties it', () => {
    const kernel = createKernel({ cpus: 1 });
    const r: Record<string, unknown> = {};
    // A syscall whose handler writes a line, as bpf(BPF_PROG_TEST_RUN) running a program that calls bpf_trace_printk does.
    kernel.syscalls.register('sched_yield', () => {
      kernel.tracing.printk('from a syscall');
      return 0;
    });
    kernel.hooks.require('syscalls:sys_enter_getpid').attach(() => {
      kernel.tracing.printk('from a tracepoint');
      return 0;
    });
    const reader: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      const pipe = yield* libc.open('/sys/kernel/tracing/trace_pipe');
      r.first = libc.decode((yield* libc.read(pipe, 4096)).data);
      // A read shorter than a line gets the start of it, and the rest on the next read.
      r.partial = libc.decode((yield* libc.read(pipe, 10)).data);
      r.rest = libc.decode((yield* libc.read(pipe, 4096)).data);
      yield* libc.close(pipe);
      const nonblocking = yield* libc.open('/sys/kernel/tracing/trace_pipe', O.RDONLY | O.NONBLOCK);
      r.empty = (yield* libc.read(nonblocking, 100)).ret;
      return 0;
    };
    const writer: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      yield* libc.syscall(SyscallNr.sched_yield);
      yield* libc.getpid();
      yield* libc.getpid();
      const trace = yield* libc.open('/sys/kernel/tracing/trace');
      r.trace = libc.decode((yield* libc.read(trace, 8192)).data);
      const truncate = yield* libc.open('/sys/kernel/tracing/trace', O.WRONLY | O.TRUNC);
      r.truncate = truncate >= 0;
      r.afterTruncate = libc.decode((yield* libc.read(yield* libc.open('/sys/kernel/tracing/trace'), 8192)).data);
      return 0;
    };
    kernel.vfs.registerProgram('/bin/reader', reader);
    kernel.vfs.registerProgram('/bin/writer', writer);
    const readerPid = kernel.spawn('/bin/reader');
    // The reader runs first and sleeps on trace_pipe; the writer starts 1 ms later.
    kernel.clock.after(1e6, () => kernel.spawn('/bin/writer'));
    kernel.run({ untilNs: 10e9 });
    expect(kernel.exited.get(readerPid)?.status).toBe(0);
    const first = r.first as string;
    expect(first).toMatch(/^ +writer-\d+ +\[000\] \.\.\.11 +0\.\d{6}: bpf_trace_printk: from a syscall\n$/);
    expect(`${r.partial as string}${r.rest as string}`).toMatch(/^ +writer-\d+ +\[000\] \.\.\.21 +0\.\d{6}: bpf_trace_printk: from a tracepoint\n/);
    expect(r.partial).toHaveLength(10);
    expect(r.empty).toBe(-Errno.EAGAIN);
    const trace = r.trace as string;
    expect(trace.startsWith('# tracer: nop\n')).toBe(true);
    expect(trace).toContain('# entries-in-buffer/entries-written: ');
    expect(trace).toContain('bpf_trace_printk: from a tracepoint\n');
    expect(r.truncate).toBe(true);
    expect(r.afterTruncate).toBe(traceHeader(0, 0, 1));
  });

  it('trace_pipe is root-only (0440)', () => {
    const kernel = createKernel();
    const r: Record<string, unknown> = {};
    kernel.vfs.registerProgram('/bin/user', function* (ctx) {
      r.open = yield* new Libc(ctx).open('/sys/kernel/tracing/trace_pipe');
      return 0;
    });
    kernel.spawn('/bin/user', { uid: 1000 });
    kernel.run({ untilNs: 1e9 });
    expect(r.open).toBe(-Errno.EACCES);
  });
});
