import { z } from 'zod';
import { Errno } from './errno.js';
import { EPOLL_CLOEXEC } from './epoll.js';
import { O } from './fcntl.js';
import { GRND } from './sched.js';
import { argCheckOf, dirfdArg, fdArg, flagsArg, intArg, longArg, signalArg, sizeArg, uintArg, ulongArg, userPtrArg, type ArgCheck } from './syscall-args.js';
import { SyscallNr, type SyscallName } from './syscall-nr.js';
import { AT_EMPTY_PATH, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW } from './fcntl.js';

const args = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape);

/**
 * The argument schema of every syscall in the ABI, keyed by name, in register order. Field names are the
 * names the kernel's `syscalls:sys_enter_<name>` tracepoint formats use.
 */
export const SYSCALL_ARGS = {
  read: args({ fd: fdArg(), buf: userPtrArg('char *'), count: sizeArg() }),
  write: args({ fd: fdArg(), buf: userPtrArg('const char *'), count: sizeArg() }),
  // open/openat ignore unknown flag bits (only openat2 rejects them), so flags is any int.
  open: args({ filename: userPtrArg('const char *'), flags: intArg(), mode: uintArg('umode_t') }),
  close: args({ fd: fdArg() }),
  fstat: args({ fd: fdArg(), statbuf: userPtrArg('struct __old_kernel_stat *') }),
  lseek: args({ fd: fdArg(), offset: longArg('off_t'), whence: uintArg() }),
  mmap: args({
    addr: ulongArg(),
    len: ulongArg('unsigned long', Errno.ENOMEM),
    prot: ulongArg(),
    flags: ulongArg(),
    fd: ulongArg(),
    off: ulongArg(),
  }),
  munmap: args({ addr: ulongArg(), len: sizeArg(Errno.EINVAL) }),
  brk: args({ brk: ulongArg() }),
  rt_sigaction: args({
    sig: intArg(),
    act: userPtrArg('const struct sigaction *'),
    oact: userPtrArg('struct sigaction *'),
    sigsetsize: sizeArg(Errno.EINVAL),
  }),
  ioctl: args({ fd: fdArg(), cmd: uintArg(), arg: ulongArg() }),
  pipe: args({ fildes: userPtrArg('int *') }),
  sched_yield: args({}),
  dup: args({ fildes: fdArg() }),
  dup2: args({ oldfd: fdArg(), newfd: fdArg() }),
  nanosleep: args({ rqtp: userPtrArg('struct __kernel_timespec *'), rmtp: userPtrArg('struct __kernel_timespec *') }),
  getpid: args({}),
  socket: args({ family: intArg(), type: intArg(), protocol: intArg() }),
  connect: args({ fd: fdArg('int'), uservaddr: userPtrArg('struct sockaddr *'), addrlen: intArg() }),
  accept: args({ fd: fdArg('int'), upeer_sockaddr: userPtrArg('struct sockaddr *'), upeer_addrlen: userPtrArg('int *') }),
  sendto: args({
    fd: fdArg('int'),
    buff: userPtrArg('void *'),
    len: sizeArg(),
    flags: uintArg(),
    addr: userPtrArg('struct sockaddr *'),
    addr_len: intArg(),
  }),
  recvfrom: args({
    fd: fdArg('int'),
    ubuf: userPtrArg('void *'),
    size: sizeArg(),
    flags: uintArg(),
    addr: userPtrArg('struct sockaddr *'),
    addr_len: userPtrArg('int *'),
  }),
  shutdown: args({ fd: fdArg('int'), how: intArg() }),
  bind: args({ fd: fdArg('int'), umyaddr: userPtrArg('struct sockaddr *'), addrlen: intArg() }),
  listen: args({ fd: fdArg('int'), backlog: intArg() }),
  getsockname: args({ fd: fdArg('int'), usockaddr: userPtrArg('struct sockaddr *'), usockaddr_len: userPtrArg('int *') }),
  getpeername: args({ fd: fdArg('int'), usockaddr: userPtrArg('struct sockaddr *'), usockaddr_len: userPtrArg('int *') }),
  setsockopt: args({ fd: fdArg('int'), level: intArg(), optname: intArg(), optval: userPtrArg('char *'), optlen: intArg() }),
  getsockopt: args({ fd: fdArg('int'), level: intArg(), optname: intArg(), optval: userPtrArg('char *'), optlen: userPtrArg('int *') }),
  clone: args({
    clone_flags: ulongArg(),
    newsp: ulongArg(),
    parent_tidptr: userPtrArg('int *'),
    child_tidptr: userPtrArg('int *'),
    tls: ulongArg(),
  }),
  fork: args({}),
  execve: args({ filename: userPtrArg('const char *'), argv: userPtrArg('const char *const *'), envp: userPtrArg('const char *const *') }),
  exit: args({ error_code: intArg() }),
  wait4: args({ upid: intArg('pid_t', Errno.ESRCH), stat_addr: userPtrArg('int *'), options: intArg(), ru: userPtrArg('struct rusage *') }),
  kill: args({ pid: intArg('pid_t', Errno.ESRCH), sig: signalArg() }),
  getcwd: args({ buf: userPtrArg('char *'), size: ulongArg() }),
  chdir: args({ filename: userPtrArg('const char *') }),
  mkdir: args({ pathname: userPtrArg('const char *'), mode: uintArg('umode_t') }),
  unlink: args({ pathname: userPtrArg('const char *') }),
  getuid: args({}),
  getgid: args({}),
  geteuid: args({}),
  getegid: args({}),
  getppid: args({}),
  gettid: args({}),
  epoll_create: args({ size: intArg() }),
  getdents64: args({ fd: fdArg(), dirent: userPtrArg('struct linux_dirent64 *'), count: uintArg('unsigned int', Errno.EINVAL) }),
  clock_gettime: args({ which_clock: intArg('const clockid_t'), tp: userPtrArg('struct __kernel_timespec *') }),
  exit_group: args({ error_code: intArg() }),
  epoll_wait: args({ epfd: fdArg('int'), events: userPtrArg('struct epoll_event *'), maxevents: intArg(), timeout: intArg() }),
  epoll_ctl: args({ epfd: fdArg('int'), op: intArg(), fd: fdArg('int'), event: userPtrArg('struct epoll_event *') }),
  tgkill: args({ tgid: intArg('pid_t'), pid: intArg('pid_t'), sig: signalArg() }),
  openat: args({ dfd: dirfdArg(), filename: userPtrArg('const char *'), flags: intArg(), mode: uintArg('umode_t') }),
  mkdirat: args({ dfd: dirfdArg(), pathname: userPtrArg('const char *'), mode: uintArg('umode_t') }),
  newfstatat: args({
    dfd: dirfdArg(),
    filename: userPtrArg('const char *'),
    statbuf: userPtrArg('struct stat *'),
    flag: flagsArg(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 /* AT_NO_AUTOMOUNT */),
  }),
  unlinkat: args({ dfd: dirfdArg(), pathname: userPtrArg('const char *'), flag: flagsArg(AT_REMOVEDIR) }),
  epoll_pwait: args({
    epfd: fdArg('int'),
    events: userPtrArg('struct epoll_event *'),
    maxevents: intArg(),
    timeout: intArg(),
    sigmask: userPtrArg('const sigset_t *'),
    sigsetsize: sizeArg(Errno.EINVAL),
  }),
  epoll_create1: args({ flags: flagsArg(EPOLL_CLOEXEC) }),
  accept4: args({
    fd: fdArg('int'),
    upeer_sockaddr: userPtrArg('struct sockaddr *'),
    upeer_addrlen: userPtrArg('int *'),
    flags: intArg(),
  }),
  dup3: args({ oldfd: fdArg(), newfd: fdArg(), flags: flagsArg(O.CLOEXEC) }),
  pipe2: args({ fildes: userPtrArg('int *'), flags: flagsArg(O.CLOEXEC | O.NONBLOCK | O.DIRECT) }),
  perf_event_open: args({
    attr_uptr: userPtrArg('struct perf_event_attr *'),
    pid: intArg('pid_t'),
    cpu: intArg(),
    group_fd: intArg('int', Errno.EBADF),
    flags: ulongArg(),
  }),
  getrandom: args({ buf: userPtrArg('char *'), count: sizeArg(Errno.EINVAL), flags: flagsArg(GRND.NONBLOCK | GRND.RANDOM | GRND.INSECURE, 'unsigned int') }),
  bpf: args({ cmd: intArg(), uattr: userPtrArg('union bpf_attr *'), size: uintArg() }),
} as const satisfies Record<SyscallName, z.ZodObject>;

