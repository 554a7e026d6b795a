import { SymbolBind, programSections, type ElfObject, type ElfSection } from '@ebpf-sim/elf';
import { SLOT_SIZE } from '@ebpf-sim/isa';
import { LoaderError } from './errors.js';

/**
 * libbpf's sub-program section. Functions here are only ever called (or have their address taken); every
 * other code section holds entry programs, one per function (`SEC("xdp") int prog(...)`).
 */
export const TEXT_SECTION = '.text';

/** One function of a code section, in 8-byte instruction slots. */
export interface CodeFunction {
  /** The function symbol's name; the section's name for a section without function symbols. */
  readonly name: string;
  readonly section: ElfSection;
  /** First slot of the function, counted from the start of its section (libbpf's sec_insn_off). */
  readonly start: number;
  /** Length in slots (libbpf's sec_insn_cnt). */
  readonly slots: number;
  /** STB_* binding of the symbol (STB_GLOBAL for a section without function symbols). */
  readonly bind: number;
}

function checkAligned(section: ElfSection, what: string, bytes: number): void {
  if (bytes % SLOT_SIZE !== 0) {
    throw new LoaderError(`sec '${section.name}': ${what} ${bytes} is not a multiple of the ${SLOT_SIZE}-byte instruction size`, 'format');
  }
}

/**
 * The functions of each code section (SHF_EXECINSTR, non-empty), by section and then by offset, as libbpf's
 * bpf_object__add_programs() cuts them: each STT_FUNC symbol spans [st_value, st_value + st_size). Two
 * departures, both for objects that come from an assembler rather than clang: a function symbol of size 0
 * runs to the next function or the section's end (as llvm-objdump shows it), and a code section without any
 * function symbol is one function named after the section.
 */
export function codeFunctions(obj: ElfObject): CodeFunction[] {
  const out: CodeFunction[] = [];
  for (const { section, functions } of programSections(obj)) {
    checkAligned(section, 'size', section.size);
    const sectionSlots = section.size / SLOT_SIZE;
    if (functions.length === 0) {
      out.push({ name: section.name, section, start: 0, slots: sectionSlots, bind: SymbolBind.GLOBAL });
      continue;
    }
    for (const [i, sym] of functions.entries()) {
      checkAligned(section, `offset of function '${sym.name}'`, sym.value);
      const next = functions.slice(i + 1).find((f) => f.value > sym.value)?.value ?? section.size;
      const size = sym.size > 0 ? sym.size : next - sym.value;
      checkAligned(section, `size of function '${sym.name}'`, size);
      if (sym.value + size > section.size) {
        throw new LoaderError(`sec '${section.name}': program at offset ${sym.value} crosses section boundary`, 'format');
      }
      out.push({ name: sym.name, section, start: sym.value / SLOT_SIZE, slots: size / SLOT_SIZE, bind: sym.bind });
    }
  }
  return out;
}

/** The function of `section` whose slots hold `slot` (libbpf's find_prog_by_sec_insn), or undefined. */
export function functionAt(functions: readonly CodeFunction[], section: ElfSection, slot: number): CodeFunction | undefined {
  return functions.find((f) => f.section === section && slot >= f.start && slot < f.start + f.slots);
}
