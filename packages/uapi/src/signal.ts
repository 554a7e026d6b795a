/** Signal numbers (x86_64, include/uapi/asm-generic/signal.h) and their default actions. */
export const SIG = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
} as const;

/** Highest signal number (_NSIG - 1). */
export const SIGRTMAX = 64;
export const SIG_DFL = 0;
export const SIG_IGN = 1;

/** What a signal does when its disposition is SIG_DFL (signal(7)). Stop/continue are not modelled: they ignore. */
export type DefaultSignalAction = 'terminate' | 'core' | 'ignore';

/** Default action of each standard signal; real-time signals (32..64) terminate. */
export function defaultSignalAction(sig: number): DefaultSignalAction {
  switch (sig) {
    case SIG.SIGCHLD:
    case SIG.SIGURG:
    case SIG.SIGWINCH:
    case SIG.SIGCONT:
    case SIG.SIGSTOP:
    case SIG.SIGTSTP:
    case SIG.SIGTTIN:
    case SIG.SIGTTOU:
      return 'ignore';
    case SIG.SIGQUIT:
    case SIG.SIGILL:
    case SIG.SIGTRAP:
    case SIG.SIGABRT:
    case SIG.SIGBUS:
    case SIG.SIGFPE:
    case SIG.SIGSEGV:
    case SIG.SIGXCPU:
    case SIG.SIGXFSZ:
    case SIG.SIGSYS:
      return 'core';
    default:
      return 'terminate';
  }
}

/** wait4 option bits and status encoding (include/uapi/linux/wait.h). */
export const WNOHANG = 0x1;
export const WUNTRACED = 0x2;
export const WCONTINUED = 0x8;
export const __WNOTHREAD = 0x20000000;
export const __WALL = 0x40000000;
export const __WCLONE = 0x80000000;
export const WAIT4_VALID_OPTIONS = WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE;

/** Status word of a child that exited with `code`. */
export const wExitStatus = (code: number): number => (code & 0xff) << 8;
/** Status word of a child killed by `sig` (with the core-dump bit when it dumped core). */
export const wTermSig = (sig: number, core = false): number => (sig & 0x7f) | (core ? 0x80 : 0);
export const WIFEXITED = (status: number): boolean => (status & 0x7f) === 0;
export const WEXITSTATUS = (status: number): number => (status >> 8) & 0xff;
export const WIFSIGNALED = (status: number): boolean => (status & 0x7f) !== 0 && (status & 0x7f) !== 0x7f;
export const WTERMSIG = (status: number): number => status & 0x7f;
