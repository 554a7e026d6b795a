/**
 * The raw listing of `bpftool btf dump file X` (format raw, plain text): one `[id] KIND 'name' ...` line per type with
 * its members, values, parameters or variables on tab-indented lines below, as bpftool's dump_btf_type prints them
 * (bpftool v7.1, src/btf.c).
 */
import { BTF_KIND_NAMES, BtfFuncLinkage, BtfIntEncoding, BtfKind, BtfVarLinkage } from './constants.js';
import type { Btf, BtfType } from './reader.js';

/** btf_int_enc_str. */
const INT_ENCODING_NAMES: ReadonlyMap<number, string> = new Map([
  [0, '(none)'],
  [BtfIntEncoding.SIGNED, 'SIGNED'],
  [BtfIntEncoding.CHAR, 'CHAR'],
  [BtfIntEncoding.BOOL, 'BOOL'],
]);
/** btf_func_linkage_str. */
const FUNC_LINKAGE_NAMES: ReadonlyMap<number, string> = new Map([
  [BtfFuncLinkage.STATIC, 'static'],
  [BtfFuncLinkage.GLOBAL, 'global'],
  [BtfFuncLinkage.EXTERN, 'extern'],
]);
/** btf_var_linkage_str. */
const VAR_LINKAGE_NAMES: ReadonlyMap<number, string> = new Map([
  [BtfVarLinkage.STATIC, 'static'],
  [BtfVarLinkage.GLOBAL_ALLOCATED, 'global'],
  [BtfVarLinkage.GLOBAL_EXTERN, 'extern'],
]);

/** btf_str: "(anon)" for an empty name. */
const quoted = (name: string): string => `'${name === '' ? '(anon)' : name}'`;

/** What follows `[id] KIND 'name'` for each kind (dump_btf_type's switch). */
const KIND_DETAILS: Readonly<Partial<Record<BtfKind, (t: BtfType, btf: Btf) => string>>> = {
  [BtfKind.INT]: (t) => ` size=${t.sizeOrType} bits_offset=${t.intOffset} nr_bits=${t.intBits} encoding=${INT_ENCODING_NAMES.get(t.intEncoding) ?? 'UNKN'}`,
  [BtfKind.PTR]: (t) => ` type_id=${t.sizeOrType}`,
  [BtfKind.CONST]: (t) => ` type_id=${t.sizeOrType}`,
  [BtfKind.VOLATILE]: (t) => ` type_id=${t.sizeOrType}`,
  [BtfKind.RESTRICT]: (t) => ` type_id=${t.sizeOrType}`,
  [BtfKind.TYPEDEF]: (t) => ` type_id=${t.sizeOrType}`,
  [BtfKind.TYPE_TAG]: (t) => ` type_id=${t.sizeOrType}`,
  [BtfKind.ARRAY]: (t) => ` type_id=${t.arrayType} index_type_id=${t.arrayIndexType} nr_elems=${t.arrayNelems}`,
  [BtfKind.STRUCT]: (t) => members(t),
  [BtfKind.UNION]: (t) => members(t),
  [BtfKind.ENUM]: (t) =>
    ` encoding=${t.kindFlag ? 'SIGNED' : 'UNSIGNED'} size=${t.sizeOrType} vlen=${t.vlen}` +
    t.enumValues.map((v) => `\n\t${quoted(v.name)} val=${t.kindFlag ? BigInt.asIntN(32, v.value) : BigInt.asUintN(32, v.value)}`).join(''),
  [BtfKind.ENUM64]: (t) =>
    ` encoding=${t.kindFlag ? 'SIGNED' : 'UNSIGNED'} size=${t.sizeOrType} vlen=${t.vlen}` +
    t.enumValues.map((v) => `\n\t${quoted(v.name)} val=${t.kindFlag ? `${BigInt.asIntN(64, v.value)}LL` : `${BigInt.asUintN(64, v.value)}ULL`}`).join(''),
  [BtfKind.FWD]: (t) => ` fwd_kind=${t.kindFlag ? 'union' : 'struct'}`,
  [BtfKind.FUNC]: (t) => ` type_id=${t.sizeOrType} linkage=${FUNC_LINKAGE_NAMES.get(t.vlen) ?? '(unknown)'}`,
  [BtfKind.FUNC_PROTO]: (t) => ` ret_type_id=${t.sizeOrType} vlen=${t.vlen}` + t.params.map((p) => `\n\t${quoted(p.name)} type_id=${p.type}`).join(''),
  [BtfKind.VAR]: (t) => ` type_id=${t.sizeOrType}, linkage=${VAR_LINKAGE_NAMES.get(t.linkage) ?? '(unknown)'}`,
  [BtfKind.DATASEC]: (t, btf) =>
    ` size=${t.sizeOrType} vlen=${t.vlen}` +
    t.secinfo
      .map((v) => {
        const vt = btf.types[v.type];
        return `\n\ttype_id=${v.type} offset=${v.offset} size=${v.size}${vt === undefined ? '' : ` (${BTF_KIND_NAMES[vt.kind] ?? 'UNKNOWN'} ${quoted(vt.name)})`}`;
      })
      .join(''),
  [BtfKind.FLOAT]: (t) => ` size=${t.sizeOrType}`,
  [BtfKind.DECL_TAG]: (t) => ` type_id=${t.sizeOrType} component_idx=${t.componentIdx}`,
};

function members(t: BtfType): string {
  let out = ` size=${t.sizeOrType} vlen=${t.vlen}`;
  for (const m of t.members) {
    out += `\n\t${quoted(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}`;
    if (m.bitfieldSize !== 0) out += ` bitfield_size=${m.bitfieldSize}`;
  }
  return out;
}

/** One type as bpftool's dump_btf_type prints it, with its trailing newline. */
export function dumpBtfTypeRaw(btf: Btf, id: number): string {
  const t = btf.types[id];
  if (t === undefined || id === 0) throw new RangeError(`no BTF type [${id}] (the blob has ${btf.types.length - 1} types)`);
  return `[${id}] ${BTF_KIND_NAMES[t.kind] ?? 'UNKNOWN'} ${quoted(t.name)}${KIND_DETAILS[t.kind]?.(t, btf) ?? ''}\n`;
}

/** `bpftool btf dump file X` (format raw): every type from id 1, or only `rootIds` in the given order. */
export function dumpBtfRaw(btf: Btf, rootIds?: readonly number[]): string {
  const ids = rootIds ?? Array.from({ length: btf.types.length - 1 }, (_, i) => i + 1);
  return ids.map((id) => dumpBtfTypeRaw(btf, id)).join('');
}
