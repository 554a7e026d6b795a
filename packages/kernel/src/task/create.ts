import { STACK_TOP, type UserProgram } from '@ebpf-sim/uapi';
import type { IoContext } from '../fs/file.js';
import type { AddressSpace } from '../mm/address-space.js';
import { UserMemoryView } from '../mm/user-memory.js';
import type { KernelInternals } from '../services.js';
import { Task, type ThreadGroup } from './task.js';

/** What creating a task uses: the pid table, the clock, the scheduler (wake-ups, sleeping) and signals (SIGPIPE). */
export type CreateTaskServices = Pick<KernelInternals, 'tasks' | 'clock' | 'sched' | 'signals' | 'taskStructs'>;

/** A task object (not yet runnable) in `group` and the pid table, with its task_struct (check `k.taskStructs.roomForTask` first). */
export function createTask(k: CreateTaskServices, pid: number, group: ThreadGroup, comm: string, nice: number): Task {
  const sched = k.sched;
  const task = new Task(pid, group, comm, nice, k.clock.now, (t) => sched.wakeUp(t));
  task.io = ioContextFor(k, task);
  group.threads.push(task);
  k.tasks.set(pid, task);
  k.taskStructs.create(task, k.clock.now);
  return task;
}

/** Point `task` at a fresh run of `program` with argv/envp copied onto its stack. */
export function startProgram(task: Task, program: UserProgram, argv: readonly string[], envp: readonly string[]): void {
  const mm = (): AddressSpace => task.group.mm;
  const ctx = { regs: task.regs, mem: new UserMemoryView(mm), argv: [...argv], envp: [...envp], stackTop: STACK_TOP, cloneEntry: undefined };
  task.ctx = ctx;
  task.result = 0;
  task.restarting = false;
  task.computeLeft = 0;
  task.program = program(ctx);
}

/** The IoContext `task`'s file operations receive: block it, signal it, read the clock, keep restart progress. */
function ioContextFor(k: CreateTaskServices, task: Task): IoContext {
  const { clock, sched, signals } = k;
  return {
    sleepOn: (queue) => sched.sleepOn(task, queue),
    sleepUntil: (time) => sched.sleepUntil(task, time),
    signalSelf: (sig) => signals.send(task, sig),
    get now() {
      return clock.now;
    },
    get progress() {
      return task.progress;
    },
    set progress(value: number) {
      task.progress = value;
    },
  };
}
