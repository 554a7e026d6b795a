/**
 * `struct_ops register / show / list / unregister` in a batch file (one kernel), against bpftool 6.18's output
 * for the same object on this machine (fixtures/attach/record-sops2.txt, recorded by record-sops2.sh; ids as N).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../isa/test-helpers.js';
import { TMP } from './test-fixtures.js';

const ATTACH = new URL('../../../fixtures/attach/', import.meta.url);
const OBJ = new URL('obj/sops2_cc.bpf.o', ATTACH).pathname;
const LINUX = new Map(
  readFileSync(new URL('record-sops2.txt', ATTACH), 'utf8')
    .split('\n')
    .filter((line) => line.includes(' => '))
    .map((line) => line.split(' => ') as [string, string]),
);
const linux = (name: string): string => LINUX.get(name) ?? `record-sops2.txt has no '${name}'`;
/** Ids differ from Linux's: N in both. */
const anonymised = (out: string): string[] =>
  out.split('\n').map((line) =>
    line
      .replace(/ id \d+$/, ' id N')
      .replace(/^\d+:/, 'N:')
      .trimEnd(),
  );

describe('struct_ops commands', () => {
  it('register, show, list, unregister in one kernel, as bpftool prints them', async () => {
    const file = join(TMP, `sops2-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(
      file,
      [`struct_ops register ${OBJ}`, 'struct_ops show', 'struct_ops list', 'struct_ops unregister name sops2_cc', 'struct_ops show'].join('\n'),
    );
    const r = await run('batch', 'file', file);
    expect([r.code, r.err]).toEqual([0, '']);
    const lines = anonymised(r.out);
    expect(lines.slice(0, 4)).toEqual([linux('register'), linux('show'), linux('show'), linux('unregister')]);
    // The batch's process still holds the object's fds, so the unregistered map lives on and is still listed
    // (bpftool's own process had exited, and the map went with the registration's reference).
    expect(lines.slice(4).filter((l) => l !== '' && !l.startsWith('processed'))).toEqual([linux('show')]);
  });

  it('register of .struct_ops.link maps makes links; link show prints each link with its map, not a program', async () => {
    const file = join(TMP, `sopsl-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(file, [`struct_ops register ${new URL('obj/sopsl_cc.bpf.o', ATTACH).pathname}`, 'link show', 'struct_ops show'].join('\n'));
    const r = await run('batch', 'file', file);
    expect([r.code, r.err]).toEqual([0, '']);
    const lines = r.out.split('\n').map((line) => line.trimEnd());
    const registered = lines.map((line) => /^Registered tcp_congestion_ops (\S+) id (\d+)$/.exec(line)).filter((m) => m !== null);
    const ids = new Map(registered.map((m) => [m[1] ?? '', m[2] ?? '']));
    // bpftool's show_link_header_plain: `ID: struct_ops  map MAP_ID` (the links are the batch process's until it exits).
    expect(lines.filter((line) => line.includes(': struct_ops'))).toEqual([
      `1: struct_ops  map ${ids.get('sopsl_cc')}`,
      `2: struct_ops  map ${ids.get('sopsl_cc2')}`,
    ]);
  });

  it('show -j: id, name and kernel_struct_ops', async () => {
    const file = join(TMP, `sops2j-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(file, [`struct_ops register ${OBJ}`, 'struct_ops show'].join('\n'));
    const r = await run('batch', 'file', file, '--json');
    expect(r.code).toBe(0);
    const shown = r.out.split('\n').find((line) => line.startsWith('[{'));
    expect(JSON.parse(shown ?? '[]')).toEqual([{ id: expect.any(Number) as number, name: 'sops2_cc', kernel_struct_ops: 'tcp_congestion_ops' }]);
  });
});
