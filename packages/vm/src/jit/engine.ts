/**
 * The JIT engine of one nesting level of a {@link Vm} (its {@link EngineState}, see engine-state.ts): compiles
 * each program once (the module is cached per program and memory-check mode, shared by every VM), instantiates
 * it once per engine with that engine's imports, and runs it.
 *
 * The JS ↔ Wasm boundary carries no BigInt: `run` takes r1..r5 as i32 halves and returns the remaining
 * fuel; registers come back through the exchange area in page 0 (see compile.ts), read with an Int32Array.
 * Helpers, faults and tail calls are imports closed over this engine; anything that ends a run abnormally
 * throws {@link STOP} out of the Wasm frames, after the fault (if any) was recorded in the engine state.
 */
import { hi32, lo32 } from '../int64.js';
import { interpret } from '../interp.js';
import type { EngineState } from '../engine-state.js';
import { PROBE_ZERO, type LinearMemory } from '../memory.js';
import type { Program } from '../program.js';
import {
  AccessStatus,
  compileProgram,
  StopCode,
  HelperStatus,
  HelperTableId,
  JitLimitError,
  XCHG,
  XCHG_SIZE,
  X_OWNER,
  X_ITER,
  X_RCACHE,
  X_WCACHE,
  X_FUEL,
  X_FULL,
  type CompiledProgram,
  type MemoryChecks,
} from './compile.js';

/** The largest budget the JIT's i32 fuel counter holds; larger budgets are capped to it. */
export const MAX_JIT_BUDGET = 0x7fffffff;

/** `auto` compiles a program once it has run this many instructions on the interpreter... */
export const AUTO_HOT_INSNS = 20_000;
/** ...or this many times. */
export const AUTO_HOT_RUNS = 200;
/** `auto`'s heat of a compiled program, and of one the JIT cannot compile (see JitLimitError). */
const HOT = -1;
const NEVER = -2;

/** Thrown by the `raise` import to unwind every Wasm frame of a run at once (never escapes the engine). */
class JitStop extends Error {
  override readonly name = 'JitStop';
}
const STOP = new JitStop('jit stop');

interface JitExports {
  readonly run: (r1lo: number, r1hi: number, r2lo: number, r2hi: number, fuel: number) => number;
  /** Present when CompiledProgram.fastLength is not null. */
  readonly fast?: (r1lo: number, r1hi: number, r2lo: number, r2hi: number, fuel: number) => number;
  readonly resume: (depth: number, fuel: number) => number;
  /** `run` n times (n >= 1, unsigned) in the module's own loop; the iteration in progress is at X_ITER. */
  readonly repeat: (r1lo: number, r1hi: number, r2lo: number, r2hi: number, fuel: number, n: number) => number;
}

/** One program bound to one VM. */
interface Bound {
  readonly prog: Program;
  readonly run: JitExports['run'];
  /** What a lean run with at least `fastLength` fuel calls: the `fast` export, or `run` when there is none. */
  readonly fast: JitExports['run'];
  readonly fastLength: number;
  readonly resume: JitExports['resume'];
  readonly repeat: JitExports['repeat'];
  /** Register-file indexes the entry function may write (see CompiledProgram.written). */
  readonly written: Int32Array;
}

const modules = new WeakMap<Program, Partial<Record<MemoryChecks, CompiledProgram>>>();

/** The compiled module of `prog` for `checks`, compiling it on first use. */
export function compiled(prog: Program, checks: MemoryChecks): CompiledProgram {
  let entry = modules.get(prog);
  if (entry === undefined) {
    entry = {};
    modules.set(prog, entry);
  }
  let result = entry[checks];
  if (result === undefined) {
    result = compileProgram(prog, checks);
    entry[checks] = result;
  }
  return result;
}

