/**
 * The machine: registers, the stack of call frames, the helper tables, the tail-call hook and the budget,
 * over one {@link LinearMemory}. Its engines (the interpreter, `interp.ts`, and the WebAssembly JIT, `jit/`)
 * run a {@link Program} on it and leave the same observable state: `regs`, memory, `executed` and `fault`. What
 * the engines keep while they run is not part of the VM's face: it is in engine-state.ts, one state per nesting
 * level, so a helper can start a run on the same VM (a callback, another program) without disturbing the run
 * that called it.
 *
 * Stack layout: MAX_CALL_FRAMES frames of 512 bytes, reserved (not mapped as a region) below `stackTop`.
 * Frame `i` (0 = the entry program) is `[stackTop - 512·(i+1), stackTop - 512·i)` and its r10 is the frame's
 * top. Only the frames of the live call chain are accessible. Stack bytes are not cleared between runs
 * (like the kernel); the verifier is what keeps programs from reading uninitialised stack.
 */
import { STACK_FRAME_SIZE } from '@ebpf-sim/isa';
import { EngineState, Machine, REGISTER_WORDS, type TailCallHook } from './engine-state.js';
import { MAX_CALL_FRAMES, VmFaultError, type VmFault } from './fault.js';
import { HelperTable, type HelperSpec } from './helpers.js';
import { interpret, interpretRepeat } from './interp.js';
import { hi32, joinU64, lo32, splitU64 } from './int64.js';
import { Arena, LinearMemory, type PermBits } from './memory.js';
import { primeEngine } from './primer.js';
import type { MemoryChecks } from './jit/compile.js';
import { JitEngine } from './jit/engine.js';
import type { Program } from './program.js';

export type { TailCallHook } from './engine-state.js';

/** Execution engines this build supports. */
export const ENGINES = ['interp', 'jit', 'auto'] as const;
export type EngineName = (typeof ENGINES)[number];

/** Linux's helper id of bpf_tail_call. */
export const BPF_FUNC_TAIL_CALL = 12;

export interface VmOptions {
  /** The linear memory; created (1 MiB, growable) when absent. */
  readonly memory?: LinearMemory;
  /** Where the VM reserves its stack when `stackAddr` is absent; created over `memory` when both are absent. */
  readonly arena?: Arena;
  /** Base of a MAX_CALL_FRAMES * 512-byte area the embedder reserved for the stack (not mapped as a region). */
  readonly stackAddr?: number;
  /** Helpers by id (`call N`, `callx`). */
  readonly helpers?: readonly HelperSpec[] | HelperTable;
  /** Kernel functions by BTF id (`call` with src = BPF_PSEUDO_KFUNC_CALL). */
  readonly kfuncs?: readonly HelperSpec[] | HelperTable;
  /** Tail-call resolution; without it, helper `tailCallHelperId` is an ordinary helper. */
  readonly tailCall?: TailCallHook;
  /** Helper id treated as bpf_tail_call (default 12, as in Linux). */
  readonly tailCallHelperId?: number;
  /** Maximum instructions per run (default 100 million). */
  readonly budget?: number;
  /**
   * Execution engine (default interp): `jit` compiles each program to WebAssembly on its first run, `auto`
   * interprets a program until it is hot, then compiles it (see jit/engine.ts).
   */
  readonly engine?: EngineName;
  /**
   * JIT memory checks (default checked: the interpreter's exact fault semantics). `unchecked` is for verified
   * programs: accesses go straight to the memory, where WebAssembly's own bounds still keep the host safe.
   */
  readonly memoryChecks?: MemoryChecks;
  /**
   * Run the engine primer (see primer.ts) before this VM's first run (default true; once per process). Only
   * worth skipping for a single short run in a fresh process, where it would cost more than it saves.
   */
  readonly prime?: boolean;
}

/** The outcome of {@link Vm.execute}. */
export interface RunResult {
  /** r0 as an unsigned 64-bit value (0n after a fault). */
  readonly r0: bigint;
  readonly executed: number;
  readonly fault: VmFault | null;
}

const DEFAULT_BUDGET = 100_000_000;
const STACK_AREA = MAX_CALL_FRAMES * STACK_FRAME_SIZE;

function table(specs: readonly HelperSpec[] | HelperTable | undefined): HelperTable {
  return specs instanceof HelperTable ? specs : new HelperTable(specs ?? []);
}

/** One nesting level (see engine-state.ts): its state, and its JIT engine on the `jit` and `auto` engines. */
interface Level {
  readonly state: EngineState;
  readonly jit: JitEngine | null;
}

