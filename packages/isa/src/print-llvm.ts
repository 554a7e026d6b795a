/**
 * The LLVM disassembly syntax, exactly as `llvm-objdump-19 -d` prints each instruction (BPFInstPrinter).
 *
 * One printer per instruction kind, chosen from the opcode table; the test in print-llvm.test.ts proves every
 * form has one. LLVM's text depends on the CPU the decoder runs for:
 * - `generic` (llvm-objdump's default, also --mcpu=v1/v2): sub-word loads and stores name `r` registers and the
 *   decoder knows only `lock ... +=` of the 32-bit atomics, which it also uses for fetch-add; the other 32-bit
 *   atomics are `<unknown>` (the printer returns null).
 * - `alu32` (--mcpu=v3/v4 or --mattr=+alu32): sub-word loads and stores name `w` registers and every 32-bit
 *   atomic has its own text.
 * Jump targets are printed as objdump's raw offset (`goto +0x1`); the `<sym+0x..>` annotation is the
 * objdump layout's job (objdump.ts) because it needs the symbol table.
 */
import type { RawInsn } from './instruction.js';
import { imm64Of } from './instruction.js';
import { AtomicOp, type InsnKind, type OpcodeForm } from './opcodes.js';
import { ALU_OPERATORS, ATOMIC_FETCH_NAMES, ATOMIC_OPERATORS, JMP_OPERATORS } from './operators.js';
import { offsetHex, signedHex, u32Hex } from './numbers.js';

export type LlvmDialect = 'generic' | 'alu32';

type LlvmPrinter = (insn: RawInsn, form: OpcodeForm, dialect: LlvmDialect) => string | null;

/** `(r1 + 0x0)` / `(r10 - 0x8)`. */
function memOperand(base: number, off: number): string {
  return off < 0 ? `(r${base} - 0x${(-off).toString(16)})` : `(r${base} + 0x${off.toString(16)})`;
}

const reg = (is64: boolean, n: number): string => `${is64 ? 'r' : 'w'}${n}`;
const sized = (form: OpcodeForm, signed = false): string => `${signed ? 's' : 'u'}${form.width * 8}`;

/** True when LLVM prints this form's register operands of a sub-word load/store as `w` registers. */
const subRegister = (form: OpcodeForm, dialect: LlvmDialect): boolean => dialect === 'alu32' && form.width < 8;

function printAtomic(insn: RawInsn, form: OpcodeForm, dialect: LlvmDialect): string | null {
  const mem = memOperand(insn.dst, insn.off);
  const op = insn.imm;
  if (form.width === 4 && dialect === 'generic') {
    // LLVM's generic decoder has only XADDW, which ignores the fetch bit; everything else is undecodable.
    return op === AtomicOp.ADD || op === (AtomicOp.ADD | AtomicOp.FETCH) ? `lock *(u32 *)${mem} += r${insn.src}` : null;
  }
  const is64 = form.width === 8;
  const src = reg(is64, insn.src);
  const ptr = `(u${form.width * 8} *)`;
  const plain = ATOMIC_OPERATORS[op];
  if (plain !== undefined) return `lock *${ptr}${mem} ${plain} ${src}`;
  const fetch = ATOMIC_FETCH_NAMES[op];
  if (fetch !== undefined) return `${src} = atomic_fetch_${fetch}(${ptr}${mem}, ${src})`;
  const suffix = is64 ? '_64' : '32_32';
  const at = mem.slice(1, -1);
  if (op === AtomicOp.XCHG) return `${src} = xchg${suffix}(${at}, ${src})`;
  if (op === AtomicOp.CMPXCHG) return `${reg(is64, 0)} = cmpxchg${suffix}(${at}, ${reg(is64, 0)}, ${src})`;
  return null;
}

