/**
 * The verifier's main loop (Linux do_check): walk every path of the program in depth-first order, one
 * instruction at a time, with the abstract state; remember states at prune points and stop a path when a
 * verified state covers it; write the log as Linux does.
 */
import { formatXlated, readSlot, type OpcodeForm, type RawInsn, type XlatedNames } from '@ebpf-sim/isa';
import { checkAlu } from './alu.js';
import { checkCondJump } from './branch.js';
import { checkHelperCall, checkLocalCall, checkMainExit, checkSubprogExit } from './calls.js';
import { SubprogBtf, checkGlobalCall, checkGlobalExit, globalEntryFrame, type SubprogBtfView } from './global-func.js';
import { LineInfoPrinter, type LineInfoView } from './line-info.js';
import type { Env } from './env.js';
import { InsnFacts, type AluSanitizeFact, type CtxAccessFact, type LoopCallFact } from './facts.js';
import { checkMayGoto } from './iter.js';
import { loopDepthsDiffer, loopHeadConverges } from './iter-state.js';
import { checkKfuncCall, checkKfuncCalls, loopPointOf } from './kfunc.js';
import { formatFrame, stateColumn } from './format.js';
import { HINTS } from './hints.js';
import { checkAtomic, checkLdAbs, checkLoad, checkStore } from './memory.js';
import { Precision } from './precision.js';
import { sameValueFacts, statesEqual, type PruneView } from './prune.js';
import type { Reg } from './reg.js';
import { RegType, markConstScalar, markPointer, markUnknown } from './reg.js';
import type { MapDesc, ProgramTypeDesc, VerifierRegistry } from './registry.js';
import { markKsym } from './btf-ptr.js';
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
  /**
   * CAP_PERFMON (Linux bypass_spec_v1/v4; default: `privileged`): false sanitises pointer arithmetic, explores
   * the never-taken side of decided branches speculatively and puts barriers after stack stores (sanitize.ts).
   */
  readonly bypassSpec?: boolean;
  /** The program declares a GPL-compatible license (default true). */
  readonly gpl?: boolean;
  /** BPF_F_SLEEPABLE (Linux prog->sleepable): may call helpers that sleep; outside bpf_rcu_read_lock it is in no RCU section. */
  readonly sleepable?: boolean;
  /**
   * The BTF linkage of each subprogram's FUNC, by subprogram number, when the program came with BTF
   * func_info (Linux func_info_aux[].linkage); absent without func_info. A callback (an LD imm64 of a
   * function) needs it and must be `static`.
   */
  readonly subprogLinkage?: readonly SubprogLinkage[];
  /**
   * Per subprogram, the FUNC its func_info record names (name, linkage, BTF signature), when the program came
   * with func_info: global subprograms are then verified on their own against it (global-func.ts).
   */
  readonly subprogBtf?: readonly SubprogBtfView[];
  /** The program's line_info records, by instruction: the log prints their source lines (line-info.ts). */
  readonly lineInfo?: readonly LineInfoView[];
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
    /** Loads through a BTF pointer (PTR_TO_BTF_ID): at run time a fault reads 0 (Linux BPF_PROBE_MEM). Ascending. */
    readonly probeLoads?: readonly number[];
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
    /** Pointer arithmetic do_misc_fixups masks with BPF_REG_AX (fixups.ts sanitizeAluInsns). Ascending. */
    readonly aluSanitize?: readonly AluSanitizeFact[];
    /** Slots with a speculation barrier before them (Linux insn_aux_data.nospec). Ascending. */
    readonly nospec?: readonly number[];
    /** Stores with a speculation barrier after them (Linux insn_aux_data.nospec_result). Ascending. */
    readonly nospecResult?: readonly number[];
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

/**
 * Characters of level-2 log kept: like Linux's default (rotating) log, a full buffer keeps the most recent
 * lines; 16 MiB is libbpf's largest log buffer. Level 2 of a long loop prints mark_precise lines by the
 * million, which would otherwise exhaust memory.
 */
const LOG_KEEP_CHARS = 16 << 20;

