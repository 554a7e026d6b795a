/**
 * The verifier's main loop (Linux do_check): walk every path of the program in depth-first order, one
 * instruction at a time, with the abstract state; remember states at prune points and stop a path when a
 * verified state covers it; write the log as Linux does.
 */
import { formatXlated, readSlot, type OpcodeForm, type RawInsn, type XlatedNames } from '@ebpf-sim/isa';
import { checkAlu } from './alu.js';
import { checkCondJump } from './branch.js';
import { checkHelperCall, checkLocalCall, checkMainExit, checkSubprogExit } from './calls.js';
import type { Env } from './env.js';
import { InsnFacts, type CtxAccessFact, type LoopCallFact } from './facts.js';
import { formatFrame, stateColumn } from './format.js';
import { HINTS } from './hints.js';
import { checkAtomic, checkLdAbs, checkLoad, checkStore } from './memory.js';
import { Precision } from './precision.js';
import { sameValueFacts, statesEqual, type PruneView } from './prune.js';
import type { Reg } from './reg.js';
import { RegType, markConstScalar, markPointer, markUnknown } from './reg.js';
import type { MapDesc, ProgramTypeDesc, VerifierRegistry } from './registry.js';
import { Reject } from './reject.js';
import { FuncState, Slot, VState, type ExploredState, type PendingBranch } from './state.js';
import { analyseStructure, type Program } from './structure.js';
import { checkMapProgCompat } from './timer.js';

/** Linux BPF_COMPLEXITY_LIMIT_INSNS. */
export const INSN_LIMIT = 1_000_000;
/** Linux BPF_COMPLEXITY_LIMIT_JMP_SEQ. */
const JMP_SEQ_LIMIT = 8192;
/** Linux BPF_MAXINSNS: the size limit of unprivileged programs. */
const UNPRIV_MAX_INSNS = 4096;
const MAX_STACK = 512;

export interface VerifyOptions {
  readonly progType: ProgramTypeDesc;
  readonly registry: VerifierRegistry;
  /** 0: no log, 1: the path to an error, 2: every instruction with its state. */
  readonly logLevel?: 0 | 1 | 2;
  /** Root/CAP_BPF (default true); false applies the unprivileged rules. */
  readonly privileged?: boolean;
  /** The program declares a GPL-compatible license (default true). */
  readonly gpl?: boolean;
  /**
   * The BTF linkage of each subprogram's FUNC, by subprogram number, when the program came with BTF
   * func_info (Linux func_info_aux[].linkage); absent without func_info. A callback (an LD imm64 of a
   * function) needs it and must be `static`.
   */
  readonly subprogLinkage?: readonly SubprogLinkage[];
}

/** enum btf_func_linkage. */
export type SubprogLinkage = 'static' | 'global' | 'extern';

export interface VerifyStats {
  readonly processed: number;
  readonly maxStatesPerInsn: number;
  readonly totalStates: number;
  readonly peakStates: number;
  /** Wall-clock verification time in microseconds. */
  readonly timeUs: number;
}

export interface VerifyError {
  /** Instruction the error was found at (-1 when not tied to one). */
  readonly insn: number;
  /** The kernel's error line. */
  readonly message: string;
  /** Our plain-words explanation. */
  readonly hint: string;
  /** Linux's errno for the failure (EACCES 13, EINVAL 22, E2BIG 7, EBADF 9, EPERM 1). */
  readonly errno: number;
  /** Further lines Linux prints after the error line. */
  readonly detail: readonly string[];
}

export interface VerifyResult {
  readonly accepted: boolean;
  readonly log: string;
  readonly error: VerifyError | null;
  readonly stats: VerifyStats;
  /** Deepest stack use per subprogram, bytes. */
  readonly stackDepth: readonly number[];
  /** What the runtime may rely on; empty when the program was rejected. */
  readonly facts: {
    readonly ctxAccesses: readonly CtxAccessFact[];
    readonly divisionsWithoutZeroCheck: readonly number[];
    readonly memoryInBounds: readonly number[];
    /**
     * Slots no path of the verifier reached (Linux: `insn_aux_data.seen` unset): dead code, which
     * `removeDeadCode` (fixups.ts) removes or patches as Linux does. Ascending; both slots of an LD imm64.
     */
    readonly unreached: readonly number[];
    /**
     * Per slot of a helper call with a map argument: the map on every path, null when paths disagree (Linux
     * insn_aux_data.map_ptr_state; see InsnFacts.callMaps).
     */
    readonly callMaps: ReadonlyMap<number, MapDesc | null>;
    /** Per bpf_loop call: whether optimize_bpf_loop inlines it (`inlineLoops`), its callback and caller. */
    readonly loopCalls: ReadonlyMap<number, LoopCallFact>;
    /** The program stores into the packet directly (Linux seen_direct_write). */
    readonly seenDirectWrite: boolean;
    /** End of the furthest context byte the program accesses (Linux prog->aux->max_ctx_offset). */
    readonly maxCtxOffset: number;
  };
}

