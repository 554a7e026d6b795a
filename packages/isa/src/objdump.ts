/**
 * The whole `llvm-objdump-19 -d` listing of a BPF object: file line, one block per code section, a
 * `<symbol>:` line where a symbol starts, one line per instruction (index, raw bytes in file order, LLVM
 * text) and `<sym+0x..>` annotations on jumps.
 *
 * This package does not read ELF (it depends on nothing); the caller hands over the code sections and their
 * symbols (apps/cli does it with @ebpf-sim/elf). Symbol choice follows llvm-objdump 19, checked by experiment:
 * - STT_SECTION and STT_FILE symbols are never shown;
 * - of several symbols at one address the name that sorts last is shown, preferring code symbols; where
 *   only data symbols (STT_OBJECT, STT_COMMON) start, objdump dumps the bytes as hex and text until the next
 *   symbol;
 * - a section with no symbol at address 0 gets a dummy symbol named after the section;
 * - a jump annotation names the last symbol at or below the target address (64-bit wrap-around included).
 */
import { readSlot, SLOT_SIZE } from './decode.js';
import { IsaError } from './errors.js';
import type { Endian, RawInsn } from './instruction.js';
import type { OpcodeForm } from './opcodes.js';
import { formatLlvm, jumpOffset, type LlvmDialect } from './print-llvm.js';
import { validateInsn } from './validate.js';

/** ELF symbol types the layout distinguishes (STT_* values). */
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_SECTION = 3;
const STT_FILE = 4;

export interface ObjdumpSymbol {
  readonly name: string;
  /** Address (offset in the section). */
  readonly value: number;
  /** STT_* type. */
  readonly type: number;
}

export interface ObjdumpSection {
  readonly name: string;
  readonly data: Uint8Array;
  /** Symbols defined in this section (any order). */
  readonly symbols: readonly ObjdumpSymbol[];
}

export interface ObjdumpInput {
  /** The file name exactly as the user gave it; objdump prints it in the first line. */
  readonly path: string;
  readonly endian: Endian;
  /** Code sections (SHF_EXECINSTR) in section-header order; empty ones are skipped as objdump does. */
  readonly sections: readonly ObjdumpSection[];
}

export interface ObjdumpOptions {
  /** Decoder dialect: `generic` is llvm-objdump's default; `alu32` is `--mcpu=v3`/`v4`. */
  readonly dialect?: LlvmDialect;
}

/** One decoded line of a code section: a valid instruction, or bytes objdump prints as `<unknown>`. */
export interface ListingLine {
  readonly slot: number;
  readonly bytes: Uint8Array;
  readonly insn: (RawInsn & { readonly form: OpcodeForm }) | null;
}

/**
 * Split a code section into instruction lines the way the disassembler walks it: a valid instruction takes
 * one slot (two for LD imm64), anything the opcode table rejects is one `<unknown>` slot.
 */
export function listingLines(data: Uint8Array, endian: Endian): ListingLine[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const lines: ListingLine[] = [];
  for (let at = 0; at < data.length;) {
    const { size, insn } = decodeAt(data, view, at, endian);
    // A short tail is one line here, where objdump would print it byte by byte.
    const taken = insn === null && size === 1 ? data.length - at : size;
    lines.push({ slot: at / SLOT_SIZE, bytes: data.subarray(at, at + taken), insn });
    at += taken;
  }
  return lines;
}

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function hexBytes(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (i === 0 ? '' : ' ') + (HEX_BYTE[bytes[i] ?? 0] ?? '');
  return s;
}

/** STT_COMMON: like STT_OBJECT, a data symbol. */
const STT_COMMON = 5;
const isData = (s: ObjdumpSymbol): boolean => s.type === STT_OBJECT || s.type === STT_COMMON;

