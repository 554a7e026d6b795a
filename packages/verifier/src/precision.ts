/**
 * Precision tracking as Linux does it (mark_chain_precision, backtrack_insn, propagate_precision,
 * mark_all_scalars_precise/imprecise in kernel/bpf/verifier.c): when a decision needs a scalar's exact value
 * (a branch decided from its bounds, a scalar added to a pointer, a helper's size argument, a callback's
 * return value), the instructions of the CURRENT path are walked backwards through the jump history to find
 * every register and spilled stack slot that value came from, and those are marked `precise` in the explored
 * states (checkpoints) of the path. Pruning then compares precise scalars by range and ignores imprecise ones.
 *
 * The jump history is one shared array, as Linux 6.18's env->insn_hist: each state owns the stretch
 * [histStart, histEnd) recorded since its checkpoint; a branch taken from the stack continues writing after
 * its own end (entries above it belong to finished paths, whose checkpoints are never backtracked through).
 */
import type { OpcodeForm, RawInsn } from '@ebpf-sim/isa';
import { RegType } from './reg.js';
import type { FuncState, VState } from './state.js';
import { Slot } from './state.js';
import type { Program } from './structure.js';

/** r1-r5 (Linux BPF_REGMASK_ARGS). */
const ARGS = 0b111110;
/** Linux MAX_CALL_FRAMES. */
const MAX_FRAMES = 8;
/** Linux INSN_F_STACK_ACCESS: the entry's instruction loaded or spilled through a stack slot. */
const F_STACK = 0x1000;

/** What the backtracking needs of the verifier run. */
export interface PrecisionHost {
  readonly state: VState;
  readonly logLevel: number;
  /** A line of the level-2 log, printed with the current instruction. */
  note(line: string): void;
  /** print_bpf_insn of instruction `i`, as the log prints it after `N: `. */
  insnText(i: number): string;
  /** print_verifier_state of frame `fr` of `st`, every register. */
  stateText(st: VState, fr: number): string;
}

class BacktrackError extends Error {}

export class Precision {
  // The history grows by doubling (grow): small to start with, as most programs never need more and the
  // arrays are made for every verification (up to 64 bytes, V8 keeps a typed array on its heap, without a
  // separately allocated buffer).
  private hIdx = new Int32Array(16);
  private hPrev = new Int32Array(16);
  private hFlags = new Int32Array(16);
  /** Linked scalars recorded at a conditional jump: packed (frame << 8 | spi+16 or regno), or null. */
  private hLinked: Array<Int32Array | null> = [];
  /** Entry of the instruction being checked (Linux env->cur_hist_ent), -1 when none yet. */
  private curEntry = -1;
  /** Per frame: registers / stack slots (two 32-bit halves) still to be explained (Linux struct backtrack_state). */
  private readonly regMask = new Int32Array(MAX_FRAMES);
  private readonly stackLo = new Int32Array(MAX_FRAMES);
  private readonly stackHi = new Int32Array(MAX_FRAMES);
  private frame = 0;
  /** Level-2 lines already built, by frame, register mask and instruction (see beforeLine). */
  private readonly lineCache = new Map<number, string>();
  /** Instructions where Linux records the path even when it arrives in sequence (is_jmp_point). */
  readonly jmpPoint: Uint8Array;
  /** Helper calls that call a callback synchronously (Linux calls_callback). */
  private readonly callsCallback: Uint8Array;

  constructor(
    private readonly prog: Program,
    private readonly host: PrecisionHost,
    /** CAP_BPF: unprivileged programs never backtrack, every scalar counts as precise. */
    private readonly enabled: boolean,
    callsCallback: Uint8Array,
  ) {
    this.callsCallback = callsCallback;
    const n = prog.slots.length;
    this.jmpPoint = new Uint8Array(n + 1);
    for (let i = 0; i < n; i++) {
      const raw = prog.slots[i];
      const form = prog.forms[i];
      if (!raw || !form) continue;
      // check_cfg's mark_jmp_point: branch targets, the instruction after a call, callee and callback starts.
      if (form.kind === 'jmp' || form.kind === 'jcond') this.jmpPoint[i + raw.off + 1] = 1;
      else if (form.kind === 'ja') this.jmpPoint[form.cls === 'jmp32' ? i + raw.imm + 1 : i + raw.off + 1] = 1;
      else if (form.kind === 'call') {
        this.jmpPoint[i + 1] = 1;
        if (raw.src === 1) this.jmpPoint[i + raw.imm + 1] = 1;
        if (callsCallback[i]) this.jmpPoint[i] = 1;
      } else if (form.kind === 'ld_imm64' && raw.src === 4) this.jmpPoint[i + raw.imm + 1] = 1;
    }
  }

