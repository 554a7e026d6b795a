/**
 * dumpBtfRaw against `bpftool btf dump file X` as recorded by fixtures/dump/record.sh: the BTF of the clang-19 objects
 * compiled from fixtures/dump/src, and this machine's /sys/kernel/btf/vmlinux (whole dump by sha256, a few types in full).
 */
import { describe, expect, it } from 'vitest';
import { OBJECTS, expectedText, mapsKernelBtf, objectBtf, recordedVmlinux, sha256, vmlinuxRecording } from '../fixtures/dump/fixtures.js';
import { BtfError, dumpBtfRaw, dumpBtfRawJson, dumpBtfTypeRaw, parseBtf } from './index.js';

describe('dumpBtfRaw', () => {
  for (const name of OBJECTS)
    it(`prints ${name}.o's BTF as bpftool does, byte for byte`, () => {
      expect(dumpBtfRaw(parseBtf(objectBtf(name), { rules: 'libbpf' }))).toBe(expectedText(`${name}.raw`));
    });

  for (const name of OBJECTS)
    it(`prints ${name}.o's BTF as \`bpftool -j btf dump\` does, byte for byte`, () => {
      expect(dumpBtfRawJson(parseBtf(objectBtf(name), { rules: 'libbpf' }))).toBe(expectedText(`${name}.raw.json`));
    });

  it('prints pretty JSON as `bpftool -p btf dump` does, and only the root ids asked for', () => {
    const btf = parseBtf(objectBtf('types'), { rules: 'libbpf' });
    expect(dumpBtfRawJson(btf, undefined, true)).toBe(expectedText('types.raw.pretty.json'));
    expect(dumpBtfRawJson(btf, [1])).toBe('{"types":[{"id":1,"kind":"INT","name":"int","size":4,"bits_offset":0,"nr_bits":32,"encoding":"SIGNED"}]}\n');
  });

  it('prints only the root ids asked for, in their order', () => {
    const btf = parseBtf(objectBtf('types'), { rules: 'libbpf' });
    const lines = expectedText('types.raw').split(/\n(?=\[)/);
    expect(dumpBtfRaw(btf, [3, 1])).toBe(`${lines[2]}\n${lines[0]}\n`);
  });

  it('refuses a type id the blob does not have', () => {
    const btf = parseBtf(objectBtf('types'), { rules: 'libbpf' });
    expect(() => dumpBtfTypeRaw(btf, btf.types.length)).toThrow(RangeError);
    expect(() => dumpBtfTypeRaw(btf, 0)).toThrow(/no BTF type \[0\]/);
  });

  it("needs libbpf's rules for an object's BTF (DATASEC size 0 before the loader's fix-up), not for the kernel's copy", () => {
    expect(() => parseBtf(objectBtf('maps'))).toThrow(BtfError);
    expect(() => parseBtf(objectBtf('maps'))).toThrow(/DATASEC .*size == 0/);
    const kernelCopy = parseBtf(mapsKernelBtf());
    expect(kernelCopy.types.length).toBe(parseBtf(objectBtf('maps'), { rules: 'libbpf' }).types.length);
  });

  const vmlinux = recordedVmlinux();
  const skip = 'skip' in vmlinux ? vmlinux.skip : undefined;
  if (skip !== undefined) console.warn(`dump-raw.test.ts: vmlinux checks skipped: ${skip}`);
  it.skipIf(skip !== undefined)("prints this machine's vmlinux as bpftool does (text and JSON: sha256 of the whole dump; a few types in full)", () => {
    if ('skip' in vmlinux) return;
    const btf = parseBtf(vmlinux.bytes);
    const rec = vmlinuxRecording();
    for (const t of rec.types) {
      const id = btf.types.findIndex((x) => x.name === t.name);
      expect(dumpBtfTypeRaw(btf, id)).toBe(t.raw);
    }
    const dump = dumpBtfRaw(btf);
    expect(dump.length).toBe(rec.raw.size);
    expect(sha256(dump)).toBe(rec.raw.sha256);
    const json = dumpBtfRawJson(btf);
    expect(json.length).toBe(rec.rawJson.size);
    expect(sha256(json)).toBe(rec.rawJson.sha256);
  });
});
