/**
 * Map keys and values to and from their BTF types, for the typed map handles (what cilium/ebpf's Map.Lookup /
 * Map.Put do with a Go value; libbpf leaves it to the caller). The bytes are little-endian, as the kernel is.
 *
 * A value of a BTF type becomes: an INT of up to 32 bits a number (a bool a boolean), a wider INT, a pointer or
 * an ENUM64 a bigint, an ENUM its number, a FLOAT a number, a `char` array a string (up to its first NUL), any
 * other array an array, a STRUCT or UNION an object by member name (bitfields read as their bits; an anonymous
 * member's fields appear in the enclosing object, as C names them), a DATASEC an object by variable name.
 * Typedefs, modifiers and type tags are looked through. Encoding takes the same shapes (a number or bigint for
 * any integer; members left out are zero) and refuses a value that does not fit.
 */
import { BtfIntEncoding, BtfKind, type Btf, type BtfType } from '@ebpf-sim/btf';
import { LoaderError } from './errors.js';

/** A decoded key or value. */
export type BtfValue = number | bigint | boolean | string | readonly BtfValue[] | { readonly [name: string]: BtfValue };

/** How deep types may nest before the BTF is taken to be cyclic (parseBtf refuses cycles; this bounds a bad caller). */
const MAX_DEPTH = 64;

const refuse = (what: string, detail: string): never => {
  throw new LoaderError(`${what}: ${detail}`, 'invalid');
};

/** The type behind typedefs, modifiers and type tags (btf_type_skip_modifiers), or a clear error for a bad id. */
function resolve(btf: Btf, id: number, what: string): BtfType {
  const type = btf.skipModifiers(id);
  if (type === undefined) return refuse(what, `BTF type [${id}] does not exist`);
  return type;
}

/** A `char` element: a one-byte INT with the CHAR encoding or named char (clang gives `char` no encoding bits on some targets). */
function isChar(type: BtfType): boolean {
  return type.kind === BtfKind.INT && type.sizeOrType === 1 && ((type.intEncoding & BtfIntEncoding.CHAR) !== 0 || type.name === 'char');
}

function readBits(bytes: Uint8Array, bitOffset: number, bits: number): bigint {
  let out = 0n;
  for (let i = bits - 1; i >= 0; i--) {
    const bit = bitOffset + i;
    out = (out << 1n) | BigInt(((bytes[bit >> 3] ?? 0) >> (bit & 7)) & 1);
  }
  return out;
}

function writeBits(bytes: Uint8Array, bitOffset: number, bits: number, value: bigint): void {
  for (let i = 0; i < bits; i++) {
    const bit = bitOffset + i;
    const mask = 1 << (bit & 7);
    if (((value >> BigInt(i)) & 1n) !== 0n) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | mask;
    else bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) & ~mask;
  }
}

/** An integer of `bits` bits, signed or not, as a number when it is at most 32 bits wide and a bigint otherwise. */
function integer(raw: bigint, bits: number, signed: boolean): number | bigint {
  const value = signed ? BigInt.asIntN(bits, raw) : raw;
  return bits <= 32 ? Number(value) : value;
}

/** The bytes of `bytes` holding a value of type `id`, decoded. Throws LoaderError when the bytes are shorter than the type. */
export function decodeBtfValue(btf: Btf, id: number, bytes: Uint8Array, what = 'value'): BtfValue {
  const size = btf.sizeOf(id);
  if (size === undefined) return refuse(what, `BTF type [${id}] has no size`);
  if (bytes.length < size) return refuse(what, `${bytes.length} bytes for a ${size}-byte BTF type [${id}]`);
  return decodeAt(btf, id, bytes, 0, what, 0);
}

