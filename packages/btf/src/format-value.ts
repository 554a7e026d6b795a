/**
 * A value of a BTF type formatted as bpftool prints it for `map dump` (bpftool v7.1: btf_dumper.c into json_writer.c,
 * map.c's do_dump_btf and print_entry_json). Two forms, as bpftool has them:
 * - plain (`bpftool map dump` on a map with BTF): pretty JSON, pointers as `%p`, bitfields and __int128 as bare hex;
 * - JSON (`bpftool -j map dump`): compact JSON with the hex bytes of key and value beside a "formatted" object, where
 *   pointers are decimal and hex numbers are quoted.
 * bpftool's quirks are kept, since the point is to print what it prints: a backslash in a string is written `\n`, a FLOAT or
 * TYPE_TAG stops the value at `(unsupported-kind`, a bitfield prints in hex. (Linux 6.1's json_writer, which the
 * recording machine's bpftool 7.1.0+6.1.192 is built from, does not escape a single quote.)
 */
import { BtfIntEncoding, BtfKind } from './constants.js';
import type { Btf, BtfType } from './reader.js';

/** json_writer.c: bpftool's JSON writer (pretty: newlines and four-space indents). */
export class BtfJsonWriter {
  private readonly out: string[] = [];
  private depth = 0;
  private sep = '';

  constructor(private readonly pretty: boolean) {}

  /** What has been written so far (jsonw_destroy adds the final newline: see finish()). */
  text(): string {
    return this.out.join('');
  }

  /** jsonw_destroy: the writer must be back at depth 0; a newline ends the document. */
  finish(): string {
    if (this.depth !== 0) throw new Error(`JSON writer finished at depth ${this.depth}`);
    this.out.push('\n');
    return this.text();
  }

  private eol(): void {
    if (this.pretty) this.out.push('\n', '    '.repeat(this.depth));
  }

  private eor(): void {
    if (this.sep !== '') this.out.push(this.sep);
    this.sep = ',';
  }

  /** jsonw_puts, with its escapes (a backslash comes out as `\n`, as bpftool writes it). */
  private puts(s: string): void {
    let q = '"';
    for (const c of s) q += JSON_ESCAPES.get(c) ?? c;
    this.out.push(q, '"');
  }

  private begin(c: string): void {
    this.eor();
    this.out.push(c);
    this.depth++;
    this.sep = '';
  }

  private end(c: string): void {
    this.depth--;
    if (this.sep !== '') this.eol();
    this.out.push(c);
    this.sep = ',';
  }

  name(name: string): void {
    this.eor();
    this.eol();
    this.sep = '';
    this.puts(name);
    this.out.push(this.pretty ? ': ' : ':');
  }

  /** jsonw_printf: a value written as is. */
  raw(text: string): void {
    this.eor();
    this.out.push(text);
  }

  string(value: string): void {
    this.eor();
    this.puts(value);
  }

  startObject(): void {
    this.begin('{');
  }

  endObject(): void {
    this.end('}');
  }

  startArray(): void {
    this.begin('[');
  }

  endArray(): void {
    this.end(']');
  }
}

const JSON_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['\t', '\\t'],
  ['\n', '\\n'],
  ['\r', '\\r'],
  ['\f', '\\f'],
  ['\b', '\\b'],
  ['\\', '\\n'],
  ['"', '\\"'],
]);

/** A value that cannot be formatted: its bytes end before its type does (bpftool would read past its buffer). */
export class BtfValueError extends Error {
  constructor(
    readonly typeId: number,
    detail: string,
  ) {
    super(`cannot format BTF value of type [${typeId}]: ${detail}`);
    this.name = 'BtfValueError';
  }
}

/** Which of bpftool's two forms: plain (`map dump`) or JSON (`-j map dump`'s "formatted"). */
export type BtfValueForm = 'plain' | 'json';

/** Reads little-endian fields out of a value; bytes past its end read as zero (a caller's short buffer never throws mid-output). */
class ValueBytes {
  constructor(private readonly bytes: Uint8Array) {}