const BASE = XCHG >> 2;
const EMPTY = new Int32Array(0);
const OWNER = BASE + (X_OWNER >> 2);
const FULL = BASE + (X_FULL >> 2);
const ITER = BASE + (X_ITER >> 2);
/** Most iterations one call of the `repeat` export makes (its count is an i32); more take several calls. */
const MAX_REPEAT_CHUNK = 0x7fffffff;
const PERM_READ = 1;
const PERM_RW = 3;
let nextEngineId = 1;
/** JIT runs in progress in this process (more than one: a run started from inside a helper). */
let active = 0;
/**
 * The engine whose last lean run's registers are still only in the exchange area (see {@link JitEngine.flush}).
 * One per process: every memory has its own exchange area, but flushing before any other run starts is simple
 * and costs nothing when the same engine runs again.
 */
let pending: JitEngine | null = null;

/** Mark both region caches of the exchange area empty. */
function clearCaches(v: Int32Array): void {
  v[BASE + (X_RCACHE >> 2)] = -1;
  v[BASE + (X_RCACHE >> 2) + 1] = 7;
  v[BASE + (X_WCACHE >> 2)] = -1;
  v[BASE + (X_WCACHE >> 2) + 1] = 7;
}

export class JitEngine {
  private readonly bound = new WeakMap<Program, Bound>();
  private last: Bound | null = null;
  private view: Int32Array;
  /** Fuel the current run started with (the budget, capped). */
  private cap = 0;
  /**
   * True while the engine state's `registers` do not hold the last lean run's registers: they are in the exchange area (the
   * ones the entry function writes; every one after a helper call, see X_FULL) and the rest are the run's
   * initial values: r1 and r2 as below, r10 the stack top, zero elsewhere. `Vm.regs` calls {@link flush}.
   */
  stale = false;
  /** The stale run's r1, r2. */
  private r1: number | bigint = 0;
  private r2: number | bigint = 0;
  /** `auto`: instructions and runs seen on the interpreter per program; HOT once compiled, NEVER if it cannot be. */
  private readonly heat = new WeakMap<Program, number>();
  private readonly id = nextEngineId++;
  /** `mem.generation` when this engine last validated the exchange area's region caches. */
  private generation = -1;
  /** Runs the last {@link repeat} made (n, or up to and including the one that faulted). */
  iterations = 0;
  /**
   * While a {@link repeat} loop runs: its program (null otherwise), the X_ITER value of the last tail call
   * (a new iteration restarts the tail-call count, as a fresh run does), and the program the last depth-0
   * tail call switched to, with its iteration (the final `running` when that was the last iteration).
   */
  private repeatRoot: Program | null = null;
  private tailIter = -1;
  private tailEndIter = -1;
  private tailEnd: Program | null = null;

  private readonly regs: Int32Array;
  private readonly mem: LinearMemory;
  private readonly top: number;
  /** The `base` global of this engine's instances: the frame depth an exit of the entry program leaves from. */
  private readonly baseDepth = new WebAssembly.Global({ value: 'i32', mutable: true }, 0);

  constructor(
    private readonly st: EngineState,
    readonly checks: MemoryChecks,
    /** Start on the interpreter and compile hot programs (`auto`), or compile on first run (`jit`). */
    readonly adaptive: boolean,
  ) {
    this.view = new Int32Array(st.mem.memory.buffer);
    this.regs = st.registers;
    this.mem = st.mem;
    this.top = st.stackTop;
  }

  /** The exchange-area view, re-made when the memory grew (which detaches the old buffer). */
  private xchg(): Int32Array {
    if (this.view.length === 0) this.view = new Int32Array(this.mem.memory.buffer);
    return this.view;
  }

  /** Keep the region caches only if this engine wrote them and no region changed since. */
  private validateCaches(v: Int32Array): void {
    if (v[OWNER] !== this.id || this.mem.generation !== this.generation) this.resetCaches(v);
  }

  private resetCaches(v: Int32Array): void {
    clearCaches(v);
    v[OWNER] = this.id;
    this.generation = this.mem.generation;
  }

  /** Whether `prog` runs compiled on this engine now (always for `jit`; once hot for `auto`). */
  isCompiled(prog: Program): boolean {
    return !this.adaptive || this.heat.get(prog) === HOT;
  }

