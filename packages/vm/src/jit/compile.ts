/**
 * The eBPF → WebAssembly compiler. One Wasm module per program (and memory-check mode):
 *
 * - One Wasm function per eBPF function: slot 0 and every bpf-to-bpf call target. Its code is every basic
 *   block reachable from that entry (a block reachable from two entries is compiled into both). Signature
 *   `(r0..r9: i64, depth: i32, fuel: i32) -> (r0: i64, fuel: i32)`: registers are i64 locals, r10 is computed
 *   from the call depth, and r1..r9 of the caller are simply its own locals (the interpreter restores them
 *   from the frame on exit, which is the same thing).
 * - Execution budget: `fuel` counts down by each basic block's instruction count on block entry, so
 *   `executed` is exact; a block that would overdraw it faults with the budget error at the exact
 *   instruction, without running that block's first instructions (see README).
 * - Memory: loads and stores go straight to the imported memory. In checked mode each access first tests
 *   the live stack and a one-entry cache of the last region hit (per read/write), then asks the embedder
 *   (`access`), which applies the interpreter's own check and records its fault.
 * - Anything that stops the program abnormally (fault, helper exit, out-of-bounds LD ABS) branches to the
 *   function's stop label, which publishes the registers to the exchange area and calls `raise`, which
 *   throws to unwind all Wasm frames at once.
 * - Exports: `run(r1lo, r1hi, r2lo, r2hi, fuel) -> fuel` (entry at depth 0, every other register zero),
 *   `repeat(r1lo, r1hi, r2lo, r2hi, fuel, n) -> fuel` (`run` n times in a loop, BPF_PROG_TEST_RUN's repeat) and
 *   `resume(depth, fuel) -> fuel` (registers from the exchange area: runs with r3..r5, tail calls, runs a
 *   helper starts on the same VM, whose entry frame is deeper: the imported global `base`). An exit at the
 *   entry depth publishes the registers; on the lean paths (`run`, `repeat`, `fast`) only those the entry
 *   function writes (see `written`), the others still hold their initial values, which the engine knows.
 *
 * Wasm traps on integer division by zero and on INT_MIN / -1; eBPF defines both (x / 0 = 0, x % 0 = x,
 * INT_MIN / -1 = INT_MIN), so divisions test their divisor first. Atomics are plain loads and stores: a run is
 * single-threaded, so nothing can interleave with them.
 */
import type { Insn } from '@ebpf-sim/isa';
import { AluOp, AtomicOp, JmpOp, STACK_FRAME_SIZE } from '@ebpf-sim/isa';
import { BPF_MAX_LOOPS, MAX_CALL_FRAMES } from '../fault.js';
import { PROBE_ZERO } from '../memory.js';
import type { Program } from '../program.js';
import { nodesOnCycles, structure, type Graph, type NodeEnd, type StructureKind, type StructureSink } from './structure.js';
import { Code, ModuleBuilder, Op, T } from './wasm.js';

/**
 * The register-exchange area: bytes [XCHG, XCHG + 256) of page 0, which no region can ever cover (page 0 is
 * the NULL guard), so no eBPF program can reach it through a checked access.
 */
export const XCHG = 0xf00;
export const XCHG_SIZE = 256;
/** Byte offsets in the exchange area. */
export const X_REGS = 0; // r0..r10, i64 each
export const X_FUEL = 88;
/**
 * The region caches (first and last byte of the region last hit by a read, and by a write), kept across runs
 * by the engine; an empty cache is (0xffffffff, 7), which no access can fall in.
 */
export const X_RCACHE = 92;
export const X_WCACHE = 104;
/** Nonzero once anything (a helper, a tail call) saw registers mid-run: a depth-0 exit then publishes all. */
export const X_FULL = 100;
/** Id of the engine whose region caches the exchange area holds (VMs may share a memory). */
export const X_OWNER = 112;
/** The `repeat` export's current iteration (0-based): which run a fault or a tail call belongs to. */
export const X_ITER = 116;
/** Where a function saves its internal locals around an import call (see saveAll). */
const X_SAVE = 128;

/** Codes of the `stop` import: why the run ends (RECORDED: the embedder already recorded it). */
export const StopCode = { RECORDED: 0, BUDGET: 1, CALL_DEPTH: 2, UNRESOLVED_LD_IMM64: 3, FELL_OFF: 4 } as const;

/** Status returned by the `access` import: a fault (recorded), a good access, or a probe load's fault that reads zeros. */
export const AccessStatus = { FAULT: 0, OK: 1, PROBE_ZERO: 2 } as const;

/** Status returned by the `helper` import. */
export const HelperStatus = { CONTINUE: 0, STOP: 1, TAIL_EXITED: 2 } as const;

/** Helper tables of the `helper` import. */
export const HelperTableId = { HELPER: 0, KFUNC: 1, CALLX: 2 } as const;
type HelperTableIdValue = (typeof HelperTableId)[keyof typeof HelperTableId];

export type MemoryChecks = 'checked' | 'unchecked';

/**
 * The largest WebAssembly function body an engine must accept (the JS API's limit, V8's
 * kV8MaxWasmFunctionSize): 7,654,321 bytes. An eBPF function whose code would be larger (about a million
 * instructions) is refused with {@link JitLimitError} before `new WebAssembly.Module` sees it.
 */
export const MAX_WASM_FUNCTION_BYTES = 7_654_321;

/** A program the JIT cannot compile (too large for a WebAssembly function); the interpreter runs it. */
export class JitLimitError extends Error {
  override readonly name = 'JitLimitError';
  constructor(
    readonly program: string,
    /** Slot of the eBPF function's entry that is too large. */
    readonly entrySlot: number,
  ) {
    super(
      `program too large for the JIT: '${program}', the function at insn ${entrySlot}, needs more than the ${MAX_WASM_FUNCTION_BYTES} bytes a WebAssembly function may have\n` +
        '  hint: run it on the interpreter (engine interp, or auto, which falls back to it)',
    );
  }
}

export interface CompiledProgram {
  readonly module: WebAssembly.Module;
  readonly checks: MemoryChecks;
  /** Slot of each instruction by ordinal; one extra entry (slotCount) for running off the end. */
  readonly slotOf: Int32Array;
  /** Indexes into `Vm.regs` (two per register) of the registers the entry function may write. */
  readonly written: Int32Array;
  /**
   * Longest path of the entry function when it is loop- and call-free, 0 when it has loops but no bpf-to-bpf
   * call, else null. When not null the module also exports `fast(r1lo, r1hi, r2lo, r2hi, fuel) -> fuel`, the
   * entry function itself (without fuel tests when loop-free; with them otherwise), exact whenever `fuel` is at
   * least this (a lean run calls it directly: no wrapper call per run).
   */
  readonly fastLength: number | null;
  /** How each function's control flow was structured. */
  readonly functions: readonly { readonly entrySlot: number; readonly kind: StructureKind; readonly blocks: number }[];
  readonly wasmBytes: number;
  /** The module's bytes: the JIT image, as OBJ_GET_INFO_BY_FD's jited_prog_insns gives it (prog dump jited). */
  readonly wasm: Uint8Array;
  /** Compile time in microseconds (byte generation plus `new WebAssembly.Module`). */
  readonly micros: number;
}

// Import function indexes (declared in this order).
const F_HELPER = 0;
const F_ACCESS = 1;
const F_STOP = 2;
const F_PACKET = 3;
/** Program.wasmCalls follow, one import each (module `k`, named by the call's immediate), in the map's order. */
const F_WASM_CALLS = 4;
const G_TOP = 0;
/**
 * The frame depth of the run's entry program: 0, or, for a run a helper started on the same VM, the frame below
 * the live frames of the run that started it (engine-state.ts). An exit at this depth ends the run.
 */
const G_BASE = 1;

// Local layout of every eBPF function.
const P_DEPTH = 10;
const P_FUEL = 11;
const L_R10 = 12;
const L_SLO = 13;
/**
 * BPF_REG_AX (r11), the kernel's scratch register in its own patches (kernel-insns.ts): a plain local, as the
 * kernel's JITs give it a scratch machine register. Never a parameter, never published or saved: no caller or
 * helper sees it, and no patch keeps a value in it across a call.
 */
