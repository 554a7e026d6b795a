/**
 * dumpBtfC against `bpftool btf dump file X format c` as recorded by fixtures/dump/record.sh: the clang-19 objects of
 * fixtures/dump/src (every kind, bitfields, padding, packed and empty structs, anonymous types inline, forward
 * declarations, function pointers, tags) and this machine's /sys/kernel/btf/vmlinux (whole vmlinux.h by sha256, a few
 * types in full).
 */
import { describe, expect, it } from 'vitest';
import { OBJECTS, btfInfo, buildBtf, expectedText, objectBtf, recordedVmlinux, sha256, vmlinuxRecording } from '../fixtures/dump/fixtures.js';
import { BtfDumpError, BtfKind, btfAlignOf, btfPointerSize, dumpBtfC, parseBtf } from './index.js';
import type { Btf } from './index.js';

const HEAD =
  '#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n' +
  '#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n';
const TAIL = '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n';

const idOf = (btf: Btf, kind: number, name: string): number => btf.types.findIndex((t) => t.kind === kind && t.name === name);

const blob = buildBtf;
const info = btfInfo;

describe('dumpBtfC', () => {
  for (const name of OBJECTS)
    it(`prints ${name}.o's BTF as C as bpftool does, byte for byte`, () => {
      expect(dumpBtfC(parseBtf(objectBtf(name), { rules: 'libbpf' }))).toBe(expectedText(`${name}.h`));
    });

  it('dumps a root type with what it needs first, and a self-referring struct without a forward declaration', () => {
    const btf = parseBtf(objectBtf('types'), { rules: 'libbpf' });
    expect(dumpBtfC(btf, [idOf(btf, BtfKind.STRUCT, 'list_head')])).toBe(
      `${HEAD}struct list_head {\n\tstruct list_head *next;\n\tstruct list_head *prev;\n};\n\n${TAIL}`,
    );
    // b_then_a points at a_then_b, which embeds b_then_a: a forward declaration breaks the cycle.
    expect(dumpBtfC(btf, [idOf(btf, BtfKind.STRUCT, 'a_then_b')])).toBe(
      `${HEAD}struct a_then_b;\n\nstruct b_then_a {\n\tstruct a_then_b *a;\n\tint x;\n};\n\n` +
        `struct a_then_b {\n\tstruct b_then_a b;\n\tlong y;\n};\n\n${TAIL}`,
    );
  });

  it('knows alignments and the pointer size as libbpf does', () => {
    const btf = parseBtf(objectBtf('types'), { rules: 'libbpf' });
    expect(btfPointerSize(btf)).toBe(8);
    expect(btfAlignOf(btf, idOf(btf, BtfKind.STRUCT, 'packed'))).toBe(1);
    expect(btfAlignOf(btf, idOf(btf, BtfKind.STRUCT, 'padded'))).toBe(8);
    expect(btfAlignOf(btf, idOf(btf, BtfKind.STRUCT, 'over_aligned'))).toBe(4);
    expect(btfAlignOf(btf, 0)).toBe(0);
  });

  it('refuses an anonymous struct that points at itself (libbpf: unsatisfiable type cycle)', () => {
    // [1] int, [2] struct (anon) { [3] *p; }, [3] ptr -> [2]
    const btf = parseBtf(blob('\0int\0p\0', [1, info(BtfKind.INT), 4, 0x01000020, 0, info(BtfKind.STRUCT, 1), 8, 5, 3, 0, 0, info(BtfKind.PTR), 2]));
    expect(() => dumpBtfC(btf)).toThrow(BtfDumpError);
    expect(() => dumpBtfC(btf)).toThrow('cannot dump BTF as C: unsatisfiable type cycle, id:[2]');
  });

  it('refuses a function prototype that takes a pointer to itself, where libbpf would recurse forever', () => {
    // [1] func_proto (void)(a: [2]), [2] ptr -> [1], [3] typedef fn_t -> [2]
    const btf = parseBtf(blob('\0a\0fn_t\0', [0, info(BtfKind.FUNC_PROTO, 1), 0, 1, 2, 0, info(BtfKind.PTR), 1, 3, info(BtfKind.TYPEDEF), 2]));
    expect(() => dumpBtfC(btf)).toThrow(/nest more than 512 deep/);
  });

  const vmlinux = recordedVmlinux();
  const skip = 'skip' in vmlinux ? vmlinux.skip : undefined;
  if (skip !== undefined) console.warn(`dump-c.test.ts: vmlinux checks skipped: ${skip}`);
  it.skipIf(skip !== undefined)("prints this machine's vmlinux.h as bpftool does (sha256 of the whole; a few types in full)", () => {
    if ('skip' in vmlinux) return;
    const rec = vmlinuxRecording();
    const header = dumpBtfC(parseBtf(vmlinux.bytes));
    for (const t of rec.types) expect(header).toContain(`\n${t.c}`);
    expect(header.length).toBe(rec.c.size);
    expect(sha256(header)).toBe(rec.c.sha256);
  });
});
