/**
 * The engines' working state, kept off the {@link Vm}'s public face: what one run in progress needs (registers,
 * saved call frames, call depth, may_goto counter, where to resume, region caches, tail-call count, the fault),
 * and the services every engine calls so faults are identical (the exact memory check, helper and tail calls,
 * LD ABS/IND). The interpreter (interp.ts) and the JIT (jit/engine.ts) both run on an {@link EngineState}.
 *
 * A VM owns one {@link Machine} (what every run on it shares: memory, helper tables, tail-call hook, stack,
 * budget, packet) and one EngineState per nesting level: level 0 for runs started from outside, level k + 1
 * for a run a helper starts while level k runs (a callback such as bpf_loop's, or another program). Each level
 * has its own registers and frames, so a nested run leaves the outer run's state as it was. The engine state
 * is also the {@link HelperContext} a helper receives: its arguments are the running level's registers.
 *
 * Stack: a nested run's entry frame is the frame below the innermost live frame of the run that started it (as
 * a bpf-to-bpf call's would be: Linux runs callbacks in a new frame of the same stack), so it counts toward
 * MAX_CALL_FRAMES with the outer run's frames, and may reach them through pointers (bpf_loop's callback_ctx
 * often points to the caller's stack).
 */
import { STACK_FRAME_SIZE } from '@ebpf-sim/isa';
import { MAX_CALL_FRAMES, MAX_TAIL_CALL_CNT, makeFault, type FaultKind, type VmFault } from './fault.js';
import { helperResultWords, type HelperContext, type HelperFn, type HelperTable } from './helpers.js';
import { joinU64, splitU64 } from './int64.js';
import { PROBE_ZERO, type LinearMemory } from './memory.js';
import { ownedBlock } from './pool.js';
import type { Program } from './program.js';

/** Words saved per bpf-to-bpf call frame: return slot, r1..r9 (lo, hi), the caller's may_goto counter. */
export const FRAME_WORDS = 20;

/** Words of a register block: r0..r10 as (lo, hi) pairs take 0..21; 22..31 are the interpreter's repeat state. */
export const REGISTER_BLOCK_WORDS = 32;
/** Words of the block that are registers (the public `Vm.regs` view). */
export const REGISTER_WORDS = 22;

/**
 * Resolves a tail call: `ctx.arg(2)` is the prog-array map pointer and `ctx.arg(3)` the index, as the program
 * passed them to bpf_tail_call. Return the program to continue with, or null when the slot is empty or out
 * of range (then execution continues after the call, like Linux).
 */
export type TailCallHook = (ctx: HelperContext) => Program | null;

/** What every run on one VM shares, at every nesting level. */
export class Machine {
  /** The skb packet LD ABS/IND read from: an address range of the memory, or none (address -1). */
  packetAddr = -1;
  packetLen = 0;

  constructor(
    readonly mem: LinearMemory,
    readonly helpers: HelperTable,
    readonly kfuncs: HelperTable,
    /** Tail-call resolution; null: the tail-call helper id is an ordinary helper. */
    readonly tailCallHook: TailCallHook | null,
    readonly tailCallId: number,
    /** One past the highest stack byte: r10 of frame 0. */
    readonly stackTop: number,
    /** Maximum instructions per run. */
    public budget: number,
  ) {}
}

/** One nesting level's run state, and the engines' shared services. See the file comment. */
export class EngineState implements HelperContext {
  readonly mem: LinearMemory;
  readonly helpers: HelperTable;
  readonly kfuncs: HelperTable;
  readonly tailCallHook: TailCallHook | null;
  readonly tailCallId: number;
  /** One past the highest stack byte (the live stack of any level ends here). */
  readonly stackTop: number;

  /** r0..r10 as (lo, hi) int32 pairs: r`n` is `registers[2n]` (low word) and `registers[2n + 1]` (high word). */
  readonly registers: Int32Array;
  /** Pool index of `registers[0]` (the interpreter addresses registers in the word pool, see pool.ts). */
  readonly regBase: number;