  /** A new instruction is being checked: its history entry is not recorded yet. */
  beginInsn(): void {
    this.curEntry = -1;
  }

  /** Linux push_jmp_history for the current instruction of `st` (flags and linked registers are merged). */
  push(st: VState, idx: number, prev: number, flags: number, linked: Int32Array | null): void {
    if (!this.enabled) return;
    if (this.curEntry >= 0 && this.curEntry === st.histEnd - 1 && this.hIdx[this.curEntry] === idx) {
      this.hFlags[this.curEntry] = (this.hFlags[this.curEntry] ?? 0) | flags;
      if (linked) this.hLinked[this.curEntry] = linked;
      return;
    }
    const at = st.histEnd;
    if (at >= this.hIdx.length) this.grow();
    this.hIdx[at] = idx;
    this.hPrev[at] = prev;
    this.hFlags[at] = flags;
    this.hLinked[at] = linked;
    st.histEnd = at + 1;
    this.curEntry = at;
  }

  private grow(): void {
    const size = this.hIdx.length * 2;
    const idx = new Int32Array(size);
    idx.set(this.hIdx);
    const prev = new Int32Array(size);
    prev.set(this.hPrev);
    const flags = new Int32Array(size);
    flags.set(this.hFlags);
    this.hIdx = idx;
    this.hPrev = prev;
    this.hFlags = flags;
  }

  /** A fixed-offset spill or fill through a stack pointer into frame `frameno`'s slot `spi` (INSN_F_STACK_ACCESS). */
  stackAccess(frameno: number, spi: number): void {
    const st = this.host.state;
    this.push(st, st.insnIdx, st.lastInsn, F_STACK | (spi << 3) | frameno, null);
  }

  /**
   * Linux collect_linked_regs at a conditional jump: the scalars sharing the compared registers' ids get the
   * same refinement, so precision needed by one of them is needed by all (bt_sync_linked_regs).
   */
  linkedRegs(srcId: number, dstId: number): void {
    if (!this.enabled || (srcId === 0 && dstId === 0)) return;
    const st = this.host.state;
    const out = this.linkedScratch;
    out.length = 0;
    for (let pass = 0; pass < 2; pass++) {
      const id = pass === 0 ? srcId : dstId;
      if (!id || (pass === 1 && dstId === srcId)) continue;
      for (let fr = 0; fr < st.frames.length; fr++) {
        const f = st.frames[fr];
        if (!f) continue;
        for (let r = 0; r < 10; r++) {
          const reg = f.regs[r];
          if (reg && reg.type === RegType.SCALAR && reg.id === id) out.push((fr << 8) | r);
        }
        for (let spi = 0; spi < f.allocated; spi++) {
          const reg = f.spilled[spi];
          if (reg && reg.type === RegType.SCALAR && reg.id === id && f.stack[spi * 8 + 7] === Slot.SPILL) out.push((fr << 8) | (spi + 16));
        }
      }
    }
    if (out.length > 1) this.push(st, st.insnIdx, st.lastInsn, 0, Int32Array.from(out));
  }

  /** linkedRegs' list, reused (a conditional jump on linked scalars is a hot path). */
  private readonly linkedScratch: number[] = [];

  /** Each register of `mask` (current frame) is needed precisely at the current instruction. */
  mark(_insn: number, mask: number): void {
    if (!this.enabled) return;
    for (let r = 0; r < 11; r++) if (mask & (1 << r)) this.markReg(r);
  }

  /** Linux mark_chain_precision(env, regno). */
  markReg(regno: number): void {
    if (!this.enabled) return;
    const st = this.host.state;
    const reg = st.cur.regs[regno];
    if (!reg || reg.type !== RegType.SCALAR) return;
    this.reset(st.frames.length - 1);
    this.setReg(this.frame, regno);
    this.backtrack(st);
  }

