/**
 * writeBtf: types (the records parseBtf returns, or the ones BtfBuilder makes) encoded as a BTF blob, the
 * inverse of parseBtf: struct btf_header, the type section (struct btf_type and each kind's trailing
 * records, include/uapi/linux/btf.h) and the string section, little-endian as Linux's own BTF is on x86_64.
 * Strings are deduplicated in the order they are first used, after the empty string at offset 0.
 *
 * The writer encodes; it does not judge: parseBtf says whether Linux would accept the result. What cannot be
 * encoded at all (a name with a NUL, a count or number past its field's width) is a BtfWriteError naming the
 * type id.
 */
import {
  BTF_HEADER_SIZE,
  BTF_KIND_NAMES,
  BTF_MAGIC,
  BTF_MAX_NAME_OFFSET,
  BTF_MAX_TYPE,
  BTF_MAX_VLEN,
  BTF_TYPE_SIZE,
  BTF_VERSION,
  BtfKind,
} from './constants.js';
import type { BtfEnumValue, BtfMember, BtfParam, BtfType, BtfVarSecinfo } from './reader.js';

/**
 * A type to write: its kind and name, and the fields of that kind (the others may be left out). A BtfType that
 * parseBtf returned is one; its `id`, `nameOff` and `vlen` are ignored (ids are positions, names are
 * re-interned, vlen is the length of the kind's records, or the linkage of a FUNC).
 */
export type BtfTypeInput = Pick<BtfType, 'kind' | 'name'> & Partial<Omit<BtfType, 'id' | 'nameOff' | 'vlen' | 'kind' | 'name'>>;

/** A type that cannot be encoded: which one (its id) and why. */
export class BtfWriteError extends Error {
  constructor(
    readonly typeId: number,
    readonly detail: string,
  ) {
    super(`cannot write BTF type [${typeId}]: ${detail}`);
    this.name = 'BtfWriteError';
  }
}

/** Bytes each kind's trailing records take (per vlen entry, or fixed). */
const RECORD_SIZE: Readonly<Partial<Record<BtfKind, number>>> = {
  [BtfKind.STRUCT]: 12,
  [BtfKind.UNION]: 12,
  [BtfKind.ENUM]: 8,
  [BtfKind.ENUM64]: 12,
  [BtfKind.FUNC_PROTO]: 8,
  [BtfKind.DATASEC]: 12,
};
const FIXED_EXTRA: Readonly<Partial<Record<BtfKind, number>>> = { [BtfKind.INT]: 4, [BtfKind.ARRAY]: 12, [BtfKind.VAR]: 4, [BtfKind.DECL_TAG]: 4 };

/** The vlen field of a type: its records' count, or a FUNC's linkage. */
function vlenOf(t: BtfTypeInput): number {
  switch (t.kind) {
    case BtfKind.STRUCT:
    case BtfKind.UNION:
      return t.members?.length ?? 0;
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
      return t.enumValues?.length ?? 0;
    case BtfKind.FUNC_PROTO:
      return t.params?.length ?? 0;
    case BtfKind.DATASEC:
      return t.secinfo?.length ?? 0;
    case BtfKind.FUNC:
      return t.linkage ?? 0;
    default:
      return 0;
  }
}

/** The string section being built: each distinct string once, offset 0 the empty string. */
class StringTable {
  private readonly offsets = new Map<string, number>([['', 0]]);
  private readonly chunks: Uint8Array[] = [new Uint8Array(1)];
  private length = 1;
  private readonly encoder = new TextEncoder();

  offsetOf(s: string, typeId: number): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    if (s.includes('\0')) throw new BtfWriteError(typeId, `the name ${JSON.stringify(s)} holds a NUL byte`);
    const offset = this.length;
    if (offset > BTF_MAX_NAME_OFFSET) throw new BtfWriteError(typeId, `the string section passes BTF_MAX_NAME_OFFSET (${BTF_MAX_NAME_OFFSET})`);
    const bytes = this.encoder.encode(s);
    const chunk = new Uint8Array(bytes.length + 1);
    chunk.set(bytes);
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.offsets.set(s, offset);
    return offset;
  }

  get size(): number {
    return this.length;
  }

  copyTo(out: Uint8Array, at: number): void {
    let cur = at;
    for (const chunk of this.chunks) {
      out.set(chunk, cur);
      cur += chunk.length;
    }
  }
}