export class Vm {
  readonly mem: LinearMemory;
  /** Helpers by id; a table can still be added to (HelperTable.add). */
  readonly helpers: HelperTable;
  readonly kfuncs: HelperTable;
  readonly engine: EngineName;
  /** One past the highest stack byte; r10 of the entry frame. */
  readonly stackTop: number;
  /** Lowest stack byte (frame MAX_CALL_FRAMES - 1). */
  readonly stackBase: number;

  private readonly machine: Machine;
  /** Level 0 (runs started from outside), its state and JIT engine: the hot path reads these fields. */
  private readonly top: EngineState;
  private readonly jit: JitEngine | null;
  /** Every level made so far; levels[0] is {top, jit}, deeper ones are made on first use. */
  private readonly levels: Level[];
  private readonly checks: MemoryChecks;
  private readonly prime: boolean;

  constructor(options: VmOptions = {}) {
    this.mem = options.memory ?? options.arena?.mem ?? new LinearMemory();
    this.helpers = table(options.helpers);
    this.kfuncs = table(options.kfuncs);
    this.engine = options.engine ?? 'interp';
    this.prime = options.prime ?? true;
    this.checks = options.memoryChecks ?? 'checked';
    if (!(ENGINES as readonly string[]).includes(this.engine))
      throw new Error(`unknown engine '${String(this.engine)}' (this build has: ${ENGINES.join(', ')})`);
    if (options.stackAddr !== undefined) {
      this.stackBase = options.stackAddr;
    } else if (options.arena !== undefined || options.memory === undefined) {
      this.stackBase = (options.arena ?? new Arena(this.mem)).reserve(STACK_AREA, 4096);
    } else {
      throw new Error('Vm: given a memory without a stackAddr or an arena, the VM cannot know where free space is for its stack');
    }
    this.stackTop = this.stackBase + STACK_AREA;
    if (this.stackBase < 4096 || this.stackTop > this.mem.size)
      throw new Error(`Vm: stack [0x${this.stackBase.toString(16)}, 0x${this.stackTop.toString(16)}) is not inside the memory above page 0`);
    this.machine = new Machine(
      this.mem,
      this.helpers,
      this.kfuncs,
      options.tailCall ?? null,
      options.tailCallHelperId ?? BPF_FUNC_TAIL_CALL,
      this.stackTop,
      options.budget ?? DEFAULT_BUDGET,
    );
    const first = this.makeLevel();
    this.top = first.state;
    this.jit = first.jit;
    this.levels = [first];
  }

  /** Instruction budget of each run. */
  get budget(): number {
    return this.machine.budget;
  }

  set budget(value: number) {
    this.machine.budget = value;
    for (const level of this.levels) level.state.budget = value;
  }

  /**
   * r0..r10 as (lo, hi) int32 pairs: r`n` is regs[2n] (low word) and regs[2n + 1] (high word). A lean JIT run
   * leaves its registers in the Wasm exchange area and copies them here only when they are read (most hot
   * callers read only r0, or nothing), so a run costs no register traffic in JavaScript.
   */
  get regs(): Int32Array {
    return this.registersOf(this.shown());
  }

  /** Instructions executed by the last run (including the faulting one). */
  get executed(): number {
    return this.shown().state.executed;
  }

  /** Why the last run stopped, or null when it exited normally. */
  get fault(): VmFault | null {
    return this.shown().state.fault;
  }

  /** Runs the last {@link runRepeat} made: its `repeat`, or up to and including the run that faulted. */
  get runs(): number {
    return this.shown().state.runs;
  }

  /** The program the last run ended in (tail calls change it): the program a fault's pc refers to. */
  get running(): Program | null {
    return this.shown().state.running;
  }

  /** Whether `prog` runs compiled on this VM now: always on `jit`, once hot on `auto`, never on `interp`. */
  isCompiled(prog: Program): boolean {
    return this.jit !== null && this.jit.isCompiled(prog);
  }

  /**
   * Run `prog` with r1 and r2 set (numbers are exact integers, e.g. addresses; bigints for full 64-bit values)
   * and every other register zero, r10 = the stack top. Returns true on exit (r0 in {@link r0}), false on a
   * fault ({@link fault}). Allocates nothing on the success path. Called from a helper while this VM runs, it
   * is a nested run (see {@link runNested}).
   */
  run(prog: Program, r1: number | bigint = 0, r2: number | bigint = 0): boolean {
    const top = this.top;
    if (top.calling) return this.runNested(prog, [r1, r2], 1);
    const jit = this.jit;
    if (jit !== null && jit.isCompiled(prog)) {
      // The JIT sets up only the registers it has to (see JitEngine.run): the lean path for hot loops. No
      // priming (that is for the interpreter) and no region-cache reset (the JIT validates its own). Kept
      // small so TurboFan inlines it (and JitEngine.run) into the caller's loop.
      top.resetRunState();
      return jit.run(prog, r1, r2);
    }
    if (jit === null) return this.interpretRuns(prog, r1, r2, 1);
    return this.setUpAndStart(prog, r1, r2);
  }

