/**
 * The benchmark of `../shared/bench`: the ubpf variant of every program run in-process (r1 = input.bin,
 * r2 = its length), checked against manifest.json, timed as the median of several rounds after warm-up, and
 * compared with the anchor figures (Linux JIT, uBPF interpreter and JIT) of the bench README. Engine-agnostic:
 * every engine the VM supports is measured the same way. Also {@link timedTestRun}: a test run of N runs
 * (BPF_PROG_TEST_RUN's repeat) timed the same way, what `ebpf-sim run` reports.
 *
 * No Node API here (time is `performance.now()`); reading the suite from disk is node/bench-suite.ts. Exported
 * by the `@ebpf-sim/vm/node` entry with the rest of the tooling.
 */
import { RawRunner } from './raw.js';
import type { Program } from './program.js';
import { formatFault } from './fault.js';
import type { EngineName, Vm } from './vm.js';
import type { MemoryChecks } from './jit/compile.js';

export interface BenchProgram {
  readonly name: string;
  readonly program: Program;
  /** Executed instruction count on input.bin, from the manifest. */
  readonly executed: number;
  readonly expected: bigint;
}

/** One row of the bench README's anchor table, in ns per run. */
export interface BenchAnchor {
  /** Linux JIT minus BPF_PROG_TEST_RUN's own loop; null where the README gives only the raw figure. */
  readonly kernelNet: number | null;
  readonly ubpfInterp: number;
  readonly ubpfJit: number;
}

export interface BenchSuite {
  readonly dir: string;
  readonly input: Uint8Array;
  readonly programs: readonly BenchProgram[];
  readonly anchors: ReadonlyMap<string, BenchAnchor>;
}

/**
 * Parse the "Anchor figures" table of the bench README (`| program | kernel net | uBPF interpreter | uBPF JIT |`).
 * Keeping the figures in the README they were published in means there is one copy of them.
 */
export function parseAnchors(readme: string): Map<string, BenchAnchor> {
  const anchors = new Map<string, BenchAnchor>();
  const at = readme.indexOf('| program | kernel net |');
  if (at < 0) throw new Error('bench README: no anchor table (| program | kernel net | ...)');
  for (const line of readme.slice(at).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .split('|')
      .map((c) => c.trim())
      .slice(1, -1);
    const [name, kernel, interp, jit] = cells;
    if (name === undefined || kernel === undefined || interp === undefined || jit === undefined) continue;
    anchors.set(name, { kernelNet: /^[\d.]+$/.test(kernel) ? Number(kernel) : null, ubpfInterp: Number(interp), ubpfJit: Number(jit) });
  }
  return anchors;
}

/**
 * How a run is timed: `repeat` (default) runs the program N times inside the engine (`Vm.runRepeat`: the JIT's
 * loop is in the Wasm module), which is what the kernel figures measure (BPF_PROG_TEST_RUN with `repeat N`
 * loops in bpf_test_run, and "kernel net" subtracts that loop's own cost); `call` makes one `Vm.run` call per
 * run from a JavaScript loop, so each run also pays the JS → Wasm call, as an embedder calling run() does.
 */
export const BENCH_METHODS = ['repeat', 'call'] as const;
export type BenchMethod = (typeof BENCH_METHODS)[number];

/** The table's header line for each method. */
const METHOD_TITLES: Record<BenchMethod, string> = {
  repeat: 'method: in-engine repeat loop (Vm.runRepeat), like BPF_PROG_TEST_RUN with repeat N; ns per run = round time / N',
  call: 'method: one Vm.run call per run from a JavaScript loop (each run also pays the JS -> engine call)',
};

export interface BenchOptions {
  readonly engine?: EngineName;
  /** How runs are timed (default repeat, see {@link BenchMethod}). */
  readonly method?: BenchMethod;
  /** JIT memory checks (default checked); shown in the table's engine column. */
  readonly memoryChecks?: MemoryChecks;
  /** Only this program. */
  readonly program?: string;
  /** Timed rounds per program; default 15 (60 with statistic min). */
  readonly rounds?: number;
  /**
   * Which round to report: the median (default, as the bench README asks) or the fastest, which is the
   * better estimate of the engine's own speed on a machine other processes keep busy.
   */
  readonly statistic?: 'median' | 'min';
  /** Target duration of one round in ms; default 20. */
  readonly roundMs?: number;
}

