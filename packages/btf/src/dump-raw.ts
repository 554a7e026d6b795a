/**
 * The raw listing of `bpftool btf dump file X` (format raw): in plain text one `[id] KIND 'name' ...` line per type with
 * its members, values, parameters or variables on tab-indented lines below; with `-j` (or `-p`) the same as JSON. Both
 * are printed from one description of each type, in the order bpftool's dump_btf_type prints its fields (bpftool v7.1,
 * src/btf.c).
 */
import { BTF_KIND_NAMES, BtfFuncLinkage, BtfIntEncoding, BtfKind, BtfVarLinkage } from './constants.js';
import { BtfJsonWriter } from './format-value.js';
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
const nameOf = (name: string): string => (name === '' ? '(anon)' : name);

/** One field: `key=value` in text (unless `text` says otherwise), `"key": value` in JSON (strings quoted). */
interface RawField {
  readonly key: string;
  readonly value: number | bigint | string;
  readonly text?: string;
}
/** A member, enumerator, parameter or variable: one tab-indented line in text, one object in JSON. */
interface RawItem {
  readonly fields: readonly RawField[];
  /** Text only: what follows the fields (a DATASEC variable's kind and name). */
  readonly textSuffix?: string;
}
interface RawType {
  readonly fields: readonly RawField[];
  /** The JSON name of the items' array ("members", "values", "params", "vars"). */
  readonly listName?: string;
  readonly items?: readonly RawItem[];
}

const field = (key: string, value: number | bigint | string, text?: string): RawField => (text === undefined ? { key, value } : { key, value, text });
/** A quoted name in text (`'x'`), a "name" field in JSON. */
const nameField = (name: string): RawField => field('name', nameOf(name), `'${nameOf(name)}'`);
const typeIdOnly = (t: BtfType): RawType => ({ fields: [field('type_id', t.sizeOrType)] });
const enumEncoding = (t: BtfType): RawField => field('encoding', t.kindFlag ? 'SIGNED' : 'UNSIGNED');

function members(t: BtfType): RawType {
  return {
    fields: [field('size', t.sizeOrType), field('vlen', t.vlen)],
    listName: 'members',
    items: t.members.map((m) => ({
      fields: [
        nameField(m.name),
        field('type_id', m.type),
        field('bits_offset', m.bitOffset),
        ...(m.bitfieldSize !== 0 ? [field('bitfield_size', m.bitfieldSize)] : []),
      ],
    })),
  };
}

/** Each kind's fields and items, as dump_btf_type's switch prints them. */
const KIND_DESCRIPTIONS: Readonly<Partial<Record<BtfKind, (t: BtfType, btf: Btf) => RawType>>> = {
  [BtfKind.INT]: (t) => ({
    fields: [
      field('size', t.sizeOrType),
      field('bits_offset', t.intOffset),
      field('nr_bits', t.intBits),
      field('encoding', INT_ENCODING_NAMES.get(t.intEncoding) ?? 'UNKN'),
    ],
  }),
  [BtfKind.PTR]: typeIdOnly,
  [BtfKind.CONST]: typeIdOnly,
  [BtfKind.VOLATILE]: typeIdOnly,
  [BtfKind.RESTRICT]: typeIdOnly,
  [BtfKind.TYPEDEF]: typeIdOnly,
  [BtfKind.TYPE_TAG]: typeIdOnly,
  [BtfKind.ARRAY]: (t) => ({ fields: [field('type_id', t.arrayType), field('index_type_id', t.arrayIndexType), field('nr_elems', t.arrayNelems)] }),
  [BtfKind.STRUCT]: members,
  [BtfKind.UNION]: members,
  [BtfKind.ENUM]: (t) => ({
    fields: [enumEncoding(t), field('size', t.sizeOrType), field('vlen', t.vlen)],
    listName: 'values',
    // btf_enum.val is an s32: the text prints it %u when unsigned, the JSON passes it to jsonw_uint, which sign-extends it to 64 bits.
    items: t.enumValues.map((v) => {
      const val = BigInt.asIntN(32, v.value);
      return { fields: [nameField(v.name), t.kindFlag ? field('val', val) : field('val', BigInt.asUintN(64, val), `val=${BigInt.asUintN(32, val)}`)] };
    }),
  }),
  [BtfKind.ENUM64]: (t) => ({
    fields: [enumEncoding(t), field('size', t.sizeOrType), field('vlen', t.vlen)],
    listName: 'values',
    items: t.enumValues.map((v) => {
      const val = t.kindFlag ? BigInt.asIntN(64, v.value) : BigInt.asUintN(64, v.value);
      return { fields: [nameField(v.name), field('val', val, `val=${val}${t.kindFlag ? 'LL' : 'ULL'}`)] };
    }),
  }),
  [BtfKind.FWD]: (t) => ({ fields: [field('fwd_kind', t.kindFlag ? 'union' : 'struct')] }),
  [BtfKind.FUNC]: (t) => ({ fields: [field('type_id', t.sizeOrType), field('linkage', FUNC_LINKAGE_NAMES.get(t.vlen) ?? '(unknown)')] }),
  [BtfKind.FUNC_PROTO]: (t) => ({
    fields: [field('ret_type_id', t.sizeOrType), field('vlen', t.vlen)],
    listName: 'params',
    items: t.params.map((p) => ({ fields: [nameField(p.name), field('type_id', p.type)] })),
  }),
  // (bpftool's text has a comma after the type id here, and only here.)
  [BtfKind.VAR]: (t) => ({
    fields: [field('type_id', t.sizeOrType, `type_id=${t.sizeOrType},`), field('linkage', VAR_LINKAGE_NAMES.get(t.linkage) ?? '(unknown)')],
  }),
  [BtfKind.DATASEC]: (t, btf) => ({
    fields: [field('size', t.sizeOrType), field('vlen', t.vlen)],
    listName: 'vars',
    items: t.secinfo.map((v) => {
      const vt = btf.types[v.type];
      return {
        fields: [field('type_id', v.type), field('offset', v.offset), field('size', v.size)],
        textSuffix: vt === undefined ? '' : ` (${BTF_KIND_NAMES[vt.kind] ?? 'UNKNOWN'} '${nameOf(vt.name)}')`,
      };
    }),
  }),
  [BtfKind.FLOAT]: (t) => ({ fields: [field('size', t.sizeOrType)] }),
  [BtfKind.DECL_TAG]: (t) => ({ fields: [field('type_id', t.sizeOrType), field('component_idx', t.componentIdx)] }),
};

