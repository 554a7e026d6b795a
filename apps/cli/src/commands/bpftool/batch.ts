/**
 * `batch file FILE`, as bpftool's batch mode: each line is a command (`prog loadall ...`, `map dump ...`), all of
 * them against one simulated kernel, so what one line loads or pins is there for the next. `#` starts a comment;
 * words may be quoted ('...' or "..."); a line ending in `\` continues on the next. A wrong line is a usage error
 * naming FILE:LINE before anything runs; a failing one stops the batch with FILE:LINE and its error.
 */
import { defineCommand } from '../../args.js';
import { CliError, UsageError } from '../../command.js';
import { readInputText } from '../../files.js';
import type { PlacedStep } from './session.js';
import { OUTPUT_OPTIONS, execute, outputMode, type Verb } from './verb.js';
import { Words } from './words.js';

/** The words of one line: whitespace-separated, quotes group, `#` outside quotes ends the line. */
export function splitBatchLine(line: string, where: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const c of line) {
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '#') break;
    else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + c;
  }
  if (quote !== undefined) throw new UsageError(`${where}: unterminated quoted string`);
  if (word !== undefined) words.push(word);
  return words;
}

/** The steps of a batch file, each parsed by its verb; `verbs` are the commands a line may name. */
export function parseBatch(path: string, text: string, verbs: readonly Verb[]): PlacedStep[] {
  const steps: PlacedStep[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = lines[i] ?? '';
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + (lines[++i] ?? '');
    const where = `${path}:${first}`;
    const words = splitBatchLine(line, where);
    if (words.length === 0) continue;
    const name = words.slice(0, 2).join(' ');
    const verb = verbs.find((v) => v.name === name);
    if (verb === undefined) {
      throw new UsageError(`${where}: unknown command '${name}': expected ${verbs.map((v) => v.name).join(', ')}`);
    }
    try {
      steps.push({ step: verb.parse(new Words(words.slice(2))), where });
    } catch (error) {
      if (error instanceof CliError) error.message = `${where}: ${error.message}`;
      throw error;
    }
  }
  return steps;
}

/** The batch command over the verbs it may run. */
export function batchCommand(verbs: readonly Verb[]) {
  return defineCommand(
    {
      name: 'batch',
      summary: 'Run a file of bpftool commands against one simulated kernel, as bpftool batch file',
      synopsis: ['batch file FILE [--json | --pretty]'],
      description: `Run the commands of FILE, one per line (${verbs.map((v) => v.name).join(', ')}), in order
against one simulated kernel, so that what a line loads, pins or writes is there for the next lines; then print
"processed N commands". '#' starts a comment, quotes group words, a trailing '\\' continues a line.
A wrong line stops the batch before it starts (exit 2); a failing command stops it there (exit 1), both naming
FILE:LINE.`,
      options: OUTPUT_OPTIONS,
      positionals: { name: 'file FILE', min: 2, max: 2 },
      conflicts: [['json', 'pretty']],
    },
    ({ options, positionals }, io) => {
      const [keyword, path = ''] = positionals;
      if (keyword !== 'file') throw new UsageError(`expected 'file FILE', not '${keyword ?? ''}'`);
      const steps = parseBatch(path, readInputText(path), verbs);
      execute(steps, io, outputMode(options));
      if (outputMode(options) === 'plain') io.out(`processed ${steps.length} commands\n`);
      return 0;
    },
  );
}
