export { createKernel, Kernel, type KernelOptions, type SpawnOptions, type ExitRecord, type CrashRecord } from './kernel.js';
export {
  KernelConfigSchema,
  NicConfigSchema,
  BlockConfigSchema,
  type KernelConfig,
  type KernelConfigInput,
  type NicConfig,
  type BlockConfig,
} from './config.js';
export { Clock, type TimerEvent } from './time/clock.js';
export { Prng } from './time/prng.js';
export { TraceLog } from './trace/trace.js';
export {
  SchedulerRegistry,
  selectIdleOrLeastLoaded,
  ENQUEUE_WAKEUP,
  ENQUEUE_NEW,
  ENQUEUE_MIGRATE,
  type Scheduler,
  type SchedulerFactory,
  type SchedTask,
  type CpuLoad,
} from './sched/scheduler.js';
export { defaultSchedulers } from './sched/policies.js';
export { FifoScheduler, TaskQueue } from './sched/fifo.js';
export { RoundRobinScheduler, RR_TIMESLICE_NS } from './sched/rr.js';
export { CfsScheduler, CFS_DEFAULTS, type CfsTunables } from './sched/cfs.js';
export { SCHED_PRIO_TO_WEIGHT, NICE_0_LOAD, niceToWeight } from './sched/weights.js';
export type { SchedEntity } from './sched/entity.js';
export { BLOCKED, NO_RETURN, WaitQueue } from './sched/wait.js';
export { Task, ThreadGroup, TaskState, hasCapability, type Cred } from './task/task.js';
export { PhysicalMemory, type MemoryCharge } from './mm/physmem.js';
export { AddressSpace, type Vma, type FaultStats } from './mm/address-space.js';
export { UserFault } from './mm/user-memory.js';
export { File, type FileOperations, type IoContext, type DirEntry } from './fs/file.js';
export { Inode, type DirectoryOperations, type Credentials } from './fs/inode.js';
export { Vfs } from './fs/vfs.js';
export { Bpffs } from './fs/bpffs.js';
export { FdTable } from './fs/fdtable.js';
export { HookPoint, type HookHandler, type HookInvocation, type HookKind, type ContextField } from './hooks/hook.js';
export { HookRegistry, KPROBE_FUNCTIONS } from './hooks/registry.js';
export { LSM_HOOKS, LSM_FILE_VIEW, LSM_BPRM_VIEW, LSM_TASK_VIEW, LSM_VIEW_OFFSET, LSM_CONTEXT_SIZE } from './hooks/lsm.js';
export { readU64, ContextWriter } from './hooks/context-writer.js';
export * from './hooks/kernel-objects.js';
export { HookArena, HOOK_ARENA_PER_CPU } from './hooks/arena.js';
export { SchedCore } from './sched/core.js';
export { Cpu, type CpuStats } from './sched/cpu.js';
export { SyscallTable, type SyscallHandler, type SyscallEntry } from './syscalls/table.js';
export {
  SimpleNic,
  LoopbackNic,
  NicModelRegistry,
  defaultNicModels,
  NAPI_POLL_WEIGHT,
  type NetDevice,
  type NicFactory,
  type NicStats,
  type WireFrame,
} from './drivers/net/model.js';
export { readPcap, writePcap, LINKTYPE_ETHERNET, type PcapFile, type PcapRecord } from './drivers/net/pcap.js';
export { pcapSource, udpFlowSource, buildUdpFrame, type PacketSource, type ArrivingFrame, type UdpFlowOptions } from './drivers/net/packet-source.js';
export { BlockDevice, type BlockStats } from './drivers/block.js';
export { Console } from './drivers/console.js';
export { kernelMetrics, type KernelMetrics } from './metrics.js';
export { runShellWorkload, type ShellRun } from './workload/shell.js';
export { shell, producer, consumer, SHELL_PROGRAMS } from './user/shell-workload.js';
export { benchKernel, type KernelBenchRow } from './bench.js';
export type { TaskRecord } from './kernel.js';
export { formatKernelBenchTable, formatMetricsTable, formatTaskTable, formatHookTour } from './report.js';
export { runHookTour, type HookTour } from './workload/hook-tour.js';
