/**
 * perf events as attach targets, on the kernel side alone (no bpf subsystem): the PMUs' sysfs files, tracefs's
 * event directories, tracing and cpu-clock events and their hooks, SET_BPF without a bpf subsystem, the
 * references a perf link takes (fget/fput), and the cpu-clock timer's period rules.
 */
import { Errno, Libc, O, PERF_ATTR_FLAG, PERF_COUNT_SW, PERF_EVENT_IOC, PERF_TYPE, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import type { HookInvocation } from '../hooks/hook.js';
import { createKernel, type Kernel } from '../kernel.js';
import type { PerfBpfEvent } from '../services.js';
import { CPU_CLOCK_MIN_PERIOD_NS, cpuClockPeriod } from './cpu-clock.js';
import { KPROBE_PMU_TYPE } from './kprobe-pmu.js';

const MS = 1_000_000;

function run(body: (libc: Libc, kernel: Kernel) => Generator<number, void, number>): Kernel {
  const kernel = createKernel({ cpus: 2 });
  const program: UserProgram = function* (ctx) {
    yield* body(new Libc(ctx), kernel);
    return 0;
  };
  kernel.vfs.registerProgram('/bin/test', program);
  kernel.spawn('/bin/test');
  kernel.run({ untilNs: 10e9 });
  return kernel;
}

/** The perf event behind `fd` of the running task. */
function eventOf(kernel: Kernel, fd: number): PerfBpfEvent {
  const task = kernel.sched.currentTask();
  const file = task === undefined ? undefined : kernel.fds.fdget(task, fd);
  const event = file === undefined ? undefined : kernel.perfBpf.bpfEventOf(file);
  if (event === undefined) throw new Error(`fd ${fd} is not a perf event`);
  return event;
}

function* readText(libc: Libc, path: string): Generator<number, string, number> {
  const fd = yield* libc.open(path);
  const bytes = yield* libc.readAll(fd);
  yield* libc.close(fd);
  return bytes.ok ? new TextDecoder().decode(bytes.value) : `-${bytes.errno}`;
}

describe('the PMUs and tracefs events, as files', () => {
  it('publishes the PMU types and the retprobe format bit in sysfs, and one tracefs directory per tracepoint', () => {
    const r: Record<string, string> = {};
    run(function* (libc) {
      r.kprobe = yield* readText(libc, '/sys/bus/event_source/devices/kprobe/type');
      r.retprobe = yield* readText(libc, '/sys/bus/event_source/devices/kprobe/format/retprobe');
      r.tracepoint = yield* readText(libc, '/sys/bus/event_source/devices/tracepoint/type');
      r.software = yield* readText(libc, '/sys/bus/event_source/devices/software/type');
      const dir = yield* libc.open('/sys/kernel/tracing/events/sched/sched_switch', O.RDONLY | O.DIRECTORY);
      const entries = yield* libc.readdir(dir);
      r.files = entries.ok
        ? entries.value
            .map((entry) => entry.name)
            .filter((name) => !name.startsWith('.'))
            .sort()
            .join(' ')
        : `-${entries.errno}`;
    });
    expect(r).toEqual({ kprobe: `${KPROBE_PMU_TYPE}\n`, retprobe: 'config:0\n', tracepoint: '2\n', software: '1\n', files: 'enable format id' });
  });
});

describe('tracing perf events', () => {
  it('put a tracepoint event on the tracepoint hook and a kprobe event on the probe; SET_BPF needs the bpf subsystem', () => {
    const r: Record<string, unknown> = {};
    run(function* (libc, kernel) {
      const id = kernel.hooks.require('syscalls:sys_enter_getpid').id;
      const tp = yield* libc.perfEventOpen({ type: PERF_TYPE.TRACEPOINT, config: id }, -1, 0);
      const tpEvent = eventOf(kernel, tp);
      r.tp = [tpEvent.kind, tpEvent.name, tpEvent.hook?.name, tpEvent.attrType, tpEvent.config === id];
      const mark = libc.stack.mark();
      const name = libc.stack.pushString('do_exit');
      const kp = yield* libc.perfEventOpen({ type: KPROBE_PMU_TYPE, config: 1, config1: name }, -1, 0);
      libc.stack.release(mark);
      const kpEvent = eventOf(kernel, kp);
      r.kp = [kpEvent.kind, kpEvent.name, kpEvent.hook?.name, kpEvent.probeOffset];
      r.setBpf = yield* libc.ioctl(tp, PERF_EVENT_IOC.SET_BPF, 0);
      r.disable = yield* libc.ioctl(kp, PERF_EVENT_IOC.DISABLE, 0);
    });
    expect(r).toEqual({
      tp: ['tracepoint', 'sys_enter_getpid', 'syscalls:sys_enter_getpid', PERF_TYPE.TRACEPOINT, true],
      kp: ['kretprobe', 'do_exit', 'kretprobe:do_exit', 0],
      setBpf: -Errno.EOPNOTSUPP,
      disable: 0,
    });
  });
});

describe('cpu-clock sampling events', () => {
  it('turn a frequency into NSEC_PER_SEC / freq, and fire no faster than every 10 µs', () => {
    expect(cpuClockPeriod(4000, true)).toBe(250_000);
    expect(cpuClockPeriod(0, true)).toBe(0);
    expect(cpuClockPeriod(123, false)).toBe(123);
    const samples: number[] = [];
    run(function* (libc, kernel) {
      const fd = yield* libc.perfEventOpen({ type: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.CPU_CLOCK, samplePeriod: 1000 }, -1, 1);
      const detach = eventOf(kernel, fd).hook?.attach((invocation: HookInvocation) => {
        samples.push(invocation.cpu);
        return 0;
      });
      yield* libc.nanosleep(CPU_CLOCK_MIN_PERIOD_NS * 5 + 5000);
      detach?.();
      yield* libc.close(fd);
    });
    expect(samples).toEqual([1, 1, 1, 1, 1]);
  });

  it('keep sampling while a holder (a perf link) has the file, and stop when the last reference goes', () => {
    let samples = 0;
    const r: Record<string, number> = {};
    run(function* (libc, kernel) {
      const fd = yield* libc.perfEventOpen(
        { type: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.CPU_CLOCK, samplePeriod: MS, flags: 1n << BigInt(PERF_ATTR_FLAG.DISABLED) },
        -1,
        0,
      );
      eventOf(kernel, fd).hook?.attach(() => {
        samples++;
        return 0;
      });
      yield* libc.nanosleep(2.5 * MS);
      r.disabled = samples;
      r.enable = yield* libc.ioctl(fd, PERF_EVENT_IOC.ENABLE, 0);
      const task = kernel.sched.currentTask();
      if (task === undefined) throw new Error('no current task');
      const file = kernel.perfBpf.fget(task, fd);
      r.notPerf = kernel.perfBpf.fget(task, 0) as number;
      yield* libc.close(fd);
      yield* libc.nanosleep(3.5 * MS);
      r.held = samples;
      if (typeof file !== 'number') kernel.perfBpf.fput(file);
      yield* libc.nanosleep(3 * MS);
      r.released = samples;
    });
    expect(r).toEqual({ disabled: 0, enable: 0, notPerf: -Errno.EBADF, held: 3, released: 3 });
  });
});
