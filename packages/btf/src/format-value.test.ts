/**
 * formatBtfMapDump / formatBtfValue against `bpftool map dump` and `bpftool -j map dump` of maps.o's maps, recorded
 * by fixtures/dump/record.sh after the object's program filled them: the same entries (bytes from the -j dump) and
 * the BTF the kernel held for them must print byte for byte what bpftool printed.
 */
import { describe, expect, it } from 'vitest';
import { btfInfo, buildBtf, expectedText, mapsKernelBtf, recordedMaps } from '../fixtures/dump/fixtures.js';
import { BtfJsonWriter, BtfKind, BtfValueError, formatBtfMapDump, formatBtfMapEntry, formatBtfValue, parseBtf } from './index.js';

const btf = parseBtf(mapsKernelBtf());
const maps = recordedMaps();
const idOf = (kind: number, name: string): number => btf.types.findIndex((t) => t.kind === kind && t.name === name);

const blob = buildBtf;
const info = btfInfo;

describe('formatBtfMapDump', () => {
  it('has the recorded maps: hash, array, per-CPU array, enum-keyed hash, .data, .rodata, .bss', () => {
    expect(maps.map((m) => m.name).sort()).toEqual(['by_state', 'floats', 'maps_bss', 'maps_data', 'maps_rodata', 'percpu', 'values']);
    expect(maps.every((m) => m.entries.length > 0)).toBe(true);
  });

  for (const map of maps) {
    const mapInfo = { ...map };
    it(`prints map ${map.name} as \`bpftool map dump\` does`, () => {
      expect(formatBtfMapDump(btf, mapInfo, map.entries, 'plain')).toBe(map.plain);
    });
    it(`prints map ${map.name} as \`bpftool -j map dump\` does`, () => {
      expect(formatBtfMapDump(btf, mapInfo, map.entries, 'json')).toBe(map.json);
    });
  }
});

describe('formatBtfMapEntry', () => {
  for (const [name, pick] of [
    ['values', (key: Uint8Array) => key[0] === 1],
    ['maps_data', () => true],
  ] as const) {
    const map = maps.find((m) => m.name === name);
    const entry = map?.entries.find((e) => pick(e.key));
    it(`prints map ${name}'s entry as \`bpftool map lookup\` and \`bpftool -j map lookup\` do`, () => {
      if (map === undefined || entry === undefined) throw new Error(`no recorded entry of map ${name}`);
      expect(formatBtfMapEntry(btf, map, entry, 'plain')).toBe(expectedText(`maps.${name}.lookup.txt`));
      expect(formatBtfMapEntry(btf, map, entry, 'json')).toBe(expectedText(`maps.${name}.lookup.json`));
    });
  }

  it('prints an empty map as an empty array', () => {
    const map = maps[0];
    if (map === undefined) throw new Error('no recorded map');
    expect(formatBtfMapDump(btf, map, [], 'plain')).toBe('[]\n');
    expect(formatBtfMapDump(btf, map, [], 'json')).toBe('[]\n');
  });
});

describe('formatBtfValue', () => {
  const values = maps.find((m) => m.name === 'values');
  if (values === undefined) throw new Error('maps.info has no map "values"');
  const first = values.entries.find((e) => e.key[0] === 1);
  if (first === undefined) throw new Error('map "values" has no key 1');

  it('formats one value in either form', () => {
    const key = formatBtfValue(btf, values.keyTypeId, first.key, 'json');
    expect(key).toBe('{"id":1,"comm":"first"}');
    expect(formatBtfValue(btf, values.keyTypeId, first.key)).toBe('{\n    "id": 1,\n    "comm": "first"\n}');
    expect(formatBtfValue(btf, idOf(BtfKind.ENUM, 'state'), Uint8Array.of(0xfd, 0xff, 0xff, 0xff))).toBe('"ST_NEG"');
  });

  it('formats the same value into a writer the caller owns', () => {
    const w = new BtfJsonWriter(false);
    w.startArray();
    w.raw('1');
    w.endArray();
    expect(w.finish()).toBe('[1]\n');
    expect(() => {
      const open = new BtfJsonWriter(false);
      open.startObject();
      open.finish();
    }).toThrow(/depth 1/);
  });

  it('refuses bytes shorter than the type', () => {
    expect(() => formatBtfValue(btf, values.valueTypeId, first.value.subarray(0, 10))).toThrow(BtfValueError);
    expect(() => formatBtfValue(btf, values.valueTypeId, first.value.subarray(0, 10))).toThrow(/the type is 208 bytes, the value 10/);
  });

  it('prints a CHAR-encoded int as bpftool does: printable quoted, else hex (plain) or \\u00xx (JSON)', () => {
    // [1] INT 'c' size 1 encoding CHAR
    const chars = parseBtf(blob('\0c\0', [1, info(BtfKind.INT), 1, 0x02000008]));
    expect(formatBtfValue(chars, 1, Uint8Array.of(0x41))).toBe('"A"');
    expect(formatBtfValue(chars, 1, Uint8Array.of(0x07), 'plain')).toBe('0x7');
    expect(formatBtfValue(chars, 1, Uint8Array.of(0x07), 'json')).toBe('"\\u0007"');
  });

  it('refuses an array that runs past the value (a corrupt blob), where bpftool would read past its buffer', () => {
    // [1] int, [2] int[1000], [3] struct s (size 4) { [2] a; } — libbpf's rules do not check members against the size.
    const words = [1, info(BtfKind.INT), 4, 0x01000020, 0, info(BtfKind.ARRAY), 0, 1, 1, 1000, 5, info(BtfKind.STRUCT, 1), 4, 7, 2, 0];
    const loose = parseBtf(blob('\0int\0s\0a\0', words), { rules: 'libbpf' });
    expect(() => formatBtfValue(loose, 3, new Uint8Array(4))).toThrow(/array of 1000 x 4 bytes at offset 0 runs past the value's 4 bytes/);
  });
});