/** Expand builder instructions (LD imm64 as one entry) or raw bytecode into 8-byte slots. */
export function toSlots(program: Uint8Array | readonly RawInsn[]): RawInsn[] {
  if (program instanceof Uint8Array) {
    if (program.length % 8 !== 0) throw new Reject(`invalid program length ${program.length}, not a multiple of 8`, 'reserved', { errno: 22 });
    const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
    const out: RawInsn[] = [];
    for (let at = 0; at < program.length; at += 8) out.push(readSlot(view, at, 'little'));
    // LD imm64 keeps its upper half on the first slot too, as the builder's instructions do.
    for (let i = 0; i + 1 < out.length; i++) {
      const first = out[i];
      const second = out[i + 1];
      if (first && second && first.code === 0x18) {
        out[i] = { ...first, imm2: second.imm };
        i++;
      }
    }
    return out;
  }
  const out: RawInsn[] = [];
  for (const insn of program) {
    out.push(
      insn.code === 0x18
        ? { code: insn.code, dst: insn.dst, src: insn.src, off: insn.off, imm: insn.imm, imm2: insn.imm2 ?? 0 }
        : { code: insn.code, dst: insn.dst, src: insn.src, off: insn.off, imm: insn.imm },
    );
    if (insn.code === 0x18) out.push({ code: 0, dst: 0, src: 0, off: 0, imm: insn.imm2 ?? 0 });
  }
  return out;
}

class Log {
  readonly lines: string[] = [];
  constructor(readonly level: number) {}
  add(line: string): void {
    if (this.level > 0) this.lines.push(line);
  }
  get length(): number {
    return this.lines.length;
  }
  truncate(n: number): void {
    this.lines.length = Math.min(this.lines.length, n);
  }
}

class Run implements Env {
  readonly facts: InsnFacts;
  readonly precision: Precision;
  readonly privileged: boolean;
  readonly gpl: boolean;
  state: VState;
  insnIdx = 0;
  scratchRegs = 0;
  scratchSlots = new Set<number>();
  readonly stackDepth: number[];
  readonly log: Log;
  private idGen = 0;
  /** Lines bpf_log printed while checking the current instruction (see Env.note). */
  private notes: string[] = [];
  processed = 0;
  totalStates = 0;
  private liveStates = 0;
  private peak = 0;
  maxStatesPerInsn = 0;
  private jmpsProcessed = 0;
  private prevJmps = 0;
  private prevProcessed = 0;
  private readonly explored: Array<ExploredState[] | undefined>;
  private readonly pending: PendingBranch[] = [];
  /** The branch just taken from the stack, whose header is printed once it is known not to be pruned. */
  private popped: PendingBranch | null = null;
  /** Map operands named as the kernel's log does for loaded maps; everything else prints as print_bpf_insn(). */
  private readonly names: XlatedNames;
  /** Calls of helpers that call a callback (Linux calls_callback): forced checkpoints, pruned by range. */
  private readonly callsCallback: Uint8Array;
  private readonly subprogLinkage: readonly SubprogLinkage[] | undefined;

