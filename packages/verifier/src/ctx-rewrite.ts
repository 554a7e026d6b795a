/**
 * The context rewrite of a verified program (Linux convert_ctx_accesses, with bpf_patch_insn_data and
 * bpf_adj_branches): every context access the verifier recorded becomes the accesses of the kernel object the
 * hook really hands the program, as the field's `convert` describes (Linux's per-type *_convert_ctx_access,
 * here data of the program type); narrow loads are widened, then shifted and masked, as Linux does; a program
 * that writes packet data gets its type's prologue (gen_prologue); jumps and calls are re-aimed across the
 * inserted instructions. The result is the program as the kernel runs it, what `bpftool prog dump xlated`
 * prints, but for do_misc_fixups' work (helper calls keep their numbers, map pointers their fds).
 */
import { AluOp, Class, JmpOp, Mode, PseudoCall, PseudoLd, Source, lookupForm, sizeCodeForWidth, type OpcodeForm, type RawInsn } from '@ebpf-sim/isa';
import type { CtxAccessFact } from './facts.js';
import type { CtxConvert, CtxConvertInsn, CtxConvertSize, ProgramTypeDesc } from './registry.js';
import { toSlots, type VerifyResult } from './verifier.js';

/** The rewritten program and where each instruction of the verified one went. */
export interface XlatedProgram {
  /** The rewritten instructions (an LD imm64 is one entry with `imm2`, as the isa builder makes them). */
  readonly insns: readonly RawInsn[];
  /**
   * For each 8-byte slot of the verified program (and one past its end), the slot its rewrite starts at: a
   * jump to a rewritten access lands on the first instruction of the rewrite, and a jump to the first
   * instruction lands after the prologue, as in Linux (adjust_jmp_off).
   */
  readonly slotMap: readonly number[];
  /** The verifier's run-time facts at their slots in the rewritten program. */
  readonly divisionsWithoutZeroCheck: readonly number[];
  readonly memoryInBounds: readonly number[];
  /** Probe loads (BTF pointer loads whose fault reads 0), when the verifier found any. */
  readonly probeLoads?: readonly number[];
}

/**
 * A rewrite that cannot be made: the verifier's facts disagree with the program (Linux reports these as
 * "verifier bug"), or an instruction reaches the context on one path and other memory on another.
 */
export class CtxRewriteError extends Error {
  override readonly name = 'CtxRewriteError';
}

/** Linux's BPF_REG_AX: the scratch register the kernel's own patches use (MAX_BPF_REG; printed `r11`). */
export const BPF_REG_AX = 11;

const JA_NOP: RawInsn = { code: Class.JMP | JmpOp.JA, dst: 0, src: 0, off: 0, imm: 0 };

const ALU_OPS: Readonly<Record<'and' | 'rsh' | 'lsh' | 'mov', number>> = { and: AluOp.AND, rsh: AluOp.RSH, lsh: AluOp.LSH, mov: AluOp.MOV };
const AX_OPS: Readonly<Record<'addAx' | 'subAx', number>> = { addAx: AluOp.ADD, subAx: AluOp.SUB };
const JMP_OPS: Readonly<Record<'jeq' | 'jge' | 'jne', number>> = { jeq: JmpOp.JEQ, jge: JmpOp.JGE, jne: JmpOp.JNE };

const ldx = (width: number, dst: number, src: number, off: number): RawInsn => ({
  code: Class.LDX | Mode.MEM | sizeCodeForWidth(width),
  dst,
  src,
  off,
  imm: 0,
});
const alu32Imm = (op: number, dst: number, imm: number): RawInsn => ({ code: Class.ALU | op | Source.K, dst, src: 0, off: 0, imm });
const alu64Imm = (op: number, dst: number, imm: number): RawInsn => ({ code: Class.ALU64 | op | Source.K, dst, src: 0, off: 0, imm });

/** Width in bytes of a conversion step: its own, or the access's. */
const widthOf = (size: CtxConvertSize, accessSize: number): number => (size === 'access' ? accessSize : size);

/** Linux bpf_ctx_off_adjust_machine: a field wider than a machine word is narrowed in words. */
const adjustToMachine = (size: number): number => (size > 8 && size % 8 === 0 ? 8 : size);

/** The width the read ends with, Linux's `target_size`. */
function targetSize(convert: CtxConvert, accessSize: number): number | undefined {
  if (convert.targetSize !== undefined) return convert.targetSize;
  for (let i = convert.read.length - 1; i >= 0; i--) {
    const step = convert.read[i];
    if (step?.op === 'load') return widthOf(step.size, accessSize);
  }
  return undefined;
}

