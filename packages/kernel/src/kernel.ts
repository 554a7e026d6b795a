import { AT_FDCWD, CAP_FULL_SET, Errno, O, STACK_TOP, type UserProgram } from '@ebpf-sim/uapi';
import { KernelConfigSchema, type KernelConfig, type KernelConfigInput } from './config.js';
import { DeviceManager } from './drivers/devices.js';
import { defaultNicModels, type NicModelRegistry } from './drivers/net/model.js';
import { AnonInodes } from './fs/anon-inode.js';
import { Bpffs } from './fs/bpffs.js';
import { FdTable } from './fs/fdtable.js';
import type { File, FileOperations, IoContext } from './fs/file.js';
import type { Inode } from './fs/inode.js';
import { Procfs, type ProcFileName } from './fs/procfs.js';
import { Vfs } from './fs/vfs.js';
import { HookArena } from './hooks/arena.js';
import type { HookPoint } from './hooks/hook.js';
import { HookRegistry } from './hooks/registry.js';
import { HookSites } from './hooks/sites.js';
import { AddressSpace } from './mm/address-space.js';
import { PhysicalMemory } from './mm/physmem.js';
import { UserMemoryView } from './mm/user-memory.js';
import { SchedCore } from './sched/core.js';
import type { Cpu } from './sched/cpu.js';
import { defaultSchedulers } from './sched/policies.js';
import type { SchedulerRegistry } from './sched/scheduler.js';
import { WaitQueue } from './sched/wait.js';
import { registerAllSyscalls } from './syscalls/register.js';
import { SyscallTable } from './syscalls/table.js';
import { doExit, type ExitReason } from './task/exit.js';
import { sendSignalToTask } from './task/signal.js';
import { renderProcFile } from './task/proc-render.js';
import { stepTask } from './task/step.js';
import { Task, TaskState, ThreadGroup } from './task/task.js';
import { Clock } from './time/clock.js';
import { Prng } from './time/prng.js';
import { TraceLog } from './trace/trace.js';

/** What `createKernel` accepts besides the configuration: the registries swappable parts come from. */
export interface KernelOptions {
  /** Scheduling policies by name (default: fifo, rr, cfs). */
  schedulers?: SchedulerRegistry;
  /** NIC models by name (default: 'simple', 'loopback'). */
  nicModels?: NicModelRegistry;
  /** Use this WebAssembly.Memory as physical memory (e.g. one the VM already holds). */
  memory?: WebAssembly.Memory;
  /** Called with everything written to /dev/console. */
  onConsole?: (text: string) => void;
}

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

/** How to start a top-level process. */
export interface SpawnOptions {
  argv?: readonly string[];
  envp?: readonly string[];
  nice?: number;
  uid?: number;
  gid?: number;
  /** Adopt as the child of this process instead of the kernel (then it must wait4 for it). */
  parentPid?: number;
}

/**
 * The simulated kernel. Build one with `createKernel(config)`, register programs, `spawn` processes and
 * `run` virtual time forward. Subsystems are public fields so the bpf subsystem and tests can plug in:
 * `syscalls` (the table), `hooks` (the hook-point registry), `phys` (physical memory and kmalloc),
 * `vfs`/`bpffs` (files and pinning), `installFd`/`fileOf` (anonymous-inode descriptors).
 */
export class Kernel {
  readonly config: KernelConfig;
  readonly clock = new Clock();
  readonly random: Prng;
  readonly trace: TraceLog;
  readonly phys: PhysicalMemory;
  readonly hooks = new HookRegistry();
  readonly hookArena: HookArena;
  readonly tracepoints: {
    schedSwitch: HookPoint;
    schedWakeup: HookPoint;
    processFork: HookPoint;
    processExec: HookPoint;
    processExit: HookPoint;
  };
  readonly lsm: HookSites;
  readonly vfs: Vfs;
  readonly procfs: Procfs;
  readonly bpffs: Bpffs;
  readonly anonInodes: AnonInodes;
  readonly sched: SchedCore;
  readonly syscalls: SyscallTable;
  readonly devices: DeviceManager;
  readonly tasks = new Map<number, Task>();
  readonly groups = new Map<number, ThreadGroup>();
  readonly exited = new Map<number, ExitRecord>();
  readonly crashes: CrashRecord[] = [];
  /** Scheduling statistics of every task that has gone. */
  readonly taskHistory: TaskRecord[] = [];
  readonly stats = { syscalls: 0, contextSwitches: 0 };
  readonly limits = { maxTasks: 4096 };
  /** The CPU whose code is running now (the run loop's CPU, or the CPU an interrupt is delivered to). */
  currentCpu = 0;
  private nextPid = 1;