  /**
   * BPF_PROG_TEST_RUN's `repeat`: run `prog` `repeat` times with the same r1 and r2, each run exactly a
   * {@link run} (fresh registers, the full budget; memory is shared, as in the kernel). Stops at the first
   * fault ({@link runs} says which run, 1-based); otherwise the state is the last run's. On the JIT the loop
   * is inside the WebAssembly module (no JavaScript between runs, like the kernel's loop in bpf_test_run);
   * the interpreter restarts runs in place inside its dispatch loop. Any count up to 2^53 - 1 is counted
   * exactly (the kernel's is a u32).
   */
  runRepeat(prog: Program, r1: number | bigint = 0, r2: number | bigint = 0, repeat = 1): boolean {
    if (!Number.isSafeInteger(repeat) || repeat < 1) throw new RangeError(`runRepeat: repeat must be a positive integer, not ${repeat}`);
    const top = this.top;
    if (top.calling) return this.runNested(prog, [r1, r2], repeat);
    const jit = this.jit;
    if (jit === null) return this.interpretRuns(prog, r1, r2, repeat);
    for (let i = 0; i < repeat;) {
      if (jit.isCompiled(prog)) {
        // (`auto` reaches this once the program turned hot inside the loop.)
        top.resetRunState();
        const ok = jit.repeat(prog, r1, r2, repeat - i);
        top.runs = i + jit.iterations;
        return ok;
      }
      i++;
      if (!this.run(prog, r1, r2)) {
        top.runs = i;
        return false;
      }
    }
    top.runs = repeat;
    return true;
  }

  /** Run with r1..r5 taken from `args` (missing ones are 0). */
  runArgs(prog: Program, args: ReadonlyArray<number | bigint>): boolean {
    if (args.length > 5) throw new RangeError('eBPF programs take at most 5 arguments (r1..r5)');
    if (this.top.calling) return this.runNested(prog, args, 1);
    const level = this.levels[0]!;
    this.setArgs(level, args);
    return this.start(level, prog);
  }

  /** Run and collect the outcome as data; with `throwOnFault`, a fault throws a {@link VmFaultError}. */
  execute(prog: Program, args: ReadonlyArray<number | bigint> = [], options: { throwOnFault?: boolean } = {}): RunResult {
    const ok = this.runArgs(prog, args);
    const fault = this.fault;
    if (!ok && options.throwOnFault && fault) throw new VmFaultError(fault);
    return { r0: ok ? this.r0 : 0n, executed: this.executed, fault };
  }

  /** r0 as an unsigned 64-bit value. */
  get r0(): bigint {
    const R = this.regs;
    return joinU64(R[0] ?? 0, R[1] ?? 0);
  }

  /**
   * The low 32 bits of r0 after the last run, as an int32: a hook's verdict. Unlike {@link regs} it leaves a lean
   * JIT run's other registers where they are, so reading a verdict costs no register traffic.
   */
  get r0Low(): number {
    const level = this.shown();
    const jit = level.jit;
    return jit !== null && jit.stale ? jit.r0Low() : (level.state.registers[0] ?? 0);
  }

  /** Register `n` (0..10) as an unsigned 64-bit value. */
  reg(n: number): bigint {
    const R = this.regs;
    return joinU64(R[2 * n] ?? 0, R[2 * n + 1] ?? 0);
  }

  /** Set register `n` (0..10). */
  setReg(n: number, value: number | bigint): void {
    const R = this.regs;
    [R[2 * n], R[2 * n + 1]] = splitU64(value);
  }

  /** The skb packet LD ABS/IND read from (an address range of the memory), or none. */
  setPacket(addr: number, length: number): void {
    this.machine.packetAddr = addr;
    this.machine.packetLen = length;
  }

  clearPacket(): void {
    this.machine.packetAddr = -1;
    this.machine.packetLen = 0;
  }

  /** Map a region in this VM's memory (shorthand for `mem.mapRegion`). */
  mapRegion(addr: number, size: number, perms: PermBits, name: string): void {
    this.mem.mapRegion(addr, size, perms, name);
  }

  // ---- Levels and engines ------------------------------------------------------------------------------

