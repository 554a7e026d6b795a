/**
 * Printer for the bpf_conformance assembly syntax (the inverse of asm-conformance.ts), one printer per
 * instruction kind. Returns null for what that syntax cannot express: legacy packet loads, `may_goto`,
 * LD imm64 with a pseudo source and a kfunc call with a module-BTF offset. Jumps and local calls print raw
 * offsets (`call local +3`, `ja +1`).
 */
import { imm64Of, type RawInsn } from './instruction.js';
import { ALU_OP_NAMES, ATOMIC_OP_NAMES, AtomicOp, JMP_COND_NAMES, PseudoCall, type InsnKind, type OpcodeForm } from './opcodes.js';
import { endName } from './print-llvm.js';

type ConformancePrinter = (insn: RawInsn, form: OpcodeForm) => string | null;

const SIZE_SUFFIX: Readonly<Record<number, string>> = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' };
const suffix32 = (form: OpcodeForm): string => (form.is64 ? '' : '32');
const target = (n: number): string => (n < 0 ? String(n) : `+${n}`);
const memory = (reg: number, off: number): string => (off === 0 ? `[%r${reg}]` : `[%r${reg}${off < 0 ? '-' : '+'}${Math.abs(off)}]`);

function atomic(i: RawInsn, f: OpcodeForm): string {
  const fetch = (i.imm & AtomicOp.FETCH) !== 0 && i.imm !== AtomicOp.XCHG && i.imm !== AtomicOp.CMPXCHG;
  const name = ATOMIC_OP_NAMES[fetch ? i.imm & ~AtomicOp.FETCH : i.imm] ?? '?';
  return `lock ${fetch ? 'fetch ' : ''}${name}${f.width === 4 ? '32' : ''} ${memory(i.dst, i.off)}, %r${i.src}`;
}

export const CONFORMANCE_PRINTERS: Readonly<Record<InsnKind, ConformancePrinter>> = {
  alu: (i, f) => {
    const signed = f.discriminant?.field === 'off' && f.discriminant.value === 1 ? 's' : '';
    return `${signed}${ALU_OP_NAMES[f.op] ?? '?'}${suffix32(f)} %r${i.dst}, ${f.source === 'X' ? `%r${i.src}` : i.imm}`;
  },
  neg: (i, f) => `neg${suffix32(f)} %r${i.dst}`,
  movsx: (i, f) => `movsx${f.width * 8}${f.is64 ? 64 : 32} %r${i.dst}, %r${i.src}`,
  end: (i, f) => `${endName(f)}${f.width} %r${i.dst}`,
  ja: (i, f) => (f.cls === 'jmp32' ? `ja32 ${target(i.imm)}` : `ja ${target(i.off)}`),
  jcond: () => null,
  jmp: (i, f) => `${JMP_COND_NAMES[f.op] ?? '?'}${f.cls === 'jmp32' ? '32' : ''} %r${i.dst}, ${f.source === 'X' ? `%r${i.src}` : i.imm}, ${target(i.off)}`,
  call: (i) => {
    if (i.src === PseudoCall.LOCAL) return `call local ${target(i.imm)}`;
    if (i.src === PseudoCall.KFUNC) return i.off === 0 ? `call runtime ${i.imm}` : null;
    return `call ${i.imm}`;
  },
  callx: (i) => `call %r${i.dst}`,
  exit: () => 'exit',
  ld_imm64: (i) => (i.src === 0 ? `lddw %r${i.dst}, 0x${BigInt.asUintN(64, imm64Of(i)).toString(16)}` : null),
  ld_abs: () => null,
  ld_ind: () => null,
  ldx: (i, f) => `ldx${SIZE_SUFFIX[f.width] ?? '?'} %r${i.dst}, ${memory(i.src, i.off)}`,
  ldxsx: (i, f) => `ldxs${SIZE_SUFFIX[f.width] ?? '?'} %r${i.dst}, ${memory(i.src, i.off)}`,
  st: (i, f) => `st${SIZE_SUFFIX[f.width] ?? '?'} ${memory(i.dst, i.off)}, ${i.imm}`,
  stx: (i, f) => `stx${SIZE_SUFFIX[f.width] ?? '?'} ${memory(i.dst, i.off)}, %r${i.src}`,
  atomic,
};

/** One instruction in bpf_conformance syntax, or null when the syntax cannot express it. */
export function formatConformance(insn: RawInsn, form: OpcodeForm): string | null {
  return CONFORMANCE_PRINTERS[form.kind](insn, form);
}
