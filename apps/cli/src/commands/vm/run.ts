import { RawRunner, formatFault } from '@ebpf-sim/vm';
import { U32_MAX, defineCommand, opt } from '../../args.js';
import { CliError } from '../../command.js';
import { readHexText, readInputFile } from '../../files.js';
import { checksOption, engineOption, hexBytes, loadProgramBytes } from './common.js';

/** The engines count instructions in an int32, so a larger budget would be capped silently (vm: MAX_JIT_BUDGET). */
const MAX_BUDGET = 0x7fff_ffff;

export const runCommand = defineCommand(
  {
    name: 'run',
    summary: 'Run a raw eBPF program on input memory and print its return value (like bpftool prog run)',
    description: `Run a raw eBPF program the way 'bpftool prog run ... data_in FILE repeat N' does: r1 = a writable copy of
the input, r2 = its length. Prints "Return value: X, duration (average): Yns" like bpftool: X is the low 32
bits of r0 in decimal (the kernel's test-run retval is a u32), Y the mean wall time of one run. Like the
kernel's test run, the N runs loop inside the engine (Vm.runRepeat; the JIT's loop is in its WebAssembly
module) and Y = total / N. With N > 1 the program first runs untimed (up to N times, at most ~200 ms) so the
engine is warm, as a kernel JIT would be; the timed runs then start from a fresh copy of the input. The
runs stop at the first fault, which names the run.`,
    options: {
      'prog-hex': opt.path({
        value: 'FILE',
        must: 'file',
        required: true,
        help: 'the program: hex, one 8-byte slot per line (as ../shared/bench/hex) or continuous',
      }),
      'mem-hex': opt.text({ value: 'HEX', allowEmpty: true, help: 'the input as hex text' }),
      'data-in': opt.path({ value: 'FILE', must: 'file', help: 'the input as a binary file' }),
      engine: engineOption,
      checks: checksOption,
      // BPF_PROG_TEST_RUN's repeat is a u32.
      repeat: opt.int({ value: 'N', min: 1, max: U32_MAX, default: 1, help: 'run N times and report the average duration' }),
      budget: opt.int({
        value: 'N',
        min: 1,
        max: MAX_BUDGET,
        help: "instructions each run may execute before it faults; the VM's default is 100 million",
      }),
    },
    conflicts: [['mem-hex', 'data-in']],
  },
  ({ options: values }, io) => {
    const progPath = values['prog-hex'];
    const repeat = values.repeat;
    const program = loadProgramBytes(hexBytes(readHexText(progPath), progPath, true), progPath);
    let input: Uint8Array = new Uint8Array(0);
    if (values['mem-hex'] !== undefined) input = hexBytes(values['mem-hex'], '--mem-hex', false);
    if (values['data-in'] !== undefined) input = readInputFile(values['data-in']);

    const runner = new RawRunner({
      engine: values.engine,
      memoryChecks: values.checks,
      prime: repeat > 1,
      ...(values.budget === undefined ? {} : { budget: values.budget }),
    });
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
    return 0;
  },
);