  get length(): number {
    return this.bytes.length;
  }

  byte(at: number): number {
    return this.bytes[at] ?? 0;
  }

  /** `size` bytes at `at`, little-endian, unsigned. */
  uint(at: number, size: number): bigint {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.byte(at + i));
    return v;
  }

  /** The bytes from `at` up to the first NUL (or `limit` bytes), as latin-1 text. */
  cString(at: number, limit: number): string {
    let s = '';
    for (let i = 0; i < limit && this.byte(at + i) !== 0; i++) s += String.fromCharCode(this.byte(at + i));
    return s;
  }
}

const U64_MASK = (1n << 64n) - 1n;
const isPrintable = (c: number): boolean => c >= 0x20 && c < 0x7f;
const hex = (v: bigint): string => v.toString(16);

/** One bpftool btf_dumper: a BTF, a writer, and which form. Returns false where btf_dumper returns an error (output stops there). */
class BtfDumper {
  constructor(
    private readonly btf: Btf,
    private readonly w: BtfJsonWriter,
    private readonly plain: boolean,
  ) {}

  /** btf_int128_print: 128 bits as hex, quoted in the JSON form. */
  private int128(lo: bigint, hi: bigint): void {
    const text = hi === 0n ? `0x${hex(lo)}` : `0x${hex(hi)}${hex(lo).padStart(16, '0')}`;
    this.w.raw(this.plain ? text : `"${text}"`);
  }

  /** btf_dumper_bitfield: nrBits bits starting bitOffset (< 8) bits into data, printed as 128-bit hex. */
  private bitfield(nrBits: number, bitOffset: number, data: ValueBytes, at: number): void {
    const bytes = Math.ceil((bitOffset + nrBits) / 8);
    const value = (data.uint(at, Math.min(bytes, 16)) >> BigInt(bitOffset)) & ((1n << BigInt(nrBits)) - 1n);
    this.int128(value & U64_MASK, value >> 64n);
  }

  private int(t: BtfType, bitOffset: number, data: ValueBytes, at: number): boolean {
    const nrBits = t.intBits;
    const intBits = (): void => {
      const total = bitOffset + t.intOffset;
      this.bitfield(nrBits, total & 7, data, at + (total >> 3));
    };
    if (bitOffset !== 0 || t.intOffset !== 0 || (nrBits & 7) !== 0) {
      intBits();
      return true;
    }
    if (nrBits === 128) {
      this.int128(data.uint(at, 8), data.uint(at + 8, 8));
      return true;
    }
    const sized = nrBits === 64 || nrBits === 32 || nrBits === 16 || nrBits === 8;
    switch (t.intEncoding) {
      case 0:
        if (sized) this.w.raw(data.uint(at, nrBits / 8).toString());
        else intBits();
        return true;
      case BtfIntEncoding.SIGNED:
        if (sized) this.w.raw(BigInt.asIntN(nrBits, data.uint(at, nrBits / 8)).toString());
        else intBits();
        return true;
      case BtfIntEncoding.CHAR: {
        const c = data.byte(at);
        if (isPrintable(c)) this.w.raw(`"${String.fromCharCode(c)}"`);
        else this.w.raw(this.plain ? `0x${c.toString(16)}` : `"\\u00${c.toString(16).padStart(2, '0')}"`);
        return true;
      }
      case BtfIntEncoding.BOOL:
        this.w.raw(data.byte(at) !== 0 ? 'true' : 'false');
        return true;
      default:
        return false;
    }
  }

  /** btf_dumper_enum: the value read at the enum's size (sign-extended) and matched against the 32-bit enumerators. */
  private enum32(t: BtfType, data: ValueBytes, at: number): boolean {
    const size = t.sizeOrType;
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return false;
    const value = BigInt.asIntN(size * 8, data.uint(at, size));
    const match = t.enumValues.find((e) => BigInt.asIntN(32, e.value) === value);
    if (match !== undefined) this.w.string(match.name);
    else this.w.raw(value.toString());
    return true;
  }

