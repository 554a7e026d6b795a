import { ElfError, ElfMachine, programSections, readElf, type ElfObject } from '@ebpf-sim/elf';
import type { ObjdumpInput } from '@ebpf-sim/isa';
import { CliError } from '../../command.js';

/** Parse a BPF object, reporting ELF problems as `FILE: bad ELF file at byte offset ...`. */
export function readBpfObject(path: string, bytes: Uint8Array): ElfObject {
  let obj: ElfObject;
  try {
    obj = readElf(bytes);
  } catch (error) {
    if (error instanceof ElfError) throw new CliError(`${path}: ${error.message}`);
    throw error;
  }
  if (obj.machine !== ElfMachine.BPF) throw new CliError(`${path}: not a BPF object (e_machine ${obj.machine}, expected ${ElfMachine.BPF} EM_BPF)`);
  return obj;
}

/** The code sections of an object with their symbols, as the objdump layout wants them. */
export function objdumpInput(path: string, obj: ElfObject, sectionName?: string): ObjdumpInput {
  let sections = programSections(obj);
  if (sectionName !== undefined) {
    sections = sections.filter((p) => p.section.name === sectionName);
    if (sections.length === 0) {
      const names = programSections(obj).map((p) => p.section.name);
      throw new CliError(`${path}: no code section named '${sectionName}' (code sections: ${names.join(', ') || 'none'})`);
    }
  }
  return {
    path,
    endian: obj.endian,
    sections: sections.map(({ section }) => ({
      name: section.name,
      data: section.data,
      symbols: obj.symbols.filter((s) => s.sectionIndex === section.index && s.sectionIndex !== 0).map((s) => ({ name: s.name, value: s.value, type: s.type })),
    })),
  };
}
