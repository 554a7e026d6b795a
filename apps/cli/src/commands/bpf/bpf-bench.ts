import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readElf } from '@ebpf-sim/elf';
import { formatTable } from '@ebpf-sim/kernel/demo';
import { readPrograms } from '@ebpf-sim/loader';
import { loadBenchSuite } from '@ebpf-sim/vm/node';
import { defineCommand, opt } from '../../args.js';
import { CliError, UsageError } from '../../command.js';
import { defaultBenchDir } from '../vm/common.js';
import { BenchFailure, runSimBench, type MapBenchRow, type SimBenchReport, type XdpBenchProgram } from './bench-sim.js';
import { linuxUnavailable, measureOnLinux } from './linux-probe.js';

/** The floor: a kernel net time under 10 ns (parse_tcp) compares at 10 ns. */
const KERNEL_NET_FLOOR_NS = 10;

/** Targets the map rows are held to (ns per operation). */
const MAP_TARGETS: ReadonlyArray<readonly [RegExp, string, number]> = [
  [/^hash lookup/, '>= 25 M/s', 40],
  [/from user space$/, '>= 1 M/s', 1000],
  [/^ringbuf records/, '>= 5 M/s', 200],
];

/** The kernel's figure for one program: net of its empty program, and where it came from. */
interface KernelFigure {
  readonly raw: number | null;
  readonly net: number | null;
}

/** bpftool prog run repeats: enough for each run to last tens of milliseconds. */
const linuxRepeat = (executed: number): number => (executed < 200 ? 2_000_000 : executed < 3000 ? 200_000 : 20_000);

function loadPrograms(dir: string, only: string | undefined): { programs: XdpBenchProgram[]; executed: Map<string, number> } {
  const suite = loadBenchSuite(dir);
  if (only !== undefined && !suite.programs.some((p) => p.name === only)) {
    throw new UsageError(`no bench program '${only}' (have: ${suite.programs.map((p) => p.name).join(', ')})`);
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { programs: Record<string, { xdp: { ret: string; executed: number } }> };
  const programs: XdpBenchProgram[] = [];
  const executed = new Map<string, number>();
  for (const { name } of suite.programs) {
    if (only !== undefined && name !== only && name !== 'empty') continue;
    const entry = manifest.programs[name];
    if (entry === undefined) throw new CliError(`${dir}/manifest.json: no entry for '${name}'`);
    const path = join(dir, 'obj', `${name}.xdp.o`);
    const [spec] = readPrograms(readElf(readFileSync(path)));
    if (spec === undefined) throw new CliError(`${path}: no program in the object`);
    programs.push({ name, insns: spec.insns, expected: Number(entry.xdp.ret) });
    executed.set(name, entry.xdp.executed);
  }
  return { programs, executed };
}

function kernelFigures(dir: string, programs: readonly XdpBenchProgram[], executed: ReadonlyMap<string, number>, rounds: number): Map<string, KernelFigure> {
  const raw = new Map<string, number>();
  for (const { name } of programs) {
    const run = measureOnLinux(name, join(dir, 'obj', `${name}.xdp.o`), join(dir, 'input.bin'), linuxRepeat(executed.get(name) ?? 0), rounds);
    raw.set(name, run.ns);
  }
  const empty = raw.get('empty') ?? 0;
  return new Map(programs.map(({ name }) => [name, { raw: raw.get(name) ?? null, net: name === 'empty' ? null : Math.max(0, (raw.get(name) ?? 0) - empty) }]));
}

const fmt = (ns: number): string => (ns >= 100 ? ns.toFixed(0) : ns.toFixed(1));

function xdpTable(report: SimBenchReport, kernel: ReadonlyMap<string, KernelFigure>): { text: string; ratios: number[] } {
  const ratios: number[] = [];
  const rows = report.xdp.map((row) => {
    const k = kernel.get(row.name);
    const net = k?.net ?? null;
    const compared = net === null ? null : Math.max(net, KERNEL_NET_FLOOR_NS);
    const ratio = compared === null ? null : row.ns / compared;
    if (ratio !== null) ratios.push(ratio);
    return [
      row.name,
      row.retval === row.expected ? 'ok' : `WRONG ${row.retval} (want ${row.expected})`,
      fmt(row.ns),
      k?.raw === null || k?.raw === undefined ? '-' : fmt(k.raw),
      net === null ? '-' : fmt(net),
      ratio === null ? '-' : `${ratio.toFixed(2)}x`,
    ];
  });
  const text = formatTable(['program', 'retval', 'ns/run (bpf())', 'kernel raw', 'kernel net', 'vs kernel net'], rows);
  return { text, ratios };
}

function mapTable(rows: readonly MapBenchRow[]): string {
  return formatTable(
    ['benchmark', 'operations', 'ns/op', 'M ops/s', 'target'],
    rows.map((row) => {
      const target = MAP_TARGETS.find(([pattern]) => pattern.test(row.name));
      const verdict = target === undefined ? '-' : `${target[1]} ${row.ns <= target[2] ? 'met' : 'MISSED'}`;
      return [row.name, String(row.operations), row.ns.toFixed(1), (1e3 / row.ns).toFixed(2), verdict];
    }),
  );
}

const geomean = (values: readonly number[]): number => Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);

