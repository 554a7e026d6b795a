import { BtfError, readBtfExt, type BtfCoreReloKind, type BtfExt, type BtfExtSection } from '@ebpf-sim/btf';
import { readElf, type ElfObject } from '@ebpf-sim/elf';
import { SLOT_SIZE } from '@ebpf-sim/isa';
import { LoaderError } from './errors.js';
import { readStructOps, type StructOpsSpec } from './struct-ops.js';
import { readLicense } from './license.js';
import { readBtfMaps, readDataMaps, readLegacyMaps, type MapSpec } from './maps.js';
import { KCONFIG_SECTION, readObjectBtf, type KconfigExtern, type ObjectBtf } from './object-btf.js';
import type { KsymExtern } from './ksyms.js';
import { readPrograms, type LinkedFunction, type LoadReference, type ProgramSpec } from './programs.js';
import { programSection, type ProgramSection } from './sec-defs.js';

/** The `version` section (`__u32 _version SEC("version")`): the kernel version old kprobe loaders passed as kern_version. */
export const VERSION_SECTION = 'version';

/**
 * A reference of a program that the load step patches, with the map it names already found: a `map`
 * reference becomes BPF_PSEUDO_MAP_FD of `map`; a `data` reference or a `.kconfig` extern becomes
 * BPF_PSEUDO_MAP_VALUE of `map` at `valueOffset` (plus the instruction's own immediate, as libbpf adds it).
 * `extern-call` (kfuncs) stays unresolved: it needs the kernel's BTF.
 */
export type ResolvedReference = LoadReference & { readonly map?: string; readonly valueOffset?: number };

/** A func_info record of a linked program: `insn` counts slots of {@link ProgramSpec.insns}, as BPF_PROG_LOAD wants it. */
export interface ProgramFuncInfo {
  readonly insn: number;
  readonly typeId: number;
}
export interface ProgramLineInfo {
  readonly insn: number;
  /** Offsets of the file name and the source line in the object's BTF strings (struct bpf_line_info's file_name_off, line_off). */
  readonly fileNameOff: number;
  readonly lineOff: number;
  readonly fileName: string;
  readonly line: string;
  readonly lineNumber: number;
  readonly column: number;
}
export interface ProgramCoreRelo {
  readonly insn: number;
  readonly typeId: number;
  readonly accessString: string;
  readonly kind: BtfCoreReloKind;
}

/** One program of an object with what its SEC() name means and its BTF records (cilium/ebpf's ProgramSpec). */
export interface ObjectProgram extends Omit<ProgramSpec, 'references'> {
  /** libbpf's SEC() table answer; undefined for a section name libbpf does not know (load then refuses the program). */
  readonly section: ProgramSection | undefined;
  readonly references: readonly ResolvedReference[];
  readonly funcInfo: readonly ProgramFuncInfo[];
  readonly lineInfo: readonly ProgramLineInfo[];
  readonly coreRelos: readonly ProgramCoreRelo[];
}

/** Everything bpf_object__open() learns from an object, before any syscall (cilium/ebpf's CollectionSpec). */
export interface ObjectSpec {
  /** The object's name, for libbpf's internal map names (`globals.rodata`): {@link OpenOptions.name}. */
  readonly name: string;
  readonly endian: 'little' | 'big';
  readonly license: string;
  /** The `version` section's value, undefined without one. */
  readonly kernelVersion: number | undefined;
  readonly programs: readonly ObjectProgram[];
  /** BTF maps, then legacy maps, then global data maps and `.kconfig`: libbpf's order. */
  readonly maps: readonly MapSpec[];
  /** The fixed-up `.BTF` (undefined for an object compiled without -g). */
  readonly btf: ObjectBtf | undefined;
  readonly btfExt: BtfExt | undefined;
  readonly kconfig: readonly KconfigExtern[];
  /** The SEC(".struct_ops") / SEC(".struct_ops.link") variables: struct_ops maps made at load. */
  readonly structOps: readonly StructOpsSpec[];
}

export interface OpenOptions {
  /**
   * The object's name, as libbpf takes it from the file name up to its first '.' (`globals` for
   * `globals.bpf.o`); it prefixes the kernel names of the global data maps. Default ''.
   */
  readonly name?: string;
}

/** libbpf's bpf_object__init_kversion(). */
function readKernelVersion(obj: ElfObject): number | undefined {
  const section = obj.section(VERSION_SECTION);
  if (section === undefined) return undefined;
  if (section.size !== 4)
    throw new LoaderError(`elf: invalid kver section size ${section.size} in ${VERSION_SECTION}`, 'format', `at file offset ${section.offset}`);
  return new DataView(section.data.buffer, section.data.byteOffset, 4).getUint32(0, obj.endian === 'little');
}

/** The records of `.BTF.ext` that fall in the program's functions, moved to their linked slots. */
function recordsFor<T extends { readonly insnOff: number }, R>(
  sections: readonly BtfExtSection<T>[],
  functions: readonly LinkedFunction[],
  make: (insn: number, record: T) => R,
): R[] {
  const out: { insn: number; value: R }[] = [];
  for (const fn of functions) {
    const records = sections.find((s) => s.section === fn.section)?.records ?? [];
    for (const r of records) {
      const slot = r.insnOff / SLOT_SIZE;
      if (slot < fn.sectionSlot || slot >= fn.sectionSlot + fn.slots) continue;
      const insn = fn.slot + slot - fn.sectionSlot;
      out.push({ insn, value: make(insn, r) });
    }
  }
  return out.sort((a, b) => a.insn - b.insn).map((x) => x.value);
}

