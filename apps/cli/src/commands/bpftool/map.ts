/**
 * bpftool's `map` commands: show, dump, lookup and update. A map with BTF key/value types prints as bpftool's
 * BTF JSON (@ebpf-sim/btf's formatBtfMapDump/formatBtfMapEntry); one without prints hex `key: .. value: ..`
 * lines. Formats follow bpftool 7.1's map.c (fixtures/bpftool/expected holds what it printed on this machine).
 */
import { formatBtfMapDump, formatBtfMapEntry, type Btf, type BtfJsonWriter, type BtfMapEntry, type BtfMapInfo } from '@ebpf-sim/btf';
import { BPF_MAP_INFO, BPF_MAP_TYPE, BPF_OBJ_NAME_LEN, Errno, O, strerror, type Libc, type Result, type Sys } from '@ebpf-sim/uapi';
import { CliError, UsageError } from '../../command.js';
import { MAP_KIND, btfById, handleFds, oneFd, parseMapHandle } from './handles.js';
import { fdinfoField, jsonWriter, mapTypeName, type JsonField } from './print.js';
import { SIM_POSSIBLE_CPUS, type StepContext } from './session.js';
import { showObjects, type Shown } from './show.js';
import type { Verb } from './verb.js';
import { checkByteCount, parseBytes } from './words.js';

/** struct bpf_map_info, all of it (the libc wrapper leaves out the BTF ids). */
interface MapInfo {
  readonly type: number;
  readonly id: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly mapFlags: number;
  readonly name: string;
  readonly btfId: number;
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  readonly btfVmlinuxValueTypeId: number;
  /** num_possible_cpus(), for per-CPU values (libbpf_num_possible_cpus: /sys/devices/system/cpu/possible). */
  readonly possibleCpus: number;
}

/** libbpf_num_possible_cpus: one past the highest CPU of the mask in /sys/devices/system/cpu/possible ("0", "0-3", "0,2-5"). */
function* possibleCpus(libc: Libc): Sys<number> {
  const fd = yield* libc.open('/sys/devices/system/cpu/possible', O.RDONLY);
  if (fd < 0) return SIM_POSSIBLE_CPUS;
  const got = yield* libc.readAll(fd);
  yield* libc.close(fd);
  const text = got.ok ? new TextDecoder().decode(got.value) : '';
  const ends = text.split(',').map((part) => Number(part.split('-').pop()));
  const highest = Math.max(...ends.filter((n) => Number.isInteger(n)));
  return Number.isFinite(highest) ? highest + 1 : SIM_POSSIBLE_CPUS;
}

function* mapInfo(libc: Libc, fd: number): Sys<MapInfo> {
  const I = BPF_MAP_INFO;
  const cpus = yield* possibleCpus(libc);
  const mark = libc.stack.mark();
  try {
    const address = libc.stack.alloca(I.size);
    const { ret } = yield* libc.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: fd, info_len: I.size, info: address });
    if (ret < 0) throw new CliError(`can't get map info: ${strerror(-ret)}`);
    const view = libc.stack.readView(address, I.size);
    const bytes = libc.stack.readBytes(address + I.name, BPF_OBJ_NAME_LEN);
    const nul = bytes.indexOf(0);
    const u32 = (off: number): number => view.getUint32(off, true);
    return {
      type: u32(I.type),
      id: u32(I.id),
      keySize: u32(I.key_size),
      valueSize: u32(I.value_size),
      maxEntries: u32(I.max_entries),
      mapFlags: u32(I.map_flags),
      name: new TextDecoder().decode(bytes.subarray(0, nul < 0 ? bytes.length : nul)),
      btfId: u32(I.btf_id),
      btfKeyTypeId: u32(I.btf_key_type_id),
      btfValueTypeId: u32(I.btf_value_type_id),
      btfVmlinuxValueTypeId: u32(I.btf_vmlinux_value_type_id),
      possibleCpus: cpus,
    };
  } finally {
    libc.stack.release(mark);
  }
}

