/**
 * Assembler for LLVM's BPF syntax, the text `llvm-objdump -d` prints and `llvm-mc -triple bpfel` reads:
 * `r1 += 0x7`, `w1 = (s16)w2`, `if r1 s> -0x5 goto +0x64`, `r2 = *(u64 *)(r1 - 0x8)`,
 * `lock *(u32 *)(r1 + 0x0) += w2`, `r0 = 0x1122334455667788 ll`, `call 0x1`, `exit`, ...
 *
 * Labels (`name:`) may be jump targets (`goto name`, `if r1 == 0 goto name`, `gotol name`, `call name` for a
 * bpf-to-bpf call). A whole objdump listing is accepted as well: its file and section header lines are
 * skipped, `0000000000000000 <prog>:` defines the label `prog`, the index and raw-bytes columns are ignored
 * and the `<prog+0x80>` annotation after a jump is dropped (the raw offset is what counts).
 *
 * Errors are {@link AsmError}s with the 1-based line and column of the offending token.
 */
import { AsmError } from './errors.js';
import type { RawInsn } from './instruction.js';
import { splitImm64 } from './instruction.js';
import { AluOp, AtomicOp, Class, JmpOp, MAX_REG, Mode, PseudoCall, Size, Source, sizeCodeForWidth } from './opcodes.js';
import { ALU_OPERATORS, ATOMIC_FETCH_NAMES, ATOMIC_OPERATORS, JMP_OPERATORS } from './operators.js';

type TokenKind = 'reg' | 'num' | 'ident' | 'op';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** 1-based column. */
  readonly column: number;
  /** reg: register number; num: value. */
  readonly value: bigint;
  /** reg: `r` or `w`. */
  readonly width?: 'r' | 'w';
}

const OPERATORS = [
  's>>=',
  '<<=',
  '>>=',
  's<=',
  's>=',
  's/=',
  's%=',
  '==',
  '!=',
  '>=',
  '<=',
  '+=',
  '-=',
  '*=',
  '/=',
  '|=',
  '&=',
  '%=',
  '^=',
  's<',
  's>',
  '=',
  '<',
  '>',
  '&',
  '(',
  ')',
  '*',
  '[',
  ']',
  ',',
  '+',
  '-',
];

function tokenize(text: string, line: number, startColumn: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    const column = startColumn + i;
    const rest = text.slice(i);
    const reg = /^([rw])(\d+)(?![\w.$])/.exec(rest);
    if (reg) {
      tokens.push({ kind: 'reg', text: reg[0], column, value: BigInt(reg[2] ?? '0'), width: reg[1] === 'w' ? 'w' : 'r' });
      i += reg[0].length;
      continue;
    }
    const num = /^(0x[0-9a-fA-F]+|\d+)(?![\w.$])/.exec(rest);
    if (num) {
      tokens.push({ kind: 'num', text: num[0], column, value: BigInt(num[0]) });
      i += num[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op !== undefined) {
      tokens.push({ kind: 'op', text: op, column, value: 0n });
      i += op.length;
      continue;
    }
    const ident = /^[A-Za-z_.$][\w.$]*/.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], column, value: 0n });
      i += ident[0].length;
      continue;
    }
    throw new AsmError(`unexpected character '${ch}'`, line, column);
  }
  return tokens;
}

/** A jump or call target still to be resolved to a pc-relative offset. */
interface PendingTarget {
  readonly label: string;
  readonly field: 'off' | 'imm';
  readonly column: number;
}

interface ParsedInsn {
  readonly insn: RawInsn;
  readonly target?: PendingTarget;
}