export interface BenchRow {
  readonly name: string;
  readonly engine: EngineName;
  /** The JIT's memory-check mode (meaningless for interp, which always checks). */
  readonly checks: MemoryChecks;
  readonly method: BenchMethod;
  readonly nsPerRun: number;
  readonly nsPerInsn: number;
  /** Instructions one run executed (as counted by the VM). */
  readonly executed: number;
  readonly r0: bigint;
  readonly expected: bigint;
  /** r0 and the executed count both match the manifest. */
  readonly ok: boolean;
  readonly anchor: BenchAnchor | null;
}

/** The middle value of `values` (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Warm-up. TurboFan compiles the interpreter on a background thread, which takes from 70 ms to over two seconds
 * on a busy 2-core machine, and until then the engine runs 20-100x slower (the JIT's WebAssembly tiers up the
 * same way, faster). So warm up until the speed looks optimized (under UNOPTIMIZED_NS per instruction) and three
 * rounds in a row are no faster than the best one, at least WARMUP_MIN_MS and at most WARMUP_MAX_MS.
 */
const WARMUP_MIN_MS = 300;
const WARMUP_MAX_MS = 15000;
const UNOPTIMIZED_NS = 10;

/** `iterations` runs of `prog` the way `method` times them; false at a fault. */
export function runMany(vm: Vm, method: BenchMethod, prog: Program, addr: number, length: number, iterations: number): boolean {
  if (method === 'repeat') return vm.runRepeat(prog, addr, length, iterations);
  for (let i = 0; i < iterations; i++) if (!vm.run(prog, addr, length)) return false;
  return true;
}

/** What {@link warmUp} found: how many runs take about a round, and whether a run faulted (then it stopped). */
interface WarmedUp {
  readonly iterations: number;
  readonly faulted: boolean;
}

/**
 * Run `prog` untimed, `iterations` runs at a time (doubling, then sized to take `roundMs`) in calls of at most
 * `batch` runs, until the engine is warm (see WARMUP_MIN_MS) or a run faults.
 */
function warmUp(vm: Vm, method: BenchMethod, prog: Program, addr: number, length: number, roundMs: number, batch = Infinity): WarmedUp {
  // Per-run overhead counts as ten instructions, so tiny programs are not held to the per-instruction bar.
  let weight = 10;
  let iterations = 1;
  const start = performance.now();
  let best = Infinity;
  let stale = 0;
  while (performance.now() - start < WARMUP_MAX_MS) {
    const t0 = performance.now();
    for (let left = iterations; left > 0; left -= batch) {
      if (!runMany(vm, method, prog, addr, length, Math.min(left, batch))) return { iterations, faulted: true };
    }
    const ms = performance.now() - t0;
    weight = Math.max(vm.executed, 10);
    const perRun = (ms * 1e6) / iterations;
    if (ms >= roundMs / 8) {
      stale = perRun < best * 0.97 ? 0 : stale + 1;
      best = Math.min(best, perRun);
      if (stale >= 3 && best / weight < UNOPTIMIZED_NS && performance.now() - start >= WARMUP_MIN_MS) break;
    }
    iterations = ms < roundMs / 8 ? iterations * 2 : Math.max(1, Math.round((iterations * roundMs) / Math.max(ms, 0.001)));
  }
  return { iterations, faulted: false };
}

/** Time one program: warm-up, then `rounds` rounds of ~`roundMs` each; the median (or fastest) ns per run. */
function timeProgram(
  runner: RawRunner,
  method: BenchMethod,
  prog: Program,
  addr: number,
  length: number,
  rounds: number,
  roundMs: number,
  statistic: 'median' | 'min',
): number {
  const vm = runner.vm;
  const { iterations } = warmUp(vm, method, prog, addr, length, roundMs);
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    runMany(vm, method, prog, addr, length, iterations);
    samples.push(((performance.now() - t0) * 1e6) / iterations);
  }
  return statistic === 'min' ? Math.min(...samples) : median(samples);
}