const L_AX = 14;
const L_A = 15;
const L_T1 = 16;
// 17..20: spare (the region caches are read from the exchange area where needed).
const L_LOOPS = 21;
const L_LABEL = 22;
const L_S32 = 23;
const L_X32 = 24;
/** The stop reason and its arguments (see StopCode), set before branching to the stop label. */
const L_SK = 25;
const L_S1 = 26;
const L_S2 = 27;
const L_S3 = 28;
/**
 * The pending charge: instructions of blocks that do not test the fuel, not yet taken from P_FUEL (the fuel left
 * is P_FUEL - L_PEND). Such a block adds its count here; a block that tests takes the pending charge and its own
 * count from P_FUEL at once and sets this to 0. Inside a loop that is tested only at its header, the header's
 * 0 makes the branches' charges phis of constants, so the fuel's chain through an iteration is one subtraction,
 * not one per block on the path (alu32_jmp32: five dependent subtractions were the loop's critical path).
 */
const L_PEND = 29;
/**
 * The current frame's bottom as an i32 (r10 - 512), for a program that never writes r10: every `r10 + off`
 * access inside the frame addresses it with the memarg offset `off + 512`, so all stack accesses share one base
 * register and need no address arithmetic of their own. With `wrap(r10) + off` per access, TurboFan computed
 * each distinct address once and kept them all live (sort16_stack spilled eight of them across its loops).
 */
const L_FP32 = 30;
const FUNC_LOCALS: readonly T[] = [
  T.I64,
  T.I64,
  T.I64,
  T.I64,
  T.I64,
  T.I64,
  T.I64,
  T.I64,
  T.I64,
  T.I32,
  T.I32,
  T.I32,
  T.I32,
  T.I32,
  T.I32,
  T.I32,
  T.I32,
  T.I32,
  T.I32,
];
/** Internal locals a function saves around import calls: [local, type, offset in the exchange area]. */
const SAVED: ReadonlyArray<readonly [number, T, number]> = [
  [L_SLO, T.I64, X_SAVE],
  [L_A, T.I64, X_SAVE + 16],
  [P_FUEL, T.I32, X_SAVE + 24],
  [L_LOOPS, T.I32, X_SAVE + 28],
  [P_DEPTH, T.I32, X_SAVE + 32],
  [L_LABEL, T.I32, X_SAVE + 36],
];
const FUNC_PARAMS: readonly T[] = [T.I64, T.I64, T.I64, T.I64, T.I64, T.I64, T.I64, T.I64, T.I64, T.I64, T.I32, T.I32];
const FUNC_RESULTS: readonly T[] = [T.I64, T.I32];
/** Parameters of the exported entry points `run` and `fast`: r1 and r2 as i32 halves, then the fuel. */
const RUN_PARAMS: readonly T[] = [T.I32, T.I32, T.I32, T.I32, T.I32];
/** Locals of the `repeat` export: RUN_PARAMS, the iteration count, then the iteration and the last fuel. */
const REPEAT_N = 5;
const REPEAT_I = 6;
const REPEAT_FUEL = 7;

const REG_LOCAL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, L_R10, L_AX];
/** Longest path a fuel-test-free copy may have (keeps the entry comparison in i32). */
const MAX_BOUNDED = 0x3fffffff;
const ALL_REGS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const R0_ONLY = [0];

/** Registers an instruction writes. */
function defs(insn: Insn): number[] {
  switch (insn.form.kind) {
    case 'alu':
    case 'neg':
    case 'movsx':
    case 'end':
    case 'ld_imm64':
    case 'ldx':
    case 'ldxsx':
      return [insn.dst];
    case 'call':
    case 'callx':
    case 'ld_abs':
    case 'ld_ind':
      return [0];
    case 'atomic':
      if (insn.form.op === AtomicOp.CMPXCHG) return [0];
      return (insn.form.op & AtomicOp.FETCH) !== 0 ? [insn.src] : [];
    default:
      return [];
  }
}

/** A basic block: instructions [start, end) by ordinal. */
interface Block {
  readonly start: number;
  readonly end: number;
  readonly succs: readonly number[];
  readonly kind: NodeEnd;
}

/** ALU operation → [64-bit op, 32-bit op]. */
const ALU_OPS: Readonly<Record<number, readonly [Op, Op]>> = {
  [AluOp.ADD]: [Op.I64_ADD, Op.I32_ADD],
  [AluOp.SUB]: [Op.I64_SUB, Op.I32_SUB],
  [AluOp.MUL]: [Op.I64_MUL, Op.I32_MUL],
  [AluOp.OR]: [Op.I64_OR, Op.I32_OR],
  [AluOp.AND]: [Op.I64_AND, Op.I32_AND],
  [AluOp.XOR]: [Op.I64_XOR, Op.I32_XOR],
  [AluOp.LSH]: [Op.I64_SHL, Op.I32_SHL],
  [AluOp.RSH]: [Op.I64_SHR_U, Op.I32_SHR_U],
  [AluOp.ARSH]: [Op.I64_SHR_S, Op.I32_SHR_S],
};
/** Jump condition → [64-bit compare, 32-bit compare] (JSET is an AND, handled apart). */
const CMP_OPS: Readonly<Record<number, readonly [Op, Op]>> = {
  [JmpOp.JEQ]: [Op.I64_EQ, Op.I32_EQ],
  [JmpOp.JNE]: [Op.I64_NE, Op.I32_NE],
  [JmpOp.JGT]: [Op.I64_GT_U, Op.I32_GT_U],
  [JmpOp.JGE]: [Op.I64_GE_U, Op.I32_GE_U],
  [JmpOp.JLT]: [Op.I64_LT_U, Op.I32_LT_U],
  [JmpOp.JLE]: [Op.I64_LE_U, Op.I32_LE_U],
  [JmpOp.JSGT]: [Op.I64_GT_S, Op.I32_GT_S],
  [JmpOp.JSGE]: [Op.I64_GE_S, Op.I32_GE_S],
  [JmpOp.JSLT]: [Op.I64_LT_S, Op.I32_LT_S],
  [JmpOp.JSLE]: [Op.I64_LE_S, Op.I32_LE_S],
};
const LOAD: Readonly<Record<number, Op>> = { 1: Op.I64_LOAD8_U, 2: Op.I64_LOAD16_U, 4: Op.I64_LOAD32_U, 8: Op.I64_LOAD };
const LOAD_SX: Readonly<Record<number, Op>> = { 1: Op.I64_LOAD8_S, 2: Op.I64_LOAD16_S, 4: Op.I64_LOAD32_S };
const STORE: Readonly<Record<number, Op>> = { 1: Op.I64_STORE8, 2: Op.I64_STORE16, 4: Op.I64_STORE32, 8: Op.I64_STORE };
const ALIGN: Readonly<Record<number, number>> = { 1: 0, 2: 1, 4: 2, 8: 3 };

const PERM_READ = 1;
const PERM_WRITE = 2;
const PERM_RW = 3;

function table<V>(map: Readonly<Record<number, V>>, key: number, what: string): V {
  const value = map[key];
  if (value === undefined) throw new Error(`jit: no ${what} for ${key}`);
  return value;
}

/** The resolved 64-bit value of an LD imm64 (Program.ldImm64); undefined if unresolved. */
function ldImm64Value(prog: Program, insn: Insn): readonly [number, number] | undefined {
  return prog.ldImm64.get(insn.slot);
}

/** Ordinal of the instruction a jump at `insn` lands on. */
function jumpTarget(insn: Insn): number {
  return insn.slot + 1 + (insn.form.kind === 'ja' && insn.form.cls === 'jmp32' ? insn.imm : insn.off);
}

function endsBlock(insn: Insn): boolean {
  const k = insn.form.kind;
  return k === 'jmp' || k === 'ja' || k === 'jcond' || k === 'exit' || k === 'call' || k === 'callx';
}

