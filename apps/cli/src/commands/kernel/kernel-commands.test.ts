import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../main.js';

function capture(): { out: string[]; err: string[]; io: Parameters<typeof main>[1] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t) => void out.push(t), err: (t) => void err.push(t), readStdin: () => Promise.resolve('') } };
}

describe('kernel commands', () => {
  it('sim workload prints one metrics row per policy, the same for the same seed', async () => {
    const first = capture();
    expect(await main(['sim', 'workload', '--cpus', '2', '--seed', '5', '--jobs', '2'], first.io)).toBe(0);
    const text = first.out.join('');
    for (const policy of ['fifo', 'rr', 'cfs']) expect(text).toMatch(new RegExp(`^${policy} x2 `, 'm'));
    expect(text).toContain('makespan ms');
    const second = capture();
    await main(['sim', 'workload', '--cpus', '2', '--seed', '5', '--jobs', '2'], second.io);
    expect(second.out.join('')).toBe(text);
  });

  it('sim --trace-out writes the event trace, identical for identical runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-sim-trace-'));
    try {
      const file = join(dir, 'trace.txt');
      for (const name of ['a', 'b']) {
        const run = capture();
        expect(await main(['sim', 'workload', '--sched', 'cfs', '--jobs', '1', '--trace-out', `${file}.${name}`], run.io)).toBe(0);
      }
      const a = readFileSync(`${file}.a`, 'utf8');
      expect(a).toMatch(/^0 \[0\] sched_wakeup sh:1 target_cpu=0$/m);
      expect(a).toContain('sys_enter sh:1 pipe2(');
      expect(readFileSync(`${file}.b`, 'utf8')).toBe(a);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sim --tasks lists the CPU time of every task', async () => {
    const run = capture();
    expect(await main(['sim', 'workload', '--sched', 'rr', '--jobs', '1', '--tasks'], run.io)).toBe(0);
    const text = run.out.join('');
    expect(text).toContain('--- rr: CPU time per task ---');
    expect(text).toMatch(/^producer:2 +\d+\.\d{3} +\d+\.\d%$/m);
    expect(text).toMatch(/^sh:1 /m);
  });

  it('sim hooks tours the hook points', async () => {
    const run = capture();
    expect(await main(['sim', 'hooks', '--jobs', '2'], run.io)).toBe(0);
    const text = run.out.join('');
    expect(text).toContain('lsm:file_open denied: producer:2 /tmp/job0.in');
    expect(text).toMatch(/xdp:eth0 saw 1000 frames: \d+ XDP_PASS, \d+ XDP_DROP/);
    expect(text).toMatch(/^raw_syscalls:sys_enter +\d+$/m);
  });

  it('sim rejects bad options with a usage error', async () => {
    const run = capture();
    expect(await main(['sim', 'workload', '--sched', 'lottery'], run.io)).toBe(2);
    expect(run.err.join('')).toContain("--sched must be one of fifo, rr, cfs, all, not 'lottery'");
    const bad = capture();
    expect(await main(['sim', 'workload', '--cpus', '0'], bad.io)).toBe(2);
    expect(bad.err.join('')).toContain('--cpus must be an integer from 1 to 64');
  });

  it('kernel-bench prints a table', async () => {
    const run = capture();
    expect(await main(['kernel-bench', '--scale', '0.001'], run.io)).toBe(0);
    expect(run.out.join('')).toMatch(/getpid loop, nothing attached\s+\d+/);
  });
});