  /**
   * True while this level's run is in a call out to the embedder (a helper, kfunc or the tail-call hook): a
   * run the VM starts then is nested, on the next level. Kept here, not set per run, so a run pays nothing.
   */
  calling = false;
  /** Frame depth of this level's entry program: 0 at level 0, the starting run's depth + 1 when nested. */
  baseDepth = 0;
  /** r10 of the entry frame: `stackTop` at level 0 (see {@link enterAt}). */
  frameTop: number;
  /** Instruction budget of each run (the VM's; `Vm.budget` sets it on every level). */
  budget: number;
  /** Instructions executed by the last run (including the faulting one); up to date whenever a helper runs. */
  executed = 0;
  /** Why the last run stopped, or null when it exited normally. */
  fault: VmFault | null = null;
  /** Runs the last repeat loop made: its `repeat`, or up to and including the run that faulted. */
  runs = 0;
  /** The program running (changes on tail calls); the program a fault's pc refers to. */
  running: Program | null = null;

  /** Saved caller state of bpf-to-bpf calls, FRAME_WORDS per frame, by frame depth. */
  readonly frames = new Int32Array(MAX_CALL_FRAMES * FRAME_WORDS);
  /** The caller's program of each frame (a tail call may have replaced a frame's program). */
  readonly frameProgs: Array<Program | null> = new Array<Program | null>(MAX_CALL_FRAMES).fill(null);
  /** Bounds of the region found by the last {@link resolveAccess}, for the engines' last-hit cache. */
  cacheLo = 0;
  cacheHi = 0;
  /** Slot of the helper call in progress (HelperContext.pc). */
  pc = 0;
  /** The current frame depth (0 = the entry program of level 0) and that frame's may_goto counter. */
  depth = 0;
  loops = 0;
  /** Pool index where the interpreter continues after switching programs (tail calls). */
  resumeAt = 0;
  /** The entry program of the interpreter's repeat loop in progress (see interp.ts runRepeat), else null. */
  repeatEntry: Program | null = null;

  private tailCalls = 0;
  private exitRequested = false;
  private readonly words = new Int32Array(2);

  constructor(readonly machine: Machine) {
    this.mem = machine.mem;
    this.helpers = machine.helpers;
    this.kfuncs = machine.kfuncs;
    this.tailCallHook = machine.tailCallHook;
    this.tailCallId = machine.tailCallId;
    this.stackTop = machine.stackTop;
    this.frameTop = machine.stackTop;
    this.budget = machine.budget;
    const file = ownedBlock(REGISTER_BLOCK_WORDS, REGISTER_WORDS);
    this.registers = file.view;
    this.regBase = file.base;
  }

  /** Runs at this level start in frame `depth` (below the live frames of the run that starts them). */
  enterAt(depth: number): void {
    this.baseDepth = depth;
    this.frameTop = this.stackTop - depth * STACK_FRAME_SIZE;
  }

  /** The per-run state a fresh run starts with (no fault, no tail calls, no exit request). */
  resetRunState(): void {
    this.fault = null;
    this.tailCalls = 0;
    this.exitRequested = false;
  }

  /** A new run of a repeat loop starts counting tail calls from zero. */
  resetTailCalls(): void {
    this.tailCalls = 0;
  }

  // ---- HelperContext ---------------------------------------------------------------------------------

  arg(n: number): bigint {
    return joinU64(this.registers[2 * n] ?? 0, this.registers[2 * n + 1] ?? 0);
  }

  argNumber(n: number): number {
    return (this.registers[2 * n + 1] ?? 0) * 4294967296 + ((this.registers[2 * n] ?? 0) >>> 0);
  }

  argU32(n: number): number {
    return (this.registers[2 * n] ?? 0) >>> 0;
  }

  requestExit(value: number | bigint): void {
    this.exitRequested = true;
    [this.registers[0], this.registers[1]] = splitU64(value);
  }

  // ---- Services (shared by every engine so faults are identical) ----------------------------------------

  setFault(kind: FaultKind, pc: number, fields: Parameters<typeof makeFault>[2] = {}): void {
    this.fault = makeFault(kind, pc, fields);
  }

