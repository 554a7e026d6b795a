import {
  EHDR_SIZE,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  ELF_MAGIC,
  REL_SIZE,
  RELA_SIZE,
  SHDR_SIZE,
  SHN_XINDEX,
  SYM_SIZE,
  SectionFlag,
  SectionType,
  SymbolType,
} from './constants.js';
import { ElfError } from './errors.js';

export interface ElfSection {
  /** Position in the section header table. */
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  /** File offset of the contents. */
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
  readonly addralign: number;
  /** The contents (empty for SHT_NOBITS); a view into the input bytes. */
  readonly data: Uint8Array;
}

export interface ElfSymbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  /** STT_* (low nibble of st_info). */
  readonly type: number;
  /** STB_* (high nibble of st_info). */
  readonly bind: number;
  /** STV_* (low two bits of st_other). */
  readonly visibility: number;
  /** Section the symbol is defined in (SHN_UNDEF, SHN_ABS, ... for special ones). */
  readonly sectionIndex: number;
}

export interface ElfRelocation {
  /** Offset of the patched place inside the target section. */
  readonly offset: number;
  /** Index into {@link ElfObject.symbols}. */
  readonly symbolIndex: number;
  /** The symbol itself, when the index is in range. */
  readonly symbol: ElfSymbol | undefined;
  /** Machine-specific relocation type (R_BPF_* for BPF). */
  readonly type: number;
  /** Explicit addend of RELA entries; 0 for REL. */
  readonly addend: number;
}

export interface ElfObject {
  readonly endian: 'little' | 'big';
  /** e_machine (247 = EM_BPF). */
  readonly machine: number;
  /** e_type (1 = ET_REL). */
  readonly type: number;
  readonly sections: readonly ElfSection[];
  /** Entries of `.symtab` in table order (entry 0 is the null symbol); empty without a symbol table. */
  readonly symbols: readonly ElfSymbol[];
  section(name: string): ElfSection | undefined;
  /** Relocations applied to `target` (from every SHT_REL/SHT_RELA section whose sh_info names it). */
  relocations(target: ElfSection): ElfRelocation[];
}