/** The outcome of {@link timedTestRun}: the test run's result (the VM holds its registers and fault) and its speed. */
export interface TimedTestRun {
  /** The N runs ended without a fault (`runner.vm.runs` says which run faulted otherwise). */
  readonly ok: boolean;
  /** Wall time of one run in the steady state, in ns (see {@link timedTestRun}); NaN when a run faulted. */
  readonly nsPerRun: number;
}

/** A test run timed this long or more is its own timing: no separate timed rounds. */
const TEST_RUN_SELF_TIMED_MS = 100;
/** Timed rounds of a test run, and their length. */
const TEST_RUN_ROUNDS = 15;
const TEST_RUN_ROUND_MS = 20;

/**
 * BPF_PROG_TEST_RUN with `repeat` N on the uBPF convention (r1 = a copy of `input`, r2 = its length), timed in
 * the engine's steady state, the way `runBench` measures: first `prog` runs untimed, in test runs of at most N
 * runs (`Vm.runRepeat`), until the engine is warm (V8 has optimized the interpreter, or tiered up the JIT's
 * WebAssembly; `auto` has compiled the program) or a run faults. Then rounds of whole test runs of N runs are
 * timed (a round of ~20 ms: as many test runs as fit), and the duration is the median round's time per run;
 * a test run that takes 100 ms or more is timed alone. The result (r0, or the fault and which run) is that of
 * one more test run of N runs from a fresh copy of `input`, which is what the VM holds afterwards.
 */
export function timedTestRun(runner: RawRunner, prog: Program, input: Uint8Array, repeat: number): TimedTestRun {
  const vm = runner.vm;
  const length = input.length;
  let addr = runner.placeInput(input);
  const warm = warmUp(vm, 'repeat', prog, addr, length, TEST_RUN_ROUND_MS, repeat);
  const perTestRun = Math.max(1, Math.ceil(warm.iterations / repeat));
  // The warm-up's calibration: how long one test run of N runs takes now.
  const estimateMs = (TEST_RUN_ROUND_MS * repeat) / Math.max(warm.iterations, 1);
  const samples: number[] = [];
  if (!warm.faulted && estimateMs < TEST_RUN_SELF_TIMED_MS) {
    const started = performance.now();
    for (let r = 0; r < TEST_RUN_ROUNDS && (r < 3 || performance.now() - started < TEST_RUN_ROUNDS * TEST_RUN_ROUND_MS); r++) {
      const t0 = performance.now();
      for (let k = 0; k < perTestRun; k++) vm.runRepeat(prog, addr, length, repeat);
      samples.push(((performance.now() - t0) * 1e6) / (perTestRun * repeat));
    }
  }
  addr = runner.placeInput(input);
  const t0 = performance.now();
  const ok = vm.runRepeat(prog, addr, length, repeat);
  const ns = (performance.now() - t0) * 1e6;
  if (!ok) return { ok, nsPerRun: NaN };
  return { ok, nsPerRun: samples.length > 0 ? median(samples) : ns / repeat };
}

/** Run the suite; throws when a program is not in the suite. Results are checked, never assumed. */
export function runBench(suite: BenchSuite, options: BenchOptions = {}): BenchRow[] {
  const engine = options.engine ?? 'interp';
  const selected = options.program === undefined ? suite.programs : suite.programs.filter((p) => p.name === options.program);
  if (selected.length === 0) {
    throw new Error(`no bench program '${options.program ?? ''}' (have: ${suite.programs.map((p) => p.name).join(', ')})`);
  }
  const checks = options.memoryChecks ?? 'checked';
  const method = options.method ?? 'repeat';
  const runner = new RawRunner({ engine, memoryChecks: checks });
  // The fastest of many short rounds: a short round has a fair chance to run without being preempted.
  const statistic = options.statistic ?? 'median';
  const rounds = options.rounds ?? (statistic === 'min' ? 60 : 15);
  const roundMs = options.roundMs ?? (statistic === 'min' ? 2 : 20);
  const addr = runner.placeInput(suite.input);
  return selected.map((bench) => {
    const ok = runner.vm.run(bench.program, addr, suite.input.length);
    if (!ok) throw new Error(`bench program ${bench.name} faulted: ${runner.vm.fault ? formatFault(runner.vm.fault) : 'unknown'}`);
    const r0 = runner.vm.r0;
    const executed = runner.vm.executed;
    const nsPerRun = timeProgram(runner, method, bench.program, addr, suite.input.length, rounds, roundMs, statistic);
    return benchRow(suite, bench, { engine, checks, method }, nsPerRun, r0, executed);
  });
}