/** Symbols objdump considers, plus its dummy section symbol when nothing starts at address 0. */
function candidateSymbols(section: ObjdumpSection): ObjdumpSymbol[] {
  const symbols = section.symbols.filter((s) => s.type !== STT_SECTION && s.type !== STT_FILE);
  if (!symbols.some((s) => s.value === 0)) symbols.push({ name: section.name, value: 0, type: STT_FUNC });
  // Ascending address, then name: "the last" of a group is the one objdump shows.
  return symbols.sort((a, b) => a.value - b.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A stretch of a section from one symbol address to the next: its symbol line and how objdump shows it. */
interface Region {
  readonly start: number;
  readonly end: number;
  readonly name: string;
  /** Only data symbols (STT_OBJECT/STT_COMMON) start here: objdump dumps the bytes instead of decoding. */
  readonly data: boolean;
}

function regions(symbols: readonly ObjdumpSymbol[], size: number): Region[] {
  const groups = new Map<number, ObjdumpSymbol[]>();
  for (const s of symbols) {
    if (s.value >= size) continue;
    const group = groups.get(s.value);
    if (group) group.push(s);
    else groups.set(s.value, [s]);
  }
  const starts = [...groups.keys()].sort((a, b) => a - b);
  return starts.map((start, i) => {
    const group = groups.get(start) ?? [];
    const code = group.filter((s) => !isData(s));
    const shown = (code.length > 0 ? code : group).at(-1);
    return { start, end: starts[i + 1] ?? size, name: shown?.name ?? '', data: code.length === 0 };
  });
}

/** ` <sym+0x..>` for a jump landing at `target` (a byte address, wrapping at 2^64 like objdump's uint64_t). */
function annotation(symbols: readonly ObjdumpSymbol[], target: bigint): string {
  let best: ObjdumpSymbol | undefined;
  for (const s of symbols) if (BigInt(s.value) <= target) best = s;
  if (!best) return '';
  const delta = target - BigInt(best.value);
  return delta === 0n ? ` <${best.name}>` : ` <${best.name}+0x${delta.toString(16)}>`;
}

const isPrintable = (b: number): boolean => b >= 0x20 && b <= 0x7e;

/** objdump's dump of a data symbol's bytes: `%8x:`, up to 8 bytes in hex, then as text. */
function dataLines(data: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let at = start; at < end; at += 8) {
    const chunk = data.subarray(at, Math.min(at + 8, end));
    const hex = Array.from(chunk, (b) => ` ${b.toString(16).padStart(2, '0')}`).join('');
    const text = Array.from(chunk, (b) => (isPrintable(b) ? String.fromCharCode(b) : '.')).join('');
    out += `${at.toString(16).padStart(8)}:${hex}${' '.repeat(3 * (8 - chunk.length))}         ${text}\n`;
  }
  return out;
}

/** Leading zero bytes objdump skips as `...`: at least 8, rounded down to a multiple of 4. */
function skippableZeros(data: Uint8Array, at: number, end: number): number {
  let n = 0;
  while (at + n < end && data[at + n] === 0) n++;
  return n < 8 ? 0 : n & ~3;
}

/**
 * Decode one instruction at byte `at` the way LLVM's BPF disassembler does: 8 bytes (16 for LD imm64, which
 * may run past the symbol), or, with too few bytes left, a one-byte `<unknown>`.
 */
function decodeAt(data: Uint8Array, view: DataView, at: number, endian: Endian): { size: number; insn: (RawInsn & { readonly form: OpcodeForm }) | null } {
  if (at + SLOT_SIZE > data.length) return { size: 1, insn: null };
  const raw = readSlot(view, at, endian);
  let form: OpcodeForm | null = null;
  try {
    form = validateInsn(raw, Math.floor(at / SLOT_SIZE));
  } catch (error) {
    if (!(error instanceof IsaError)) throw error;
  }
  if (form === null) return { size: SLOT_SIZE, insn: null };
  const { code, dst, src, off, imm } = raw;
  if (!form.wide) return { size: SLOT_SIZE, insn: { code, dst, src, off, imm, form } };
  if (at + 2 * SLOT_SIZE > data.length) return { size: 1, insn: null };
  return { size: 2 * SLOT_SIZE, insn: { code, dst, src, off, imm, imm2: readSlot(view, at + SLOT_SIZE, endian).imm, form } };
}

/** Text of one instruction, with the jump annotation when it is a jump. */
function insnText(insn: (RawInsn & { readonly form: OpcodeForm }) | null, at: number, symbols: readonly ObjdumpSymbol[], dialect: LlvmDialect): string {
  if (insn === null) return '<unknown>';
  const text = formatLlvm(insn, insn.form, dialect);
  if (text === null) return '<unknown>';
  const rel = jumpOffset(insn, insn.form);
  if (rel === null) return text;
  const target = BigInt.asUintN(64, BigInt(at) + BigInt(SLOT_SIZE) + BigInt(rel) * BigInt(SLOT_SIZE));
  return text + annotation(symbols, target);
}

/**
 * The listing of one code section (the part after `Disassembly of section NAME:`). Like llvm-objdump it walks
 * symbol by symbol; inside one it skips runs of 8 or more zero bytes as `...`, and it numbers each line by
 * its byte address divided by 8.
 */
export function formatObjdumpSection(section: ObjdumpSection, endian: Endian, options: ObjdumpOptions = {}): string {
  const dialect = options.dialect ?? 'generic';
  const data = section.data;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const symbols = candidateSymbols(section);
  let out = '';
  for (const region of regions(symbols, data.length)) {
    out += `\n${region.start.toString(16).padStart(16, '0')} <${region.name}>:\n`;
    if (region.data) {
      out += dataLines(data, region.start, region.end);
      continue;
    }
    for (let at = region.start; at < region.end;) {
      const zeros = skippableZeros(data, at, region.end);
      if (zeros > 0) {
        out += '\t\t...\n';
        at += zeros;
        continue;
      }
      const { size, insn } = decodeAt(data, view, at, endian);
      out += `${String(Math.floor(at / SLOT_SIZE)).padStart(8)}:\t${hexBytes(data.subarray(at, at + size))}\t${insnText(insn, at, symbols, dialect)}\n`;
      at += size;
    }
  }
  return out;
}

/** The complete `llvm-objdump-19 -d` output for an object. */
export function formatObjdump(input: ObjdumpInput, options: ObjdumpOptions = {}): string {
  let out = `\n${input.path}:\tfile format elf64-bpf\n`;
  for (const section of input.sections) {
    if (section.data.length === 0) continue;
    out += `\nDisassembly of section ${section.name}:\n${formatObjdumpSection(section, input.endian, options)}`;
  }
  return out;
}
