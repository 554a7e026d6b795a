import { IndexedHeap } from '../lib/heap.js';
import { ENQUEUE_MIGRATE, ENQUEUE_NEW, ENQUEUE_WAKEUP, selectIdleOrLeastLoaded, type CpuLoad, type Scheduler, type SchedTask } from './scheduler.js';
import { NICE_0_LOAD } from './weights.js';

/** The CFS tunables with Linux's defaults (kernel/sched/fair.c, for one CPU; Linux scales them by log2(cpus)). */
export interface CfsTunables {
  /** sysctl_sched_latency: the period in which every runnable task should run once. */
  latencyNs: number;
  /** sysctl_sched_min_granularity: the shortest slice. */
  minGranularityNs: number;
  /** sysctl_sched_wakeup_granularity: how far ahead a woken task must be to preempt. */
  wakeupGranularityNs: number;
}

export const CFS_DEFAULTS: CfsTunables = { latencyNs: 6_000_000, minGranularityNs: 750_000, wakeupGranularityNs: 1_000_000 };

interface CfsRunQueue {
  readonly tree: IndexedHeap<SchedTask>;
  minVruntime: number;
  /** Sum of weights of queued tasks plus the running one. */
  loadWeight: number;
  curr: SchedTask | undefined;
}

/**
 * A CFS-like fair scheduler: each task accrues vruntime at 1024/weight of real time (weights from nice via
 * sched_prio_to_weight); the queued task with the least vruntime runs next; a task is preempted when it used
 * its share of the latency period or when a woken task is ahead by more than the wake-up granularity.
 */
export class CfsScheduler implements Scheduler {
  readonly name = 'cfs';
  private rqs: CfsRunQueue[] = [];
  private seq = 0;

  constructor(private readonly tunables: CfsTunables = CFS_DEFAULTS) {}

  init(nrCpus: number): void {
    this.rqs = Array.from({ length: nrCpus }, () => ({
      tree: new IndexedHeap<SchedTask>(
        (a, b) => a.se.vruntime < b.se.vruntime || (a.se.vruntime === b.se.vruntime && a.se.seq < b.se.seq),
        (task) => task.se,
      ),
      minVruntime: 0,
      loadWeight: 0,
      curr: undefined,
    }));
  }

  taskFork(task: SchedTask, parent: SchedTask | undefined, cpu: number): void {
    // place_entity with START_DEBIT: a new task starts one slice after min_vruntime so forking can't game it.
    const rq = this.rq(cpu);
    const base = parent === undefined ? rq.minVruntime : Math.max(rq.minVruntime, parent.se.vruntime);
    task.se.vruntime = base + this.vslice(rq, task);
    task.se.sliceUsed = 0;
  }

  enqueue(cpu: number, task: SchedTask, flags: number): void {
    const rq = this.rq(cpu);
    const se = task.se;
    if ((flags & ENQUEUE_MIGRATE) !== 0) se.vruntime += rq.minVruntime;
    if ((flags & ENQUEUE_WAKEUP) !== 0 && (flags & ENQUEUE_NEW) === 0) {
      // GENTLE_FAIR_SLEEPERS: a sleeper gets at most half a latency period of credit.
      se.vruntime = Math.max(se.vruntime, rq.minVruntime - this.tunables.latencyNs / 2);
    }
    se.seq = this.seq++;
    rq.tree.push(task);
    rq.loadWeight += se.weight;
  }

  migrationCandidate(cpu: number): SchedTask | undefined {
    // The queued task that would wait longest here (largest vruntime).
    let candidate: SchedTask | undefined;
    for (const task of this.rq(cpu).tree.values()) {
      if (candidate === undefined || task.se.vruntime > candidate.se.vruntime || (task.se.vruntime === candidate.se.vruntime && task.se.seq > candidate.se.seq))
        candidate = task;
    }
    return candidate;
  }

  dequeue(cpu: number, task: SchedTask): boolean {
    const rq = this.rq(cpu);
    if (!rq.tree.remove(task)) return false;
    rq.loadWeight -= task.se.weight;
    // The kernel dequeues only to migrate: keep vruntime relative so the destination rebases it (ENQUEUE_MIGRATE).
    task.se.vruntime -= rq.minVruntime;
    return true;
  }