  private makeLevel(): Level {
    const state = new EngineState(this.machine);
    return { state, jit: this.engine === 'interp' ? null : new JitEngine(state, this.checks, this.engine === 'auto') };
  }

  /** The level whose last run the readers (regs, r0, executed, fault, ...) describe: the innermost one not running. */
  private shown(): Level {
    if (!this.top.calling) return this.levels[0]!;
    let k = 1;
    while (this.levels[k]?.state.calling === true) k++;
    return this.level(k);
  }

  private level(k: number): Level {
    let level = this.levels[k];
    if (level === undefined) {
      level = this.makeLevel();
      this.levels[k] = level;
    }
    return level;
  }

  /** The level's register file, up to date (a lean JIT run leaves it stale until read, see JitEngine.flush). */
  private registersOf(level: Level): Int32Array {
    const jit = level.jit;
    if (jit !== null && jit.stale) jit.flush();
    return level.state.registers;
  }

  /** r1..r5 from `args`, r10 the level's entry frame, every other register zero. */
  private setArgs(level: Level, args: ReadonlyArray<number | bigint>): void {
    const R = this.registersOf(level);
    R.fill(0, 0, REGISTER_WORDS);
    for (let i = 0; i < args.length; i++) {
      const [lo, hi] = splitU64(args[i] ?? 0);
      R[2 * i + 2] = lo;
      R[2 * i + 3] = hi;
    }
    R[20] = level.state.frameTop;
  }

  /** {@link run} and {@link runRepeat} on the interpreter: the repeat loop and register set-up are in interp.ts. */
  private interpretRuns(prog: Program, r1: number | bigint, r2: number | bigint, repeat: number): boolean {
    const top = this.top;
    this.beginRun(top);
    top.runs = interpretRepeat(top, prog, lo32(r1), hi32(r1), lo32(r2), hi32(r2), repeat);
    return top.fault === null;
  }

  private setUpAndStart(prog: Program, r1: number | bigint, r2: number | bigint): boolean {
    const level = this.levels[0]!;
    const R = this.registersOf(level);
    // Written out: TurboFan does not unroll a 22-step loop, and the loop cost ~9 ns of every run (measured on
    // the bench's `empty`: 26.5 ns per run with the loop, 17.5 without).
    R[0] = R[1] = R[2] = R[3] = R[4] = R[5] = R[6] = R[7] = R[8] = R[9] = R[10] = 0;
    R[11] = R[12] = R[13] = R[14] = R[15] = R[16] = R[17] = R[18] = R[19] = R[21] = 0;
    R[2] = lo32(r1);
    R[3] = hi32(r1);
    R[4] = lo32(r2);
    R[5] = hi32(r2);
    R[20] = this.stackTop;
    return this.start(level, prog);
  }

  /** Start a run with the level's registers set up. */
  private start(level: Level, prog: Program): boolean {
    const st = level.state;
    this.beginRun(st);
    return level.jit === null ? interpret(st, prog) : level.jit.start(prog);
  }

  private beginRun(st: EngineState): void {
    if (this.prime) primeEngine();
    st.resetRunState();
    st.cacheLo = st.cacheHi = 0;
  }

  /**
   * A run started while this VM is running (a helper, or a tail-call hook, starting a program or a callback
   * on the VM that called it): on the next nesting level, so every register, frame and counter of the run in
   * progress stays as it was (engine-state.ts). Its entry frame is the frame below the live frames of the run
   * that started it, so it counts toward MAX_CALL_FRAMES with them and can use their stack through pointers,
   * as a bpf_loop callback does; with no frame left it faults with `call-depth`. Each run has the full budget.
   * Until the helper returns, the readers (r0, regs, executed, fault, runs, running) describe this run.
   */
  private runNested(prog: Program, args: ReadonlyArray<number | bigint>, repeat: number): boolean {
    let k = 1;
    while (this.levels[k]?.state.calling === true) k++;
    const outer = this.levels[k - 1]!.state;
    const level = this.level(k);
    const st = level.state;
    st.enterAt(outer.depth + 1);
    st.running = prog;
    if (st.baseDepth >= MAX_CALL_FRAMES) {
      // The call-depth fault a bpf-to-bpf call that deep gets (frame baseDepth + 1 of MAX_CALL_FRAMES).
      st.resetRunState();
      st.executed = 0;
      st.runs = 1;
      st.setFault('call-depth', 0, { detail: st.baseDepth + 1 });
      return false;
    }
    let runs = 0;
    while (runs < repeat) {
      this.setArgs(level, args);
      runs++;
      if (!this.start(level, prog)) break;
    }
    st.runs = runs;
    return st.fault === null;
  }
}