const invert = (table: Readonly<Record<number, string>>): Map<string, number> => new Map(Object.entries(table).map(([k, v]) => [v, Number(k)]));
const JMP_BY_OPERATOR = invert(JMP_OPERATORS);
/** ALU operator → op and offset (1 selects sdiv/smod). */
const ALU_BY_OPERATOR = new Map<string, { op: number; off: number }>([
  ...[...invert(ALU_OPERATORS)].map(([text, op]): [string, { op: number; off: number }] => [text, { op, off: 0 }]),
  ['s/=', { op: AluOp.DIV, off: 1 }],
  ['s%=', { op: AluOp.MOD, off: 1 }],
]);
const ATOMIC_BY_OPERATOR = invert(ATOMIC_OPERATORS);
const ATOMIC_FETCH_BY_NAME = invert(ATOMIC_FETCH_NAMES);
const SIZE_NAMES: ReadonlyMap<string, { width: number; signed: boolean }> = new Map([
  ['u8', { width: 1, signed: false }],
  ['u16', { width: 2, signed: false }],
  ['u32', { width: 4, signed: false }],
  ['u64', { width: 8, signed: false }],
  ['s8', { width: 1, signed: true }],
  ['s16', { width: 2, signed: true }],
  ['s32', { width: 4, signed: true }],
]);

/** Token cursor over one instruction with error reporting at the current token. */
class Cursor {
  private at = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly line: number,
    private readonly endColumn: number,
  ) {}

  get done(): boolean {
    return this.at >= this.tokens.length;
  }
  peek(offset = 0): Token | undefined {
    return this.tokens[this.at + offset];
  }
  fail(reason: string, token: Token | undefined = this.peek()): never {
    throw new AsmError(reason, this.line, token?.column ?? this.endColumn);
  }
  next(what: string): Token {
    const t = this.peek();
    if (!t) this.fail(`expected ${what}, found end of line`);
    this.at++;
    return t;
  }
  isOp(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'op' && t.text === text;
  }
  isIdent(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'ident' && t.text === text;
  }
  expectOp(text: string): Token {
    const t = this.peek();
    if (t?.kind !== 'op' || t.text !== text) this.fail(`expected '${text}'${t ? `, found '${t.text}'` : ', found end of line'}`);
    this.at++;
    return t;
  }
  expectIdent(text: string): Token {
    const t = this.peek();
    if (t?.kind !== 'ident' || t.text !== text) this.fail(`expected '${text}'${t ? `, found '${t.text}'` : ', found end of line'}`);
    this.at++;
    return t;
  }
  /** A register; `width` restricts to r or w registers. */
  reg(width?: 'r' | 'w'): { n: number; width: 'r' | 'w'; token: Token } {
    const t = this.next('a register');
    if (t.kind !== 'reg') this.fail(`expected a register, found '${t.text}'`, t);
    if (t.value > BigInt(MAX_REG)) this.fail(`invalid register '${t.text}': registers are r0..r10`, t);
    if (width !== undefined && t.width !== width) this.fail(`expected a ${width} register, found '${t.text}'`, t);
    return { n: Number(t.value), width: t.width ?? 'r', token: t };
  }
  /** An optionally signed integer. */
  number(what: string): { value: bigint; token: Token } {
    const first = this.peek();
    let sign = 1n;
    if (this.isOp('-') || this.isOp('+')) {
      sign = this.next(what).text === '-' ? -1n : 1n;
    }
    const t = this.next(what);
    if (t.kind !== 'num') this.fail(`expected ${what}, found '${t.text}'`, t);
    return { value: sign * t.value, token: first ?? t };
  }
  /** A 32-bit immediate: signed, or an unsigned bit pattern up to 0xffffffff as LLVM accepts. */
  imm32(what = 'an immediate'): number {
    const { value, token } = this.number(what);
    if (value < -(2n ** 31n) || value > 2n ** 32n - 1n) this.fail(`immediate ${value} does not fit in 32 bits`, token);
    return Number(BigInt.asIntN(32, value));
  }
  /** A signed 16-bit offset. */
  off16(what = 'an offset'): number {
    const { value, token } = this.number(what);
    if (value < -(2n ** 15n) || value > 2n ** 15n - 1n) this.fail(`offset ${value} does not fit in 16 bits`, token);
    return Number(value);
  }
  end(): void {
    const t = this.peek();
    if (t) this.fail(`unexpected '${t.text}' after the instruction`, t);
  }
}

const slot = (code: number, dst: number, src: number, off: number, imm: number): RawInsn => ({ code, dst, src, off, imm });

