/**
 * Assembler for the bpf_conformance `.data` syntax (`mov %r0, 1`, `jeq %r1, 0, +2`, `lddw %r0, 0x...`,
 * `ldxb %r0, [%r1+2]`, `lock fetch add [%r10-8], %r1`, `call local func1`, ...), following
 * /work/shared/conformance/README.md section 2 to the letter: whitespace-split tokens with one trailing comma
 * removed, `LABEL:` lines (the rest of such a line is ignored), the implicit `exit` label at the first `exit`,
 * and upstream's error messages. Errors are {@link AsmError}s with line and column.
 */
import { AsmError } from './errors.js';
import type { RawInsn } from './instruction.js';
import { splitImm64 } from './instruction.js';
import { ALU_OP_NAMES, ATOMIC_OP_NAMES, AluOp, AtomicOp, Class, JMP_COND_NAMES, JmpOp, Mode, PseudoCall, Size, Source } from './opcodes.js';

interface Word {
  readonly text: string;
  readonly column: number;
}

interface Line {
  readonly number: number;
  readonly words: readonly Word[];
}

/** Split a line on whitespace, removing one trailing `,` from each operand (never from the mnemonic). */
function splitLine(text: string, number: number): Line {
  const words: Word[] = [];
  const re = /\S+/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const raw = m[0];
    words.push({ text: words.length > 0 && raw.endsWith(',') ? raw.slice(0, -1) : raw, column: m.index + 1 });
  }
  return { number, words };
}

const fail = (reason: string, line: Line, word?: Word): never => {
  throw new AsmError(reason, line.number, word?.column ?? 1);
};

/** `%r0`..`%r15` (upstream accepts r11-r15 so negative tests can encode them). */
function register(word: Word, line: Line): number {
  const m = /^%r(\d+)$/.exec(word.text);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 15)) fail(`Invalid register: ${word.text}`, line, word);
  return n;
}

/** C's strtoull/stoll prefix parse: optional sign, then digits of the base; null when no digit. */
function parsePrefix(text: string, hex: boolean): bigint | null {
  const m = hex ? /^\s*([+-]?)(?:0[xX])?([0-9a-fA-F]+)/.exec(text) : /^\s*([+-]?)(\d+)/.exec(text);
  if (!m) return null;
  const magnitude = BigInt(hex ? `0x${m[2] ?? '0'}` : (m[2] ?? '0'));
  return m[1] === '-' ? -magnitude : magnitude;
}

/** A 32-bit immediate: `0x` anywhere means unsigned hex up to 0xffffffff, anything else is signed decimal. */
function imm32(word: Word, line: Line): number {
  const hex = word.text.includes('0x');
  const value = parsePrefix(word.text, hex);
  if (value === null) return fail(`Immediate out of 32-bit range: ${word.text}`, line, word);
  // Negative hex goes through stoull, which wraps it far above 0xffffffff.
  if (hex ? value < 0n || value > 0xffffffffn : value < -(2n ** 31n) || value > 2n ** 31n - 1n) {
    fail(`Immediate out of 32-bit range: ${word.text}`, line, word);
  }
  return Number(BigInt.asIntN(32, value));
}

/** lddw's 64-bit immediate: hex up to 64 bits, signed or unsigned decimal. */
function imm64(word: Word, line: Line): bigint {
  const hex = word.text.includes('0x');
  const value = parsePrefix(word.text, hex);
  if (value === null || value < -(2n ** 63n) || value > 2n ** 64n - 1n || (hex && value < 0n)) {
    return fail(`Immediate out of 64-bit range: ${word.text}`, line, word);
  }
  return value;
}

/** A signed 16-bit offset in decimal or 0x hex (with its sign). */
function offset16(text: string, word: Word, line: Line): number {
  const value = parsePrefix(text, text.includes('0x'));
  if (value === null || value < -32768n || value > 32767n) fail(`Offset out of 16-bit range: ${word.text}`, line, word);
  return Number(value);
}

