/**
 * The kernel's instruction syntax, as `bpftool prog dump xlated` prints it: Linux's print_bpf_insn()
 * (kernel/bpf/disasm.c) with bpftool's callbacks for LD imm64 operands (`map[id:5]`, `map[id:5][0]+8`,
 * `map[idx:0]+8`, `subprog[+3]`). Immediates are decimal except the constant of a conditional jump
 * (`if r1 != 0x8 goto pc+2`) and of LD imm64 (`r1 = 0x1122334455667788`), as in the kernel.
 *
 * One printer per instruction kind; print-xlated.test.ts proves every form of the opcode table has one.
 */
import { helperName } from './helper-names.js';
import type { RawInsn } from './instruction.js';
import { imm64Of } from './instruction.js';
import { AtomicOp, PseudoCall, PseudoLd, type InsnKind, type OpcodeForm } from './opcodes.js';
import { signedDecimal, u32Hex } from './numbers.js';
import { ALU_OPERATORS, ATOMIC_FETCH_NAMES, ATOMIC_OPERATORS, JMP_OPERATORS } from './operators.js';
import { endName } from './print-llvm.js';

type XlatedPrinter = (insn: RawInsn, form: OpcodeForm, names?: XlatedNames) => string;

/**
 * What the printer's caller knows better than the bytes: the verifier log names maps (`map[counts]`) where
 * bpftool prints ids. Each callback may return undefined to keep the default text.
 */
export interface XlatedNames {
  /** The operand of an LD imm64 with a map pseudo source (src 1, 2, 5 or 6). */
  readonly mapOperand?: (insn: RawInsn) => string | undefined;
  /**
   * The operand of an LD imm64 of a function (src 4): bpftool prints `subprog[+N]`, the kernel's own log (no
   * cb_imm) the 64-bit immediate.
   */
  readonly funcOperand?: (insn: RawInsn) => string | undefined;
  /**
   * The name of the kernel function a kfunc call (src 2) names: the verifier's log prints `call bpf_task_acquire#ID`
   * (its disasm_kfunc_name callback), print_bpf_insn without one `call kernel-function#ID`.
   */
  readonly kfuncName?: (insn: RawInsn) => string | undefined;
}

const reg = (form: OpcodeForm, n: number): string => `${form.is64 ? 'r' : 'w'}${n}`;
const size = (form: OpcodeForm, signed = false): string => `${signed ? 's' : 'u'}${form.width * 8}`;
const mem = (base: number, off: number): string => `(r${base} ${signedDecimal(off)})`;

function aluOperator(form: OpcodeForm): string {
  const signed = form.discriminant?.field === 'off' && form.discriminant.value === 1;
  return `${signed ? 's' : ''}${ALU_OPERATORS[form.op] ?? '?'}`;
}

function ldImm64Operand(insn: RawInsn, names?: XlatedNames): string {
  const named = insn.src !== PseudoLd.NONE && insn.src !== PseudoLd.FUNC && insn.src !== PseudoLd.BTF_ID ? names?.mapOperand?.(insn) : undefined;
  if (named !== undefined) return named;
  const func = insn.src === PseudoLd.FUNC ? names?.funcOperand?.(insn) : undefined;
  if (func !== undefined) return func;
  switch (insn.src) {
    case PseudoLd.MAP_FD:
      return `map[id:${insn.imm}]`;
    case PseudoLd.MAP_VALUE:
      return `map[id:${insn.imm}][0]+${insn.imm2 ?? 0}`;
    case PseudoLd.MAP_IDX_VALUE:
      return `map[idx:${insn.imm}]+${insn.imm2 ?? 0}`;
    case PseudoLd.FUNC:
      return `subprog[${signedDecimal(insn.imm)}]`;
    default:
      return `0x${BigInt.asUintN(64, imm64Of(insn)).toString(16)}`;
  }
}

