import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { JitLimitError, RawRunner, formatFault } from '@ebpf-sim/vm';
import { timedTestRun, type TimedTestRun } from '@ebpf-sim/vm/node';
import { CliError, type CliIo, type Command } from '../../command.js';
import { hexBytes, loadProgramBytes, pickChecks, pickEngine, readText } from './common.js';
import { parseWith } from '../../args.js';

const USAGE = `usage: ebpf-sim run --prog-hex FILE [--mem-hex HEX | --data-in FILE] [--engine E] [--checks C] [--repeat N]

Run a raw eBPF program the way 'bpftool prog run ... data_in FILE repeat N' does: r1 = a writable copy of
the input, r2 = its length. Prints "Return value: X, duration (average): Yns" like bpftool: X is the low 32
bits of r0 in decimal (the kernel's test-run retval is a u32), Y the wall time of one run in the engine's
steady state, timed the way 'ebpf-sim bench' times: the program first runs untimed until the engine is warm,
as a kernel JIT would be (V8 has optimized the interpreter or the JIT's WebAssembly: 0.3 s or more); then
test runs of N runs, each looping inside the engine like the kernel's (Vm.runRepeat; the JIT's loop is in
its WebAssembly module), are timed in rounds of about 20 ms, and Y = the median round's time per run (a test
run of 100 ms or more is timed alone). X, or the fault, comes from one more test run of N runs from a fresh
copy of the input; the runs stop at the first fault, which names the run.
  --prog-hex FILE   the program: hex, one 8-byte slot per line (as ../shared/bench/hex) or continuous
  --mem-hex HEX     the input as hex text
  --data-in FILE    the input as a binary file
  --engine E        execution engine: interp, jit or auto (default interp)
  --checks C        JIT memory checks: checked (default: the interpreter's exact faults) or unchecked
                    (for verified programs: no range tests; WebAssembly's bounds still protect the host)
  --repeat N        runs per test run (default 1); the duration is per run`;

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a raw eBPF program on input memory and print its return value (like bpftool prog run)',
  usage: USAGE,
  run(args: readonly string[], io: CliIo): Promise<number> {
    const { values } = parseWith(USAGE, () =>
      parseArgs({
        args: [...args],
        options: {
          'prog-hex': { type: 'string' },
          'mem-hex': { type: 'string' },
          'data-in': { type: 'string' },
          engine: { type: 'string' },
          checks: { type: 'string' },
          repeat: { type: 'string' },
        },
        strict: true,
      }),
    );
    const progPath = values['prog-hex'];
    if (progPath === undefined) throw new CliError(`--prog-hex FILE is required\n${USAGE}`, 2);
    if (values['mem-hex'] !== undefined && values['data-in'] !== undefined)
      throw new CliError('give the input either as --mem-hex or as --data-in, not both', 2);
    const repeat = values.repeat === undefined ? 1 : Number(values.repeat);
    if (!Number.isInteger(repeat) || repeat < 1) throw new CliError(`--repeat must be a positive integer, not '${values.repeat ?? ''}'`, 2);

    const program = loadProgramBytes(hexBytes(readText(progPath), progPath, true), progPath);
    let input: Uint8Array = new Uint8Array(0);
    if (values['mem-hex'] !== undefined) input = hexBytes(values['mem-hex'], '--mem-hex', false);
    if (values['data-in'] !== undefined) {
      try {
        input = new Uint8Array(readFileSync(values['data-in']));
      } catch (error) {
        throw new CliError(`cannot read ${values['data-in']}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    const runner = new RawRunner({ engine: pickEngine(values.engine), memoryChecks: pickChecks(values.checks) });
    const vm = runner.vm;
    // Warm-up, timed rounds, then the test run whose result is printed (see the usage text and timedTestRun).
    let timed: TimedTestRun;
    try {
      timed = timedTestRun(runner, program, input, repeat);
    } catch (error) {
      if (error instanceof JitLimitError) throw new CliError(error.message.replace(/\n\s*/g, '; '));
      throw error;
    }
    const { ok, nsPerRun } = timed;
    if (!ok || vm.fault) {
      const which = repeat > 1 ? ` on run ${vm.runs} of ${repeat}` : '';
      throw new CliError(`program stopped${which}: ${vm.fault ? formatFault(vm.fault).replace(/\n\s*/g, '; ') : 'unknown fault'}`);
    }
    const retval = Number(vm.r0 & 0xffffffffn);
    const duration = Math.round(nsPerRun);
    io.out(`Return value: ${retval}, duration${repeat > 1 ? ' (average)' : ''}: ${duration}ns\n`);
    return Promise.resolve(0);
  },
};