/** `(rN + off)` / `(rN - off)` or, inside xchg/cmpxchg, `rN + off` without parentheses. */
function memRef(c: Cursor, parens: boolean): { base: number; off: number } {
  if (parens) c.expectOp('(');
  const base = c.reg('r').n;
  const sign = c.peek();
  if (!(c.isOp('+') || c.isOp('-'))) c.fail(`expected '+' or '-' and an offset`, sign);
  const negative = c.next('+ or -').text === '-';
  const t = c.peek();
  const { value } = c.number('an offset');
  const off = negative ? -value : value;
  if (off < -(2n ** 15n) || off > 2n ** 15n - 1n) c.fail(`offset ${off} does not fit in 16 bits`, t);
  if (parens) c.expectOp(')');
  return { base, off: Number(off) };
}

/** `*(u32 *)` or `(u32 *)`: the access size. */
function sizeCast(c: Cursor, deref: boolean): { width: number; signed: boolean; token: Token } {
  if (deref) c.expectOp('*');
  c.expectOp('(');
  const t = c.next('a size such as u32');
  const size = SIZE_NAMES.get(t.text);
  if (t.kind !== 'ident' || !size) c.fail(`expected a size (u8, u16, u32, u64, s8, s16, s32), found '${t.text}'`, t);
  c.expectOp('*');
  c.expectOp(')');
  return { ...size, token: t };
}

/** A jump target: `+0x1`, `-2`, or a label. */
function jumpTarget(c: Cursor, field: 'off' | 'imm'): { value: number; target?: PendingTarget } {
  const t = c.peek();
  if (t?.kind === 'ident') {
    c.next('a jump target');
    return { value: 0, target: { label: t.text, field, column: t.column } };
  }
  if (!t || !(c.isOp('+') || c.isOp('-'))) c.fail(`expected a jump offset (+N or -N) or a label`, t);
  return { value: field === 'off' ? c.off16('a jump offset') : c.imm32('a jump offset') };
}

function parseMemoryStore(c: Cursor): ParsedInsn {
  const { width, signed, token } = sizeCast(c, true);
  if (signed) c.fail('stores take an unsigned size (u8, u16, u32, u64)', token);
  const { base, off } = memRef(c, true);
  c.expectOp('=');
  const size = sizeCodeForWidth(width);
  if (c.peek()?.kind === 'reg') {
    const src = c.reg();
    if (src.width === 'w' && width === 8) c.fail('a 64-bit store takes an r register', src.token);
    return { insn: slot(Class.STX | Mode.MEM | size, base, src.n, off, 0) };
  }
  return { insn: slot(Class.ST | Mode.MEM | size, base, 0, off, c.imm32()) };
}

function parseLock(c: Cursor): ParsedInsn {
  c.expectIdent('lock');
  const { width, signed, token } = sizeCast(c, true);
  if (signed || width < 4) c.fail('atomics are u32 or u64', token);
  const { base, off } = memRef(c, true);
  const opToken = c.next('an atomic operator');
  const op = ATOMIC_BY_OPERATOR.get(opToken.text);
  if (opToken.kind !== 'op' || op === undefined) c.fail(`expected an atomic operator (+=, |=, &=, ^=), found '${opToken.text}'`, opToken);
  const src = c.reg();
  // The generic decoder's 32-bit form names an r register; the alu32 one a w register. Accept both.
  if (width === 8 && src.width === 'w') c.fail('a 64-bit atomic takes an r register', src.token);
  return { insn: slot(Class.STX | Mode.ATOMIC | sizeCodeForWidth(width), base, src.n, off, op) };
}

function parseIf(c: Cursor): ParsedInsn {
  c.expectIdent('if');
  const dst = c.reg();
  const opToken = c.next('a comparison');
  const op = JMP_BY_OPERATOR.get(opToken.text);
  if (opToken.kind !== 'op' || op === undefined) c.fail(`expected a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &), found '${opToken.text}'`, opToken);
  const cls = dst.width === 'w' ? Class.JMP32 : Class.JMP;
  let code: number;
  let src = 0;
  let imm = 0;
  if (c.peek()?.kind === 'reg') {
    const s = c.reg(dst.width);
    code = cls | op | Source.X;
    src = s.n;
  } else {
    code = cls | op | Source.K;
    imm = c.imm32();
  }
  c.expectIdent('goto');
  const t = jumpTarget(c, 'off');
  return { insn: slot(code, dst.n, src, t.value, imm), ...(t.target ? { target: t.target } : {}) };
}

