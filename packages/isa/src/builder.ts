/**
 * A typed builder for writing eBPF programs in TypeScript, in the spirit of cilium/ebpf's `asm` package:
 *
 * ```ts
 * const prog = program(
 *   Mov.imm(R0, 0),
 *   JEq.imm(R1, 0, 'out'),
 *   Ldx.w(R0, R1, 0),
 *   label('out'),
 *   Exit(),
 * );
 * ```
 *
 * Jumps and local calls take either a numeric pc-relative offset or a label name, resolved by {@link program}.
 * Every builder produces fields that pass the opcode table's validity check.
 */
import type { RawInsn } from './instruction.js';
import { splitImm64 } from './instruction.js';
import { slotCount } from './instruction.js';
import { AluOp, AtomicOp, Class, JmpOp, Mode, PseudoCall, PseudoLd, Size, Source } from './opcodes.js';

/** A register number, r0..r10. */
export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const R0: Reg = 0;
export const R1: Reg = 1;
export const R2: Reg = 2;
export const R3: Reg = 3;
export const R4: Reg = 4;
export const R5: Reg = 5;
export const R6: Reg = 6;
export const R7: Reg = 7;
export const R8: Reg = 8;
export const R9: Reg = 9;
/** The read-only frame pointer. */
export const R10: Reg = 10;
export const FP: Reg = 10;

/** A jump target: a pc-relative offset in slots, or a label defined with {@link label}. */
export type Target = number | string;

/** An instruction whose jump target may still be a label. */
export interface BuilderInsn extends RawInsn {
  /** Label the offset (or, for gotol and local calls, the immediate) must point at. */
  readonly target?: string;
  /** Which field holds the pc-relative target. */
  readonly targetField?: 'off' | 'imm';
}

/** A label marker; occupies no slot. */
export interface LabelMarker {
  readonly label: string;
}

export type ProgramItem = BuilderInsn | LabelMarker;

/** Define a label at the next instruction. */
export function label(name: string): LabelMarker {
  return { label: name };
}

function insn(code: number, dst: number, src: number, off: number, imm: number): BuilderInsn {
  return { code, dst, src, off, imm: imm | 0 };
}

function withTarget(base: BuilderInsn, target: Target, field: 'off' | 'imm'): BuilderInsn {
  if (typeof target === 'number') return field === 'off' ? { ...base, off: target } : { ...base, imm: target };
  return { ...base, target, targetField: field };
}

/** Builders for one ALU operation: 64-bit and 32-bit, immediate and register source. */
export interface AluBuilder {
  imm(dst: Reg, imm: number): BuilderInsn;
  reg(dst: Reg, src: Reg): BuilderInsn;
  imm32(dst: Reg, imm: number): BuilderInsn;
  reg32(dst: Reg, src: Reg): BuilderInsn;
}

function alu(op: number, off = 0): AluBuilder {
  return {
    imm: (dst, imm) => insn(Class.ALU64 | op | Source.K, dst, 0, off, imm),
    reg: (dst, src) => insn(Class.ALU64 | op | Source.X, dst, src, off, 0),
    imm32: (dst, imm) => insn(Class.ALU | op | Source.K, dst, 0, off, imm),
    reg32: (dst, src) => insn(Class.ALU | op | Source.X, dst, src, off, 0),
  };
}

export const Add = alu(AluOp.ADD);
export const Sub = alu(AluOp.SUB);
export const Mul = alu(AluOp.MUL);
export const Div = alu(AluOp.DIV);
export const SDiv = alu(AluOp.DIV, 1);
export const Or = alu(AluOp.OR);
export const And = alu(AluOp.AND);
export const Lsh = alu(AluOp.LSH);
export const Rsh = alu(AluOp.RSH);
export const Mod = alu(AluOp.MOD);
export const SMod = alu(AluOp.MOD, 1);
export const Xor = alu(AluOp.XOR);
export const Mov = alu(AluOp.MOV);
export const Arsh = alu(AluOp.ARSH);

/** Sign-extending moves: `dst = (s8|s16|s32) src`. */
export const MovSX = {
  reg: (dst: Reg, src: Reg, bits: 8 | 16 | 32) => insn(Class.ALU64 | AluOp.MOV | Source.X, dst, src, bits, 0),
  reg32: (dst: Reg, src: Reg, bits: 8 | 16) => insn(Class.ALU | AluOp.MOV | Source.X, dst, src, bits, 0),
};

export const Neg = {
  r64: (dst: Reg) => insn(Class.ALU64 | AluOp.NEG, dst, 0, 0, 0),
  r32: (dst: Reg) => insn(Class.ALU | AluOp.NEG, dst, 0, 0, 0),
};