  /**
   * `Vm.run` on the JIT, for a compiled program: r1, r2 given, every other register zero, r10 the stack top.
   * Touches no register in JavaScript: they stay in the exchange area until read (see {@link stale}).
   */
  run(prog: Program, r1: number | bigint, r2: number | bigint): boolean {
    return active === 0 ? this.lean(prog, r1, r2) : this.nested(() => this.lean(prog, r1, r2));
  }

  /** What a lean run and a repeat loop do first: bind, claim the exchange area, set the fuel cap. */
  private begin(prog: Program, r1: number | bigint, r2: number | bigint): Bound {
    let b = this.last;
    if (b === null || b.prog !== prog) b = this.bind(prog);
    // While no other engine ran since this one (every run claims), the region caches are still this engine's;
    // they are current unless a region changed.
    if (pending !== this) this.claimWithCaches();
    else if (this.mem.generation !== this.generation) this.resetCaches(this.xchg());
    this.stale = false;
    this.r1 = r1;
    this.r2 = r2;
    const budget = this.st.budget;
    this.cap = budget > MAX_JIT_BUDGET ? MAX_JIT_BUDGET : budget;
    return b;
  }

  private lean(prog: Program, r1: number | bigint, r2: number | bigint): boolean {
    const b = this.begin(prog, r1, r2);
    const cap = this.cap;
    const st = this.st;
    st.running = prog;
    let fuel: number;
    active++;
    try {
      fuel = (cap >= b.fastLength ? b.fast : b.run)(lo32(r1), hi32(r1), lo32(r2), hi32(r2), cap);
    } catch (error) {
      active--;
      return this.stopped(error);
    }
    active--;
    st.executed = cap - fuel;
    this.stale = true;
    return true;
  }

  /**
   * `Vm.runRepeat` on the JIT, for a compiled program: `n` runs, each exactly a lean {@link run}, in the
   * module's `repeat` loop (no JavaScript between runs, like BPF_PROG_TEST_RUN's in-kernel loop). Stops at the
   * first fault; {@link iterations} says how many runs happened. A run that ends by a requested exit (or an
   * out-of-bounds LD ABS) unwinds the loop like a fault does but is a normal end: the loop goes on after it.
   */
  repeat(prog: Program, r1: number | bigint, r2: number | bigint, n: number): boolean {
    return active === 0 ? this.repeatLean(prog, r1, r2, n) : this.nested(() => this.repeatLean(prog, r1, r2, n));
  }

  private repeatLean(prog: Program, r1: number | bigint, r2: number | bigint, n: number): boolean {
    const b = this.begin(prog, r1, r2);
    const cap = this.cap;
    const st = this.st;
    const r1lo = lo32(r1);
    const r1hi = hi32(r1);
    const r2lo = lo32(r2);
    const r2hi = hi32(r2);
    const outer = this.repeatRoot;
    this.repeatRoot = prog;
    let done = 0;
    try {
      while (done < n) {
        const chunk = Math.min(n - done, MAX_REPEAT_CHUNK);
        this.tailIter = -1;
        this.tailEndIter = -1;
        st.running = prog;
        let fuel: number;
        active++;
        try {
          fuel = b.repeat(r1lo, r1hi, r2lo, r2hi, cap, chunk);
        } catch (error) {
          active--;
          // `running` is already the program the run stopped in (a depth-0 tail call's callee, else prog).
          done += this.xchg()[ITER]! + 1;
          const ok = this.stopped(error);
          if (!ok || done === n) {
            this.iterations = done;
            this.last = b;
            return ok;
          }
          // A requested exit ended that run normally; the next one starts fresh, as Vm.run would.
          st.resetRunState();
          this.last = b;
          continue;
        }
        active--;
        done += chunk;
        st.executed = cap - fuel;
        // A tail call in an earlier iteration bound its callee; the last iteration's registers are prog's.
        this.last = b;
        st.running = this.tailEndIter === chunk - 1 && this.tailEnd !== null ? this.tailEnd : prog;
      }
      this.stale = true;
      this.iterations = n;
      return true;
    } finally {
      this.repeatRoot = outer;
      this.tailEnd = null;
    }
  }

