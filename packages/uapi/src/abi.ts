/**
 * How a simulated user program meets the kernel. A user program is a generator function: it puts the syscall
 * number and arguments into its register file (`ctx.regs`) and yields a trap code, exactly as a real program
 * loads rax/rdi/... and executes `syscall`. The kernel resumes the generator with the result (rax). Spending
 * CPU time is a trap too (`TRAP_COMPUTE`, the nanoseconds in `regs[0]`). Nothing else crosses the boundary.
 */

/** Yielded by a user program to make the syscall described by `regs`. */
export const TRAP_SYSCALL = 0;
/** Yielded by a user program to spend `regs[0]` nanoseconds of CPU time in user mode. */
export const TRAP_COMPUTE = 1;

/** Register-file slots: `regs[REG_NR]` is the syscall number (rax), then the six arguments. */
export const REG_NR = 0;
export const REG_ARG0 = 1;
export const USER_REGISTER_COUNT = 7;

/**
 * The process's own memory as user code sees it: loads and stores through its page tables. An access to an
 * address that is not mapped (or not writable) is a segmentation fault: the kernel kills the task with SIGSEGV.
 */
export interface UserMemory {
  /** Copy `length` bytes starting at user address `address`. */
  read(address: number, length: number): Uint8Array;
  /** Copy `length` bytes starting at user address `address` into `dst` from `dstOffset` (a load into memory the caller owns). */
  readInto(address: number, dst: Uint8Array, dstOffset: number, length: number): void;
  /** Store `bytes` at user address `address`. */
  write(address: number, bytes: Uint8Array): void;
  /** Store `length` bytes of `src` from `srcOffset` at user address `address`. */
  writeFrom(address: number, src: Uint8Array, srcOffset: number, length: number): void;
}

/** What a user program receives when it starts (after execve, or as the body of a forked child). */
export interface UserContext {
  /** The register file shared with the kernel: [nr, arg0..arg5]. */
  readonly regs: Float64Array;
  readonly mem: UserMemory;
  readonly argv: readonly string[];
  readonly envp: readonly string[];
  /** The initial stack pointer; the region below it (STACK_SIZE bytes) is this program's stack. */
  readonly stackTop: number;
  /**
   * The code a fork/clone child runs. A real child continues from the parent's instruction pointer; a
   * generator cannot be duplicated, so user space names the child's continuation here before trapping
   * (libc's `fork(child)` does it). clone without it fails with EINVAL.
   */
  cloneEntry: UserProgram | undefined;
}

/** The code of a user program: returns its exit status (like returning from main), or undefined for 0. */
export type UserProgram = (ctx: UserContext) => Generator<number, number | void, number>;
