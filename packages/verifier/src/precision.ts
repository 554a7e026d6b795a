/**
 * Which scalars must be compared exactly when pruning (Linux's precision tracking, mark_chain_precision).
 *
 * Linux compares only "precise" scalars when it prunes: those whose exact range mattered to a decision (a
 * branch decided from bounds, a scalar added to a pointer, a helper size argument, a checked return value),
 * found by backtracking the current path. The simulator keeps the same sinks but propagates them backwards
 * over the whole control-flow graph instead of one path: a register (or an r10-relative stack slot) is
 * precise at an instruction when its value there may flow into a sink. This marks at least what Linux marks
 * on any path, so it prunes no more than Linux does, and pruning stays sound.
 */
import type { OpcodeForm, RawInsn } from '@ebpf-sim/isa';
import type { Program } from './structure.js';

const ALL_REGS = 0x7ff;

export class Precision {
  /** Per instruction: registers whose value before it must be precise. */
  private readonly regs: Uint16Array;
  /** Per instruction: stack slots (spi 0..63, current frame) that must be precise, as two 32-bit halves. */
  private readonly slotsLo: Uint32Array;
  private readonly slotsHi: Uint32Array;
  /** Subprograms whose scalars are all precise (a precise value came out of them). */
  private readonly allPrecise: Uint8Array;
  /** Predecessors and call sites, built on the first mark (many programs never reach a sink). */
  private flowGraph: { readonly preds: number[][]; readonly callers: number[][] } | null = null;

  constructor(private readonly prog: Program) {
    const n = prog.slots.length;
    this.regs = new Uint16Array(n);
    this.slotsLo = new Uint32Array(n);
    this.slotsHi = new Uint32Array(n);
    this.allPrecise = new Uint8Array(prog.subprogStarts.length);
  }

  private graph(): { readonly preds: number[][]; readonly callers: number[][] } {
    if (this.flowGraph) return this.flowGraph;
    const prog = this.prog;
    const n = prog.slots.length;
    const preds: number[][] = Array.from({ length: n }, () => []);
    const callers: number[][] = prog.subprogStarts.map(() => []);
    for (let i = 0; i < n; i++) {
      const raw = prog.slots[i];
      const form = prog.forms[i];
      if (!raw || !form) continue;
      for (const t of flowSuccessors(i, raw, form)) preds[t]?.push(i);
      if (form.kind === 'call' && raw.src === 1) callers[prog.subprogOf[i + raw.imm + 1] ?? 0]?.push(i);
    }
    this.flowGraph = { preds, callers };
    return this.flowGraph;
  }

  /** Registers precise before `insn` (bit n = rn). */
  regsAt(insn: number): number {
    if (this.allPrecise[this.prog.subprogOf[insn] ?? 0]) return ALL_REGS;
    return this.regs[insn] ?? 0;
  }

  /** Is stack slot `spi` of the instruction's own frame precise before `insn`? */
  slotAt(insn: number, spi: number): boolean {
    if (this.allPrecise[this.prog.subprogOf[insn] ?? 0]) return true;
    return spi < 32 ? ((this.slotsLo[insn] ?? 0) & (1 << spi)) !== 0 : ((this.slotsHi[insn] ?? 0) & (1 << (spi - 32))) !== 0;
  }

