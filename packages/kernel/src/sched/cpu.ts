import type { Task } from '../task/task.js';
import type { TimerEvent } from '../time/clock.js';

/** Per-CPU counters (what /proc/stat and schedstat report). */
export interface CpuStats {
  /** Time a task (not idle) was on this CPU, ns. */
  busyNs: number;
  /** Changes of the running task, idle included (nr_switches). */
  contextSwitches: number;
  /** Tasks pulled from another CPU's queue when this one went idle. */
  migrations: number;
  ticks: number;
}

/** A simulated CPU: what runs on it and its pending timer events. */
export class Cpu {
  curr: Task | undefined;
  needResched = false;
  /** This CPU's run loop is on the JS stack (a wake-up from its own task must not re-enter it). */
  inLoop = false;
  /** When the current task's CPU time was last charged. */
  segmentStart = 0;
  /** The pending "continue running" event (end of a compute burst or of a context switch). */
  continuation: TimerEvent | undefined;
  tick: TimerEvent | undefined;
  perfTimer: TimerEvent | undefined;
  readonly stats: CpuStats = { busyNs: 0, contextSwitches: 0, migrations: 0, ticks: 0 };
  /** Bound run-loop entry, posted as the continuation callback. */
  run: () => void = () => undefined;

  constructor(readonly id: number) {}
}
