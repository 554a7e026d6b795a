import { SHN_UNDEF, SectionType, SymbolBind, SymbolType, type ElfObject, type ElfSection, type ElfSymbol } from '@ebpf-sim/elf';
import { Class, JmpOp, Mode, PseudoCall, SLOT_SIZE, Size, readSlot, type RawInsn } from '@ebpf-sim/isa';
import { LoaderError } from './errors.js';
import { TEXT_SECTION, functionAt, type CodeFunction } from './functions.js';

/** BPF_JMP | BPF_CALL. */
export const CALL_OPCODE = Class.JMP | JmpOp.CALL;
/** BPF_LD | BPF_IMM | BPF_DW: LD imm64, the only instruction a map, data or function address relocation may patch. */
export const LD_IMM64_OPCODE = Class.LD | Mode.IMM | Size.DW;
/** gABI SHN_LORESERVE: section indexes from here up are special (SHN_ABS, SHN_COMMON, ...), never a section. */
const SHN_LORESERVE = 0xff00;

/** The sections libbpf takes map definitions from: BTF-defined `.maps`, and the legacy `maps`. */
export const MAP_SECTIONS: readonly string[] = ['.maps', 'maps'];

/** Global data sections, each of which libbpf turns into an array map: `.data`, `.rodata`, `.bss` and their `.name` variants. */
export function isDataSection(name: string): boolean {
  return /^\.(?:data|rodata|bss)(?:\..+)?$/.test(name);
}

/**
 * One relocation of a program's instruction, classified as libbpf's bpf_program__record_reloc() does (its
 * `enum reloc_type`). `insn` counts slots from the start of the function the instruction is in.
 * - `call` (RELO_CALL): a bpf-to-bpf call into `.text`; `symbolOffset` is the symbol's byte offset there.
 * - `subprog-addr` (RELO_SUBPROG_ADDR): LD imm64 of a `.text` function's address (a callback for bpf_loop ...).
 * - `map` (RELO_LD64): LD imm64 of a map defined in `.maps`/`maps`; the map is the symbol.
 * - `data` (RELO_DATA): LD imm64 of an address in a global data section; `symbolOffset` is where the symbol is.
 * - `extern-call` (RELO_EXTERN_CALL): a call to a kernel function (kfunc) declared `extern ... __ksym`.
 * - `extern-ld64` (RELO_EXTERN_LD64): LD imm64 of an extern variable (`__ksym` or `__kconfig`).
 * The first two are resolved when the program is linked; the others need the kernel (map fds, BTF ids).
 */
export type Relocation =
  | {
      readonly kind: 'call' | 'subprog-addr' | 'map' | 'data';
      readonly insn: number;
      readonly symbol: string;
      readonly section: string;
      readonly symbolOffset: number;
    }
  | { readonly kind: 'extern-call' | 'extern-ld64'; readonly insn: number; readonly symbol: string };

/** libbpf's sym_is_extern(): an undefined global or weak symbol without a type. */
function isExtern(sym: ElfSymbol): boolean {
  return sym.sectionIndex === SHN_UNDEF && (sym.bind === SymbolBind.GLOBAL || sym.bind === SymbolBind.WEAK) && sym.type === SymbolType.NOTYPE;
}

/** libbpf's sym_is_subprog(): a `.text` section symbol (static functions) or a global function there. */
function isSubprogSymbol(sym: ElfSymbol, text: ElfSection | undefined): boolean {
  if (text === undefined || sym.sectionIndex !== text.index) return false;
  if (sym.bind === SymbolBind.LOCAL && sym.type === SymbolType.SECTION) return true;
  return sym.bind === SymbolBind.GLOBAL && sym.type === SymbolType.FUNC;
}

/** The name libbpf prints for a relocation's symbol: a nameless section symbol goes by its section's name. */
function symbolName(obj: ElfObject, sym: ElfSymbol): string {
  if (sym.type === SymbolType.SECTION && sym.name === '') return obj.sections[sym.sectionIndex]?.name ?? '<?>';
  return sym.name;
}

/** Read the instruction slot at `slot` of `section` in the object's byte order. */
export function slotAt(obj: ElfObject, section: ElfSection, slot: number): RawInsn {
  const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  return readSlot(view, slot * SLOT_SIZE, obj.endian);
}

