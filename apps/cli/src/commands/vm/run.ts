import { JitLimitError, RawRunner, formatFault } from '@ebpf-sim/vm';
import { timedTestRun, type TimedTestRun } from '@ebpf-sim/vm/node';
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
bits of r0 in decimal (the kernel's test-run retval is a u32), Y the wall time of one run in the engine's
steady state, timed the way 'ebpf-sim bench' times: the program first runs untimed until the engine is warm,
as a kernel JIT would be (V8 has optimized the interpreter or the JIT's WebAssembly: 0.3 s or more); then
test runs of N runs, each looping inside the engine like the kernel's (Vm.runRepeat; the JIT's loop is in
its WebAssembly module), are timed in rounds of about 20 ms, and Y = the median round's time per run (a test
run of 100 ms or more is timed alone). X, or the fault, comes from one more test run of N runs from a fresh
copy of the input; the runs stop at the first fault, which names the run.`,
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
      repeat: opt.int({ value: 'N', min: 1, max: U32_MAX, default: 1, help: 'runs per test run (the duration is per run)' }),
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
      ...(values.budget === undefined ? {} : { budget: values.budget }),
    });
    const vm = runner.vm;
    // Warm-up, timed rounds, then the test run whose result is printed (see the description and timedTestRun).
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
      throw new CliError(
        `program stopped${which}: ${vm.fault ? formatFault(vm.fault, { budget: 'the program ran longer than the instruction budget allows; if that is expected, raise it with --budget N' }).replace(/\n\s*/g, '; ') : 'unknown fault'}`,
      );
    }
    const retval = Number(vm.r0 & 0xffffffffn);
    const duration = Math.round(nsPerRun);
    io.out(`Return value: ${retval}, duration${repeat > 1 ? ' (average)' : ''}: ${duration}ns\n`);
    return 0;
  },
);
