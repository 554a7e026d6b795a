import { niceToPrio, TASK_STATE, TRACE_SCHED_SWITCH, TRACE_SCHED_WAKEUP } from '@ebpf-sim/uapi';
import type { CurrentTask, KernelInternals } from '../services.js';
import type { ExitReason, Task } from '../task/task.js';
import { TaskState } from '../task/task.js';
import { fireRawTracepoint } from '../hooks/raw-tracepoints.js';
import { Cpu } from './cpu.js';
import { ENQUEUE_MIGRATE, ENQUEUE_NEW, ENQUEUE_WAKEUP, type CpuLoad, type Scheduler } from './scheduler.js';
import type { WaitQueue } from './wait.js';

/** What the scheduler core uses of the kernel. */
export type SchedServices = Pick<KernelInternals, 'clock' | 'config' | 'stats' | 'trace' | 'tracepoints' | 'hookArena' | 'taskStructs'>;

/** What a CPU's run loop does with its task: run it to its next trap, or end it (a fatal signal, exit_group). */
export interface TaskRunner {
  step(cpu: Cpu, task: Task): void;
  exit(task: Task, reason: ExitReason): void;
}

/**
 * The scheduler core (kernel/sched/core.c): CPUs, their run loops in virtual time, context switches,
 * wake-ups, ticks and time accounting. The policy (a Scheduler) only orders run queues.
 *
 * A CPU runs its task's program until it traps; user compute and syscall costs become `computeLeft`. The
 * loop advances virtual time directly while the next pending event is later (nothing can happen in
 * between), and otherwise posts a continuation event, so every run is exactly an ordered event sequence.
 */
export class SchedCore implements CurrentTask {
  readonly cpus: Cpu[];
  /** The CPU whose code is running now (the run loop's CPU, or the CPU an interrupt is delivered to). */
  currentCpu = 0;
  private readonly loads: Array<{ id: number; idle: boolean; queued: number }>;

  constructor(
    private readonly k: SchedServices,
    readonly policy: Scheduler,
    nrCpus: number,
    private readonly runner: TaskRunner,
  ) {
    this.cpus = Array.from({ length: nrCpus }, (_, id) => new Cpu(id));
    for (const cpu of this.cpus) cpu.run = () => this.runCpu(cpu);
    this.loads = this.cpus.map((cpu) => ({ id: cpu.id, idle: true, queued: 0 }));
    policy.init(nrCpus);
  }

  /** The task running on the current CPU, if its run loop is active. */
  currentTask(): Task | undefined {
    const cpu = this.cpus[this.currentCpu];
    return cpu !== undefined && cpu.inLoop ? cpu.curr : undefined;
  }

  currentTaskStruct(cpu: number): number {
    const address = this.currentTask()?.kernelAddress ?? 0;
    return address !== 0 ? address : (this.k.taskStructs.idle[cpu] ?? 0);
  }

  /** Put `task` to sleep on `queue` (the caller returns BLOCKED). */
  sleepOn(task: Task, queue: WaitQueue): void {
    task.state = TaskState.SLEEPING;
    queue.add(task);
  }

  /** Put `task` to sleep until virtual time `time` (the caller returns BLOCKED). */
  sleepUntil(task: Task, time: number): void {
    task.state = TaskState.SLEEPING;
    const clock = this.k.clock;
    if (task.sleepTimer !== undefined) clock.cancel(task.sleepTimer);
    task.sleepTimer = clock.at(time, () => {
      task.sleepTimer = undefined;
      this.wakeUp(task);
    });
  }

  /** Charge the running task for the time since the last charge. */
  updateCurr(cpu: Cpu): void {
    const task = cpu.curr;
    const now = this.k.clock.now;
    const delta = now - cpu.segmentStart;
    if (task === undefined || delta <= 0) {
      if (delta > 0) cpu.segmentStart = now;
      return;
    }
    cpu.segmentStart = now;
    task.se.sumExec += delta;
    task.computeLeft = task.computeLeft > delta ? task.computeLeft - delta : 0;
    cpu.stats.busyNs += delta;
    this.policy.update(cpu.id, task, delta);
  }

  /** The CPU's run loop, entered from an event. */
  runCpu(cpu: Cpu): void {
    const clock = this.k.clock;
    cpu.continuation = undefined;
    cpu.inLoop = true;
    this.currentCpu = cpu.id;
    this.updateCurr(cpu);
    for (;;) {
      if (cpu.needResched || cpu.curr === undefined) {
        this.schedule(cpu);
        if (cpu.curr === undefined) break;
        if (cpu.segmentStart > clock.now) {
          // Context-switch cost: continue when it has elapsed.
          cpu.continuation = clock.at(cpu.segmentStart, cpu.run);
          break;
        }
      }
      const task = cpu.curr;
      if (task.fatalSignal !== 0 || task.group.exiting) {
        this.runner.exit(task, task.fatalSignal !== 0 ? { signal: task.fatalSignal } : { code: task.group.exitStatus >> 8 });
        continue;
      }
      if (task.computeLeft > 0) {
        const end = clock.now + task.computeLeft;
        if (end < clock.nextTime()) {
          clock.now = end;
          this.updateCurr(cpu);
          continue;
        }
        cpu.continuation = clock.at(end, cpu.run);
        break;
      }
      this.runner.step(cpu, task);
    }
    cpu.inLoop = false;
  }