/** The map's BTF as the kernel holds it. */
function* mapBtf(libc: Libc, info: MapInfo): Sys<Btf | undefined> {
  if (info.btfId === 0 || info.btfValueTypeId === 0) return undefined;
  return yield* btfById(libc, info.btfId);
}

const PER_CPU_TYPES: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE.PERCPU_HASH,
  BPF_MAP_TYPE.PERCPU_ARRAY,
  BPF_MAP_TYPE.LRU_PERCPU_HASH,
  BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE,
]);
const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;

/** What a lookup returns: value_size, or each possible CPU's value rounded up to 8 bytes. */
const lookupSize = (info: MapInfo): number => (PER_CPU_TYPES.has(info.type) ? roundUp8(info.valueSize) * info.possibleCpus : info.valueSize);

const btfMapInfo = (info: MapInfo): BtfMapInfo => ({
  keySize: info.keySize,
  valueSize: info.valueSize,
  keyTypeId: info.btfKeyTypeId,
  valueTypeId: info.btfVmlinuxValueTypeId || info.btfValueTypeId,
  perCpu: PER_CPU_TYPES.has(info.type),
  possibleCpus: info.possibleCpus,
});

/** bpftool's fprint_hex(f, data, n, " "): a line break every 16 bytes, two spaces between groups of 8. */
function fprintHex(data: Uint8Array): string {
  let out = '';
  data.forEach((byte, i) => {
    out += i === 0 ? '' : i % 16 === 0 ? '\n' : i % 8 === 0 ? '  ' : ' ';
    out += byte.toString(16).padStart(2, '0');
  });
  return out;
}

/** print_entry_plain: `key: .. value: ..` on one line when both are small, else each on its own lines. */
function entryPlain(info: MapInfo, entry: BtfMapEntry): string {
  const breakNames = info.keySize > 16 || info.valueSize > 16;
  if (PER_CPU_TYPES.has(info.type)) {
    let out = `key:\n${fprintHex(entry.key)}\n`;
    const step = roundUp8(info.valueSize);
    for (let cpu = 0; cpu < info.possibleCpus; cpu++) {
      out += `value (CPU ${String(cpu).padStart(2, '0')}):${info.valueSize > 16 ? '\n' : ' '}${fprintHex(entry.value.subarray(cpu * step, cpu * step + info.valueSize))}\n`;
    }
    return out;
  }
  const singleLine = info.keySize + info.valueSize <= 24 && !breakNames;
  const sep = breakNames ? '\n' : ' ';
  return `key:${sep}${fprintHex(entry.key)}${singleLine ? '  ' : '\n'}value:${sep}${fprintHex(entry.value)}\n`;
}

/** print_hex_data_json: ["0x00", ...]. */
function hexJson(w: BtfJsonWriter, bytes: Uint8Array): void {
  w.startArray();
  for (const byte of bytes) w.string(`0x${byte.toString(16).padStart(2, '0')}`);
  w.endArray();
}

/** print_entry_json of a map without BTF. */
function entryJson(w: BtfJsonWriter, info: MapInfo, entry: BtfMapEntry): void {
  w.startObject();
  w.name('key');
  hexJson(w, entry.key);
  if (PER_CPU_TYPES.has(info.type)) {
    const step = roundUp8(info.valueSize);
    w.name('values');
    w.startArray();
    for (let cpu = 0; cpu < info.possibleCpus; cpu++) {
      w.startObject();
      w.name('cpu');
      w.raw(String(cpu));
      w.name('value');
      hexJson(w, entry.value.subarray(cpu * step, cpu * step + info.valueSize));
      w.endObject();
    }
    w.endArray();
  } else {
    w.name('value');
    hexJson(w, entry.value);
  }
  w.endObject();
}

