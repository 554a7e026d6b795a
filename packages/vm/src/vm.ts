/**
 * The machine: registers, the stack of call frames, the helper tables, the tail-call hook and the budget,
 * over one {@link LinearMemory}. Engines (the interpreter now, the JIT later) run a {@link Program} on it and
 * leave the same observable state: `regs`, memory, `executed` and `fault`.
 *
 * Stack layout: MAX_CALL_FRAMES frames of 512 bytes, reserved (not mapped as a region) below `stackTop`.
 * Frame `i` (0 = the entry program) is `[stackTop - 512·(i+1), stackTop - 512·i)` and its r10 is the frame's
 * top. Only the frames of the live call chain are accessible. Stack bytes are not cleared between runs
 * (like the kernel); the verifier is what keeps programs from reading uninitialised stack.
 */
import { STACK_FRAME_SIZE } from '@ebpf-sim/isa';
import { MAX_CALL_FRAMES, MAX_TAIL_CALL_CNT, makeFault, VmFaultError, type FaultKind, type VmFault } from './fault.js';
import { HelperTable, helperResultWords, type HelperContext, type HelperFn, type HelperSpec } from './helpers.js';
import { FRAME_WORDS, interpret, interpretRepeat } from './interp.js';
import { hi32, joinU64, lo32, splitU64 } from './int64.js';
import { Arena, LinearMemory, type PermBits } from './memory.js';
import { ownedBlock } from './pool.js';
import { primeEngine } from './probe.js';
import type { MemoryChecks } from './jit/compile.js';
import { JitEngine } from './jit/engine.js';
import type { Program } from './program.js';

/** Execution engines this build supports. */
export const ENGINES = ['interp', 'jit', 'auto'] as const;
export type EngineName = (typeof ENGINES)[number];

/** Linux's helper id of bpf_tail_call. */
export const BPF_FUNC_TAIL_CALL = 12;

/**
 * Resolves a tail call: `ctx.arg(2)` is the prog-array map pointer and `ctx.arg(3)` the index, as the program
 * passed them to bpf_tail_call. Return the program to continue with, or null when the slot is empty or out
 * of range (then execution continues after the call, like Linux).
 */
export type TailCallHook = (ctx: HelperContext) => Program | null;

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
   * Run the engine priming probes (see probe.ts) before this VM's first run (default true). Only worth
   * skipping for a single short run in a fresh process, where it would cost more than it saves.
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

/** The most runs one interpreter repeat loop counts (an int32 word of the pool). */
const INTERP_REPEAT_MAX = 0x7fff_ffff;
const STACK_AREA = MAX_CALL_FRAMES * STACK_FRAME_SIZE;

function table(specs: readonly HelperSpec[] | HelperTable | undefined): HelperTable {
  return specs instanceof HelperTable ? specs : new HelperTable(specs ?? []);
}

export class Vm implements HelperContext {
  readonly mem: LinearMemory;
  /**
   * The register file behind {@link regs}. Engines write it directly; after a lean JIT run it may be stale
   * until `regs` is read (see JitEngine.flush), so only the engines use this name.
   */
  readonly registers: Int32Array;
  /** Pool index of `registers[0]` (the interpreter addresses registers in the word pool, see pool.ts). */
  readonly regBase: number;
  readonly helpers: HelperTable;
  readonly kfuncs: HelperTable;
  readonly tailCallHook: TailCallHook | null;
  readonly tailCallId: number;
  readonly engine: EngineName;
  /** Instruction budget of each run. */
  budget: number;
  /** One past the highest stack byte; r10 of the entry frame. */
  readonly stackTop: number;
  /** Lowest stack byte (frame MAX_CALL_FRAMES - 1). */
  readonly stackBase: number;

  /** Instructions executed by the last run (including the faulting one). */
  executed = 0;
  /** Why the last run stopped, or null when it exited normally. */
  fault: VmFault | null = null;
  /** Runs the last {@link runRepeat} made: its `repeat`, or up to and including the run that faulted. */
  runs = 0;
  /** The program running (changes on tail calls); the program a fault's pc refers to. */
  running: Program | null = null;

  /** Engine scratch: saved caller state of bpf-to-bpf calls, see interp.ts FRAME_WORDS. */
  readonly frames = new Int32Array(MAX_CALL_FRAMES * FRAME_WORDS);
  readonly frameProgs: Array<Program | null> = new Array<Program | null>(MAX_CALL_FRAMES).fill(null);
  /** Bounds of the region found by the last {@link resolveAccess}, for the engines' last-hit cache. */
  cacheLo = 0;
  cacheHi = 0;
  /** Slot of the helper call in progress (HelperContext.pc). */
  pc = 0;
  /** Engine state of the current run: call depth (0 = entry program) and the frame's may_goto counter. */
  depth = 0;
  loops = 0;
  /** Word index where the engine continues after switching programs (tail calls). */
  resumeAt = 0;
  /** The entry program of the interpreter's repeat loop in progress (see interp.ts runRepeat), else null. */
  repeatEntry: Program | null = null;

