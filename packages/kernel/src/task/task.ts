import type { Cgroup } from '../cgroup/cgroup.js';
import { USER_REGISTER_COUNT, type UserContext } from '@ebpf-sim/uapi';
import type { FdTable } from '../fs/fdtable.js';
import type { IoContext } from '../fs/file.js';
import type { Inode } from '../fs/inode.js';
import type { AddressSpace } from '../mm/address-space.js';
import { newSchedEntity, type SchedEntity } from '../sched/entity.js';
import type { SchedTask } from '../sched/scheduler.js';
import type { Sleeper, WaitQueue } from '../sched/wait.js';
import { niceToWeight } from '../sched/weights.js';
import type { TimerEvent } from '../time/clock.js';
import { EXIT_DEAD, EXIT_ZOMBIE, TASK_DEAD, TASK_INTERRUPTIBLE, TASK_RUNNING, TASK_STRUCT } from './layout.js';

/** How a task ends: an exit code, or a fatal signal. */
export type ExitReason = { code: number } | { signal: number };

/** The record of a process that has been reaped. */
export interface ExitRecord {
  pid: number;
  comm: string;
  /** wait4 status word. */
  status: number;
  cpuNs: number;
  startTime: number;
  endTime: number;
}

/** What the scheduler measured of a task that has gone. */
export interface TaskRecord {
  pid: number;
  comm: string;
  cpuNs: number;
  waitSum: number;
  waitMax: number;
  runCount: number;
}

/** A program that died of a fault or threw. */
export interface CrashRecord {
  pid: number;
  comm: string;
  signal: number;
  message: string;
}

/** Task states (the TASK_* the scheduler cares about). */
export const TaskState = {
  /** On a CPU right now. */
  RUNNING: 0,
  /** On a run queue, waiting for a CPU. */
  RUNNABLE: 1,
  /** Blocked in a syscall (TASK_INTERRUPTIBLE). */
  SLEEPING: 2,
  /** Exited, waiting for its parent to reap it. */
  ZOMBIE: 3,
  /** Gone. */
  DEAD: 4,
} as const;
export type TaskStateValue = (typeof TaskState)[keyof typeof TaskState];
export const TASK_STATE_NAMES = ['R (running)', 'R (runnable)', 'S (sleeping)', 'Z (zombie)', 'X (dead)'] as const;
/** task_struct.__state for each TaskState, by value (the running task and a runnable one are both TASK_RUNNING). */
const LINUX_STATE: readonly number[] = [TASK_RUNNING, TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_DEAD, TASK_DEAD];
/** task_struct.exit_state for each TaskState, by value. */
const LINUX_EXIT_STATE: readonly number[] = [0, 0, 0, EXIT_ZOMBIE, EXIT_DEAD];

/** Credentials (struct cred): ids and the effective capability set (bit n = capability n). */
export interface Cred {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  /** Effective capabilities as a number (41 bits, so test with hasCapability, not `&`). */
  capEffective: number;
}

export function hasCapability(cred: Cred, cap: number): boolean {
  return Math.floor(cred.capEffective / 2 ** cap) % 2 === 1;
}

/** What a process shares among its threads (signal_struct, mm, files, fs, sighand in Linux). */
export class ThreadGroup {
  readonly threads: Task[] = [];
  readonly children: ThreadGroup[] = [];
  /** Parents sleep here in wait4. */
  readonly childWait: WaitQueue;
  /** Dispositions: 0 SIG_DFL, 1 SIG_IGN, per signal number. */
  readonly sigactions = new Uint8Array(65);
  /** Status word for wait4 once the group is dead. */
  exitStatus = 0;
  zombie = false;
  /** exit_group in progress: remaining threads die at their next step. */
  exiting = false;
  /** Signal sent to the parent at exit (SIGCHLD for fork). */
  exitSignal = 17;
  /** Process group id (inherited at fork; spawned processes lead their own group). */
  pgid: number;
  /** Sum of the CPU time of exited threads, ns. */
  deadThreadsCpuNs = 0;
  /** Totals of exited threads for rusage: context switches, minor faults, peak resident pages. */
  voluntarySwitches = 0;
  involuntarySwitches = 0;
  minorFaults = 0;
  peakRssPages = 0;