/** A table row: the timing, and the run's result checked against the manifest. */
export function benchRow(
  suite: BenchSuite,
  bench: BenchProgram,
  how: Pick<BenchRow, 'engine' | 'checks' | 'method'>,
  nsPerRun: number,
  r0: bigint,
  executed: number,
): BenchRow {
  return {
    name: bench.name,
    ...how,
    nsPerRun,
    nsPerInsn: nsPerRun / executed,
    executed,
    r0,
    expected: bench.expected,
    ok: r0 === bench.expected && executed === bench.executed,
    anchor: suite.anchors.get(bench.name) ?? null,
  };
}

function fixed(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** uBPF's figure for the same kind of engine: its interpreter for ours, its JIT for our JIT. */
function ubpfFigure(row: BenchRow): number | null {
  if (!row.anchor) return null;
  return row.engine === 'interp' ? row.anchor.ubpfInterp : row.anchor.ubpfJit;
}

/**
 * The table: ns per run, ns per executed instruction, our time over the kernel JIT's (net), and uBPF's time
 * (interpreter for interp rows, JIT for jit rows) over ours: how many times faster we are. The summary adds
 * the geometric mean of the kernel ratios, the figure issue 4's targets are stated in.
 */
export function formatBenchTable(rows: readonly BenchRow[]): string {
  const header = ['program', 'engine', 'insns', 'ns/run', 'ns/insn', 'vs kernel net', 'uBPF ns (same engine kind)', 'speed-up vs uBPF', 'result'];
  const lines = rows.map((row) => [
    row.name,
    row.engine === 'interp' ? row.engine : `${row.engine} ${row.checks}`,
    String(row.executed),
    fixed(row.nsPerRun),
    row.nsPerInsn.toFixed(2),
    row.anchor?.kernelNet ? `${(row.nsPerRun / row.anchor.kernelNet).toFixed(2)}x` : '-',
    String(ubpfFigure(row) ?? '-'),
    ubpfFigure(row) === null ? '-' : `${((ubpfFigure(row) ?? 0) / row.nsPerRun).toFixed(2)}x`,
    row.ok ? `ok (${row.r0})` : `WRONG: got ${row.r0}, want ${row.expected}`,
  ]);
  const totalRun = rows.reduce((s, r) => s + r.nsPerRun, 0);
  const totalInsns = rows.reduce((s, r) => s + r.executed, 0);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 || i === 1 || i === 8 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 || i === 1 || i === 8 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  const kernelRatios = rows.flatMap((r) => (r.anchor?.kernelNet ? [r.nsPerRun / r.anchor.kernelNet] : []));
  const geomean =
    kernelRatios.length > 1
      ? `; geometric mean vs kernel net ${Math.exp(kernelRatios.reduce((s, x) => s + Math.log(x), 0) / kernelRatios.length).toFixed(2)}x`
      : '';
  const summary =
    rows.length > 1
      ? `\nall programs: ${totalInsns} insns in ${fixed(totalRun)} ns = ${(totalRun / totalInsns).toFixed(2)} ns per executed instruction on average${geomean}\n`
      : '\n';
  const title = rows[0] === undefined ? '' : `${METHOD_TITLES[rows[0].method]}\n`;
  return title + [fmt(header), sep, ...lines.map(fmt)].join('\n') + summary;
}
