/**
 * The kernel's services as small interfaces, one need at a time (as packages/verifier/src/env.ts does for the
 * verifier's checkers). A subsystem, syscall handler or BPF helper declares what it uses as
 * `Pick<KernelServices, ...>` and gets exactly that: the kernel passes itself (it implements every
 * interface here), and a test hand-makes only the few objects the code under test touches, with no
 * `createKernel` (see services.test.ts).
 *
 * `KernelServices` is what the bpf subsystem may use (maps, helpers, the bpf() handler, attaching);
 * `KernelInternals` adds the parts the kernel's own subsystems share (the task table, the scheduler, the
 * VFS, the hook sites).
 */
import type { CgroupHierarchy } from './cgroup/cgroup.js';
import type { KernelConfig } from './config.js';
import type { DeviceManager } from './drivers/devices.js';
import type { File, FileOperations } from './fs/file.js';
import type { SysfsFiles } from './fs/sysfs.js';
import type { Inode } from './fs/inode.js';
import type { KernelAddressVisibility } from './fs/proc-kallsyms.js';
import type { Vfs } from './fs/vfs.js';
import type { HookArena } from './hooks/arena.js';
import type { HookPoint } from './hooks/hook.js';
import type { KprobeSites } from './hooks/kprobes.js';
import type { NetStack, SocketFilterProvider } from './net/stack.js';
import type { TcpCongestionControl } from './net/tcp-cong.js';
import type { SecurityHooks } from './hooks/lsm.js';
import type { HookRegistry } from './hooks/registry.js';
import type { MemoryCharge, PhysicalMemory } from './mm/physmem.js';
import type { UserCopy } from './mm/user-memory.js';
import type { SchedCore } from './sched/core.js';
import type { SyscallTable } from './syscalls/table.js';
import type { TaskStructs } from './task/task-struct.js';
import type { CrashRecord, ExitRecord, Task, TaskRecord, ThreadGroup } from './task/task.js';
import type { Clock, TimerEvent } from './time/clock.js';
import type { TraceLog } from './trace/trace.js';

/** get_current and smp_processor_id. SchedCore implements it. */
export interface CurrentTask {
  /** The CPU whose code runs now: the run loop's CPU, or the CPU an interrupt is delivered to (drivers set it). */
  currentCpu: number;
  /** The task running on the current CPU; undefined in interrupt context and on an idle CPU. */
  currentTask(): Task | undefined;
  /**
   * `current` as a kernel address (bpf_get_current_task): the running task's task_struct, or, when no task
   * runs, the idle task (swapper/N) of `cpu`, the CPU the caller runs on.
   */
  currentTaskStruct(cpu: number): number;
}

/** A task's user memory, for copy_from_user / copy_to_user / strncpy_from_user (bpf_attr, helper buffers). */
export interface UserMemory {
  /** The user memory of `task`'s process (its current address space: execve replaces it). */
  of(task: Task): UserCopy;
}

/** Descriptors for objects that have no path (anon_inode_getfd, fdget, close_fd). AnonInodes implements it. */
export interface FileDescriptors {
  /** A new file `anon_inode:<name>` with `ops` and `privateData`, installed in `task`'s table: the fd, or -EMFILE. */
  installFd(task: Task, name: string, ops: FileOperations, privateData: unknown, flags?: number): number;
  /** The open file behind `fd` of `task`, or undefined (check `file.ops` to know its kind). */
  fdget(task: Task, fd: number): File | undefined;
  /** Close `fd` of `task`: 0 or -EBADF. The file's `release` runs when its last descriptor goes. */
  closeFd(task: Task, fd: number): number;
}

/** Virtual time and timers (ktime_get_ns, hrtimers, bpf_timer). Clock implements it. */
export interface KernelTime {
  /** Virtual time now, ns. */
  readonly now: number;
  /** Run `fire` at virtual time `time` (never earlier than now). */
  at(time: number, fire: () => void): TimerEvent;
  /** Run `fire` `delay` ns from now. */
  after(delay: number, fire: () => void): TimerEvent;
  cancel(event: TimerEvent): void;
}