function emitStep(step: CtxConvertInsn, value: number, ctx: number, accessSize: number, offsetInField: number): RawInsn {
  switch (step.op) {
    case 'load':
      return ldx(widthOf(step.size, accessSize), value, step.base === 'ctx' ? ctx : value, step.off + (step.size === 'access' ? offsetInField : 0));
    case 'jeq':
    case 'jge':
    case 'jne':
      return { code: Class.JMP | JMP_OPS[step.op] | Source.K, dst: value, src: 0, off: step.skip, imm: step.imm };
    case 'loadAx':
      return ldx(step.size, BPF_REG_AX, ctx, step.off);
    case 'addAx':
    case 'subAx':
      return { code: Class.ALU64 | AX_OPS[step.op] | Source.X, dst: value, src: BPF_REG_AX, off: 0, imm: 0 };
    default:
      return (step.alu64 === true ? alu64Imm : alu32Imm)(ALU_OPS[step.op], value, step.imm);
  }
}

/** A load from the context (Linux convert_ctx_accesses, BPF_READ, with its narrow-load shift and mask). */
function convertLoad(insn: RawInsn, form: OpcodeForm, fact: CtxAccessFact, convert: CtxConvert): RawInsn[] {
  const size = form.width;
  const field = fact.field;
  // Linux records ctx_field_size for fields whose narrow loads it widens; a read at the access's own width
  // (`__sk_buff.cb[]`) handles every width itself.
  const ownWidth = convert.read.some((step) => step.op === 'load' && step.size === 'access');
  const ctxFieldSize = field.narrowLoads === true && !ownWidth ? field.size : 0;
  const narrower = size < ctxFieldSize;
  const sizeDefault = adjustToMachine(ctxFieldSize);
  let accessSize = size;
  let offsetInField = fact.offsetInField;
  if (narrower) {
    accessSize = ctxFieldSize;
    offsetInField = (insn.off & ~(sizeDefault - 1)) - field.off;
  }
  const out = convert.read.map((step) => emitStep(step, insn.dst, insn.src, accessSize, offsetInField));
  const target = targetSize(convert, accessSize);
  if (out.length === 0 || (ctxFieldSize !== 0 && target === undefined)) {
    throw new CtxRewriteError(`verifier bug: error during ctx access conversion of '${field.name}' (insn ${fact.insn})`);
  }
  if (narrower && target !== undefined && size < target) {
    // bpf_ctx_narrow_access_offset on a little-endian machine.
    const shift = (insn.off & (sizeDefault - 1)) * 8;
    const mask = size === 4 ? -1 : (1 << (size * 8)) - 1;
    if (shift !== 0) out.push((ctxFieldSize <= 4 ? alu32Imm : alu64Imm)(AluOp.RSH, insn.dst, shift));
    out.push(alu32Imm(AluOp.AND, insn.dst, mask));
  }
  if (form.kind === 'ldxsx') out.push({ code: Class.ALU64 | AluOp.MOV | Source.X, dst: insn.dst, src: insn.dst, off: size * 8, imm: 0 });
  return out;
}

/** A store into the context (Linux BPF_EMIT_STORE: the program's ST or STX, aimed at the kernel field). */
function convertStore(insn: RawInsn, form: OpcodeForm, fact: CtxAccessFact, convert: CtxConvert): RawInsn[] {
  const write = convert.write;
  if (write === undefined) throw new CtxRewriteError(`verifier bug: error during ctx access conversion of '${fact.field.name}' (insn ${fact.insn})`);
  const width = widthOf(write.size, form.width);
  const off = write.off + (write.size === 'access' ? fact.offsetInField : 0);
  const immediate = form.kind === 'st';
  const store: RawInsn = { code: (immediate ? Class.ST : Class.STX) | Mode.MEM | sizeCodeForWidth(width), dst: insn.dst, src: insn.src, off, imm: insn.imm };
  if (write.below === undefined) return [store];
  // Linux compares the immediate as a signed int, and the register unsigned at run time.
  if (immediate) return insn.imm >= write.below ? [JA_NOP] : [store];
  return [{ code: Class.JMP | JmpOp.JGE | Source.K, dst: insn.src, src: 0, off: 1, imm: write.below }, store];
}

