import { BTF_KIND_NAMES, BtfKind, BtfVarLinkage, type Btf, type BtfType } from '@ebpf-sim/btf';
import { SectionFlag, SectionType, SymbolType, type ElfObject } from '@ebpf-sim/elf';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_OBJ_NAME_LEN } from '@ebpf-sim/uapi';
import { LoaderError } from './errors.js';
import { KCONFIG_SECTION, type KconfigExtern } from './object-btf.js';
import { isDataSection } from './relocations.js';

/** Where a map definition came from: SEC(".maps") with BTF, the legacy `maps` section, a global data section, or `.kconfig`. */
export type MapOrigin = 'btf' | 'legacy' | 'data' | 'kconfig';

/** LIBBPF_PIN_NONE / LIBBPF_PIN_BY_NAME (enum libbpf_pin_type), the values `__uint(pinning, ...)` may take. */
export const LIBBPF_PIN = { NONE: 0, BY_NAME: 1 } as const;

/** One statically initialised slot of a map-in-map (an inner map, by name) or a PROG_ARRAY (a program, by name). */
export type MapSlot = { readonly index: number; readonly map: string } | { readonly index: number; readonly program: string };

/** A map as the object defines it, before BPF_MAP_CREATE (cilium/ebpf's MapSpec; libbpf's bpf_map after open). */
export interface MapSpec {
  /** The C name (`counts`), or the section for global data (`.rodata`, `.data.custom`): libbpf's real_name. */
  readonly name: string;
  /** The name BPF_MAP_CREATE gets: at most BPF_OBJ_NAME_LEN - 1 bytes (libbpf's map->name; internal_map_name() for data). */
  readonly kernelName: string;
  readonly origin: MapOrigin;
  /** The ELF section of the definition and the definition's byte offset there (what a map relocation's symbol points at). */
  readonly section: string;
  readonly sectionOffset: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly numaNode: number;
  readonly mapExtra: number;
  /** BTF type ids of key and value in the object's BTF (0 when the definition gives sizes only). */
  readonly keyTypeId: number;
  readonly valueTypeId: number;
  readonly pinning: number;
  /** The template of a map-in-map's inner maps (`__array(values, struct inner)`). */
  readonly inner?: MapSpec;
  /** Statically initialised slots (`.values = { [0] = &inner_a }`), by index. */
  readonly slots: readonly MapSlot[];
  /**
   * Initial value bytes of a global data map, which load writes before freezing `.rodata`; zeros for
   * `.kconfig` (load fills in the kernel's values). Undefined for `.bss` (SHT_NOBITS): the map starts zeroed.
   */
  readonly contents?: Uint8Array;
  /** `.rodata` and `.kconfig`: load freezes them after writing (libbpf's bpf_object__populate_internal_map). */
  readonly freeze: boolean;
}

const MAP_TYPE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(BPF_MAP_TYPE).map(([name, value]) => [value, name.toLowerCase()]));
const mapTypeName = (type: number): string => MAP_TYPE_NAMES.get(type) ?? `type ${type}`;
const kindName = (t: BtfType | undefined): string => (t === undefined ? 'a missing type' : (BTF_KIND_NAMES[t.kind] ?? 'UNKNOWN'));

/** The fields of struct bpf_map_def in the legacy `maps` section, in order (u32 each). */
const LEGACY_DEF_FIELDS = ['type', 'keySize', 'valueSize', 'maxEntries', 'flags'] as const;
const LEGACY_DEF_SIZE = LEGACY_DEF_FIELDS.length * 4;
const MAP_IN_MAP_VALUE_SIZE = 4;
const U32_MAX = 0xffffffff;

interface DefFields {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  numaNode: number;
  mapExtra: number;
  keyTypeId: number;
  valueTypeId: number;
  pinning: number;
  inner?: MapSpec;
  valuesMember?: { bitOffset: number };
}

/** libbpf's get_map_field_int(): `__uint(name, val)` is `int (*name)[val]`. */
function intField(btf: Btf, map: string, member: string, typeId: number): number {
  const ptr = btf.skipModifiers(typeId);
  if (ptr?.kind !== BtfKind.PTR) throw new LoaderError(`map '${map}': attr '${member}': expected PTR, got ${kindName(ptr)}.`, 'format');
  const arr = btf.skipModifiers(ptr.sizeOrType);
  if (arr?.kind !== BtfKind.ARRAY)
    throw new LoaderError(`map '${map}': attr '${member}': type [${ptr.sizeOrType}] is not an array, got ${kindName(arr)}.`, 'format');
  return arr.arrayNelems;
}

