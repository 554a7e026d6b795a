import type { SchedEntity } from './entity.js';

/** What a scheduling policy sees of a task. */
export interface SchedTask {
  readonly pid: number;
  readonly nice: number;
  readonly se: SchedEntity;
}

/** Flags of `enqueue`: why the task joins the run queue. */
export const ENQUEUE_WAKEUP = 1;
export const ENQUEUE_NEW = 2;
export const ENQUEUE_MIGRATE = 4;

/** What a policy may know about each CPU when placing a task. */
export interface CpuLoad {
  readonly id: number;
  /** No task running. */
  readonly idle: boolean;
  /** Tasks queued (not counting the running one). */
  readonly queued: number;
}

/**
 * A scheduling policy: the kernel's sched_class. The kernel owns CPUs, the running task, time accounting and
 * context switches; the policy owns its per-CPU run queues and decides who runs next and when to preempt.
 * Every method is deterministic (no wall clock, no Math.random).
 */
export interface Scheduler {
  readonly name: string;
  /** Set up per-CPU run queues. Called once at boot. */
  init(nrCpus: number): void;
  /** Initialise a new task's entity (e.g. place its vruntime); `parent` is the forking task if any. */
  taskFork(task: SchedTask, parent: SchedTask | undefined, cpu: number): void;
  /** Add a runnable task to `cpu`'s run queue (flags: ENQUEUE_*). */
  enqueue(cpu: number, task: SchedTask, flags: number): void;
  /** A queued task that may move to an idle CPU (not removed), or undefined. */
  migrationCandidate(cpu: number): SchedTask | undefined;
  /** Remove a queued (not running) task from `cpu`'s run queue to migrate it; false if it was not there. */
  dequeue(cpu: number, task: SchedTask): boolean;
  /** Remove and return the task to run next on `cpu`, or undefined to idle. */
  pickNext(cpu: number): SchedTask | undefined;
  /** The running task is switched out; if `runnable` the policy puts it back on its queue. */
  putPrev(cpu: number, task: SchedTask, runnable: boolean): void;
  /** Charge `deltaNs` of CPU time to the running task. */
  update(cpu: number, task: SchedTask, deltaNs: number): void;
  /** The periodic tick on a busy CPU: true to preempt the running task. */
  tick(cpu: number, curr: SchedTask): boolean;
  /** sched_yield by the running task. */
  yieldTask(cpu: number, curr: SchedTask): void;
  /** A task woke up on `cpu` while `curr` runs there: true to preempt `curr` (wake-up preemption). */
  checkPreemptWakeup(cpu: number, curr: SchedTask, woken: SchedTask): boolean;
  /** Choose the CPU a waking or new task should run on. */
  selectCpu(task: SchedTask, prevCpu: number, cpus: readonly CpuLoad[]): number;
  /** Tasks queued on `cpu` (not counting the running one). */
  queued(cpu: number): number;
}

/** Builds a policy from its options (the `sched.options` part of the kernel configuration). */
export type SchedulerFactory = (options: Readonly<Record<string, number>>) => Scheduler;

/**
 * The policy registry: the kernel looks its configured policy up here by name, so a researcher adds a policy
 * with `schedulers.register('mine', factory)` without touching kernel code.
 */
export class SchedulerRegistry {
  private readonly factories = new Map<string, SchedulerFactory>();

  register(name: string, factory: SchedulerFactory): void {
    this.factories.set(name, factory);
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  names(): string[] {
    return [...this.factories.keys()];
  }

  create(name: string, options: Readonly<Record<string, number>> = {}): Scheduler {
    const factory = this.factories.get(name);
    if (factory === undefined) {
      throw new Error(`unknown scheduler '${name}': registered policies are ${this.names().join(', ')}; add one with schedulers.register()`);
    }
    return factory(options);
  }
}

/**
 * The usual placement: the previous CPU if idle, else the lowest-numbered idle CPU, else the CPU with the
 * fewest queued tasks (the previous one on a tie). Cache affinity first, then spreading.
 */
export function selectIdleOrLeastLoaded(prevCpu: number, cpus: readonly CpuLoad[]): number {
  const prev = cpus[prevCpu];
  if (prev?.idle === true && prev.queued === 0) return prevCpu;
  for (const cpu of cpus) if (cpu.idle && cpu.queued === 0) return cpu.id;
  let best = prev ?? cpus[0];
  for (const cpu of cpus) if (best === undefined || cpu.queued < best.queued) best = cpu;
  return best?.id ?? 0;
}