  /**
   * Make this engine the one whose registers the exchange areas hold: another engine's stale registers go to
   * its VM first (this engine's own are simply replaced by the coming run).
   */
  private claim(): void {
    pending?.flush();
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the process-wide "whose registers are in the exchange area" marker
    pending = this;
  }

  /** {@link claim}, then keep the region caches only if this engine wrote them and no region changed since. */
  private claimWithCaches(): void {
    this.claim();
    this.validateCaches(this.xchg());
  }

  /** Copy the last lean run's registers into the engine state's `registers` (see {@link stale}). */
  flush(): void {
    if (!this.stale) return;
    this.stale = false;
    const v = this.xchg();
    if (v[FULL] !== 0) {
      this.pullAll();
      return;
    }
    const R = this.regs;
    for (let i = 0; i < 22; i++) R[i] = 0;
    R[2] = lo32(this.r1);
    R[3] = hi32(this.r1);
    R[4] = lo32(this.r2);
    R[5] = hi32(this.r2);
    R[20] = this.top;
    // No program switch happened since the run (a tail call would have set X_FULL): `last` is its program.
    const written = this.last?.written ?? EMPTY;
    for (let i = 0; i < written.length; i++) {
      const at = written[i]!;
      R[at] = v[BASE + at]!;
    }
  }

  /**
   * The low word of r0 after the last run, without copying the other registers out of the exchange area (a
   * hook reads only the program's verdict): what {@link flush} would leave in `regs[0]`.
   */
  r0Low(): number {
    if (!this.stale) return this.regs[0]!;
    const v = this.xchg();
    if (v[FULL] !== 0) return v[BASE]!;
    const written = this.last?.written ?? EMPTY;
    return written.length !== 0 && written[0] === 0 ? v[BASE]! : 0;
  }

  /** Run `prog` with every register as the VM set it up (`Vm.runArgs`, and `auto` before a program is hot). */
  start(prog: Program): boolean {
    return active === 0 ? this.full(prog) : this.nested(() => this.full(prog));
  }

  /**
   * A run started while another JIT run is in a helper (a nested program, on this VM or another over the same
   * memory): keep the outer run's exchange area intact around it.
   */
  private nested(inner: () => boolean): boolean {
    const v = this.xchg();
    const saved = v.slice(BASE, BASE + (XCHG_SIZE >> 2));
    try {
      return inner();
    } finally {
      // The inner run's registers are in the area about to be restored.
      pending?.flush();
      this.xchg().set(saved, BASE);
    }
  }

  private full(prog: Program): boolean {
    // The VM set the registers up after flushing this engine (Vm.registersOf); another's may be pending.
    if (pending !== this) this.claim();
    if (this.adaptive) {
      const heat = this.heat.get(prog) ?? 0;
      if (heat !== HOT) {
        const ok = interpret(this.st, prog);
        if (heat === NEVER) return ok;
        const next = heat + this.st.executed + AUTO_HOT_INSNS / AUTO_HOT_RUNS;
        this.heat.set(prog, next >= AUTO_HOT_INSNS ? this.compileHot(prog) : next);
        return ok;
      }
    }
    const st = this.st;
    const R = this.regs;
    const b = this.last !== null && this.last.prog === prog ? this.last : this.bind(prog);
    const v = this.xchg();
    for (let i = 0; i < 22; i++) v[BASE + i] = R[i]!;
    this.validateCaches(v);
    const budget = st.budget;
    const cap = budget > MAX_JIT_BUDGET ? MAX_JIT_BUDGET : budget;
    this.cap = cap;
    st.running = prog;
    // The entry frame: 0, or below the live frames of the run that started this nested one (engine-state.ts).
    if (this.baseDepth.value !== st.baseDepth) this.baseDepth.value = st.baseDepth;
    let fuel: number;
    active++;
    try {
      fuel = b.resume(st.baseDepth, cap);
    } catch (error) {
      active--;
      return this.stopped(error);
    }
    active--;
    st.executed = cap - fuel;
    this.pullAll();
    return true;
  }

