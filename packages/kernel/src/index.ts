export { SysctlTable, type SysctlSlot } from './fs/sysctl.js';
export { Sysfs, type SysfsFiles } from './fs/sysfs.js';
export { createKernel, Kernel, type KernelOptions, type SpawnOptions } from './kernel.js';
export type {
  KernelServices,
  KernelInternals,
  CurrentTask,
  UserMemory,
  FileDescriptors,
  KernelTime,
  RandomSource,
  HookAttach,
  HookFiring,
  Signals,
  KernelMemory,
  Pinning,
  TracePipe,
  PerfOutputEvent,
  PerfEvents,
  PerfBpfEvent,
  PerfEventBpfHost,
  PerfEventBpfOps,
  PerfEventKind,
  SysctlEntry,
  Sysctls,
  SchedTracepoints,
  KernelStats,
  SocketFilterSlot,
} from './services.js';
export { NetStack, type SocketFilterProvider, type NetServices, type NetStats } from './net/stack.js';
export { Socket, type SockAddr, type ProtoOps, type AttachedFilter } from './net/socket.js';
export {
  ICSK_CA_PRIV_SIZE,
  TCP_CA_EVENT,
  TCP_CA_STATE,
  TCP_CONG,
  TCP_INFINITE_SSTHRESH,
  TCP_INIT_CWND,
  TCP_RENO,
  TCP_RENO_NAME,
  TCP_SOCK,
  TcpCongestionControl,
  TcpCwnd,
  readTcpCwnd,
  tcpCongAvoidAi,
  tcpRenoCongAvoid,
  tcpRenoSsthresh,
  tcpRenoUndoCwnd,
  tcpSlowStart,
  writeTcpCwnd,
  type TcpCaSocket,
  type TcpCongestionOps,
} from './net/tcp-cong.js';
export { buildFrame, parseIpv4, type Ipv4Packet } from './net/headers.js';
export type { NetInterface } from './net/interface.js';
export {
  KernelConfigSchema,
  NR_CPUS,
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
export { Task, ThreadGroup, TaskState, hasCapability, type Cred, type ExitReason, type ExitRecord, type CrashRecord, type TaskRecord } from './task/task.js';
export { TaskStructs } from './task/task-struct.js';
export {
  KERNEL_TYPES,
  TASK_STRUCT,
  CRED,
  MM_STRUCT,
  KUID,
  ATOMIC,
  TASK_COMM_LEN,
  TASK_RUNNING,
  TASK_INTERRUPTIBLE,
  TASK_DEAD,
  EXIT_DEAD,
  EXIT_ZOMBIE,
  PF_IDLE,
  PF_EXITING,
  PF_KTHREAD,
} from './task/layout.js';
export { KernelTypeTable, parseCType, POINTER_SIZE, type CType, type KernelField, type KernelStruct, type KernelTypedef } from './lib/ctype.js';
export { PhysicalMemory, type MemoryCharge } from './mm/physmem.js';
export { KmemCache } from './mm/slab.js';
export { AddressSpace, type Vma, type FaultStats } from './mm/address-space.js';
export { UserFault, type UserCopy } from './mm/user-memory.js';
export { File, releaseFile, type FileOperations, type IoContext, type DirEntry } from './fs/file.js';
export type { PollTable, FileReleaseWatch } from './fs/file.js';
export { EventPoll, EpItem, eventpollFileOps, epollOf } from './fs/eventpoll.js';
export { IrqWork } from './sched/irq-work.js';
export { Inode, type DirectoryOperations, type Credentials } from './fs/inode.js';
export { Vfs } from './fs/vfs.js';
export { Bpffs, BpfPinning } from './fs/bpffs.js';
export { AnonInodes } from './fs/anon-inode.js';
export { FdTable } from './fs/fdtable.js';
export {
  HookPoint,
  HookProgram,
  HOOK_CTX_OBJECTS,
  HOOK_RESULT_RULES,
  HOOK_RESULT_USED,
  type HookHandler,
  type HookInvocation,
  type HookKind,
  type HookCtxObject,
  type HookResultRule,
  type RecursionGuard,
  type ContextField,
} from './hooks/hook.js';
export {
  HookRegistry,
  KPROBE_FUNCTIONS,
  KPROBE_FUNCTION_PROTOS,
  SYSCALL_WRAPPER_PROTO,
  kprobeFunctionProto,
  RAW_TRACEPOINT_PROTOS,
  type RawTracepointProto,
  XDP_BUFF_FIELDS,
  type KprobeFunction,
  type KernelFunctionProto,
} from './hooks/registry.js';
export { LSM_HOOKS, LSM_HOOK_ARGS, LSM_FILE_VIEW, LSM_BPRM_VIEW, LSM_TASK_VIEW, lsmSlot, SecurityHooks, type LsmHookName } from './hooks/lsm.js';
export { KprobeSites, type KprobeSite } from './hooks/kprobes.js';
export { rawTracepointHookName, fentryHookName, fexitHookName, fmodRetHookName } from './hooks/registry.js';
export { fireRawTracepoint, fireTrampoline } from './hooks/raw-tracepoints.js';
export {
  XDP_BUFF,
  XDP_RXQ_INFO,
  XDP_TXQ_INFO,
  XDP_RXQ_REG_STATE_REGISTERED,
  NET_DEVICE,
  BPF_PERF_EVENT_DATA_KERN,
  PERF_SAMPLE_DATA,
  LSM_CTX_SIZE,
  SK_BUFF,
  SKB_CLONED_MASK,
  SKB_PKT_TYPE_MAX,
  NO_QUEUE_MAPPING,
  MIN_NAPI_ID,
  QDISC_SKB_CB,
  BPF_SKB_DATA_END,
  SKB_SHARED_INFO,
  SKB_FRAG,
  MAX_SKB_FRAGS,
  XDP_FLAGS_HAS_FRAGS,
  BPF_FLOW_DISSECTOR,
  SK_REUSEPORT_KERN,
  SOCK,
  SK_NO_QUEUE_MAPPING,
  BPF_SOCK_ADDR_KERN,
  SOCKADDR_IN,
  BPF_SOCK_OPS_KERN,
  TCP_SKB_CB_TCP_FLAGS,
  BPF_SYSCTL_KERN,
  BPF_SOCKOPT_KERN,
  SK_MSG,
  BPF_SK_LOOKUP_KERN,
} from './hooks/kernel-objects.js';
export { readU64, ContextWriter } from './hooks/context-writer.js';
export { HookArena, HOOK_ARENA_PER_CPU, HOOK_MAX_NESTING } from './hooks/arena.js';
export { SignalDelivery } from './task/signal.js';
export { SchedCore, type TaskRunner } from './sched/core.js';
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
  type NicServices,
  type NicStats,
  type WireFrame,
} from './drivers/net/model.js';
export { readPcap, writePcap, LINKTYPE_ETHERNET, type PcapFile, type PcapRecord } from './drivers/net/pcap.js';
export { pcapSource, udpFlowSource, buildUdpFrame, type PacketSource, type ArrivingFrame, type UdpFlowOptions } from './drivers/net/packet-source.js';
export { BlockDevice, type BlockStats } from './drivers/block.js';
export { Console } from './drivers/console.js';
export { kernelMetrics, type KernelMetrics, type MetricsSource } from './metrics.js';
export { KALLSYMS, Kallsyms, KERNEL_ADDRESS_HI, KERNEL_TEXT_LO, kallsymsShowValue, nameHash, type KernelSymbol, type SymbolType } from './kallsyms.js';
export { chainSpec, chainIps, callSite, hookStack, userCallchain, USER_TEXT_BASE, USER_LIBC_BASE, type HookStack } from './hooks/callchain.js';
export {
  ERROR_INJECTION_LIST,
  errorInjectionType,
  renderErrorInjectionList,
  requestOverride,
  overriddenReturn,
  JUST_RETURN_FUNC_LO,
  type ErrorInjectionEntry,
  type ErrorInjectionType,
} from './hooks/error-injection.js';
export { KernelAddressVisibility, procKallsymsInode, registerKptrRestrict, type ProcKallsymsSource } from './fs/proc-kallsyms.js';
export { KPROBE_PMU_TYPE } from './perf/kprobe-pmu.js';
export { CPU_CLOCK_MIN_PERIOD_NS } from './perf/cpu-clock.js';
export { Cgroup, CgroupHierarchy, CGROUP_BPF_SLOTS, CGROUP_DFL_HIERARCHY_ID, type CgroupBpfRunner } from './cgroup/cgroup.js';
export { Cgroupfs } from './cgroup/cgroupfs.js';
export { CGROUP_STRUCT, KERNFS_NODE, CGROUP_SUBSYS_STATE } from './cgroup/layout.js';