/** Everything that starts with a register: `rD op= ...`, `rD = ...` loads, moves, swaps, atomics. */
function parseRegisterStatement(c: Cursor): ParsedInsn {
  const dst = c.reg();
  const is64 = dst.width === 'r';
  const opToken = c.next('an operator');
  if (opToken.kind !== 'op') c.fail(`expected an operator, found '${opToken.text}'`, opToken);
  if (opToken.text !== '=') {
    const alu = ALU_BY_OPERATOR.get(opToken.text);
    if (!alu) c.fail(`unknown operator '${opToken.text}'`, opToken);
    return { insn: aluOperand(c, is64, dst.n, alu.op, alu.off) };
  }
  const t = c.peek();
  // rD = -rD
  if (c.isOp('-') && c.peek(1)?.kind === 'reg') {
    c.next('-');
    const again = c.reg(dst.width);
    if (again.n !== dst.n) c.fail('negation is in place: write rN = -rN', again.token);
    return { insn: slot((is64 ? Class.ALU64 : Class.ALU) | AluOp.NEG, dst.n, 0, 0, 0) };
  }
  // rD = (sN)rS
  if (c.isOp('(') && c.peek(1)?.kind === 'ident' && c.isOp(')', 2)) {
    c.next('(');
    const castToken = c.next('a size');
    const cast = SIZE_NAMES.get(castToken.text);
    if (!cast?.signed || (cast.width === 4 && !is64)) c.fail(`expected (s8), (s16)${is64 ? ' or (s32)' : ''}, found '${castToken.text}'`, castToken);
    c.expectOp(')');
    const src = c.reg(dst.width);
    return { insn: slot((is64 ? Class.ALU64 : Class.ALU) | AluOp.MOV | Source.X, dst.n, src.n, cast.width * 8, 0) };
  }
  // rD = *(uN *)(rS + off), *(sN *)..., *(uN *)skb[...]
  if (c.isOp('*')) {
    const { width, signed, token } = sizeCast(c, true);
    if (c.isIdent('skb')) {
      c.next('skb');
      if (dst.n !== 0 || signed || width === 8) c.fail('packet loads are r0 = *(u8|u16|u32 *)skb[...]', token);
      c.expectOp('[');
      let insn: RawInsn;
      if (c.peek()?.kind === 'reg') insn = slot(Class.LD | Mode.IND | sizeCodeForWidth(width), 0, c.reg('r').n, 0, 0);
      else insn = slot(Class.LD | Mode.ABS | sizeCodeForWidth(width), 0, 0, 0, c.imm32());
      c.expectOp(']');
      return { insn };
    }
    const { base, off } = memRef(c, true);
    if (signed) {
      if (!is64) c.fail('sign-extending loads write an r register', dst.token);
      return { insn: slot(Class.LDX | Mode.MEMSX | sizeCodeForWidth(width), dst.n, base, off, 0) };
    }
    if (!is64 && width === 8) c.fail('a 64-bit load writes an r register', dst.token);
    return { insn: slot(Class.LDX | Mode.MEM | sizeCodeForWidth(width), dst.n, base, off, 0) };
  }
  if (t?.kind === 'ident') return parseNamedRhs(c, dst, t);
  // rD = imm ll | rD = imm | rD = rS
  return { insn: aluOperand(c, is64, dst.n, AluOp.MOV, 0) };
}