/** Every entry, in the order MAP_GET_NEXT_KEY gives them (an entry deleted between the two calls is skipped). */
function* entries(libc: Libc, fd: number, info: MapInfo): Sys<BtfMapEntry[]> {
  const out: BtfMapEntry[] = [];
  let key: Uint8Array | null = null;
  for (;;) {
    const next: Result<Uint8Array> = yield* libc.bpfMapGetNextKey(fd, key, info.keySize);
    if (!next.ok) {
      if (next.errno === Errno.ENOENT) return out;
      throw new CliError(`can't get next key: ${strerror(next.errno)}`);
    }
    const current: Uint8Array = next.value;
    key = current;
    const value = yield* libc.bpfMapLookup(fd, current, lookupSize(info));
    if (value.ok) out.push({ key: current, value: value.value });
    else if (value.errno !== Errno.ENOENT) throw new CliError(`can't lookup element with key: ${fprintHex(current)}: ${strerror(value.errno)}`);
  }
}

/** show_map_close_plain / show_map_close_json. */
function* showMap(ctx: StepContext, fd: number): Sys<Shown> {
  const info = yield* mapInfo(ctx.libc, fd);
  const memlock = yield* fdinfoField(ctx.libc, fd, 'memlock');
  const frozen = Number((yield* fdinfoField(ctx.libc, fd, 'frozen')) ?? 0);
  const type = mapTypeName(info.type);
  let plain = `${info.id}: ${type === undefined ? `type ${info.type}` : type}  ${info.name ? `name ${info.name}  ` : ''}flags 0x${info.mapFlags.toString(16)}\n`;
  plain += `\tkey ${info.keySize}B  value ${info.valueSize}B  max_entries ${info.maxEntries}`;
  if (memlock !== undefined) plain += `  memlock ${memlock}B`;
  if (info.btfId || frozen) plain += '\n\t';
  if (info.btfId) plain += `btf_id ${info.btfId}`;
  if (frozen) plain += `${info.btfId ? '  ' : ''}frozen`;
  plain += '\n';
  const fields: JsonField[] = [
    ['id', info.id],
    ['type', type ?? info.type],
  ];
  if (info.name) fields.push(['name', info.name]);
  fields.push(['flags', info.mapFlags], ['bytes_key', info.keySize], ['bytes_value', info.valueSize], ['max_entries', info.maxEntries]);
  if (memlock !== undefined) fields.push(['bytes_memlock', Number(memlock)]);
  fields.push(['frozen', frozen]);
  if (info.btfId) fields.push(['btf_id', info.btfId]);
  return { plain, fields };
}

const showVerb: Verb = {
  name: 'map show',
  summary: 'List maps (all, or those a handle names) as bpftool map show does',
  synopsis: '[MAP]',
  description: `Print each map's id, type, name, flags, sizes and BTF id, as bpftool map show (or JSON).
MAP is OBJ[:NAME] (the object is loaded first; NAME is the map's name in the object, .data/.rodata/.bss for
global data), id ID, pinned PATH or name NAME.`,
  parse(words) {
    const handle = words.done ? undefined : parseMapHandle(words);
    words.end();
    return (ctx) => showObjects(ctx, handle, MAP_KIND, showMap);
  },
};

const dumpVerb: Verb = {
  name: 'map dump',
  summary: 'Print every entry of a map: hex key/value lines, or BTF-typed JSON when the map has BTF',
  synopsis: 'MAP',
  description: `Print every entry as bpftool map dump does: "key: .. value: .." hex lines and "Found N elements" for a
map without BTF; the keys and values formatted through the map's BTF (JSON) for a map with BTF.`,
  parse(words) {
    const handle = parseMapHandle(words);
    words.end();
    return function* (ctx) {
      for (const fd of yield* handleFds(ctx.libc, handle, MAP_KIND)) {
        const info = yield* mapInfo(ctx.libc, fd);
        const btf = yield* mapBtf(ctx.libc, info);
        const all = yield* entries(ctx.libc, fd, info);
        if (btf !== undefined) ctx.io.out(formatBtfMapDump(btf, btfMapInfo(info), all, ctx.mode === 'plain' ? 'plain' : 'json'));
        else if (ctx.mode === 'plain') ctx.io.out(`${all.map((e) => entryPlain(info, e)).join('')}Found ${all.length} element${all.length === 1 ? '' : 's'}\n`);
        else {
          const w = jsonWriter(ctx.mode);
          w.startArray();
          for (const entry of all) entryJson(w, info, entry);
          w.endArray();
          ctx.io.out(w.finish());
        }
      }
    };
  },
};