/** The kernel's seeded PRNG (get_random_u32, bpf_get_prandom_u32). Prng implements it. */
export interface RandomSource {
  nextU32(): number;
  fill(bytes: Uint8Array): void;
}

/** Finding hook points and attaching programs to them (`hook.attach`). HookRegistry implements it. */
export type HookAttach = Pick<HookRegistry, 'get' | 'require' | 'list' | 'onChange'>;

/**
 * Building a context in physical memory and running a hook's programs: BPF_PROG_TEST_RUN, helpers that fire
 * tracepoints. `bpfProgActive` is the per-CPU counter the `cpu` recursion guard uses. HookArena implements it.
 */
export type HookFiring = Pick<HookArena, 'write' | 'begin' | 'end' | 'fire' | 'completed' | 'bpfProgActive' | 'nrCpus'>;

/** Sending signals (bpf_send_signal, bpf_send_signal_thread). SignalDelivery implements it. */
export interface Signals {
  /** send_signal to one thread. */
  send(task: Task, sig: number): void;
  /** A process-directed signal: to the group leader, or another live thread. */
  sendToGroup(group: ThreadGroup, sig: number): void;
}

/**
 * Physical memory as subsystems use it: kmalloc with per-owner accounting (map memory charged to e.g.
 * 'bpf-map:3'), and the bytes programs run against. PhysicalMemory implements it.
 */
export interface KernelMemory {
  /** The WebAssembly.Memory to hand to the VM. */
  readonly memory: WebAssembly.Memory;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** `size` bytes charged to `owner`: the physical address, or -1 (the caller answers ENOMEM). */
  kmalloc(size: number, owner: string): number;
  kfree(address: number): void;
  usageOf(owner: string): MemoryCharge;
}

/** Pinning objects in the BPF file system (BPF_OBJ_PIN, BPF_OBJ_GET). BpfPinning implements it. */
export interface Pinning {
  /** Pin `object` at `path` (resolved from `task`'s cwd): 0, or -errno (EPERM outside bpffs, EEXIST, ENOENT, EACCES). */
  pin(task: Task, path: string, object: unknown, fops: FileOperations): number;
  /** The object pinned at `path` for an open with access mode `accessMode` (O_RDONLY/O_WRONLY/O_RDWR): the inode (its privateData is the object, fops its operations), or -errno. */
  get(task: Task, path: string, accessMode: number): Inode | number;
}

/**
 * bpf_trace_printk's sink: tracefs's `trace_pipe` (and `trace`). The kernel writes Linux's line, prefixing the
 * message with the current task and CPU: `<comm>-<pid> [<cpu>] <flags> <ts>: bpf_trace_printk: <message>`.
 */
export interface TracePipe {
  printk(message: string): void;
}

/** A perf event that takes BPF output (PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT), as perf_event_output writes it. */
export interface PerfOutputEvent {
  /** The CPU the event was opened on (-1: any CPU). */
  readonly cpu: number;
  /**
   * Append a PERF_RECORD_SAMPLE carrying PERF_SAMPLE_RAW `length` bytes from `bytes` at `offset` to the event's
   * mmap'ed ring: 0, or -ENOSPC when it does not fit (counted, and reported later as PERF_RECORD_LOST).
   */
  outputSample(bytes: Uint8Array, offset: number, length: number): number;
}

/** perf events as the bpf subsystem reaches them (PERF_EVENT_ARRAY values are perf event fds). */
export interface PerfEvents {
  /** The BPF-output event behind an open perf event file, or undefined for any other file or event. */
  bpfOutputOf(file: File): PerfOutputEvent | undefined;
}