function resolveReference(
  prog: ProgramSpec,
  ref: LoadReference,
  maps: readonly MapSpec[],
  kconfig: readonly KconfigExtern[],
  ksyms: readonly KsymExtern[] = [],
): ResolvedReference {
  const where = `prog '${prog.name}': insn #${ref.insn}`;
  switch (ref.kind) {
    case 'map': {
      const map = maps.find((m) => m.section === ref.section && m.sectionOffset === ref.symbolOffset && m.origin !== 'data');
      if (map === undefined) throw new LoaderError(`${where}: map relo failed to find map for section '${ref.section}', off ${ref.symbolOffset}`, 'reloc');
      return { ...ref, map: map.name };
    }
    case 'data': {
      const map = maps.find((m) => m.origin === 'data' && m.section === ref.section);
      if (map === undefined) throw new LoaderError(`${where}: data relo against '${ref.symbol}' in section '${ref.section}', which has no map`, 'reloc');
      return { ...ref, map: map.name, valueOffset: ref.symbolOffset };
    }
    case 'extern-ld64': {
      const ext = kconfig.find((e) => e.name === ref.symbol);
      // A `__ksym` address (bpf_ksym_exists): resolved against the kernel's BTF at load (ksyms.ts).
      if (ext === undefined && ksyms.some((k) => k.name === ref.symbol)) return ref;
      if (ext === undefined)
        throw new LoaderError(`${where}: extern '${ref.symbol}' is neither __kconfig nor known`, 'unsupported', 'only .kconfig externs are supported');
      return { ...ref, map: KCONFIG_SECTION, valueOffset: ext.offset };
    }
    case 'extern-call':
      return ref;
  }
}

/**
 * Open a BPF ELF object as libbpf's bpf_object__open() and cilium/ebpf's LoadCollectionSpec do: its
 * programs (linked with their sub-programs, typed by the SEC() table, with their func_info, line_info and
 * CO-RE records), its maps (BTF `.maps`, legacy `maps`, global data, `.kconfig`) and BTF, and what the load
 * step must patch. No syscalls; the same bytes give the same spec. Throws ElfError or BtfError (with the
 * byte offset) for a malformed file, LoaderError (naming the section, program or map) for what libbpf refuses.
 */
export function openObject(bytes: Uint8Array, options: OpenOptions = {}): ObjectSpec {
  // The spec's section views are fixed up in copies made with slice(); a subclass such as Node's Buffer (whose
  // slice() is a view into its shared pool) would have them written into the caller's memory instead: read a
  // plain Uint8Array of the same bytes.
  const obj = readElf(Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes));
  const name = options.name ?? '';
  const programs = readPrograms(obj);
  const btfSection = obj.section('.BTF');
  const btf = btfSection === undefined ? undefined : readObjectBtf(obj, btfSection);
  const extSection = obj.section('.BTF.ext');
  const btfExt = extSection === undefined || btf === undefined ? undefined : readBtfExtAt(extSection.data, btf, extSection.offset);
  const kconfig = btf?.kconfig ?? [];
  if (obj.section('.maps') !== undefined && btf === undefined) throw new LoaderError(`elf: SEC(".maps") needs BTF`, 'format', 'compile with -g');
  const entryNames = new Set(programs.map((p) => p.name));
  const maps = [...(btf === undefined ? [] : readBtfMaps(obj, btf.btf, entryNames)), ...readLegacyMaps(obj), ...readDataMaps(obj, name, btf?.btf, kconfig)];
  return {
    name,
    endian: obj.endian,
    license: readLicense(obj),
    kernelVersion: readKernelVersion(obj),
    programs: programs.map((p) => ({
      ...p,
      section: programSection(p.sectionName),
      references: p.references.map((r) => resolveReference(p, r, maps, kconfig, btf?.ksyms)),
      funcInfo: recordsFor(btfExt?.funcInfo ?? [], p.functions, (insn, r) => ({ insn, typeId: r.typeId })),
      lineInfo: recordsFor(btfExt?.lineInfo ?? [], p.functions, (insn, r) => ({
        insn,
        fileNameOff: r.fileNameOff,
        lineOff: r.lineOff,
        fileName: r.fileName,
        line: r.line,
        lineNumber: r.lineNumber,
        column: r.column,
      })),
      coreRelos: recordsFor(btfExt?.coreRelos ?? [], p.functions, (insn, r) => ({ insn, typeId: r.typeId, accessString: r.accessString, kind: r.kind })),
    })),
    maps,
    btf,
    btfExt,
    kconfig,
    structOps: readStructOps(obj, btf?.btf),
  };
}

/** readBtfExt with its error offsets moved from the section to the file. */
function readBtfExtAt(data: Uint8Array, btf: ObjectBtf, fileOffset: number): BtfExt {
  try {
    return readBtfExt(data, btf.btf.strings);
  } catch (error) {
    if (!(error instanceof BtfError)) throw error;
    throw new BtfError(error.errno, `section .BTF.ext: ${error.detail}`, fileOffset + error.offset, error.typeId, error.log);
  }
}