  /** Make `cpu` re-run its loop now (after a wake-up that preempts, a signal, a tick asking to resched). */
  kick(cpu: Cpu): void {
    if (cpu.inLoop) return;
    const clock = this.k.clock;
    if (cpu.continuation !== undefined) {
      // Keep a pending context-switch delay: the loop will look at needResched when it ends.
      if (cpu.continuation.time === clock.now) return;
      clock.cancel(cpu.continuation);
    }
    cpu.continuation = clock.at(clock.now, cpu.run);
  }

  /** Pick the next task for `cpu` and switch to it (or to idle). */
  schedule(cpu: Cpu): void {
    const k = this.k;
    const now = k.clock.now;
    const prev = cpu.curr;
    cpu.needResched = false;
    if (prev !== undefined) {
      this.updateCurr(cpu);
      const runnable = prev.state === TaskState.RUNNING;
      if (runnable) {
        prev.state = TaskState.RUNNABLE;
        prev.se.enqueuedAt = now;
      }
      this.policy.putPrev(cpu.id, prev, runnable);
    }
    let next = this.policy.pickNext(cpu.id);
    if (next === undefined) next = this.pullFromBusiest(cpu);
    const nextTask = next as Task | undefined;
    if (prev !== undefined && nextTask === prev) {
      prev.state = TaskState.RUNNING;
      return;
    }
    if (prev !== undefined) {
      if (prev.state === TaskState.RUNNABLE) prev.se.involuntarySwitches++;
      else prev.se.voluntarySwitches++;
    }
    if (prev === undefined && nextTask === undefined) return;
    cpu.stats.contextSwitches++;
    k.stats.contextSwitches++;
    this.traceSwitch(cpu, prev, nextTask);
    cpu.curr = nextTask;
    if (nextTask === undefined) {
      if (cpu.tick !== undefined) k.clock.cancel(cpu.tick);
      cpu.tick = undefined;
      return;
    }
    const wait = now - nextTask.se.enqueuedAt;
    nextTask.se.waitSum += wait;
    if (wait > nextTask.se.waitMax) nextTask.se.waitMax = wait;
    nextTask.se.runCount++;
    nextTask.state = TaskState.RUNNING;
    nextTask.cpu = cpu.id;
    cpu.segmentStart = now + k.config.contextSwitchNs;
    if (cpu.tick === undefined) this.armTick(cpu);
  }

  /** Idle balancing: take one queued task from the CPU with the longest queue. */
  private pullFromBusiest(cpu: Cpu): Task | undefined {
    let busiest = -1;
    let most = 0;
    for (const other of this.cpus) {
      if (other === cpu) continue;
      const queued = this.policy.queued(other.id);
      if (queued > most) {
        most = queued;
        busiest = other.id;
      }
    }
    if (busiest < 0) return undefined;
    const victim = this.policy.migrationCandidate(busiest);
    if (victim === undefined || !this.policy.dequeue(busiest, victim)) return undefined;
    (victim as Task).cpu = cpu.id;
    this.policy.enqueue(cpu.id, victim, ENQUEUE_MIGRATE);
    cpu.stats.migrations++;
    const next = this.policy.pickNext(cpu.id) as Task | undefined;
    return next;
  }

  private armTick(cpu: Cpu): void {
    cpu.tick = this.k.clock.after(this.k.config.tickNs, () => {
      cpu.tick = undefined;
      if (cpu.curr === undefined) return;
      cpu.stats.ticks++;
      this.updateCurr(cpu);
      if (this.policy.tick(cpu.id, cpu.curr)) {
        cpu.needResched = true;
        this.kick(cpu);
      }
      this.armTick(cpu);
    });
  }

  /** Current CPU loads for placement decisions (reused array). */
  cpuLoads(): readonly CpuLoad[] {
    for (const cpu of this.cpus) {
      const load = this.loads[cpu.id] as { id: number; idle: boolean; queued: number };
      load.idle = cpu.curr === undefined;
      load.queued = this.policy.queued(cpu.id);
    }
    return this.loads;
  }

  /** A new task becomes runnable (wake_up_new_task). */
  wakeUpNew(task: Task, parent: Task | undefined): void {
    const cpuId = this.policy.selectCpu(task, parent?.cpu ?? 0, this.cpuLoads());
    task.cpu = cpuId;
    this.policy.taskFork(task, parent, cpuId);
    this.activate(task, cpuId, ENQUEUE_WAKEUP | ENQUEUE_NEW);
  }

