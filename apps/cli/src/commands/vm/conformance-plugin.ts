import { RawRunner, formatFault } from '@ebpf-sim/vm';
import { defineCommand, opt } from '../../args.js';
import { CliError } from '../../command.js';
import { engineOption, hexBytes, loadProgramBytes } from './common.js';

export const conformancePluginCommand = defineCommand(
  {
    name: 'conformance-plugin',
    summary: 'bpf_conformance plugin: program hex on stdin, memory hex as argument, r0 hex on stdout',
    synopsis: ['conformance-plugin [MEMORY] [--engine E]'],
    description: `A plugin for the bpf_conformance runner (bpf_conformance_runner --plugin_path ...): reads the program as hex
bytes on stdin, takes the input memory as hex in the first argument (when the test has memory), runs it with
r1 = the memory and r2 = its length, and prints r0 as 64-bit hex on stdout. Any failure goes to stderr
with a non-zero exit status and nothing on stdout. Options may come before or after the memory (the
runner appends --plugin_options "--engine jit" after it); empty arguments, which the runner makes of
double spaces in --plugin_options, are ignored. --elf (ELF input) is not supported.`,
    positionals: { name: 'MEMORY', min: 0, max: 1, dropEmpty: true },
    options: {
      engine: engineOption,
      elf: opt.flag("the program on stdin is an ELF object (the runner's --elf true): not supported"),
    },
  },
  async ({ options, positionals }, io) => {
    if (options.elf) throw new CliError('ELF input (--elf) is not supported; run the runner without --elf true');
    const memory = hexBytes(positionals[0] ?? '', 'memory argument', false);
    const program = loadProgramBytes(hexBytes(await io.readStdin(), 'stdin', true), 'stdin');
    // One short run in a fresh process: priming the engine would cost more than it saves.
    const runner = new RawRunner({ prime: false, engine: options.engine });
    if (!runner.run(program, memory)) {
      const fault = runner.vm.fault;
      throw new CliError(fault ? formatFault(fault).replace(/\n\s*/g, '; ') : 'program faulted');
    }
    io.out(`${runner.vm.r0.toString(16)}\n`);
    return 0;
  },
);
