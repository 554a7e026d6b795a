import { RawRunner, formatFault } from '@ebpf-sim/vm';
import { CliError, type CliIo, type Command } from '../../command.js';
import { hexBytes, loadProgramBytes, pickEngine } from './common.js';

const USAGE = `usage: ebpf-sim conformance-plugin [MEMORY] [OPTIONS...]

A plugin for the bpf_conformance runner (bpf_conformance_runner --plugin_path ...): reads the program as hex
bytes on stdin, takes the input memory as hex in the first argument (when the test has memory), runs it with
r1 = the memory and r2 = its length, and prints r0 as 64-bit hex on stdout. Any failure goes to stderr
with a non-zero exit status and nothing on stdout. Runner options after the memory are accepted and ignored,
except --engine E (interp, jit or auto; pass it with --plugin_options "--engine jit"); --elf (ELF input) is
not supported.`;

export const conformancePluginCommand: Command = {
  name: 'conformance-plugin',
  summary: 'bpf_conformance plugin: program hex on stdin, memory hex as argument, r0 hex on stdout',
  usage: USAGE,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    if (args.includes('--elf')) throw new CliError('ELF input (--elf) is not supported; run the runner without --elf true');
    // `--engine E` may come before the memory (options given with the plugin command) or after it (the
    // runner's --plugin_options); the memory is the first other argument not starting with '--'.
    const at = args.indexOf('--engine');
    const rest = at < 0 ? args : [...args.slice(0, at), ...args.slice(at + 2)];
    const memArg = rest[0] !== undefined && !rest[0].startsWith('--') ? rest[0] : '';
    const memory = hexBytes(memArg, 'memory argument', false);
    const program = loadProgramBytes(hexBytes(await io.readStdin(), 'stdin', true), 'stdin');
    const engine = pickEngine(at < 0 ? undefined : args[at + 1]);
    // One short run in a fresh process: priming the engine would cost more than it saves.
    const runner = new RawRunner({ prime: false, engine });
    if (!runner.run(program, memory)) {
      const fault = runner.vm.fault;
      throw new CliError(fault ? formatFault(fault).replace(/\n\s*/g, '; ') : 'program faulted');
    }
    io.out(`${runner.vm.r0.toString(16)}\n`);
    return 0;
  },
};