/** The per-kind printers. Every kind of the opcode table has exactly one entry (checked by the type). */
export const LLVM_PRINTERS: Readonly<Record<InsnKind, LlvmPrinter>> = {
  alu: (i, f) => {
    const signed = f.discriminant?.field === 'off' && f.discriminant.value === 1 ? 's' : '';
    const rhs = f.source === 'X' ? reg(f.is64, i.src) : signedHex(i.imm);
    return `${reg(f.is64, i.dst)} ${signed}${ALU_OPERATORS[f.op] ?? '?'} ${rhs}`;
  },
  neg: (i, f) => `${reg(f.is64, i.dst)} = -${reg(f.is64, i.dst)}`,
  movsx: (i, f) => `${reg(f.is64, i.dst)} = (s${f.width * 8})${reg(f.is64, i.src)}`,
  end: (i, f) => `r${i.dst} = ${endName(f)}${f.width} r${i.dst}`,
  ja: (i, f) => (f.cls === 'jmp32' ? `gotol ${offsetHex(i.imm)}` : `goto ${offsetHex(i.off)}`),
  jcond: (i) => `may_goto ${offsetHex(i.off)}`,
  jmp: (i, f) => {
    const rhs = f.source === 'X' ? reg(f.is64, i.src) : signedHex(i.imm);
    return `if ${reg(f.is64, i.dst)} ${JMP_OPERATORS[f.op] ?? '?'} ${rhs} goto ${offsetHex(i.off)}`;
  },
  call: (i) => `call ${signedHex(i.imm)}`,
  callx: (i) => `callx r${i.dst}`,
  exit: () => 'exit',
  ld_imm64: (i) => (i.src === 0 ? `r${i.dst} = ${signedHex(imm64Of(i))} ll` : `ld_pseudo\tr${i.dst}, ${u32Hex(i.src)}, ${u32Hex(i.imm)}`),
  ld_abs: (i, f) => `r0 = *(${sized(f)} *)skb[${signedHex(i.imm)}]`,
  ld_ind: (i, f) => `r0 = *(${sized(f)} *)skb[r${i.src}]`,
  ldx: (i, f, d) => `${reg(!subRegister(f, d), i.dst)} = *(${sized(f)} *)${memOperand(i.src, i.off)}`,
  ldxsx: (i, f) => `r${i.dst} = *(${sized(f, true)} *)${memOperand(i.src, i.off)}`,
  st: (i, f) => `*(${sized(f)} *)${memOperand(i.dst, i.off)} = ${signedHex(i.imm)}`,
  stx: (i, f, d) => `*(${sized(f)} *)${memOperand(i.dst, i.off)} = ${reg(!subRegister(f, d), i.src)}`,
  atomic: printAtomic,
};

/** `be`, `le` or `bswap` for a byte-swap form. */
export function endName(form: OpcodeForm): 'be' | 'le' | 'bswap' {
  if (form.cls === 'alu64') return 'bswap';
  return form.source === 'X' ? 'be' : 'le';
}

/**
 * One instruction in LLVM syntax, or null when llvm-objdump in this dialect cannot decode it (it prints
 * `<unknown>`). The instruction must be valid for `form`.
 */
export function formatLlvm(insn: RawInsn, form: OpcodeForm, dialect: LlvmDialect = 'alu32'): string | null {
  return LLVM_PRINTERS[form.kind](insn, form, dialect);
}

/** The pc-relative target of a jump in slots (relative to the next slot), or null for a non-jump. */
export function jumpOffset(insn: RawInsn, form: OpcodeForm): number | null {
  switch (form.kind) {
    case 'ja':
      return form.cls === 'jmp32' ? insn.imm : insn.off;
    case 'jcond':
    case 'jmp':
      return insn.off;
    default:
      return null;
  }
}

/**
 * What assembling the LLVM text of an instruction gives back, or null when llvm-objdump prints `<unknown>`.
 * LLVM's syntax is lossless except for these fields, which its printer never shows:
 * - calls: the source (`call 0x1` is a helper, local function or kfunc alike) and a kfunc's BTF module offset;
 * - LD imm64 with a pseudo source: the second slot's immediate (`ld_pseudo r1, 0x2, 0x7`);
 * - `ld_ind`: the immediate added to the register (`r0 = *(u8 *)skb[r2]`);
 * - in the generic dialect, the fetch bit of a 32-bit atomic add (its only 32-bit atomic).
 */
export function llvmTextReading(insn: RawInsn, form: OpcodeForm, dialect: LlvmDialect = 'alu32'): RawInsn | null {
  switch (form.kind) {
    case 'call':
      return { ...insn, src: 0, off: 0 };
    case 'ld_imm64':
      return insn.src === 0 ? insn : { ...insn, imm2: 0 };
    case 'ld_ind':
      return { ...insn, imm: 0 };
    case 'atomic':
      if (dialect === 'generic' && form.width === 4) {
        return insn.imm === AtomicOp.ADD || insn.imm === (AtomicOp.ADD | AtomicOp.FETCH) ? { ...insn, imm: AtomicOp.ADD } : null;
      }
      return insn;
    default:
      return insn;
  }
}