  /** `auto`: compile a program that turned hot; one too large for WebAssembly stays on the interpreter. */
  private compileHot(prog: Program): number {
    try {
      compiled(prog, this.checks);
    } catch (error) {
      if (error instanceof JitLimitError) return NEVER;
      throw error;
    }
    return HOT;
  }

  /** After a run unwound: read every register back; true when it ended by a requested exit, not a fault. */
  private stopped(error: unknown): boolean {
    if (error !== STOP) return this.trap(error);
    this.pullAll();
    return this.st.fault === null;
  }

  private pullAll(): void {
    const v = this.xchg();
    const R = this.regs;
    for (let i = 0; i < 22; i++) R[i] = v[BASE + i]!;
  }

  /** A Wasm trap: only possible in unchecked mode (an access outside the memory). */
  private trap(error: unknown): boolean {
    if (!(error instanceof WebAssembly.RuntimeError)) throw error;
    this.st.setFault('memory', -1, { message: `${error.message} (unchecked JIT: the faulting instruction is not known)` });
    return false;
  }

  private bind(prog: Program): Bound {
    let b = this.bound.get(prog);
    if (b === undefined) {
      const code = compiled(prog, this.checks);
      const exports = this.instantiate(prog, code);
      b = {
        prog,
        run: exports.run,
        fast: exports.fast ?? exports.run,
        fastLength: code.fastLength ?? 0,
        resume: exports.resume,
        repeat: exports.repeat,
        written: code.written,
      };
      this.bound.set(prog, b);
    }
    this.last = b;
    return b;
  }

  private instantiate(prog: Program, code: CompiledProgram): JitExports {
    const st = this.st;
    const slotOf = code.slotOf;
    const imports = {
      e: {
        mem: st.mem.memory,
        top: new WebAssembly.Global({ value: 'i32', mutable: false }, st.stackTop | 0),
        base: this.baseDepth,
        helper: (which: number, idLo: number, idHi: number, pc: number, fuelAt: number, depth: number): number =>
          this.helper(prog, which, idLo, idHi, pc, fuelAt, depth),
        access: (lo: number, hi: number, size: number, perm: number, pc: number, fuelAt: number, stackLo: number): number => {
          st.cacheLo = st.cacheHi = 0;
          const at = st.resolveAccess(lo, hi, 0, size, perm, pc, stackLo >>> 0);
          if (at < 0) {
            st.executed = this.cap - fuelAt;
            return AccessStatus.FAULT;
          }
          // No region or stack frame is in page 0: only a probe load's fault resolves to PROBE_ZERO.
          if (at === PROBE_ZERO) return AccessStatus.PROBE_ZERO;
          if (st.cacheHi > st.cacheLo && perm !== PERM_RW) {
            const v = this.xchg();
            const at = BASE + ((perm === PERM_READ ? X_RCACHE : X_WCACHE) >> 2);
            v[at] = st.cacheLo;
            v[at + 1] = st.cacheHi - 1;
          }
          return AccessStatus.OK;
        },
        stop: (kind: number, a: number, b: number, c: number): never => {
          switch (kind) {
            case StopCode.BUDGET:
              // a: the instruction that overdraws; b: the block's first (unchecked code notices an overdraw
              // only at loop headers, possibly blocks later: it reports that header).
              st.executed = this.cap;
              st.setFault('budget', slotOf[Math.max(a, b)] ?? -1, { detail: this.cap });
              break;
            case StopCode.CALL_DEPTH:
              st.executed = this.cap - c;
              st.setFault('call-depth', a, { detail: b });
              break;
            case StopCode.UNRESOLVED_LD_IMM64:
              st.executed = this.cap - c;
              st.setFault('unresolved-ld-imm64', a, { detail: b });
              break;
            case StopCode.FELL_OFF:
              st.executed = this.cap - c;
              st.setFault('fell-off', a);
              break;
            default:
              // Already recorded by the import that asked to stop (fault, requested exit, LD ABS out of bounds).
              break;
          }
          throw STOP;
        },
        packet: (offset: number, size: number, pc: number, fuelAt: number): number => {
          const v = this.xchg();
          const R = this.regs;
          R[0] = v[BASE]!;
          R[1] = v[BASE + 1]!;
          const status = st.loadPacket(offset, size, pc);
          if (status !== 0) st.executed = this.cap - fuelAt;
          v[BASE] = R[0];
          v[BASE + 1] = R[1];
          return status;
        },
      },
    };
    const instance = new WebAssembly.Instance(code.module, { ...imports, k: Object.fromEntries(prog.wasmCalls) });
    return instance.exports as unknown as JitExports;
  }

