/**
 * Verifier state (Linux `struct bpf_verifier_state` / `bpf_func_state`): registers, the stack of every
 * frame of the call chain, acquired references and the spin lock.
 */
import { Reg, RegType, markNotInit, markPointer } from './reg.js';

/**
 * Kinds of one stack byte (Linux STACK_INVALID, STACK_SPILL, STACK_MISC, STACK_ZERO, STACK_DYNPTR, STACK_ITER,
 * STACK_IRQ_FLAG), with the characters Linux's log prints for them (slot_type_char).
 */
export const Slot = { INVALID: 0, SPILL: 1, MISC: 2, ZERO: 3, DYNPTR: 4, ITER: 5, IRQ_FLAG: 6 } as const;
export const SLOT_CHARS = ['?', 'r', 'm', '0', 'd', 'i', 'f'] as const;

export const MAX_STACK = 512;
export const STACK_SLOTS = MAX_STACK / 8;

/** The uninitialised register every explored-state snapshot shares (FuncState.snapshot); never written. */
const SHARED_NOT_INIT = new Reg();
markNotInit(SHARED_NOT_INIT);

/** The stack every new frame starts with, shared and never written (FuncState's constructor, ownStack). */
const EMPTY_STACK = new Uint8Array(MAX_STACK);
const EMPTY_SPILLED: Array<Reg | null> = new Array<Reg | null>(STACK_SLOTS).fill(null);

/**
 * Every field of two registers is the same (all own fields, so that fields added to Reg later count too):
 * snapshot() then shares one register object between two explored states.
 */
function sameFields(a: Reg | undefined, b: Reg): boolean {
  if (!a) return false;
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  for (const k in x) if (x[k] !== y[k]) return false;
  return true;
}

export class FuncState {
  readonly regs: Reg[];
  /** Number of 8-byte slots in use (Linux allocated_stack / 8). */
  allocated = 0;
  /** The frame is a callback a helper calls (Linux in_callback_fn): it returns to the helper call, R0 in [0, 1]. */
  inCallbackFn = false;
  /**
   * The frame is an async callback (bpf_timer_set_callback's): verified as a program of its own, frame 0 of a
   * state pushed at the call (Linux push_async_cb, in_async_callback_fn); it must return 0.
   */
  inAsyncCallbackFn = false;
  /**
   * Callback visits pushed from this frame's current helper call (Linux callback_depth): bpf_loop stops
   * pushing them once it reaches the loop count's upper bound.
   */
  callbackDepth = 0;
  private stackBytes: Uint8Array;
  private spillRegs: Array<Reg | null>;
  /**
   * The stack arrays may be shared with clones (copy on write): most branches and checkpoints never write
   * the stack before they end, so a clone copies only the registers.
   */
  private stackShared = false;
  constructor(
    readonly frameno: number,
    /** Instruction index of the call that created this frame (-1 for the main program). */
    readonly callsite: number,
    readonly subprog: number,
    regs?: Reg[],
    stack?: Uint8Array,
    spilled?: Array<Reg | null>,
  ) {
    this.regs =
      regs ??
      Array.from({ length: 11 }, () => {
        const r = new Reg();
        markNotInit(r);
        return r;
      });
    if (stack && spilled) {
      this.stackBytes = stack;
      this.spillRegs = spilled;
    } else {
      // A new frame shares the empty stack until its first write (ownStack copies it): most programs and
      // frames never use their stack, and each verification creates at least one frame.
      this.stackBytes = EMPTY_STACK;
      this.spillRegs = EMPTY_SPILLED;
      this.stackShared = true;
    }
  }

  /** Byte kinds, indexed by `-off - 1` for the byte at `fp + off` (read only: write through ownStack). */
  get stack(): ArrayLike<number> {
    return this.stackBytes;
  }

  /** Spilled registers by slot (`(-off - 1) >> 3`) (read only: write through ownStack). */
  get spilled(): ReadonlyArray<Reg | null> {
    return this.spillRegs;
  }

  /** True when some slot holds a spilled register. */
  hasSpills(): boolean {
    for (const r of this.spillRegs) if (r) return true;
    return false;
  }

  /** The stack arrays of this frame alone, for writing (the spilled registers too may then be changed). */
  ownStack(): { readonly bytes: Uint8Array; readonly spilled: Array<Reg | null> } {
    if (this.stackShared) {
      this.stackBytes = this.stackBytes.slice();
      this.spillRegs = this.spillRegs.map((r) => (r ? r.clone() : null));
      this.stackShared = false;
    }
    return { bytes: this.stackBytes, spilled: this.spillRegs };
  }

  /** A frame whose r10 points at its own stack. */
  static create(frameno: number, callsite: number, subprog: number): FuncState {
    const f = new FuncState(frameno, callsite, subprog);
    const fp = f.regs[10];
    if (fp) {
      markPointer(fp, RegType.PTR_TO_STACK);
      fp.frameno = frameno;
    }
    return f;
  }