/** Bounds-checked reads of one byte order; every failure names the offset. */
class Reader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly little: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(at: number, n: number, what: string): void {
    if (at < 0 || at + n > this.bytes.length) {
      throw new ElfError(`${what} (${n} bytes) inside the file`, at, `end of file at ${this.bytes.length}`);
    }
  }
  u8(at: number, what: string): number {
    this.need(at, 1, what);
    return this.view.getUint8(at);
  }
  u16(at: number, what: string): number {
    this.need(at, 2, what);
    return this.view.getUint16(at, this.little);
  }
  u32(at: number, what: string): number {
    this.need(at, 4, what);
    return this.view.getUint32(at, this.little);
  }
  /** A 64-bit field as a number; offsets and sizes above 2^53 cannot be valid for an in-memory file. */
  u64(at: number, what: string): number {
    this.need(at, 8, what);
    const value = this.view.getBigUint64(at, this.little);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} below 2^53`, at, `0x${value.toString(16)}`);
    return Number(value);
  }
  /** A 64-bit field that may legitimately exceed 2^53 (absolute symbol values): nearest double. */
  u64Lossy(at: number, what: string): number {
    this.need(at, 8, what);
    return Number(this.view.getBigUint64(at, this.little));
  }
  i64(at: number, what: string): number {
    this.need(at, 8, what);
    return Number(this.view.getBigInt64(at, this.little));
  }
  slice(at: number, n: number, what: string): Uint8Array {
    this.need(at, n, what);
    return this.bytes.subarray(at, at + n);
  }
}

function readString(bytes: Uint8Array, start: number, what: string, tableOffset: number): string {
  if (start >= bytes.length && !(start === 0 && bytes.length === 0)) {
    throw new ElfError(`${what} name offset inside the string table (size ${bytes.length})`, tableOffset + start, `offset ${start}`);
  }
  let end = start;
  while (end < bytes.length && bytes[end] !== 0) end++;
  if (end >= bytes.length && start < bytes.length) {
    throw new ElfError(`a NUL-terminated ${what} name`, tableOffset + start, 'an unterminated string');
  }
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i] ?? 0);
  return s;
}

interface RawSection {
  nameOffset: number;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  headerAt: number;
}

/**
 * Parse an ELF64 file (either byte order). Throws an {@link ElfError} with the byte offset and what was
 * expected on anything malformed: a wrong magic or class, a truncated header, a section or table outside the
 * file, a name outside its string table.
 */
export function readElf(bytes: Uint8Array): ElfObject {
  if (bytes.length < 16) throw new ElfError('an ELF identification of 16 bytes', bytes.length, `a ${bytes.length}-byte file`);
  for (let i = 0; i < ELF_MAGIC.length; i++) {
    if (bytes[i] !== ELF_MAGIC[i]) throw new ElfError('the ELF magic \\x7fELF', i, `0x${(bytes[i] ?? 0).toString(16).padStart(2, '0')}`);
  }
  if (bytes[4] !== ELFCLASS64) throw new ElfError('ELFCLASS64 (2): only 64-bit objects are read', 4, String(bytes[4]));
  const data = bytes[5];
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) throw new ElfError('ELFDATA2LSB (1) or ELFDATA2MSB (2)', 5, String(data));
  const little = data === ELFDATA2LSB;
  const r = new Reader(bytes, little);
  if (bytes.length < EHDR_SIZE) throw new ElfError(`an ELF64 header of ${EHDR_SIZE} bytes`, bytes.length, `a ${bytes.length}-byte file`);
  const type = r.u16(16, 'e_type');
  const machine = r.u16(18, 'e_machine');
  const shoff = r.u64(40, 'e_shoff');
  const shentsize = r.u16(58, 'e_shentsize');
  let shnum = r.u16(60, 'e_shnum');
  let shstrndx = r.u16(62, 'e_shstrndx');
  if (shoff !== 0 && shentsize !== SHDR_SIZE) throw new ElfError(`e_shentsize ${SHDR_SIZE}`, 58, String(shentsize));

  const raws: RawSection[] = [];
  if (shoff !== 0) {
    // Large section counts live in section 0's sh_size / sh_link (gABI extended numbering).
    if (shnum === 0) shnum = r.u64(shoff + 32, 'section 0 sh_size (extended section count)');
    if (shstrndx === SHN_XINDEX) shstrndx = r.u32(shoff + 40, 'section 0 sh_link (extended string table index)');
    if (shoff + shnum * SHDR_SIZE > bytes.length) {
      throw new ElfError(`a section header table of ${shnum} entries inside the file`, shoff, `end of file at ${bytes.length}`);
    }
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * SHDR_SIZE;
      const raw: RawSection = {
        nameOffset: r.u32(at, 'sh_name'),
        type: r.u32(at + 4, 'sh_type'),
        flags: r.u64(at + 8, 'sh_flags'),
        offset: r.u64(at + 24, 'sh_offset'),
        size: r.u64(at + 32, 'sh_size'),
        link: r.u32(at + 40, 'sh_link'),
        info: r.u32(at + 44, 'sh_info'),
        addralign: r.u64(at + 48, 'sh_addralign'),
        entsize: r.u64(at + 56, 'sh_entsize'),
        headerAt: at,
      };
      if (raw.type !== SectionType.NOBITS && raw.type !== SectionType.NULL && raw.offset + raw.size > bytes.length) {
        throw new ElfError(`section ${i} contents (offset ${raw.offset}, size ${raw.size}) inside the file`, at + 24, `end of file at ${bytes.length}`);
      }
      raws.push(raw);
    }
  }
  if (raws.length > 0 && shstrndx >= raws.length) throw new ElfError(`e_shstrndx below the section count ${raws.length}`, 62, String(shstrndx));
  const shstr = raws[shstrndx];
  const shstrData = shstr ? r.slice(shstr.offset, shstr.size, 'section name string table') : new Uint8Array(0);

  const sections: ElfSection[] = raws.map((raw, index) => ({
    index,
    name: raws.length > 0 && index > 0 ? readString(shstrData, raw.nameOffset, 'section', shstr?.offset ?? 0) : '',
    type: raw.type,
    flags: raw.flags,
    offset: raw.offset,
    size: raw.size,
    link: raw.link,
    info: raw.info,
    entsize: raw.entsize,
    addralign: raw.addralign,
    data: raw.type === SectionType.NOBITS || raw.type === SectionType.NULL ? new Uint8Array(0) : bytes.subarray(raw.offset, raw.offset + raw.size),
  }));

  const symbols = readSymbols(r, sections);
  const byName = new Map<string, ElfSection>();
  for (const s of sections) if (!byName.has(s.name)) byName.set(s.name, s);

  return {
    endian: little ? 'little' : 'big',
    machine,
    type,
    sections,
    symbols,
    section: (name) => byName.get(name),
    relocations: (target) => readRelocations(r, sections, symbols, target),
  };
}

function readSymbols(r: Reader, sections: readonly ElfSection[]): ElfSymbol[] {
  const symtab = sections.find((s) => s.type === SectionType.SYMTAB);
  if (!symtab) return [];
  const strtab = sections[symtab.link];
  if (!strtab) throw new ElfError(`the symbol table's sh_link to name a string table (below ${sections.length})`, symtab.offset, String(symtab.link));
  const count = Math.floor(symtab.size / SYM_SIZE);
  const out: ElfSymbol[] = [];
  for (let i = 0; i < count; i++) {
    const at = symtab.offset + i * SYM_SIZE;
    const info = r.u8(at + 4, 'st_info');
    out.push({
      name: readString(strtab.data, r.u32(at, 'st_name'), 'symbol', strtab.offset),
      type: info & 0xf,
      bind: info >> 4,
      visibility: r.u8(at + 5, 'st_other') & 0x3,
      sectionIndex: r.u16(at + 6, 'st_shndx'),
      // SHN_ABS symbols may hold any 64-bit value; offsets into sections are far below 2^53 anyway.
      value: r.u64Lossy(at + 8, 'st_value'),
      size: r.u64Lossy(at + 16, 'st_size'),
    });
  }
  return out;
}