  /**
   * Linux propagate_precision: the explored state `old` that pruned the current path had precise scalars;
   * the values they stand for on the current path must be precise too. Only registers live at the
   * compared points count (Linux's explored states are cleaned of dead registers).
   */
  propagate(old: VState, live: (fi: number) => number): void {
    if (!this.enabled) return;
    const cur = this.host.state;
    this.reset(cur.frames.length - 1);
    const log = this.host.logLevel >= 2;
    for (let fr = old.frames.length - 1; fr >= 0; fr--) {
      const f = old.frames[fr];
      if (!f) continue;
      // Only the level-2 log names them (a prune hit is a hot path: no list otherwise).
      const parts: string[] | null = log ? [] : null;
      const liveRegs = live(fr);
      for (let r = 0; r < 10; r++) {
        const reg = f.regs[r];
        if (!reg || reg.type !== RegType.SCALAR || !reg.precise || !(liveRegs & (1 << r))) continue;
        this.setReg(fr, r);
        parts?.push(`r${r}`);
      }
      for (let spi = 0; spi < f.allocated; spi++) {
        const reg = f.spilled[spi];
        if (!reg || f.stack[spi * 8 + 7] !== Slot.SPILL || reg.type !== RegType.SCALAR || !reg.precise) continue;
        this.setSlot(fr, spi);
        parts?.push(`fp${-(spi + 1) * 8}`);
      }
      if (parts && parts.length > 0) this.host.note(`frame ${fr}: propagating ${parts.join(',')}`);
    }
    if (!this.empty()) this.backtrack(cur);
  }

  /** Linux mark_all_scalars_imprecise: the checkpointed path forgets the marks it inherited. */
  forgetMarks(st: VState): void {
    if (!this.enabled) return;
    for (const f of st.frames) {
      for (const r of f.regs) r.precise = false;
      let any = false;
      for (let spi = 0; spi < f.allocated; spi++) if (f.spilled[spi]?.precise) any = true;
      if (!any) continue;
      const { spilled } = f.ownStack();
      for (const r of spilled) if (r) r.precise = false;
    }
  }

  private reset(frame: number): void {
    this.regMask.fill(0);
    this.stackLo.fill(0);
    this.stackHi.fill(0);
    this.frame = frame;
  }

  private setReg(fr: number, r: number): void {
    this.regMask[fr] = (this.regMask[fr] ?? 0) | (1 << r);
  }

  private clearReg(fr: number, r: number): void {
    this.regMask[fr] = (this.regMask[fr] ?? 0) & ~(1 << r);
  }

  private isReg(fr: number, r: number): boolean {
    return ((this.regMask[fr] ?? 0) & (1 << r)) !== 0;
  }

  private setSlot(fr: number, spi: number): void {
    if (spi < 32) this.stackLo[fr] = (this.stackLo[fr] ?? 0) | (1 << spi);
    else this.stackHi[fr] = (this.stackHi[fr] ?? 0) | (1 << (spi - 32));
  }

  private clearSlot(fr: number, spi: number): void {
    if (spi < 32) this.stackLo[fr] = (this.stackLo[fr] ?? 0) & ~(1 << spi);
    else this.stackHi[fr] = (this.stackHi[fr] ?? 0) & ~(1 << (spi - 32));
  }

  private isSlot(fr: number, spi: number): boolean {
    return spi < 32 ? ((this.stackLo[fr] ?? 0) & (1 << spi)) !== 0 : ((this.stackHi[fr] ?? 0) & (1 << (spi - 32))) !== 0;
  }

  private stackEmpty(fr: number): boolean {
    return (this.stackLo[fr] ?? 0) === 0 && (this.stackHi[fr] ?? 0) === 0;
  }

  private empty(): boolean {
    for (let i = 0; i <= this.frame; i++) if ((this.regMask[i] ?? 0) !== 0 || !this.stackEmpty(i)) return false;
    return true;
  }

