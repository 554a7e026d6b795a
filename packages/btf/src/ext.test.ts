import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BTF_MAGIC, BtfCoreReloKind, BtfError, readBtfExt } from './index.js';

// .BTF and .BTF.ext of clang-19 objects (fixtures/ext/extract.sh copies them out of the loader's test objects).
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'ext');

/** `.BTF.ext` of an object and the string section of its `.BTF` (struct btf_header: hdr_len at 4, str_off at 16, str_len at 20). */
function extOf(file: string): { ext: Uint8Array; strings: Uint8Array } {
  const base = join(FIXTURES, file.replace(/\.o$/, ''));
  const btf = new Uint8Array(readFileSync(`${base}.btf`));
  const ext = new Uint8Array(readFileSync(`${base}.btf.ext`));
  const view = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  const little = view.getUint16(0, true) === BTF_MAGIC;
  const start = view.getUint32(4, little) + view.getUint32(16, little);
  return { ext, strings: btf.subarray(start, start + view.getUint32(20, little)) };
}

describe('readBtfExt', () => {
  it('reads func_info, line_info and the CO-RE relocations clang wrote for core.c', () => {
    const { ext, strings } = extOf('core.bpfel.o');
    const parsed = readBtfExt(ext, strings);
    expect(parsed.endian).toBe('little');
    expect(parsed.funcInfo).toHaveLength(1);
    expect(parsed.funcInfo[0]?.section).toBe('raw_tp/sys_enter');
    expect(parsed.funcInfo[0]?.records.map((r) => r.insnOff)).toEqual([0]);
    const lines = parsed.lineInfo[0]?.records ?? [];
    expect(lines[0]).toMatchObject({ insnOff: 0, lineNumber: 17, line: expect.stringContaining('bpf_get_current_task()') as unknown });
    expect(lines.every((l) => l.fileName.endsWith('core.c'))).toBe(true);
    // From `llvm-objdump -d core.bpfel.o`: insn 2 is pid's offset (0), 10 comm's existence, 11 its size (16),
    // 14 comm's offset for the bitfield read, 22/23/25/27 the bitfield's shifts and signedness, 31 the type's
    // existence, 33 its size (0x18), 35 SLEEPING's value (an LD imm64).
    const relos = parsed.coreRelos[0]?.records ?? [];
    expect(relos.map((r) => [r.insnOff / 8, r.kind, r.accessString])).toEqual([
      [2, BtfCoreReloKind.FIELD_BYTE_OFFSET, '0:0'],
      [10, BtfCoreReloKind.FIELD_EXISTS, '0:1'],
      [11, BtfCoreReloKind.FIELD_BYTE_SIZE, '0:1'],
      [14, BtfCoreReloKind.FIELD_BYTE_OFFSET, '0:2'],
      [18, BtfCoreReloKind.FIELD_BYTE_SIZE, '0:2'],
      [22, BtfCoreReloKind.FIELD_LSHIFT_U64, '0:2'],
      [23, BtfCoreReloKind.FIELD_SIGNED, '0:2'],
      [25, BtfCoreReloKind.FIELD_RSHIFT_U64, '0:2'],
      [27, BtfCoreReloKind.FIELD_RSHIFT_U64, '0:2'],
      [31, BtfCoreReloKind.TYPE_EXISTS, '0'],
      [33, BtfCoreReloKind.TYPE_SIZE, '0'],
      [35, BtfCoreReloKind.ENUMVAL_VALUE, '1'],
    ]);
  });

  it('reads a big-endian .BTF.ext as the little-endian one', () => {
    const le = extOf('maps.bpfel.o');
    const be = extOf('maps.bpfeb.o');
    const a = readBtfExt(le.ext, le.strings);
    const b = readBtfExt(be.ext, be.strings);
    expect(b.endian).toBe('big');
    expect(b.funcInfo).toEqual(a.funcInfo);
    expect(b.lineInfo).toEqual(a.lineInfo);
  });

  it('names the byte offset of what is wrong', () => {
    const { ext, strings } = extOf('core.bpfel.o');
    const badMagic = ext.slice();
    badMagic[0] = 0;
    expect(() => readBtfExt(badMagic, strings)).toThrow(/byte offset 0: \.BTF\.ext: invalid magic/);
    expect(() => readBtfExt(ext.subarray(0, 30), strings)).toThrow(BtfError);
    const badRecordSize = ext.slice();
    const view = new DataView(badRecordSize.buffer);
    const funcInfoAt = view.getUint32(4, true) + view.getUint32(8, true);
    view.setUint32(funcInfoAt, 4, true);
    expect(() => readBtfExt(badRecordSize, strings)).toThrow(
      `bad BTF at byte offset ${funcInfoAt}: .BTF.ext: func_info record size 4 is below 8 or not a multiple of 4`,
    );
  });

  it('gives only BtfError for corrupted and truncated blobs', () => {
    const { ext, strings } = extOf('core.bpfel.o');
    const readOrBtfError = (bytes: Uint8Array): void => {
      try {
        readBtfExt(bytes, strings);
      } catch (error) {
        expect(error).toBeInstanceOf(BtfError);
      }
    };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: ext.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const copy = ext.slice();
        for (const [at, value] of edits) copy[at] = value;
        readOrBtfError(copy);
      }),
      { numRuns: 1000 },
    );
    for (let n = 0; n < ext.length; n++) readOrBtfError(ext.subarray(0, n));
  });
});