function readRelocations(r: Reader, sections: readonly ElfSection[], symbols: readonly ElfSymbol[], target: ElfSection): ElfRelocation[] {
  const out: ElfRelocation[] = [];
  for (const s of sections) {
    if ((s.type !== SectionType.REL && s.type !== SectionType.RELA) || s.info !== target.index) continue;
    const rela = s.type === SectionType.RELA;
    const entry = rela ? RELA_SIZE : REL_SIZE;
    for (let at = s.offset; at + entry <= s.offset + s.size; at += entry) {
      // r_info: symbol index in the upper 32 bits, type in the lower 32 bits.
      const infoHi = r.u32(at + (r.little ? 12 : 8), 'r_info symbol');
      const infoLo = r.u32(at + (r.little ? 8 : 12), 'r_info type');
      out.push({
        offset: r.u64(at, 'r_offset'),
        symbolIndex: infoHi,
        symbol: symbols[infoHi],
        type: infoLo,
        addend: rela ? r.i64(at + 16, 'r_addend') : 0,
      });
    }
  }
  return out.sort((a, b) => a.offset - b.offset);
}

export interface ProgramSection {
  readonly section: ElfSection;
  /** Function symbols defined in the section, by ascending value. */
  readonly functions: readonly ElfSymbol[];
}

/**
 * Executable sections (SHT_PROGBITS with SHF_EXECINSTR) with non-zero size, each with its function symbols. As
 * libbpf's bpf_object__elf_collect: an SHT_NOBITS section flagged executable holds no code and is not one.
 */
export function programSections(obj: ElfObject): ProgramSection[] {
  return obj.sections
    .filter((s) => s.type === SectionType.PROGBITS && (s.flags & SectionFlag.EXECINSTR) !== 0 && s.size > 0)
    .map((section) => ({
      section,
      functions: obj.symbols.filter((sym) => sym.type === SymbolType.FUNC && sym.sectionIndex === section.index).sort((a, b) => a.value - b.value),
    }));
}
