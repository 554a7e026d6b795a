import { CAP_FULL_SET, O } from '@ebpf-sim/uapi';
import { KernelConfigSchema, type KernelConfig, type KernelConfigInput } from './config.js';
import { DeviceManager } from './drivers/devices.js';
import { defaultNicModels, type NicModelRegistry } from './drivers/net/model.js';
import { AnonInodes } from './fs/anon-inode.js';
import { Bpffs, BpfPinning } from './fs/bpffs.js';
import { CgroupHierarchy } from './cgroup/cgroup.js';
import { Cgroupfs } from './cgroup/cgroupfs.js';
import { FdTable } from './fs/fdtable.js';
import { releaseFile } from './fs/file.js';
import { Procfs, type ProcFileName } from './fs/procfs.js';
import { ProcSys } from './fs/procsys.js';
import { SysctlTable } from './fs/sysctl.js';
import { Sysfs } from './fs/sysfs.js';
import { KernelAddressVisibility, procKallsymsInode, registerKptrRestrict } from './fs/proc-kallsyms.js';
import { renderErrorInjectionList } from './hooks/error-injection.js';
import { Tracefs } from './fs/tracefs.js';
import { Vfs } from './fs/vfs.js';
import { HookArena } from './hooks/arena.js';
import { KprobeSites } from './hooks/kprobes.js';
import { SecurityHooks } from './hooks/lsm.js';
import { HookRegistry } from './hooks/registry.js';
import { rawTracepointHookName } from './hooks/registry.js';
import { AddressSpace } from './mm/address-space.js';
import { PhysicalMemory } from './mm/physmem.js';
import { NetStack } from './net/stack.js';
import { PerfEventSubsystem, registerPerfEventOpen } from './perf/perf-event.js';
import { SchedCore } from './sched/core.js';
import { defaultSchedulers } from './sched/policies.js';
import type { SchedulerRegistry } from './sched/scheduler.js';
import { WaitQueue } from './sched/wait.js';
import type { CurrentTask, KernelInternals, KernelStats, SchedTracepoints, UserMemory } from './services.js';
import { registerAllSyscalls } from './syscalls/register.js';
import { registerEpollSyscalls } from './syscalls/epoll.js';
import { SyscallTable } from './syscalls/table.js';
import { createTask, startProgram } from './task/create.js';
import { doExit } from './task/exit.js';
import { TaskStructs } from './task/task-struct.js';
import { renderFdinfo, renderProcFile } from './task/proc-render.js';
import { SignalDelivery } from './task/signal.js';
import { stepTask } from './task/step.js';
import { TaskState, ThreadGroup, type CrashRecord, type ExitRecord, type Task, type TaskRecord } from './task/task.js';
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

/** A task's user memory is its process's current address space. */
const userMemoryOfTasks: UserMemory = { of: (task) => task.group.mm };

/**
 * The simulated kernel. Build one with `createKernel(config)`, register programs, `spawn` processes and
 * `run` virtual time forward. It implements KernelServices (services.ts): subsystems and the bpf subsystem
 * take the kernel as `Pick<KernelServices, ...>` of what they use. Its fields are the subsystems: `syscalls`
 * (the table), `hooks` (the hook-point registry), `hookArena` (building contexts, firing hooks), `phys`
 * (physical memory and kmalloc), `fds` (anonymous-inode descriptors), `pinning` (bpffs), `vfs`, `sched`.
 */