  /** btf_dumper_enum64: all 64 bits matched; an unknown value prints signed (jsonw_int). */
  private enum64(t: BtfType, data: ValueBytes, at: number): boolean {
    const value = data.uint(at, 8);
    const match = t.enumValues.find((e) => BigInt.asUintN(64, e.value) === value);
    if (match !== undefined) this.w.string(match.name);
    else this.w.raw(BigInt.asIntN(64, value).toString());
    return true;
  }

  /** is_str_array: a char array holding a NUL-terminated run of printable characters prints as a string. */
  private isStringArray(t: BtfType, data: ValueBytes, at: number): boolean {
    if (t.arrayNelems === 0) return false;
    // Modifiers are skipped, typedefs are not: a typedef of char is no string.
    let elem = this.btf.types[t.arrayType];
    for (let hops = 0; elem !== undefined && isQualifier(elem.kind) && hops < this.btf.types.length; hops++) elem = this.btf.types[elem.sizeOrType];
    if (elem?.kind !== BtfKind.INT || elem.sizeOrType !== 1) return false;
    if (elem.intEncoding !== BtfIntEncoding.CHAR && elem.name !== 'char') return false;
    for (let i = 0; i < t.arrayNelems; i++) {
      const c = data.byte(at + i);
      if (c === 0) return true;
      // (C's signed char: bytes from 0x80 are negative, so "<= 0x1f" too.)
      if (!isPrintable(c)) return false;
    }
    return false;
  }

  private array(t: BtfType, data: ValueBytes, at: number): boolean {
    if (this.isStringArray(t, data, at)) {
      this.w.string(data.cString(at, t.arrayNelems));
      return true;
    }
    const elemSize = this.btf.sizeOf(t.arrayType);
    if (elemSize === undefined) return false;
    // Also bounds the loop: no more elements than bytes, and zero-size elements (empty structs) only as many as fit a value.
    const end = at + t.arrayNelems * elemSize;
    if (end > data.length || (elemSize === 0 && t.arrayNelems > MAX_EMPTY_ELEMENTS))
      throw new BtfValueError(t.id, `array of ${t.arrayNelems} x ${elemSize} bytes at offset ${at} runs past the value's ${data.length} bytes`);
    this.w.startArray();
    let ok = true;
    for (let i = 0; i < t.arrayNelems && ok; i++) ok = this.type(t.arrayType, 0, data, at + i * elemSize);
    this.w.endArray();
    return ok;
  }

  private struct(t: BtfType, data: ValueBytes, at: number): boolean {
    this.w.startObject();
    let ok = true;
    for (const m of t.members) {
      if (!ok) break;
      this.w.name(m.name);
      const memberAt = at + (m.bitOffset >> 3);
      if (m.bitfieldSize !== 0) this.bitfield(m.bitfieldSize, m.bitOffset & 7, data, memberAt);
      else ok = this.type(m.type, m.bitOffset & 7, data, memberAt);
    }
    this.w.endObject();
    return ok;
  }

  /** btf_dumper_ptr: `%p` in the plain form (glibc's "(nil)" for 0), decimal in the JSON form. */
  private ptr(data: ValueBytes, at: number): void {
    const value = data.uint(at, 8);
    if (!this.plain) this.w.raw(value.toString());
    else this.w.raw(value === 0n ? '(nil)' : `0x${hex(value)}`);
  }