const lookupVerb: Verb = {
  name: 'map lookup',
  summary: 'Look up one key of a map and print the entry',
  synopsis: 'MAP key [hex] BYTES',
  description: `Look up the key (bytes as numbers, or hex digits after "hex") and print the entry as map dump prints
it; a key that is not there prints bpftool's "Not found" and exits 1.`,
  parse(words) {
    const handle = parseMapHandle(words);
    if (words.next("'key'") !== 'key') throw new UsageError("expected 'key'");
    const key = parseBytes(words, 'key');
    words.end();
    return function* (ctx) {
      const fd = yield* oneFd(ctx.libc, handle, MAP_KIND);
      const info = yield* mapInfo(ctx.libc, fd);
      checkByteCount('key', key, info.keySize);
      const btf = yield* mapBtf(ctx.libc, info);
      const value = yield* ctx.libc.bpfMapLookup(fd, key, lookupSize(info));
      if (!value.ok) {
        if (value.errno !== Errno.ENOENT) throw new CliError(`lookup failed: ${strerror(value.errno)}`);
        ctx.io.out(ctx.mode === 'plain' ? `key:\n${fprintHex(key)}\n\nNot found\n` : 'null\n');
        throw new CliError('key not found');
      }
      const entry = { key, value: value.value };
      if (btf !== undefined) ctx.io.out(formatBtfMapEntry(btf, btfMapInfo(info), entry, ctx.mode === 'plain' ? 'plain' : 'json'));
      else if (ctx.mode === 'plain') ctx.io.out(entryPlain(info, entry));
      else {
        const w = jsonWriter(ctx.mode);
        entryJson(w, info, entry);
        ctx.io.out(w.finish());
      }
    };
  },
};

/** BPF_ANY, BPF_NOEXIST, BPF_EXIST by bpftool's names. */
const UPDATE_FLAGS: Readonly<Record<string, number>> = { any: 0, noexist: 1, exist: 2 };

const updateVerb: Verb = {
  name: 'map update',
  summary: 'Write one entry of a map',
  synopsis: 'MAP key [hex] BYTES value [hex] BYTES [any | exist | noexist]',
  description: `Write the entry with BPF_MAP_UPDATE_ELEM (any: create or replace, the default; exist: replace only;
noexist: create only). Bytes are numbers (0x.. hex, 0.. octal, decimal) or hex digits after "hex".`,
  parse(words) {
    const handle = parseMapHandle(words);
    if (words.next("'key'") !== 'key') throw new UsageError("expected 'key'");
    const key = parseBytes(words, 'key');
    if (words.next("'value'") !== 'value') throw new UsageError("expected 'value'");
    const value = parseBytes(words, 'value');
    let flags = 0;
    if (!words.done) {
      const word = words.next('an update flag');
      const flag = Object.hasOwn(UPDATE_FLAGS, word) ? UPDATE_FLAGS[word] : undefined;
      if (flag === undefined) throw new UsageError(`unknown update flag '${word}': expected any, exist or noexist`);
      flags = flag;
    }
    words.end();
    return function* (ctx) {
      const fd = yield* oneFd(ctx.libc, handle, MAP_KIND);
      const info = yield* mapInfo(ctx.libc, fd);
      checkByteCount('key', key, info.keySize);
      checkByteCount('value', value, info.valueSize);
      const ret = yield* ctx.libc.bpfMapUpdate(fd, key, value, flags);
      if (ret < 0) throw new CliError(`update failed: ${strerror(-ret)}`);
      if (ctx.mode !== 'plain') ctx.io.out('null\n');
    };
  },
};

export const MAP_VERBS: readonly Verb[] = [showVerb, dumpVerb, lookupVerb, updateVerb];