/** Frame `fr` of a state printed in full, every register and the references (print_verifier_state, print_all). */
function fullFrameText(st: VState, fr: number): string {
  const f = st.frames[fr];
  return f
    ? formatFrame(
        f,
        0x7ff,
        null,
        st.refs.map((r) => r.id),
      )
    : '';
}
class Log {
  lines: string[] = [];
  private chars = 0;
  constructor(readonly level: number) {}
  add(line: string): void {
    if (this.level <= 0) return;
    this.lines.push(line);
    if (this.level < 2) return;
    this.chars += line.length + 1;
    if (this.chars > LOG_KEEP_CHARS * 2) this.rotate();
  }
  /** Drop the oldest lines until LOG_KEEP_CHARS remain (only at level 2, which never truncates by position). */
  private rotate(): void {
    let drop = 0;
    let chars = this.chars;
    while (chars > LOG_KEEP_CHARS && drop < this.lines.length) chars -= (this.lines[drop++]?.length ?? 0) + 1;
    this.lines = this.lines.slice(drop);
    this.chars = chars;
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
  readonly bypassSpec: boolean;
  exploreAluLimits = false;
  readonly gpl: boolean;
  readonly sleepable: boolean;
  state: VState;
  insnIdx = 0;
  scratchRegs = 0;
  scratchSlots = new Set<number>();
  readonly stackDepth: number[];
  readonly asyncCallbacks = new Set<number>();
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
  readonly subprogBtf: SubprogBtf | null;
  /** env->prev_linfo and the records: `; source` lines before instructions. */
  private readonly linfo: LineInfoPrinter | null;
  /** Iterator `_next()` calls and may_goto (iter.ts LoopPoint): forced checkpoints where loops converge. */
  private readonly loopPoint: Uint8Array;

  constructor(
    readonly prog: Program,
    readonly progType: ProgramTypeDesc,
    readonly registry: VerifierRegistry,
    opts: VerifyOptions,
    private readonly maps: ReadonlyArray<MapDesc | null>,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the precision host reads the current state
    const run = this;
    this.privileged = opts.privileged ?? true;
    this.bypassSpec = opts.bypassSpec ?? this.privileged;
    this.view = {
      live: (fi) => this.prog.liveIn[this.pointOf(fi)] ?? 0x7ff,
      allPrecise: !this.privileged,
      get exploreAluLimits() {
        return run.exploreAluLimits;
      },
    };
    this.gpl = opts.gpl ?? true;
    this.sleepable = opts.sleepable ?? false;
    this.log = new Log(opts.logLevel ?? 1);
    this.facts = new InsnFacts(prog.slots.length);
    this.stackDepth = prog.subprogStarts.map(() => 0);
    this.explored = new Array<ExploredState[] | undefined>(prog.slots.length);
    const main = FuncState.create(0, -1, 0);
    const r1 = main.regs[1];
    if (r1) markPointer(r1, RegType.PTR_TO_CTX);
    this.state = new VState([main]);
    this.subprogLinkage = opts.subprogLinkage;
    this.subprogBtf = opts.subprogBtf && opts.subprogBtf.length === prog.subprogStarts.length ? new SubprogBtf(opts.subprogBtf) : null;
    this.linfo = opts.lineInfo && opts.lineInfo.length > 0 ? new LineInfoPrinter(opts.lineInfo) : null;
    this.callsCallback = new Uint8Array(prog.slots.length);
    prog.slots.forEach((raw, i) => {
      if (prog.forms[i]?.kind !== 'call' || raw.src !== 0 || registry.helper(raw.imm)?.callback === undefined) return;
      // Linux mark_calls_callback, mark_force_checkpoint, mark_prune_point.
      this.callsCallback[i] = 1;
      prog.prunePoint[i] = 1;
    });
    this.loopPoint = new Uint8Array(prog.slots.length);
    prog.slots.forEach((raw, i) => {
      if (prog.forms[i] === null) return;
      const kind = loopPointOf(raw, registry);
      if (kind === 0) return;
      // Linux mark_force_checkpoint for iterator next calls and may_goto.
      this.loopPoint[i] = kind;
      prog.prunePoint[i] = 1;
    });
    this.precision = new Precision(
      prog,
      {
        get state() {
          return run.state;
        },
        logLevel: this.log.level,
        note: (line) => this.note(line),
        insnText: (i) => this.insnText(i),
        stateText: fullFrameText,
      },
      this.privileged,
      this.callsCallback,
    );
    this.names = {
      mapOperand: (insn) => {
        const m = this.maps[this.slotIndexOf(insn)];
        return m ? `map[${m.name}]` : `map[id:${insn.imm}]`;
      },
      // print_bpf_insn without bpftool's cb_imm: the raw 64-bit immediate (the callback's offset).
      funcOperand: (insn) => `0x${((BigInt((insn.imm2 ?? 0) >>> 0) << 32n) | BigInt(insn.imm >>> 0)).toString(16)}`,
      // disasm_kfunc_name: the FUNC's name in the kernel's BTF (`call bpf_iter_num_new#63675`).
      kfuncName: (insn) => this.registry.kfunc?.(insn.imm, insn.off)?.name,
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
      !this.privileged,
    );
  }

  pushBranch(state: VState, insn: number): void {
    this.push(state, insn, this.insnIdx);
  }

  /** The previous instruction was a bpf-to-bpf call or a return: Linux prints the new frame's state first. */
  private afterCall: 'call' | 'exit' | null = null;

  /** Lines noted while checking an instruction that prints itself (calls, returns, pruned paths). */
  private flushNotes(): void {
    if (this.notes.length === 0) return;
    for (const line of this.notes) this.log.add(line);
    this.notes = [];
  }

  logDetail(line: string): void {
    if (this.log.level >= 2) this.log.add(line);
  }

  private printInsn(i: number, withState: boolean, next = i + 1): void {
    if (this.log.level === 0) return;
    this.sourceLine(i);
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
      !this.privileged,
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

  /** verbose_linfo(env, i, "; "): the source line of instruction `i`, when it starts a new line_info record. */
  private sourceLine(i: number): void {
    if (this.log.level === 0 || this.linfo === null) return;
    const line = this.linfo.lineFor(i);
    if (line !== null) this.log.add(line);
  }

  /**
   * do_check_common for the main program, then do_check_subprogs: each global subprogram a verified path called,
   * once, on its own (again until no new one was called). At log level 1 each pass that succeeds leaves no log.
   */
  verifyAll(): void {
    const btf = this.subprogBtf;
    // The main program's BTF is read too; what Linux logs about it stays in the log, whatever the outcome.
    if (btf) for (const line of btf.prepareMain()) this.log.add(line);
    this.run(0);
    this.passDone();
    if (!btf) return;
    for (let fresh = 1; fresh > 0;) {
      fresh = 0;
      for (let s = 1; s < btf.count; s++) {
        if (!btf.isGlobal(s) || btf.called[s] !== true || btf.verified[s] === true) continue;
        this.log.add(`Validating ${btf.name(s)}() func#${s}...`);
        this.startPass(globalEntryFrame(this, btf, s));
        this.run(this.prog.subprogStarts[s] ?? 0);
        this.passDone();
        this.log.add(`Func#${s} ('${btf.name(s)}') is safe for any args that match its prototype`);
        btf.verified[s] = true;
        fresh++;
      }
    }
  }

  /** A new do_check_common pass from `frame`: no explored or pending states, no previous source line. */
  private startPass(frame: FuncState): void {
    this.explored.fill(undefined);
    this.pending.length = 0;
    this.popped = null;
    this.liveStates = 0;
    this.notes = [];
    this.linfo?.reset();
    this.state = new VState([frame]);
  }

  /** do_check_common's end: at log level 1 a pass that succeeded leaves nothing in the log (bpf_vlog_reset). */
  private passDone(): void {
    if (this.log.level === 1) this.log.truncate(0);
  }

  /** The instruction frame `fi` continues at: the current one for the top frame, else the return address. */
  private pointOf(fi: number): number {
    const frames = this.state.frames;
    if (fi === frames.length - 1) return this.insnIdx;
    const next = frames[fi + 1];
    // A callback returns to the helper call that runs it, a subprogram to the instruction after its call.
    return next ? (next.inCallbackFn ? next.callsite : next.callsite + 1) : this.insnIdx;
  }

  /** Unprivileged programs have every scalar precise (Linux __mark_reg_unknown: precise = !bpf_capable). */
  private readonly view: PruneView;

  /**
   * Linux's RANGE_WITHIN comparison: every scalar compared by its range, precise or not (an imprecise one
   * that changed in a callback means the callback's iterations have not converged yet).
   */
  private readonly rangeWithin: PruneView = {
    live: (fi) => this.view.live(fi),
    allPrecise: true,
  };

  /** Linux is_state_visited: true when the current path can stop here. */
  private stateVisited(): boolean {
    const idx = this.insnIdx;
    let list = this.explored[idx];
    if (!list) {
      list = [];
      this.explored[idx] = list;
    }
    const callsCallback = this.callsCallback[idx] === 1;
    const loopPoint = this.loopPoint[idx] ?? 0;
    const force = callsCallback || loopPoint !== 0;
    let addNew = force || (this.jmpsProcessed - this.prevJmps >= 2 && this.processed - this.prevProcessed >= 8);
    let kept = 0;
    let found = false;
    for (let k = 0; k < list.length; k++) {
      const sl = list[k];
      if (!sl) continue;
      list[kept++] = sl;
      if (found) continue;
      if (sl.branches > 0 && loopPoint !== 0 && loopHeadConverges(loopPoint, sl.state, this.state)) {
        // An iterator's next() with the iterator still active, or a may_goto one level deeper: the loop converged
        // when the explored state covers this one by range (Linux is_state_visited, RANGE_WITHIN).
        if (statesEqual(sl.state, this.state, this.rangeWithin, false, this.privileged)) {
          sl.hits++;
          found = true;
          continue;
        }
        sl.misses++;
      } else if (sl.branches > 0 && loopPoint === 1) {
        // Linux skips the infinite-loop check at an iterator's next().
        sl.misses++;
      } else if (sl.branches > 0 && callsCallback) {
        // A callback returned to the helper call with nothing new: its iterations converged (Linux: a
        // calls_callback instruction is pruned by range even on the path still being explored).
        if (statesEqual(sl.state, this.state, this.rangeWithin, false, this.privileged)) {
          sl.hits++;
          found = true;
          this.pruneHit(sl.state);
          continue;
        }
        sl.misses++;
      } else if (sl.branches > 0) {
        // A state still being explored at this instruction: the current path went round a loop.
        if (statesEqual(sl.state, this.state, this.view, false, this.privileged) && this.sameLoopState(sl.state) && !loopDepthsDiffer(sl.state, this.state)) {
          // is_state_visited prints both states in full after the message (print_verifier_state, print_all).
          const fr = this.state.frames.length - 1;
          const dump = (st: VState): string => fullFrameText(st, fr);
          throw new Reject(`infinite loop detected at insn ${idx}`, 'infinite-loop', {
            errno: 22,
            more: [`cur state:${dump(this.state)}`, `old state:${dump(sl.state)}`],
          });
        }
        if (this.jmpsProcessed - this.prevJmps < 20 && this.processed - this.prevProcessed < 100) addNew = false;
        sl.misses++;
      } else if (statesEqual(sl.state, this.state, this.view, false, this.privileged)) {
        sl.hits++;
        found = true;
        this.pruneHit(sl.state);
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
    const es: ExploredState = {
      state: this.state.snapshot(),
      insn: idx,
      branches: 1,
      parent: this.state.parent,
      processedAt: this.processed,
      hits: 0,
      misses: 0,
    };
    es.state.parent = es.parent;
    this.state.parent = es;
    // The path goes on from the checkpoint with an empty stretch of history and no inherited marks (Linux).
    this.state.firstInsn = idx;
    this.state.histStart = this.state.histEnd;
    this.precision.forgetMarks(this.state);
    list.push(es);
    this.totalStates++;
    this.liveStates++;
    if (this.liveStates > this.peak) this.peak = this.liveStates;
    if (list.length > this.maxStatesPerInsn) this.maxStatesPerInsn = list.length;
    this.prevJmps = this.jmpsProcessed;
    this.prevProcessed = this.processed;
    return false;
  }

  /**
   * A verified state covers the current path: the scalars that were precise in it are precise on this path
   * too (Linux: push_jmp_history at a jump point, then propagate_precision).
   */
  private pruneHit(old: VState): void {
    const st = this.state;
    if (this.precision.jmpPoint[this.insnIdx]) this.precision.push(st, this.insnIdx, st.lastInsn, 0, null);
    this.precision.propagate(old, (fi) => this.view.live(fi));
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

  /** The instruction the branch just taken from the stack was pushed at (Linux prev_insn_idx after pop_stack). */
  private poppedFrom(): number {
    return this.popped?.prevInsn ?? -1;
  }

  /** What Linux prints when it starts on a branch from the stack. */
  private printBranchHeader(from: PendingBranch): void {
    if (this.log.level === 1) {
      // Linux cuts the log back to the branch instruction's text and appends the state on the same line.
      this.log.add(`${from.prevInsn}: ${this.insnText(from.prevInsn)} ${from.insn}:${this.fullState()}`);
    } else if (this.log.level >= 2) {
      this.log.add('');
      this.log.add(`from ${from.prevInsn} to ${from.insn}${this.state.speculative ? ' (speculative execution)' : ''}:${this.fullState()}`);
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
      case 3: {
        // check_ld_imm64 of BPF_PSEUDO_BTF_ID: the type check_pseudo_btf_id gave the symbol (btf-ptr.ts).
        const ksym = this.registry.ksym?.(this.insnIdx);
        if (ksym === undefined) throw new Reject('BPF_PSEUDO_BTF_ID (ksym) loads are not modelled by the simulator', 'unsupported', { errno: 22 });
        markKsym(dst, ksym);
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
        this.jmpsProcessed++;
        return checkMayGoto(this, raw, i);
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
          // A global function is assumed valid here and verified on its own (global-func.ts).
          if (checkGlobalCall(this, this.prog.subprogOf[i + raw.imm + 1] ?? 0)) return i + 1;
          const target = checkLocalCall(this, raw);
          this.afterCall = 'call';
          // __check_func_call prints the frames at level 1 too (recorded: fixtures/precise).
          if (this.log.level >= 1) {
            const caller = this.state.frames[this.state.frames.length - 2];
            this.sourceLine(i);
            this.log.add(`${i}: ${this.insnText(i)}`);
            // What the BTF check of the call logged (a static callee's tags), before the frames.
            this.flushNotes();
            if (caller) this.log.add(`caller:\n${formatFrame(caller, 0x7ff, null, [], !this.privileged)}`);
            this.log.add(`callee:\n${formatFrame(this.state.cur, 0x7ff, null, [], !this.privileged)}`);
          }
          return -2 - target;
        }
        if (raw.src === 2) {
          checkKfuncCall(this, raw);
          return i + 1;
        }
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
          this.afterCall = 'exit';
          if (this.log.level >= 1) {
            this.sourceLine(i);
            this.log.add(`${i}: ${this.insnText(i)}`);
            this.flushNotes();
            this.log.add(`returning from callee:\n${formatFrame(callee, 0x7ff, null, [], !this.privileged)}`);
            this.log.add(`to caller at ${ret}:\n${formatFrame(this.state.cur, 0x7ff, null, [], !this.privileged)}`);
          }
          return -2 - ret;
        }
        // Frame 0 of a global subprogram's own pass returns a scalar to any caller.
        // (A timer's callback is frame 0 of its own path too, but returns as an async callback: checkMainExit.)
        if (this.state.cur.subprog !== 0 && !this.state.cur.inAsyncCallbackFn) checkGlobalExit(this);
        else checkMainExit(this);
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
      for (let r = 0; r < 11; r++) {
        const o = of.regs[r];
        const c = cf.regs[r];
        if (o && c) widenReg(o, c);
      }
      const slots = Math.min(of.allocated, cf.allocated);
      for (let spi = 0; spi < slots; spi++) {
        const o = of.spilled[spi];
        if (!o || !cf.spilled[spi] || of.stack[spi * 8 + 7] !== Slot.SPILL || cf.stack[spi * 8 + 7] !== Slot.SPILL) continue;
        if (o.precise || cf.spilled[spi]?.precise) continue;
        const c = cf.ownStack().spilled[spi];
        if (c) widenReg(o, c);
      }
    }
  }

  /**
   * Linux widen_imprecise_scalars(find_prev_entry(...), queued) at an iterator's next() or a may_goto: the state
   * this path had at the same instruction before (explored, still being explored, same call chain, not the
   * checkpoint just made for the current visit) gives the scalars that did not change.
   */
  widenLoop(queued: VState): void {
    const list = this.explored[this.insnIdx];
    if (!list) return;
    let prev: VState | null = null;
    for (let k = list.length - 1; k >= 0 && prev === null; k--) {
      const sl = list[k];
      if (sl && sl !== this.state.parent && sl.branches > 0 && sameCallsites(sl.state, queued)) prev = sl.state;
    }
    if (prev === null) return;
    for (let fi = 0; fi < prev.frames.length; fi++) {
      const of = prev.frames[fi];
      const cf = queued.frames[fi];
      if (!of || !cf) continue;
      for (let r = 0; r < 11; r++) {
        const o = of.regs[r];
        const c = cf.regs[r];
        if (o && c) widenReg(o, c);
      }
      const slots = Math.min(of.allocated, cf.allocated);
      for (let spi = 0; spi < slots; spi++) {
        const o = of.spilled[spi];
        if (!o || !cf.spilled[spi] || of.stack[spi * 8 + 7] !== Slot.SPILL || cf.stack[spi * 8 + 7] !== Slot.SPILL) continue;
        if (o.precise || cf.spilled[spi]?.precise) continue;
        const c = cf.ownStack().spilled[spi];
        if (c) widenReg(o, c);
      }
    }
  }

  /** do_check from instruction `start` with the current state. */
  private run(start: number): void {
    if (this.log.level > 0) this.log.add(`${start}:${this.fullState()}`);
    const { slots, forms, malformed, prunePoint } = this.prog;
    const jmpPoint = this.precision.jmpPoint;
    let idx = start;
    let prev = -1;
    for (;;) {
      this.insnIdx = idx;
      const st = this.state;
      st.insnIdx = idx;
      st.lastInsn = prev;
      this.precision.beginInsn();
      if (++this.processed > INSN_LIMIT) {
        throw new Reject(`BPF program is too large. Processed ${this.processed} insn`, 'complexity', { errno: 7 });
      }
      const from = this.popped;
      this.popped = null;
      const afterCall = this.afterCall;
      this.afterCall = null;
      if (prunePoint[idx] && this.stateVisited()) {
        this.flushNotes();
        if (this.log.level >= 2) this.log.add(from || afterCall === 'exit' ? `\nfrom ${from ? from.prevInsn : prev} to ${idx}: safe` : `${idx}: safe`);
        this.pathDone();
        if (!this.pop()) return;
        idx = this.insnIdx;
        prev = this.poppedFrom();
        continue;
      }
      // The path's history: where it arrived other than from the previous slot (Linux push_jmp_history).
      if (jmpPoint[idx] || (prev >= 0 && idx !== prev + (forms[prev]?.kind === 'ld_imm64' ? 2 : 1))) {
        this.precision.push(this.state, idx, prev, 0, null);
      }
      if (from) this.printBranchHeader(from);
      else if (afterCall !== null && this.log.level > 0) {
        // do_check after a return (do_print_state, level 2) or a call (print_insn_state of the new frame).
        if (afterCall === 'exit' && this.log.level >= 2) this.log.add(`\nfrom ${prev} to ${idx}:${this.fullState()}`);
        else this.log.add(`${idx}:${this.fullState()}`);
      }
      const raw = slots[idx];
      const form = forms[idx];
      const bad = malformed[idx];
      if (!raw || !form || bad) {
        this.sourceLine(idx);
        this.log.add(form && raw ? `${idx}: ${this.insnText(idx)}` : `${idx}: (${(raw?.code ?? 0).toString(16).padStart(2, '0')})`);
        throw new Reject(bad ?? `unknown opcode ${(raw?.code ?? 0).toString(16).padStart(2, '0')}`, 'reserved', { errno: 22 });
      }
      // A speculative path stops at a barrier; and it does not make code live (Linux sanitize_mark_insn_seen:
      // dead code stays trapped).
      if (st.speculative && this.facts.nospecAt(idx)) {
        this.pathDone();
        if (!this.pop()) return;
        idx = this.insnIdx;
        prev = this.poppedFrom();
        continue;
      }
      if (!st.speculative) this.facts.markSeen(idx, form.kind === 'ld_imm64' ? 2 : 1);
      this.scratchRegs = 0;
      this.scratchSlots.clear();
      if (this.notes.length > 0) this.notes = [];
      let next: number;
      try {
        next = this.step(idx, raw, form);
      } catch (e) {
        if (e instanceof Reject) this.printInsn(idx, false);
        // Linux error_recoverable_with_nospec: on a speculative path a barrier before the instruction stops the
        // CPU from getting there; the path ends instead of the verification.
        if (e instanceof Reject && this.state.speculative && RECOVERABLE_WITH_NOSPEC.has(e.errno)) {
          this.log.add(e.line);
          for (const line of e.more) this.log.add(line);
          this.facts.markNospec(idx);
          this.pathDone();
          if (!this.pop()) return;
          idx = this.insnIdx;
          prev = this.poppedFrom();
          continue;
        }
        throw e;
      }
      prev = idx;
      if (next <= -2) {
        // Calls and returns print their own frames.
        idx = -2 - next;
        continue;
      }
      // A barrier after the store: a speculative path ends there (Linux nospec_result in do_check).
      const endsPath = next === -1 || (st.speculative && this.facts.nospecResultAt(idx));
      this.printInsn(idx, !endsPath && form.kind !== 'exit', next);
      if (endsPath) {
        this.pathDone();
        if (!this.pop()) return;
        idx = this.insnIdx;
        prev = this.poppedFrom();
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
  if (o.precise || c.precise) return;
  if (o.type === RegType.SCALAR && c.type === RegType.SCALAR && !sameValueFacts(o, c)) markUnknown(c);
}

/** Linux same_callsites: the two states are in the same call chain. */
function sameCallsites(a: VState, b: VState): boolean {
  if (a.frames.length !== b.frames.length) return false;
  for (let i = 0; i < a.frames.length; i++) if (a.frames[i]?.callsite !== b.frames[i]?.callsite) return false;
  return true;
}

/** Linux error_recoverable_with_nospec: EPERM, EACCES and EINVAL (not ENOMEM, EFAULT, E2BIG...). */
const RECOVERABLE_WITH_NOSPEC: ReadonlySet<number> = new Set([1, 13, 22]);

/** Linux MAX_CALL_FRAMES. */
const MAX_CALL_FRAMES = 8;

/**
 * Linux check_max_stack_depth: from the main program and from each async callback (a timer's, which runs on a
 * stack of its own), walk every bpf-to-bpf call and callback reference in instruction order, as
 * check_max_stack_depth_subprog does (no visited set: a recursive call chain grows until MAX_CALL_FRAMES, "the
 * call stack of 8 frames is too deep !"), adding each frame's stack rounded up to 16 bytes as Linux does for a
 * JIT-requested program (round_up_stack_depth; recorded on 6.18 with the JIT on: fixtures/precise stack_round*);
 * the frames must fit in 512 bytes, and a subprogram that tail-calls may not be entered with 256 bytes or more of
 * frames below it. A callback named by an LD imm64 is a frame too, unless it is an async callback.
 */
function checkStackDepth(prog: Program, depth: readonly number[], registry: VerifierRegistry, asyncCallbacks: ReadonlySet<number>): void {
  const round = (d: number): number => Math.ceil(d / 16) * 16;
  const starts = prog.subprogStarts;
  const tailCalls = new Uint8Array(starts.length);
  prog.slots.forEach((raw, i) => {
    if (prog.forms[i]?.kind === 'call' && raw.src === 0 && registry.helper(raw.imm)?.tailCall === true) tailCalls[prog.subprogOf[i] ?? 0] = 1;
  });
  const retInsn: number[] = [];
  const retProg: number[] = [];
  const walk = (root: number): void => {
    let idx = root;
    let i = starts[idx] ?? 0;
    let total = 0;
    let frame = 0;
    for (;;) {
      // process_func
      if (idx !== 0 && tailCalls[idx] && total >= 256) {
        throw new Reject(`tail_calls are not allowed when call stack of previous frames is ${total} bytes. Too large`, 'stack-depth');
      }
      total += round(depth[idx] ?? 0);
      if (total > MAX_STACK) throw new Reject(`combined stack size of ${frame + 1} calls is ${total}. Too large`, 'stack-depth');
      // continue_func: the next call of the current subprogram, or back to the caller at its end.
      let called = false;
      while (!called) {
        const end = starts[idx + 1] ?? prog.slots.length;
        for (; i < end; i++) {
          const raw = prog.slots[i];
          const form = prog.forms[i];
          if (!raw || !form) continue;
          const direct = form.kind === 'call' && raw.src === 1;
          if (!direct && !(form.kind === 'ld_imm64' && raw.src === 4)) continue;
          const sidx = prog.subprogOf[i + raw.imm + 1] ?? 0;
          // Async callbacks don't add to the program's stack unless called directly.
          if (asyncCallbacks.has(sidx) && !direct) continue;
          retInsn[frame] = i + 1;
          retProg[frame] = idx;
          i = starts[sidx] ?? 0;
          idx = sidx;
          frame++;
          if (frame >= MAX_CALL_FRAMES) throw new Reject(`the call stack of ${frame} frames is too deep !`, 'call-depth', { errno: 7 });
          called = true;
          break;
        }
        if (called) break;
        if (frame === 0) return;
        total -= round(depth[idx] ?? 0);
        frame--;
        i = retInsn[frame] ?? 0;
        idx = retProg[frame] ?? 0;
      }
    }
  };
  // Linux walks the roots from the last subprogram down to the main program.
  for (let s = starts.length - 1; s >= 0; s--) if (s === 0 || asyncCallbacks.has(s)) walk(s);
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
    checkKfuncCalls(slots, opts.registry, privileged, opts.gpl ?? true);
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
    // Each do_check_common pass that succeeds resets a level-1 log (passDone): check_max_stack_depth's lines follow
    // only the `Func#N ... is safe` lines of the global functions.
    run.verifyAll();
    checkStackDepth(prog, run.stackDepth, opts.registry, run.asyncCallbacks);
  } catch (e) {
    if (!(e instanceof Reject)) throw e;
    const insn = e.insn >= 0 ? e.insn : (run?.insnIdx ?? -1);
    error = { insn, message: e.line, hint: HINTS[e.hint], errno: e.errno, detail: e.more };
  }
  if (run) {
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
      probeLoads: facts ? facts.probeLoads() : [],
      unreached: facts ? facts.unreached() : [],
      callMaps: facts ? facts.callMaps : new Map(),
      loopCalls: facts ? facts.loopCalls : new Map(),
      seenDirectWrite: facts?.seenDirectWrite ?? false,
      maxCtxOffset: facts?.maxCtxOffset ?? 0,
      aluSanitize: facts ? facts.aluSanitized() : [],
      nospec: facts ? facts.nospecSlots(true) : [],
      nospecResult: facts ? facts.nospecSlots(false) : [],
    },
  };
}
