import { BTF_MAGIC, BtfError, BtfIntEncoding, BtfKind, BtfVarLinkage, parseBtf, type Btf } from '@ebpf-sim/btf';
import { SHN_UNDEF, SymbolBind, SymbolType, type ElfObject, type ElfSection } from '@ebpf-sim/elf';
import { LoaderError } from './errors.js';
import { fixupKsyms, type KsymExtern } from './ksyms.js';

/** The section of extern `__kconfig` variables (libbpf's KCONFIG_SEC) and of `__ksym` ones (KSYMS_SEC). */
export const KCONFIG_SECTION = '.kconfig';
export const KSYMS_SECTION = '.ksyms';

/** ELF st_other visibility values that make libbpf treat a global variable as static (STV_INTERNAL, STV_HIDDEN). */
const STV_INTERNAL = 1;
const STV_HIDDEN = 2;
/** libbpf's tristate enum (`enum libbpf_tristate`), the type of a `CONFIG_X` that may be y, n or m. */
const TRISTATE_ENUM = 'libbpf_tristate';

/** How a `.kconfig` extern is filled from the kernel's config (libbpf's enum kcfg_type). */
export type KconfigType = 'bool' | 'char' | 'int' | 'tristate' | 'char-array';

/** One `extern ... __kconfig` variable: where libbpf lays it out in the `.kconfig` map (libbpf's extern_desc.kcfg). */
export interface KconfigExtern {
  readonly name: string;
  readonly type: KconfigType;
  /** Byte offset in the `.kconfig` map's value. */
  readonly offset: number;
  readonly size: number;
  readonly align: number;
  /** Declared `__weak`: a missing config option reads as 0 instead of failing the load. */
  readonly weak: boolean;
  /** For `int`: whether the C type is signed. */
  readonly signed: boolean;
}

/** The object's BTF after libbpf's open-time fixups, and its `.kconfig` layout. */
export interface ObjectBtf {
  /** The fixed blob in the host's (little-endian) byte order: what BPF_BTF_LOAD gets. */
  readonly bytes: Uint8Array;
  readonly btf: Btf;
  readonly kconfig: readonly KconfigExtern[];
  /** The `__ksym` externs (`.ksyms`), in libbpf's order. */
  readonly ksyms: readonly KsymExtern[];
}

/** btf_type's fixed part, and where each record is in the blob: enough to patch DATASECs before validation. */
export interface RawType {
  readonly id: number;
  readonly at: number;
  readonly kind: number;
  readonly vlen: number;
  readonly nameOff: number;
  readonly sizeOrType: number;
}

/** Bytes after the 12-byte btf_type that each kind carries (btf_type_size), per vlen entry or fixed. */
const KIND_EXTRA: Readonly<Record<number, { fixed: number; perVlen: number }>> = {
  [BtfKind.INT]: { fixed: 4, perVlen: 0 },
  [BtfKind.PTR]: { fixed: 0, perVlen: 0 },
  [BtfKind.ARRAY]: { fixed: 12, perVlen: 0 },
  [BtfKind.STRUCT]: { fixed: 0, perVlen: 12 },
  [BtfKind.UNION]: { fixed: 0, perVlen: 12 },
  [BtfKind.ENUM]: { fixed: 0, perVlen: 8 },
  [BtfKind.FWD]: { fixed: 0, perVlen: 0 },
  [BtfKind.TYPEDEF]: { fixed: 0, perVlen: 0 },
  [BtfKind.VOLATILE]: { fixed: 0, perVlen: 0 },
  [BtfKind.CONST]: { fixed: 0, perVlen: 0 },
  [BtfKind.RESTRICT]: { fixed: 0, perVlen: 0 },
  [BtfKind.FUNC]: { fixed: 0, perVlen: 0 },
  [BtfKind.FUNC_PROTO]: { fixed: 0, perVlen: 8 },
  [BtfKind.VAR]: { fixed: 4, perVlen: 0 },
  [BtfKind.DATASEC]: { fixed: 0, perVlen: 12 },
  [BtfKind.FLOAT]: { fixed: 0, perVlen: 0 },
  [BtfKind.DECL_TAG]: { fixed: 4, perVlen: 0 },
  [BtfKind.TYPE_TAG]: { fixed: 0, perVlen: 0 },
  [BtfKind.ENUM64]: { fixed: 0, perVlen: 12 },
};
const BTF_TYPE_SIZE = 12;
const HEADER_WORDS_FROM = 4;
const DATASEC_ENTRY = 12;