  clone(): FuncState {
    return this.copy(false, null);
  }

  /**
   * A copy for an explored state (a checkpoint): such a state is only compared with and precision-marked
   * (scalars only), never continued from, so nothing writes its uninitialised and pointer registers. They
   * are shared: the uninitialised ones all with one register, a pointer with the same frame's register of
   * `prev` (the previous checkpoint of the path) when it is equal in every field. Checkpoints live as long
   * as the path below them: this keeps them small.
   */
  snapshot(prev: FuncState | null): FuncState {
    return this.copy(true, prev);
  }

  private copy(snapshot: boolean, prev: FuncState | null): FuncState {
    const regs = new Array<Reg>(this.regs.length);
    for (let i = 0; i < regs.length; i++) {
      const r = this.regs[i] ?? SHARED_NOT_INIT;
      if (snapshot && r.type === RegType.NOT_INIT) regs[i] = SHARED_NOT_INIT;
      else if (snapshot && r.type !== RegType.SCALAR && prev && sameFields(prev.regs[i], r)) regs[i] = prev.regs[i] ?? r.clone();
      else regs[i] = r.clone();
    }
    const f = new FuncState(this.frameno, this.callsite, this.subprog, regs, this.stackBytes, this.spillRegs);
    this.stackShared = true;
    f.stackShared = true;
    f.allocated = this.allocated;
    f.inCallbackFn = this.inCallbackFn;
    f.inAsyncCallbackFn = this.inAsyncCallbackFn;
    f.callbackDepth = this.callbackDepth;
    return f;
  }
}

export interface RefState {
  readonly id: number;
  /** Instruction that acquired it (for the "Unreleased reference" message). */
  readonly insn: number;
}

export class VState {
  frames: FuncState[];
  refs: RefState[] = [];
  /** Id of the held spin lock, 0 when none. */
  activeLock = 0;
  /** may_goto fall-throughs taken on this path (Linux may_goto_depth): a loop state that differs only here converges. */
  mayGotoDepth = 0;
  /** In a bpf_rcu_read_lock() section (Linux active_rcu_lock). */
  activeRcu = false;
  /** A path the CPU may only take speculatively (Linux bpf_verifier_state.speculative; sanitize.ts). */
  speculative = false;
  /** The explored state this path continues from (for loop detection and branch counts). */
  parent: ExploredState | null = null;
  /**
   * Precision backtracking (precision.ts, Linux first_insn_idx/last_insn_idx/insn_idx and insn_hist_start/end):
   * the first instruction of this state's stretch of path, the instruction before the current one, the
   * current one, and this stretch's entries in the shared jump history.
   */
  firstInsn = 0;
  lastInsn = -1;
  insnIdx = 0;
  histStart = 0;
  histEnd = 0;
  constructor(frames: FuncState[]) {
    this.frames = frames;
  }

  get cur(): FuncState {
    const f = this.frames[this.frames.length - 1];
    if (!f) throw new Error('verifier state without a frame');
    return f;
  }

  clone(): VState {
    return this.copy(false);
  }

  /** A copy for an explored state, never continued from (FuncState.snapshot). */
  snapshot(): VState {
    return this.copy(true);
  }

  private copy(snapshot: boolean): VState {
    const frames = new Array<FuncState>(this.frames.length);
    for (let i = 0; i < frames.length; i++) {
      const f = this.frames[i];
      if (!f) throw new Error('verifier state without a frame');
      frames[i] = snapshot ? f.snapshot(this.parent?.state.frames[i] ?? null) : f.clone();
    }
    const s = new VState(frames);
    s.refs = this.refs.slice();
    s.activeLock = this.activeLock;
    s.mayGotoDepth = this.mayGotoDepth;
    s.activeRcu = this.activeRcu;
    s.speculative = this.speculative;
    s.parent = this.parent;
    s.firstInsn = this.firstInsn;
    s.lastInsn = this.lastInsn;
    s.insnIdx = this.insnIdx;
    s.histStart = this.histStart;
    s.histEnd = this.histEnd;
    return s;
  }
}

/** A state remembered at a prune point (Linux `struct bpf_verifier_state_list`). */
export interface ExploredState {
  readonly state: VState;
  readonly insn: number;
  /** Paths still being explored below this state; 0 once every path from it has been verified. */
  branches: number;
  readonly parent: ExploredState | null;
  /** Instructions processed when the state was recorded (for the loop heuristics). */
  readonly processedAt: number;
  /** Comparisons that pruned a path / that did not: states that keep missing are dropped (Linux miss_cnt). */
  hits: number;
  misses: number;
}

/** A branch waiting to be explored (Linux `struct bpf_verifier_stack_elem`). */
export interface PendingBranch {
  readonly state: VState;
  readonly insn: number;
  readonly prevInsn: number;
  /** Length of the log when the branch was pushed: level 1 keeps only the path to an error. */
  readonly logLen: number;
}