  constructor(config: KernelConfig, options: KernelOptions = {}) {
    this.config = config;
    this.random = new Prng(config.seed);
    this.trace = new TraceLog(config.trace.enabled, config.trace.maxLines);
    this.trace.syscalls = config.trace.enabled && config.trace.syscalls;
    this.phys = new PhysicalMemory(config.memoryBytes, options.memory);
    this.hookArena = new HookArena(this.phys, config.cpus);
    this.tracepoints = {
      schedSwitch: this.hooks.require('sched:sched_switch'),
      schedWakeup: this.hooks.require('sched:sched_wakeup'),
      processFork: this.hooks.require('sched:sched_process_fork'),
      processExec: this.hooks.require('sched:sched_process_exec'),
      processExit: this.hooks.require('sched:sched_process_exit'),
    };
    this.lsm = new HookSites(this);
    this.vfs = new Vfs(this.clock);
    this.procfs = new Procfs(2, {
      tgids: () => [...this.groups.keys()].sort((a, b) => a - b),
      render: (pid, name: ProcFileName) => renderProcFile(this, pid, name),
      currentTgid: () => this.currentTask()?.tgid ?? 0,
    });
    this.vfs.mount('/proc', this.procfs.root);
    this.bpffs = new Bpffs(3, this.clock);
    this.vfs.mount('/sys/fs/bpf', this.bpffs.root);
    this.anonInodes = new AnonInodes(this.vfs, 4);
    this.vfs.mkdirp('/tmp');
    this.vfs.mkdirp('/bin');
    const schedulers = options.schedulers ?? defaultSchedulers();
    this.sched = new SchedCore(this, schedulers.create(config.sched.policy, config.sched.options), config.cpus);
    this.syscalls = new SyscallTable(this.hooks);
    registerAllSyscalls(this.syscalls);
    this.devices = new DeviceManager(this, options.nicModels ?? defaultNicModels(), options.onConsole);
    this.devices.probe();
    this.hooks.onChange('perf_event:cpu-clock', (hook) => this.devices.timer.setSampling(hook.attached));
  }

  // ---- processes -----------------------------------------------------------------------------------------
  allocatePid(): number {
    while (this.tasks.has(this.nextPid) || this.groups.has(this.nextPid)) this.nextPid++;
    return this.nextPid++;
  }

  newWaitQueue(): WaitQueue {
    return new WaitQueue();
  }

  /** A task object (not yet runnable). */
  newTask(pid: number, group: ThreadGroup, comm: string, nice: number): Task {
    const task = new Task(pid, group, comm, nice, this.clock.now, (t) => this.sched.wakeUp(t));
    task.io = this.ioContextFor(task);
    group.threads.push(task);
    this.tasks.set(pid, task);
    return task;
  }

  /** Point `task` at a fresh run of `program` with argv/envp copied onto its stack. */
  startProgram(task: Task, program: UserProgram, argv: readonly string[], envp: readonly string[]): void {
    const mm = (): AddressSpace => task.group.mm;
    const ctx = { regs: task.regs, mem: new UserMemoryView(mm), argv: [...argv], envp: [...envp], stackTop: STACK_TOP, cloneEntry: undefined };
    task.ctx = ctx;
    task.result = 0;
    task.restarting = false;
    task.computeLeft = 0;
    task.program = program(ctx);
  }