/** `__type(key, T)` is `T *key`: the type id and its size. */
function typeField(btf: Btf, map: string, member: string, typeId: number): { id: number; size: number } {
  const ptr = btf.skipModifiers(typeId);
  if (ptr?.kind !== BtfKind.PTR) throw new LoaderError(`map '${map}': ${member} spec is not PTR: ${kindName(ptr)}.`, 'format');
  const size = btf.sizeOf(ptr.sizeOrType);
  if (size === undefined) throw new LoaderError(`map '${map}': can't determine ${member} size for type [${ptr.sizeOrType}].`, 'format');
  return { id: ptr.sizeOrType, size };
}

function checkSize(map: string, what: string, declared: number, fromType: number): void {
  if (declared !== 0 && declared !== fromType) throw new LoaderError(`map '${map}': conflicting ${what} size ${declared} != ${fromType}.`, 'format');
}

/**
 * libbpf's parse_btf_map_def(): the members of a `.maps` definition's struct. `inner` is true for the
 * template inside `__array(values, ...)`, which may not nest further.
 */
function parseDef(btf: Btf, map: string, def: BtfType, inner: boolean): DefFields {
  const out: DefFields = { type: 0, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0, numaNode: 0, mapExtra: 0, keyTypeId: 0, valueTypeId: 0, pinning: 0 };
  let valuesType: number | undefined;
  for (const m of def.members) {
    switch (m.name) {
      case 'type':
        out.type = intField(btf, map, m.name, m.type);
        break;
      case 'max_entries':
        out.maxEntries = intField(btf, map, m.name, m.type);
        break;
      case 'map_flags':
        out.flags = intField(btf, map, m.name, m.type);
        break;
      case 'numa_node':
        out.numaNode = intField(btf, map, m.name, m.type);
        break;
      case 'map_extra':
        out.mapExtra = intField(btf, map, m.name, m.type);
        break;
      case 'key_size':
        checkSize(map, 'key', out.keySize, intField(btf, map, m.name, m.type));
        out.keySize = intField(btf, map, m.name, m.type);
        break;
      case 'value_size':
        checkSize(map, 'value', out.valueSize, intField(btf, map, m.name, m.type));
        out.valueSize = intField(btf, map, m.name, m.type);
        break;
      case 'key': {
        const key = typeField(btf, map, 'key', m.type);
        checkSize(map, 'key', out.keySize, key.size);
        out.keySize = key.size;
        out.keyTypeId = key.id;
        break;
      }
      case 'value': {
        const value = typeField(btf, map, 'value', m.type);
        checkSize(map, 'value', out.valueSize, value.size);
        out.valueSize = value.size;
        out.valueTypeId = value.id;
        break;
      }
      case 'values':
        if (inner) throw new LoaderError(`map '${map}': multi-level inner maps not supported.`, 'unsupported');
        valuesType = m.type;
        out.valuesMember = { bitOffset: m.bitOffset };
        break;
      case 'pinning': {
        if (inner) throw new LoaderError(`map '${map}': inner def can't be pinned.`, 'format');
        const pinning = intField(btf, map, m.name, m.type);
        if (pinning !== LIBBPF_PIN.NONE && pinning !== LIBBPF_PIN.BY_NAME) throw new LoaderError(`map '${map}': invalid pinning value ${pinning}.`, 'format');
        out.pinning = pinning;
        break;
      }
      default:
        throw new LoaderError(`map '${map}': unknown field '${m.name}'.`, 'unsupported');
    }
  }
  if (valuesType !== undefined) parseValues(btf, map, valuesType, out);
  return out;
}