  /** Linux __mark_chain_precision from `start` with the masks already set. */
  private backtrack(start: VState): void {
    const log = this.host.logLevel >= 2;
    let st: VState | null = start;
    let firstIdx = st.firstInsn;
    let lastIdx = st.insnIdx;
    let subseq = -1;
    let skipFirst = true;
    if (this.empty()) return;
    try {
      for (;;) {
        let hist = st.histEnd;
        const histStart: number = st.histStart;
        if (log) this.host.note(this.rangeLine(lastIdx, firstIdx, subseq));
        if (lastIdx < 0) throw new BacktrackError('func entry');
        for (let i = lastIdx; ;) {
          if (skipFirst) skipFirst = false;
          else {
            const e = hist > histStart && this.hIdx[hist - 1] === i ? hist - 1 : -1;
            this.backtrackInsn(i, subseq, e);
          }
          if (this.empty()) return;
          subseq = i;
          // get_prev_insn_idx
          if (i === st.firstInsn) {
            if (hist === histStart) break;
            if (hist === histStart + 1 && this.hIdx[histStart] === i) break;
          }
          if (hist > histStart && this.hIdx[hist - 1] === i) {
            i = this.hPrev[hist - 1] ?? -1;
            hist--;
          } else i--;
          if (i < 0) throw new BacktrackError(`backtracking idx ${i}`);
        }
        const parentState: VState | null = st.parent?.state ?? null;
        st = parentState;
        if (!st) break;
        for (let fr = this.frame; fr >= 0; fr--) {
          const f = st.frames[fr];
          if (!f) continue;
          for (let r = 0; r < 11; r++) {
            if (!this.isReg(fr, r)) continue;
            const reg = f.regs[r];
            if (!reg || reg.type !== RegType.SCALAR || reg.precise) this.clearReg(fr, r);
            else reg.precise = true;
          }
          if (!this.stackEmpty(fr)) this.markSlots(f, fr);
          if (log)
            this.host.note(`mark_precise: frame${fr}: parent state regs=${this.regText(fr)} stack=${this.stackText(fr)}: ${this.host.stateText(st, fr)}`);
        }
        if (this.empty()) return;
        subseq = firstIdx;
        lastIdx = st.lastInsn;
        firstIdx = st.firstInsn;
      }
      if (!this.empty()) this.markAll(start);
    } catch (e) {
      if (!(e instanceof BacktrackError)) throw e;
      // Linux -ENOTSUPP (and what it cannot follow): every scalar of the path's checkpoints becomes precise.
      this.markAll(start);
    }
  }

  /** The explored frame's spilled scalars named by the slot mask become precise (copying shared stack arrays first). */
  private markSlots(f: FuncState, fr: number): void {
    let owned = false;
    for (let spi = 0; spi < 64; spi++) {
      if (!this.isSlot(fr, spi)) continue;
      const reg = spi < f.allocated ? f.spilled[spi] : null;
      if (!reg || f.stack[spi * 8 + 7] !== Slot.SPILL || reg.type !== RegType.SCALAR || reg.precise) {
        this.clearSlot(fr, spi);
        continue;
      }
      // The spilled registers may be shared with clones (copy on write): mark this state's own copy.
      if (!owned) {
        f.ownStack();
        owned = true;
      }
      const mine = f.spilled[spi];
      if (mine) mine.precise = true;
    }
  }

  /** Linux mark_all_scalars_precise: the parents of `st` get every scalar precise. */
  private markAll(st: VState): void {
    const log = this.host.logLevel >= 2;
    if (log) this.host.note(`mark_precise: frame${st.frames.length - 1}: falling back to forcing all scalars precise`);
    for (let p = st.parent?.state ?? null; p; p = p.parent?.state ?? null) {
      for (let fr = 0; fr < p.frames.length; fr++) {
        const f = p.frames[fr];
        if (!f) continue;
        for (let r = 0; r < 10; r++) {
          const reg = f.regs[r];
          if (!reg || reg.type !== RegType.SCALAR || reg.precise) continue;
          reg.precise = true;
          if (log) this.host.note(`force_precise: frame${fr}: forcing r${r} to be precise`);
        }
        let owned = false;
        for (let spi = 0; spi < f.allocated; spi++) {
          const reg = f.spilled[spi];
          if (!reg || f.stack[spi * 8 + 7] !== Slot.SPILL || reg.type !== RegType.SCALAR || reg.precise) continue;
          if (!owned) {
            f.ownStack();
            owned = true;
          }
          const mine = f.spilled[spi];
          if (mine) mine.precise = true;
          if (log) this.host.note(`force_precise: frame${fr}: forcing fp${-(spi + 1) * 8} to be precise`);
        }
      }
    }
    this.reset(0);
  }