  private readonly prime: boolean;
  /** The JIT engine (engine jit or auto), else null. */
  readonly jit: JitEngine | null;
  private tailCalls = 0;
  private exitRequested = false;
  private packetAddr = -1;
  private packetLen = 0;
  private readonly words = new Int32Array(2);

  /**
   * r0..r10 as (lo, hi) int32 pairs: r`n` is regs[2n] (low word) and regs[2n + 1] (high word). A lean JIT run
   * leaves its registers in the Wasm exchange area and copies them here only when they are read (most hot
   * callers read only r0, or nothing), so a run costs no register traffic in JavaScript.
   */
  get regs(): Int32Array {
    const jit = this.jit;
    if (jit !== null && jit.stale) jit.flush();
    return this.registers;
  }

  constructor(options: VmOptions = {}) {
    // r0..r10 as 22 words; the block's words 22..31 are engine scratch (the interpreter's repeat state).
    const file = ownedBlock(32, 22);
    this.registers = file.view;
    this.regBase = file.base;
    this.mem = options.memory ?? options.arena?.mem ?? new LinearMemory();
    this.helpers = table(options.helpers);
    this.kfuncs = table(options.kfuncs);
    this.tailCallHook = options.tailCall ?? null;
    this.tailCallId = options.tailCallHelperId ?? BPF_FUNC_TAIL_CALL;
    this.budget = options.budget ?? DEFAULT_BUDGET;
    this.engine = options.engine ?? 'interp';
    this.prime = options.prime ?? true;
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
    this.jit = this.engine === 'interp' ? null : new JitEngine(this, options.memoryChecks ?? 'checked', this.engine === 'auto');
  }

