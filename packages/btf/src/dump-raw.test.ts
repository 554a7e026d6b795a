/**
 * dumpBtfRaw against `bpftool btf dump file X` as recorded by fixtures/dump/record.sh: the BTF of the clang-19 objects
 * compiled from fixtures/dump/src, and this machine's /sys/kernel/btf/vmlinux (whole dump by sha256, a few types in full).
 */
import { describe, expect, it } from 'vitest';
import { OBJECTS, expectedText, mapsKernelBtf, objectBtf, recordedVmlinux, sha256, vmlinuxRecording } from '../fixtures/dump/fixtures.js';
import { BtfError, dumpBtfRaw, dumpBtfTypeRaw, parseBtf } from './index.js';

describe('dumpBtfRaw', () => {
  for (const name of OBJECTS)
    it(`prints ${name}.o's BTF as bpftool does, byte for byte`, () => {
      expect(dumpBtfRaw(parseBtf(objectBtf(name), { rules: 'libbpf' }))).toBe(expectedText(`${name}.raw`));
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
  it.skipIf(skip !== undefined)("prints this machine's vmlinux as bpftool does (sha256 of the whole dump; a few types in full)", () => {
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
  });
});