const u32Checked = (typeId: number, what: string, value: number, max = 0xffffffff): number => {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new BtfWriteError(typeId, `${what} ${value} is not an integer in [0, ${max}]`);
  return value;
};

/** Encode `types` (types[0] is type id 1: void is implicit) as a BTF blob. */
export function writeBtf(types: readonly BtfTypeInput[]): Uint8Array {
  if (types.length > BTF_MAX_TYPE) throw new BtfWriteError(types.length, `more than BTF_MAX_TYPE (${BTF_MAX_TYPE}) types`);
  const strings = new StringTable();
  let typeLen = 0;
  for (const [index, t] of types.entries()) {
    const id = index + 1;
    if (BTF_KIND_NAMES[t.kind] === undefined || t.kind === BtfKind.UNKN) throw new BtfWriteError(id, `unknown kind ${String(t.kind)}`);
    const vlen = vlenOf(t);
    if (vlen > BTF_MAX_VLEN) throw new BtfWriteError(id, `${vlen} records, more than BTF_MAX_VLEN (${BTF_MAX_VLEN})`);
    typeLen += BTF_TYPE_SIZE + (FIXED_EXTRA[t.kind] ?? vlen * (RECORD_SIZE[t.kind] ?? 0));
  }
  const words = new DataView(new ArrayBuffer(typeLen));
  let at = 0;
  const put = (value: number): void => {
    words.setUint32(at, value >>> 0, true);
    at += 4;
  };
  for (const [index, t] of types.entries()) {
    const id = index + 1;
    const vlen = vlenOf(t);
    put(strings.offsetOf(t.name, id));
    put(((t.kindFlag === true ? 1 : 0) << 31) | (t.kind << 24) | vlen);
    put(u32Checked(id, 'size/type', t.sizeOrType ?? 0));
    writeRecords(t, id, put, (s) => strings.offsetOf(s, id));
  }
  const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + strings.size);
  const header = new DataView(out.buffer);
  header.setUint16(0, BTF_MAGIC, true);
  out[2] = BTF_VERSION;
  out[3] = 0;
  header.setUint32(4, BTF_HEADER_SIZE, true);
  header.setUint32(8, 0, true);
  header.setUint32(12, typeLen, true);
  header.setUint32(16, typeLen, true);
  header.setUint32(20, strings.size, true);
  out.set(new Uint8Array(words.buffer), BTF_HEADER_SIZE);
  strings.copyTo(out, BTF_HEADER_SIZE + typeLen);
  return out;
}

