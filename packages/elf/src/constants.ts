/** ELF constants used by the reader (values from the System V gABI and linux/elf.h). */

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;

/** e_type values. */
export const ElfType = { NONE: 0, REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;

/** e_machine values the project cares about. */
export const ElfMachine = { NONE: 0, X86_64: 62, AARCH64: 183, BPF: 247 } as const;

/** sh_type values. */
export const SectionType = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** sh_flags bits. */
export const SectionFlag = { WRITE: 0x1, ALLOC: 0x2, EXECINSTR: 0x4 } as const;

/** Symbol types (low nibble of st_info). */
export const SymbolType = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 } as const;
/** Symbol bindings (high nibble of st_info). */
export const SymbolBind = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;
/** Special section indexes. */
export const SHN_UNDEF = 0;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

/** Sizes of the fixed ELF64 records. */
export const EHDR_SIZE = 64;
export const SHDR_SIZE = 64;
export const SYM_SIZE = 24;
export const REL_SIZE = 16;
export const RELA_SIZE = 24;