/** `__array(values, T)`: a zero-length array of pointers to an inner map definition, or to a function prototype for PROG_ARRAY. */
function parseValues(btf: Btf, map: string, typeId: number, out: DefFields): void {
  const isMapInMap = out.type === BPF_MAP_TYPE.ARRAY_OF_MAPS || out.type === BPF_MAP_TYPE.HASH_OF_MAPS;
  const isProgArray = out.type === BPF_MAP_TYPE.PROG_ARRAY;
  if (!isMapInMap && !isProgArray) throw new LoaderError(`map '${map}': should be map-in-map or prog-array, not ${mapTypeName(out.type)}.`, 'format');
  const arr = btf.skipModifiers(typeId);
  if (arr?.kind !== BtfKind.ARRAY || arr.arrayNelems !== 0) throw new LoaderError(`map '${map}': values spec is not a zero-sized array.`, 'format');
  const ptr = btf.skipModifiers(arr.arrayType);
  if (ptr?.kind !== BtfKind.PTR) throw new LoaderError(`map '${map}': values spec is not an array of pointers, got ${kindName(ptr)}.`, 'format');
  const target = btf.skipModifiers(ptr.sizeOrType);
  checkSize(map, 'value', out.valueSize, MAP_IN_MAP_VALUE_SIZE);
  out.valueSize = MAP_IN_MAP_VALUE_SIZE;
  if (isProgArray) {
    if (target?.kind !== BtfKind.FUNC_PROTO) throw new LoaderError(`map '${map}': prog-array value def is of unexpected kind ${kindName(target)}.`, 'format');
    return;
  }
  if (target?.kind !== BtfKind.STRUCT) throw new LoaderError(`map '${map}': map-in-map inner def is of unexpected kind ${kindName(target)}.`, 'format');
  const innerName = `${map}.inner`;
  const fields = parseDef(btf, innerName, target, true);
  out.inner = specOf(innerName, 'btf', '.maps', 0, fields, []);
}

function specOf(
  name: string,
  origin: MapOrigin,
  section: string,
  sectionOffset: number,
  f: DefFields,
  slots: MapSlot[],
  extra: Partial<MapSpec> = {},
): MapSpec {
  return {
    name,
    kernelName: name.slice(0, BPF_OBJ_NAME_LEN - 1),
    origin,
    section,
    sectionOffset,
    type: f.type,
    keySize: f.keySize,
    valueSize: f.valueSize,
    maxEntries: f.maxEntries,
    flags: f.flags,
    numaNode: f.numaNode,
    mapExtra: f.mapExtra,
    keyTypeId: f.keyTypeId,
    valueTypeId: f.valueTypeId,
    pinning: f.pinning,
    ...(f.inner === undefined ? {} : { inner: f.inner }),
    slots,
    freeze: false,
    ...extra,
  };
}

/** The function symbol a PROG_ARRAY slot's relocation names must be an entry program (libbpf: not a sub-program). */
function slotTarget(
  obj: ElfObject,
  map: string,
  index: number,
  symIndex: number,
  isProgArray: boolean,
  maps: ReadonlyMap<number, string>,
  entryPrograms: ReadonlySet<string>,
): MapSlot {
  const sym = obj.symbols[symIndex];
  if (sym === undefined) throw new LoaderError(`map '${map}': slot [${index}]: symbol #${symIndex} not found`, 'format');
  if (isProgArray) {
    if (sym.type !== SymbolType.FUNC || !entryPrograms.has(sym.name)) {
      throw new LoaderError(
        `map '${map}': slot [${index}]: '${sym.name}' is not an entry program`,
        'reloc',
        'PROG_ARRAY slots take SEC() programs, not .text functions',
      );
    }
    return { index, program: sym.name };
  }
  const target = obj.sections[sym.sectionIndex]?.name === '.maps' ? maps.get(sym.value) : undefined;
  if (target === undefined) throw new LoaderError(`map '${map}': slot [${index}]: '${sym.name}' is not a map of .maps`, 'reloc');
  return { index, map: target };
}

/**
 * The maps of SEC(".maps"), as libbpf's bpf_object__init_user_btf_maps() and bpf_object__collect_map_relos()
 * read them: one per VAR of the `.maps` DATASEC, its struct's members the attributes, and the relocations of
 * `.maps` the statically initialised slots of map-in-maps and PROG_ARRAYs.
 */