/** The typed argument object of one syscall, e.g. `SyscallArgs<'openat'>` is `{ dfd; filename; flags; mode }`. */
export type SyscallArgs<N extends SyscallName> = z.infer<(typeof SYSCALL_ARGS)[N]>;

/** One syscall of the ABI: number, name, argument schema and the checks derived from it. */
export interface SyscallSpec {
  readonly nr: number;
  readonly name: SyscallName;
  readonly schema: z.ZodObject;
  readonly args: readonly ArgCheck[];
}

function buildSpecs(): ReadonlyMap<number, SyscallSpec> {
  const specs = new Map<number, SyscallSpec>();
  for (const [name, schema] of Object.entries(SYSCALL_ARGS) as Array<[SyscallName, z.ZodObject]>) {
    const argChecks = Object.entries(schema.shape).map(([argName, argSchema]) => argCheckOf(argName, argSchema as z.ZodNumber));
    if (argChecks.length > 6) throw new Error(`syscall ${name} has more than 6 arguments`);
    specs.set(SyscallNr[name], { nr: SyscallNr[name], name, schema, args: argChecks });
  }
  return specs;
}

/** Every syscall of the ABI by number. */
export const SYSCALL_SPECS: ReadonlyMap<number, SyscallSpec> = buildSpecs();

/** The spec of a syscall by name. */
export function syscallSpec(name: SyscallName): SyscallSpec {
  const spec = SYSCALL_SPECS.get(SyscallNr[name]);
  if (spec === undefined) throw new Error(`no syscall spec for ${name}`);
  return spec;
}

/**
 * Check raw register values against a syscall's argument schema with zod (the slow reference path).
 * Returns 0 when they are accepted, else the negated errno of the first rejected argument.
 */
export function checkArgsWithSchema(spec: SyscallSpec, registers: ArrayLike<number>): number {
  const shape = spec.schema.shape as Record<string, z.ZodType>;
  for (let index = 0; index < spec.args.length; index++) {
    const check = spec.args[index];
    if (check === undefined) continue;
    const argSchema = shape[check.name];
    if (argSchema === undefined || !argSchema.safeParse(registers[index]).success) return -check.errno;
  }
  return 0;
}