  constructor(
    readonly prog: Program,
    readonly progType: ProgramTypeDesc,
    readonly registry: VerifierRegistry,
    opts: VerifyOptions,
    private readonly maps: ReadonlyArray<MapDesc | null>,
  ) {
    this.privileged = opts.privileged ?? true;
    this.gpl = opts.gpl ?? true;
    this.log = new Log(opts.logLevel ?? 1);
    this.facts = new InsnFacts(prog.slots.length);
    this.precision = new Precision(prog);
    this.stackDepth = prog.subprogStarts.map(() => 0);
    this.explored = new Array<ExploredState[] | undefined>(prog.slots.length);
    const main = FuncState.create(0, -1, 0);
    const r1 = main.regs[1];
    if (r1) markPointer(r1, RegType.PTR_TO_CTX);
    this.state = new VState([main]);
    this.subprogLinkage = opts.subprogLinkage;
    this.callsCallback = new Uint8Array(prog.slots.length);
    prog.slots.forEach((raw, i) => {
      if (prog.forms[i]?.kind !== 'call' || raw.src !== 0 || registry.helper(raw.imm)?.callback === undefined) return;
      // Linux mark_calls_callback, mark_force_checkpoint, mark_prune_point.
      this.callsCallback[i] = 1;
      prog.prunePoint[i] = 1;
    });
    this.names = {
      mapOperand: (insn) => {
        const m = this.maps[this.slotIndexOf(insn)];
        return m ? `map[${m.name}]` : `map[id:${insn.imm}]`;
      },
      // print_bpf_insn without bpftool's cb_imm: the raw 64-bit immediate (the callback's offset).
      funcOperand: (insn) => `0x${((BigInt((insn.imm2 ?? 0) >>> 0) << 32n) | BigInt(insn.imm >>> 0)).toString(16)}`,
    };
  }

  private slotIndexOf(insn: RawInsn): number {
    return this.prog.slots.indexOf(insn);
  }

  newId(): number {
    return ++this.idGen;
  }

  note(line: string): void {
    if (this.log.level > 0) this.notes.push(line);
  }

  reg(n: number): Reg {
    const r = this.state.cur.regs[n];
    if (!r) throw new Reject(`R${n} is invalid`, 'reserved', { errno: 22 });
    return r;
  }

  insnText(i: number): string {
    const raw = this.prog.slots[i];
    const form = this.prog.forms[i];
    if (!raw || !form) return `(${(raw?.code ?? 0).toString(16).padStart(2, '0')}) ???`;
    return formatXlated(raw, form, this.names);
  }

  /** print_verifier_state of the current frame, as Linux prints it after `N:` and in branch headers. */
  private fullState(): string {
    return formatFrame(
      this.state.cur,
      0x7ff,
      null,
      this.state.refs.map((r) => r.id),
    );
  }

  pushBranch(state: VState, insn: number): void {
    this.push(state, insn, this.insnIdx);
  }

  logDetail(line: string): void {
    if (this.log.level >= 2) this.log.add(line);
  }

  private printInsn(i: number, withState: boolean, next = i + 1): void {
    if (this.log.level === 0) return;
    const text = `${i}: ${this.insnText(i)}`;
    // Lines printed while checking the instruction come after its text; its state then goes on a line of its own (print_insn_state).
    const notes = this.notes;
    if (notes.length > 0) this.notes = [];
    if (!withState || (this.scratchRegs === 0 && this.scratchSlots.size === 0)) {
      this.log.add(text);
      for (const line of notes) this.log.add(line);
      return;
    }
    const f = this.state.cur;
    // print_verifier_state ends with the path's references (`refs=2`), whatever was scratched.
    const state = formatFrame(
      f,
      this.scratchRegs,
      this.scratchSlots,
      this.state.refs.map((r) => r.id),
    );
    if (state === ` frame${f.frameno}:`) {
      this.log.add(text);
      for (const line of notes) this.log.add(line);
      return;
    }
    // Something was scratched but nothing is left to print (a void helper: R0-R5 not initialised): Linux still
    // prints the `;` (print_insn_state runs whenever verifier_state_scratched).
    if (state === '' && notes.length === 0) {
      this.log.add(`${text.padEnd(stateColumn(text.length))};`);
      return;
    }
    if (state === '') {
      this.log.add(text);
      for (const line of notes) this.log.add(line);
      return;
    }
    if (notes.length === 0) this.log.add(`${text.padEnd(stateColumn(text.length))};${state}`);
    else {
      this.log.add(text);
      for (const line of notes) this.log.add(line);
      // print_insn_state after the log moved: the state on its own line, under the index of the instruction to come.
      this.log.add(`${next}:${state}`);
    }
  }

  /** The instruction frame `fi` continues at: the current one for the top frame, else the return address. */
  private pointOf(fi: number): number {
    const frames = this.state.frames;
    if (fi === frames.length - 1) return this.insnIdx;
    const next = frames[fi + 1];
    // A callback returns to the helper call that runs it, a subprogram to the instruction after its call.
    return next ? (next.inCallbackFn ? next.callsite : next.callsite + 1) : this.insnIdx;
  }

