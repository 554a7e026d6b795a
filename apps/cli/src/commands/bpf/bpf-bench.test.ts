import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../command.js';
import { main } from '../../main.js';

const BENCH = join(import.meta.dirname, '..', '..', '..', '..', '..', '..', 'shared', 'bench');
if (!existsSync(BENCH)) console.warn(`bpf-bench tests skipped: ${BENCH} is absent`);

async function cli(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), readStdin: () => Promise.resolve('') };
  const code = await main(argv, io);
  return { code, out, err };
}

describe.skipIf(!existsSync(BENCH))('ebpf-sim bpf-bench', () => {
  it("loads every ../shared/bench XDP object through bpf() and each test run returns the manifest's value", async () => {
    const result = await cli(['bpf-bench', '--linux', 'no', '--xdp-only', '--scale', '0.01', '--json']);
    expect(result.code, result.err).toBe(0);
    const report = JSON.parse(result.out) as { xdp: Array<{ name: string; retval: number; expected: number; ns: number }> };
    const manifest = JSON.parse(readFileSync(join(BENCH, 'manifest.json'), 'utf8')) as { programs: Record<string, { xdp: { ret: string } }> };
    expect(report.xdp.map((row) => row.name).sort()).toEqual(Object.keys(manifest.programs).sort());
    for (const row of report.xdp) {
      expect({ name: row.name, retval: row.retval }).toEqual({ name: row.name, retval: Number(manifest.programs[row.name]?.xdp.ret) });
      expect(row.ns).toBeGreaterThan(0);
    }
  });

  it('prints the table with the kernel column from the README anchors when Linux is not asked', async () => {
    const result = await cli(['bpf-bench', '--linux', 'no', '--xdp-only', '--program', 'parse_tcp', '--scale', '0.01']);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toContain("kernel: the bench README's anchors (Linux not measured: not asked (--linux no))");
    expect(result.out).toMatch(/^parse_tcp +ok +[\d.]+ +- +6\.0 +[\d.]+x$/m);
    expect(result.out).toMatch(/^geometric mean [\d.]+x, worst [\d.]+x/m);
  });
});