  /**
   * `mark_precise: frameN: regs=... stack=... before IDX: INSN`. A loop prints the same lines at every
   * iteration: the same string is handed out again, so a long level-2 log holds references, not copies.
   */
  private beforeLine(idx: number): string {
    const fr = this.frame;
    const stackEmpty = this.stackEmpty(fr);
    const key = stackEmpty ? ((this.regMask[fr] ?? 0) * MAX_FRAMES + fr) * this.prog.slots.length + idx : -1;
    if (key >= 0) {
      const hit = this.lineCache.get(key);
      if (hit !== undefined) return hit;
    }
    const line = `mark_precise: frame${fr}: regs=${this.regText(fr)} stack=${this.stackText(fr)} before ${idx}: ${this.host.insnText(idx)}`;
    if (key >= 0) {
      if (this.lineCache.size > 1 << 16) this.lineCache.clear();
      this.lineCache.set(key, line);
    }
    return line;
  }

  /** `mark_precise: frameN: last_idx L first_idx F subseq_idx S ` (shared like beforeLine's, for programs below 64Ki slots). */
  private rangeLine(last: number, first: number, subseq: number): string {
    const n = this.prog.slots.length + 1;
    const key = n <= 1 << 16 && last >= 0 && first >= 0 ? -1 - (((last * n + first) * n + subseq + 1) * MAX_FRAMES + this.frame) : 0;
    if (key < 0) {
      const hit = this.lineCache.get(key);
      if (hit !== undefined) return hit;
    }
    const line = `mark_precise: frame${this.frame}: last_idx ${last} first_idx ${first} subseq_idx ${subseq} `;
    if (key < 0) this.lineCache.set(key, line);
    return line;
  }

  private regText(fr: number): string {
    const out: string[] = [];
    for (let r = 0; r < 32; r++) if (this.isReg(fr, r)) out.push(`r${r}`);
    return out.join(',');
  }

  private stackText(fr: number): string {
    const out: string[] = [];
    for (let spi = 0; spi < 64; spi++) if (this.isSlot(fr, spi)) out.push(String(-(spi + 1) * 8));
    return out.join(',');
  }

  /** Linux bt_sync_linked_regs: one linked scalar needed makes all of them needed. */
  private syncLinked(e: number): void {
    const linked = e >= 0 ? this.hLinked[e] : null;
    if (!linked) return;
    let any = false;
    for (const p of linked) {
      const fr = p >> 8;
      const n = p & 0xff;
      if (n >= 16 ? this.isSlot(fr, n - 16) : this.isReg(fr, n)) any = true;
    }
    if (!any) return;
    for (const p of linked) {
      const fr = p >> 8;
      const n = p & 0xff;
      if (n >= 16) this.setSlot(fr, n - 16);
      else this.setReg(fr, n);
    }
  }

  /** Linux backtrack_insn: what must be precise before instruction `idx` given what is needed after it. */
  private backtrackInsn(idx: number, subseq: number, e: number): void {
    const raw = this.prog.slots[idx];
    const form = this.prog.forms[idx];
    if (!raw || !form) return;
    if (this.host.logLevel >= 2) this.host.note(this.beforeLine(idx));
    this.syncLinked(e);
    this.step(idx, subseq, e, raw, form);
    this.syncLinked(e);
  }