function decodeAt(btf: Btf, id: number, bytes: Uint8Array, bitOffset: number, what: string, depth: number, bitfieldBits = 0): BtfValue {
  if (depth > MAX_DEPTH) return refuse(what, `BTF type [${id}] nests deeper than ${MAX_DEPTH}`);
  const type = resolve(btf, id, what);
  const byte = bitOffset >> 3;
  switch (type.kind) {
    case BtfKind.INT: {
      const bits = bitfieldBits !== 0 ? bitfieldBits : type.intBits;
      const raw = readBits(bytes, bitOffset + (bitfieldBits !== 0 ? 0 : type.intOffset), bits);
      if ((type.intEncoding & BtfIntEncoding.BOOL) !== 0) return raw !== 0n;
      return integer(raw, bits, (type.intEncoding & BtfIntEncoding.SIGNED) !== 0);
    }
    case BtfKind.ENUM:
    case BtfKind.ENUM64: {
      const bits = bitfieldBits !== 0 ? bitfieldBits : type.sizeOrType * 8;
      const value = integer(readBits(bytes, bitOffset, bits), bits, type.kindFlag);
      return type.kind === BtfKind.ENUM64 ? BigInt(value) : value;
    }
    case BtfKind.PTR:
      return readBits(bytes, bitOffset, 64);
    case BtfKind.FLOAT: {
      const view = new DataView(bytes.buffer, bytes.byteOffset + byte, type.sizeOrType);
      if (type.sizeOrType === 4) return view.getFloat32(0, true);
      if (type.sizeOrType === 8) return view.getFloat64(0, true);
      return refuse(what, `a ${type.sizeOrType}-byte float has no JavaScript value`);
    }
    case BtfKind.ARRAY: {
      const element = resolve(btf, type.arrayType, what);
      const elementSize = btf.sizeOf(type.arrayType) ?? 0;
      if (isChar(element)) {
        const chars = bytes.subarray(byte, byte + type.arrayNelems);
        const nul = chars.indexOf(0);
        return String.fromCharCode(...chars.subarray(0, nul < 0 ? chars.length : nul));
      }
      return Array.from({ length: type.arrayNelems }, (_, i) =>
        decodeAt(btf, type.arrayType, bytes, bitOffset + i * elementSize * 8, `${what}[${i}]`, depth + 1),
      );
    }
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      const out: Record<string, BtfValue> = {};
      for (const member of type.members) {
        const value = decodeAt(btf, member.type, bytes, bitOffset + member.bitOffset, `${what}.${member.name}`, depth + 1, member.bitfieldSize);
        if (member.name === '' && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, value);
        else out[member.name] = value;
      }
      return out;
    }
    case BtfKind.DATASEC: {
      const out: Record<string, BtfValue> = {};
      for (const info of type.secinfo) {
        const variable = btf.types[info.type];
        if (variable?.kind !== BtfKind.VAR) continue;
        out[variable.name] = decodeAt(btf, variable.sizeOrType, bytes, bitOffset + info.offset * 8, `${what}.${variable.name}`, depth + 1);
      }
      return out;
    }
    case BtfKind.VAR:
      return decodeAt(btf, type.sizeOrType, bytes, bitOffset, what, depth + 1);
    default:
      return refuse(what, `BTF type [${id}] (kind ${type.kind}) has no value`);
  }
}

/** A value of type `id` as its bytes (the type's size, zero where the value says nothing). */
export function encodeBtfValue(btf: Btf, id: number, value: BtfValue, what = 'value'): Uint8Array {
  const size = btf.sizeOf(id);
  if (size === undefined) return refuse(what, `BTF type [${id}] has no size`);
  const out = new Uint8Array(size);
  encodeAt(btf, id, value, out, 0, what, 0);
  return out;
}

/** An integer value as the `bits`-bit pattern, refusing what fits neither the signed nor the unsigned range. */
function integerBits(value: BtfValue, bits: number, what: string): bigint {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'boolean') n = value ? 1n : 0n;
  else if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else return refuse(what, `${typeof value === 'object' ? 'an object or array' : JSON.stringify(value)} is not an integer`);
  const limit = 1n << BigInt(bits);
  if (n >= limit || n < -(limit >> 1n)) return refuse(what, `${n} does not fit in ${bits} bits`);
  return BigInt.asUintN(bits, n);
}