export function readBtfMaps(obj: ElfObject, btf: Btf, entryPrograms: ReadonlySet<string>): MapSpec[] {
  const section = obj.section('.maps');
  if (section === undefined) return [];
  const datasec = btf.types.find((t) => t.kind === BtfKind.DATASEC && t.name === '.maps');
  if (datasec === undefined) throw new LoaderError(`elf: DATASEC '.maps' not found.`, 'format', 'SEC(".maps") needs the object compiled with -g');
  const defs = datasec.secinfo.map((vs) => {
    const v = btf.types[vs.type];
    if (v?.kind !== BtfKind.VAR) throw new LoaderError(`map #${vs.type}: DATASEC '.maps' member is ${kindName(v)}, not a VAR.`, 'format');
    const name = v.name;
    if (v.linkage !== BtfVarLinkage.STATIC && v.linkage !== BtfVarLinkage.GLOBAL_ALLOCATED)
      throw new LoaderError(`map '${name}': unsupported map linkage ${v.linkage}.`, 'format');
    const def = btf.skipModifiers(v.sizeOrType);
    if (def?.kind !== BtfKind.STRUCT) throw new LoaderError(`map '${name}': unexpected def kind ${kindName(def)}.`, 'format');
    if (vs.offset + vs.size > section.size)
      throw new LoaderError(`map '${name}' BTF data is corrupted.`, 'format', `offset ${vs.offset} + size ${vs.size} past the ${section.size}-byte section`);
    return { name, vs, fields: parseDef(btf, name, def, false) };
  });
  const byOffset = new Map(defs.map((d) => [d.vs.offset, d.name]));
  const slots = new Map<string, MapSlot[]>(defs.map((d) => [d.name, []]));
  for (const [i, rel] of obj.relocations(section).entries()) {
    const d = defs.find((x) => rel.offset >= x.vs.offset && rel.offset < x.vs.offset + x.vs.size);
    if (d === undefined) throw new LoaderError(`.maps relo #${i}: cannot find map at offset ${rel.offset}`, 'reloc');
    const values = d.fields.valuesMember;
    if (values === undefined) throw new LoaderError(`map '${d.name}': relo #${i}: only map-in-map and prog-array slots may be initialised`, 'reloc');
    const slotBytes = rel.offset - d.vs.offset - values.bitOffset / 8;
    if (slotBytes < 0 || slotBytes % 8 !== 0) throw new LoaderError(`map '${d.name}': relo #${i} at offset ${rel.offset} is not a slot of 'values'`, 'reloc');
    const index = slotBytes / 8;
    if (index >= d.fields.maxEntries) throw new LoaderError(`map '${d.name}': slot [${index}] is past max_entries ${d.fields.maxEntries}`, 'reloc');
    slots.get(d.name)?.push(slotTarget(obj, d.name, index, rel.symbolIndex, d.fields.type === BPF_MAP_TYPE.PROG_ARRAY, byOffset, entryPrograms));
  }
  return defs.map((d) => specOf(d.name, 'btf', '.maps', d.vs.offset, d.fields, slots.get(d.name) ?? []));
}

/**
 * The legacy `maps` section: one struct bpf_map_def per symbol, all the same size (the section's size over the
 * symbol count). libbpf 1.0 dropped these (it refuses the section); this follows libbpf 0.x and cilium/ebpf,
 * which still read them: a longer definition (iproute2's id/pinning fields) must have its extra bytes zero.
 */
export function readLegacyMaps(obj: ElfObject): MapSpec[] {
  const section = obj.section('maps');
  if (section === undefined) return [];
  const syms = obj.symbols.filter((s) => s.sectionIndex === section.index && s.type !== SymbolType.SECTION && s.name !== '').sort((a, b) => a.value - b.value);
  if (syms.length === 0) return [];
  const defSize = section.size / syms.length;
  if (!Number.isInteger(defSize)) {
    throw new LoaderError(`elf: unable to determine legacy map definition size in section maps, ${syms.length} maps in ${section.size} bytes`, 'format');
  }
  const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  const little = obj.endian === 'little';
  return syms.map((sym) => {
    if (sym.value + defSize > section.size) {
      throw new LoaderError(`elf: corrupted maps section: last map "${sym.name}" too small`, 'format', `at file offset ${section.offset + sym.value}`);
    }
    const field = (i: number): number => (i * 4 + 4 <= defSize ? view.getUint32(sym.value + i * 4, little) : 0);
    for (let at = LEGACY_DEF_SIZE; at < defSize; at++) {
      if (section.data[sym.value + at] !== 0) {
        throw new LoaderError(
          `elf: maps section: "${sym.name}" has unrecognized, non-zero options`,
          'unsupported',
          `at file offset ${section.offset + sym.value + at}`,
        );
      }
    }
    const fields: DefFields = {
      type: 0,
      keySize: 0,
      valueSize: 0,
      maxEntries: 0,
      flags: 0,
      numaNode: 0,
      mapExtra: 0,
      keyTypeId: 0,
      valueTypeId: 0,
      pinning: 0,
    };
    LEGACY_DEF_FIELDS.forEach((name, i) => (fields[name] = field(i)));
    return specOf(sym.name, 'legacy', 'maps', sym.value, fields, []);
  });
}

