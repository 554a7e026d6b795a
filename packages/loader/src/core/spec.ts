/**
 * CO-RE access specs, as libbpf's relo_core.c builds them: a relocation's access string ("0:1:2") parsed against
 * the local BTF into accessors (bpf_core_parse_spec), the names used to find candidates (bpf_core_essential_name_len),
 * and the spec printed as libbpf prints it in its messages (bpf_core_format_spec).
 */
import { BTF_KIND_NAMES, BtfCoreReloKind, BtfKind, type Btf, type BtfType } from '@ebpf-sim/btf';

/** BPF_CORE_SPEC_MAX_LEN: the deepest access string libbpf follows. */
export const CORE_SPEC_MAX_LEN = 64;

/** core_relo_kind_str(): the kind as libbpf's messages name it. */
export const CORE_RELO_KIND_NAMES: Readonly<Record<BtfCoreReloKind, string>> = {
  [BtfCoreReloKind.FIELD_BYTE_OFFSET]: 'byte_off',
  [BtfCoreReloKind.FIELD_BYTE_SIZE]: 'byte_sz',
  [BtfCoreReloKind.FIELD_EXISTS]: 'field_exists',
  [BtfCoreReloKind.FIELD_SIGNED]: 'signed',
  [BtfCoreReloKind.FIELD_LSHIFT_U64]: 'lshift_u64',
  [BtfCoreReloKind.FIELD_RSHIFT_U64]: 'rshift_u64',
  [BtfCoreReloKind.TYPE_ID_LOCAL]: 'local_type_id',
  [BtfCoreReloKind.TYPE_ID_TARGET]: 'target_type_id',
  [BtfCoreReloKind.TYPE_EXISTS]: 'type_exists',
  [BtfCoreReloKind.TYPE_MATCHES]: 'type_matches',
  [BtfCoreReloKind.TYPE_SIZE]: 'type_size',
  [BtfCoreReloKind.ENUMVAL_EXISTS]: 'enumval_exists',
  [BtfCoreReloKind.ENUMVAL_VALUE]: 'enumval_value',
};

/** Which family a relocation kind belongs to (core_relo_is_field_based / _type_based / _enumval_based). */
export type CoreReloFamily = 'field' | 'type' | 'enumval';
export const CORE_RELO_FAMILY: Readonly<Record<BtfCoreReloKind, CoreReloFamily>> = {
  [BtfCoreReloKind.FIELD_BYTE_OFFSET]: 'field',
  [BtfCoreReloKind.FIELD_BYTE_SIZE]: 'field',
  [BtfCoreReloKind.FIELD_EXISTS]: 'field',
  [BtfCoreReloKind.FIELD_SIGNED]: 'field',
  [BtfCoreReloKind.FIELD_LSHIFT_U64]: 'field',
  [BtfCoreReloKind.FIELD_RSHIFT_U64]: 'field',
  [BtfCoreReloKind.TYPE_ID_LOCAL]: 'type',
  [BtfCoreReloKind.TYPE_ID_TARGET]: 'type',
  [BtfCoreReloKind.TYPE_EXISTS]: 'type',
  [BtfCoreReloKind.TYPE_MATCHES]: 'type',
  [BtfCoreReloKind.TYPE_SIZE]: 'type',
  [BtfCoreReloKind.ENUMVAL_EXISTS]: 'enumval',
  [BtfCoreReloKind.ENUMVAL_VALUE]: 'enumval',
};

/** One step of a spec (struct bpf_core_accessor): a named member of `typeId`, or an array index (`name` undefined). */
export interface CoreAccessor {
  readonly typeId: number;
  readonly idx: number;
  readonly name: string | undefined;
}

/** struct bpf_core_spec: where the access lands in `btf`. */
export interface CoreSpec {
  readonly btf: Btf;
  readonly rootTypeId: number;
  readonly kind: BtfCoreReloKind;
  /** Accessors: named members and array indices (anonymous members are skipped, as libbpf skips them). */
  readonly accessors: CoreAccessor[];
  /** The raw access string as numbers (every member index, anonymous ones included). */
  readonly raw: number[];
  /** Bit offset of the field from the start of the root type. */
  bitOffset: number;
}

