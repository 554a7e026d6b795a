/**
 * The bench suite timed in CPU time of this process rather than wall time: on a shared machine other
 * processes' load inflates wall time, not the CPU time a run takes. It exists to compare the checked and
 * unchecked JIT; `ebpf-sim bench` stays the reference table.
 */
import { benchRow, median, runMany, type BenchMethod, type BenchRow, type BenchSuite } from '../bench.js';
import type { MemoryChecks } from '../jit/compile.js';
import { Arena, LinearMemory, Perm } from '../memory.js';
import { Vm, type EngineName } from '../vm.js';

export interface CpuBenchOptions {
  readonly engine?: EngineName;
  readonly checks?: MemoryChecks;
  /** How runs are timed (default repeat, as `runBench`). */
  readonly method?: BenchMethod;
  /** Timed rounds per program (median reported); default 5. */
  readonly rounds?: number;
}

/** The bench suite with ns per run measured as this process's CPU time; rows as `runBench` gives them. */
export function cpuBench(suite: BenchSuite, options: CpuBenchOptions = {}): BenchRow[] {
  const engine = options.engine ?? 'jit';
  const checks = options.checks ?? 'checked';
  const method = options.method ?? 'repeat';
  const mem = new LinearMemory();
  const arena = new Arena(mem);
  const vm = new Vm({ arena, engine, memoryChecks: checks });
  const addr = arena.allocBytes(suite.input, Perm.RW, 'input').start;
  const length = suite.input.length;
  return suite.programs.map((bench) => {
    // About 0.4 s of work at 10 ns per executed instruction: enough for V8 to tier the code up.
    const n = Math.max(1000, Math.round(4e7 / (bench.executed + 30)));
    runMany(vm, method, bench.program, addr, length, n);
    const samples: number[] = [];
    const m = Math.max(1, n >> 1);
    for (let r = 0; r < (options.rounds ?? 5); r++) {
      const before = process.cpuUsage();
      runMany(vm, method, bench.program, addr, length, m);
      const used = process.cpuUsage(before);
      samples.push(((used.user + used.system) * 1000) / m);
    }
    return benchRow(suite, bench, { engine, checks, method }, median(samples), vm.r0, vm.executed);
  });
}