/** libbpf's internal_map_name(): the object's name (up to the first '.') before the section's, in 15 bytes, for `.rodata`; a custom `.data.x` alone. */
export function internalMapName(objectName: string, realName: string): string {
  const max = BPF_OBJ_NAME_LEN - 1;
  const sfxLen = Math.min(Math.max(7, realName.length), max);
  const prefix = realName.indexOf('.', 1) >= 0 ? '' : objectName.slice(0, Math.max(0, Math.min(max - sfxLen, objectName.length)));
  return `${prefix}${realName.slice(0, sfxLen)}`.replace(/[^A-Za-z0-9_.]/g, '_');
}

/** libbpf's map_is_mmapable(): a data section's DATASEC holds at least one non-static variable. */
function isMmapable(btf: Btf | undefined, datasecId: number): boolean {
  const t = btf?.types[datasecId];
  if (btf === undefined || t?.kind !== BtfKind.DATASEC) return false;
  return t.secinfo.some((vs) => {
    const v = btf.types[vs.type];
    return v?.kind === BtfKind.VAR && v.linkage !== BtfVarLinkage.STATIC;
  });
}

function internalMap(
  name: string,
  kernelName: string,
  origin: MapOrigin,
  section: string,
  valueSize: number,
  contents: Uint8Array | undefined,
  btf: Btf | undefined,
  readonly: boolean,
): MapSpec {
  const datasecId = btf?.types.find((t) => t.kind === BtfKind.DATASEC && t.name === name)?.id ?? 0;
  const flags = (readonly ? BPF_MAP_F.RDONLY_PROG : 0) | (isMmapable(btf, datasecId) ? BPF_MAP_F.MMAPABLE : 0);
  const fields: DefFields = {
    type: BPF_MAP_TYPE.ARRAY,
    keySize: 4,
    valueSize,
    maxEntries: 1,
    flags,
    numaNode: 0,
    mapExtra: 0,
    keyTypeId: 0,
    valueTypeId: datasecId,
    pinning: 0,
  };
  return specOf(name, origin, section, 0, fields, [], { kernelName, ...(contents === undefined ? {} : { contents }), freeze: readonly });
}

const isRodata = (name: string): boolean => name === '.rodata' || name.startsWith('.rodata.');

/**
 * libbpf's bpf_object__init_global_data_maps() and bpf_object__init_kconfig_map(): one single-element ARRAY per
 * non-empty `.data*`, `.rodata*` and `.bss*` section, its value the section's bytes (zeros for `.bss`),
 * `.rodata*` read-only for programs and frozen after load writes it; and one for `.kconfig` externs.
 */
export function readDataMaps(obj: ElfObject, objectName: string, btf: Btf | undefined, kconfig: readonly KconfigExtern[]): MapSpec[] {
  const out: MapSpec[] = [];
  for (const section of obj.sections) {
    if (!isDataSection(section.name) || section.size === 0 || (section.flags & SectionFlag.ALLOC) === 0) continue;
    if (section.size > U32_MAX) throw new LoaderError(`sec '${section.name}': size ${section.size} does not fit a map's 32-bit value_size`, 'format');
    const contents = section.type === SectionType.NOBITS ? undefined : section.data.slice();
    out.push(internalMap(section.name, internalMapName(objectName, section.name), 'data', section.name, section.size, contents, btf, isRodata(section.name)));
  }
  if (kconfig.length > 0) {
    const size = Math.max(...kconfig.map((e) => e.offset + e.size));
    out.push(internalMap(KCONFIG_SECTION, internalMapName(objectName, KCONFIG_SECTION), 'kconfig', KCONFIG_SECTION, size, new Uint8Array(size), btf, true));
  }
  return out;
}