/**
 * Swap a big-endian blob to little-endian in place: every field of the header after magic/version/flags and
 * every word of the type section is a 32-bit value (libbpf's btf_bswap_hdr and btf_bswap_type_base/rest).
 * Returns false when the header does not fit (validation then reports it).
 */
function swapToLittle(bytes: Uint8Array, view: DataView): boolean {
  if (bytes.length < HEADER_WORDS_FROM + 4) return false;
  const hdrLen = view.getUint32(4, false);
  if (hdrLen > bytes.length || hdrLen < 24) return false;
  view.setUint16(0, BTF_MAGIC, true);
  for (let at = HEADER_WORDS_FROM; at + 4 <= hdrLen; at += 4) view.setUint32(at, view.getUint32(at, false), true);
  const start = hdrLen + view.getUint32(8, true);
  const end = Math.min(bytes.length, start + view.getUint32(12, true));
  for (let at = start; at + 4 <= end; at += 4) view.setUint32(at, view.getUint32(at, false), true);
  return true;
}

export class RawBtf {
  readonly types: RawType[] = [];
  private readonly strings: Uint8Array;
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
  ) {
    const hdrLen = bytes.length >= 24 ? view.getUint32(4, true) : bytes.length;
    const typeStart = hdrLen + (bytes.length >= 24 ? view.getUint32(8, true) : 0);
    const typeEnd = Math.min(bytes.length, typeStart + (bytes.length >= 24 ? view.getUint32(12, true) : 0));
    const strStart = hdrLen + (bytes.length >= 24 ? view.getUint32(16, true) : 0);
    this.strings = bytes.subarray(Math.min(strStart, bytes.length), Math.min(bytes.length, strStart + (bytes.length >= 24 ? view.getUint32(20, true) : 0)));
    // Walk what can be walked; anything malformed is left for parseBtf, which names it.
    for (let at = typeStart, id = 1; at + BTF_TYPE_SIZE <= typeEnd; id++) {
      const info = view.getUint32(at + 4, true);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const extra = KIND_EXTRA[kind];
      if (extra === undefined) break;
      const size = BTF_TYPE_SIZE + extra.fixed + extra.perVlen * vlen;
      if (at + size > typeEnd) break;
      this.types[id] = { id, at, kind, vlen, nameOff: view.getUint32(at, true), sizeOrType: view.getUint32(at + 8, true) };
      at += size;
    }
  }

  name(t: RawType): string {
    let s = '';
    for (let i = t.nameOff; i < this.strings.length && this.strings[i] !== 0; i++) s += String.fromCharCode(this.strings[i] ?? 0);
    return s;
  }

  /** The type under typedefs and modifiers. */
  resolve(id: number): RawType | undefined {
    let t = this.types[id];
    for (let depth = 0; t !== undefined && depth < 32; depth++) {
      if (t.kind !== BtfKind.TYPEDEF && t.kind !== BtfKind.CONST && t.kind !== BtfKind.VOLATILE && t.kind !== BtfKind.RESTRICT && t.kind !== BtfKind.TYPE_TAG)
        return t;
      t = this.types[t.sizeOrType];
    }
    return undefined;
  }
}