  private helper(prog: Program, which: number, idLo: number, idHi: number, pc: number, fuelAt: number, depth: number): number {
    const st = this.st;
    const R = this.regs;
    let v = this.xchg();
    // r1..r5, what a helper reads (HelperContext.arg). The rest of this level's register file is not observable
    // while it calls out (Vm.regs then shows a nested level), and a stop reads every register back (pullAll).
    R[2] = v[BASE + 2]!;
    R[3] = v[BASE + 3]!;
    R[4] = v[BASE + 4]!;
    R[5] = v[BASE + 5]!;
    R[6] = v[BASE + 6]!;
    R[7] = v[BASE + 7]!;
    R[8] = v[BASE + 8]!;
    R[9] = v[BASE + 9]!;
    R[10] = v[BASE + 10]!;
    R[11] = v[BASE + 11]!;
    v[FULL] = 1;
    st.executed = this.cap - fuelAt;
    // The frame the call is in: a run the helper starts on this VM gets the frame below it (engine-state.ts).
    st.depth = depth;
    if (which === HelperTableId.HELPER && idLo === st.tailCallId && st.tailCallHook !== null) {
      const root = this.repeatRoot;
      const iter = root === null ? -1 : v[ITER]!;
      if (root !== null && iter !== this.tailIter) {
        // The first tail call of another run of a repeat loop: that run starts with a fresh count.
        this.tailIter = iter;
        st.resetTailCalls();
      }
      const next = st.tailCall(pc);
      if (next === undefined) return HelperStatus.STOP;
      if (next === null) {
        clearCaches(this.xchg());
        return HelperStatus.CONTINUE;
      }
      // The callee replaces this program in the current frame; its exit returns to our caller.
      const callee = this.bind(next);
      st.running = next;
      if (root !== null && depth === st.baseDepth) {
        this.tailEndIter = iter;
        this.tailEnd = next;
      }
      // The hook may have changed regions.
      clearCaches(this.xchg());
      const fuel = callee.resume(depth, fuelAt);
      // That run of a repeat loop is over; the next one starts in the loop's program.
      if (depth > st.baseDepth) st.running = prog;
      else if (root !== null) st.running = root;
      v = this.xchg();
      v[BASE + (X_FUEL >> 2)] = fuel;
      clearCaches(v);
      return HelperStatus.TAIL_EXITED;
    }
    const id = which === HelperTableId.CALLX ? (idHi === 0 ? idLo >>> 0 : -1) : idLo;
    const fn = id < 0 && which === HelperTableId.CALLX ? undefined : (which === HelperTableId.KFUNC ? st.kfuncs : st.helpers).get(id);
    const status = st.invoke(fn, id, pc);
    v = this.xchg();
    // The region caches stay valid unless the helper changed a region (or a nested run left the area another engine's).
    if (v[OWNER] !== this.id || this.mem.generation !== this.generation) this.resetCaches(v);
    // r0: the helper's result, or the value of a requested exit; a fault leaves the registers as they were.
    if (status === 2) return HelperStatus.STOP;
    v[BASE] = R[0]!;
    v[BASE + 1] = R[1]!;
    return status === 0 ? HelperStatus.CONTINUE : HelperStatus.STOP;
  }
}