  pickNext(cpu: number): SchedTask | undefined {
    const rq = this.rq(cpu);
    const next = rq.tree.pop();
    if (next === undefined) return undefined;
    // The running task's weight stays in loadWeight until putPrev.
    rq.curr = next;
    next.se.sliceUsed = 0;
    this.updateMinVruntime(rq);
    return next;
  }

  putPrev(cpu: number, task: SchedTask, runnable: boolean): void {
    const rq = this.rq(cpu);
    if (rq.curr === task) rq.curr = undefined;
    rq.loadWeight -= task.se.weight;
    if (runnable) {
      task.se.seq = this.seq++;
      rq.tree.push(task);
      rq.loadWeight += task.se.weight;
    }
  }

  update(cpu: number, task: SchedTask, deltaNs: number): void {
    const se = task.se;
    se.sliceUsed += deltaNs;
    se.vruntime += se.weight === NICE_0_LOAD ? deltaNs : (deltaNs * NICE_0_LOAD) / se.weight;
    this.updateMinVruntime(this.rq(cpu));
  }

  tick(cpu: number, curr: SchedTask): boolean {
    const rq = this.rq(cpu);
    const leftmost = rq.tree.peek();
    if (leftmost === undefined) return false;
    // check_preempt_tick: preempt once the task ran its ideal slice; never before min_granularity; and also
    // when it is ahead of the leftmost task by more than a slice.
    const ideal = this.slice(rq, curr);
    if (curr.se.sliceUsed > ideal) return true;
    if (curr.se.sliceUsed < this.tunables.minGranularityNs) return false;
    return curr.se.vruntime - leftmost.se.vruntime > ideal;
  }

  yieldTask(cpu: number, curr: SchedTask): void {
    // yield_task_fair marks the task to be skipped; here it moves behind the rightmost queued task.
    let rightmost = curr.se.vruntime;
    for (const task of this.rq(cpu).tree.values()) rightmost = Math.max(rightmost, task.se.vruntime);
    curr.se.vruntime = rightmost + 1;
  }

  checkPreemptWakeup(_cpu: number, curr: SchedTask, woken: SchedTask): boolean {
    // wakeup_preempt_entity: preempt if curr is ahead by more than the wake-up granularity in woken's vtime.
    const gran = (this.tunables.wakeupGranularityNs * NICE_0_LOAD) / woken.se.weight;
    return curr.se.vruntime - woken.se.vruntime > gran;
  }

  selectCpu(_task: SchedTask, prevCpu: number, cpus: readonly CpuLoad[]): number {
    return selectIdleOrLeastLoaded(prevCpu, cpus);
  }

  queued(cpu: number): number {
    return this.rq(cpu).tree.size;
  }

  /** sched_period: the latency target, stretched when more tasks than latency/min_granularity are runnable. */
  private period(rq: CfsRunQueue): number {
    const nr = rq.tree.size + (rq.curr === undefined ? 0 : 1);
    const { latencyNs, minGranularityNs } = this.tunables;
    return nr > latencyNs / minGranularityNs ? nr * minGranularityNs : latencyNs;
  }

  /** The task's share of the period by weight. */
  private slice(rq: CfsRunQueue, task: SchedTask): number {
    const load = Math.max(rq.loadWeight, task.se.weight);
    return (this.period(rq) * task.se.weight) / load;
  }

  private vslice(rq: CfsRunQueue, task: SchedTask): number {
    const load = rq.loadWeight + task.se.weight;
    const slice = (this.period(rq) * task.se.weight) / load;
    return (slice * NICE_0_LOAD) / task.se.weight;
  }

  private updateMinVruntime(rq: CfsRunQueue): void {
    let vruntime = rq.curr?.se.vruntime;
    const leftmost = rq.tree.peek();
    if (leftmost !== undefined) vruntime = vruntime === undefined ? leftmost.se.vruntime : Math.min(vruntime, leftmost.se.vruntime);
    if (vruntime !== undefined && vruntime > rq.minVruntime) rq.minVruntime = vruntime;
  }

  private rq(cpu: number): CfsRunQueue {
    const rq = this.rqs[cpu];
    if (rq === undefined) throw new RangeError(`cfs: no run queue for CPU ${cpu}`);
    return rq;
  }
}