  private step(idx: number, subseq: number, e: number, raw: RawInsn, form: OpcodeForm): void {
    const fr = this.frame;
    const dreg = raw.dst;
    const sreg = raw.src;
    const flags = e >= 0 ? (this.hFlags[e] ?? 0) : 0;
    switch (form.kind) {
      case 'alu':
      case 'movsx':
      case 'neg':
      case 'end': {
        if (!this.isReg(fr, dreg)) return;
        if (form.kind === 'neg' || form.kind === 'end') return;
        const isX = form.kind === 'movsx' || form.source === 'X';
        if (form.kind === 'movsx' || form.op === 0xb0) {
          this.clearReg(fr, dreg);
          if (isX && sreg !== 10) this.setReg(fr, sreg);
        } else if (isX && sreg !== 10) this.setReg(fr, sreg);
        return;
      }
      case 'ldx':
      case 'ldxsx':
        this.load(dreg, flags);
        return;
      case 'atomic': {
        // A fetching atomic writes the old value into a register (r0 for cmpxchg): like a load (6.18).
        const fetch = raw.imm === 0xf1 || (raw.imm & 1) === 1 || raw.imm === 0xe1;
        if (fetch) this.load(raw.imm === 0xf1 ? 0 : sreg, flags);
        if (this.isReg(fr, dreg)) throw new BacktrackError('stx with scalar dst');
        return;
      }
      case 'st':
      case 'stx': {
        if (this.isReg(fr, dreg)) throw new BacktrackError('stx with scalar dst');
        if (!(flags & F_STACK)) return;
        const spi = (flags >> 3) & 0x3f;
        const sfr = flags & 7;
        if (!this.isSlot(sfr, spi)) return;
        this.clearSlot(sfr, spi);
        if (form.kind === 'stx') this.setReg(fr, sreg);
        return;
      }
      case 'call': {
        if (raw.src === 1) {
          // A static subprogram's call seen from its first instruction: r1-r5 go to the caller.
          if ((this.regMask[fr] ?? 0) & ~ARGS) throw new BacktrackError('static subprog unexpected regs');
          if (!this.stackEmpty(fr)) throw new BacktrackError('static subprog leftover stack slots');
          for (let r = 1; r <= 5; r++) {
            if (this.isReg(fr, r)) {
              this.clearReg(fr, r);
              this.setReg(fr - 1, r);
            }
          }
          this.exitFrame();
          return;
        }
        if (this.callsCallback[idx] && idx !== subseq - 1) {
          // From a callback's first instruction back to the helper that called it.
          if ((this.regMask[fr] ?? 0) & ~ARGS) throw new BacktrackError('callback unexpected regs');
          if (!this.stackEmpty(fr)) throw new BacktrackError('callback leftover stack slots');
          for (let r = 1; r <= 5; r++) this.clearReg(fr, r);
          this.exitFrame();
          return;
        }
        if (raw.src === 2 && raw.imm === 0) throw new BacktrackError('kfunc imm 0');
        // A helper (or kfunc) call sets r0; r1-r5 must have been explained after it.
        this.clearReg(fr, 0);
        if ((this.regMask[fr] ?? 0) & ARGS) throw new BacktrackError('backtracking call unexpected regs');
        return;
      }
      case 'exit': {
        // Back into the callee from the instruction its exit returned to. Into a callback (its exit returns to
        // the helper call), the caller's r1-r5 stay needed: Linux 6.18 keeps them and walks on through the
        // callback's body (recorded: fixtures/callbacks loop_ok, `regs=r4 ... before 15: (95) exit`, then frame1).
        const intoCallback = subseq >= 0 && this.callsCallback[subseq] === 1;
        if (!intoCallback && (this.regMask[fr] ?? 0) & ARGS) throw new BacktrackError('backtracking exit unexpected regs');
        const callBefore = subseq - 1 >= 0 ? this.prog.slots[subseq - 1] : undefined;
        const r0 = callBefore !== undefined && this.prog.forms[subseq - 1]?.kind === 'call' && callBefore.src === 1 && this.isReg(fr, 0);
        this.clearReg(fr, 0);
        if (this.frame === MAX_FRAMES - 1) throw new BacktrackError('subprog enter');
        this.frame++;
        if (r0) this.setReg(this.frame, 0);
        return;
      }
      case 'jmp': {
        if (form.source !== 'X') return;
        if (!this.isReg(fr, dreg) && !this.isReg(fr, sreg)) return;
        this.setReg(fr, sreg);
        this.setReg(fr, dreg);
        return;
      }
      case 'ld_imm64':
        this.clearReg(fr, dreg);
        return;
      case 'ld_abs':
      case 'ld_ind':
        if (!this.isReg(fr, dreg)) return;
        throw new BacktrackError('ld_abs');
      default:
        return;
    }
  }

  private load(loadReg: number, flags: number): void {
    const fr = this.frame;
    if (!this.isReg(fr, loadReg)) return;
    this.clearReg(fr, loadReg);
    if (!(flags & F_STACK)) return;
    this.setSlot(flags & 7, (flags >> 3) & 0x3f);
  }

  private exitFrame(): void {
    if (this.frame === 0) throw new BacktrackError('subprog exit from frame 0');
    this.frame--;
  }
}