  /** A sink at `insn` needs the registers in `mask` precise. */
  mark(insn: number, mask: number): void {
    const { preds, callers } = this.graph();
    const work: Array<[number, number, number, number]> = [[insn, mask & 0x3ff, 0, 0]];
    while (work.length > 0) {
      const item = work.pop();
      if (!item) break;
      const [i, rm, lo, hi] = item;
      const oldR = this.regs[i] ?? 0;
      const oldLo = this.slotsLo[i] ?? 0;
      const oldHi = this.slotsHi[i] ?? 0;
      const newR = rm & ~oldR;
      const newLo = (lo & ~oldLo) >>> 0;
      const newHi = (hi & ~oldHi) >>> 0;
      if (newR === 0 && newLo === 0 && newHi === 0) continue;
      this.regs[i] = oldR | newR;
      this.slotsLo[i] = (oldLo | newLo) >>> 0;
      this.slotsHi[i] = (oldHi | newHi) >>> 0;
      const sub = this.prog.subprogOf[i] ?? 0;
      if (i === this.prog.subprogStarts[sub] && sub > 0) {
        // Arguments of a subprogram come from its call sites.
        const args = newR & 0b111110;
        if (args) for (const c of callers[sub] ?? []) work.push([c, args, 0, 0]);
      }
      for (const p of preds[i] ?? []) {
        const t = this.transfer(p, newR, newLo, newHi);
        if (t) work.push([p, t[0], t[1], t[2]]);
      }
    }
  }

  /** What must be precise before `p` so that `rm`/slots are precise after it. */
  private transfer(p: number, rm: number, lo: number, hi: number): [number, number, number] | null {
    const raw = this.prog.slots[p];
    const form = this.prog.forms[p];
    if (!raw || !form) return null;
    let regs = rm;
    let slotLo = lo;
    let slotHi = hi;
    const d = 1 << raw.dst;
    const s = 1 << raw.src;
    const setSlot = (spi: number): void => {
      if (spi < 32) slotLo |= 1 << spi;
      else slotHi |= 1 << (spi - 32);
    };
    const takeSlot = (spi: number): boolean => {
      if (spi < 32) {
        const had = (slotLo & (1 << spi)) !== 0;
        slotLo &= ~(1 << spi);
        return had;
      }
      const had = (slotHi & (1 << (spi - 32))) !== 0;
      slotHi &= ~(1 << (spi - 32));
      return had;
    };
    switch (form.kind) {
      case 'alu':
        if (regs & d) {
          if (form.op === 0xb0) regs = (regs & ~d) | (form.source === 'X' ? s : 0);
          else regs |= form.source === 'X' ? s : 0;
        }
        break;
      case 'movsx':
        if (regs & d) regs = (regs & ~d) | s;
        break;
      case 'neg':
      case 'end':
        break;
      case 'jmp':
        if (form.source === 'X' && regs & (d | s)) regs |= d | s;
        break;
      case 'ld_imm64':
      case 'ld_abs':
      case 'ld_ind':
        regs &= form.kind === 'ld_imm64' ? ~d : ~0b111111;
        break;
      case 'ldx':
      case 'ldxsx':
        if (regs & d) {
          regs &= ~d;
          if (raw.src === 10 && raw.off < 0) setSlot((-raw.off - 1) >> 3);
        }
        break;
      case 'st':
      case 'stx':
        if (raw.dst === 10 && raw.off < 0) {
          const spi = (-raw.off - 1) >> 3;
          if (takeSlot(spi) && form.kind === 'stx') regs |= s;
        }
        break;
      case 'atomic':
        if (regs & s) regs &= ~s;
        if (raw.imm === 0xf1) regs &= ~1;
        break;
      case 'call':
        if (raw.src === 1 && regs & 1) {
          // A precise value returned by a subprogram: every scalar of the callee counts.
          this.allPrecise[this.prog.subprogOf[p + raw.imm + 1] ?? 0] = 1;
        }
        regs &= ~0b111111;
        break;
      default:
        break;
    }
    if (regs === 0 && slotLo === 0 && slotHi === 0) return null;
    return [regs, slotLo >>> 0, slotHi >>> 0];
  }
}

/** Intra-procedural successors: a local call continues at the next instruction. */
function flowSuccessors(i: number, raw: RawInsn, form: OpcodeForm): number[] {
  switch (form.kind) {
    case 'exit':
      return [];
    case 'ja':
      return [form.cls === 'jmp32' ? i + raw.imm + 1 : i + raw.off + 1];
    case 'jmp':
    case 'jcond':
      return [i + 1, i + raw.off + 1];
    case 'ld_imm64':
      return [i + 2];
    default:
      return [i + 1];
  }
}
