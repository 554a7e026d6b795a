import { Libc, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { createKernel, type Kernel } from '../kernel.js';
import { kernelMetrics } from '../metrics.js';
import { FifoScheduler } from './fifo.js';
import { defaultSchedulers } from './policies.js';
import type { SchedTask } from './scheduler.js';
import { niceToWeight, SCHED_PRIO_TO_WEIGHT } from './weights.js';

/** A CPU hog: `bursts` compute bursts of `ns` each, with a getpid in between. */
const hog = (bursts: number, ns: number): UserProgram =>
  function* (ctx) {
    const libc = new Libc(ctx);
    for (let index = 0; index < bursts; index++) {
      yield* libc.compute(ns);
      yield* libc.getpid();
    }
    return 0;
  };

function cpuTimeOf(k: Kernel, pid: number): number {
  return k.tasks.get(pid)?.se.sumExec ?? k.taskHistory.find((r) => r.pid === pid)?.cpuNs ?? -1;
}

describe('sched_prio_to_weight', () => {
  it('is Linux table: nice 0 is 1024, nice -20 is 88761, nice 19 is 15, each step about 1.25x', () => {
    expect(SCHED_PRIO_TO_WEIGHT).toHaveLength(40);
    expect(niceToWeight(0)).toBe(1024);
    expect(niceToWeight(-20)).toBe(88761);
    expect(niceToWeight(19)).toBe(15);
    expect(niceToWeight(5)).toBe(335);
    for (let nice = -20; nice < 19; nice++) expect(niceToWeight(nice) / niceToWeight(nice + 1)).toBeGreaterThan(1.15);
  });
});

describe('cfs', () => {
  it('shares one CPU by weight: nice 0 gets about 1024/335 times the CPU of nice 5', () => {
    const k = createKernel({ cpus: 1, sched: { policy: 'cfs', options: {} } });
    k.vfs.registerProgram('/bin/hog', hog(100_000, 100_000));
    const a = k.spawn('/bin/hog', { nice: 0 });
    const b = k.spawn('/bin/hog', { nice: 5 });
    k.run({ untilNs: 2e9 });
    const ratio = cpuTimeOf(k, a) / cpuTimeOf(k, b);
    expect(ratio).toBeGreaterThan(2.7);
    expect(ratio).toBeLessThan(3.4);
  });

  it('gives equal tasks equal time and preempts at the tick (involuntary switches)', () => {
    const k = createKernel({ cpus: 1 });
    k.vfs.registerProgram('/bin/hog', hog(1000, 1_000_000));
    const pids = [k.spawn('/bin/hog'), k.spawn('/bin/hog'), k.spawn('/bin/hog')];
    k.run({ untilNs: 300e6 });
    const times = pids.map((pid) => cpuTimeOf(k, pid));
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    for (const t of times) expect(Math.abs(t - mean) / mean).toBeLessThan(0.05);
    expect(k.tasks.get(pids[0]!)!.se.involuntarySwitches).toBeGreaterThan(10);
  });

  it('lets a task that slept preempt a CPU hog at wake-up (wake-up preemption)', () => {
    const k = createKernel({ cpus: 1 });
    k.vfs.registerProgram('/bin/hog', hog(1000, 10_000_000));
    k.vfs.registerProgram('/bin/sleeper', function* (ctx) {
      const libc = new Libc(ctx);
      for (let i = 0; i < 20; i++) yield* libc.nanosleep(5_000_000);
      return 0;
    });
    k.spawn('/bin/hog');
    const sleeper = k.spawn('/bin/sleeper');
    k.run({ untilNs: 200e6 });
    expect(k.exited.get(sleeper)?.status).toBe(0);
    // Each wake-up ran well before the hog's 10 ms burst ended.
    const record = k.taskHistory.find((r) => r.pid === sleeper)!;
    expect(record.waitMax).toBeLessThan(2_000_000);
  });
});

describe('fifo and rr', () => {
  it('fifo runs a task until it blocks: no involuntary switches', () => {
    const k = createKernel({ cpus: 1, sched: { policy: 'fifo', options: {} } });
    k.vfs.registerProgram('/bin/hog', hog(10, 1_000_000));
    const a = k.spawn('/bin/hog');
    const b = k.spawn('/bin/hog');
    k.run();
    const ra = k.exited.get(a)!;
    const rb = k.exited.get(b)!;
    expect(ra.endTime).toBeLessThan(rb.endTime);
    expect(rb.endTime - ra.endTime).toBeGreaterThanOrEqual(10_000_000);
  });

  it('rr switches every slice between equal hogs', () => {
    const k = createKernel({ cpus: 1, sched: { policy: 'rr', options: { sliceNs: 2_000_000 } } });
    k.vfs.registerProgram('/bin/hog', hog(10, 1_000_000));
    const a = k.spawn('/bin/hog');
    const b = k.spawn('/bin/hog');
    k.run();
    // Interleaved: both finish within about one slice of each other.
    expect(Math.abs(k.exited.get(a)!.endTime - k.exited.get(b)!.endTime)).toBeLessThan(3_000_000);
    expect(k.stats.contextSwitches).toBeGreaterThan(8);
  });
});

describe('scheduler registry', () => {
  it('runs a researcher-defined policy chosen by configuration, without kernel changes', () => {
    /** Last-in-first-out: the newest runnable task runs first. */
    class LifoScheduler extends FifoScheduler {
      override readonly name = 'lifo';
      picks = 0;
      override enqueue(cpu: number, task: SchedTask): void {
        this.queue(cpu).unshift(task);
      }
      override pickNext(cpu: number): SchedTask | undefined {
        this.picks++;
        return super.pickNext(cpu);
      }
    }
    const registry = defaultSchedulers();
    const lifo = new LifoScheduler();
    registry.register('lifo', () => lifo);
    const k = createKernel({ cpus: 1, sched: { policy: 'lifo', options: {} } }, { schedulers: registry });
    k.vfs.registerProgram('/bin/hog', hog(2, 1000));
    const first = k.spawn('/bin/hog');
    const second = k.spawn('/bin/hog');
    k.run();
    expect(k.sched.policy.name).toBe('lifo');
    expect(lifo.picks).toBeGreaterThan(0);
    expect(k.exited.get(second)!.endTime).toBeLessThan(k.exited.get(first)!.endTime);
    expect(kernelMetrics(k).policy).toBe('lifo');
  });

  it('rejects an unknown policy with the list of registered ones', () => {
    expect(() => createKernel({ sched: { policy: 'nope', options: {} } })).toThrow(/unknown scheduler 'nope'.*fifo, rr, cfs/);
  });
});

describe('multi-CPU', () => {
  it('spreads hogs over CPUs and measures per-CPU busy time', () => {
    const k = createKernel({ cpus: 4 });
    k.vfs.registerProgram('/bin/hog', hog(10, 1_000_000));
    for (let i = 0; i < 4; i++) k.spawn('/bin/hog');
    k.run();
    const m = kernelMetrics(k);
    expect(m.perCpuBusyNs.every((busy) => busy >= 10_000_000)).toBe(true);
    expect(m.nowNs).toBeLessThan(12_000_000);
  });

  it('an idle CPU pulls queued work from a busy one', () => {
    const k = createKernel({ cpus: 2, sched: { policy: 'fifo', options: {} } });
    k.vfs.registerProgram('/bin/short', hog(1, 1_000));
    k.vfs.registerProgram('/bin/hog', hog(5, 1_000_000));
    // Placement puts three hogs on CPU 0 and the short task plus one hog on CPU 1, which goes idle first.
    k.spawn('/bin/hog');
    k.spawn('/bin/short');
    for (let i = 0; i < 3; i++) k.spawn('/bin/hog');
    k.run();
    expect(kernelMetrics(k).migrations).toBeGreaterThan(0);
  });
});