/** Each kind's records after struct btf_type. */
function writeRecords(t: BtfTypeInput, id: number, put: (value: number) => void, name: (s: string) => number): void {
  switch (t.kind) {
    case BtfKind.INT: {
      const bits = u32Checked(id, 'INT bits', t.intBits ?? 0, 0xff);
      const offset = u32Checked(id, 'INT offset', t.intOffset ?? 0, 0xff);
      const encoding = u32Checked(id, 'INT encoding', t.intEncoding ?? 0, 0x0f);
      put((encoding << 24) | (offset << 16) | bits);
      break;
    }
    case BtfKind.ARRAY:
      put(u32Checked(id, 'array element type', t.arrayType ?? 0));
      put(u32Checked(id, 'array index type', t.arrayIndexType ?? 0));
      put(u32Checked(id, 'array length', t.arrayNelems ?? 0));
      break;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
      for (const m of t.members ?? ([] as readonly BtfMember[])) {
        put(name(m.name));
        put(u32Checked(id, `member ${m.name} type`, m.type));
        if (t.kindFlag === true)
          put(
            (u32Checked(id, `member ${m.name} bitfield size`, m.bitfieldSize, 0xff) << 24) |
              u32Checked(id, `member ${m.name} bit offset`, m.bitOffset, 0xffffff),
          );
        else put(u32Checked(id, `member ${m.name} bit offset`, m.bitOffset));
      }
      break;
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
      for (const e of t.enumValues ?? ([] as readonly BtfEnumValue[])) {
        const bits = t.kind === BtfKind.ENUM ? 32 : 64;
        if (e.value < -(1n << BigInt(bits - 1)) || e.value >= 1n << BigInt(bits))
          throw new BtfWriteError(id, `enumerator ${e.name} = ${e.value} does not fit ${bits} bits`);
        const raw = BigInt.asUintN(bits, e.value);
        put(name(e.name));
        put(Number(raw & 0xffffffffn));
        if (t.kind === BtfKind.ENUM64) put(Number(raw >> 32n));
      }
      break;
    case BtfKind.FUNC_PROTO:
      for (const p of t.params ?? ([] as readonly BtfParam[])) {
        put(name(p.name));
        put(u32Checked(id, `parameter ${p.name} type`, p.type));
      }
      break;
    case BtfKind.VAR:
      put(u32Checked(id, 'VAR linkage', t.linkage ?? 0));
      break;
    case BtfKind.DATASEC:
      for (const v of t.secinfo ?? ([] as readonly BtfVarSecinfo[])) {
        put(u32Checked(id, 'secinfo type', v.type));
        put(u32Checked(id, 'secinfo offset', v.offset));
        put(u32Checked(id, 'secinfo size', v.size));
      }
      break;
    case BtfKind.DECL_TAG: {
      const idx = t.componentIdx ?? 0;
      if (!Number.isInteger(idx) || idx < -1 || idx > 0x7fffffff) throw new BtfWriteError(id, `component_idx ${idx} is not -1 or a member index`);
      put(idx);
      break;
    }
    default:
      break;
  }
}

/**
 * A BTF under construction: add types, get their ids, write the blob. A type may be added before what it
 * refers to exists (a struct whose member points at itself): `reserve` an id and `define` it later.
 */
export class BtfBuilder {
  private readonly list: (BtfTypeInput | undefined)[] = [];

  /** Add a type; its id. */
  add(type: BtfTypeInput): number {
    this.list.push(type);
    return this.list.length;
  }

  /** An id to define later (writing fails while it is undefined). */
  reserve(): number {
    this.list.push(undefined);
    return this.list.length;
  }

  /** Define a reserved id. */
  define(id: number, type: BtfTypeInput): void {
    if (id < 1 || id > this.list.length || this.list[id - 1] !== undefined) throw new BtfWriteError(id, 'not a reserved, undefined id');
    this.list[id - 1] = type;
  }

  int(name: string, size: number, encoding = 0): number {
    return this.add({ kind: BtfKind.INT, name, sizeOrType: size, intBits: size * 8, intEncoding: encoding });
  }

  /** A PTR, TYPEDEF, CONST, VOLATILE, RESTRICT or TYPE_TAG: a kind that names one other type. */
  ref(kind: BtfKind, to: number, name = ''): number {
    return this.add({ kind, name, sizeOrType: to });
  }

  array(elem: number, index: number, length: number): number {
    return this.add({ kind: BtfKind.ARRAY, name: '', arrayType: elem, arrayIndexType: index, arrayNelems: length });
  }

  funcProto(ret: number, params: readonly BtfParam[]): number {
    return this.add({ kind: BtfKind.FUNC_PROTO, name: '', sizeOrType: ret, params });
  }

  /** The types so far (index 0 is id 1). */
  get types(): readonly (BtfTypeInput | undefined)[] {
    return this.list;
  }

  build(): Uint8Array {
    const undefinedAt = this.list.indexOf(undefined);
    if (undefinedAt >= 0) throw new BtfWriteError(undefinedAt + 1, 'reserved but never defined');
    return writeBtf(this.list as BtfTypeInput[]);
  }
}
