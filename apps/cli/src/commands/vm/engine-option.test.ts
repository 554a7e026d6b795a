/** `--engine jit|auto` and `--checks` reach the VM from run, bench and conformance-plugin. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../command.js';
import { main } from '../../main.js';

const BENCH = join(import.meta.dirname, '..', '..', '..', '..', '..', '..', 'shared', 'bench');
if (!existsSync(BENCH)) console.warn(`--engine tests over ../shared/bench skipped: ${BENCH} is absent`);

async function cli(argv: readonly string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), readStdin: () => Promise.resolve(stdin) };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('--engine jit and auto', () => {
  // r0 = *(u8 *)(r1 + 1) + r2: reads the memory argument, so the JIT's memory path runs.
  const prog = '71 10 01 00 00 00 00 00 0f 20 00 00 00 00 00 00 95 00 00 00 00 00 00 00';

  it.each(['interp', 'jit', 'auto'])('conformance-plugin --engine %s (after or before the memory)', async (engine) => {
    expect(await cli(['conformance-plugin', '0a  05  ', '--engine', engine], prog)).toEqual({ code: 0, out: '7\n', err: '' });
    expect(await cli(['conformance-plugin', '--engine', engine, '0a  05  '], prog)).toEqual({ code: 0, out: '7\n', err: '' });
  });

  it.each(['jit', 'auto'])('run --engine %s', async (engine) => {
    const file = join(mkdtempSync(join(tmpdir(), 'ebpf-sim-engine-')), 'prog.hex');
    writeFileSync(file, prog);
    const result = await cli(['run', '--prog-hex', file, '--mem-hex', '0a05', '--engine', engine, '--repeat', '300']);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^Return value: 7, duration \(average\): \d+ns\n$/);
  });

  it.skipIf(!existsSync(BENCH))('bench --engine jit checks every result against the manifest', async () => {
    const result = await cli(['bench', '--engine', 'jit', '--program', 'parse_tcp', '--rounds', '1', '--json']);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.out) as Array<{ engine: string; ok: boolean }>;
    expect(rows).toEqual([expect.objectContaining({ engine: 'jit', checks: 'checked', ok: true })]);
  });

  it.skipIf(!existsSync(BENCH))('bench --checks unchecked runs the unchecked JIT and says so', async () => {
    const result = await cli(['bench', '--engine', 'jit', '--checks', 'unchecked', '--program', 'empty', '--rounds', '1', '--json']);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.out) as Array<{ engine: string; checks: string; ok: boolean }>;
    expect(rows).toEqual([expect.objectContaining({ engine: 'jit', checks: 'unchecked', ok: true })]);
  });

  it('run --checks unchecked; a bad --checks is a usage error', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ebpf-sim-engine-')), 'prog.hex');
    writeFileSync(file, prog);
    const result = await cli(['run', '--prog-hex', file, '--mem-hex', '0a05', '--engine', 'jit', '--checks', 'unchecked']);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^Return value: 7, /);
    expect(await cli(['run', '--prog-hex', file, '--checks', 'none'])).toEqual({
      code: 2,
      out: '',
      err: expect.stringContaining("--checks must be one of checked, unchecked, not 'none'") as unknown,
    });
  });
});