/** Whether the program ever writes r10 (unverified bytecode may); then r10-relative accesses are checked too. */
function writesR10(insns: readonly Insn[]): boolean {
  for (const insn of insns) {
    const k = insn.form.kind;
    if (insn.dst === 10 && (k === 'alu' || k === 'neg' || k === 'movsx' || k === 'end' || k === 'ld_imm64' || k === 'ldx' || k === 'ldxsx')) return true;
    if (insn.src === 10 && k === 'atomic' && (insn.form.op & AtomicOp.FETCH) !== 0) return true;
  }
  return false;
}

/** Compile `prog` to a WebAssembly module. */
export function compileProgram(prog: Program, checks: MemoryChecks = 'checked'): CompiledProgram {
  const t0 = performance.now();
  const insns = prog.insns;
  const n = insns.length;
  const ordOf = new Int32Array(prog.slotCount + 1).fill(-1);
  const slotOf = new Int32Array(n + 1);
  insns.forEach((insn, i) => {
    ordOf[insn.slot] = i;
    slotOf[i] = insn.slot;
  });
  ordOf[prog.slotCount] = n;
  slotOf[n] = prog.slotCount;
  const ord = (slot: number): number => {
    const o = ordOf[slot];
    if (o === undefined || o < 0) throw new Error(`jit: no instruction at slot ${slot}`);
    return o;
  };

  // Leaders: entries, jump and call targets, instructions after block enders; ordinal n is "fell off".
  const leader = new Uint8Array(n + 1);
  leader[0] = 1;
  leader[n] = 1;
  const entries = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    const insn = insns[i]!;
    const k = insn.form.kind;
    if (k === 'jmp' || k === 'ja' || k === 'jcond') leader[ord(jumpTarget(insn))] = 1;
    if (insn.form.id === 'call.local') {
      const target = ord(insn.slot + 1 + insn.imm);
      leader[target] = 1;
      entries.add(target);
    }
    if (endsBlock(insn)) leader[i + 1] = 1;
  }
  const blockAt = new Int32Array(n + 1).fill(-1);
  const blocks: Block[] = [];
  for (let i = 0; i <= n;) {
    let e = i + 1;
    while (e < n && !leader[e]) e++;
    if (i === n) e = n + 1;
    blockAt[i] = blocks.length;
    blocks.push({ start: i, end: e, succs: [], kind: 'none' });
    i = e;
  }
  for (let b = 0; b < blocks.length; b++) {
    const blk = blocks[b]!;
    if (blk.start === n) continue;
    const last = insns[blk.end - 1]!;
    const next = blockAt[blk.end]!;
    let succs: number[];
    let kind: NodeEnd = 'goto';
    switch (last.form.kind) {
      case 'jmp':
      case 'jcond':
        succs = [blockAt[ord(jumpTarget(last))]!, next];
        kind = 'cond';
        break;
      case 'ja':
        succs = [blockAt[ord(jumpTarget(last))]!];
        break;
      case 'exit':
        succs = [];
        kind = 'none';
        break;
      default:
        succs = [next];
    }
    blocks[b] = { ...blk, succs, kind };
  }

  const mb = new ModuleBuilder();
  mb.importFunction('e', 'helper', [T.I32, T.I32, T.I32, T.I32, T.I32, T.I32], [T.I32]);
  mb.importFunction('e', 'access', [T.I32, T.I32, T.I32, T.I32, T.I32, T.I32, T.I32], [T.I32]);
  mb.importFunction('e', 'stop', [T.I32, T.I32, T.I32, T.I32], []);
  mb.importFunction('e', 'packet', [T.I32, T.I32, T.I32, T.I32], [T.I32]);
  for (const imm of prog.wasmCalls.keys()) mb.importFunction('k', String(imm), [T.I32, T.I32], [T.I32]);
  mb.importMemory('e', 'mem');
  mb.importGlobal('e', 'top', T.I32, false);
  mb.importGlobal('e', 'base', T.I32, true);

  const entryList = [...entries].sort((a, b) => a - b);
  const funcIndex = new Map<number, number>();
  for (const e of entryList) funcIndex.set(e, mb.declareFunction(FUNC_PARAMS, FUNC_RESULTS));
  const r10Static = !writesR10(insns);
  const functions: Array<{ entrySlot: number; kind: StructureKind; blocks: number }> = [];
  let written = new Int32Array(0);
  // A loop-free entry function without calls also gets a copy without fuel tests, which run/resume choose when
  // the fuel covers its longest path (most packet parsers: the tests would be most of their cost).
  let fast: { index: number; length: number } | null = null;
  for (const e of entryList) {
    const emitter = new FunctionEmitter(prog, insns, blocks, blockAt[e]!, slotOf, funcIndex, ldImm64Value, checks, r10Static);
    const kind = emitter.emit();
    emitter.checkSize();
    if (e === 0) {
      const published = prog.exitRegisters === 'r0' ? emitter.written.filter((r) => r === 0) : emitter.written;
      written = Int32Array.from(published.flatMap((r) => [2 * r, 2 * r + 1]));
      const bounded = emitter.boundedLength();
      // Without bpf-to-bpf calls, a function with loops gets an exported copy too, with its fuel tests: a run then
      // makes one call with five i32 parameters instead of a wrapper passing ten i64 registers.
      const length = bounded ?? (emitter.callsLocal() ? null : 0);
      if (length !== null) {
        const copy = new FunctionEmitter(prog, insns, blocks, blockAt[e]!, slotOf, funcIndex, ldImm64Value, checks, r10Static, bounded === null, true);
        copy.emit();
        copy.checkSize();
        const index = mb.declareFunction(RUN_PARAMS, [T.I32]);
        mb.defineFunction(index, [...FUNC_PARAMS, ...FUNC_LOCALS], copy.code);
        mb.exportFunction('fast', index);
        fast = { index, length };
      }
    }
    mb.defineFunction(funcIndex.get(e)!, FUNC_LOCALS, emitter.code);
    functions.push({ entrySlot: slotOf[e]!, kind, blocks: emitter.graphSize });
  }
  const main = funcIndex.get(0)!;

  // run(r1lo, r1hi, r2lo, r2hi, fuel) -> fuel: `fast` when the fuel covers its longest path, else the entry
  // function with fuel tests.
  const run = new Code();
  if (fast !== null) {
    run.getLocal(4);
    run.i32(fast.length);
    run.op(Op.I32_GE_S);
    run.if_();
    for (let p = 0; p < RUN_PARAMS.length; p++) run.getLocal(p);
    run.call(fast.index);
    run.op(Op.RETURN);
    run.end();
  }
  run.i32(XCHG);
  run.i32(0);
  run.mem(Op.I32_STORE, 2, X_FULL);
  run.i64(0, 0);
  for (let r = 0; r < 2; r++) {
    run.getLocal(2 * r);
    run.op(Op.I64_EXTEND_I32_U);
    run.getLocal(2 * r + 1);
    run.op(Op.I64_EXTEND_I32_U);
    run.i64(32, 0);
    run.op(Op.I64_SHL);
    run.op(Op.I64_OR);
  }
  for (let r = 3; r < 10; r++) run.i64(0, 0);
  run.i32(0);
  run.getLocal(4);
  run.call(main);
  run.setLocal(4);
  run.op(Op.DROP);
  run.getLocal(4);
  const runIndex = mb.declareFunction(RUN_PARAMS, [T.I32]);
  mb.defineFunction(runIndex, [], run);
  mb.exportFunction('run', runIndex);

  // repeat(r1lo, r1hi, r2lo, r2hi, fuel, n) -> fuel: BPF_PROG_TEST_RUN's `repeat` loop inside the module. Each
  // iteration is exactly a `run` (fresh registers and fuel: it calls `fast` or `run` with the same arguments)
  // and stores its index at X_ITER first, so a fault unwinding the loop tells which run it was. Returns the
  // last run's remaining fuel; n >= 1.
  const repeat = new Code();
  const emitLoop = (target: number): void => {
    repeat.loop();
    repeat.i32(XCHG);
    repeat.getLocal(REPEAT_I);
    repeat.mem(Op.I32_STORE, 2, X_ITER);
    for (let p = 0; p < RUN_PARAMS.length; p++) repeat.getLocal(p);
    repeat.call(target);
    repeat.setLocal(REPEAT_FUEL);
    repeat.getLocal(REPEAT_I);
    repeat.i32(1);
    repeat.op(Op.I32_ADD);
    repeat.teeLocal(REPEAT_I);
    repeat.getLocal(REPEAT_N);
    repeat.op(Op.I32_LT_U);
    repeat.brIf(0);
    repeat.end();
    repeat.getLocal(REPEAT_FUEL);
  };
  if (fast !== null) {
    // The choice `run` makes per call, made once: the fuel is the same for every iteration.
    repeat.getLocal(4);
    repeat.i32(fast.length);
    repeat.op(Op.I32_GE_S);
    repeat.if_();
    emitLoop(fast.index);
    repeat.op(Op.RETURN);
    repeat.end();
  }
  emitLoop(runIndex);
  const repeatIndex = mb.declareFunction([...RUN_PARAMS, T.I32], [T.I32]);
  mb.defineFunction(repeatIndex, [T.I32, T.I32], repeat);
  mb.exportFunction('repeat', repeatIndex);

  // resume(depth, fuel) -> fuel; r0 of the finished program is left in the exchange area.
  const resume = new Code();
  resume.i32(XCHG);
  resume.i32(1);
  resume.mem(Op.I32_STORE, 2, X_FULL);
  for (let r = 0; r < 10; r++) {
    resume.i32(XCHG);
    resume.mem(Op.I64_LOAD, 3, X_REGS + 8 * r);
  }
  resume.getLocal(0);
  resume.getLocal(1);
  resume.call(main);
  resume.setLocal(1);
  resume.setLocal(2);
  resume.i32(XCHG);
  resume.getLocal(2);
  resume.mem(Op.I64_STORE, 3, X_REGS);
  resume.getLocal(1);
  const resumeIndex = mb.declareFunction([T.I32, T.I32], [T.I32]);
  mb.defineFunction(resumeIndex, [T.I64], resume);
  mb.exportFunction('resume', resumeIndex);

  const bytes = mb.build();
  const module = new WebAssembly.Module(bytes);
  return {
    module,
    checks,
    slotOf,
    written,
    fastLength: fast?.length ?? null,
    functions,
    wasmBytes: bytes.length,
    wasm: bytes,
    micros: (performance.now() - t0) * 1000,
  };
}

