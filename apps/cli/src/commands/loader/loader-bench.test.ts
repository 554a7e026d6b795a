import { describe, expect, it } from 'vitest';
import { readCorpus } from '../../loader/corpus.js';
import { runCaptured as cli } from '../../run-captured.js';

describe('ebpf-sim loader-bench', () => {
  const { manifest, recording } = readCorpus();

  it("times every corpus object's open and load beside the recorded loadall time, with both outcomes", async () => {
    const result = await cli(['loader-bench', '--rounds', '1', '--json']);
    expect(result.code, result.err).toBe(0);
    const rows = JSON.parse(result.out) as Array<{
      object: string;
      openMs: number;
      loadMs: number;
      linuxLoadallMs: number;
      outcome: string;
      linuxOutcome: string;
    }>;
    expect(rows.map((r) => `obj/${r.object}`)).toEqual(manifest.map((m) => m.object));
    for (const row of rows) {
      const recorded = recording.find((r) => r.object === `obj/${row.object}`);
      expect(row.linuxLoadallMs).toBe(recorded?.loadallMs);
      expect(row.linuxOutcome === 'loaded').toBe(recorded?.loadall.ok);
      expect(row.openMs).toBeGreaterThan(0);
    }
    expect(rows.find((r) => r.object === 'tailcall.bpf.o')?.outcome).toBe('loaded');
    expect(rows.find((r) => r.object === 'verifier_reject.bpf.o')?.outcome).toMatch(/^refused: prog 'xdp_unchecked': BPF_PROG_LOAD failed: -EACCES$/);
  });

  it('prints a table with a row per object and the totals', async () => {
    const result = await cli(['loader-bench', '--rounds', '1']);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toMatch(/^object +open ms +load ms +open\+load ms +Linux loadall ms +here +Linux$/m);
    expect(result.out).toMatch(/^tailcall\.bpf\.o +[\d.]+ +[\d.]+ +[\d.]+ +56\.1 +loaded +loaded$/m);
    expect(result.out).toMatch(/^total: [\d.]+ ms here, [\d.]+ ms bpftool loadall$/m);
    expect(result.out).toContain(
      '  verifier_reject.bpf.o on Linux: invalid access to packet, off=12 size=1, R1(id=0,off=12,r=0) / R1 offset is outside of the packet',
    );
  });

  it('refuses a bad --rounds as a usage error', async () => {
    const result = await cli(['loader-bench', '--rounds', '0']);
    expect(result.code).toBe(2);
  });
});