export const bpfBenchCommand = defineCommand(
  {
    name: 'bpf-bench',
    summary: 'Benchmark bpf(): bench programs through PROG_LOAD/PROG_TEST_RUN, map operations and ring buffers',
    description: `Measure the bpf subsystem the way a user of the real kernel would, from a process in the simulated kernel:
- every ../shared/bench XDP object loaded with BPF_PROG_LOAD (verified, fixed up, JIT-compiled unless
  --engine interp) and run with BPF_PROG_TEST_RUN on input.bin: ns per run as the test run reports it,
  the retval checked against manifest.json;
- map lookups from a loaded program (an array, a hash of 4-byte keys at 64k entries), map updates and
  lookups from user space through bpf(), and ring buffer records from a program to a user-space reader
  of the mmap'ed ring.
The kernel column is this machine's Linux, measured in the same run with 'bpftool prog run' (best of
--linux-rounds, net of the empty program; a net under 10 ns compares at 10 ns), when we are root with
bpftool installed; else the bench README's anchors.`,
    options: {
      engine: opt.choice(['jit', 'interp'], { value: 'E', default: 'jit', help: 'net.core.bpf_jit_enable: jit (1) or interp (0)' }),
      program: opt.text({ value: 'NAME', help: 'only this bench program (and empty)' }),
      linux: opt.choice(['auto', 'no'], {
        value: 'WHEN',
        default: 'auto',
        help: 'auto: measure the real kernel when it can be (root, bpftool); no: use the README anchors',
      }),
      'linux-rounds': opt.int({
        value: 'N',
        min: 1,
        max: 100,
        default: 5,
        help: 'bpftool prog run rounds, and simulator test runs, per program (the fastest counts)',
      }),
      scale: opt.number({ value: 'X', above: 0, max: 100, default: 1, help: 'multiply repeats and operation counts' }),
      'xdp-only': opt.flag('only the bench programs, no map or ring buffer rows'),
      dir: opt.path({ value: 'DIR', must: 'dir', help: 'the bench directory (default: ../shared/bench beside the repository)' }),
      json: opt.flag('print the results as JSON'),
    },
  },
  ({ options }, io) => {
    const dir = options.dir ?? defaultBenchDir();
    if (dir === null) throw new CliError('no bench directory: ../shared/bench is not beside the repository; pass --dir DIR');
    let loaded;
    try {
      loaded = loadPrograms(dir, options.program);
    } catch (error) {
      if (error instanceof CliError) throw error;
      const { code, path } = error as NodeJS.ErrnoException;
      const why = path !== undefined ? `${path} (${code ?? 'error'})` : error instanceof Error ? error.message : String(error);
      throw new CliError(`cannot load the bench from ${dir}: ${why}`);
    }
    const input = readFileSync(join(dir, 'input.bin'));
    let report: SimBenchReport;
    try {
      report = runSimBench({
        programs: loaded.programs,
        input,
        engine: options.engine === 'interp' ? 'interp' : 'jit',
        scale: options.scale,
        xdpOnly: options['xdp-only'],
        // The simulator's XDP rows are the best of as many test runs as the kernel's.
        rounds: options['linux-rounds'],
      });
    } catch (error) {
      if (error instanceof BenchFailure) throw new CliError(error.message);
      throw error;
    }
    const why = options.linux === 'no' ? 'not asked (--linux no)' : linuxUnavailable();
    let kernel: Map<string, KernelFigure>;
    let source: string;
    if (why === null) {
      try {
        kernel = kernelFigures(dir, loaded.programs, loaded.executed, options['linux-rounds']);
        source = `this machine's Linux, measured now (bpftool prog run, best of ${options['linux-rounds']})`;
      } catch (error) {
        throw new CliError(`measuring the real kernel: ${error instanceof Error ? error.message : String(error)} (pass --linux no to use the README anchors)`);
      }
    } else {
      const anchors = loadBenchSuite(dir).anchors;
      kernel = new Map(loaded.programs.map(({ name }) => [name, { raw: null, net: anchors.get(name)?.kernelNet ?? null }]));
      source = `the bench README's anchors (Linux not measured: ${why})`;
    }
    if (options.json) {
      io.out(
        `${JSON.stringify({ engine: report.engine, kernelSource: source, xdp: report.xdp, kernel: Object.fromEntries(kernel), maps: report.maps }, null, 2)}\n`,
      );
      return 0;
    }
    const { text, ratios } = xdpTable(report, kernel);
    io.out(`XDP bench programs through bpf() (${report.engine === 'jit' ? 'JIT' : 'interpreter'}); kernel: ${source}\n\n${text}`);
    if (ratios.length > 0)
      io.out(`\ngeometric mean ${geomean(ratios).toFixed(2)}x, worst ${Math.max(...ratios).toFixed(2)}x (target: mean <= 1.0x, worst <= 1.2x)\n`);
    if (report.maps.length > 0) io.out(`\nMaps and ring buffers\n\n${mapTable(report.maps)}`);
    const wrong = report.xdp.filter((row) => row.retval !== row.expected);
    if (wrong.length > 0) throw new CliError(`wrong return value from ${wrong.map((row) => row.name).join(', ')} (see the table)`);
    return 0;
  },
);