/** Emits one eBPF function (the blocks reachable from one entry). */
class FunctionEmitter implements StructureSink {
  readonly code: Code;
  readonly labelLocal = L_LABEL;
  /** Graph node -> block index, and block index -> node. */
  private readonly nodes: number[] = [];
  private readonly nodeOf = new Map<number, number>();
  private depth = 0;

  constructor(
    private readonly prog: Program,
    private readonly insns: readonly Insn[],
    private readonly blocks: readonly Block[],
    entryBlock: number,
    private readonly slotOf: Int32Array,
    private readonly funcIndex: ReadonlyMap<number, number>,
    private readonly ldImm64: (prog: Program, insn: Insn) => readonly [number, number] | undefined,
    private readonly checks: MemoryChecks,
    private readonly r10Static: boolean,
    /** Test the fuel in blocks (false: the caller proved the function cannot overdraw it, see boundedLength). */
    private readonly budgetChecks = true,
    /**
     * Emit the exported `fast` entry point: parameters RUN_PARAMS come first (every other local moves up),
     * the function sets r1, r2 and the fuel from them, and returns only the fuel (r0 is in the exchange area).
     */
    private readonly exported = false,
  ) {
    this.code = new Code(exported ? RUN_PARAMS.length : 0);
    const stack = [entryBlock];
    this.nodeOf.set(entryBlock, 0);
    this.nodes.push(entryBlock);
    while (stack.length > 0) {
      const b = stack.pop()!;
      for (const s of blocks[b]!.succs) {
        if (!this.nodeOf.has(s)) {
          this.nodeOf.set(s, this.nodes.length);
          this.nodes.push(s);
          stack.push(s);
        }
      }
    }
    const regs = new Set<number>();
    for (const b of this.nodes) {
      const blk = blocks[b]!;
      for (let i = blk.start; i < blk.end && i < insns.length; i++) for (const r of defs(insns[i]!)) if (r <= 10) regs.add(r);
    }
    // r11 is written too (kernel patches), but it is no register a caller reads: not published.
    this.written = [...regs].sort((a, b) => a - b);
    // Registers that hold stack pointers somewhere in this function (copied or offset from r10): their
    // accesses test the stack range first. Only an ordering hint; both tests always run before a miss.
    const stackish = new Set<number>([10]);
    for (let changed = true; changed;) {
      changed = false;
      for (const b of this.nodes) {
        const blk = blocks[b]!;
        for (let i = blk.start; i < blk.end && i < insns.length; i++) {
          const insn = insns[i]!;
          const f = insn.form;
          if (
            f.kind === 'alu' &&
            f.is64 &&
            f.source === 'X' &&
            (f.op === AluOp.MOV || f.op === AluOp.ADD) &&
            stackish.has(insn.src) &&
            !stackish.has(insn.dst)
          ) {
            stackish.add(insn.dst);
            changed = true;
          }
        }
      }
    }
    this.stackish = stackish;
  }

  private readonly stackish: ReadonlySet<number>;

  /**
   * What the exit and the stop label publish (besides `written` on lean exits): every register, or r0 alone
   * for a program whose caller reads only r0 (Program.exitRegisters): then no other register is live to the
   * end of the function.
   */
  private get exitRegs(): readonly number[] {
    return this.prog.exitRegisters === 'r0' ? R0_ONLY : ALL_REGS;
  }

  /** Registers some instruction of this function writes, ascending. */
  readonly written: readonly number[];

