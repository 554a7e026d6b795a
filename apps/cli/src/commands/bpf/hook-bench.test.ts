import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../command.js';
import { main } from '../../main.js';

async function cli(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), readStdin: () => Promise.resolve('') };
  const code = await main(argv, io);
  return { code, out, err };
}

interface Row {
  name: string;
  operations: number;
  ms: number;
  perSecond: number;
  observed: number;
}

// A smoke test with tiny counts: the command runs every benchmark and the programs did what the rows say.
// The rates themselves are not asserted (no timed tests): the lead measures them on a quiet machine.
describe('ebpf-sim hook-bench', () => {
  it('runs the three benchmarks with their programs really attached', async () => {
    const result = await cli(['hook-bench', '--syscalls', '300', '--packets', '500', '--events', '640', '--rounds', '1', '--json']);
    expect(result.code, result.err).toBe(0);
    const report = JSON.parse(result.out) as Record<'syscallsBare' | 'syscallsCounted' | 'xdpDrop' | 'ringbuf', Row>;
    // The counting program ran once per getpid(2) of the timed run.
    expect(report.syscallsCounted.observed).toBe(300);
    expect(report.xdpDrop.observed).toBe(500);
    expect(report.ringbuf).toMatchObject({ operations: 640, observed: 640 });
    for (const row of Object.values(report)) expect(row.perSecond).toBeGreaterThan(0);
  });

  it('prints a table with the targets', async () => {
    const result = await cli(['hook-bench', '--syscalls', '100', '--packets', '100', '--events', '64', '--rounds', '1']);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toMatch(/^syscalls\/s, counting program on raw_syscalls:sys_enter +100 +[\d.]+ +[\d.]+ +>= 50% of bare: \d+% (met|MISSED)$/m);
    expect(result.out).toMatch(/^XDP_DROP packets\/s through a NIC model +100 .*>= 10 M\/s (met|MISSED)$/m);
    expect(result.out).toMatch(/^ringbuf events\/s, tracepoint program to a reader in epoll_wait +64 .*>= 5 M\/s (met|MISSED)$/m);
  });
});
