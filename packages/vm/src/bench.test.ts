import { describe, expect, it } from 'vitest';
import { formatBenchTable, type BenchRow } from './bench.js';

const anchor = { kernelNet: 100, ubpfInterp: 5000, ubpfJit: 150 };
const row = (engine: BenchRow['engine'], nsPerRun: number, name = 'prog'): BenchRow => ({
  name,
  engine,
  checks: 'checked',
  method: 'repeat',
  nsPerRun,
  nsPerInsn: nsPerRun / 50,
  executed: 50,
  r0: 7n,
  expected: 7n,
  ok: true,
  anchor,
});

describe('formatBenchTable', () => {
  it('compares interp rows with uBPF interpreter and jit rows with uBPF JIT', () => {
    const table = formatBenchTable([row('interp', 1000, 'a'), row('jit', 75, 'b')]);
    const [interpLine] = table.split('\n').filter((l) => l.startsWith('| a '));
    const [jitLine] = table.split('\n').filter((l) => l.startsWith('| b '));
    expect(interpLine).toMatch(/\| +10\.00x \| +5000 \| +5\.00x \|/);
    expect(jitLine).toMatch(/\| +0\.75x \| +150 \| +2\.00x \|/);
  });

  it('ends with the geometric mean of the kernel ratios', () => {
    const table = formatBenchTable([row('jit', 50, 'a'), row('jit', 200, 'b')]);
    expect(table).toContain('geometric mean vs kernel net 1.00x');
  });

  it('marks a wrong result', () => {
    const wrong = { ...row('jit', 10), r0: 1n, ok: false };
    expect(formatBenchTable([wrong])).toContain('WRONG: got 1, want 7');
  });
});
