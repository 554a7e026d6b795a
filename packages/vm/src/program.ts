/**
 * A program prepared for execution: its decoded instructions and the interpreter's pre-decoded code (see
 * interp.ts), made by {@link loadProgram} (load.ts), which also checks jump and call targets. Programs are
 * independent of any VM: one program can run on many VMs, and a tail-call hook may return any loaded program.
 */
import type { Insn } from '@ebpf-sim/isa';
import { encodeProgram } from '@ebpf-sim/isa';

/**
 * Where JIT code tests the execution budget. In `block` and `loop` mode every basic block subtracts its
 * instruction count, so a run that ends normally has the exact `executed`.
 * - `block`: every block tests it on entry, so a budget fault has the interpreter's pc and `executed`.
 * - `loop`: only blocks a cycle can come back to (loop headers, function entries) test it; a runaway program
 *   still stops with the budget fault, at such a block, having overdrawn it by at most the instructions between two of them.
 *   For a verified program (the bpf subsystem loads them so): Linux has no instruction budget, the verifier
 *   proved every path terminates, and a test per block is a large part of a tight loop's cost. `unchecked`
 *   JIT code always tests this way.
 * - `entry`: as `loop` outside loops, but the blocks of a loop (those on a cycle; the function's entry block
 *   excepted) neither test nor take the budget: Linux has no instruction budget and the verifier proved every
 *   loop ends, and the loop header's test was a large part of a tight loop's machine code (the fuel's
 *   subtract, compare and branch, and a register that loops like sort16_stack's then spilled). The budget
 *   still stops a run whose loop-free part overdraws it, with `loop`'s fault; `executed` (and what a helper
 *   reads of it) counts only the instructions outside loops, so it is below the interpreter's for a run that
 *   went round a loop. For verified programs only (the bpf subsystem loads them so).
 */
export type BudgetTests = 'block' | 'loop' | 'entry';

/**
 * Which registers a run's caller reads after it.
 * - `all`: every one (`Vm.regs` after a JIT run is what the interpreter leaves).
 * - `r0`: the return value alone, as Linux's callers of a loaded BPF program (hooks, BPF_PROG_TEST_RUN) see it.
 *   JIT code then publishes only r0 at its exit and at its stop label (faults), so no other register stays
 *   alive to the end of the function: loops carry fewer values. After such a run `Vm.r0` is exact; r1..r9 of
 *   `Vm.regs` are unspecified (the run's initial values, or what they held at the last helper call). The
 *   interpreter leaves every register either way.
 */
export type ExitRegisters = 'all' | 'r0';

/**
 * A kernel function JIT code calls without leaving WebAssembly: an export of a WebAssembly instance over the
 * VM's own memory, called with the low 32 bits of r1 and r2 (kernel addresses are 32-bit), its result
 * zero-extended into r0. It must not trap, and it sees and changes nothing but memory.
 */
export type WasmCall = (r1: number, r2: number) => number;

export class Program {
  /** Interpreter code (see `interp.ts`): a view of its block in the word pool (pool.ts); engine-private. */
  readonly code: Int32Array;
  /** Pool index of `code[0]`: the interpreter's jump targets and program counter are pool indexes. */
  readonly codeBase: number;
  /** Registers the program may write, as a bit mask (bit n = rn; see interp.ts regsWritten). */
  readonly writtenRegs: number;

  /** Made by {@link loadProgram}, which validates the instructions and pre-decodes them (`interpreter`). */
  constructor(
    readonly name: string,
    readonly insns: readonly Insn[],
    readonly slotCount: number,
    interpreter: { readonly base: number; readonly code: Int32Array; readonly writtenRegs: number },
    /**
     * The value of every LD imm64 that has one, by slot, as (lo, hi) int32 words: the immediate itself, or the
     * loader's resolution of a BPF_PSEUDO_* reference. Absent: unresolved (running it faults). Every engine
     * reads it here, so all agree on it.
     */
    readonly ldImm64: ReadonlyMap<number, readonly [number, number]>,
    /**
     * Slots of the memory accesses the verifier proved in bounds (LoadOptions.memoryInBounds): the JIT
     * compiles them without a region check. The interpreter checks every access (see the README).
     */
    readonly memoryInBounds: ReadonlySet<number> = new Set(),
    /** Where JIT code tests the execution budget (LoadOptions.budgetTests). */
    readonly budgetTests: BudgetTests = 'block',
    /** Which registers a run's caller reads after it (LoadOptions.exitRegisters). */
    readonly exitRegisters: ExitRegisters = 'all',
    /** Slots of the divisions by a register whose divisor the verifier proved non-zero (LoadOptions.divisorsNonZero). */
    readonly divisorsNonZero: ReadonlySet<number> = new Set(),
    /** Helper calls the JIT makes as direct WebAssembly calls (LoadOptions.wasmCalls), by immediate. */
    readonly wasmCalls: ReadonlyMap<number, WasmCall> = new Map(),
    /** Slots of the probe loads (LoadOptions.probeLoads): a fault there reads 0 instead of stopping the run. */
    readonly probeLoads: ReadonlySet<number> = new Set(),
  ) {
    this.code = interpreter.code;
    this.codeBase = interpreter.base;
    this.writtenRegs = interpreter.writtenRegs;
  }

  /** The bytecode (little-endian). */
  bytes(): Uint8Array {
    return encodeProgram(this.insns);
  }
}