  private readonly view: PruneView = {
    live: (fi) => this.prog.liveIn[this.pointOf(fi)] ?? 0x7ff,
    preciseRegs: (fi) => this.precision.regsAt(this.pointOf(fi)),
    preciseSlot: (fi, spi) => this.precision.slotAt(this.pointOf(fi), spi),
  };

  /**
   * Linux's RANGE_WITHIN comparison: every scalar compared by its range, precise or not (an imprecise one
   * that changed in a callback means the callback's iterations have not converged yet).
   */
  private readonly rangeWithin: PruneView = {
    live: (fi) => this.view.live(fi),
    preciseRegs: () => 0x7ff,
    preciseSlot: () => true,
  };

  /** Linux is_state_visited: true when the current path can stop here. */
  private stateVisited(): boolean {
    const idx = this.insnIdx;
    let list = this.explored[idx];
    if (!list) {
      list = [];
      this.explored[idx] = list;
    }
    const force = this.callsCallback[idx] === 1;
    let addNew = force || (this.jmpsProcessed - this.prevJmps >= 2 && this.processed - this.prevProcessed >= 8);
    let kept = 0;
    let found = false;
    for (let k = 0; k < list.length; k++) {
      const sl = list[k];
      if (!sl) continue;
      list[kept++] = sl;
      if (found) continue;
      if (sl.branches > 0 && force) {
        // A callback returned to the helper call with nothing new: its iterations converged (Linux: a
        // calls_callback instruction is pruned by range even on the path still being explored).
        if (statesEqual(sl.state, this.state, this.rangeWithin, false, this.privileged)) {
          sl.hits++;
          found = true;
          continue;
        }
        sl.misses++;
      } else if (sl.branches > 0) {
        // A state still being explored at this instruction: the current path went round a loop.
        if (statesEqual(sl.state, this.state, this.view, false, this.privileged) && this.sameLoopState(sl.state)) {
          throw new Reject(`infinite loop detected at insn ${idx}`, 'infinite-loop', { errno: 22 });
        }
        if (this.jmpsProcessed - this.prevJmps < 20 && this.processed - this.prevProcessed < 100) addNew = false;
        sl.misses++;
      } else if (statesEqual(sl.state, this.state, this.view, false, this.privileged)) {
        sl.hits++;
        found = true;
        continue;
      } else {
        sl.misses++;
      }
      // A state that keeps missing is unlikely to ever prune: drop it (Linux is_state_visited, n = 3).
      if (sl.misses > sl.hits * 3 + 3) {
        kept--;
        this.liveStates--;
      }
    }
    list.length = kept;
    if (found) return true;
    if (!addNew) return false;
    const es: ExploredState = { state: this.state.clone(), insn: idx, branches: 1, parent: this.state.parent, processedAt: this.processed, hits: 0, misses: 0 };
    es.state.parent = es.parent;
    this.state.parent = es;
    list.push(es);
    this.totalStates++;
    this.liveStates++;
    if (this.liveStates > this.peak) this.peak = this.liveStates;
    if (list.length > this.maxStatesPerInsn) this.maxStatesPerInsn = list.length;
    this.prevJmps = this.jmpsProcessed;
    this.prevProcessed = this.processed;
    return false;
  }

  /** Loop detection needs the scalars to be identical, not merely included (Linux states_maybe_looping). */
  private sameLoopState(old: VState): boolean {
    return statesEqual(old, this.state, this.view, true, this.privileged);
  }

  private pathDone(): void {
    let p = this.state.parent;
    while (p) {
      p.branches--;
      if (p.branches > 0) break;
      p = p.parent;
    }
  }

  private push(state: VState, insn: number, prevInsn: number): void {
    if (state.parent) state.parent.branches++;
    this.pending.push({ state, insn, prevInsn, logLen: this.log.length });
    if (this.pending.length > JMP_SEQ_LIMIT) {
      throw new Reject(`The sequence of ${this.pending.length} jumps is too complex.`, 'complexity', { errno: 7 });
    }
  }

  /** Pop the next pending branch; false when every path is done. */
  private pop(): boolean {
    const next = this.pending.pop();
    if (!next) return false;
    this.state = next.state;
    this.insnIdx = next.insn;
    if (this.log.level === 1) {
      // Level 1 keeps only the path that leads to an error: drop the finished path's lines.
      this.log.truncate(next.logLen);
    }
    this.popped = next;
    return true;
  }