/** Classify one relocation of `fn`'s instruction `insn` (libbpf's bpf_program__record_reloc). */
function recordRelocation(obj: ElfObject, fn: CodeFunction, insn: number, sym: ElfSymbol, name: string): Relocation {
  const prog = `prog '${fn.name}'`;
  const raw = slotAt(obj, fn.section, fn.start + insn);
  if (raw.code !== CALL_OPCODE && raw.code !== LD_IMM64_OPCODE) {
    throw new LoaderError(`${prog}: invalid relo against '${name}' for insns[${insn}].code 0x${raw.code.toString(16)}`, 'reloc');
  }
  if (isExtern(sym)) return { kind: raw.code === CALL_OPCODE ? 'extern-call' : 'extern-ld64', insn, symbol: name };
  const text = obj.section(TEXT_SECTION);
  const target = obj.sections[sym.sectionIndex];
  const targetName = target?.name ?? '';
  if (raw.code === CALL_OPCODE) {
    if (raw.src !== PseudoCall.LOCAL) throw new LoaderError(`${prog}: incorrect bpf_call opcode`, 'reloc');
    if (sym.sectionIndex === SHN_UNDEF || sym.sectionIndex !== text?.index) {
      throw new LoaderError(`${prog}: bad call relo against '${name}' in section '${targetName}'`, 'reloc', 'sub-programs must be in .text');
    }
    if (sym.value % SLOT_SIZE !== 0) throw new LoaderError(`${prog}: bad call relo against '${name}' at offset ${sym.value}`, 'reloc');
    return { kind: 'call', insn, symbol: name, section: targetName, symbolOffset: sym.value };
  }
  if (sym.sectionIndex === SHN_UNDEF || target === undefined) {
    throw new LoaderError(
      `${prog}: invalid relo against '${name}' in special section 0x${sym.sectionIndex.toString(16)}; forgot to initialize global var?..`,
      'reloc',
    );
  }
  if (isSubprogSymbol(sym, text)) {
    if (sym.value % SLOT_SIZE !== 0 || raw.imm % SLOT_SIZE !== 0) {
      throw new LoaderError(`${prog}: bad subprog addr relo against '${name}' at offset ${sym.value}+${raw.imm}`, 'reloc');
    }
    return { kind: 'subprog-addr', insn, symbol: name, section: targetName, symbolOffset: sym.value };
  }
  if (isDataSection(targetName)) return { kind: 'data', insn, symbol: name, section: targetName, symbolOffset: sym.value };
  if (!MAP_SECTIONS.includes(targetName)) throw new LoaderError(`${prog}: bad map relo against '${name}' in section '${targetName}'`, 'reloc');
  return { kind: 'map', insn, symbol: name, section: targetName, symbolOffset: sym.value };
}

/**
 * Every relocation of the object's code, by the function its instruction is in (libbpf's
 * bpf_object__collect_prog_relos). A relocation of an instruction outside every function is skipped, as libbpf
 * skips those of an overridden weak function. Only SHT_REL sections are read, as libbpf reads them; a RELA
 * section against code is refused rather than ignored.
 */
export function collectRelocations(obj: ElfObject, functions: readonly CodeFunction[]): Map<CodeFunction, Relocation[]> {
  const out = new Map<CodeFunction, Relocation[]>(functions.map((fn) => [fn, []]));
  for (const section of new Set(functions.map((fn) => fn.section))) {
    const relSection = `.rel${section.name}`;
    if (obj.sections.some((s) => s.type === SectionType.RELA && s.info === section.index)) {
      throw new LoaderError(
        `sec '${section.name}': RELA relocations are not supported`,
        'unsupported',
        'libbpf reads only SHT_REL sections, which clang writes',
      );
    }
    for (const [i, rel] of obj.relocations(section).entries()) {
      const sym = rel.symbol;
      if (sym === undefined) throw new LoaderError(`sec '${relSection}': symbol #${rel.symbolIndex} not found for relo #${i}`, 'format');
      if (sym.sectionIndex >= SHN_LORESERVE) {
        throw new LoaderError(
          `sec '${relSection}': corrupted symbol #${rel.symbolIndex} pointing to invalid section #${sym.sectionIndex} for relo #${i}`,
          'format',
        );
      }
      if (rel.offset % SLOT_SIZE !== 0 || rel.offset >= section.size) {
        throw new LoaderError(`sec '${relSection}': invalid offset 0x${rel.offset.toString(16)} for relo #${i}`, 'format');
      }
      const slot = rel.offset / SLOT_SIZE;
      const fn = functionAt(functions, section, slot);
      if (fn === undefined) continue;
      out.get(fn)?.push(recordRelocation(obj, fn, slot - fn.start, sym, symbolName(obj, sym)));
    }
  }
  return out;
}