/** libbpf's find_kcfg_type(): the kconfig kind, size and alignment of an extern's type, or undefined if libbpf refuses it. */
function kconfigType(raw: RawBtf, typeId: number): { type: KconfigType; size: number; align: number; signed: boolean } | undefined {
  const t = raw.resolve(typeId);
  if (t === undefined) return undefined;
  if (t.kind === BtfKind.INT) {
    const data = raw.view.getUint32(t.at + BTF_TYPE_SIZE, true);
    const encoding = (data >>> 24) & 0xf;
    const size = t.sizeOrType;
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return undefined;
    const signed = (encoding & BtfIntEncoding.SIGNED) !== 0;
    if ((encoding & BtfIntEncoding.BOOL) !== 0) return size === 1 ? { type: 'bool', size, align: 1, signed } : undefined;
    if ((encoding & BtfIntEncoding.CHAR) !== 0) return size === 1 ? { type: 'char', size, align: 1, signed } : undefined;
    return { type: 'int', size, align: size, signed };
  }
  if (t.kind === BtfKind.ENUM) {
    if (t.sizeOrType !== 4 || raw.name(t) !== TRISTATE_ENUM) return undefined;
    return { type: 'tristate', size: 4, align: 4, signed: false };
  }
  if (t.kind === BtfKind.ARRAY) {
    const elem = raw.resolve(raw.view.getUint32(t.at + BTF_TYPE_SIZE, true));
    const nelems = raw.view.getUint32(t.at + BTF_TYPE_SIZE + 8, true);
    if (elem?.kind !== BtfKind.INT || elem.sizeOrType !== 1 || nelems === 0) return undefined;
    const encoding = (raw.view.getUint32(elem.at + BTF_TYPE_SIZE, true) >>> 24) & 0xf;
    if ((encoding & BtfIntEncoding.CHAR) === 0) return undefined;
    return { type: 'char-array', size: nelems, align: 1, signed: false };
  }
  return undefined;
}

interface Secinfo {
  type: number;
  offset: number;
  size: number;
}

function readSecinfos(raw: RawBtf, sec: RawType): Secinfo[] {
  const out: Secinfo[] = [];
  for (let i = 0; i < sec.vlen; i++) {
    const at = sec.at + BTF_TYPE_SIZE + i * DATASEC_ENTRY;
    out.push({ type: raw.view.getUint32(at, true), offset: raw.view.getUint32(at + 4, true), size: raw.view.getUint32(at + 8, true) });
  }
  return out;
}

function writeSecinfos(raw: RawBtf, sec: RawType, infos: readonly Secinfo[]): void {
  for (const [i, vs] of infos.entries()) {
    const at = sec.at + BTF_TYPE_SIZE + i * DATASEC_ENTRY;
    raw.view.setUint32(at, vs.type, true);
    raw.view.setUint32(at + 4, vs.offset, true);
    raw.view.setUint32(at + 8, vs.size, true);
  }
}

/** btf_var.linkage sits right after the VAR's btf_type. */
const varLinkageAt = (t: RawType): number => t.at + BTF_TYPE_SIZE;

/**
 * libbpf's bpf_object__collect_externs() for `.kconfig`: each extern gets its place in the `.kconfig` map,
 * sorted as cmp_externs() sorts them (by alignment, largest first; then by size; then by name), and its VAR
 * becomes BTF_VAR_GLOBAL_ALLOCATED so that the kernel takes the BTF.
 */