export type SwapWidth = 16 | 32 | 64;
/** `dst = htobe/htole(dst)` (ALU class) and unconditional `bswap` (ALU64 class). */
export const Swap = {
  be: (dst: Reg, bits: SwapWidth) => insn(Class.ALU | AluOp.END | Source.X, dst, 0, 0, bits),
  le: (dst: Reg, bits: SwapWidth) => insn(Class.ALU | AluOp.END | Source.K, dst, 0, 0, bits),
  bswap: (dst: Reg, bits: SwapWidth) => insn(Class.ALU64 | AluOp.END | Source.K, dst, 0, 0, bits),
};

/** Builders for one conditional jump. */
export interface JmpBuilder {
  imm(dst: Reg, imm: number, target: Target): BuilderInsn;
  reg(dst: Reg, src: Reg, target: Target): BuilderInsn;
  imm32(dst: Reg, imm: number, target: Target): BuilderInsn;
  reg32(dst: Reg, src: Reg, target: Target): BuilderInsn;
}

function jmp(op: number): JmpBuilder {
  return {
    imm: (dst, imm, t) => withTarget(insn(Class.JMP | op | Source.K, dst, 0, 0, imm), t, 'off'),
    reg: (dst, src, t) => withTarget(insn(Class.JMP | op | Source.X, dst, src, 0, 0), t, 'off'),
    imm32: (dst, imm, t) => withTarget(insn(Class.JMP32 | op | Source.K, dst, 0, 0, imm), t, 'off'),
    reg32: (dst, src, t) => withTarget(insn(Class.JMP32 | op | Source.X, dst, src, 0, 0), t, 'off'),
  };
}

export const JEq = jmp(JmpOp.JEQ);
export const JGt = jmp(JmpOp.JGT);
export const JGe = jmp(JmpOp.JGE);
export const JSet = jmp(JmpOp.JSET);
export const JNe = jmp(JmpOp.JNE);
export const JSGt = jmp(JmpOp.JSGT);
export const JSGe = jmp(JmpOp.JSGE);
export const JLt = jmp(JmpOp.JLT);
export const JLe = jmp(JmpOp.JLE);
export const JSLt = jmp(JmpOp.JSLT);
export const JSLe = jmp(JmpOp.JSLE);

/** `goto target` (16-bit offset). */
export function Ja(target: Target): BuilderInsn {
  return withTarget(insn(Class.JMP | JmpOp.JA, 0, 0, 0, 0), target, 'off');
}

/** `gotol target` (JMP32 | JA, 32-bit offset in imm). */
export function Gotol(target: Target): BuilderInsn {
  return withTarget(insn(Class.JMP32 | JmpOp.JA, 0, 0, 0, 0), target, 'imm');
}

/** `may_goto target` (Linux 6.9+). */
export function MayGoto(target: Target): BuilderInsn {
  return withTarget(insn(Class.JMP | JmpOp.JCOND, 0, 0, 0, 0), target, 'off');
}

export const Call = {
  /** Call helper function number `id`. */
  helper: (id: number) => insn(Class.JMP | JmpOp.CALL, 0, PseudoCall.HELPER, 0, id),
  /** bpf-to-bpf call to a local function. */
  local: (target: Target) => withTarget(insn(Class.JMP | JmpOp.CALL, 0, PseudoCall.LOCAL, 0, 0), target, 'imm'),
  /** Call a kernel function by BTF id. */
  kfunc: (btfId: number, off = 0) => insn(Class.JMP | JmpOp.CALL, 0, PseudoCall.KFUNC, off, btfId),
  /** Call the helper whose number is in `reg` (callx). */
  reg: (reg: Reg) => insn(Class.JMP | JmpOp.CALL | Source.X, reg, 0, 0, 0),
};

export function Exit(): BuilderInsn {
  return insn(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0);
}

function ldImm64(dst: Reg, src: number, imm: number, imm2: number): BuilderInsn {
  return { code: Class.LD | Mode.IMM | Size.DW, dst, src, off: 0, imm: imm | 0, imm2: imm2 | 0 };
}

export const LdImm64 = {
  /** `dst = value ll`. */
  value: (dst: Reg, value: bigint | number) => {
    const { imm, imm2 } = splitImm64(BigInt(value));
    return ldImm64(dst, PseudoLd.NONE, imm, imm2);
  },
  mapFd: (dst: Reg, fd: number) => ldImm64(dst, PseudoLd.MAP_FD, fd, 0),
  mapValue: (dst: Reg, fd: number, offset: number) => ldImm64(dst, PseudoLd.MAP_VALUE, fd, offset),
  btfId: (dst: Reg, id: number) => ldImm64(dst, PseudoLd.BTF_ID, id, 0),
  func: (dst: Reg, target: Target) =>
    typeof target === 'number' ? ldImm64(dst, PseudoLd.FUNC, target, 0) : { ...ldImm64(dst, PseudoLd.FUNC, 0, 0), target, targetField: 'imm' as const },
  mapIdx: (dst: Reg, idx: number) => ldImm64(dst, PseudoLd.MAP_IDX, idx, 0),
  mapIdxValue: (dst: Reg, idx: number, offset: number) => ldImm64(dst, PseudoLd.MAP_IDX_VALUE, idx, offset),
};