function encodeAt(btf: Btf, id: number, value: BtfValue, out: Uint8Array, bitOffset: number, what: string, depth: number, bitfieldBits = 0): void {
  if (depth > MAX_DEPTH) refuse(what, `BTF type [${id}] nests deeper than ${MAX_DEPTH}`);
  const type = resolve(btf, id, what);
  const byte = bitOffset >> 3;
  switch (type.kind) {
    case BtfKind.INT: {
      const bits = bitfieldBits !== 0 ? bitfieldBits : type.intBits;
      writeBits(out, bitOffset + (bitfieldBits !== 0 ? 0 : type.intOffset), bits, integerBits(value, bits, what));
      return;
    }
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
      writeBits(
        out,
        bitOffset,
        bitfieldBits !== 0 ? bitfieldBits : type.sizeOrType * 8,
        integerBits(value, bitfieldBits !== 0 ? bitfieldBits : type.sizeOrType * 8, what),
      );
      return;
    case BtfKind.PTR:
      writeBits(out, bitOffset, 64, integerBits(value, 64, what));
      return;
    case BtfKind.FLOAT: {
      if (typeof value !== 'number') return void refuse(what, 'a float takes a number');
      const view = new DataView(out.buffer, out.byteOffset + byte, type.sizeOrType);
      if (type.sizeOrType === 4) view.setFloat32(0, value, true);
      else if (type.sizeOrType === 8) view.setFloat64(0, value, true);
      else refuse(what, `a ${type.sizeOrType}-byte float has no JavaScript value`);
      return;
    }
    case BtfKind.ARRAY: {
      const element = resolve(btf, type.arrayType, what);
      const elementSize = btf.sizeOf(type.arrayType) ?? 0;
      if (typeof value === 'string' && isChar(element)) {
        if (value.length > type.arrayNelems) refuse(what, `a string of ${value.length} characters for char[${type.arrayNelems}]`);
        for (let i = 0; i < value.length; i++) out[byte + i] = value.charCodeAt(i) & 0xff;
        return;
      }
      if (!Array.isArray(value)) return void refuse(what, `an array of ${type.arrayNelems} takes an array`);
      const items = value as readonly BtfValue[];
      if (items.length > type.arrayNelems) refuse(what, `${items.length} elements for an array of ${type.arrayNelems}`);
      items.forEach((item, i) => encodeAt(btf, type.arrayType, item, out, bitOffset + i * elementSize * 8, `${what}[${i}]`, depth + 1));
      return;
    }
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      if (typeof value !== 'object' || Array.isArray(value)) return void refuse(what, `a ${type.kind === BtfKind.STRUCT ? 'struct' : 'union'} takes an object`);
      const fields = value as { readonly [name: string]: BtfValue };
      const known = new Set<string>();
      encodeMembers(btf, type, fields, out, bitOffset, what, depth, known);
      for (const name of Object.keys(fields)) if (!known.has(name)) refuse(what, `no member '${name}'`);
      return;
    }
    case BtfKind.DATASEC: {
      if (typeof value !== 'object' || Array.isArray(value)) return void refuse(what, 'a data section takes an object');
      const fields = value as { readonly [name: string]: BtfValue };
      const vars = new Map<string, { type: number; offset: number }>();
      for (const info of type.secinfo) {
        const variable = btf.types[info.type];
        if (variable?.kind === BtfKind.VAR) vars.set(variable.name, { type: variable.sizeOrType, offset: info.offset });
      }
      for (const [name, item] of Object.entries(fields)) {
        const variable = vars.get(name) ?? refuse(what, `no variable '${name}'`);
        encodeAt(btf, variable.type, item, out, bitOffset + variable.offset * 8, `${what}.${name}`, depth + 1);
      }
      return;
    }
    case BtfKind.VAR:
      encodeAt(btf, type.sizeOrType, value, out, bitOffset, what, depth + 1);
      return;
    default:
      refuse(what, `BTF type [${id}] (kind ${type.kind}) has no value`);
  }
}

/** The members of a struct or union given in `fields` (an anonymous member's own members by their names), noting each name used. */
function encodeMembers(
  btf: Btf,
  type: BtfType,
  fields: { readonly [name: string]: BtfValue },
  out: Uint8Array,
  bitOffset: number,
  what: string,
  depth: number,
  known: Set<string>,
): void {
  for (const member of type.members) {
    if (member.name === '') {
      const inner = resolve(btf, member.type, what);
      if (inner.kind === BtfKind.STRUCT || inner.kind === BtfKind.UNION)
        encodeMembers(btf, inner, fields, out, bitOffset + member.bitOffset, what, depth + 1, known);
      continue;
    }
    known.add(member.name);
    const item = fields[member.name];
    if (item !== undefined) encodeAt(btf, member.type, item, out, bitOffset + member.bitOffset, `${what}.${member.name}`, depth + 1, member.bitfieldSize);
  }
}