/** What a perf event counts, as perf_event_set_bpf_prog tells events apart (tracing events vs the rest). */
export type PerfEventKind = 'tracepoint' | 'kprobe' | 'kretprobe' | 'software';

/** A perf event a BPF program can be set on (PERF_EVENT_IOC_SET_BPF, BPF_LINK_CREATE with BPF_PERF_EVENT). */
export interface PerfBpfEvent {
  /** The event id (PERF_EVENT_IOC_ID). */
  readonly id: number;
  readonly kind: PerfEventKind;
  /** attr.type and attr.config as opened (bpf_link_info.perf_event.event). */
  readonly attrType: number;
  readonly config: number;
  /**
   * Where the event's program runs: for tracing events the tracepoint's or probe's hook, whose program list is
   * the tp_event's prog_array shared by every perf event on it (so the program runs on every CPU, whatever the
   * event's cpu and pid); for a cpu-clock event its own sampling hook; undefined for an event that never
   * overflows into a program (BPF output).
   */
  readonly hook: HookPoint | undefined;
  /** The tracepoint's event name (`sys_enter_openat`) or the probed function (`vfs_read`); '' for software events. */
  readonly name: string;
  /** The probe's offset into the function (always 0: only function entries are probed). */
  readonly probeOffset: number;
  /** event->prog and what the bpf subsystem keeps with it (the cookie, the attachment); undefined when none is set. */
  bpf: unknown;
}

/** What the bpf subsystem does for perf events (registered with {@link PerfEventBpfHost.setBpfOps} at registerBpf). */
export interface PerfEventBpfOps {
  /** PERF_EVENT_IOC_SET_BPF: bpf_prog_get(progFd), then perf_event_set_bpf_prog with cookie 0: 0 or -errno. */
  setBpf(task: Task, event: PerfBpfEvent, progFd: number): number;
  /** perf_event_free_bpf_prog: the event is going: detach its program and drop the reference it held. */
  freeBpf(event: PerfBpfEvent): void;
}

/** perf events as attach targets: the kernel side of SET_BPF and of perf links (the kernel knows nothing of eBPF). */
export interface PerfEventBpfHost {
  /** The bpf subsystem plugs its side in; until then SET_BPF fails with EOPNOTSUPP, as bpf_prog_get without CONFIG_BPF_SYSCALL. */
  setBpfOps(ops: PerfEventBpfOps): void;
  /** perf_event_get: the perf event file behind `fd` with a reference taken (fget), or -EBADF (no file, or not a perf event). */
  fget(task: Task, fd: number): File | number;
  /** Drop a reference {@link fget} took; the last one releases the event. */
  fput(file: File): void;
  /** The event behind a perf event file (perf_get_event), or undefined for another file. */
  bpfEventOf(file: File): PerfBpfEvent | undefined;
}

/** One integer sysctl under /proc/sys; `value` is read in place on hot paths. */
export interface SysctlEntry {
  value: number;
}

/** Registering sysctls (`kernel.bpf_stats_enabled` is `/proc/sys/kernel/bpf_stats_enabled`). */
export interface Sysctls {
  /**
   * Register an integer sysctl. Reading the file gives `<value>\n`; writing parses an integer and calls
   * `write(task, value, old)`, which answers 0 to store it or -errno (EPERM, EINVAL) to refuse it; without
   * `write`, only CAP_SYS_ADMIN may write.
   */
  register(name: string, initial: number, write?: (task: Task, value: number, old: number) => number): SysctlEntry;
}

/** The network stack as the bpf subsystem reaches it: where it registers SO_ATTACH_BPF's provider at boot. */
export interface SocketFilterSlot {
  socketFilters: SocketFilterProvider | undefined;
  /** The live socket whose struct sock is at `sk` (a BPF program's socket pointer: bpf_sk_storage_get's owner). */
  socketAt?(sk: number): object | undefined;
  /** The TCP congestion controls (struct_ops tcp_congestion_ops registers BPF ones here); absent: no TCP. */
  readonly congestion?: TcpCongestionControl;
}