/** A spec libbpf cannot build or follow: the errno name libbpf returns, and its message. */
export class CoreSpecError extends Error {
  constructor(
    readonly errno: 'EINVAL' | 'E2BIG',
    message: string,
  ) {
    super(message);
    this.name = 'CoreSpecError';
  }
}

export const typeAt = (btf: Btf, id: number): BtfType | undefined => btf.types[id];

const isModOrTypedef = (kind: number): boolean =>
  kind === BtfKind.TYPEDEF || kind === BtfKind.VOLATILE || kind === BtfKind.CONST || kind === BtfKind.RESTRICT || kind === BtfKind.TYPE_TAG;
export const isComposite = (t: BtfType): boolean => t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION;
export const isAnyEnum = (t: BtfType): boolean => t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64;

/** skip_mods_and_typedefs(): the type under typedefs and modifiers, with its id (undefined for a dangling id or a loop). */
export function skipModsAndTypedefs(btf: Btf, id: number): { type: BtfType; id: number } | undefined {
  let cur = id;
  for (let hops = 0; hops <= btf.types.length; hops++) {
    const t = typeAt(btf, cur);
    if (t === undefined) return undefined;
    if (!isModOrTypedef(t.kind)) return { type: t, id: cur };
    cur = t.sizeOrType;
  }
  return undefined;
}

/** btf__resolve_size(): EINVAL (thrown) for a type without a size. */
export function resolveSize(btf: Btf, id: number): number {
  const size = btf.sizeOf(id);
  if (size === undefined) throw new CoreSpecError('EINVAL', `type [${id}] has no size`);
  return size;
}

/** bpf_core_is_flavor_sep(): `X___Y` where X and Y are not underscores. */
const isFlavorSep = (s: string, i: number): boolean => s[i] !== '_' && s[i + 1] === '_' && s[i + 2] === '_' && s[i + 3] === '_' && s[i + 4] !== '_';

/** bpf_core_essential_name_len(): a name without its `___flavor` suffix (`task_struct___v2` is `task_struct`). */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) if (isFlavorSep(name, i)) return name.slice(0, i + 1);
  return name;
}

/** is_flex_arr(): an array of no elements as the last member of the struct the previous accessor names. */
export function isFlexArray(btf: Btf, prev: CoreAccessor | undefined, nelems: number): boolean {
  if (prev?.name === undefined || nelems > 0) return false;
  const t = typeAt(btf, prev.typeId);
  return t !== undefined && prev.idx === t.members.length - 1;
}

/** libbpf's btf_kind_str(): the kind in lower case, `void` for id 0 (the kernel's log spells them in capitals). */
export const kindName = (t: BtfType | undefined): string =>
  t === undefined ? 'unknown' : t.kind === BtfKind.UNKN ? 'void' : (BTF_KIND_NAMES[t.kind]?.toLowerCase() ?? 'unknown');

/** The relocation as libbpf's messages name its root type: `[5] struct task_struct`. */
export function rootLabel(btf: Btf, id: number): string {
  const t = typeAt(btf, id);
  return `[${id}] ${kindName(t)} ${t === undefined || t.name === '' ? '<anon>' : t.name}`;
}

