/**
 * `@ebpf-sim/vm/node`: the VM's tooling, for Node. The bench (`../shared/bench`: load, time, tabulate; a test
 * run timed in the engine's steady state, what `ebpf-sim run` prints), the bpf_conformance suite (in-process
 * and through a plugin process) and the JIT's compile-time table. The parts that read files, spawn processes
 * or use Node's clocks live under src/node/; the package's main entry (`@ebpf-sim/vm`) imports no Node API and
 * runs in a browser.
 */
export { BENCH_METHODS, formatBenchTable, median, parseAnchors, runBench, runMany, timedTestRun } from '../bench.js';
export type { BenchAnchor, BenchMethod, BenchOptions, BenchProgram, BenchRow, BenchSuite, TimedTestRun } from '../bench.js';
export { loadBenchSuite } from './bench-suite.js';
export { cpuBench } from './cpu-bench.js';
export type { CpuBenchOptions } from './cpu-bench.js';
export { ConformanceTestsError, formatConformanceReport, judge, parseConformanceTests, runConformance, runnerEncoding } from '../conformance.js';
export type { ConformanceOutcome, ConformanceResult, ConformanceTest } from '../conformance.js';
export { loadConformanceTests, runConformanceViaPlugin } from './conformance-files.js';
export { formatCompileTable, generatedProgram, measureCompile } from '../jit/bench.js';
export type { CompileRow } from '../jit/bench.js';