  /** try_to_wake_up: a sleeping task becomes runnable. */
  wakeUp(task: Task): void {
    if (task.state !== TaskState.SLEEPING) return;
    if (task.sleepTimer !== undefined) {
      this.k.clock.cancel(task.sleepTimer);
      task.sleepTimer = undefined;
    }
    const cpuId = this.policy.selectCpu(task, task.cpu, this.cpuLoads());
    this.activate(task, cpuId, ENQUEUE_WAKEUP);
  }

  private activate(task: Task, cpuId: number, flags: number): void {
    const k = this.k;
    task.state = TaskState.RUNNABLE;
    task.se.enqueuedAt = k.clock.now;
    this.policy.enqueue(cpuId, task, flags);
    this.traceWakeup(task, cpuId);
    const cpu = this.cpus[cpuId] as Cpu;
    if (cpu.curr === undefined) {
      cpu.needResched = true;
      this.kick(cpu);
    } else if (this.policy.checkPreemptWakeup(cpuId, cpu.curr, task)) {
      this.updateCurr(cpu);
      cpu.needResched = true;
      this.kick(cpu);
    }
  }

  private traceSwitch(cpu: Cpu, prev: Task | undefined, next: Task | undefined): void {
    const k = this.k;
    const prevState =
      prev === undefined || prev.state === TaskState.RUNNABLE
        ? TASK_STATE.RUNNING
        : prev.state === TaskState.SLEEPING
          ? TASK_STATE.INTERRUPTIBLE
          : TASK_STATE.DEAD;
    const prevComm = prev?.comm ?? `swapper/${cpu.id}`;
    const nextComm = next?.comm ?? `swapper/${cpu.id}`;
    if (k.trace.enabled) {
      k.trace.emit(k.clock.now, cpu.id, `sched_switch prev=${prevComm}:${prev?.pid ?? 0} state=${prevState} next=${nextComm}:${next?.pid ?? 0}`);
    }
    const raw = k.tracepoints.rawSchedSwitch;
    if (raw.programs.length !== 0) {
      // sched_switch(preempt, prev, next, prev_state): a task switched out while still runnable was preempted.
      const idle = k.taskStructs.idle[cpu.id] ?? 0;
      const prevStruct = prev === undefined ? idle : prev.kernelAddress;
      const nextStruct = next === undefined ? idle : next.kernelAddress;
      fireRawTracepoint(k.hookArena, raw, cpu.id, prev, prev?.state === TaskState.RUNNABLE ? 1 : 0, prevStruct, nextStruct, prevState);
    }
    const hook = k.tracepoints.schedSwitch;
    if (hook.programs.length === 0) return;
    const S = TRACE_SCHED_SWITCH;
    const arena = k.hookArena;
    const ctx = arena.begin(cpu.id, S.size);
    const w = arena.write;
    w.traceEntry(ctx, hook.id, prev?.pid ?? 0);
    w.comm(ctx + S.prev_comm, prevComm);
    w.i32(ctx + S.prev_pid, prev?.pid ?? 0);
    w.i32(ctx + S.prev_prio, niceToPrio(prev?.nice ?? 0));
    w.u64(ctx + S.prev_state, prevState);
    w.comm(ctx + S.next_comm, nextComm);
    w.i32(ctx + S.next_pid, next?.pid ?? 0);
    w.i32(ctx + S.next_prio, niceToPrio(next?.nice ?? 0));
    arena.fire(hook, ctx, cpu.id, prev);
    arena.end(cpu.id, S.size);
  }

  private traceWakeup(task: Task, cpuId: number): void {
    const k = this.k;
    if (k.trace.enabled) k.trace.emit(k.clock.now, cpuId, `sched_wakeup ${task.comm}:${task.pid} target_cpu=${cpuId}`);
    const raw = k.tracepoints.rawSchedWakeup;
    if (raw.programs.length !== 0) fireRawTracepoint(k.hookArena, raw, this.currentCpu, this.currentTask(), task.kernelAddress);
    const hook = k.tracepoints.schedWakeup;
    if (hook.programs.length === 0) return;
    const W = TRACE_SCHED_WAKEUP;
    const cpu = this.currentCpu;
    const current = this.currentTask();
    const arena = k.hookArena;
    const ctx = arena.begin(cpu, W.size);
    const w = arena.write;
    w.traceEntry(ctx, hook.id, current?.pid ?? 0);
    w.comm(ctx + W.comm, task.comm);
    w.i32(ctx + W.pid, task.pid);
    w.i32(ctx + W.prio, niceToPrio(task.nice));
    w.i32(ctx + W.target_cpu, cpuId);
    arena.fire(hook, ctx, cpu, current);
    arena.end(cpu, W.size);
  }
}
