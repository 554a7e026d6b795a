/**
 * One bpftool command (`prog run`, `map dump`): its synopsis and how its words become a {@link Step}. The same
 * description serves the `ebpf-sim prog run ...` command (a kernel for the one command) and a line of a batch
 * file (one kernel for the file).
 */
import { defineCommand, opt } from '../../args.js';
import { type CliIo, type Command } from '../../command.js';
import { VerifierRejection } from './handles.js';
import { runSteps, type OutputMode, type PlacedStep, type Step } from './session.js';
import { Words } from './words.js';

export interface Verb {
  /** `prog run`: the object and the verb, as typed. */
  readonly name: string;
  readonly summary: string;
  /** The words after the name: `PROG [data_in FILE] ...`. */
  readonly synopsis: string;
  readonly description: string;
  /** Read the words (and any host file they name); usage errors are thrown here, before a kernel exists. */
  parse(words: Words): Step;
}

/** The options every bpftool-shaped command takes (bpftool's -j and -p). */
export const OUTPUT_OPTIONS = {
  json: opt.flag('print JSON, as bpftool -j does'),
  pretty: opt.flag('print pretty JSON, as bpftool -p does'),
};

export const outputMode = (options: { readonly json: boolean; readonly pretty: boolean }): OutputMode =>
  options.pretty ? 'pretty' : options.json ? 'json' : 'plain';

/** Run steps in a fresh kernel; a verifier rejection prints the verifier's log on stderr before its one-line error. */
export function execute(steps: readonly PlacedStep[], io: CliIo, mode: OutputMode): number {
  try {
    runSteps(steps, io, mode);
  } catch (error) {
    if (error instanceof VerifierRejection) io.err(error.log);
    throw error;
  }
  return 0;
}

const KERNEL_NOTE = 'It runs against a simulated kernel made for this command, which is gone when it ends.';

/** The `ebpf-sim` command of a verb. */
export function verbCommand(verb: Verb): Command {
  return defineCommand(
    {
      name: verb.name,
      summary: verb.summary,
      synopsis: [`${verb.name} ${verb.synopsis} [--json | --pretty]`],
      description: `${verb.description}\n${KERNEL_NOTE}`,
      options: OUTPUT_OPTIONS,
      positionals: { name: 'ARGS', min: 0, max: Number.MAX_SAFE_INTEGER },
      conflicts: [['json', 'pretty']],
    },
    ({ options, positionals }, io) => {
      const words = new Words(positionals);
      const step = verb.parse(words);
      return execute([{ step }], io, outputMode(options));
    },
  );
}