function callTarget(insn: RawInsn, names?: XlatedNames): string {
  if (insn.src === PseudoCall.LOCAL) return `pc${signedDecimal(insn.imm)}`;
  if (insn.src === PseudoCall.KFUNC) return `${names?.kfuncName?.(insn) ?? 'kernel-function'}#${insn.imm}`;
  return `${helperName(insn.imm) ?? 'unknown'}#${insn.imm}`;
}

function printAtomic(i: RawInsn, f: OpcodeForm): string {
  const ptr = `(${size(f)} *)${mem(i.dst, i.off)}`;
  const bits = f.width === 8 ? '64' : '';
  const plain = ATOMIC_OPERATORS[i.imm];
  if (plain !== undefined) return `lock *${ptr} ${plain} r${i.src}`;
  const fetch = ATOMIC_FETCH_NAMES[i.imm];
  if (fetch !== undefined) return `r${i.src} = atomic${bits}_fetch_${fetch}(${ptr}, r${i.src})`;
  if (i.imm === AtomicOp.CMPXCHG) return `r0 = atomic${bits}_cmpxchg(${ptr}, r0, r${i.src})`;
  return `r${i.src} = atomic${bits}_xchg(${ptr}, r${i.src})`;
}

/** The per-kind printers (the text after `(code) `). */
export const XLATED_PRINTERS: Readonly<Record<InsnKind, XlatedPrinter>> = {
  alu: (i, f) => `${reg(f, i.dst)} ${aluOperator(f)} ${f.source === 'X' ? reg(f, i.src) : String(i.imm)}`,
  neg: (i, f) => `${reg(f, i.dst)} = -${reg(f, i.dst)}`,
  movsx: (i, f) => `${reg(f, i.dst)} = (s${f.width * 8})${reg(f, i.src)}`,
  end: (i, f) => `r${i.dst} = ${endName(f)}${f.width} r${i.dst}`,
  ja: (i, f) => (f.cls === 'jmp32' ? `gotol pc${signedDecimal(i.imm)}` : `goto pc${signedDecimal(i.off)}`),
  jcond: (i) => `may_goto pc${signedDecimal(i.off)}`,
  jmp: (i, f) => `if ${reg(f, i.dst)} ${JMP_OPERATORS[f.op] ?? '?'} ${f.source === 'X' ? reg(f, i.src) : u32Hex(i.imm)} goto pc${signedDecimal(i.off)}`,
  call: (i, _f, names) => `call ${callTarget(i, names)}`,
  // callx has src 0, so the kernel prints it like a helper call with the (zero) immediate.
  callx: (i) => `call ${callTarget(i)}`,
  exit: () => 'exit',
  ld_imm64: (i, _f, names) => `r${i.dst} = ${ldImm64Operand(i, names)}`,
  ld_abs: (i, f) => `r0 = *(${size(f)} *)skb[${i.imm}]`,
  ld_ind: (i, f) => `r0 = *(${size(f)} *)skb[r${i.src} + ${i.imm}]`,
  ldx: (i, f) => `r${i.dst} = *(${size(f)} *)${mem(i.src, i.off)}`,
  ldxsx: (i, f) => `r${i.dst} = *(${size(f, true)} *)${mem(i.src, i.off)}`,
  st: (i, f) => `*(${size(f)} *)${mem(i.dst, i.off)} = ${i.imm}`,
  stx: (i, f) => `*(${size(f)} *)${mem(i.dst, i.off)} = r${i.src}`,
  atomic: printAtomic,
};

/** One instruction as print_bpf_insn() prints it, with the `(code) ` prefix and without the index. */
export function formatXlated(insn: RawInsn, form: OpcodeForm, names?: XlatedNames): string {
  return `(${insn.code.toString(16).padStart(2, '0')}) ${XLATED_PRINTERS[form.kind](insn, form, names)}`;
}

/** A whole program as `bpftool prog dump xlated` lists it: `%4d: ` slot index, then the instruction. */
export function formatXlatedProgram(insns: ReadonlyArray<RawInsn & { readonly form: OpcodeForm; readonly slot: number }>): string {
  let out = '';
  for (const insn of insns) out += `${String(insn.slot).padStart(4)}: ${formatXlated(insn, insn.form)}\n`;
  return out;
}