  /**
   * Start a process running the program registered at `path` (the kernel's call_usermodehelper). Its fds
   * 0, 1, 2 are /dev/console. Returns the pid, or throws when the path is not a program.
   */
  spawn(path: string, options: SpawnOptions = {}): number {
    const inode = this.vfs.lookup(this.vfs.root, path, { uid: 0, gid: 0 });
    if (typeof inode === 'number' || inode.program === undefined) {
      throw new Error(`spawn: '${path}' is not a registered program (register it with kernel.vfs.registerProgram)`);
    }
    const pid = this.allocatePid();
    const parent = options.parentPid === undefined ? undefined : this.groups.get(options.parentPid);
    const mm = new AddressSpace(this.phys, `mm:${pid}`);
    mm.setupImage();
    const files = new FdTable((file) => this.releaseFile(file));
    const uid = options.uid ?? 0;
    const cred = { uid, gid: options.gid ?? 0, euid: uid, egid: options.gid ?? 0, capEffective: uid === 0 ? CAP_FULL_SET : 0 };
    const group = new ThreadGroup(pid, parent, mm, files, this.vfs.root, cred, this.newWaitQueue());
    parent?.children.push(group);
    this.groups.set(pid, group);
    for (let fd = 0; fd < 3; fd++) {
      const file = this.vfs.open(this.vfs.root, '/dev/console', fd === 0 ? O.RDONLY : O.WRONLY, 0, cred);
      if (typeof file !== 'number') files.install(file, false);
    }
    const comm = path.slice(path.lastIndexOf('/') + 1).slice(0, 15);
    const task = this.newTask(pid, group, comm, options.nice ?? 0);
    this.startProgram(task, inode.program, options.argv ?? [path], options.envp ?? []);
    this.sched.wakeUpNew(task, undefined);
    return pid;
  }

  /** The task running on the current CPU, if its run loop is active. */
  currentTask(): Task | undefined {
    const cpu = this.sched.cpus[this.currentCpu];
    return cpu !== undefined && cpu.inLoop ? cpu.curr : undefined;
  }

  exitTask(task: Task, reason: ExitReason): void {
    doExit(this, task, reason);
  }

  /** exit_group: every thread of the process exits with `code`. */
  exitGroup(task: Task, code: number): void {
    const group = task.group;
    group.exiting = true;
    group.exitStatus = (code & 0xff) << 8;
    for (const thread of group.threads) {
      if (thread === task) continue;
      if (thread.state === TaskState.SLEEPING) this.sched.wakeUp(thread);
      const cpu = this.sched.cpus[thread.cpu];
      if (thread.state === TaskState.RUNNING && cpu !== undefined) {
        // Interrupt a thread computing on another CPU (the IPI of zap_other_threads).
        cpu.needResched = true;
        this.sched.kick(cpu);
      }
    }
    doExit(this, task, { code });
  }

  /** Drop a dead task from the pid table, keeping its scheduling statistics in `taskHistory`. */
  forgetTask(task: Task): void {
    if (task.state !== TaskState.DEAD || !this.tasks.has(task.pid)) return;
    this.tasks.delete(task.pid);
    const se = task.se;
    this.taskHistory.push({ pid: task.pid, comm: task.comm, cpuNs: se.sumExec, waitSum: se.waitSum, waitMax: se.waitMax, runCount: se.runCount });
  }

  // ---- sleeping ------------------------------------------------------------------------------------------
  /** Put `task` to sleep on `queue` (the caller returns BLOCKED). */
  sleepOn(task: Task, queue: WaitQueue): void {
    task.state = TaskState.SLEEPING;
    queue.add(task);
  }

  /** Put `task` to sleep until virtual time `time` (the caller returns BLOCKED). */
  sleepUntil(task: Task, time: number): void {
    task.state = TaskState.SLEEPING;
    if (task.sleepTimer !== undefined) this.clock.cancel(task.sleepTimer);
    task.sleepTimer = this.clock.at(time, () => {
      task.sleepTimer = undefined;
      this.sched.wakeUp(task);
    });
  }

