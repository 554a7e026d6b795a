import { parseArgs } from 'node:util';
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
import { CliError, type CliIo, type Command } from '../../command.js';
import { defaultBenchDir, pickChecks, pickEngine } from './common.js';
import { parseWith } from '../../args.js';

const USAGE = `usage: ebpf-sim bench [--engine E] [--checks C] [--method repeat|call] [--program NAME] [--rounds N] [--stat median|min] [--dir DIR] [--json]

Run the benchmark programs of ../shared/bench (ubpf variants: r1 = input.bin, r2 = its length) in-process:
warm-up, then N timed rounds of 20 ms (default 15), reporting the median (--stat min: the fastest of 60
rounds of 2 ms). Each result is checked against manifest.json. The table gives ns per run, ns per executed instruction, our time over the Linux JIT's
("vs kernel net") and how many times faster than uBPF's interpreter we are (anchors from the bench README).
With --engine jit or auto, a second table gives the JIT's compile time per program (µs per instruction).
  --engine E      execution engine: interp, jit or auto (default interp)
  --checks C      JIT memory checks: checked (default: every access tested, the interpreter's exact
                  faults) or unchecked (what a verified program needs; the engine column says which ran)
  --method M      repeat (default): each round is one Vm.runRepeat of N runs, the loop inside the engine
                  (the JIT's is in its WebAssembly module), as BPF_PROG_TEST_RUN's repeat N measures the
                  kernel figures; call: one Vm.run per run from a JavaScript loop, which adds the
                  JS -> engine call an embedder calling run() pays. The table's first line names it
  --program NAME  only this program
  --stat S        report the median round (default) or the fastest one (min: for a machine other
                  processes keep busy)
  --dir DIR       the bench directory (default: ../shared/bench beside the repository)
  --json          print the rows as JSON`;

export const benchCommand: Command = {
  name: 'bench',
  summary: 'Benchmark the VM on the shared bench programs against the kernel JIT and uBPF',
  usage: USAGE,
  run(args: readonly string[], io: CliIo): Promise<number> {
    const { values } = parseWith(USAGE, () =>
      parseArgs({
        args: [...args],
        options: {
          engine: { type: 'string' },
          checks: { type: 'string' },
          method: { type: 'string' },
          program: { type: 'string' },
          rounds: { type: 'string' },
          stat: { type: 'string' },
          dir: { type: 'string' },
          json: { type: 'boolean' },
        },
        strict: true,
      }),
    );
    const dir = values.dir ?? defaultBenchDir();
    if (dir === null) throw new CliError('no bench directory: ../shared/bench is not beside the repository; pass --dir DIR');
    const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
    if (rounds !== undefined && (!Number.isInteger(rounds) || rounds < 1))
      throw new CliError(`--rounds must be a positive integer, not '${values.rounds ?? ''}'`, 2);
    let suite;
    try {
      suite = loadBenchSuite(dir);
    } catch (error) {
      throw new CliError(`cannot load the bench from ${dir}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (values.program !== undefined && !suite.programs.some((p) => p.name === values.program)) {
      throw new CliError(`no bench program '${values.program}' (have: ${suite.programs.map((p) => p.name).join(', ')})`, 2);
    }
    const engine = pickEngine(values.engine);
    const memoryChecks = pickChecks(values.checks);
    const statistic = values.stat ?? 'median';
    if (statistic !== 'median' && statistic !== 'min') throw new CliError(`--stat must be median or min, not '${statistic}'`, 2);
    const method = values.method ?? 'repeat';
    if (!(BENCH_METHODS as readonly string[]).includes(method)) throw new CliError(`--method must be one of ${BENCH_METHODS.join(', ')}, not '${method}'`, 2);
    const rows = runBench(suite, {
      method: method as BenchMethod,
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
    return Promise.resolve(rows.every((r) => r.ok) ? 0 : 1);
  },
};