type SizeName = 'b' | 'h' | 'w' | 'dw';
const SIZE_CODE: Readonly<Record<SizeName, number>> = { b: Size.B, h: Size.H, w: Size.W, dw: Size.DW };

function bySize<T>(make: (size: number) => T): Record<SizeName, T> {
  return { b: make(Size.B), h: make(Size.H), w: make(Size.W), dw: make(Size.DW) };
}

/** `dst = *(uN *)(src + off)`. */
export const Ldx = bySize((size) => (dst: Reg, src: Reg, off: number) => insn(Class.LDX | Mode.MEM | size, dst, src, off, 0));
/** `dst = *(sN *)(src + off)`, sign-extending. */
export const LdxSX = {
  b: (dst: Reg, src: Reg, off: number) => insn(Class.LDX | Mode.MEMSX | Size.B, dst, src, off, 0),
  h: (dst: Reg, src: Reg, off: number) => insn(Class.LDX | Mode.MEMSX | Size.H, dst, src, off, 0),
  w: (dst: Reg, src: Reg, off: number) => insn(Class.LDX | Mode.MEMSX | Size.W, dst, src, off, 0),
};
/** `*(uN *)(dst + off) = imm`. */
export const St = bySize((size) => (dst: Reg, off: number, imm: number) => insn(Class.ST | Mode.MEM | size, dst, 0, off, imm));
/** `*(uN *)(dst + off) = src`. */
export const Stx = bySize((size) => (dst: Reg, off: number, src: Reg) => insn(Class.STX | Mode.MEM | size, dst, src, off, 0));

/** Legacy packet loads: `r0 = ntohX(*(uN *)(skb->data + imm))` and the `+ src` indirect form. */
export const LdAbs = {
  b: (imm: number) => insn(Class.LD | Mode.ABS | Size.B, 0, 0, 0, imm),
  h: (imm: number) => insn(Class.LD | Mode.ABS | Size.H, 0, 0, 0, imm),
  w: (imm: number) => insn(Class.LD | Mode.ABS | Size.W, 0, 0, 0, imm),
};
export const LdInd = {
  b: (src: Reg, imm: number) => insn(Class.LD | Mode.IND | Size.B, 0, src, 0, imm),
  h: (src: Reg, imm: number) => insn(Class.LD | Mode.IND | Size.H, 0, src, 0, imm),
  w: (src: Reg, imm: number) => insn(Class.LD | Mode.IND | Size.W, 0, src, 0, imm),
};

export type AtomicSize = 'w' | 'dw';
function atomic(op: number) {
  return (size: AtomicSize, dst: Reg, off: number, src: Reg) => insn(Class.STX | Mode.ATOMIC | SIZE_CODE[size], dst, src, off, op);
}
/** Atomic read-modify-write on `*(uN *)(dst + off)` with `src`. */
export const Atomic = {
  add: atomic(AtomicOp.ADD),
  or: atomic(AtomicOp.OR),
  and: atomic(AtomicOp.AND),
  xor: atomic(AtomicOp.XOR),
  fetchAdd: atomic(AtomicOp.ADD | AtomicOp.FETCH),
  fetchOr: atomic(AtomicOp.OR | AtomicOp.FETCH),
  fetchAnd: atomic(AtomicOp.AND | AtomicOp.FETCH),
  fetchXor: atomic(AtomicOp.XOR | AtomicOp.FETCH),
  xchg: atomic(AtomicOp.XCHG),
  cmpxchg: atomic(AtomicOp.CMPXCHG),
};

function isLabel(item: ProgramItem): item is LabelMarker {
  return 'label' in item;
}

/**
 * Lay out a program: place labels, resolve label targets to pc-relative offsets, and return plain
 * instructions ready for {@link encodeProgram}. Throws on an unknown or duplicate label.
 */
export function program(...items: ReadonlyArray<ProgramItem | readonly ProgramItem[]>): RawInsn[] {
  const flat: ProgramItem[] = items.flat();
  const labels = new Map<string, number>();
  let slot = 0;
  for (const item of flat) {
    if (isLabel(item)) {
      if (labels.has(item.label)) throw new Error(`duplicate label '${item.label}'`);
      labels.set(item.label, slot);
    } else {
      slot += slotCount(item);
    }
  }
  const out: RawInsn[] = [];
  slot = 0;
  for (const item of flat) {
    if (isLabel(item)) continue;
    const { target, targetField, ...fields } = item;
    let resolved: RawInsn = fields;
    if (target !== undefined) {
      const at = labels.get(target);
      if (at === undefined) throw new Error(`unknown label '${target}' at instruction slot ${slot}`);
      const rel = at - (slot + 1);
      resolved = targetField === 'imm' ? { ...fields, imm: rel } : { ...fields, off: rel };
    }
    out.push(resolved);
    slot += slotCount(item);
  }
  return out;
}
