/**
 * x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl) of the calls this ABI describes. The kernel
 * answers every other number with -ENOSYS.
 */
export const SyscallNr = {
  read: 0,
  write: 1,
  open: 2,
  close: 3,
  fstat: 5,
  lseek: 8,
  mmap: 9,
  munmap: 11,
  brk: 12,
  rt_sigaction: 13,
  ioctl: 16,
  pipe: 22,
  sched_yield: 24,
  dup: 32,
  dup2: 33,
  nanosleep: 35,
  getpid: 39,
  clone: 56,
  fork: 57,
  execve: 59,
  exit: 60,
  wait4: 61,
  kill: 62,
  getcwd: 79,
  chdir: 80,
  mkdir: 83,
  unlink: 87,
  getuid: 102,
  getgid: 104,
  geteuid: 107,
  getegid: 108,
  getppid: 110,
  gettid: 186,
  getdents64: 217,
  clock_gettime: 228,
  exit_group: 231,
  tgkill: 234,
  openat: 257,
  mkdirat: 258,
  newfstatat: 262,
  unlinkat: 263,
  dup3: 292,
  pipe2: 293,
  perf_event_open: 298,
  getrandom: 318,
  bpf: 321,
} as const;

export type SyscallName = keyof typeof SyscallNr;

/** Name of a syscall number, or undefined when this ABI does not describe it. */
export const SYSCALL_NAME_BY_NR: ReadonlyMap<number, SyscallName> = new Map(Object.entries(SyscallNr).map(([name, nr]) => [nr, name as SyscallName]));