  /**
   * The slow path of every memory access: the exact 64-bit address `(baseLo, baseHi) + off`, checked against
   * the live stack `[stackLo, stackTop)` and the regions allowing `perm`. Returns the address, or -1 after
   * recording a `memory` fault. On a region hit, `cacheLo`/`cacheHi` hold that region's bounds.
   */
  resolveAccess(baseLo: number, baseHi: number, off: number, size: number, perm: number, pc: number, stackLo: number): number {
    let lo = (baseLo >>> 0) + off;
    let hi = baseHi >>> 0;
    if (lo < 0) {
      lo += 4294967296;
      hi = (hi + 0xffffffff) >>> 0;
    } else if (lo > 0xffffffff) {
      lo -= 4294967296;
      hi = (hi + 1) >>> 0;
    }
    if (hi === 0) {
      if (lo >= stackLo && lo + size <= this.stackTop) {
        // The engines copy cacheLo/cacheHi into their read or write cache after this call: leave them empty,
        // not holding the last region found (which may lack this access's permission).
        this.cacheLo = this.cacheHi = 0;
        return lo;
      }
      const index = this.mem.findRegion(lo, size, perm);
      if (index >= 0) {
        this.cacheLo = this.mem.regionStart(index);
        this.cacheHi = this.mem.regionEnd(index);
        return lo;
      }
    }
    if (perm === 1 && this.running !== null && this.running.probeLoads.has(pc)) {
      // A probe load (Linux BPF_PROBE_MEM: its exception-table fixup zeroes the destination): read PROBE_ZERO.
      this.cacheLo = this.cacheHi = 0;
      return PROBE_ZERO;
    }
    const access = perm === 1 ? 'read' : 'write';
    this.setFault('memory', pc, { address: joinU64(lo, hi), size, access });
    return -1;
  }

  /** Call a helper/kfunc: 0 = continue, 1 = the helper requested exit, 2 = fault recorded. */
  invoke(fn: HelperFn | undefined, id: number, pc: number): number {
    if (fn === undefined) {
      this.setFault('unknown-helper', pc, { detail: id });
      return 2;
    }
    this.pc = pc;
    let result: bigint | number | undefined;
    this.calling = true;
    try {
      result = fn(this);
      // The common results (0, small -errno, addresses) go straight to r0; anything else through helperResultWords.
      if (typeof result === 'number' && (result | 0) === result) {
        if (this.exitRequested) return 1;
        this.registers[0] = result;
        this.registers[1] = result < 0 ? -1 : 0;
        return 0;
      }
      helperResultWords(result, this.words);
    } catch (error) {
      this.setFault('helper-error', pc, { detail: id, message: error instanceof Error ? error.message : String(error) });
      return 2;
    } finally {
      this.calling = false;
    }
    if (this.exitRequested) return 1;
    this.registers[0] = this.words[0] ?? 0;
    this.registers[1] = this.words[1] ?? 0;
    return 0;
  }

  /** bpf_tail_call: the program to continue with, null to fall through, undefined after a fault. */
  tailCall(pc: number): Program | null | undefined {
    const hook = this.tailCallHook;
    if (hook === null) return null;
    // Linux: `if (tail_call_cnt++ >= MAX_TAIL_CALL_CNT) goto out;` so the 34th tail call falls through.
    if (this.tailCalls >= MAX_TAIL_CALL_CNT) return null;
    this.pc = pc;
    let next: Program | null;
    this.calling = true;
    try {
      next = hook(this);
    } catch (error) {
      this.setFault('helper-error', pc, { detail: this.tailCallId, message: error instanceof Error ? error.message : String(error) });
      return undefined;
    } finally {
      this.calling = false;
    }
    if (next !== null) this.tailCalls++;
    return next;
  }

  /**
   * LD ABS/IND: r0 = the big-endian value at `offset` in the packet. 0 = loaded, 1 = out of bounds (Linux
   * ends the program with r0 = 0), 2 = fault (no packet).
   */
  loadPacket(offset: number, size: number, pc: number): number {
    const machine = this.machine;
    if (machine.packetAddr < 0) {
      this.setFault('no-packet', pc);
      return 2;
    }
    const R = this.registers;
    R[1] = 0;
    if (offset < 0 || offset + size > machine.packetLen) {
      R[0] = 0;
      return 1;
    }
    const view = this.mem.dataView;
    const at = machine.packetAddr + offset;
    R[0] = size === 1 ? view.getUint8(at) : size === 2 ? view.getUint16(at, false) : view.getInt32(at, false);
    return 0;
  }
}