  /** btf_dumper_do_type. */
  type(id: number, bitOffset: number, data: ValueBytes, at: number): boolean {
    const t = this.btf.types[id];
    if (t === undefined) return false;
    switch (t.kind) {
      case BtfKind.INT:
        return this.int(t, bitOffset, data, at);
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        return this.struct(t, data, at);
      case BtfKind.ARRAY:
        return this.array(t, data, at);
      case BtfKind.ENUM:
        return this.enum32(t, data, at);
      case BtfKind.ENUM64:
        return this.enum64(t, data, at);
      case BtfKind.PTR:
        this.ptr(data, at);
        return true;
      case BtfKind.UNKN:
        this.w.raw('(unknown)');
        return true;
      case BtfKind.FWD:
        this.w.raw('(fwd-kind-invalid)');
        return false;
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT: {
        // btf__resolve_type: modifiers, typedefs (and VARs) skipped, at most 32 deep.
        const resolved = this.resolve(id);
        return resolved !== undefined && this.type(resolved, bitOffset, data, at);
      }
      case BtfKind.VAR:
        this.w.startObject();
        this.w.name(t.name);
        {
          const ok = this.type(t.sizeOrType, bitOffset, data, at);
          this.w.endObject();
          return ok;
        }
      case BtfKind.DATASEC: {
        this.w.startObject();
        this.w.name(t.name);
        this.w.startArray();
        let ok = true;
        for (const v of t.secinfo) {
          ok = this.type(v.type, 0, data, at + v.offset);
          if (!ok) break;
        }
        this.w.endArray();
        this.w.endObject();
        return ok;
      }
      default:
        // bpftool v7.1 has no case for FLOAT, TYPE_TAG, FUNC, ...: it writes this and gives up.
        this.w.raw('(unsupported-kind');
        return false;
    }
  }

  private resolve(id: number): number | undefined {
    let cur = id;
    for (let depth = 0; depth < MAX_RESOLVE_DEPTH; depth++) {
      const t = this.btf.types[cur];
      if (t === undefined) return undefined;
      if (cur === 0 || !(isQualifier(t.kind) || t.kind === BtfKind.TYPEDEF || t.kind === BtfKind.VAR)) return cur;
      cur = t.sizeOrType;
    }
    return undefined;
  }
}

/** The most zero-size elements (arrays of empty structs) a value is formatted with. */
const MAX_EMPTY_ELEMENTS = 1 << 16;
/** libbpf's MAX_RESOLVE_DEPTH. */
const MAX_RESOLVE_DEPTH = 32;
const isQualifier = (kind: number): boolean => kind === BtfKind.VOLATILE || kind === BtfKind.CONST || kind === BtfKind.RESTRICT || kind === BtfKind.TYPE_TAG;

/**
 * Write one value of type `typeId` (its bytes from `bytes`) into a writer, as btf_dumper_type does. Returns false where
 * bpftool's btf_dumper fails (an unsupported kind): the output then ends early, as bpftool's does. Throws BtfValueError
 * when the bytes are shorter than the type.
 */
export function writeBtfValue(w: BtfJsonWriter, btf: Btf, typeId: number, bytes: Uint8Array, form: BtfValueForm): boolean {
  const size = btf.sizeOf(typeId) ?? 0;
  if (bytes.length < size) throw new BtfValueError(typeId, `the type is ${size} bytes, the value ${bytes.length}`);
  return new BtfDumper(btf, w, form === 'plain').type(typeId, 0, new ValueBytes(bytes), 0);
}

/** One value as bpftool formats it on its own (pretty in the plain form, compact in the JSON form), without a trailing newline. */
export function formatBtfValue(btf: Btf, typeId: number, bytes: Uint8Array, form: BtfValueForm = 'plain'): string {
  const w = new BtfJsonWriter(form === 'plain');
  writeBtfValue(w, btf, typeId, bytes, form);
  return w.text();
}

/** What `map dump` needs to know of a map (struct bpf_map_info's fields that bpftool reads). */
export interface BtfMapInfo {
  readonly keySize: number;
  readonly valueSize: number;
  /** btf_key_type_id: 0 for a map without a key type (arrays made without one, queues). */
  readonly keyTypeId: number;
  /** btf_vmlinux_value_type_id if set, else btf_value_type_id. */
  readonly valueTypeId: number;
  /** A per-CPU map: each value is `possibleCpus` values, each padded to 8 bytes. */
  readonly perCpu?: boolean;
  readonly possibleCpus?: number;
}