  /** What Linux prints when it starts on a branch from the stack. */
  private printBranchHeader(from: PendingBranch): void {
    if (this.log.level === 1) {
      // Linux cuts the log back to the branch instruction's text and appends the state on the same line.
      this.log.add(`${from.prevInsn}: ${this.insnText(from.prevInsn)} ${from.insn}:${this.fullState()}`);
    } else if (this.log.level >= 2) {
      this.log.add('');
      this.log.add(`from ${from.prevInsn} to ${from.insn}:${this.fullState()}`);
      this.log.add(`${from.insn}:${this.fullState()}`);
    }
  }

  private ldImm64(insn: RawInsn): void {
    const dst = this.reg(insn.dst);
    if (insn.dst === 10) throw new Reject('frame pointer is read only', 'fp-readonly');
    this.scratchRegs |= 1 << insn.dst;
    switch (insn.src) {
      case 0: {
        const lo = BigInt(insn.imm >>> 0);
        const hi = BigInt((insn.imm2 ?? 0) >>> 0);
        markConstScalar(dst, (hi << 32n) | lo);
        return;
      }
      case 1:
      case 5: {
        const map = this.maps[this.insnIdx];
        markPointer(dst, RegType.CONST_PTR_TO_MAP);
        dst.map = map ?? null;
        return;
      }
      case 2:
      case 6: {
        const map = this.maps[this.insnIdx];
        markPointer(dst, RegType.PTR_TO_MAP_VALUE);
        dst.map = map ?? null;
        dst.off = insn.imm2 ?? 0;
        return;
      }
      case 4: {
        // check_ld_imm64 of BPF_PSEUDO_FUNC: the function is a callback, which Linux wants described by BTF.
        const subprog = this.prog.subprogOf[this.insnIdx + insn.imm + 1] ?? 0;
        if (this.subprogLinkage === undefined) throw new Reject('missing btf func_info', 'callback', { errno: 22 });
        if (this.subprogLinkage[subprog] !== 'static') throw new Reject('callback function not static', 'callback', { errno: 22 });
        markPointer(dst, RegType.PTR_TO_FUNC);
        dst.subprog = subprog;
        return;
      }
      default:
        throw new Reject('BPF_PSEUDO_BTF_ID (ksym) loads are not modelled by the simulator', 'unsupported', { errno: 22 });
    }
  }

  /** Execute one instruction abstractly; returns the next instruction or -1 when the path ended. */
  private step(i: number, raw: RawInsn, form: OpcodeForm): number {
    switch (form.kind) {
      case 'alu':
      case 'movsx':
      case 'neg':
      case 'end':
        checkAlu(this, raw, form);
        return i + 1;
      case 'ldx':
      case 'ldxsx':
        checkLoad(this, raw, form);
        return i + 1;
      case 'st':
      case 'stx':
        checkStore(this, raw, form);
        return i + 1;
      case 'atomic':
        checkAtomic(this, raw, form);
        return i + 1;
      case 'ld_imm64':
        this.ldImm64(raw);
        return i + 2;
      case 'ld_abs':
      case 'ld_ind':
        checkLdAbs(this, raw, form);
        return i + 1;
      case 'ja':
        this.jmpsProcessed++;
        return form.cls === 'jmp32' ? i + raw.imm + 1 : i + raw.off + 1;
      case 'jcond':
        throw new Reject('may_goto is not modelled by the simulator', 'unsupported', { errno: 22 });
      case 'jmp': {
        this.jmpsProcessed++;
        const out = checkCondJump(this, raw, form);
        const target = i + raw.off + 1;
        if (out.jumpOnly) return target;
        if (out.other) this.push(out.other, target, i);
        return i + 1;
      }
      case 'call':
        this.jmpsProcessed++;
        if (raw.src === 1) {
          const target = checkLocalCall(this, raw);
          if (this.log.level >= 2) {
            const caller = this.state.frames[this.state.frames.length - 2];
            this.log.add(`${i}: ${this.insnText(i)}`);
            if (caller) this.log.add(`caller:\n${formatFrame(caller, 0x7ff, null, [])}`);
            this.log.add(`callee:\n${formatFrame(this.state.cur, 0x7ff, null, [])}`);
          }
          return -2 - target;
        }
        if (raw.src === 2) throw new Reject('kernel function calls (kfuncs) are not modelled by the simulator', 'unsupported', { errno: 22 });
        checkHelperCall(this, raw);
        return i + 1;
      case 'callx':
        // Never reached: Linux has no callx in its opcode table, and decodeSlots refuses it up front as
        // resolve_pseudo_ldimm64 does (`unknown opcode 8d`, recorded on Linux 6.18: fixtures/callx in @ebpf-sim/bpf).
        throw new Reject(`unknown opcode ${raw.code.toString(16).padStart(2, '0')}`, 'unknown-opcode', { errno: 22 });
      case 'exit':
        if (this.state.frames.length > 1) {
          const callee = this.state.cur;
          const ret = checkSubprogExit(this);
          if (callee.inCallbackFn) this.widenAfterCallback(ret);
          if (this.log.level >= 2) {
            this.log.add(`${i}: ${this.insnText(i)}`);
            this.log.add(`returning from callee:\n${formatFrame(callee, 0x7ff, null, [])}`);
            this.log.add(`to caller at ${ret}:\n${formatFrame(this.state.cur, 0x7ff, null, [])}`);
          }
          return -2 - ret;
        }
        checkMainExit(this);
        return -1;
    }
  }

