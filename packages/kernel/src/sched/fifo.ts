import { selectIdleOrLeastLoaded, type CpuLoad, type Scheduler, type SchedTask } from './scheduler.js';

/** A per-CPU first-in-first-out queue of tasks. */
export class TaskQueue {
  private items: SchedTask[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(task: SchedTask): void {
    this.items.push(task);
  }

  unshift(task: SchedTask): void {
    if (this.head > 0) this.items[--this.head] = task;
    else this.items.unshift(task);
  }

  shift(): SchedTask | undefined {
    if (this.head >= this.items.length) return undefined;
    const task = this.items[this.head++];
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return task;
  }

  /** The most recently queued task. */
  last(): SchedTask | undefined {
    return this.items.length > this.head ? this.items[this.items.length - 1] : undefined;
  }

  remove(task: SchedTask): boolean {
    const index = this.items.indexOf(task, this.head);
    if (index < 0) return false;
    this.items.splice(index, 1);
    return true;
  }
}

/**
 * SCHED_FIFO-like: run a task until it blocks or yields; no time slice, no preemption among equals. A woken
 * task never preempts the running one.
 */
export class FifoScheduler implements Scheduler {
  readonly name: string = 'fifo';
  protected queues: TaskQueue[] = [];

  init(nrCpus: number): void {
    this.queues = Array.from({ length: nrCpus }, () => new TaskQueue());
  }

  taskFork(task: SchedTask): void {
    task.se.sliceUsed = 0;
  }

  enqueue(cpu: number, task: SchedTask): void {
    this.queue(cpu).push(task);
  }

  migrationCandidate(cpu: number): SchedTask | undefined {
    return this.queue(cpu).last();
  }

  dequeue(cpu: number, task: SchedTask): boolean {
    return this.queue(cpu).remove(task);
  }

  pickNext(cpu: number): SchedTask | undefined {
    const task = this.queue(cpu).shift();
    if (task !== undefined) task.se.sliceUsed = 0;
    return task;
  }

  putPrev(cpu: number, task: SchedTask, runnable: boolean): void {
    // Without priorities a FIFO task is only switched out while runnable when it yields: to the tail.
    if (runnable) this.queue(cpu).push(task);
  }

  update(_cpu: number, task: SchedTask, deltaNs: number): void {
    task.se.sliceUsed += deltaNs;
  }

  tick(_cpu: number, _curr: SchedTask): boolean {
    return false;
  }

  yieldTask(_cpu: number, curr: SchedTask): void {
    curr.se.sliceUsed = 0;
  }

  checkPreemptWakeup(_cpu: number, _curr: SchedTask, _woken: SchedTask): boolean {
    return false;
  }

  selectCpu(_task: SchedTask, prevCpu: number, cpus: readonly CpuLoad[]): number {
    return selectIdleOrLeastLoaded(prevCpu, cpus);
  }

  queued(cpu: number): number {
    return this.queue(cpu).length;
  }

  protected queue(cpu: number): TaskQueue {
    const queue = this.queues[cpu];
    if (queue === undefined) throw new RangeError(`${this.name}: no run queue for CPU ${cpu}`);
    return queue;
  }
}
