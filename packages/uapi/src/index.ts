export { ENOTSUPP, Errno, MAX_ERRNO, errnoName, strerror, isErrorReturn, type ErrnoName, type ErrnoValue } from './errno.js';
export { SyscallNr, SYSCALL_NAME_BY_NR, type SyscallName } from './syscall-nr.js';
export * from './fcntl.js';
export * from './mman.js';
export * from './perf.js';
export * from './signal.js';
export * from './sched.js';
export * from './layouts.js';
export * from './socket.js';
export * from './epoll.js';
export { argMeta, argCheckOf, type ArgCheck, type ArgMeta } from './syscall-args.js';
export { SYSCALL_ARGS, SYSCALL_SPECS, syscallSpec, checkArgsWithSchema, type SyscallArgs, type SyscallSpec } from './syscalls.js';
export { TRAP_SYSCALL, TRAP_COMPUTE, REG_NR, REG_ARG0, USER_REGISTER_COUNT, type UserContext, type UserMemory, type UserProgram } from './abi.js';
export { Libc } from './libc/libc.js';
export { UserStack } from './libc/memory.js';
export { PerfRingReader, type PerfRecord } from './libc/perf-ring.js';
export { RingBufferReader, RINGBUF_MMAP } from './bpf/ringbuf-reader.js';
export {
  StatSchema,
  DirentSchema,
  RusageSchema,
  type Stat,
  type Dirent,
  type Rusage,
  type Result,
  type Sys,
  type BpfMapInfo,
  type BpfBtfInfo,
  type BpfLinkInfo,
  type BpfBtfLoadResult,
  type PerfEventAttrInput,
  type BpfProgLoadSpec,
  type BpfFuncInfoRecord,
  type BpfLineInfoRecord,
  type BpfProgLoadResult,
  type BpfProgInfo,
  type BpfTestRunSpec,
  type BpfTestRunResult,
} from './libc/types.js';
export * from './bpf/constants.js';
export * from './bpf/link-info.js';
export { BPF_FUNC, BPF_FUNC_MAX_ID, type BpfFuncName } from './bpf/func-id.js';
export {
  BPF_ATTR_LAYOUTS,
  BPF_ATTR_SCHEMAS,
  BPF_ATTR_INPUT_SCHEMAS,
  BPF_ATTR_SIZE,
  BPF_F_PATH_FD,
  BPF_BTF_INFO,
  BPF_FUNC_INFO,
  BPF_LINE_INFO,
  BPF_LINK_INFO,
  BPF_MAP_INFO,
  BPF_PROG_INFO,
  attrFieldSize,
  encodeBpfAttr,
  decodeBpfAttr,
  bpfCmdNumber,
  type AttrField,
  type AttrFieldKind,
  type AttrLayout,
  type BpfAttr,
  type BpfAttrInput,
  type BpfAttrCmd,
} from './bpf/attr.js';