export interface BtfMapEntry {
  readonly key: Uint8Array;
  /** The value as BPF_MAP_LOOKUP_ELEM returns it (for a per-CPU map: every CPU's value, each rounded up to 8 bytes). */
  readonly value: Uint8Array;
}

const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;

/** do_dump_btf: one {"key", "value"} (or per-CPU "values") object. */
function writeEntry(w: BtfJsonWriter, btf: Btf, info: BtfMapInfo, entry: BtfMapEntry, form: BtfValueForm): void {
  w.startObject();
  let ok = true;
  if (info.keyTypeId !== 0) {
    w.name('key');
    ok = writeBtfValue(w, btf, info.keyTypeId, entry.key, form);
  }
  if (ok && info.perCpu !== true) {
    w.name('value');
    writeBtfValue(w, btf, info.valueTypeId, entry.value, form);
  } else if (ok) {
    writePerCpuValues(w, info, entry.value, (bytes) => writeBtfValue(w, btf, info.valueTypeId, bytes, form));
  }
  w.endObject();
}

/** A per-CPU value: "values", an array of {"cpu", "value"} objects, each value written by `write` (false stops the array). */
function writePerCpuValues(w: BtfJsonWriter, info: BtfMapInfo, value: Uint8Array, write: (bytes: Uint8Array) => boolean): void {
  w.name('values');
  w.startArray();
  const step = roundUp8(info.valueSize);
  for (let cpu = 0; cpu < (info.possibleCpus ?? 1); cpu++) {
    w.startObject();
    w.name('cpu');
    w.raw(String(cpu));
    w.name('value');
    const ok = write(value.subarray(cpu * step, cpu * step + info.valueSize));
    w.endObject();
    if (!ok) break;
  }
  w.endArray();
}

/** print_hex_data_json: bytes as an array of "0x.." strings. */
function writeHexBytes(w: BtfJsonWriter, bytes: Uint8Array): void {
  w.startArray();
  for (const b of bytes) w.raw(`"0x${b.toString(16).padStart(2, '0')}"`);
  w.endArray();
}

/** One entry: do_dump_btf's object in the plain form; print_entry_json's bytes with a "formatted" object in the JSON form. */
function writeMapEntry(w: BtfJsonWriter, btf: Btf, info: BtfMapInfo, entry: BtfMapEntry, form: BtfValueForm): void {
  if (form === 'plain') {
    writeEntry(w, btf, info, entry, form);
    return;
  }
  w.startObject();
  w.name('key');
  writeHexBytes(w, entry.key.subarray(0, info.keySize));
  if (info.perCpu !== true) {
    w.name('value');
    writeHexBytes(w, entry.value.subarray(0, info.valueSize));
  } else {
    writePerCpuValues(w, info, entry.value, (bytes) => {
      writeHexBytes(w, bytes);
      return true;
    });
  }
  w.name('formatted');
  writeEntry(w, btf, info, entry, form);
  w.endObject();
}

/**
 * `bpftool map dump` of one map that has BTF, whole, as bpftool prints it: in the plain form the pretty JSON array of
 * formatted entries; in the JSON form (`-j`) each entry's key and value bytes with the "formatted" object.
 */
export function formatBtfMapDump(btf: Btf, info: BtfMapInfo, entries: readonly BtfMapEntry[], form: BtfValueForm = 'plain'): string {
  const w = new BtfJsonWriter(form === 'plain');
  w.startArray();
  for (const entry of entries) writeMapEntry(w, btf, info, entry, form);
  w.endArray();
  return w.finish();
}

/** `bpftool map lookup` of a map that has BTF: the one entry, as map dump prints each, on its own. */
export function formatBtfMapEntry(btf: Btf, info: BtfMapInfo, entry: BtfMapEntry, form: BtfValueForm = 'plain'): string {
  const w = new BtfJsonWriter(form === 'plain');
  writeMapEntry(w, btf, info, entry, form);
  return w.finish();
}
