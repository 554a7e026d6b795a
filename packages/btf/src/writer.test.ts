/**
 * writeBtf as the inverse of parseBtf: every blob Linux accepted in fixtures/blobs.txt, and this machine's
 * /sys/kernel/btf/vmlinux, parse -> write -> parse to the same types; the written form is a fixed point.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordedBlob } from '../fixtures/blobs.js';
import { BtfBuilder, BtfKind, BtfWriteError, parseBtf, writeBtf, type BtfType } from './index.js';

/** What a type is, without where its name sits in the string section. */
const shapes = (types: readonly BtfType[]): Omit<BtfType, 'nameOff'>[] => types.map(({ nameOff: _nameOff, ...rest }) => rest);

const accepted = readFileSync(new URL('../fixtures/linux-results.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => / => 0 \| /.test(l))
  .map((l) => l.split(' ')[0] ?? '');

describe('writeBtf', () => {
  it('has blobs Linux accepted to round-trip', () => {
    expect(accepted).toEqual(expect.arrayContaining(['valid_all_kinds', 'valid_int_struct', 'valid_spin_lock_value']));
  });

  it.each(accepted)('%s: parse -> write -> parse gives the same types, and writing again the same bytes', (name) => {
    const first = parseBtf(recordedBlob(name));
    const bytes = writeBtf(first.types.slice(1));
    const second = parseBtf(bytes);
    expect(shapes(second.types)).toEqual(shapes(first.types));
    expect(writeBtf(second.types.slice(1))).toEqual(bytes);
  });

  const vmlinux = '/sys/kernel/btf/vmlinux';
  it.skipIf(!existsSync(vmlinux))("round-trips this machine's /sys/kernel/btf/vmlinux", () => {
    const original = new Uint8Array(readFileSync(vmlinux));
    const first = parseBtf(original);
    const written = writeBtf(first.types.slice(1));
    const second = parseBtf(written);
    expect(second.types.length).toBe(first.types.length);
    expect(shapes(second.types)).toEqual(shapes(first.types));
    // pahole's string section is deduplicated too: the blob comes back no larger.
    expect(written.length).toBeLessThanOrEqual(original.length);
  });
  if (!existsSync(vmlinux)) it.skip(`${vmlinux} is absent on this machine: the real kernel's BTF is not round-tripped`, () => undefined);

  it('writes signed and 64-bit enumerators, bitfield members and decl tags as parseBtf reads them', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, 1);
    const u8 = b.int('unsigned char', 1);
    const flags = b.add({
      kind: BtfKind.STRUCT,
      name: 'flags',
      sizeOrType: 4,
      kindFlag: true,
      members: [
        { name: 'a', type: u8, bitOffset: 0, bitfieldSize: 1 },
        { name: 'b', type: u8, bitOffset: 1, bitfieldSize: 3 },
        { name: 'c', type: int, bitOffset: 8, bitfieldSize: 20 },
      ],
    });
    b.add({ kind: BtfKind.ENUM, name: 'e', sizeOrType: 4, kindFlag: true, enumValues: [{ name: 'NEG', value: -2n }] });
    b.add({ kind: BtfKind.ENUM64, name: 'e64', sizeOrType: 8, enumValues: [{ name: 'BIG', value: 0xfedc_ba98_7654_3210n }] });
    b.add({ kind: BtfKind.DECL_TAG, name: 'tag', sizeOrType: flags, componentIdx: 2 });
    const btf = parseBtf(b.build());
    expect(btf.types[3]?.members).toEqual([
      { name: 'a', type: 2, bitOffset: 0, bitfieldSize: 1 },
      { name: 'b', type: 2, bitOffset: 1, bitfieldSize: 3 },
      { name: 'c', type: 1, bitOffset: 8, bitfieldSize: 20 },
    ]);
    expect(btf.types[4]?.enumValues).toEqual([{ name: 'NEG', value: -2n }]);
    expect(btf.types[5]?.enumValues).toEqual([{ name: 'BIG', value: 0xfedc_ba98_7654_3210n }]);
    expect(btf.types[6]).toMatchObject({ kind: BtfKind.DECL_TAG, sizeOrType: 3, componentIdx: 2 });
  });

  it('lets a struct refer to itself through a reserved id', () => {
    const b = new BtfBuilder();
    const node = b.reserve();
    const ptr = b.ref(BtfKind.PTR, node);
    b.define(node, { kind: BtfKind.STRUCT, name: 'node', sizeOrType: 8, members: [{ name: 'next', type: ptr, bitOffset: 0, bitfieldSize: 0 }] });
    const btf = parseBtf(b.build());
    expect(btf.types[1]).toMatchObject({ name: 'node', members: [{ name: 'next', type: 2 }] });
    expect(btf.sizeOf(1)).toBe(8);
  });

  it('names the type it cannot encode', () => {
    expect(() => writeBtf([{ kind: BtfKind.INT, name: 'a\0b', sizeOrType: 4, intBits: 32 }])).toThrow(BtfWriteError);
    expect(() =>
      writeBtf([
        { kind: BtfKind.INT, name: 'int', sizeOrType: 4, intBits: 32 },
        { kind: BtfKind.PTR, name: '', sizeOrType: -1 },
      ]),
    ).toThrow(/type \[2\]: size\/type -1/);
    expect(() => writeBtf([{ kind: BtfKind.ENUM, name: 'e', sizeOrType: 4, enumValues: [{ name: 'X', value: 1n << 40n }] }])).toThrow(/does not fit 32 bits/);
    const b = new BtfBuilder();
    b.reserve();
    expect(() => b.build()).toThrow(/\[1\]: reserved but never defined/);
  });
});
