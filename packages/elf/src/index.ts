export { readElf, programSections } from './reader.js';
export type { ElfObject, ElfRelocation, ElfSection, ElfSymbol, ProgramSection } from './reader.js';
export { ElfError } from './errors.js';
export { ElfMachine, ElfType, SHN_ABS, SHN_COMMON, SHN_UNDEF, SectionFlag, SectionType, SymbolBind, SymbolType } from './constants.js';