function convertAccess(insn: RawInsn, fact: CtxAccessFact): RawInsn[] {
  const convert = fact.field.convert;
  if (convert === undefined) return [insn];
  if (fact.sharedWithOtherPointer === true) throw new CtxRewriteError(`same insn cannot be used with different pointers (insn ${fact.insn})`);
  const form = lookupForm(insn.code, insn.src, insn.off, insn.imm);
  const kind = form?.kind;
  if (form === null || (fact.write ? kind !== 'st' && kind !== 'stx' : kind !== 'ldx' && kind !== 'ldxsx')) {
    throw new CtxRewriteError(`verifier bug: insn ${fact.insn} is not the context ${fact.write ? 'store' : 'load'} the verifier recorded`);
  }
  return fact.write ? convertStore(insn, form, fact, convert) : convertLoad(insn, form, fact, convert);
}

/** Which field of `insn` holds a pc-relative target, if any (jumps, may_goto, bpf-to-bpf calls, LD imm64 of a function). */
function relativeField(insn: RawInsn): 'off' | 'imm' | null {
  const form = lookupForm(insn.code, insn.src, insn.off, insn.imm);
  switch (form?.kind) {
    case 'jmp':
    case 'jcond':
      return 'off';
    case 'ja':
      return form.cls === 'jmp32' ? 'imm' : 'off';
    case 'call':
      return insn.src === PseudoCall.LOCAL ? 'imm' : null;
    case 'ld_imm64':
      return insn.src === PseudoLd.FUNC ? 'imm' : null;
    default:
      return null;
  }
}

/**
 * `insn`, which stood at old slot `from` and now stands at `at`, with its pc-relative target (if any) moved
 * to where `slotMap` (old slot -> new slot) put the old target (Linux bpf_adj_branches).
 */
export function reaim(insn: RawInsn, from: number, at: number, slotMap: readonly number[]): RawInsn {
  const field = relativeField(insn);
  if (field === null) return insn;
  const target = slotMap[from + insn[field] + 1];
  if (target === undefined) throw new CtxRewriteError(`verifier bug: insn ${from} jumps outside the program`);
  return { ...insn, [field]: target - at - 1 };
}

/**
 * Rewrite `program` (raw bytecode or builder instructions), verified as `progType`, as the verifier's `facts`
 * (from the accepted `verify`) describe it. Accesses of fields without a `convert` stay as they are.
 */
export function convertCtxAccesses(program: Uint8Array | readonly RawInsn[], facts: VerifyResult['facts'], progType: ProgramTypeDesc): XlatedProgram {
  const slots = toSlots(program);
  const byInsn = new Map<number, CtxAccessFact>();
  for (const fact of facts.ctxAccesses) byInsn.set(fact.insn, fact);
  const insns: RawInsn[] = facts.seenDirectWrite ? [...(progType.directWritePrologue ?? [])] : [];
  const slotMap: number[] = new Array<number>(slots.length + 1);
  /** For each slot that starts an unrewritten instruction, its index in `insns`. */
  const entryOf = new Int32Array(slots.length).fill(-1);
  let slot = 0;
  for (const insn of insns) slot += insn.code === 0x18 ? 2 : 1;
  for (let i = 0; i < slots.length; i++) {
    const insn = slots[i] as RawInsn;
    slotMap[i] = slot;
    const fact = byInsn.get(i);
    const patch = fact === undefined ? [insn] : convertAccess(insn, fact);
    if (patch.length === 1 && patch[0] === insn) entryOf[i] = insns.length;
    for (const out of patch) {
      insns.push(out);
      slot += out.code === 0x18 ? 2 : 1;
    }
    if (insn.code === 0x18) {
      // The second slot of LD imm64 moves with the first.
      i++;
      slotMap[i] = slot - 1;
    }
  }
  slotMap[slots.length] = slot;
  for (let i = 0; i < slots.length; i++) {
    const at = entryOf[i] ?? -1;
    if (at >= 0) insns[at] = reaim(insns[at] as RawInsn, i, slotMap[i] as number, slotMap);
  }
  const remap = (list: readonly number[]): number[] => list.map((insn) => slotMap[insn] as number);
  return {
    insns,
    slotMap,
    divisionsWithoutZeroCheck: remap(facts.divisionsWithoutZeroCheck),
    memoryInBounds: remap(facts.memoryInBounds),
    probeLoads: remap(facts.probeLoads ?? []),
  };
}