export class Kernel implements KernelInternals {
  readonly config: KernelConfig;
  readonly clock = new Clock();
  readonly random: Prng;
  readonly trace: TraceLog;
  readonly phys: PhysicalMemory;
  readonly taskStructs: TaskStructs;
  readonly hooks = new HookRegistry();
  readonly hookArena: HookArena;
  readonly tracepoints: SchedTracepoints;
  /** kprobe/kretprobe call sites of the modelled kernel functions. */
  readonly kprobes: KprobeSites;
  /** The LSM hooks' call sites (security_file_open, ...). */
  readonly security: SecurityHooks;
  readonly vfs: Vfs;
  readonly procfs: Procfs;
  readonly bpffs: Bpffs;
  readonly pinning: BpfPinning;
  readonly fds: AnonInodes;
  /** The sysctl table (/proc/sys). */
  readonly sysctl = new SysctlTable();
  /** /proc/sys: the sysctl table as files. */
  readonly procSys: ProcSys;
  /** perf_event_open(2) and BPF output events (PERF_EVENT_ARRAY values). */
  readonly perfEvents: PerfEventSubsystem;
  /** perf events as BPF attach targets (the same subsystem). */
  readonly perfBpf: PerfEventSubsystem;
  /** tracefs at /sys/kernel/tracing: the trace buffer bpf_trace_printk writes to (trace_pipe, trace). */
  readonly tracing: Tracefs;
  /** Read-only files subsystems publish under /sys. */
  readonly sysfs: Sysfs;
  /** kallsyms_show_value: who sees kernel addresses. */
  readonly kallsyms: KernelAddressVisibility;
  /** cgroup v2: the hierarchy every task belongs to, and cgroupfs at /sys/fs/cgroup. */
  readonly cgroups: CgroupHierarchy;
  readonly cgroupfs: Cgroupfs;
  readonly userMemory: UserMemory = userMemoryOfTasks;
  readonly signals: SignalDelivery;
  readonly sched: SchedCore;
  /** get_current / smp_processor_id (the scheduler core keeps them). */
  readonly current: CurrentTask;
  readonly syscalls: SyscallTable;
  readonly devices: DeviceManager;
  /** The network stack: lo and the NICs, routes, sockets (sockets' syscalls reach it through the kernel). */
  readonly net: NetStack;
  readonly tasks = new Map<number, Task>();
  readonly groups = new Map<number, ThreadGroup>();
  readonly exited = new Map<number, ExitRecord>();
  readonly crashes: CrashRecord[] = [];
  /** Scheduling statistics of every task that has gone. */
  readonly taskHistory: TaskRecord[] = [];
  readonly stats: KernelStats = { syscalls: 0, contextSwitches: 0 };
  readonly limits = { maxTasks: 4096 };
  private nextPid = 1;

  constructor(config: KernelConfig, options: KernelOptions = {}) {
    this.config = config;
    this.random = new Prng(config.seed);
    this.trace = new TraceLog(config.trace.enabled, config.trace.maxLines);
    this.trace.syscalls = config.trace.enabled && config.trace.syscalls;
    this.phys = new PhysicalMemory(config.memoryBytes, options.memory);
    this.taskStructs = new TaskStructs(this.phys, config.cpus);
    this.hookArena = new HookArena(this.phys, config.cpus, this.clock);
    this.tracepoints = {
      schedSwitch: this.hooks.require('sched:sched_switch'),
      schedWakeup: this.hooks.require('sched:sched_wakeup'),
      processFork: this.hooks.require('sched:sched_process_fork'),
      processExec: this.hooks.require('sched:sched_process_exec'),
      processExit: this.hooks.require('sched:sched_process_exit'),
      rawSchedSwitch: this.hooks.require(rawTracepointHookName('sched_switch')),
      rawSchedWakeup: this.hooks.require(rawTracepointHookName('sched_wakeup')),
      rawProcessFork: this.hooks.require(rawTracepointHookName('sched_process_fork')),
      rawProcessExec: this.hooks.require(rawTracepointHookName('sched_process_exec')),
      rawProcessExit: this.hooks.require(rawTracepointHookName('sched_process_exit')),
    };
    const schedulers = options.schedulers ?? defaultSchedulers();
    this.sched = new SchedCore(this, schedulers.create(config.sched.policy, config.sched.options), config.cpus, {
      step: (cpu, task) => stepTask(this, cpu, task),
      exit: (task, reason) => doExit(this, task, reason),
    });
    this.current = this.sched;
    this.kprobes = new KprobeSites(this);
    this.security = new SecurityHooks(this);
    this.signals = new SignalDelivery(this);
    this.vfs = new Vfs(this.clock);
    this.procfs = new Procfs(2, {
      tgids: () => [...this.groups.keys()].sort((a, b) => a - b),
      render: (pid, name: ProcFileName) => renderProcFile(this.groups, pid, name),
      currentTgid: () => this.sched.currentTask()?.tgid ?? 0,
      fds: (pid) =>
        this.groups
          .get(pid)
          ?.files.entries()
          .map(([fd]) => fd),
      fdinfo: (pid, fd) => renderFdinfo(this.groups, pid, fd),
    });
    this.vfs.mount('/proc', this.procfs.root);
    this.procSys = new ProcSys(5, { sysctl: this.sysctl, currentTask: () => this.sched.currentTask() });
    this.procfs.add('sys', this.procSys.root);
    this.kallsyms = new KernelAddressVisibility(registerKptrRestrict(this.sysctl), () => this.sysctl.get('kernel.perf_event_paranoid')?.value ?? 2);
    this.procfs.add('kallsyms', procKallsymsInode(2, { currentTask: () => this.sched.currentTask(), addresses: this.kallsyms }));
    this.bpffs = new Bpffs(3, this.clock);
    this.vfs.mount('/sys/fs/bpf', this.bpffs.root);
    this.pinning = new BpfPinning(this.vfs, this.bpffs);
    this.tracing = new Tracefs(6, { current: this.sched, clock: this.clock, running: (cpu) => this.hookArena.running(cpu), nrCpus: config.cpus });
    this.vfs.mount('/sys/kernel/tracing', this.tracing.root);
    this.fds = new AnonInodes(this.vfs, 4);
    this.sysfs = new Sysfs(this.vfs, 7);
    this.cgroupfs = new Cgroupfs(
      8,
      (_fs, rootIno) => new CgroupHierarchy(this, rootIno),
      { groups: this.groups, currentTask: () => this.sched.currentTask() },
      this.clock,
    );
    this.cgroups = this.cgroupfs.cgroups;
    this.vfs.mount('/sys/fs/cgroup', this.cgroupfs.root);
    // debugfs's error_injection/list, at its usual mount point (debugfs itself is not modelled: one read-only file).
    this.sysfs.addReadOnly('/sys/kernel/debug/error_injection/list', new TextEncoder().encode(renderErrorInjectionList()));
    this.vfs.mkdirp('/tmp');
    this.vfs.mkdirp('/bin');
    this.syscalls = new SyscallTable(this);
    registerAllSyscalls(this.syscalls, this);
    this.perfEvents = new PerfEventSubsystem(this);
    registerPerfEventOpen(this.syscalls, this.perfEvents);
    registerEpollSyscalls(this.syscalls, this);
    this.perfEvents.clock = this.clock;
    this.devices = new DeviceManager(this, options.nicModels ?? defaultNicModels(), options.onConsole);
    this.devices.probe();
    this.net = new NetStack(this);
    this.hooks.onChange('perf_event:cpu-clock', (hook) => this.devices.timer.setSampling(hook.attached));
    this.perfBpf = this.perfEvents;
    this.tracing.publishEvents(this.hooks);
    // The possible CPUs as drivers/base/cpu.c prints the mask ("0" or "0-3"): what libbpf and bpftool read to size per-CPU values.
    this.sysfs.addReadOnly('/sys/devices/system/cpu/possible', new TextEncoder().encode(config.cpus === 1 ? '0\n' : `0-${config.cpus - 1}\n`));
    // /sys/class/net/<name>/ifindex as net-sysfs publishes it: how user space here maps a device name to its ifindex
    // (Linux's if_nametoindex asks with ioctl(SIOCGIFINDEX), which the model does not have).
    for (const nic of this.devices.nics) this.sysfs.addReadOnly(`/sys/class/net/${nic.name}/ifindex`, new TextEncoder().encode(`${nic.ifindex}\n`));
  }