  /**
   * Linux widen_imprecise_scalars after a callback returned to its helper call: against the state the call
   * had on this path (an explored state still being explored, with the same call chain), every scalar whose
   * exact value never matters and that changed becomes unknown, so that a callback that counts (`ctx->i++`)
   * converges instead of being visited once per value.
   */
  private widenAfterCallback(callsite: number): void {
    const list = this.explored[callsite];
    if (!list) return;
    const cur = this.state;
    let prev: VState | null = null;
    for (let k = list.length - 1; k >= 0 && prev === null; k--) {
      const sl = list[k];
      if (sl && sl.branches > 0 && sameCallsites(sl.state, cur)) prev = sl.state;
    }
    if (prev === null) return;
    this.insnIdx = callsite;
    for (let fi = 0; fi < prev.frames.length; fi++) {
      const of = prev.frames[fi];
      const cf = cur.frames[fi];
      if (!of || !cf) continue;
      const precise = this.view.preciseRegs(fi);
      for (let r = 0; r < 11; r++) {
        const o = of.regs[r];
        const c = cf.regs[r];
        if (o && c && !(precise & (1 << r))) widenReg(o, c);
      }
      const slots = Math.min(of.allocated, cf.allocated);
      for (let spi = 0; spi < slots; spi++) {
        const o = of.spilled[spi];
        if (!o || !cf.spilled[spi] || of.stack[spi * 8 + 7] !== Slot.SPILL || cf.stack[spi * 8 + 7] !== Slot.SPILL) continue;
        if (this.view.preciseSlot(fi, spi)) continue;
        const c = cf.ownStack().spilled[spi];
        if (c) widenReg(o, c);
      }
    }
  }

  run(): void {
    if (this.log.level > 0) this.log.add(`0:${this.fullState()}`);
    const { slots, forms, malformed, prunePoint } = this.prog;
    let idx = 0;
    for (;;) {
      this.insnIdx = idx;
      if (++this.processed > INSN_LIMIT) {
        throw new Reject(`BPF program is too large. Processed ${this.processed} insn`, 'complexity', { errno: 7 });
      }
      const from = this.popped;
      this.popped = null;
      if (prunePoint[idx] && this.stateVisited()) {
        if (this.log.level >= 2) this.log.add(from ? `\nfrom ${from.prevInsn} to ${idx}: safe` : `${idx}: safe`);
        this.pathDone();
        if (!this.pop()) return;
        idx = this.insnIdx;
        continue;
      }
      if (from) this.printBranchHeader(from);
      const raw = slots[idx];
      const form = forms[idx];
      const bad = malformed[idx];
      if (!raw || !form || bad) {
        this.log.add(form && raw ? `${idx}: ${this.insnText(idx)}` : `${idx}: (${(raw?.code ?? 0).toString(16).padStart(2, '0')})`);
        throw new Reject(bad ?? `unknown opcode ${(raw?.code ?? 0).toString(16).padStart(2, '0')}`, 'reserved', { errno: 22 });
      }
      this.facts.markSeen(idx, form.kind === 'ld_imm64' ? 2 : 1);
      this.scratchRegs = 0;
      this.scratchSlots.clear();
      if (this.notes.length > 0) this.notes = [];
      let next: number;
      try {
        next = this.step(idx, raw, form);
      } catch (e) {
        if (e instanceof Reject) this.printInsn(idx, false);
        throw e;
      }
      if (next <= -2) {
        // Calls and returns print their own frames.
        idx = -2 - next;
        continue;
      }
      const endsPath = next === -1;
      this.printInsn(idx, !endsPath && form.kind !== 'exit', next);
      if (endsPath) {
        this.pathDone();
        if (!this.pop()) return;
        idx = this.insnIdx;
        continue;
      }
      idx = next;
    }
  }