/** The right-hand side of `rD op= ...`: a register of the same width or an immediate. */
function aluOperand(c: Cursor, is64: boolean, dst: number, op: number, off: number): RawInsn {
  const cls = is64 ? Class.ALU64 : Class.ALU;
  if (c.peek()?.kind === 'reg') {
    const src = c.reg(is64 ? 'r' : 'w');
    return slot(cls | op | Source.X, dst, src.n, off, 0);
  }
  const start = c.peek();
  const { value, token } = c.number('a register or an immediate');
  if (c.isIdent('ll')) {
    c.next('ll');
    if (op !== AluOp.MOV || !is64 || off !== 0) c.fail("'ll' (a 64-bit constant) only follows rN =", start);
    if (value < -(2n ** 63n) || value > 2n ** 64n - 1n) c.fail(`constant ${value} does not fit in 64 bits`, token);
    const { imm, imm2 } = splitImm64(value);
    return { code: Class.LD | Mode.IMM | Size.DW, dst, src: 0, off: 0, imm, imm2 };
  }
  if (value < -(2n ** 31n) || value > 2n ** 32n - 1n)
    c.fail(`immediate ${value} does not fit in 32 bits${op === AluOp.MOV && is64 ? " (add 'll' for a 64-bit constant)" : ''}`, token);
  return slot(cls | op | Source.K, dst, 0, off, Number(BigInt.asIntN(32, value)));
}

/** `rD = be16 rD`, `rD = atomic_fetch_add(...)`, `rD = xchg_64(...)`, `rD = cmpxchg_64(...)`. */
function parseNamedRhs(c: Cursor, dst: { n: number; width: 'r' | 'w'; token: Token }, t: Token): ParsedInsn {
  const swap = /^(be|le|bswap)(16|32|64)$/.exec(t.text);
  if (swap) {
    c.next('a byte swap');
    const again = c.reg('r');
    if (again.n !== dst.n || dst.width !== 'r') c.fail('byte swaps are in place: write rN = be16 rN', again.token);
    const bits = Number(swap[2]);
    const code = swap[1] === 'bswap' ? Class.ALU64 | AluOp.END | Source.K : Class.ALU | AluOp.END | (swap[1] === 'be' ? Source.X : Source.K);
    return { insn: slot(code, dst.n, 0, 0, bits) };
  }
  const fetch = /^atomic_fetch_(add|or|and|xor)$/.exec(t.text);
  if (fetch) {
    c.next('an atomic');
    c.expectOp('(');
    const { width, signed, token } = sizeCast(c, false);
    if (signed || width < 4) c.fail('atomics are u32 or u64', token);
    const { base, off } = memRef(c, true);
    c.expectOp(',');
    const src = c.reg(dst.width);
    c.expectOp(')');
    if (src.n !== dst.n) c.fail('atomic_fetch_* returns the old value in its source register: write rS = atomic_fetch_op(..., rS)', src.token);
    if ((width === 8) !== (dst.width === 'r')) c.fail(`a u${width * 8} atomic uses ${width === 8 ? 'r' : 'w'} registers`, dst.token);
    const op = ATOMIC_FETCH_BY_NAME.get(fetch[1] ?? '') ?? 0;
    return { insn: slot(Class.STX | Mode.ATOMIC | sizeCodeForWidth(width), base, src.n, off, op) };
  }
  const xchg = /^(cmpxchg|xchg)(_64|32_32)$/.exec(t.text);
  if (xchg) {
    c.next('an atomic');
    const width = xchg[2] === '_64' ? 8 : 4;
    if ((width === 8) !== (dst.width === 'r')) c.fail(`${t.text} uses ${width === 8 ? 'r' : 'w'} registers`, dst.token);
    c.expectOp('(');
    const { base, off } = memRef(c, false);
    c.expectOp(',');
    let op: number = AtomicOp.XCHG;
    if (xchg[1] === 'cmpxchg') {
      const r0 = c.reg(dst.width);
      if (r0.n !== 0 || dst.n !== 0) c.fail('cmpxchg compares with and returns in r0: write r0 = cmpxchg_64(rD + off, r0, rS)', r0.token);
      c.expectOp(',');
      op = AtomicOp.CMPXCHG;
    }
    const src = c.reg(dst.width);
    c.expectOp(')');
    if (op === AtomicOp.XCHG && src.n !== dst.n) c.fail('xchg returns the old value in its source register: write rS = xchg_64(..., rS)', src.token);
    return { insn: slot(Class.STX | Mode.ATOMIC | sizeCodeForWidth(width), base, src.n, off, op) };
  }
  return c.fail(`unknown operand '${t.text}'`, t);
}

