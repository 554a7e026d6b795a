/** clone flags (include/uapi/linux/sched.h) and scheduling constants. */
export const CLONE = {
  VM: 0x00000100,
  FS: 0x00000200,
  FILES: 0x00000400,
  SIGHAND: 0x00000800,
  PIDFD: 0x00001000,
  PTRACE: 0x00002000,
  VFORK: 0x00004000,
  PARENT: 0x00008000,
  THREAD: 0x00010000,
  NEWNS: 0x00020000,
  SYSVSEM: 0x00040000,
  SETTLS: 0x00080000,
  PARENT_SETTID: 0x00100000,
  CHILD_CLEARTID: 0x00200000,
  DETACHED: 0x00400000,
  UNTRACED: 0x00800000,
  CHILD_SETTID: 0x01000000,
} as const;
/** The low byte of clone flags is the signal sent to the parent when the child exits (SIGCHLD for fork). */
export const CSIGNAL = 0xff;

export const MIN_NICE = -20;
export const MAX_NICE = 19;
/** Kernel priority of a nice value (static_prio = MAX_RT_PRIO + 20 + nice); what sched tracepoints report. */
export const niceToPrio = (nice: number): number => 120 + nice;

/** clock ids for clock_gettime. */
export const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME_ID: 2, THREAD_CPUTIME_ID: 3, MONOTONIC_RAW: 4, BOOTTIME: 7 } as const;
/** MAX_CLOCKS: clock ids are below it (include/uapi/linux/time.h). */
export const MAX_CLOCKS = 16;

/** getrandom flags. */
export const GRND = { NONBLOCK: 0x1, RANDOM: 0x2, INSECURE: 0x4 } as const;

/** Linux capabilities used by the permission checks modelled (include/uapi/linux/capability.h). */
export const CAP = { CHOWN: 0, DAC_OVERRIDE: 1, KILL: 5, SETUID: 7, NET_ADMIN: 12, SYS_ADMIN: 21, SYS_NICE: 23, SYSLOG: 34, PERFMON: 38, BPF: 39 } as const;
/** The full capability set of root (CAP_LAST_CAP = 40 in Linux 6.x). */
export const CAP_FULL_SET = 0x1ffffffffff;