  get peakStates(): number {
    return this.peak;
  }
}

/** Linux maybe_widen_reg: an imprecise scalar that changed becomes unknown. */
function widenReg(o: Reg, c: Reg): void {
  if (o.type === RegType.SCALAR && c.type === RegType.SCALAR && !sameValueFacts(o, c)) markUnknown(c);
}

/** Linux same_callsites: the two states are in the same call chain. */
function sameCallsites(a: VState, b: VState): boolean {
  if (a.frames.length !== b.frames.length) return false;
  for (let i = 0; i < a.frames.length; i++) if (a.frames[i]?.callsite !== b.frames[i]?.callsite) return false;
  return true;
}

/** Linux check_max_stack_depth: frames of every call chain, each rounded up to 32 bytes, fit in 512. */
function checkStackDepth(prog: Program, depth: readonly number[]): void {
  const round = (d: number): number => Math.ceil(Math.max(d, 1) / 32) * 32;
  const callees: number[][] = prog.subprogStarts.map(() => []);
  prog.slots.forEach((raw, i) => {
    const form = prog.forms[i];
    // A callback (an LD imm64 of a function) runs on top of the frames of the subprogram that names it.
    if ((form?.kind === 'call' && raw.src === 1) || (form?.kind === 'ld_imm64' && raw.src === 4)) {
      const from = prog.subprogOf[i] ?? 0;
      const to = prog.subprogOf[i + raw.imm + 1] ?? 0;
      callees[from]?.push(to);
    }
  });
  const walk = (sub: number, total: number, frames: number, seen: Set<number>): void => {
    const t = total + round(depth[sub] ?? 0);
    if (t > MAX_STACK) throw new Reject(`combined stack size of ${frames} calls is ${t}. Too large`, 'stack-depth');
    for (const c of callees[sub] ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      walk(c, t, frames + 1, seen);
      seen.delete(c);
    }
  };
  walk(0, 0, 1, new Set([0]));
}

/** Resolve the maps of LD imm64 pseudo instructions (Linux resolve_pseudo_ldimm64). */
function resolveMaps(prog: Program, registry: VerifierRegistry): Array<MapDesc | null> {
  const maps: Array<MapDesc | null> = new Array<MapDesc | null>(prog.slots.length).fill(null);
  prog.slots.forEach((raw, i) => {
    const form = prog.forms[i];
    if (form?.kind !== 'ld_imm64' || raw.src === 0 || raw.src === 3 || raw.src === 4) return;
    const how = raw.src === 5 || raw.src === 6 ? 'idx' : 'fd';
    const map = registry.map(raw.imm, how);
    if (!map) {
      throw new Reject(how === 'fd' ? `fd ${raw.imm} is not pointing to valid bpf_map` : `map index ${raw.imm} is out of range`, 'ld-imm64', {
        errno: 9,
        insn: i,
      });
    }
    if (raw.src === 2 || raw.src === 6) {
      if (!map.directValue) throw new Reject(`no direct value access support for this map type`, 'ld-imm64', { errno: 22, insn: i });
      const off = raw.imm2 ?? 0;
      // array_map_direct_value_addr: ENOTSUPP for more than one element, EINVAL past the value.
      if (map.maxEntries !== 1 || off < 0 || off >= map.valueSize) {
        throw new Reject(`invalid access to map value pointer, value_size=${map.valueSize} off=${off >>> 0}`, 'map-range', {
          errno: map.maxEntries !== 1 ? 524 : 22,
          insn: i,
        });
      }
    }
    maps[i] = map;
  });
  return maps;
}

function liveRegsBlock(prog: Program, text: (i: number) => string): string[] {
  const out = ['Live regs before insn:'];
  for (let i = 0; i < prog.slots.length; i++) {
    if (!prog.forms[i]) continue;
    const live = prog.liveIn[i] ?? 0;
    let mask = '';
    for (let r = 0; r < 10; r++) mask += live & (1 << r) ? String(r) : '.';
    out.push(`${String(i).padStart(7)}: ${mask} ${text(i)}`);
  }
  return out;
}