  // ---- processes -----------------------------------------------------------------------------------------
  allocatePid(): number {
    while (this.tasks.has(this.nextPid) || this.groups.has(this.nextPid)) this.nextPid++;
    return this.nextPid++;
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
    if (!this.taskStructs.roomForTask) throw new RangeError(`spawn: '${path}': out of memory for a task_struct`);
    const pid = this.allocatePid();
    const parent = options.parentPid === undefined ? undefined : this.groups.get(options.parentPid);
    const mm = new AddressSpace(this.phys, `mm:${pid}`);
    mm.setupImage();
    const files = new FdTable(releaseFile);
    const uid = options.uid ?? 0;
    const cred = { uid, gid: options.gid ?? 0, euid: uid, egid: options.gid ?? 0, capEffective: uid === 0 ? CAP_FULL_SET : 0 };
    const group = new ThreadGroup(pid, parent, mm, files, this.vfs.root, cred, new WaitQueue());
    parent?.children.push(group);
    this.groups.set(pid, group);
    for (let fd = 0; fd < 3; fd++) {
      const file = this.vfs.open(this.vfs.root, '/dev/console', fd === 0 ? O.RDONLY : O.WRONLY, 0, cred);
      if (typeof file !== 'number') files.install(file, false);
    }
    const comm = path.slice(path.lastIndexOf('/') + 1).slice(0, 15);
    const task = createTask(this, pid, group, comm, options.nice ?? 0);
    // Processes the kernel starts are init's: they begin in the root cgroup.
    this.cgroups.enter(task, this.cgroups.root);
    startProgram(task, inode.program, options.argv ?? [path], options.envp ?? []);
    this.sched.wakeUpNew(task, undefined);
    return pid;
  }

  /** Drop a dead task from the pid table, keeping its scheduling statistics in `taskHistory`. */
  forgetTask(task: Task): void {
    if (task.state !== TaskState.DEAD || !this.tasks.has(task.pid)) return;
    this.tasks.delete(task.pid);
    this.taskStructs.release(task);
    const se = task.se;
    this.taskHistory.push({ pid: task.pid, comm: task.comm, cpuNs: se.sumExec, waitSum: se.waitSum, waitMax: se.waitMax, runCount: se.runCount });
  }

  // ---- running -------------------------------------------------------------------------------------------
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
