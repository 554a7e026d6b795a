// The BTF codec of the map handles, on real clang-19 BTF: every data-map dump of the corpus recording (bytes
// and bpftool's BTF-formatted value, from Linux 6.18) decoded by decodeBtfValue must give bpftool's values,
// and encoding the decoded value must give the bytes back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoaderError, decodeBtfValue, encodeBtfValue, openObject, type BtfValue, type ObjectSpec } from './index.js';

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'corpus');
interface RecordedDump {
  readonly map: string;
  readonly entries: readonly { readonly value: readonly string[]; readonly formatted: { readonly value: Readonly<Record<string, readonly object[]>> } }[];
}
const recording = JSON.parse(readFileSync(join(CORPUS, 'recording.json'), 'utf8')) as {
  objects: { object: string; dumps?: Readonly<Record<string, RecordedDump>> }[];
};
const open = (object: string): ObjectSpec =>
  openObject(new Uint8Array(readFileSync(join(CORPUS, object))), { name: object.replace(/^obj\//, '').replace(/\.bpf\.o$/, '') });

/** bpftool's JSON numbers are doubles: compare a decoded value with bigints made numbers. */
const asJson = (value: BtfValue): unknown => JSON.parse(JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));

const dumps = recording.objects.flatMap((o) => Object.entries(o.dumps ?? {}).map(([section, dump]) => ({ object: o.object, section, dump })));

describe('decodeBtfValue / encodeBtfValue', () => {
  it('has recorded dumps to check', () => {
    expect(dumps.length).toBeGreaterThanOrEqual(5);
  });

  it.each(dumps)('$object $section: the recorded bytes decode to what bpftool printed and encode back', ({ object, section, dump }) => {
    const spec = open(object);
    const map = spec.maps.find((m) => m.name === section);
    const btf = spec.btf?.btf;
    expect(map !== undefined && btf !== undefined).toBe(true);
    if (map === undefined || btf === undefined) return;
    for (const entry of dump.entries) {
      const bytes = new Uint8Array(entry.value.map((b) => Number(b)));
      const decoded = decodeBtfValue(btf, map.valueTypeId, bytes);
      // bpftool writes a DATASEC as a list of one-variable objects under the section's name.
      const expected = Object.assign({}, ...(entry.formatted.value[section] ?? [])) as object;
      expect(asJson(decoded)).toEqual(expected);
      expect(encodeBtfValue(btf, map.valueTypeId, decoded)).toEqual(bytes);
    }
  });

  it('refuses a value that does not fit its type, naming where', () => {
    const spec = open('obj/core_task.bpf.o');
    const bss = spec.maps.find((m) => m.name === '.bss');
    const btf = spec.btf?.btf;
    if (bss === undefined || btf === undefined) throw new Error('core_task has a .bss with BTF');
    const bad = (value: BtfValue): string => {
      try {
        encodeBtfValue(btf, bss.valueTypeId, value, "map '.bss': value");
      } catch (error) {
        expect(error).toBeInstanceOf(LoaderError);
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(bad({ facts: { pid: 2 ** 40 } })).toBe("map '.bss': value.facts.pid: 1099511627776 does not fit in 32 bits");
    expect(bad({ facts: { comm: 'a name longer than sixteen' } })).toBe("map '.bss': value.facts.comm: a string of 26 characters for char[16]");
    expect(bad({ facts: { nothing: 1 } })).toBe("map '.bss': value.facts: no member 'nothing'");
    expect(bad({ missing: 1 })).toBe("map '.bss': value: no variable 'missing'");
    expect(bad({ facts: 3 })).toBe("map '.bss': value.facts: a struct takes an object");
    // Fields left out are zero; a value decodes back to what was given.
    // -5 into a __u32 wraps as the C conversion does.
    const bytes = encodeBtfValue(btf, bss.valueTypeId, { facts: { pid: -5, comm: 'sh' }, btf_pid: 7 });
    expect(decodeBtfValue(btf, bss.valueTypeId, bytes)).toMatchObject({ facts: { pid: 2 ** 32 - 5, tgid: 0, comm: 'sh' }, btf_pid: 7 });
    expect(() => decodeBtfValue(btf, bss.valueTypeId, bytes.subarray(1))).toThrow(/value: 95 bytes for a 96-byte BTF type/);
  });
});