  /**
   * For a function without cycles and without bpf-to-bpf calls: the most instructions one invocation can
   * execute (its longest path). With at least that much fuel on entry no block can overdraw, so a copy
   * without fuel tests is exact. Null for any other function.
   */
  boundedLength(): number | null {
    const n = this.nodes.length;
    const succs = (node: number): number[] => this.blocks[this.nodes[node]!]!.succs.map((b) => this.nodeOf.get(b)!);
    if (this.callsLocal()) return null;
    // Iterative DFS: a back edge (to a node on the stack) means a cycle; postorder gives the DP order.
    const state = new Uint8Array(n);
    const longest = new Float64Array(n);
    const stack: Array<[number, number]> = [[0, 0]];
    state[0] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const out = succs(top[0]);
      if (top[1] < out.length) {
        const next = out[top[1]++]!;
        if (state[next] === 1) return null;
        if (state[next] === 0) {
          state[next] = 1;
          stack.push([next, 0]);
        }
      } else {
        const blk = this.blocks[this.nodes[top[0]]!]!;
        let most = 0;
        for (const sNode of out) most = Math.max(most, longest[sNode]!);
        longest[top[0]] = blk.end - blk.start + most;
        state[top[0]] = 2;
        stack.pop();
      }
    }
    return longest[0]! <= MAX_BOUNDED ? longest[0]! : null;
  }

  /** Whether the function makes bpf-to-bpf calls. */
  callsLocal(): boolean {
    for (const b of this.nodes) {
      const blk = this.blocks[b]!;
      for (let i = blk.start; i < blk.end && i < this.insns.length; i++) if (this.insns[i]!.form.id === 'call.local') return true;
    }
    return false;
  }

  /** Throw {@link JitLimitError} once the code is larger than a WebAssembly function may be. */
  checkSize(): void {
    if (this.code.length > MAX_WASM_FUNCTION_BYTES) throw new JitLimitError(this.prog.name, this.slotOf[this.blocks[this.nodes[0]!]!.start]!);
  }

  get graphSize(): number {
    return this.nodes.length;
  }

  emit(): StructureKind {
    const c = this.code;
    if (this.exported) {
      // r1, r2 from their halves; depth 0 and every other register 0 are the locals' initial values.
      for (let r = 1; r <= 2; r++) {
        c.getParam(2 * r - 2);
        c.op(Op.I64_EXTEND_I32_U);
        c.getParam(2 * r - 1);
        c.op(Op.I64_EXTEND_I32_U);
        c.i64(32, 0);
        c.op(Op.I64_SHL);
        c.op(Op.I64_OR);
        c.setLocal(REG_LOCAL[r]!);
      }
      c.getParam(4);
      c.setLocal(P_FUEL);
      c.i32(XCHG);
      c.i32(0);
      c.mem(Op.I32_STORE, 2, X_FULL);
    }
    // r10 = top - 512 * depth; the live stack is [r10 - 512, top).
    this.frameTop();
    this.frameBase();
    c.getLocal(L_R10);
    c.i64(STACK_FRAME_SIZE, 0);
    c.op(Op.I64_SUB);
    c.setLocal(L_SLO);
    c.i32(BPF_MAX_LOOPS);
    c.setLocal(L_LOOPS);
    const graph: Graph = {
      size: this.nodes.length,
      succs: (node) => this.blocks[this.nodes[node]!]!.succs.map((b) => this.nodeOf.get(b)!),
      end: (node) => this.blocks[this.nodes[node]!]!.kind,
    };
    // `entry` budget tests: the blocks on cycles (loops) take no budget (Program's BudgetTests).
    this.uncounted = this.prog.budgetTests === 'entry' ? nodesOnCycles(graph) : null;
    const kind = structure(graph, this);
    // The stop label: publish the registers, then let the embedder record why and unwind. No register is live
    // across any call on the way here, so TurboFan never has to spill them in hot code.
    this.publish(this.exitRegs);
    c.getLocal(L_SK);
    c.getLocal(L_S1);
    c.getLocal(L_S2);
    c.getLocal(L_S3);
    c.call(F_STOP);
    c.op(Op.UNREACHABLE);
    return kind;
  }

  /** Store registers (default r0..r10) into the exchange area. */
  private publish(regs: readonly number[] = ALL_REGS): void {
    const c = this.code;
    for (const r of regs) {
      c.i32(XCHG);
      c.getLocal(REG_LOCAL[r]!);
      c.mem(Op.I64_STORE, 3, X_REGS + 8 * r);
    }
  }

  /** Branch depth of the stop label from the current position (`extra` labels opened inside the body). */
  private stop(extra: number): number {
    return this.depth - 1 + extra;
  }

  /**
   * Take the pending charge from P_FUEL before a call: the callee (or the embedder) gets the fuel in P_FUEL, and
   * L_PEND is not live across the call, where TurboFan would spill it.
   */
  private settle(): void {
    const c = this.code;
    c.getLocal(P_FUEL);
    c.getLocal(L_PEND);
    c.op(Op.I32_SUB);
    c.setLocal(P_FUEL);
    c.i32(0);
    c.setLocal(L_PEND);
  }

  /** The fuel left with `after` instructions of the current block not run: P_FUEL - L_PEND + after. */
  private fuelAt(after: number): void {
    const c = this.code;
    c.getLocal(P_FUEL);
    c.getLocal(L_PEND);
    c.op(Op.I32_SUB);
    if (after !== 0) {
      c.i32(after);
      c.op(Op.I32_ADD);
    }
  }

  /** A loop begins with nothing pending, so the pending charge at its header is 0 on the entry edge too. */
  enterLoop(): void {
    this.settle();
  }

  /** Per graph node, 1 when its block neither tests nor takes the budget (`entry` mode: blocks on loops). */
  private uncounted: Uint8Array | null = null;

  body(node: number, depth: number, cyclic: boolean): void {
    this.depth = depth;
    const blk = this.blocks[this.nodes[node]!]!;
    const c = this.code;
    // Stop as soon as the function is too large, not after emitting megabytes more.
    this.checkSize();
    const count = blk.end - blk.start;
    // Budget: take the block's instruction count; on overdraw report the exact instruction. Unchecked code
    // (verified programs) tests the fuel only where a cycle can come back (loop headers, function entries):
    // enough to stop any runaway program, and `executed` stays exact for runs that end normally. A block that
    // does not test adds its count to the pending charge (L_PEND), which the next test takes with its own.
    if (this.budgetChecks && node !== 0 && this.uncounted?.[node] === 1) {
      // A loop's block under `entry` budget tests: nothing to count (see BudgetTests).
    } else if (!this.budgetChecks || ((this.checks === 'unchecked' || this.prog.budgetTests !== 'block') && !cyclic)) {
      c.getLocal(L_PEND);
      c.i32(count);
      c.op(Op.I32_ADD);
      c.setLocal(L_PEND);
    } else {
      c.getLocal(P_FUEL);
      c.getLocal(L_PEND);
      c.i32(count);
      c.op(Op.I32_ADD);
      c.op(Op.I32_SUB);
      c.setLocal(P_FUEL);
      c.i32(0);
      c.setLocal(L_PEND);
      c.getLocal(P_FUEL);
      c.i32(0);
      c.op(Op.I32_LT_S);
      c.if_();
      c.i32(blk.start + count);
      c.getLocal(P_FUEL);
      c.op(Op.I32_ADD);
      c.setLocal(L_S1);
      c.i32(blk.start);
      c.setLocal(L_S2);
      this.stopWith(StopCode.BUDGET, 1);
      c.end();
    }
    if (blk.start === this.insns.length) {
      c.i32(this.slotOf[blk.start]!);
      c.setLocal(L_S1);
      this.fuelAt(0);
      c.setLocal(L_S3);
      this.stopWith(StopCode.FELL_OFF, 0);
      return;
    }
    for (let i = blk.start; i < blk.end; i++) {
      if (i + 1 < blk.end && this.extendPair(this.insns[i]!, this.insns[i + 1]!)) i++;
      else this.insn(this.insns[i]!, blk.end - 1 - i);
    }
  }

  /**
   * `dst <<= 32; dst >>= 32` (or `s>>= 32`) in one block: the compilers' zero (sign) extension of a 32-bit value,
   * emitted as one extension (TurboFan makes it one `movl` / `movsxd` instead of two shifts and a copy). ALU
   * instructions cannot fault and the block's fuel covers both, so nothing else can tell.
   */
  private extendPair(first: Insn, second: Insn): boolean {
    const a = first.form;
    const b = second.form;
    if (a.kind !== 'alu' || b.kind !== 'alu' || !a.is64 || !b.is64 || a.source !== 'K' || b.source !== 'K') return false;
    if (a.op !== AluOp.LSH || (b.op !== AluOp.RSH && b.op !== AluOp.ARSH) || first.imm !== 32 || second.imm !== 32 || first.dst !== second.dst) return false;
    const c = this.code;
    this.get(first.dst);
    if (b.op === AluOp.RSH) {
      c.op(Op.I32_WRAP_I64);
      c.op(Op.I64_EXTEND_I32_U);
    } else {
      c.op(Op.I64_EXTEND32_S);
    }
    this.set(first.dst);
    return true;
  }

  private get(r: number): void {
    this.code.getLocal(REG_LOCAL[r]!);
  }

  private set(r: number): void {
    this.code.setLocal(REG_LOCAL[r]!);
  }

  /** One instruction; `after` is how many instructions of its block follow it (for exact `executed`). */
  private insn(insn: Insn, after: number): void {
    const c = this.code;
    const f = insn.form;
    switch (f.kind) {
      case 'alu':
        this.alu(insn);
        return;
      case 'neg':
        if (f.is64) {
          c.i64(0, 0);
          this.get(insn.dst);
          c.op(Op.I64_SUB);
        } else {
          c.i32(0);
          this.get(insn.dst);
          c.op(Op.I32_WRAP_I64);
          c.op(Op.I32_SUB);
          c.op(Op.I64_EXTEND_I32_U);
        }
        this.set(insn.dst);
        return;
      case 'movsx':
        this.get(insn.src);
        if (f.is64) {
          c.op(f.width === 1 ? Op.I64_EXTEND8_S : f.width === 2 ? Op.I64_EXTEND16_S : Op.I64_EXTEND32_S);
        } else {
          c.op(Op.I32_WRAP_I64);
          c.op(f.width === 1 ? Op.I32_EXTEND8_S : Op.I32_EXTEND16_S);
          c.op(Op.I64_EXTEND_I32_U);
        }
        this.set(insn.dst);
        return;
      case 'end':
        this.byteSwap(insn);
        return;
      case 'jmp':
        this.compare(insn);
        return;
      case 'ja':
        return;
      case 'jcond':
        // may_goto: taken once this frame's loop counter is exhausted, else count down (Linux BPF_MAX_LOOPS).
        c.getLocal(L_LOOPS);
        c.op(Op.I32_EQZ);
        c.teeLocal(L_X32);
        c.op(Op.I32_EQZ);
        c.if_();
        c.getLocal(L_LOOPS);
        c.i32(1);
        c.op(Op.I32_SUB);
        c.setLocal(L_LOOPS);
        c.end();
        c.getLocal(L_X32);
        return;
      case 'exit':
        // The entry program's exit publishes the registers (a callee's return leaves them to its caller).
        c.getLocal(P_DEPTH);
        if (this.exported) {
          c.op(Op.I32_EQZ);
        } else {
          c.getGlobal(G_BASE);
          c.op(Op.I32_EQ);
        }
        c.if_();
        if (this.exitRegs !== ALL_REGS) {
          this.publish(this.exitRegs);
        } else {
          c.i32(XCHG);
          c.mem(Op.I32_LOAD, 2, X_FULL);
          c.if_();
          this.publish();
          c.op(Op.ELSE);
          this.publish(this.written);
          c.end();
        }
        c.end();
        if (!this.exported) this.get(0);
        this.fuelAt(0);
        c.op(Op.RETURN);
        return;
      case 'call':
        if (f.id === 'call.local') this.localCall(insn, after);
        else if (f.id === 'call.helper' && this.prog.wasmCalls.has(insn.imm)) this.wasmCall(insn);
        else this.helperCall(insn, f.id === 'call.kfunc' ? HelperTableId.KFUNC : HelperTableId.HELPER, after);
        return;
      case 'callx':
        this.helperCall(insn, HelperTableId.CALLX, after);
        return;
      case 'ld_imm64': {
        const value = this.ldImm64(this.prog, insn);
        if (value === undefined) {
          c.i32(insn.slot);
          c.setLocal(L_S1);
          c.i32(insn.src);
          c.setLocal(L_S2);
          this.fuelAt(after);
          c.setLocal(L_S3);
          this.stopWith(StopCode.UNRESOLVED_LD_IMM64, 0);
          return;
        }
        c.i64(value[0], value[1]);
        this.set(insn.dst);
        return;
      }
      case 'ld_abs':
      case 'ld_ind':
        this.packet(insn, after);
        return;
      case 'ldx':
      case 'ldxsx':
        this.address(insn.src, insn.off, f.width, PERM_READ, insn.slot, after);
        c.mem(table(f.kind === 'ldx' ? LOAD : LOAD_SX, f.width, 'load'), ALIGN[f.width] ?? 0, this.memOffset);
        this.set(insn.dst);
        return;
      case 'st':
        this.address(insn.dst, insn.off, f.width, PERM_WRITE, insn.slot, after);
        c.i64s(insn.imm);
        c.mem(table(STORE, f.width, 'store'), ALIGN[f.width] ?? 0, this.memOffset);
        return;
      case 'stx':
        this.address(insn.dst, insn.off, f.width, PERM_WRITE, insn.slot, after);
        this.get(insn.src);
        c.mem(table(STORE, f.width, 'store'), ALIGN[f.width] ?? 0, this.memOffset);
        return;
      case 'atomic':
        this.atomic(insn, after);
        return;
    }
  }

  private operand64(insn: Insn): void {
    if (insn.form.source === 'X') this.get(insn.src);
    else this.code.i64s(insn.imm);
  }

  private operand32(insn: Insn): void {
    if (insn.form.source === 'X') {
      this.get(insn.src);
      this.code.op(Op.I32_WRAP_I64);
    } else {
      this.code.i32(insn.imm);
    }
  }

  private alu(insn: Insn): void {
    const c = this.code;
    const f = insn.form;
    const signed = f.discriminant?.field === 'off' && f.discriminant.value === 1;
    if (f.op === AluOp.MOV) {
      if (f.is64) this.operand64(insn);
      else if (f.source === 'K') c.i64(insn.imm, 0);
      else {
        this.get(insn.src);
        c.op(Op.I32_WRAP_I64);
        c.op(Op.I64_EXTEND_I32_U);
      }
      this.set(insn.dst);
      return;
    }
    if (f.op === AluOp.DIV || f.op === AluOp.MOD) {
      this.divide(insn, f.op === AluOp.MOD, signed);
      return;
    }
    this.get(insn.dst);
    if (f.is64) {
      this.operand64(insn);
      c.op(table(ALU_OPS, f.op, 'alu op')[0]);
    } else {
      c.op(Op.I32_WRAP_I64);
      this.operand32(insn);
      c.op(table(ALU_OPS, f.op, 'alu op')[1]);
      c.op(Op.I64_EXTEND_I32_U);
    }
    this.set(insn.dst);
  }

  /**
   * Division and modulo with eBPF's defined results where Wasm would trap: x / 0 = 0, x % 0 = x,
   * INT_MIN / -1 = INT_MIN (Wasm's rem_s already gives INT_MIN % -1 = 0).
   */
  private divide(insn: Insn, modulo: boolean, signed: boolean): void {
    const c = this.code;
    const is64 = insn.form.is64;
    const div = is64 ? (signed ? Op.I64_DIV_S : Op.I64_DIV_U) : signed ? Op.I32_DIV_S : Op.I32_DIV_U;
    const rem = is64 ? (signed ? Op.I64_REM_S : Op.I64_REM_U) : signed ? Op.I32_REM_S : Op.I32_REM_U;
    const dividend = (): void => {
      this.get(insn.dst);
      if (!is64) c.op(Op.I32_WRAP_I64);
    };
    const zero = (): void => (is64 ? c.i64(0, 0) : c.i32(0));
    if (insn.form.source === 'K') {
      const k = insn.imm;
      if (k === 0) {
        if (modulo) dividend();
        else zero();
      } else if (k === -1 && signed) {
        if (modulo) zero();
        else {
          zero();
          dividend();
          c.op(is64 ? Op.I64_SUB : Op.I32_SUB);
        }
      } else {
        dividend();
        if (is64) c.i64s(k);
        else c.i32(k);
        c.op(modulo ? rem : div);
      }
    } else if (this.prog.divisorsNonZero.has(insn.slot) && !(signed && !modulo)) {
      // The verifier proved the divisor non-zero, and Wasm's rem_s gives INT_MIN % -1 = 0: nothing to test.
      dividend();
      this.get(insn.src);
      if (!is64) c.op(Op.I32_WRAP_I64);
      c.op(modulo ? rem : div);
    } else {
      // Divisor into a temp; then zero ? (mod ? x : 0) : (signed div by -1 ? -x : x op d).
      const temp = is64 ? L_T1 : L_S32;
      this.get(insn.src);
      if (!is64) c.op(Op.I32_WRAP_I64);
      c.teeLocal(temp);
      c.op(is64 ? Op.I64_EQZ : Op.I32_EQZ);
      c.byte(Op.IF);
      c.byte(is64 ? T.I64 : T.I32);
      if (modulo) dividend();
      else zero();
      c.op(Op.ELSE);
      if (signed && !modulo) {
        c.getLocal(temp);
        if (is64) c.i64(-1, -1);
        else c.i32(-1);
        c.op(is64 ? Op.I64_EQ : Op.I32_EQ);
        c.byte(Op.IF);
        c.byte(is64 ? T.I64 : T.I32);
        zero();
        dividend();
        c.op(is64 ? Op.I64_SUB : Op.I32_SUB);
        c.op(Op.ELSE);
        dividend();
        c.getLocal(temp);
        c.op(div);
        c.end();
      } else {
        dividend();
        c.getLocal(temp);
        c.op(modulo ? rem : div);
      }
      c.end();
    }
    if (!is64) c.op(Op.I64_EXTEND_I32_U);
    this.set(insn.dst);
  }

  private byteSwap(insn: Insn): void {
    const c = this.code;
    const f = insn.form;
    const toLittle = f.id.startsWith('end.le');
    const bits = f.width;
    this.get(insn.dst);
    if (toLittle) {
      // The machine is little-endian: le is a truncation.
      if (bits === 64) return;
      c.i64(bits === 16 ? 0xffff : -1, 0);
      c.op(Op.I64_AND);
      this.set(insn.dst);
      return;
    }
    if (bits !== 64) {
      // 16: ((v << 8) & 0xff00) | ((v >>> 8) & 0xff); 32: (rotl(v, 8) & 0x00ff00ff) | (rotr(v, 8) & 0xff00ff00).
      const [left, right, maskLeft, maskRight] =
        bits === 16 ? [Op.I32_SHL, Op.I32_SHR_U, 0xff00, 0xff] : [Op.I32_ROTL, Op.I32_ROTR, 0x00ff00ff, 0xff00ff00 | 0];
      c.op(Op.I32_WRAP_I64);
      c.setLocal(L_S32);
      for (const [shift, mask] of [
        [left, maskLeft],
        [right, maskRight],
      ] as const) {
        c.getLocal(L_S32);
        c.i32(8);
        c.op(shift);
        c.i32(mask);
        c.op(Op.I32_AND);
      }
      c.op(Op.I32_OR);
      c.op(Op.I64_EXTEND_I32_U);
    } else {
      // Swap bytes within halfwords, halfwords within words, then the words.
      for (const [shift, maskLo, maskHi] of [
        [8, 0x00ff00ff, 0x00ff00ff],
        [16, 0x0000ffff, 0x0000ffff],
      ] as const) {
        c.teeLocal(L_T1);
        c.i64(maskLo, maskHi);
        c.op(Op.I64_AND);
        c.i64(shift, 0);
        c.op(Op.I64_SHL);
        c.getLocal(L_T1);
        c.i64(shift, 0);
        c.op(Op.I64_SHR_U);
        c.i64(maskLo, maskHi);
        c.op(Op.I64_AND);
        c.op(Op.I64_OR);
      }
      c.i64(32, 0);
      c.op(Op.I64_ROTL);
    }
    this.set(insn.dst);
  }

  private compare(insn: Insn): void {
    const c = this.code;
    const f = insn.form;
    const is64 = f.cls === 'jmp';
    this.get(insn.dst);
    if (is64) {
      this.operand64(insn);
      if (f.op === JmpOp.JSET) {
        c.op(Op.I64_AND);
        c.i64(0, 0);
        c.op(Op.I64_NE);
      } else {
        c.op(table(CMP_OPS, f.op, 'jmp op')[0]);
      }
    } else {
      c.op(Op.I32_WRAP_I64);
      this.operand32(insn);
      c.op(f.op === JmpOp.JSET ? Op.I32_AND : table(CMP_OPS, f.op, 'jmp op')[1]);
    }
  }

  /** The memarg offset of the access just addressed (unchecked mode folds non-negative offsets into it). */
  private memOffset = 0;

  /**
   * Leave the i32 address of `[base + off, +size)` on the stack; in checked mode, fault (branch to stop) when
   * the interpreter would. Also keeps the 64-bit address in L_A (atomics reuse it).
   */
  private address(base: number, off: number, size: number, perm: number, slot: number, after: number): void {
    const c = this.code;
    this.memOffset = 0;
    // A probe load is checked in either mode: its fault must read 0, not trap.
    const probe = perm === PERM_READ && this.prog.probeLoads.has(slot);
    // r10 + off with -512 <= off and off + size <= 0 is always inside the current frame: no check, and the
    // frame's bottom plus a constant offset (r10 - 512 is above page 0, so nothing wraps).
    if (base === 10 && this.r10Static && off >= -STACK_FRAME_SIZE && off + size <= 0) {
      c.getLocal(L_FP32);
      this.memOffset = off + STACK_FRAME_SIZE;
      return;
    }
    if ((this.checks === 'unchecked' && !probe) || this.prog.memoryInBounds.has(slot)) {
      this.get(base);
      c.op(Op.I32_WRAP_I64);
      if (off >= 0) this.memOffset = off;
      else {
        c.i32(off);
        c.op(Op.I32_ADD);
      }
      return;
    }
    this.get(base);
    if (off !== 0) {
      c.i64s(off);
      c.op(Op.I64_ADD);
    }
    c.setLocal(L_A);
    c.block();
    // Allowed in the live stack [sLo, top) or in the cached region; test the likelier one first.
    const stackFirst = this.stackish.has(base) || perm === PERM_RW;
    // The stack: [sLo, top); the cached region: [lo, last] as kept in the exchange area by the engine (read
    // from memory rather than locals: fewer live values, nothing to reload after calls).
    const stack = (): void =>
      this.branchIfInRange(
        () => this.stackLo(),
        () => this.stackTop(),
        size,
        0,
      );
    if (stackFirst) stack();
    if (perm !== PERM_RW) {
      const at = perm === PERM_READ ? X_RCACHE : X_WCACHE;
      const cached = (offset: number) => (): void => {
        c.i32(XCHG);
        c.mem(Op.I64_LOAD32_U, 2, offset);
      };
      this.branchIfInRange(cached(at), cached(at + 4), size, 1);
    }
    if (!stackFirst) stack();
    this.settle();
    c.getLocal(L_A);
    c.op(Op.I32_WRAP_I64);
    c.getLocal(L_A);
    c.i64(32, 0);
    c.op(Op.I64_SHR_U);
    c.op(Op.I32_WRAP_I64);
    c.i32(size);
    c.i32(perm);
    c.i32(slot);
    this.fuelAt(after);
    this.stackLo();
    c.op(Op.I32_WRAP_I64);
    this.saveAll();
    c.call(F_ACCESS);
    c.setLocal(L_X32);
    this.restoreAll();
    c.getLocal(L_X32);
    c.op(Op.I32_EQZ);
    c.if_();
    this.stopWith(StopCode.RECORDED, 2);
    c.end();
    if (probe) {
      // AccessStatus.PROBE_ZERO: the load reads the zero bytes at PROBE_ZERO (Linux BPF_PROBE_MEM's fixup).
      c.getLocal(L_X32);
      c.i32(AccessStatus.PROBE_ZERO);
      c.op(Op.I32_EQ);
      c.if_();
      c.i64(PROBE_ZERO, 0);
      c.setLocal(L_A);
      c.end();
    }
    c.end();
    c.getLocal(L_A);
    c.op(Op.I32_WRAP_I64);
  }

  /**
   * Branch to the enclosing block (the "access is fine" label, depth 0 here) when lo <= A && A <= end - size,
   * where `end` is one past the range (`inclusive` 0) or its last byte (`inclusive` 1). Unsigned 64-bit; the
   * subtraction never wraps: a stack top or region end is above page 0, and an empty cache is (0xffffffff, 7).
   * Two compare-and-branch pairs, no booleans.
   */
  private branchIfInRange(lo: () => void, end: () => void, size: number, inclusive: number): void {
    const c = this.code;
    c.block();
    c.getLocal(L_A);
    lo();
    c.op(Op.I64_LT_U);
    c.brIf(0);
    c.getLocal(L_A);
    end();
    c.i64(size - inclusive, 0);
    c.op(Op.I64_SUB);
    c.op(Op.I64_LE_U);
    c.brIf(1);
    c.end();
  }

  /** The lowest live stack byte: the current frame's bottom. */
  private stackLo(): void {
    const c = this.code;
    if (this.r10Static) {
      c.getLocal(L_R10);
      c.i64(STACK_FRAME_SIZE, 0);
      c.op(Op.I64_SUB);
    } else {
      c.getLocal(L_SLO);
    }
  }

  /** One past the highest stack byte (the entry frame's r10). */
  private stackTop(): void {
    this.code.getGlobal(G_TOP);
    this.code.op(Op.I64_EXTEND_I32_U);
  }

  private atomic(insn: Insn, after: number): void {
    const c = this.code;
    const f = insn.form;
    const is64 = f.width === 8;
    const load = is64 ? Op.I64_LOAD : Op.I64_LOAD32_U;
    const store = is64 ? Op.I64_STORE : Op.I64_STORE32;
    const align = is64 ? 3 : 2;
    this.address(insn.dst, insn.off, f.width, PERM_RW, insn.slot, after);
    const off = this.memOffset;
    c.setLocal(L_X32);
    // old value -> T1
    c.getLocal(L_X32);
    c.mem(load, align, off);
    c.setLocal(L_T1);
    if (f.op === AtomicOp.CMPXCHG) {
      // Compare with r0 (its low 32 bits for the 32-bit form); r0 = old either way.
      c.getLocal(L_T1);
      if (is64) {
        this.get(0);
        c.op(Op.I64_EQ);
      } else {
        c.op(Op.I32_WRAP_I64);
        this.get(0);
        c.op(Op.I32_WRAP_I64);
        c.op(Op.I32_EQ);
      }
      c.if_();
      c.getLocal(L_X32);
      this.get(insn.src);
      c.mem(store, align, off);
      c.end();
      c.getLocal(L_T1);
      this.set(0);
      return;
    }
    c.getLocal(L_X32);
    if (f.op === AtomicOp.XCHG) {
      this.get(insn.src);
    } else {
      c.getLocal(L_T1);
      this.get(insn.src);
      const base = f.op & ~AtomicOp.FETCH;
      c.op(base === AtomicOp.ADD ? Op.I64_ADD : base === AtomicOp.OR ? Op.I64_OR : base === AtomicOp.AND ? Op.I64_AND : Op.I64_XOR);
    }
    c.mem(store, align, off);
    if ((f.op & AtomicOp.FETCH) !== 0) {
      c.getLocal(L_T1);
      this.set(insn.src);
    }
  }

  /**
   * A kernel function with a WebAssembly body (Program.wasmCalls): a direct call with r1 and r2, nothing saved
   * (it touches no register), r0 its result. The other registers keep their values, as after a helper call.
   */
  private wasmCall(insn: Insn): void {
    const c = this.code;
    let index = F_WASM_CALLS;
    for (const imm of this.prog.wasmCalls.keys()) {
      if (imm === insn.imm) break;
      index++;
    }
    this.get(1);
    c.op(Op.I32_WRAP_I64);
    this.get(2);
    c.op(Op.I32_WRAP_I64);
    c.call(index);
    c.op(Op.I64_EXTEND_I32_U);
    this.set(0);
  }

  private helperCall(insn: Insn, which: HelperTableIdValue, after: number): void {
    const c = this.code;
    this.settle();
    this.saveAll();
    c.i32(which);
    if (which === HelperTableId.CALLX) {
      this.get(insn.dst);
      c.op(Op.I32_WRAP_I64);
      this.get(insn.dst);
      c.i64(32, 0);
      c.op(Op.I64_SHR_U);
      c.op(Op.I32_WRAP_I64);
    } else {
      c.i32(insn.imm);
      c.i32(0);
    }
    c.i32(insn.slot);
    this.fuelAt(after);
    c.getLocal(P_DEPTH);
    c.call(F_HELPER);
    c.setLocal(L_X32);
    // r0 is the helper's result; everything else comes back as it was.
    this.restoreAll();
    c.getLocal(L_X32);
    c.if_();
    c.getLocal(L_X32);
    c.i32(HelperStatus.TAIL_EXITED);
    c.op(Op.I32_EQ);
    c.if_();
    // The tail-called program's resume left its r0 in the exchange area; `fast` returns only the fuel.
    if (!this.exported) this.get(0);
    c.i32(XCHG);
    c.mem(Op.I32_LOAD, 2, X_FUEL);
    c.op(Op.RETURN);
    c.end();
    this.stopWith(StopCode.RECORDED, 1);
    c.end();
  }

  /**
   * Store every register and internal local into the exchange area before an import call, so that no value is
   * live across the call: TurboFan would otherwise spill those values at their definitions, in hot code.
   */
  private saveAll(): void {
    const c = this.code;
    this.publish();
    for (const [local, type, at] of SAVED) {
      c.i32(XCHG);
      c.getLocal(local);
      c.mem(type === T.I64 ? Op.I64_STORE : Op.I32_STORE, type === T.I64 ? 3 : 2, at);
    }
  }

  /** Reload what {@link saveAll} stored (r0 may have changed: a helper's result). */
  private restoreAll(): void {
    const c = this.code;
    for (let r = 0; r <= 10; r++) {
      c.i32(XCHG);
      c.mem(Op.I64_LOAD, 3, X_REGS + 8 * r);
      c.setLocal(REG_LOCAL[r]!);
    }
    for (const [local, type, at] of SAVED) {
      c.i32(XCHG);
      c.mem(type === T.I64 ? Op.I64_LOAD : Op.I32_LOAD, type === T.I64 ? 3 : 2, at);
      c.setLocal(local);
    }
    this.frameBase();
  }

  /** Branch to the stop label with reason `kind` (its arguments already in L_S1..L_S3). */
  private stopWith(kind: number, extra: number): void {
    const c = this.code;
    c.i32(kind);
    c.setLocal(L_SK);
    c.br(this.stop(extra));
  }

  private localCall(insn: Insn, after: number): void {
    const c = this.code;
    const target = this.funcIndex.get(this.ordinalOfSlot(insn.slot + 1 + insn.imm));
    if (target === undefined) throw new Error(`jit: no function for the call at insn ${insn.slot}`);
    // Linux MAX_CALL_FRAMES: the callee would be frame depth + 2.
    c.getLocal(P_DEPTH);
    c.i32(MAX_CALL_FRAMES - 2);
    c.op(Op.I32_GT_S);
    c.if_();
    c.i32(insn.slot);
    c.setLocal(L_S1);
    c.getLocal(P_DEPTH);
    c.i32(2);
    c.op(Op.I32_ADD);
    c.setLocal(L_S2);
    this.fuelAt(after);
    c.setLocal(L_S3);
    this.stopWith(StopCode.CALL_DEPTH, 1);
    c.end();
    this.settle();
    for (let r = 0; r < 10; r++) this.get(r);
    c.getLocal(P_DEPTH);
    c.i32(1);
    c.op(Op.I32_ADD);
    c.getLocal(P_FUEL);
    c.call(target);
    c.setLocal(P_FUEL);
    this.set(0);
    // The interpreter restores r10 to the frame pointer on return.
    this.frameTop();
    this.frameBase();
  }

  /** L_FP32 = r10 - 512 (see L_FP32), when r10 is static; recomputed after calls rather than kept across them. */
  private frameBase(): void {
    if (!this.r10Static) return;
    const c = this.code;
    c.getLocal(L_R10);
    c.op(Op.I32_WRAP_I64);
    c.i32(STACK_FRAME_SIZE);
    c.op(Op.I32_SUB);
    c.setLocal(L_FP32);
  }

  /** r10 = top - 512 * depth. */
  private frameTop(): void {
    const c = this.code;
    this.stackTop();
    c.getLocal(P_DEPTH);
    c.op(Op.I64_EXTEND_I32_U);
    c.i64(STACK_FRAME_SIZE, 0);
    c.op(Op.I64_MUL);
    c.op(Op.I64_SUB);
    c.setLocal(L_R10);
  }

  private ordinalOfSlot(slot: number): number {
    // slotOf is sorted: binary search.
    let lo = 0;
    let hi = this.slotOf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.slotOf[mid]! < slot) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private packet(insn: Insn, after: number): void {
    const c = this.code;
    const f = insn.form;
    this.settle();
    this.saveAll();
    c.i32(insn.imm);
    if (f.kind === 'ld_ind') {
      this.get(insn.src);
      c.op(Op.I32_WRAP_I64);
      c.op(Op.I32_ADD);
    }
    c.i32(f.width);
    c.i32(insn.slot);
    this.fuelAt(after);
    c.call(F_PACKET);
    c.setLocal(L_X32);
    this.restoreAll();
    c.getLocal(L_X32);
    c.if_();
    this.stopWith(StopCode.RECORDED, 1);
    c.end();
  }
}
