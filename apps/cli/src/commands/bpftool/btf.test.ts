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