/** Every service, by name: what the bpf subsystem may reach. `Kernel` implements it. */
export interface KernelServices {
  readonly current: CurrentTask;
  readonly userMemory: UserMemory;
  readonly fds: FileDescriptors;
  readonly clock: KernelTime;
  readonly random: RandomSource;
  readonly hooks: HookAttach;
  readonly hookArena: HookFiring;
  readonly signals: Signals;
  readonly phys: KernelMemory;
  readonly pinning: Pinning;
  readonly sysctl: Sysctls;
  readonly tracing: TracePipe;
  readonly perfEvents: PerfEvents;
  /** perf events as BPF attach targets (SET_BPF, perf links). */
  readonly perfBpf: PerfEventBpfHost;
  /** Read-only files published under /sys (the bpf subsystem's /sys/kernel/btf/vmlinux). */
  readonly sysfs: SysfsFiles;
  /** The network stack (socket filters). */
  readonly net: SocketFilterSlot;
  /** kallsyms_show_value: whether a task sees kernel addresses (kprobe link info, BPF_TASK_FD_QUERY). */
  readonly kallsyms: Pick<KernelAddressVisibility, 'shownTo'>;
}

/** The sched tracepoints the scheduler and the task code fire. */
export interface SchedTracepoints {
  readonly schedSwitch: HookPoint;
  readonly schedWakeup: HookPoint;
  readonly processFork: HookPoint;
  readonly processExec: HookPoint;
  readonly processExit: HookPoint;
  /** Their raw tracepoints (`raw_tp:<name>`), fired at the same sites with the TP_PROTO arguments (hooks/raw-tracepoints.ts). */
  readonly rawSchedSwitch: HookPoint;
  readonly rawSchedWakeup: HookPoint;
  readonly rawProcessFork: HookPoint;
  readonly rawProcessExec: HookPoint;
  readonly rawProcessExit: HookPoint;
}

/** Kernel-wide counters. */
export interface KernelStats {
  syscalls: number;
  contextSwitches: number;
}

/**
 * What the kernel's own subsystems share, each module taking `Pick<KernelInternals, ...>` of what it uses.
 * The fields are the subsystems themselves; the kernel passes itself.
 */
export interface KernelInternals extends KernelServices {
  readonly config: KernelConfig;
  readonly clock: Clock;
  readonly trace: TraceLog;
  readonly stats: KernelStats;
  readonly limits: { maxTasks: number };
  readonly phys: PhysicalMemory;
  readonly hooks: HookRegistry;
  readonly hookArena: HookArena;
  readonly tracepoints: SchedTracepoints;
  readonly kprobes: KprobeSites;
  readonly security: SecurityHooks;
  readonly vfs: Vfs;
  readonly sched: SchedCore;
  readonly syscalls: SyscallTable;
  readonly devices: DeviceManager;
  /** The network stack: devices' addresses, routes, sockets (net/). */
  readonly net: NetStack;
  /** The task_struct, cred and mm_struct of every task in kernel memory. */
  readonly taskStructs: TaskStructs;
  /** cgroup v2: the hierarchy tasks belong to (cgroup/cgroup.ts). */
  readonly cgroups: CgroupHierarchy;
  /** Live tasks by pid, and processes by tgid. */
  readonly tasks: Map<number, Task>;
  readonly groups: Map<number, ThreadGroup>;
  /** Reaped processes, programs that died of a fault, and the statistics of tasks that have gone. */
  readonly exited: Map<number, ExitRecord>;
  readonly crashes: CrashRecord[];
  readonly taskHistory: TaskRecord[];
  /** The next free pid (alloc_pid). */
  allocatePid(): number;
  /** Drop a dead task from the pid table, keeping its scheduling statistics in `taskHistory`. */
  forgetTask(task: Task): void;
}