function layoutKconfig(raw: RawBtf, obj: ElfObject, sec: RawType): KconfigExtern[] {
  const infos = readSecinfos(raw, sec);
  const found = infos.map((vs) => {
    const v = raw.types[vs.type];
    if (v?.kind !== BtfKind.VAR) throw new LoaderError(`sec '${KCONFIG_SECTION}': DATASEC member [${vs.type}] is not a VAR`, 'format');
    const name = raw.name(v);
    const kt = kconfigType(raw, v.sizeOrType);
    if (kt === undefined)
      throw new LoaderError(`extern (kcfg) '${name}': type is unsupported`, 'unsupported', 'bool, char, int, enum libbpf_tristate or a char array');
    const sym = obj.symbols.find((s) => s.name === name && s.sectionIndex === SHN_UNDEF);
    return { vs, v, name, ...kt, weak: sym?.bind === SymbolBind.WEAK };
  });
  const sorted = [...found].sort((a, b) =>
    a.align !== b.align ? b.align - a.align : a.size !== b.size ? a.size - b.size : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  let end = 0;
  const placed = new Map<string, number>();
  const out: KconfigExtern[] = sorted.map((e) => {
    const offset = Math.ceil(end / e.align) * e.align;
    end = offset + e.size;
    placed.set(e.name, offset);
    return { name: e.name, type: e.type, offset, size: e.size, align: e.align, weak: e.weak, signed: e.signed };
  });
  raw.view.setUint32(sec.at + 8, end, true);
  for (const e of found) {
    raw.view.setUint32(varLinkageAt(e.v), BtfVarLinkage.GLOBAL_ALLOCATED, true);
    e.vs.offset = placed.get(e.name) ?? 0;
  }
  writeSecinfos(
    raw,
    sec,
    found.map((e) => e.vs).sort((a, b) => a.offset - b.offset),
  );
  return out;
}

/**
 * libbpf's btf_fixup_datasec(): clang leaves a DATASEC's size and its VARs' offsets 0, so they come from the
 * ELF section and symbols; a hidden global becomes static; the VARs are sorted by offset.
 */
function fixupDatasec(raw: RawBtf, obj: ElfObject, sec: RawType): void {
  const name = raw.name(sec);
  const infos = readSecinfos(raw, sec);
  const fixOffsets = sec.sizeOrType === 0;
  if (fixOffsets) {
    const elf: ElfSection | undefined = obj.section(name);
    if (elf === undefined || elf.size === 0) throw new LoaderError(`sec '${name}': failed to determine size from ELF: size ${elf?.size ?? 0}`, 'format');
    raw.view.setUint32(sec.at + 8, elf.size, true);
  }
  for (const [i, vs] of infos.entries()) {
    const v = raw.types[vs.type];
    if (v?.kind !== BtfKind.VAR) throw new LoaderError(`sec '${name}': unexpected non-VAR type [${vs.type}] found`, 'format');
    const linkage = raw.view.getUint32(varLinkageAt(v), true);
    if (linkage === BtfVarLinkage.GLOBAL_EXTERN) continue;
    const varName = raw.name(v);
    const sym = obj.symbols.find((s) => s.name === varName && s.type === SymbolType.OBJECT);
    if (sym === undefined) throw new LoaderError(`sec '${name}': failed to find ELF symbol for VAR '${varName}' (DATASEC member #${i})`, 'format');
    if (fixOffsets) vs.offset = sym.value;
    if (sym.visibility === STV_HIDDEN || sym.visibility === STV_INTERNAL) raw.view.setUint32(varLinkageAt(v), BtfVarLinkage.STATIC, true);
  }
  writeSecinfos(
    raw,
    sec,
    infos.sort((a, b) => a.offset - b.offset),
  );
}

/**
 * The object's `.BTF` as libbpf hands it to the kernel after bpf_object__open(): in the host's byte order
 * (libbpf swaps a foreign-endian blob), DATASECs fixed up from the ELF, `.kconfig` externs laid out; then
 * validated as the kernel's btf_parse would (the kernel must accept it at load). A blob the fixups cannot
 * walk is left to the validation, whose BtfError names the byte offset in the file.
 */
export function readObjectBtf(obj: ElfObject, section: ElfSection): ObjectBtf {
  const bytes = section.data.slice();
  const view = new DataView(bytes.buffer);
  if (bytes.length >= 2 && view.getUint16(0, true) !== BTF_MAGIC && view.getUint16(0, false) === BTF_MAGIC) swapToLittle(bytes, view);
  const raw = new RawBtf(bytes, view);
  let kconfig: KconfigExtern[] = [];
  let ksymsSec: RawType | undefined;
  for (const t of raw.types) {
    if (t?.kind !== BtfKind.DATASEC) continue;
    const name = raw.name(t);
    if (name === KSYMS_SECTION) ksymsSec = t;
    else if (name === KCONFIG_SECTION) kconfig = layoutKconfig(raw, obj, t);
    else fixupDatasec(raw, obj, t);
  }
  const fixed = ksymsSec === undefined ? { bytes, ksyms: [] } : fixupKsyms(raw, obj, ksymsSec);
  try {
    return { bytes: fixed.bytes, btf: parseBtf(fixed.bytes), kconfig, ksyms: fixed.ksyms };
  } catch (error) {
    if (!(error instanceof BtfError)) throw error;
    throw new BtfError(error.errno, `section ${section.name}: ${error.detail}`, section.offset + error.offset, error.typeId, error.log);
  }
}