function parseInstruction(c: Cursor): ParsedInsn {
  const first = c.peek();
  if (!first) return c.fail('expected an instruction');
  if (first.kind === 'reg') return parseRegisterStatement(c);
  if (first.kind === 'op' && first.text === '*') return parseMemoryStore(c);
  if (first.kind !== 'ident') return c.fail(`expected an instruction, found '${first.text}'`);
  switch (first.text) {
    case 'exit':
      c.next('exit');
      return { insn: slot(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0) };
    case 'goto':
    case 'may_goto': {
      c.next(first.text);
      const t = jumpTarget(c, 'off');
      const code = first.text === 'goto' ? Class.JMP | JmpOp.JA : Class.JMP | JmpOp.JCOND;
      return { insn: slot(code, 0, 0, t.value, 0), ...(t.target ? { target: t.target } : {}) };
    }
    case 'gotol': {
      c.next('gotol');
      const t = jumpTarget(c, 'imm');
      return { insn: slot(Class.JMP32 | JmpOp.JA, 0, 0, 0, t.value), ...(t.target ? { target: t.target } : {}) };
    }
    case 'if':
      return parseIf(c);
    case 'lock':
      return parseLock(c);
    case 'callx': {
      c.next('callx');
      return { insn: slot(Class.JMP | JmpOp.CALL | Source.X, c.reg('r').n, 0, 0, 0) };
    }
    case 'call': {
      c.next('call');
      const t = c.peek();
      if (t?.kind === 'ident') {
        c.next('a function');
        return { insn: slot(Class.JMP | JmpOp.CALL, 0, PseudoCall.LOCAL, 0, 0), target: { label: t.text, field: 'imm', column: t.column } };
      }
      // LLVM prints helper, local and kfunc calls alike as `call IMM`; a number is read as a helper id.
      return { insn: slot(Class.JMP | JmpOp.CALL, 0, PseudoCall.HELPER, 0, c.imm32('a helper id')) };
    }
    case 'ld_pseudo': {
      c.next('ld_pseudo');
      const dst = c.reg('r');
      c.expectOp(',');
      const srcToken = c.peek();
      const src = c.imm32('a pseudo source');
      if (src < 1 || src > 6) c.fail('ld_pseudo source must be a BPF_PSEUDO_* value 1..6', srcToken);
      c.expectOp(',');
      const imm = c.imm32();
      return { insn: { code: Class.LD | Mode.IMM | Size.DW, dst: dst.n, src, off: 0, imm, imm2: 0 } };
    }
    default:
      return c.fail(`unknown instruction '${first.text}'`);
  }
}

/** One section of assembled code. */
export interface AssembledSection {
  /** Section name from an objdump listing's `Disassembly of section NAME:`; '' for plain source. */
  readonly name: string;
  readonly insns: RawInsn[];
  /** Label name → slot. */
  readonly labels: ReadonlyMap<string, number>;
}

const DIRECTIVE = /^\.(text|globl|global|type|section|p2align|align|size|file|addrsig|addrsig_sym|local|weak)\b/;
const OBJDUMP_FILE_LINE = /^\S.*:\s+file format /;
const OBJDUMP_SECTION_LINE = /^Disassembly of section (.+):$/;
const OBJDUMP_SYMBOL_LINE = /^[0-9a-f]{16} <(.+)>:$/;
const OBJDUMP_INSN_PREFIX = /^(\s*\d+:\s+(?:[0-9a-f]{2} )*[0-9a-f]{2}\s+)/;
const JUMP_ANNOTATION = /\s+<[^\s<>]+>\s*$/;
const LABEL = /^([A-Za-z_.$][\w.$]*):/;

interface SectionBuilder {
  name: string;
  items: Array<{ parsed: ParsedInsn; slot: number; line: number }>;
  labels: Map<string, number>;
  labelLines: Map<string, number>;
  slot: number;
}

