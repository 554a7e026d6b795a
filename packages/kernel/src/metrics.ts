import type { KernelInternals } from './services.js';
import { TaskState } from './task/task.js';

/** What the metrics read: the task table and history, the CPUs, the clock and the counters. */
export type MetricsSource = Pick<KernelInternals, 'taskHistory' | 'tasks' | 'sched' | 'clock' | 'stats'>;

/** Scheduling metrics of a run. */
export interface KernelMetrics {
  /** Virtual time now, ns. */
  nowNs: number;
  cpus: number;
  policy: string;
  contextSwitches: number;
  syscalls: number;
  /** Tasks that ever ran (exited or alive). */
  tasks: number;
  /** Mean and maximum run-queue latency (runnable to running) over all task runs, ns. */
  runQueueLatencyMeanNs: number;
  runQueueLatencyMaxNs: number;
  /** Total task CPU time, ns, and utilisation over all CPUs. */
  cpuTimeNs: number;
  utilisation: number;
  migrations: number;
  /** Per-CPU busy time, ns. */
  perCpuBusyNs: number[];
  /** Per-task CPU time by "comm:pid". */
  perTaskCpuNs: Record<string, number>;
}

/** Collect the metrics of the kernel's run so far. */
export function kernelMetrics(k: MetricsSource): KernelMetrics {
  let waitSum = 0;
  let waitMax = 0;
  let runs = 0;
  let cpuTime = 0;
  const perTask: Record<string, number> = {};
  const account = (key: string, waitTotal: number, maxWait: number, count: number, cpuNs: number): void => {
    waitSum += waitTotal;
    waitMax = Math.max(waitMax, maxWait);
    runs += count;
    cpuTime += cpuNs;
    perTask[key] = (perTask[key] ?? 0) + cpuNs;
  };
  for (const record of k.taskHistory) account(`${record.comm}:${record.pid}`, record.waitSum, record.waitMax, record.runCount, record.cpuNs);
  for (const task of k.tasks.values()) {
    if (task.state === TaskState.DEAD) continue;
    account(`${task.comm}:${task.pid}`, task.se.waitSum, task.se.waitMax, task.se.runCount, task.se.sumExec);
  }
  const cpus = k.sched.cpus;
  const now = k.clock.now;
  return {
    nowNs: now,
    cpus: cpus.length,
    policy: k.sched.policy.name,
    contextSwitches: k.stats.contextSwitches,
    syscalls: k.stats.syscalls,
    tasks: k.taskHistory.length + [...k.tasks.values()].filter((t) => t.state !== TaskState.DEAD).length,
    runQueueLatencyMeanNs: runs === 0 ? 0 : waitSum / runs,
    runQueueLatencyMaxNs: waitMax,
    cpuTimeNs: cpuTime,
    utilisation: now === 0 ? 0 : cpus.reduce((n, cpu) => n + cpu.stats.busyNs, 0) / (now * cpus.length),
    migrations: cpus.reduce((n, cpu) => n + cpu.stats.migrations, 0),
    perCpuBusyNs: cpus.map((cpu) => cpu.stats.busyNs),
    perTaskCpuNs: perTask,
  };
}
