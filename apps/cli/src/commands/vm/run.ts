import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RawRunner, formatFault } from '@ebpf-sim/vm';
import { CliError, type CliIo, type Command } from '../../command.js';
import { hexBytes, loadProgramBytes, pickChecks, pickEngine, readText } from './common.js';
import { parseWith } from '../../args.js';

const USAGE = `usage: ebpf-sim run --prog-hex FILE [--mem-hex HEX | --data-in FILE] [--engine E] [--checks C] [--repeat N]

Run a raw eBPF program the way 'bpftool prog run ... data_in FILE repeat N' does: r1 = a writable copy of
the input, r2 = its length. Prints "Return value: X, duration (average): Yns" like bpftool: X is the low 32
bits of r0 in decimal (the kernel's test-run retval is a u32), Y the mean wall time of one run. Like the
kernel's test run, the N runs loop inside the engine (Vm.runRepeat; the JIT's loop is in its WebAssembly
module) and Y = total / N. With N > 1 the program first runs untimed (up to N times, at most ~200 ms) so the
engine is warm, as a kernel JIT would be; the timed runs then start from a fresh copy of the input. The
runs stop at the first fault, which names the run.
  --prog-hex FILE   the program: hex, one 8-byte slot per line (as ../shared/bench/hex) or continuous
  --mem-hex HEX     the input as hex text
  --data-in FILE    the input as a binary file
  --engine E        execution engine: interp, jit or auto (default interp)
  --checks C        JIT memory checks: checked (default: the interpreter's exact faults) or unchecked
                    (for verified programs: no range tests; WebAssembly's bounds still protect the host)
  --repeat N        run N times and report the average duration (default 1)`;

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

    const runner = new RawRunner({ engine: pickEngine(values.engine), memoryChecks: pickChecks(values.checks), prime: repeat > 1 });
    const vm = runner.vm;
    let addr = runner.placeInput(input);
    if (repeat > 1) {
      // Doubling batches: `auto` turns the program hot here, TurboFan optimizes the JIT's module.
      const warmEnd = performance.now() + 200;
      for (let done = 0, batch = 1; done < repeat && performance.now() < warmEnd; done += batch, batch *= 2) {
        if (!vm.runRepeat(program, addr, input.length, Math.min(batch, repeat - done))) break;
      }
      // The timed runs start from the input as given, not from what the warm-up runs wrote into it.
      addr = runner.placeInput(input);
    }
    const started = process.hrtime.bigint();
    const ok = vm.runRepeat(program, addr, input.length, repeat);
    const elapsed = Number(process.hrtime.bigint() - started);
    if (!ok || vm.fault) {
      const which = repeat > 1 ? ` on run ${vm.runs} of ${repeat}` : '';
      throw new CliError(`program stopped${which}: ${vm.fault ? formatFault(vm.fault).replace(/\n\s*/g, '; ') : 'unknown fault'}`);
    }
    const retval = Number(vm.r0 & 0xffffffffn);
    const duration = Math.round(elapsed / repeat);
    io.out(`Return value: ${retval}, duration${repeat > 1 ? ' (average)' : ''}: ${duration}ns\n`);
    return Promise.resolve(0);
  },
};
