import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ElfError, SectionType, SymbolBind, SymbolType, programSections, readElf } from './index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const load = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));

describe.each([
  ['maps.bpfel.o', 'little'],
  ['maps.bpfeb.o', 'big'],
] as const)('readElf(%s)', (file, endian) => {
  const obj = readElf(load(file));

  it('reads the header', () => {
    expect(obj.endian).toBe(endian);
    expect(obj.machine).toBe(247);
    expect(obj.type).toBe(1);
  });

  it('reads sections by name with their contents', () => {
    expect(obj.sections.map((s) => s.name)).toEqual(['', '.strtab', '.text', 'xdp', '.relxdp', 'tc', '.bss', '.maps', 'license', '.llvm_addrsig', '.symtab']);
    const xdp = obj.section('xdp');
    expect(xdp?.size).toBe(0x88);
    expect(xdp?.data.length).toBe(0x88);
    expect(xdp?.addralign).toBe(8);
    expect(obj.section('.bss')?.type).toBe(SectionType.NOBITS);
    expect(obj.section('.bss')?.data.length).toBe(0);
    expect(new TextDecoder().decode(obj.section('license')?.data)).toBe('GPL\0');
    expect(obj.section('nope')).toBeUndefined();
  });

  it('reads symbols', () => {
    const byName = new Map(obj.symbols.map((s) => [s.name, s]));
    expect(byName.get('count_packets')).toMatchObject({ type: SymbolType.FUNC, bind: SymbolBind.GLOBAL, size: 136, sectionIndex: 3, value: 0 });
    expect(byName.get('bump')).toMatchObject({ type: SymbolType.FUNC, bind: SymbolBind.LOCAL, size: 24, sectionIndex: 2 });
    expect(byName.get('counts')).toMatchObject({ type: SymbolType.OBJECT, size: 32, sectionIndex: 7 });
  });

  it('reads relocations with their symbols', () => {
    const relocs = obj.relocations(obj.section('xdp')!);
    // The local call's relocation names the STT_SECTION symbol of .text, which has no name of its own.
    expect(relocs.map((r) => [r.offset, r.symbol?.name, r.type, r.symbol?.type])).toEqual([
      [0x20, 'counts', 1, SymbolType.OBJECT],
      [0x38, 'seen', 1, SymbolType.OBJECT],
      [0x70, '', 10, SymbolType.SECTION],
    ]);
    expect(obj.sections[relocs[2]!.symbol!.sectionIndex]?.name).toBe('.text');
    expect(obj.relocations(obj.section('tc')!)).toEqual([]);
  });

  it('lists program sections with their functions', () => {
    const progs = programSections(obj);
    expect(progs.map((p) => [p.section.name, p.functions.map((f) => f.name)])).toEqual([
      ['.text', ['bump']],
      ['xdp', ['count_packets']],
      ['tc', ['empty_tc']],
    ]);
  });
});

describe('readElf on bad input', () => {
  const good = load('maps.bpfel.o');

  it('rejects a file that is not ELF, naming the offset', () => {
    expect(() => readElf(new TextEncoder().encode('#!/bin/sh\necho hello\n'))).toThrow(/byte offset 0 .*expected the ELF magic/);
  });

  it('rejects a short file', () => {
    expect(() => readElf(good.subarray(0, 10))).toThrow(ElfError);
    expect(() => readElf(good.subarray(0, 40))).toThrow(/expected an ELF64 header of 64 bytes/);
  });

  it('rejects a 32-bit file', () => {
    const copy = good.slice();
    copy[4] = 1;
    expect(() => readElf(copy)).toThrow(/byte offset 4 .*ELFCLASS64/);
  });

  it('rejects a truncated section header table', () => {
    expect(() => readElf(good.subarray(0, good.length - 100))).toThrow(/section header table of 11 entries inside the file/);
  });

  it('rejects a section whose contents lie outside the file', () => {
    const copy = good.slice();
    const view = new DataView(copy.buffer);
    const shoff = Number(view.getBigUint64(40, true));
    // Section 3 (xdp): make sh_size huge.
    view.setBigUint64(shoff + 3 * 64 + 32, 0x100000n, true);
    const error = (() => {
      try {
        readElf(copy);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ElfError);
    expect((error as ElfError).offset).toBe(shoff + 3 * 64 + 24);
    expect((error as ElfError).message).toMatch(/section 3 contents/);
  });

  it('rejects a section name outside the string table', () => {
    const copy = good.slice();
    const view = new DataView(copy.buffer);
    const shoff = Number(view.getBigUint64(40, true));
    view.setUint32(shoff + 2 * 64, 0xffff, true);
    expect(() => readElf(copy)).toThrow(/section name offset inside the string table/);
  });
});