  /**
   * Run `prog` with r1 and r2 set (numbers are exact integers, e.g. addresses; bigints for full 64-bit values)
   * and every other register zero, r10 = the stack top. Returns true on exit (r0 in {@link r0}), false on a
   * fault ({@link fault}). Allocates nothing on the success path.
   */
  run(prog: Program, r1: number | bigint = 0, r2: number | bigint = 0): boolean {
    const jit = this.jit;
    if (jit !== null && jit.isCompiled(prog)) {
      // The JIT sets up only the registers it has to (see JitEngine.run): the lean path for hot loops. No
      // priming (that is for the interpreter) and no region-cache reset (the JIT validates its own). Kept
      // small so TurboFan inlines it (and JitEngine.run) into the caller's loop.
      this.fault = null;
      this.tailCalls = 0;
      this.exitRequested = false;
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
   * on the interpreter it is a loop over {@link run}.
   */
  runRepeat(prog: Program, r1: number | bigint = 0, r2: number | bigint = 0, repeat = 1): boolean {
    if (!Number.isSafeInteger(repeat) || repeat < 1) throw new RangeError(`runRepeat: repeat must be a positive integer, not ${repeat}`);
    const jit = this.jit;
    if (jit === null) return this.interpretRuns(prog, r1, r2, repeat);
    for (let i = 0; i < repeat;) {
      if (jit !== null && jit.isCompiled(prog)) {
        // (`auto` reaches this once the program turned hot inside the loop.)
        this.resetRunState();
        const ok = jit.repeat(prog, r1, r2, repeat - i);
        this.runs = i + jit.iterations;
        return ok;
      }
      i++;
      if (!this.run(prog, r1, r2)) {
        this.runs = i;
        return false;
      }
    }
    this.runs = repeat;
    return true;
  }

  /** {@link run} and {@link runRepeat} on the interpreter: the repeat loop and register set-up are in interp.ts. */
  private interpretRuns(prog: Program, r1: number | bigint, r2: number | bigint, repeat: number): boolean {
    this.beginRun();
    // The interpreter keeps the runs left in an int32 pool word; BPF_PROG_TEST_RUN's repeat is a u32, so a
    // larger count runs as several loops.
    let runs = 0;
    for (let left = repeat; left > 0 && this.fault === null;) {
      const chunk = left > INTERP_REPEAT_MAX ? INTERP_REPEAT_MAX : left;
      runs += interpretRepeat(this, prog, lo32(r1), hi32(r1), lo32(r2), hi32(r2), chunk);
      left -= chunk;
    }
    this.runs = runs;
    return this.fault === null;
  }

  private setUpAndStart(prog: Program, r1: number | bigint, r2: number | bigint): boolean {
    const R = this.regs;
    // Written out: TurboFan does not unroll a 22-step loop, and the loop cost ~9 ns of every run (measured on
    // the bench's `empty`: 26.5 ns per run with the loop, 17.5 without).
    R[0] = R[1] = R[2] = R[3] = R[4] = R[5] = R[6] = R[7] = R[8] = R[9] = R[10] = 0;
    R[11] = R[12] = R[13] = R[14] = R[15] = R[16] = R[17] = R[18] = R[19] = R[21] = 0;
    R[2] = lo32(r1);
    R[3] = hi32(r1);
    R[4] = lo32(r2);
    R[5] = hi32(r2);
    R[20] = this.stackTop;
    return this.start(prog);
  }

  /** Run with r1..r5 taken from `args` (missing ones are 0). */
  runArgs(prog: Program, args: ReadonlyArray<number | bigint>): boolean {
    const R = this.regs;
    for (let i = 0; i < 22; i++) R[i] = 0;
    if (args.length > 5) throw new RangeError('eBPF programs take at most 5 arguments (r1..r5)');
    args.forEach((value, i) => {
      [R[2 * i + 2], R[2 * i + 3]] = splitU64(value);
    });
    R[20] = this.stackTop;
    return this.start(prog);
  }

  /** Run and collect the outcome as data; with `throwOnFault`, a fault throws a {@link VmFaultError}. */
  execute(prog: Program, args: ReadonlyArray<number | bigint> = [], options: { throwOnFault?: boolean } = {}): RunResult {
    const ok = this.runArgs(prog, args);
    if (!ok && options.throwOnFault && this.fault) throw new VmFaultError(this.fault);
    return { r0: ok ? this.r0 : 0n, executed: this.executed, fault: this.fault };
  }

  private start(prog: Program): boolean {
    this.beginRun();
    return this.jit === null ? interpret(this, prog) : this.jit.start(prog);
  }

  private beginRun(): void {
    if (this.prime) primeEngine();
    this.fault = null;
    this.tailCalls = 0;
    this.exitRequested = false;
    this.cacheLo = this.cacheHi = 0;
  }

  /** Engine support: the per-run state a fresh run starts with (no fault, no tail calls, no exit request). */
  resetRunState(): void {
    this.fault = null;
    this.tailCalls = 0;
    this.exitRequested = false;
  }

  /** Engine support: a new run of a repeat loop starts counting tail calls from zero. */
  resetTailCalls(): void {
    this.tailCalls = 0;
  }

  /** r0 as an unsigned 64-bit value. */
  get r0(): bigint {
    return joinU64(this.regs[0] ?? 0, this.regs[1] ?? 0);
  }

  /** Register `n` (0..10) as an unsigned 64-bit value. */
  reg(n: number): bigint {
    return joinU64(this.regs[2 * n] ?? 0, this.regs[2 * n + 1] ?? 0);
  }

  /** Set register `n` (0..10). */
  setReg(n: number, value: number | bigint): void {
    [this.regs[2 * n], this.regs[2 * n + 1]] = splitU64(value);
  }

  /** The skb packet LD ABS/IND read from (an address range of the memory), or none. */
  setPacket(addr: number, length: number): void {
    this.packetAddr = addr;
    this.packetLen = length;
  }

  clearPacket(): void {
    this.packetAddr = -1;
    this.packetLen = 0;
  }

  // ---- HelperContext ---------------------------------------------------------------------------------

  arg(n: number): bigint {
    return this.reg(n);
  }

  argNumber(n: number): number {
    return (this.regs[2 * n + 1] ?? 0) * 4294967296 + ((this.regs[2 * n] ?? 0) >>> 0);
  }

  argU32(n: number): number {
    return (this.regs[2 * n] ?? 0) >>> 0;
  }

  /**
   * Stop the program after the current helper returns, with r0 = `value` (uBPF's "unwind" helper, Linux's
   * bpf_throw). Only meaningful inside a helper.
   */
  requestExit(value: number | bigint): void {
    this.exitRequested = true;
    [this.regs[0], this.regs[1]] = splitU64(value);
  }

  // ---- Engine support (shared by every engine so faults are identical) ---------------------------------

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
    try {
      result = fn(this);
      helperResultWords(result, this.words);
    } catch (error) {
      this.setFault('helper-error', pc, { detail: id, message: error instanceof Error ? error.message : String(error) });
      return 2;
    }
    if (this.exitRequested) return 1;
    this.regs[0] = this.words[0] ?? 0;
    this.regs[1] = this.words[1] ?? 0;
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
    try {
      next = hook(this);
    } catch (error) {
      this.setFault('helper-error', pc, { detail: this.tailCallId, message: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
    if (next !== null) this.tailCalls++;
    return next;
  }

  /**
   * LD ABS/IND: r0 = the big-endian value at `offset` in the packet. 0 = loaded, 1 = out of bounds (Linux
   * ends the program with r0 = 0), 2 = fault (no packet).
   */
  loadPacket(offset: number, size: number, pc: number): number {
    if (this.packetAddr < 0) {
      this.setFault('no-packet', pc);
      return 2;
    }
    const R = this.regs;
    R[1] = 0;
    if (offset < 0 || offset + size > this.packetLen) {
      R[0] = 0;
      return 1;
    }
    const view = this.mem.dataView;
    const at = this.packetAddr + offset;
    R[0] = size === 1 ? view.getUint8(at) : size === 2 ? view.getUint16(at, false) : view.getInt32(at, false);
    return 0;
  }

  /** Map a region in this VM's memory (shorthand for `mem.mapRegion`). */
  mapRegion(addr: number, size: number, perms: PermBits, name: string): void {
    this.mem.mapRegion(addr, size, perms, name);
  }
}