  constructor(
    readonly tgid: number,
    public parent: ThreadGroup | undefined,
    public mm: AddressSpace,
    public files: FdTable,
    public cwd: Inode,
    public cred: Cred,
    waitQueue: WaitQueue,
  ) {
    this.childWait = waitQueue;
    this.pgid = parent?.pgid ?? tgid;
  }

  get leader(): Task | undefined {
    return this.threads.find((t) => t.pid === this.tgid);
  }
}

/** A task (struct task_struct): one thread of a process. */
export class Task implements SchedTask, Sleeper {
  private stateValue: TaskStateValue = TaskState.RUNNABLE;
  /** The physical address of the task's task_struct (TaskStructs), 0 before it has one and after it is freed. */
  kernelAddress = 0;
  /** Kernel memory, to keep task_struct.__state current (undefined while there is no task_struct). */
  private kernelView: DataView | undefined;
  nice: number;
  readonly se: SchedEntity;
  /** CPU the task last ran on. */
  cpu = 0;
  readonly regs = new Float64Array(USER_REGISTER_COUNT);
  ctx: UserContext | undefined;
  program: Generator<number, number | void, number> | undefined;
  /** Value to resume the program with (the last syscall's result). */
  result = 0;
  /** CPU time still to spend before the program runs again (user compute plus syscall cost), ns. */
  computeLeft = 0;
  /** Blocked in a syscall that re-runs when woken. */
  restarting = false;
  /** Progress a restarted syscall keeps (IoContext.progress). */
  progress = 0;
  /** Pending signals, 1..64. */
  readonly pendingSignals = new Uint8Array(65);
  /** A pending signal that will kill the task (0 if none); checked before every step. */
  fatalSignal = 0;
  sleepTimer: TimerEvent | undefined;
  /** Syscalls made. */
  syscalls = 0;
  /** Virtual time the task was created. */
  readonly startTime: number;
  exitCode = 0;
  /** Bound at creation: the IoContext this task's file operations receive. */
  io!: IoContext;
  /** The cgroup v2 cgroup the task belongs to (cgroup/cgroup.ts); undefined only for a task made outside a kernel. */
  cgroup: Cgroup | undefined = undefined;

  constructor(
    readonly pid: number,
    public group: ThreadGroup,
    public comm: string,
    nice: number,
    now: number,
    private readonly waker: (task: Task) => void,
  ) {
    this.nice = nice;
    this.se = newSchedEntity(niceToWeight(nice));
    this.startTime = now;
  }

  get tgid(): number {
    return this.group.tgid;
  }

  get state(): TaskStateValue {
    return this.stateValue;
  }

  /** The state, written through to task_struct.__state and exit_state. */
  set state(value: TaskStateValue) {
    this.stateValue = value;
    const view = this.kernelView;
    if (view === undefined) return;
    view.setUint32(this.kernelAddress + TASK_STRUCT.__state, LINUX_STATE[value] ?? TASK_RUNNING, true);
    view.setInt32(this.kernelAddress + TASK_STRUCT.exit_state, LINUX_EXIT_STATE[value] ?? 0, true);
  }

  /** TaskStructs gives the task its task_struct (or takes it away: undefined, 0). */
  bindKernelObject(view: DataView | undefined, address: number): void {
    this.kernelView = view;
    this.kernelAddress = address;
    if (view !== undefined) this.state = this.stateValue;
  }

  get ppid(): number {
    return this.group.parent?.tgid ?? 0;
  }

  /** Sleeper: make the task runnable again (it re-checks what it waited for). */
  wake(): void {
    this.waker(this);
  }
}
