/**
 * The whole `llvm-objdump-19 -d` listing of a BPF object: file line, one block per code section, a
 * `<symbol>:` line where a symbol starts, one line per instruction (index, raw bytes in file order, LLVM
 * text) and `<sym+0x..>` annotations on jumps.
 *
 * This package does not read ELF (it depends on nothing); the caller hands over the code sections and their
 * symbols (apps/cli does it with @ebpf-sim/elf). Symbol choice follows llvm-objdump 19, checked by experiment:
 * - STT_SECTION and STT_FILE symbols are never shown;
 * - of several symbols at one address the name that sorts last is shown (a STT_OBJECT symbol only in jump
 *   annotations: at a symbol line it would switch objdump to a data dump, which this layout does not do);
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
  let at = 0;
  while (at < data.length) {
    const slot = at / SLOT_SIZE;
    if (at + SLOT_SIZE > data.length) {
      lines.push({ slot, bytes: data.subarray(at), insn: null });
      break;
    }
    const raw = readSlot(view, at, endian);
    let form: OpcodeForm | null = null;
    try {
      form = validateInsn(raw, slot);
    } catch (error) {
      if (!(error instanceof IsaError)) throw error;
    }
    if (form?.wide && at + 2 * SLOT_SIZE <= data.length) {
      const tail = readSlot(view, at + SLOT_SIZE, endian);
      lines.push({ slot, bytes: data.subarray(at, at + 2 * SLOT_SIZE), insn: { ...raw, imm2: tail.imm, form } });
      at += 2 * SLOT_SIZE;
    } else if (form !== null && !form.wide) {
      lines.push({ slot, bytes: data.subarray(at, at + SLOT_SIZE), insn: { ...raw, form } });
      at += SLOT_SIZE;
    } else {
      lines.push({ slot, bytes: data.subarray(at, at + SLOT_SIZE), insn: null });
      at += SLOT_SIZE;
    }
  }
  return lines;
}

const hexBytes = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

/** Symbols objdump considers, plus its dummy section symbol when nothing starts at address 0. */
function candidateSymbols(section: ObjdumpSection): ObjdumpSymbol[] {
  const symbols = section.symbols.filter((s) => s.type !== STT_SECTION && s.type !== STT_FILE);
  if (!symbols.some((s) => s.value === 0)) symbols.push({ name: section.name, value: 0, type: STT_FUNC });
  // Ascending address, then name: "the last" of a group is the one objdump shows.
  return symbols.sort((a, b) => a.value - b.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The symbol line to print at each address. */
function symbolLines(symbols: readonly ObjdumpSymbol[], sectionName: string): Map<number, string> {
  const lines = new Map<number, string>();
  const objectOnly = new Map<number, string>();
  for (const s of symbols) {
    if (s.type === STT_OBJECT) objectOnly.set(s.value, s.name);
    else lines.set(s.value, s.name);
  }
  for (const [value, name] of objectOnly) {
    if (!lines.has(value)) {
      throw new IsaError(
        'STT_OBJECT symbol in a code section',
        { field: `symbol ${name} in section ${sectionName}`, value },
        'llvm-objdump dumps the bytes after a data symbol as data; this disassembler prints code only',
      );
    }
  }
  return lines;
}

/** ` <sym+0x..>` for a jump landing at `target` (a byte address, wrapping at 2^64 like objdump's uint64_t). */
function annotation(symbols: readonly ObjdumpSymbol[], target: bigint): string {
  let best: ObjdumpSymbol | undefined;
  for (const s of symbols) if (BigInt(s.value) <= target) best = s;
  if (!best) return '';
  const delta = target - BigInt(best.value);
  return delta === 0n ? ` <${best.name}>` : ` <${best.name}+0x${delta.toString(16)}>`;
}

/** Text of one listing line, with the jump annotation when the instruction is a jump. */
function lineText(line: ListingLine, symbols: readonly ObjdumpSymbol[], dialect: LlvmDialect): string {
  const insn = line.insn;
  if (insn === null) return '<unknown>';
  const text = formatLlvm(insn, insn.form, dialect);
  if (text === null) return '<unknown>';
  const rel = jumpOffset(insn, insn.form);
  if (rel === null) return text;
  const target = BigInt.asUintN(64, BigInt(line.slot + 1 + rel) * BigInt(SLOT_SIZE));
  return text + annotation(symbols, target);
}

/** The listing of one code section (the part after `Disassembly of section NAME:`). */
export function formatObjdumpSection(section: ObjdumpSection, endian: Endian, options: ObjdumpOptions = {}): string {
  const dialect = options.dialect ?? 'generic';
  const symbols = candidateSymbols(section);
  const heads = symbolLines(symbols, section.name);
  let out = '';
  for (const line of listingLines(section.data, endian)) {
    const head = heads.get(line.slot * SLOT_SIZE);
    if (head !== undefined) out += `\n${(line.slot * SLOT_SIZE).toString(16).padStart(16, '0')} <${head}>:\n`;
    out += `${String(line.slot).padStart(8)}:\t${hexBytes(line.bytes)}\t${lineText(line, symbols, dialect)}\n`;
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

