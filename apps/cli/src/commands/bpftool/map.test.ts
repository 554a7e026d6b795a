/**
 * `map show / dump / lookup / update` and `batch file` against bpftool's own output on this machine
 * (fixtures/bpftool/expected, recorded by fixtures/bpftool/record.sh). The maps are filled by running cli.o's
 * program once, in a batch file, so they hold what they held under Linux.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type RunResult } from '../isa/test-helpers.js';
import { CLI_O, FIXTURES, TMP, expected } from './test-fixtures.js';

const ZERO = join(TMP, 'map-zero64');
writeFileSync(ZERO, new Uint8Array(64));
const PIN = '/sys/fs/bpf';

/** Run a batch of lines after loading cli.o and running its program once (maps pinned under PIN/m). */
async function batch(...lines: string[]): Promise<RunResult> {
  const file = join(TMP, `batch-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, [`prog loadall ${CLI_O} ${PIN}/p pinmaps ${PIN}/m`, `prog run pinned ${PIN}/p/fill data_in ${ZERO}`, ...lines].join('\n'));
  return run('batch', 'file', file);
}

/** What a batch prints after its first two lines (the run line), up to its "processed" line. */
const body = (r: RunResult): string => r.out.split('\n').slice(1, -2).join('\n') + '\n';

/** bpftool's hash dump order is the kernel's bucket order; entries are compared as a set. */
const sortEntries = (json: string): unknown =>
  (JSON.parse(json) as Array<{ key: unknown }>).sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)));

describe('map commands', () => {
  it('dump a map without BTF as hex lines and "Found N elements", as bpftool', async () => {
    const r = await batch(`map dump pinned ${PIN}/m/raw`);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(body(r)).toBe(expected('cli.raw.dump.txt'));
  });

  it('dump a map with BTF as BTF-typed JSON, as bpftool (plain and -j)', async () => {
    const r = await batch(`map dump pinned ${PIN}/m/stats`);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(sortEntries(body(r))).toEqual(sortEntries(expected('cli.stats.dump.txt')));
    const file = join(TMP, 'json-batch.txt');
    writeFileSync(
      file,
      [`prog loadall ${CLI_O} ${PIN}/p pinmaps ${PIN}/m`, `prog run pinned ${PIN}/p/fill data_in ${ZERO}`, `map dump pinned ${PIN}/m/stats`].join('\n'),
    );
    const json = await run('batch', 'file', file, '--json');
    const last = json.out.trimEnd().split('\n').at(-1) ?? '';
    expect(sortEntries(last)).toEqual(sortEntries(expected('cli.stats.dump.json')));
    const raw = await batch(`map dump pinned ${PIN}/m/raw`);
    expect(raw.code).toBe(0);
  });

  it('look up, update and show maps as bpftool', async () => {
    const r = await batch(
      `map lookup pinned ${PIN}/m/stats key 1 0 0 0`,
      `map lookup pinned ${PIN}/m/raw key 2 0 0 0`,
      `map update pinned ${PIN}/m/raw key hex 03 00 00 00 value 9 0 0 0 0 0 0 0x7f`,
      `map dump pinned ${PIN}/m/raw`,
    );
    expect([r.code, r.err]).toEqual([0, '']);
    expect(body(r)).toBe(`${expected('cli.stats.lookup.txt')}${expected('cli.raw.lookup.txt')}${expected('cli.raw.dump-after-update.txt')}`);
    const shown = await batch(`map show pinned ${PIN}/m/stats`, `map show pinned ${PIN}/m/raw`);
    // ids, BTF ids and memlock masked: memlock is fdinfo's (Linux's map_mem_usage), which for a hash counts
    // per-CPU spare elements and lock counters, and the command's kernel has 1 CPU where the recording machine has
    // 2. @ebpf-sim/bpf's syscall/fdinfo.test.ts checks memlock against Linux on 2 CPUs.
    const mask = (t: string): string =>
      t
        .replace(/^\d+:/gm, 'ID:')
        .replace(/btf_id \d+/g, 'btf_id B')
        .replace(/ {2}memlock \d+B/g, '');
    expect(mask(body(shown))).toBe(mask(`${expected('cli.stats.show.txt')}${expected('cli.raw.show.txt')}`));
  });

  it('a key that is not there prints bpftool\'s "Not found" and fails; a short key is a usage error', async () => {
    const missing = await batch(`map lookup pinned ${PIN}/m/stats key 7 0 0 0`);
    expect(missing.code).toBe(1);
    const linux = expected('cli.stats.lookup-missing.txt').replace(/exit \d+\n$/, '');
    expect(missing.out.split('\n').slice(1).join('\n')).toBe(linux);
    expect(missing.err).toMatch(/^ebpf-sim batch: .*:3: key not found\n$/);
    const short = await batch(`map lookup pinned ${PIN}/m/stats key 7 0 0`);
    expect(short.code).toBe(2);
    expect(expected('cli.stats.lookup-short.txt')).toContain('key expected 4 bytes got 3');
    expect(short.err).toMatch(/:3: key expected 4 bytes got 3\n$/);
  });
});

describe('batch file', () => {
  it("runs bpftool's recorded batch file against one kernel with the same output", async () => {
    const text = readFileSync(join(FIXTURES, 'batch.txt'), 'utf8').replaceAll('PIN', PIN).replaceAll('OBJ', CLI_O).replaceAll('ZERO', ZERO);
    const file = join(TMP, 'recorded-batch.txt');
    writeFileSync(file, text);
    const r = await run('batch', 'file', file);
    expect([r.code, r.err]).toEqual([0, '']);
    const linux = expected('batch.txt');
    const split = (t: string): { head: string; stats: unknown } => {
      const at = t.indexOf('[{');
      const end = t.lastIndexOf(']');
      return { head: t.slice(0, at).replace(/duration: \d+ns/, 'duration: Nns') + t.slice(end + 1), stats: sortEntries(t.slice(at, end + 1)) };
    };
    expect(split(r.out)).toEqual(split(linux));
  });

  it('names FILE:LINE for a wrong line before running anything, and for a failing one', async () => {
    const file = join(TMP, 'bad-batch.txt');
    writeFileSync(file, '# comment\nprog show\nprog fly away\n');
    const r = await run('batch', 'file', file);
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toBe(
      `ebpf-sim batch: ${file}:3: unknown command 'prog fly': expected prog show, prog run, prog dump, prog load, prog loadall, map show, map dump, map lookup, map update, btf dump, link show, link detach, net attach, net detach, net show, perf show, workload run, struct_ops show, struct_ops list, struct_ops register, struct_ops unregister\n`,
    );
  });
});