/** `[%rN]`, `[%rN+off]` or `[%rN-off]`. */
function memory(word: Word, line: Line): { reg: number; off: number } {
  const m = /^\[%r(\d+)(?:([+-])(0x[0-9a-fA-F]+|\d+))?\]$/.exec(word.text);
  if (!m) return fail(`Failed to decode register and offset: ${word.text}`, line, word);
  const reg = Number(m[1]);
  if (reg > 15) fail(`Invalid register: %r${m[1] ?? ''}`, line, word);
  return { reg, off: m[3] === undefined ? 0 : offset16(`${m[2] ?? '+'}${m[3]}`, word, line) };
}

/** A jump target is a raw `+N`/`-N` offset or a label, resolved after all labels are known. */
interface Target {
  readonly word: Word;
  readonly field: 'off' | 'imm';
}

interface Item {
  readonly line: Line;
  readonly insn: RawInsn;
  readonly target?: Target;
}

const slot = (code: number, dst: number, src: number, off: number, imm: number): RawInsn => ({ code, dst, src, off, imm });

const invert = (table: Readonly<Record<number, string>>): Map<string, number> => new Map(Object.entries(table).map(([k, v]) => [v, Number(k)]));
const ALU_OPS = invert(ALU_OP_NAMES);
const JMP_OPS = invert(JMP_COND_NAMES);
const ATOMIC_OPS = invert(ATOMIC_OP_NAMES);
const SIZES: Readonly<Record<string, number>> = { b: Size.B, h: Size.H, w: Size.W, dw: Size.DW };
const SWAPS: Readonly<Record<string, number>> = {
  be: Class.ALU | AluOp.END | Source.X,
  le: Class.ALU | AluOp.END | Source.K,
  bswap: Class.ALU64 | AluOp.END | Source.K,
  swap: Class.ALU64 | AluOp.END | Source.K,
};
const MOVSX: Readonly<Record<string, { cls: number; bits: number }>> = {
  movsx864: { cls: Class.ALU64, bits: 8 },
  movsx1664: { cls: Class.ALU64, bits: 16 },
  movsx3264: { cls: Class.ALU64, bits: 32 },
  movsx832: { cls: Class.ALU, bits: 8 },
  movsx1632: { cls: Class.ALU, bits: 16 },
};

function operands(line: Line, count: number): readonly Word[] {
  const [mnemonic, ...rest] = line.words;
  if (rest.length !== count) fail(`Invalid number of operands for mnemonic: ${mnemonic?.text ?? ''}`, line, mnemonic);
  return rest;
}

function target(word: Word, field: 'off' | 'imm', line: Line): { value: number; target?: Target } {
  if (word.text.startsWith('+') || word.text.startsWith('-')) {
    return { value: field === 'off' ? offset16(word.text, word, line) : imm32(word, line) };
  }
  return { value: 0, target: { word, field } };
}

function withTarget(line: Line, insn: RawInsn, t: { value: number; target?: Target }): Item {
  return t.target ? { line, insn, target: t.target } : { line, insn };
}

