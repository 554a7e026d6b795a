import { describe, expect, it } from 'vitest';
import { benchKernel } from './bench.js';

describe('benchKernel', () => {
  it('runs every benchmark at a tiny scale and reports consistent rows', () => {
    const rows = benchKernel(0.001);
    expect(rows.map((r) => r.unit)).toEqual(['syscalls', 'syscalls', 'context switches', 'checks', 'checks', 'syscalls']);
    for (const r of rows) {
      expect(r.operations).toBeGreaterThan(0);
      if (r.unit !== 'checks') expect(r.virtualNs).toBeGreaterThan(0);
      expect(r.perSecond).toBeGreaterThan(0);
    }
  });
});