/** bpf_core_parse_spec(): the access string of a relocation against the local BTF. */
export function parseSpec(btf: Btf, typeId: number, accessString: string, kind: BtfCoreReloKind): CoreSpec {
  const invalid = (why: string): CoreSpecError => new CoreSpecError('EINVAL', why);
  if (accessString === '' || accessString.startsWith(':')) throw invalid(`access string '${accessString}' is empty or starts with ':'`);
  const spec: CoreSpec = { btf, rootTypeId: typeId, kind, accessors: [], raw: [], bitOffset: 0 };
  const family = CORE_RELO_FAMILY[kind];
  if (family === 'type') {
    if (accessString !== '0') throw invalid(`a type relocation's access string must be '0'`);
    return spec;
  }
  for (const part of accessString.split(':')) {
    if (!/^-?\d+$/.test(part)) throw invalid(`'${part}' in access string '${accessString}' is not a number`);
    if (spec.raw.length === CORE_SPEC_MAX_LEN) throw new CoreSpecError('E2BIG', `access string '${accessString}' is deeper than ${CORE_SPEC_MAX_LEN}`);
    spec.raw.push(Number(part));
  }
  const root = skipModsAndTypedefs(btf, typeId);
  if (root === undefined) throw invalid(`type [${typeId}] does not exist`);
  let id = root.id;
  const first = spec.raw[0] ?? 0;
  if (family === 'enumval') {
    const t = root.type;
    if (!isAnyEnum(t) || spec.raw.length > 1 || first >= t.enumValues.length || first < 0) throw invalid(`not an enumerator of an enum`);
    spec.accessors.push({ typeId: id, idx: first, name: t.enumValues[first]?.name });
    return spec;
  }
  spec.accessors.push({ typeId: id, idx: first, name: undefined });
  spec.bitOffset = first * resolveSize(btf, id) * 8;
  for (let i = 1; i < spec.raw.length; i++) {
    const cur = skipModsAndTypedefs(btf, id);
    if (cur === undefined) throw invalid(`type [${id}] does not exist`);
    id = cur.id;
    const t = cur.type;
    const access = spec.raw[i] ?? 0;
    if (isComposite(t)) {
      const m = t.members[access];
      if (m === undefined) throw invalid(`member #${access} of ${rootLabel(btf, id)} does not exist`);
      spec.bitOffset += m.bitOffset;
      if (m.name !== '') spec.accessors.push({ typeId: id, idx: access, name: m.name });
      id = m.type;
    } else if (t.kind === BtfKind.ARRAY) {
      const elem = skipModsAndTypedefs(btf, t.arrayType);
      if (elem === undefined) throw invalid(`type [${t.arrayType}] does not exist`);
      const flex = isFlexArray(btf, spec.accessors[spec.accessors.length - 1], t.arrayNelems);
      if (!flex && access >= t.arrayNelems) throw invalid(`index ${access} is past the ${t.arrayNelems} elements of array [${id}]`);
      id = elem.id;
      spec.accessors.push({ typeId: id, idx: access, name: undefined });
      spec.bitOffset += access * resolveSize(btf, id) * 8;
    } else {
      throw invalid(`relo for [${typeId}] ${accessString} (at idx ${i}) captures type [${id}] of unexpected kind ${kindName(t)}`);
    }
  }
  return spec;
}

/** bpf_core_format_spec(): `<byte_off> [5] struct task_struct.comm (0:21 @ offset 1752)`. */
export function formatSpec(spec: CoreSpec): string {
  let out = `<${CORE_RELO_KIND_NAMES[spec.kind]}> ${rootLabel(spec.btf, spec.rootTypeId)}`;
  const family = CORE_RELO_FAMILY[spec.kind];
  if (family === 'type') return out;
  if (family === 'enumval') {
    const t = skipModsAndTypedefs(spec.btf, spec.rootTypeId)?.type;
    const e = t?.enumValues[spec.raw[0] ?? 0];
    if (t === undefined || e === undefined) return out;
    // ENUM: %d when signed (kind_flag), %u otherwise; ENUM64 likewise for 64 bits.
    const bits = t.kind === BtfKind.ENUM ? 32 : 64;
    const value = t.kindFlag ? BigInt.asIntN(bits, e.value) : BigInt.asUintN(bits, e.value);
    return `${out}::${e.name} = ${value}`;
  }
  spec.accessors.forEach((acc, i) => {
    if (acc.name !== undefined) out += `.${acc.name}`;
    else if (i > 0 || acc.idx > 0) out += `[${acc.idx}]`;
  });
  const at = spec.bitOffset % 8 === 0 ? `${spec.bitOffset / 8}` : `${Math.floor(spec.bitOffset / 8)}.${spec.bitOffset % 8}`;
  return `${out} (${spec.raw.join(':')} @ offset ${at})`;
}
