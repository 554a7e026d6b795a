import {
  BENCH_METHODS,
  formatBenchTable,
  formatCompileTable,
  generatedProgram,
  loadBenchSuite,
  measureCompile,
  runBench,
  type BenchMethod,
} from '@ebpf-sim/vm/node';
import { defineCommand, opt } from '../../args.js';
import { CliError, UsageError } from '../../command.js';
import { checksOption, defaultBenchDir, engineOption } from './common.js';

export const benchCommand = defineCommand(
  {
    name: 'bench',
    summary: 'Benchmark the VM on the shared bench programs against the kernel JIT and uBPF',
    description: `Run the benchmark programs of ../shared/bench (ubpf variants: r1 = input.bin, r2 = its length) in-process:
warm-up, then N timed rounds of 20 ms (default 15), reporting the median (--stat min: the fastest of 60
rounds of 2 ms). Each result is checked against manifest.json. The table gives ns per run, ns per executed instruction, our time over the Linux JIT's
("vs kernel net") and how many times faster than uBPF's interpreter we are (anchors from the bench README).
With --engine jit or auto, a second table gives the JIT's compile time per program (µs per instruction).`,
    options: {
      engine: engineOption,
      checks: checksOption,
      method: opt.choice(BENCH_METHODS, {
        value: 'M',
        default: 'repeat',
        help: `repeat: each round is one Vm.runRepeat of N runs, the loop inside the engine
(the JIT's is in its WebAssembly module), as BPF_PROG_TEST_RUN's repeat N measures the
kernel figures; call: one Vm.run per run from a JavaScript loop, which adds the
JS -> engine call an embedder calling run() pays. The table's first line names it`,
      }),
      program: opt.text({ value: 'NAME', help: 'only this program' }),
      rounds: opt.int({ value: 'N', min: 1, max: 10_000, help: 'timed rounds (default 15; 60 with --stat min)' }),
      stat: opt.choice(['median', 'min'], {
        value: 'S',
        default: 'median',
        help: 'report the median round or the fastest one (min: for a machine other processes keep busy)',
      }),
      dir: opt.path({ value: 'DIR', must: 'dir', help: 'the bench directory (default: ../shared/bench beside the repository)' }),
      json: opt.flag('print the rows as JSON'),
    },
  },
  ({ options: values }, io) => {
    const dir = values.dir ?? defaultBenchDir();
    if (dir === null) throw new CliError('no bench directory: ../shared/bench is not beside the repository; pass --dir DIR');
    const rounds = values.rounds;
    let suite;
    try {
      suite = loadBenchSuite(dir);
    } catch (error) {
      const { code, path } = error as NodeJS.ErrnoException;
      const why = path !== undefined ? `${path} (${code ?? 'error'})` : error instanceof Error ? error.message : String(error);
      throw new CliError(`cannot load the bench from ${dir}: ${why}`);
    }
    if (values.program !== undefined && !suite.programs.some((p) => p.name === values.program)) {
      throw new UsageError(`no bench program '${values.program}' (have: ${suite.programs.map((p) => p.name).join(', ')})`);
    }
    const engine = values.engine;
    const memoryChecks = values.checks;
    const statistic = values.stat;
    const method: BenchMethod = values.method;
    const rows = runBench(suite, {
      method,
      statistic,
      engine,
      memoryChecks,
      ...(rounds === undefined ? {} : { rounds }),
      ...(values.program === undefined ? {} : { program: values.program }),
    });
    if (values.json) {
      io.out(
        `${JSON.stringify(
          rows.map((r) => ({ ...r, r0: r.r0.toString(), expected: r.expected.toString() })),
          null,
          2,
        )}\n`,
      );
    } else {
      io.out(formatBenchTable(rows));
      if (engine !== 'interp') {
        // The JIT's compile time per program, and for a generated 4096-instruction program.
        const compiled = suite.programs.filter((p) => values.program === undefined || p.name === values.program);
        io.out(
          `\nJIT compile time (median of 7 compiles):\n${formatCompileTable(measureCompile([...compiled, ...(values.program === undefined ? [{ name: 'generated-4096', program: generatedProgram() }] : [])], memoryChecks))}`,
        );
      }
    }
    return rows.every((r) => r.ok) ? 0 : 1;
  },
);
