/**
 * bpftool's small printers: type names (libbpf's libbpf_bpf_prog_type_str / map_type_str are the enum names in
 * lower case), hex bytes (fprint_hex), the hex dump of `prog run ... data_out -` (hex_print), the JSON writer
 * (json_writer.c, shared with @ebpf-sim/btf's map formatting) and reading a value from /proc/self/fdinfo.
 */
import { BtfJsonWriter } from '@ebpf-sim/btf';
import { BPF_MAP_TYPE, BPF_PROG_TYPE, O, type Libc, type Sys } from '@ebpf-sim/uapi';
import type { OutputMode } from './session.js';

const lowerNames = (table: Readonly<Record<string, number>>): ReadonlyMap<number, string> =>
  new Map(Object.entries(table).map(([name, value]) => [value, name.toLowerCase()]));
const PROG_TYPE_NAMES = lowerNames(BPF_PROG_TYPE);
const MAP_TYPE_NAMES = lowerNames(BPF_MAP_TYPE);

/** libbpf_bpf_prog_type_str, or undefined for a type it does not know (bpftool then prints `type N`). */
export const progTypeName = (type: number): string | undefined => PROG_TYPE_NAMES.get(type);
export const mapTypeName = (type: number): string | undefined => MAP_TYPE_NAMES.get(type);

const hex2 = (byte: number): string => byte.toString(16).padStart(2, '0');

/** fprint_hex with separator " ": `00 77 66 55`. */
export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, hex2).join(' ');
}

/** bpftool's hex_print: offset, 16 bytes in pairs, then the printable characters in two groups of eight. */
export function hexDump(data: Uint8Array): string {
  let out = '';
  for (let i = 0; i < data.length; i += 16) {
    let line = `${i.toString(16).padStart(7, '0')}\t`;
    for (let j = i; j < i + 16; j++) {
      const byte = data[j];
      line += byte === undefined ? `  ${j % 2 ? ' ' : ''}` : `${hex2(byte)}${j % 2 ? ' ' : ''}`;
    }
    line += '| ';
    for (let j = i; j < i + 16 && j < data.length; j++) {
      const c = data[j] ?? 0;
      line += `${c < 0x20 || c > 0x7e ? '.' : String.fromCharCode(c)}${j === i + 7 ? ' ' : ''}`;
    }
    out += `${line}\n`;
  }
  return out;
}

/** A JSON writer for the output mode (`-j` compact, `-p` pretty), as bpftool's json_wtr. */
export const jsonWriter = (mode: OutputMode): BtfJsonWriter => new BtfJsonWriter(mode === 'pretty');

/** A JSON object of fields in order (numbers and booleans raw, strings quoted, arrays of numbers). */
export type JsonField = readonly [string, string | number | boolean | readonly number[]];

export function writeFields(w: BtfJsonWriter, fields: readonly JsonField[]): void {
  w.startObject();
  for (const [name, value] of fields) {
    w.name(name);
    if (typeof value === 'string') w.string(value);
    else if (typeof value === 'object') {
      w.startArray();
      for (const n of value) w.raw(String(n));
      w.endArray();
    } else w.raw(String(value));
  }
  w.endObject();
}

/** bpftool's get_fdinfo: the value of `key:` in /proc/self/fdinfo/FD, or undefined. */
export function* fdinfoField(libc: Libc, fd: number, key: string): Sys<string | undefined> {
  const file = yield* libc.open(`/proc/self/fdinfo/${fd}`, O.RDONLY);
  if (file < 0) return undefined;
  let text = '';
  for (;;) {
    const { ret, data } = yield* libc.read(file, 4096);
    if (ret <= 0) break;
    text += new TextDecoder().decode(data.subarray(0, ret));
  }
  yield* libc.close(file);
  const line = text.split('\n').find((l) => l.startsWith(`${key}:`));
  return line?.slice(key.length + 1).trim();
}