/** Assemble one instruction line. */
function instruction(line: Line): Item {
  const [mnemonicWord] = line.words;
  const mnemonic = mnemonicWord?.text ?? '';
  const m32 = /^(.*?)(32)?$/.exec(mnemonic);
  const base = m32?.[1] ?? mnemonic;
  const is32 = m32?.[2] !== undefined;

  // ALU: add/add32 ... and the signed sdiv/smod.
  const signed = base === 'sdiv' || base === 'smod';
  const aluOp = ALU_OPS.get(signed ? base.slice(1) : base);
  if (aluOp !== undefined) {
    const [dstWord, srcWord] = operands(line, 2) as [Word, Word];
    const cls = is32 ? Class.ALU : Class.ALU64;
    const dst = register(dstWord, line);
    const off = signed ? 1 : 0;
    if (srcWord.text.startsWith('%')) return { line, insn: slot(cls | aluOp | Source.X, dst, register(srcWord, line), off, 0) };
    return { line, insn: slot(cls | aluOp | Source.K, dst, 0, off, imm32(srcWord, line)) };
  }
  if (base === 'neg') {
    const [dstWord] = operands(line, 1) as [Word];
    return { line, insn: slot((is32 ? Class.ALU : Class.ALU64) | AluOp.NEG, register(dstWord, line), 0, 0, 0) };
  }
  const movsx = MOVSX[mnemonic];
  if (movsx) {
    const [dstWord, srcWord] = operands(line, 2) as [Word, Word];
    return { line, insn: slot(movsx.cls | AluOp.MOV | Source.X, register(dstWord, line), register(srcWord, line), movsx.bits, 0) };
  }
  const swap = /^(be|le|bswap|swap)(16|32|64)$/.exec(mnemonic);
  if (swap) {
    const [dstWord] = operands(line, 1) as [Word];
    return { line, insn: slot(SWAPS[swap[1] ?? ''] ?? 0, register(dstWord, line), 0, 0, Number(swap[2])) };
  }
  const jmpOp = JMP_OPS.get(base);
  if (jmpOp !== undefined) {
    const [dstWord, srcWord, targetWord] = operands(line, 3) as [Word, Word, Word];
    const cls = is32 ? Class.JMP32 : Class.JMP;
    const dst = register(dstWord, line);
    const t = target(targetWord, 'off', line);
    const insn = srcWord.text.startsWith('%')
      ? slot(cls | jmpOp | Source.X, dst, register(srcWord, line), t.value, 0)
      : slot(cls | jmpOp | Source.K, dst, 0, t.value, imm32(srcWord, line));
    return withTarget(line, insn, t);
  }
  switch (mnemonic) {
    case 'ja': {
      const [targetWord] = operands(line, 1) as [Word];
      const t = target(targetWord, 'off', line);
      return withTarget(line, slot(Class.JMP | JmpOp.JA, 0, 0, t.value, 0), t);
    }
    case 'ja32': {
      const [targetWord] = operands(line, 1) as [Word];
      const t = target(targetWord, 'imm', line);
      return withTarget(line, slot(Class.JMP32 | JmpOp.JA, 0, 0, 0, t.value), t);
    }
    case 'exit':
      operands(line, 0);
      return { line, insn: slot(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0) };
    case 'call':
      return call(line);
    case 'lddw': {
      const [dstWord, immWord] = operands(line, 2) as [Word, Word];
      const { imm, imm2 } = splitImm64(imm64(immWord, line));
      return { line, insn: { code: Class.LD | Mode.IMM | Size.DW, dst: register(dstWord, line), src: 0, off: 0, imm, imm2 } };
    }
    case 'lock':
      return lock(line);
    default:
      return loadStore(line, mnemonic, mnemonicWord);
  }
}

function call(line: Line): Item {
  const [, first, second, ...extra] = line.words;
  if (!first || extra.length > 0) return fail('Invalid number of operands for mnemonic: call', line, line.words[0]);
  const callSlot = (src: number, imm: number) => slot(Class.JMP | JmpOp.CALL, 0, src, 0, imm);
  if (second === undefined) {
    if (first.text.startsWith('%')) return { line, insn: slot(Class.JMP | JmpOp.CALL | Source.X, register(first, line), 0, 0, 0) };
    return { line, insn: callSlot(PseudoCall.HELPER, imm32(first, line)) };
  }
  switch (first.text) {
    case 'local': {
      const t = target(second, 'imm', line);
      return withTarget(line, callSlot(PseudoCall.LOCAL, t.value), t);
    }
    case 'helper':
      if (second.text.startsWith('%')) return { line, insn: slot(Class.JMP | JmpOp.CALL | Source.X, register(second, line), 0, 0, 0) };
      return { line, insn: callSlot(PseudoCall.HELPER, imm32(second, line)) };
    case 'runtime':
      return { line, insn: callSlot(PseudoCall.KFUNC, imm32(second, line)) };
    default:
      return fail('Invalid call mode', line, first);
  }
}

