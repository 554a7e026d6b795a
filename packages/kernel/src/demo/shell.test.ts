import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runShellWorkload } from './shell.js';

const POLICIES = ['fifo', 'rr', 'cfs'] as const;

describe('shell workload', () => {
  it.each(POLICIES.flatMap((policy) => [1, 4].map((cpus) => [policy, cpus] as const)))(
    '%s on %i CPU(s): every pipeline completes, and a rerun gives the same trace byte for byte',
    (policy, cpus) => {
      const options: Record<string, number> = policy === 'rr' ? { sliceNs: 200_000 } : {};
      const config = { cpus, seed: 7, sched: { policy, options }, trace: { enabled: true, syscalls: true } };
      const first = runShellWorkload(config, 4);
      expect(first.kernel.crashes).toEqual([]);
      expect(first.shellStatus).toBe(0);
      expect(first.console).toContain('sh: 8 children done, 0 failed');
      expect(first.console.match(/job \d: consumer \d+ read \d+ bytes/g)).toHaveLength(4);
      expect(first.kernel.alive).toBe(0);
      // Every page went back to the allocator once every process was reaped.
      expect(first.kernel.phys.usage().filter((u) => u.owner.startsWith('mm:'))).toEqual([]);
      const second = runShellWorkload(config, 4);
      const hash = (text: string): string => createHash('sha256').update(text).digest('hex');
      expect(hash(second.kernel.trace.text())).toBe(hash(first.kernel.trace.text()));
      expect(second.traceDigest).toBe(first.traceDigest);
      expect(second.metrics).toEqual(first.metrics);
    },
  );

  it('different seeds give different runs', () => {
    const a = runShellWorkload({ seed: 1, trace: { enabled: true } }, 2);
    const b = runShellWorkload({ seed: 2, trace: { enabled: true } }, 2);
    expect(a.traceDigest).not.toBe(b.traceDigest);
  });

  it('uses the CPUs it has: 4 CPUs finish sooner than 1 and migrate or spread work', () => {
    const one = runShellWorkload({ cpus: 1, seed: 3 }, 6).metrics;
    const four = runShellWorkload({ cpus: 4, seed: 3 }, 6).metrics;
    expect(four.nowNs).toBeLessThan(one.nowNs);
    expect(four.perCpuBusyNs.filter((busy) => busy > 0).length).toBeGreaterThan(1);
    expect(one.contextSwitches).toBeGreaterThan(0);
  });
});