function typeAt(btf: Btf, id: number): BtfType {
  const t = btf.types[id];
  if (t === undefined || id === 0) throw new RangeError(`no BTF type [${id}] (the blob has ${btf.types.length - 1} types)`);
  return t;
}

const fieldText = (f: RawField): string => f.text ?? `${f.key}=${f.value}`;

/** One type as bpftool's dump_btf_type prints it in text, with its trailing newline. */
export function dumpBtfTypeRaw(btf: Btf, id: number): string {
  const t = typeAt(btf, id);
  const d = KIND_DESCRIPTIONS[t.kind]?.(t, btf) ?? { fields: [] };
  let out = `[${id}] ${BTF_KIND_NAMES[t.kind] ?? 'UNKNOWN'} '${nameOf(t.name)}'`;
  for (const f of d.fields) out += ` ${fieldText(f)}`;
  for (const item of d.items ?? []) out += `\n\t${item.fields.map(fieldText).join(' ')}${item.textSuffix ?? ''}`;
  return `${out}\n`;
}

const allIds = (btf: Btf): number[] => Array.from({ length: btf.types.length - 1 }, (_, i) => i + 1);

/** `bpftool btf dump file X` (format raw): every type from id 1, or only `rootIds` in the given order. */
export function dumpBtfRaw(btf: Btf, rootIds?: readonly number[]): string {
  return (rootIds ?? allIds(btf)).map((id) => dumpBtfTypeRaw(btf, id)).join('');
}

function writeField(w: BtfJsonWriter, f: RawField): void {
  w.name(f.key);
  if (typeof f.value === 'string') w.string(f.value);
  else w.raw(String(f.value));
}

/**
 * `bpftool -j btf dump file X` (or `-p`, pretty): `{"types":[{"id":1,"kind":"INT","name":"int",...},...]}` with its
 * final newline; every type, or only `rootIds` in the given order.
 */
export function dumpBtfRawJson(btf: Btf, rootIds?: readonly number[], pretty = false): string {
  const w = new BtfJsonWriter(pretty);
  w.startObject();
  w.name('types');
  w.startArray();
  for (const id of rootIds ?? allIds(btf)) {
    const t = typeAt(btf, id);
    const d = KIND_DESCRIPTIONS[t.kind]?.(t, btf) ?? { fields: [] };
    w.startObject();
    writeField(w, field('id', id));
    writeField(w, field('kind', BTF_KIND_NAMES[t.kind] ?? 'UNKNOWN'));
    writeField(w, field('name', nameOf(t.name)));
    for (const f of d.fields) writeField(w, f);
    if (d.listName !== undefined) {
      w.name(d.listName);
      w.startArray();
      for (const item of d.items ?? []) {
        w.startObject();
        for (const f of item.fields) writeField(w, f);
        w.endObject();
      }
      w.endArray();
    }
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return w.finish();
}