  private ioContextFor(task: Task): IoContext {
    const clock = this.clock;
    return {
      sleepOn: (queue) => this.sleepOn(task, queue),
      sleepUntil: (time) => this.sleepUntil(task, time),
      signalSelf: (sig) => this.sendSignal(task, sig),
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

  sendSignal(task: Task, sig: number): void {
    sendSignalToTask(this, task, sig);
  }

  // ---- files for other subsystems -------------------------------------------------------------------------
  /**
   * Install an anonymous-inode descriptor (anon_inode_getfd) in `task`'s table: the bpf subsystem calls this
   * for bpf-map, bpf-prog and bpf-link fds. Returns the fd or -EMFILE.
   */
  installFd(task: Task, name: string, ops: FileOperations, privateData: unknown, flags: number = O.RDWR | O.CLOEXEC): number {
    const file = this.anonInodes.file(name, ops, privateData, flags);
    return task.group.files.install(file, (flags & O.CLOEXEC) !== 0);
  }

  /** The open file behind `fd` of `task` (fdget), or undefined. */
  fileOf(task: Task, fd: number): File | undefined {
    return task.group.files.get(fd);
  }

  /** Last close of an open file. */
  releaseFile(file: File): void {
    file.ops.release?.(file);
  }

  /** Resolve the dirfd of an *at call to a directory inode: the inode or -errno. */
  dirFor(task: Task, dirfd: number, path: string): Inode | number {
    if (path.startsWith('/')) return this.vfs.root;
    if (dirfd === AT_FDCWD) return task.group.cwd;
    if (dirfd < 0) return -Errno.EBADF;
    const file = task.group.files.get(dirfd);
    if (file === undefined) return -Errno.EBADF;
    if (!file.inode.isDir) return -Errno.ENOTDIR;
    return file.inode;
  }

  // ---- hooks -----------------------------------------------------------------------------------------------
  /** The 8-byte trace_entry header of a tracepoint record. */
  writeTraceHeader(ctx: number, type: number, pid: number): void {
    const w = this.hookArena.write;
    w.u16(ctx, type);
    w.u8(ctx + 2, 0);
    w.u8(ctx + 3, 0);
    w.i32(ctx + 4, pid);
  }

  /** Call `hook`'s handlers with the context at `ctx`, as `task` on `cpu`. */
  runHook(hook: HookPoint, ctx: number, cpu: number, task: Task | undefined): number {
    const invocation = this.hookArena.prepare(hook, ctx, cpu);
    invocation.pid = task?.pid ?? 0;
    invocation.tgid = task?.tgid ?? 0;
    invocation.comm = task?.comm ?? `swapper/${cpu}`;
    invocation.uid = task?.group.cred.uid ?? 0;
    invocation.now = this.clock.now;
    invocation.mm = task?.group.mm;
    return this.hookArena.run(hook, invocation);
  }

  fireKprobe(fn: string, task: Task | undefined, ...args: number[]): void {
    this.lsm.kprobe(fn, task, args);
  }

  fireKretprobe(fn: string, task: Task | undefined, ret: number): void {
    this.lsm.kretprobe(fn, task, ret);
  }

  // ---- running -------------------------------------------------------------------------------------------
  stepTask(cpu: Cpu, task: Task): void {
    stepTask(this, cpu, task);
  }

  /**
   * Run virtual time forward: until no event is left (every task exited or blocked forever), virtual time
   * `untilNs`, or `maxEvents` events. Returns the virtual time reached.
   */
  run(options: { untilNs?: number; maxEvents?: number } = {}): number {
    const until = options.untilNs ?? Infinity;
    const maxEvents = options.maxEvents ?? Infinity;
    let events = 0;
    while (events < maxEvents && this.clock.step(until)) events++;
    // Stopped by the time limit with work still pending: time has reached the limit. An empty queue means
    // the system went quiet earlier, and the clock stays where the last event left it.
    if (until !== Infinity && this.clock.pending > 0 && this.clock.now < until && this.clock.nextTime() > until) this.clock.now = until;
    return this.clock.now;
  }

  /** Whether any process is still alive (not counting zombies). */
  get alive(): number {
    let count = 0;
    for (const task of this.tasks.values()) if (task.state !== TaskState.ZOMBIE && task.state !== TaskState.DEAD) count++;
    return count;
  }
}

/** Build a kernel from a (partial) configuration; unspecified fields take their defaults. */
export function createKernel(config: KernelConfigInput = {}, options: KernelOptions = {}): Kernel {
  return new Kernel(KernelConfigSchema.parse(config), options);
}