/** Verify a program: Linux's decision, its log, and the facts the runtime may rely on. */
export function verify(program: Uint8Array | readonly RawInsn[], opts: VerifyOptions): VerifyResult {
  const started = performance.now();
  const level = opts.logLevel ?? 1;
  const privileged = opts.privileged ?? true;
  const lines: string[] = [];
  let run: Run | null = null;
  let error: VerifyError | null = null;
  let prog: Program | null = null;
  try {
    const slots = toSlots(program);
    if (slots.length === 0) throw new Reject('program has no instructions', 'reserved', { errno: 22 });
    if (!privileged && !opts.progType.unprivileged) {
      throw new Reject(`program type ${opts.progType.name} needs CAP_BPF (or CAP_SYS_ADMIN) to load`, 'helper-type', { errno: 1 });
    }
    const limit = privileged ? INSN_LIMIT : UNPRIV_MAX_INSNS;
    if (slots.length > limit) throw new Reject(`BPF program is too large (${slots.length} insns, limit ${limit})`, 'too-large', { errno: 7 });
    if (level >= 2) lines.push('func#0 @0');
    prog = analyseStructure(slots, privileged);
    if (level >= 2) {
      const p = prog;
      for (let s = 1; s < p.subprogStarts.length; s++) lines.push(`func#${s} @${p.subprogStarts[s] ?? 0}`);
    }
    const maps = resolveMaps(prog, opts.registry);
    checkMapProgCompat(maps, opts.progType);
    run = new Run(prog, opts.progType, opts.registry, opts, maps);
    if (level >= 2) {
      const r = run;
      for (const l of liveRegsBlock(prog, (i) => r.insnText(i))) lines.push(l);
    }
    run.run();
    checkStackDepth(prog, run.stackDepth);
  } catch (e) {
    if (!(e instanceof Reject)) throw e;
    const insn = e.insn >= 0 ? e.insn : (run?.insnIdx ?? -1);
    error = { insn, message: e.line, hint: HINTS[e.hint], errno: e.errno, detail: e.more };
  }
  if (run) {
    if (level === 1 && !error) run.log.truncate(0);
    for (const l of run.log.lines) lines.push(l);
  }
  // Some refusals print no line of their own (an errno from a map's ops).
  if (error && level > 0) lines.push(...(error.message === '' ? [] : [error.message]), ...error.detail);
  const stats: VerifyStats = {
    processed: run?.processed ?? 0,
    maxStatesPerInsn: run?.maxStatesPerInsn ?? 0,
    totalStates: run?.totalStates ?? 0,
    peakStates: run?.peakStates ?? 0,
    timeUs: Math.round((performance.now() - started) * 1000),
  };
  return finish(lines, level, error, stats, run);
}

/** The instruction kinds that access memory (what the runtime's region checks guard). */
const MEMORY_ACCESS_KINDS: ReadonlySet<string> = new Set(['ldx', 'ldxsx', 'st', 'stx', 'atomic']);

function finish(lines: string[], level: number, error: VerifyError | null, stats: VerifyStats, run: Run | null): VerifyResult {
  if (level > 0) {
    if (error) lines.push(`hint: ${error.hint}`);
    lines.push(
      `processed ${stats.processed} insns (limit ${INSN_LIMIT}) max_states_per_insn ${stats.maxStatesPerInsn} total_states ${stats.totalStates} peak_states ${stats.peakStates} mark_read 0`,
    );
  }
  const facts = run && !error ? run.facts : null;
  return {
    accepted: error === null,
    log: level > 0 ? `${lines.join('\n')}\n` : '',
    error,
    stats,
    stackDepth: run?.stackDepth ?? [],
    facts: {
      ctxAccesses: facts ? facts.ctxAccessFacts() : [],
      divisionsWithoutZeroCheck: facts ? facts.divisionsWithoutZeroCheck() : [],
      // Helper memory arguments are checked at the call; only loads, stores and atomics are memory accesses.
      memoryInBounds: facts && run ? facts.memoryProvenInBounds().filter((insn) => MEMORY_ACCESS_KINDS.has(run.prog.forms[insn]?.kind ?? 'exit')) : [],
      unreached: facts ? facts.unreached() : [],
      callMaps: facts ? facts.callMaps : new Map(),
      loopCalls: facts ? facts.loopCalls : new Map(),
      seenDirectWrite: facts?.seenDirectWrite ?? false,
      maxCtxOffset: facts?.maxCtxOffset ?? 0,
    },
  };
}
