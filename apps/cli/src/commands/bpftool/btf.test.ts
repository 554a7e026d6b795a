/**
 * `btf dump` against bpftool's own dumps of the same objects (packages/btf/fixtures/dump, recorded on this
 * machine by its record.sh): the raw listing, its JSON and the C form.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, run } from '../isa/test-helpers.js';

const DUMP = join(REPO_ROOT, 'packages', 'btf', 'fixtures', 'dump');
const expectedDump = (file: string): string => readFileSync(join(DUMP, 'expected', file), 'latin1');

describe('btf dump file', () => {
  it.each(['types', 'maps', 'externs'])('%s.o: raw, -j raw and format c are what bpftool printed', async (name) => {
    const obj = join(DUMP, 'obj', `${name}.o`);
    expect(await run('btf', 'dump', 'file', obj)).toEqual({ code: 0, out: expectedDump(`${name}.raw`), err: '' });
    expect(await run('btf', 'dump', 'file', obj, 'format', 'raw', '--json')).toEqual({ code: 0, out: expectedDump(`${name}.raw.json`), err: '' });
    expect(await run('btf', 'dump', 'file', obj, 'format', 'c')).toEqual({ code: 0, out: expectedDump(`${name}.h`), err: '' });
  });

  it('reads a raw BTF blob as well as an object', async () => {
    expect((await run('btf', 'dump', 'file', join(DUMP, 'obj', 'types.btf'))).out).toBe(expectedDump('types.raw'));
  });
});

describe("btf dump of the simulated kernel's own BTF", () => {
  it('/sys/kernel/btf/vmlinux format c is a vmlinux.h with task_struct and the preserve_access_index pragma', async () => {
    const r = await run('btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c');
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toMatch(/^#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n/);
    expect(r.out).toContain('#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)');
    expect(r.out).toMatch(/struct task_struct \{[^}]*\tpid_t pid;[^}]*\tchar comm\[16\];/);
    const raw = await run('btf', 'dump', 'file', '/sys/kernel/btf/vmlinux');
    expect(raw.out).toMatch(/^\[1\] /);
    expect(raw.out).toMatch(/\] STRUCT 'task_struct' size=\d+ vlen=\d+\n/);
  });
});