function finishSection(b: SectionBuilder): AssembledSection {
  const insns = b.items.map(({ parsed, slot: at, line }) => {
    const target = parsed.target;
    if (!target) return parsed.insn;
    const dest = b.labels.get(target.label);
    if (dest === undefined) throw new AsmError(`unknown label '${target.label}'`, line, target.column);
    const rel = dest - (at + 1);
    if (target.field === 'off' && (rel < -32768 || rel > 32767))
      throw new AsmError(`label '${target.label}' is ${rel} slots away: too far for a 16-bit jump offset (use gotol)`, line, target.column);
    return target.field === 'off' ? { ...parsed.insn, off: rel } : { ...parsed.insn, imm: rel };
  });
  return { name: b.name, insns, labels: b.labels };
}

/**
 * Assemble LLVM-syntax text (plain source or a whole `llvm-objdump -d` listing) into sections of
 * instructions. Plain source yields one section named ''.
 */
export function assembleLlvmSections(text: string): AssembledSection[] {
  const sections: AssembledSection[] = [];
  let current: SectionBuilder = { name: '', items: [], labels: new Map(), labelLines: new Map(), slot: 0 };
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    let body = (lines[index] ?? '').replace(/\r$/, '');
    // Comments: '#' and '//' to the end of the line (objdump never prints either).
    body = body.replace(/(#|\/\/).*$/, '');
    let column = 1;
    const skipSpace = () => {
      const lead = /^\s*/.exec(body)?.[0].length ?? 0;
      body = body.slice(lead);
      column += lead;
    };
    skipSpace();
    if (body === '' || OBJDUMP_FILE_LINE.test(body) || DIRECTIVE.test(body)) continue;
    const sectionLine = OBJDUMP_SECTION_LINE.exec(body);
    if (sectionLine) {
      if (current.items.length > 0 || current.name !== '') sections.push(finishSection(current));
      current = { name: sectionLine[1] ?? '', items: [], labels: new Map(), labelLines: new Map(), slot: 0 };
      continue;
    }
    const symbolLine = OBJDUMP_SYMBOL_LINE.exec(body);
    const prefix = OBJDUMP_INSN_PREFIX.exec(body);
    let labelName: string | undefined;
    if (symbolLine) {
      labelName = symbolLine[1];
      body = '';
    } else if (prefix) {
      body = body.slice(prefix[0].length);
      column += prefix[0].length;
    } else {
      const label = LABEL.exec(body);
      if (label) {
        labelName = label[1];
        body = body.slice(label[0].length);
        column += label[0].length;
        skipSpace();
      }
    }
    if (labelName !== undefined) {
      const previous = current.labelLines.get(labelName);
      if (previous !== undefined) {
        throw new AsmError(`duplicate label '${labelName}' (first defined at line ${previous})`, lineNo, 1);
      }
      current.labels.set(labelName, current.slot);
      current.labelLines.set(labelName, lineNo);
    }
    if (body.trim() === '') continue;
    if (body.trim() === '<unknown>') throw new AsmError('llvm-objdump could not decode this instruction; it has no text to assemble', lineNo, column);
    if (/\b(goto|gotol|may_goto)\b/.test(body)) body = body.replace(JUMP_ANNOTATION, '');
    const tokens = tokenize(body.replace(/\s+$/, ''), lineNo, column);
    const cursor = new Cursor(tokens, lineNo, column + body.length);
    const parsed = parseInstruction(cursor);
    cursor.end();
    current.items.push({ parsed, slot: current.slot, line: lineNo });
    current.slot += parsed.insn.code === (Class.LD | Mode.IMM | Size.DW) ? 2 : 1;
  }
  if (current.items.length > 0 || current.name !== '' || sections.length === 0) sections.push(finishSection(current));
  return sections;
}

/** Assemble LLVM-syntax text holding one program (one section) into instructions. */
export function assembleLlvm(text: string): RawInsn[] {
  const sections = assembleLlvmSections(text);
  if (sections.length !== 1) {
    throw new AsmError(`the text holds ${sections.length} sections (${sections.map((s) => s.name).join(', ')}); assemble them one at a time`, 1, 1);
  }
  return sections[0]?.insns ?? [];
}