function lock(line: Line): Item {
  const rest = line.words.slice(1);
  const fetch = rest[0]?.text === 'fetch';
  const args = fetch ? rest.slice(1) : rest;
  if (args.length !== 3) return fail('Invalid number of operands for lock', line, line.words[0]);
  const [opWord, memWord, srcWord] = args as [Word, Word, Word];
  const m = /^(.*?)(32)?$/.exec(opWord.text);
  const name = m?.[1] ?? '';
  let op = ATOMIC_OPS.get(name);
  if (op === undefined || name.startsWith('fetch_')) return fail(`Invalid mnemonic: ${opWord.text}`, line, opWord);
  // xchg and cmpxchg always fetch; the others take the bit from the `fetch` keyword.
  if (fetch && op !== AtomicOp.XCHG && op !== AtomicOp.CMPXCHG) op |= AtomicOp.FETCH;
  const size = m?.[2] === undefined ? Size.DW : Size.W;
  const { reg, off } = memory(memWord, line);
  return { line, insn: slot(Class.STX | Mode.ATOMIC | size, reg, register(srcWord, line), off, op) };
}

function loadStore(line: Line, mnemonic: string, mnemonicWord: Word | undefined): Item {
  const m = /^(ldxs|ldx|stx|st)(b|h|w|dw)$/.exec(mnemonic);
  const size = m ? SIZES[m[2] ?? ''] : undefined;
  if (!m || size === undefined || (m[1] === 'ldxs' && size === Size.DW)) return fail(`Invalid mnemonic: ${mnemonic}`, line, mnemonicWord);
  const [a, b] = operands(line, 2) as [Word, Word];
  switch (m[1]) {
    case 'ldx':
    case 'ldxs': {
      const { reg, off } = memory(b, line);
      const mode = m[1] === 'ldx' ? Mode.MEM : Mode.MEMSX;
      return { line, insn: slot(Class.LDX | mode | size, register(a, line), reg, off, 0) };
    }
    case 'st': {
      const { reg, off } = memory(a, line);
      return { line, insn: slot(Class.ST | Mode.MEM | size, reg, 0, off, imm32(b, line)) };
    }
    default: {
      const { reg, off } = memory(a, line);
      return { line, insn: slot(Class.STX | Mode.MEM | size, reg, register(b, line), off, 0) };
    }
  }
}

/**
 * Assemble bpf_conformance assembly (one instruction or label per line; comments must already be removed, as
 * the .data parser does) into instructions.
 */
export function assembleConformance(text: string): RawInsn[] {
  const labels = new Map<string, { slot: number; line: number }>();
  const items: Array<Item & { slot: number }> = [];
  let slotNo = 0;
  let exitSeen = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = splitLine((lines[i] ?? '').replace(/\r$/, ''), i + 1);
    const first = line.words[0];
    if (!first) continue;
    if (first.text.endsWith(':')) {
      const name = first.text.slice(0, -1);
      const previous = labels.get(name);
      // The implicit `exit` label only exists once the first exit instruction is seen; an explicit `exit:`
      // before that is overwritten by it, one after it is a duplicate.
      if (previous !== undefined) {
        fail(`Duplicate label (${name}) detected at line ${line.number} (previous declaration at line ${previous.line})`, line, first);
      }
      labels.set(name, { slot: slotNo, line: line.number });
      continue;
    }
    const item = instruction(line);
    if (item.insn.code === (Class.JMP | JmpOp.EXIT) && !exitSeen) {
      exitSeen = true;
      labels.set('exit', { slot: slotNo, line: line.number });
    }
    items.push({ ...item, slot: slotNo });
    slotNo += item.insn.code === (Class.LD | Mode.IMM | Size.DW) ? 2 : 1;
  }
  return items.map(({ insn, target: t, line, slot: at }) => {
    if (!t) return insn;
    const label = labels.get(t.word.text);
    if (label === undefined) return fail(`Invalid label: ${t.word.text}`, line, t.word);
    const rel = label.slot - (at + 1);
    if (t.field === 'off') {
      if (rel < -32768 || rel > 32767) fail(`Offset out of 16-bit range: ${t.word.text}`, line, t.word);
      return { ...insn, off: rel };
    }
    return { ...insn, imm: rel };
  });
}
