/**
 * The one description of every command's arguments. A command declares its options and positionals here
 * (`defineCommand`); from that one object come its `--help` text, the parsing (getopt_long's rules: `--name
 * value` or `--name=value`, `--` ends the options), the validation of every value (integers in a range,
 * choices, files and directories that must exist, required options, options that exclude each other) and the
 * exit codes: a wrong command line is a {@link UsageError} (exit 2), a file that cannot be read a
 * {@link CliError} (the command's failure code).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { CliError, UsageError, type CliIo, type Command } from './command.js';

interface OptionBase {
  /** What the option does, for `--help`; may span lines. Choices, ranges and defaults are added to it. */
  readonly help: string;
}

/** `--name`: true when given. */
export interface FlagOption extends OptionBase {
  readonly kind: 'flag';
}

interface ValueOption extends OptionBase {
  /** The value's name in the help text: `FILE`, `N`. */
  readonly value: string;
  readonly required?: boolean;
}

/** Any non-empty text (or empty too, with `allowEmpty`). */
export interface TextOption extends ValueOption {
  readonly kind: 'text';
  readonly default?: string;
  readonly allowEmpty?: boolean;
}

/** A decimal integer in [min, max]. */
export interface IntOption extends ValueOption {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
  readonly default?: number;
}

/** A finite number in (above, max]. */
export interface NumberOption extends ValueOption {
  readonly kind: 'number';
  readonly above: number;
  readonly max: number;
  readonly default?: number;
}

/** One of a fixed list of words. */
export interface ChoiceOption<T extends string = string> extends ValueOption {
  readonly kind: 'choice';
  readonly choices: readonly T[];
  readonly default?: T;
}

/**
 * A path: `file` must exist, be readable and not be a directory; `dir` must be a directory; `output` must not
 * be a directory (it is written later).
 */
export interface PathOption extends ValueOption {
  readonly kind: 'path';
  readonly must: 'file' | 'dir' | 'output';
}

export type OptionSpec = FlagOption | TextOption | IntOption | NumberOption | ChoiceOption | PathOption;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The positional arguments: between `min` and `max` of them. */
export interface PositionalSpec {
  /** How the help text names them: `FILE.o`, `MEMORY`. */
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Each is a file that must exist and be readable (`file`), as for {@link PathOption}. */
  readonly path?: 'file';
  /** Empty arguments are dropped (the conformance runner passes them when splitting its options). */
  readonly dropEmpty?: boolean;
}

type ValueOf<O> = O extends FlagOption ? boolean : O extends ChoiceOption<infer T> ? T : O extends IntOption | NumberOption ? number : string;
type AlwaysSet<O> = O extends FlagOption ? true : O extends { readonly required: true } ? true : O extends { readonly default: unknown } ? true : false;
/** The parsed options: each option's type from its kind; `undefined` when it may be absent. */
export type OptionValues<S extends OptionSpecs> = { readonly [K in keyof S]: AlwaysSet<S[K]> extends true ? ValueOf<S[K]> : ValueOf<S[K]> | undefined };

/** The description a command is built from. */
export interface CommandSpec<S extends OptionSpecs> {
  /** As typed after `ebpf-sim`: `run`, or `sim hooks` for a sub-command. */
  readonly name: string;
  readonly summary: string;
  /** Synopsis lines (after `ebpf-sim `) when one generated from the options would not say it (several forms). */
  readonly synopsis?: readonly string[];
  /** Paragraphs between the synopsis and the options. */
  readonly description: string;
  readonly options: S;
  readonly positionals?: PositionalSpec;
  /** Sets of options of which at most one may be given. */
  readonly conflicts?: ReadonlyArray<ReadonlyArray<keyof S & string>>;
  /** Printed after the options (exit status, examples). */
  readonly epilog?: string;
  readonly failureExitCode?: number;
}

/** Option builders that keep each option's literal type, so `OptionValues` knows which are always set. */
export const opt = {
  flag: (help: string): FlagOption => ({ kind: 'flag', help }),
  text: <const O extends Omit<TextOption, 'kind'>>(o: O): O & { readonly kind: 'text' } => ({ ...o, kind: 'text' }),
  int: <const O extends Omit<IntOption, 'kind'>>(o: O): O & { readonly kind: 'int' } => ({ ...o, kind: 'int' }),
  number: <const O extends Omit<NumberOption, 'kind'>>(o: O): O & { readonly kind: 'number' } => ({ ...o, kind: 'number' }),
  choice: <const T extends string, const O extends Omit<ChoiceOption<T>, 'kind' | 'choices'>>(
    choices: readonly T[],
    o: O,
  ): O & { readonly kind: 'choice'; readonly choices: readonly T[] } => ({ ...o, kind: 'choice', choices }),
  path: <const O extends Omit<PathOption, 'kind'>>(o: O): O & { readonly kind: 'path' } => ({ ...o, kind: 'path' }),
};

/** The largest u32: BPF_PROG_TEST_RUN's `repeat` and other u32 counts. */
export const U32_MAX = 0xffff_ffff;

const HELP_OPTION = '-h, --help';

/** `a, b or c`. */
function wordList(words: readonly string[], last = 'or'): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} ${last} ${words[words.length - 1] ?? ''}`;
}

/** The one-line message for a file `path` that cannot be used, from its errno code. */
export function fileError(path: string, code: string | undefined, writing = false): CliError {
  return new CliError(`${path}: cannot ${writing ? 'write' : 'read'} file${code ? ` (${code})` : ''}`);
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Check a path as `must` says, throwing the same message reading it would give. */
export function checkPath(path: string, must: PathOption['must']): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (error) {
    // A file to write need not exist yet, but the directory it goes into must.
    if (must === 'output' && errnoCode(error) === 'ENOENT') {
      if (!isDirectory(dirname(path))) throw fileError(path, 'ENOENT', true);
      return;
    }
    throw must === 'dir'
      ? new CliError(`${path}: cannot open directory (${errnoCode(error) ?? 'error'})`)
      : fileError(path, errnoCode(error), must === 'output');
  }
  if (must === 'dir') {
    if (!isDir) throw new CliError(`${path}: not a directory (ENOTDIR)`);
    return;
  }
  if (isDir) throw fileError(path, 'EISDIR', must === 'output');
  if (must === 'file') {
    try {
      accessSync(path, constants.R_OK);
    } catch (error) {
      throw fileError(path, errnoCode(error));
    }
  }
}

/** Choices short enough to stand for the value in the synopsis and the option table (`interp|jit|auto`). */
const INLINE_CHOICES = 24;

function inlineChoices(o: OptionSpec): boolean {
  return o.kind === 'choice' && o.choices.join('|').length <= INLINE_CHOICES;
}

function valueText(name: string, o: OptionSpec): string {
  if (o.kind === 'flag') return `--${name}`;
  return `--${name} ${o.kind === 'choice' && inlineChoices(o) ? o.choices.join('|') : o.value}`;
}

/** What the help adds after an option's own text: its choices (unless shown as the value) or range, its default, whether it is required. */
function helpSuffix(o: OptionSpec): string {
  const parts: string[] = [];
  if (o.kind === 'choice' && !inlineChoices(o)) parts.push(`one of ${o.choices.join(', ')}`);
  if (o.kind === 'int') parts.push(`${o.min} to ${o.max}`);
  if (o.kind === 'number') parts.push(`above ${o.above}, at most ${o.max}`);
  if (o.kind !== 'flag' && o.kind !== 'path' && o.default !== undefined) parts.push(`default ${String(o.default)}`);
  if (o.kind !== 'flag' && o.required === true) parts.push('required');
  return parts.length === 0 ? '' : ` (${parts.join('; ')})`;
}

function positionalText(p: PositionalSpec): string {
  const name = p.max > 1 ? `${p.name}...` : p.name;
  return p.min === 0 ? `[${name}]` : name;
}

/** The generated synopsis: required options, positionals, then optional options ([--a A | --b B] for a conflict set). */
function synopsis<S extends OptionSpecs>(spec: CommandSpec<S>): string {
  const parts: string[] = [];
  const entries = Object.entries(spec.options);
  for (const [name, o] of entries) if (o.kind !== 'flag' && o.required === true) parts.push(valueText(name, o));
  if (spec.positionals) parts.push(positionalText(spec.positionals));
  const grouped = new Set<string>();
  for (const [name, o] of entries) {
    if (grouped.has(name) || (o.kind !== 'flag' && o.required === true)) continue;
    const set = spec.conflicts?.find((c) => c.includes(name)) ?? [name];
    for (const member of set) grouped.add(member);
    parts.push(`[${set.map((member) => valueText(member, spec.options[member] as OptionSpec)).join(' | ')}]`);
  }
  return `${spec.name} ${parts.join(' ')}`.trimEnd();
}

/** The help text of a command, all of it from its description. */
export function formatHelp<S extends OptionSpecs>(spec: CommandSpec<S>): string {
  const forms = spec.synopsis ?? [synopsis(spec)];
  const rows: Array<[string, string]> = Object.entries(spec.options).map(([name, o]) => {
    const suffix = helpSuffix(o);
    // A help text of several lines gets its suffix on a line of its own.
    return [valueText(name, o), suffix === '' ? o.help : o.help.includes('\n') ? `${o.help}\n${suffix.trimStart()}` : `${o.help}${suffix}`];
  });
  rows.push([HELP_OPTION, 'print this help and exit']);
  const width = Math.max(...rows.map(([left]) => left.length));
  const table = rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right.replace(/\n/g, `\n  ${' '.repeat(width)}  `)}`);
  const usage = forms.map((form, i) => `${i === 0 ? 'usage: ' : '       '}ebpf-sim ${form}`).join('\n');
  return `${usage}\n\n${spec.description}\n\noptions:\n${table.join('\n')}\n${spec.epilog === undefined ? '' : `\n${spec.epilog}\n`}`;
}

/** True when `--help` or `-h` comes before any `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** Split `args` by getopt_long's rules into raw option values and positionals. */
function tokenize(args: readonly string[], options: OptionSpecs, seeHelp: string): { raw: Map<string, string | true>; positionals: string[] } {
  const raw = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unknown option '${arg}'${seeHelp}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = Object.hasOwn(options, name) ? options[name] : undefined;
    if (spec === undefined) throw new UsageError(`unknown option '--${name}'${seeHelp}`);
    if (spec.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`option '--${name}' takes no value`);
      raw.set(name, true);
      continue;
    }
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      // A following option is not taken as the value: `--engine --repeat 3` lacks the engine.
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`option '--${name}' needs a value (${valueText(name, spec)})`);
      value = next;
      i++;
    }
    raw.set(name, value);
  }
  return { raw, positionals };
}

/** Turn one option's text into its typed value, or say what is wrong with it. */
function convert(name: string, o: Exclude<OptionSpec, FlagOption>, text: string): string | number {
  const flag = `--${name}`;
  switch (o.kind) {
    case 'int': {
      const n = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
      if (!(n >= o.min && n <= o.max)) throw new UsageError(`${flag} must be an integer from ${o.min} to ${o.max}, not '${text}'`);
      return n;
    }
    case 'number': {
      const n = text.trim() === '' ? NaN : Number(text);
      if (!(n > o.above && n <= o.max)) throw new UsageError(`${flag} must be a number above ${o.above} and at most ${o.max}, not '${text}'`);
      return n;
    }
    case 'choice':
      if (!o.choices.includes(text)) throw new UsageError(`${flag} must be one of ${o.choices.join(', ')}, not '${text}'`);
      return text;
    case 'path':
      if (text === '') throw new UsageError(`${flag} needs a ${o.value}, not an empty string`);
      checkPath(text, o.must);
      return text;
    case 'text':
      if (text === '' && o.allowEmpty !== true) throw new UsageError(`${flag} needs a non-empty ${o.value}`);
      return text;
  }
}

/** The parsed command line of a command. */
export interface Parsed<S extends OptionSpecs> {
  readonly options: OptionValues<S>;
  readonly positionals: readonly string[];
}

/** Parse and validate `args` against `spec`. Throws {@link UsageError} or {@link CliError}. */
export function parseCommandLine<S extends OptionSpecs>(spec: CommandSpec<S>, args: readonly string[]): Parsed<S> {
  const seeHelp = ` (see 'ebpf-sim ${spec.name} --help')`;
  const { raw, positionals: given } = tokenize(args, spec.options, seeHelp);
  const p = spec.positionals;
  const positionals = p?.dropEmpty === true ? given.filter((a) => a !== '') : given;
  const max = p?.max ?? 0;
  if (positionals.length > max) throw new UsageError(`unexpected argument '${positionals[max] ?? ''}'${seeHelp}`);
  if (p !== undefined && positionals.length < p.min) throw new UsageError(`missing ${p.name}${seeHelp}`);
  for (const set of spec.conflicts ?? []) {
    const given = set.filter((name) => raw.has(name));
    if (given.length > 1)
      throw new UsageError(
        `${wordList(
          given.map((name) => `--${name}`),
          'and',
        )} cannot be used together`,
      );
  }
  const values: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    const text = raw.get(name);
    if (o.kind === 'flag') {
      values[name] = text === true;
    } else if (typeof text === 'string') {
      values[name] = convert(name, o, text);
    } else if (o.required === true) {
      throw new UsageError(`${valueText(name, o)} is required${seeHelp}`);
    } else {
      values[name] = o.kind === 'path' ? undefined : o.default;
    }
  }
  if (p?.path === 'file') for (const path of positionals) checkPath(path, 'file');
  return { options: values as OptionValues<S>, positionals };
}

/**
 * A command from its description and what it does with the parsed arguments: `--help` prints the generated
 * help (exit 0), a bad command line is a usage error (exit 2).
 */
export function defineCommand<const S extends OptionSpecs>(spec: CommandSpec<S>, run: (parsed: Parsed<S>, io: CliIo) => number | Promise<number>): Command {
  const usage = formatHelp(spec);
  return {
    name: spec.name,
    summary: spec.summary,
    usage,
    ...(spec.failureExitCode === undefined ? {} : { failureExitCode: spec.failureExitCode }),
    async run(args, io) {
      if (wantsHelp(args)) {
        io.out(usage);
        return 0;
      }
      try {
        return await run(parseCommandLine(spec, args), io);
      } catch (error) {
        if (error instanceof CliError) error.command ??= spec.name;
        throw error;
      }
    },
  };
}

/**
 * A command whose first argument names a sub-command (`sim hooks`, `sim workload`), each with its own
 * options: `ebpf-sim sim --help` lists them, `ebpf-sim sim hooks --help` shows one.
 */
export function defineGroup(spec: {
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  readonly commands: readonly Command[];
}): Command {
  const word = (c: Command): string => c.name.slice(spec.name.length + 1);
  const names = spec.commands.map(word);
  const usage = `${spec.commands.map((c, i) => `${i === 0 ? 'usage: ' : '       '}ebpf-sim ${c.name} [options]`).join('\n')}\n\n${spec.description}\n\nsub-commands:\n${spec.commands
    .map((c) => `  ${word(c).padEnd(Math.max(...names.map((n) => n.length)))}  ${c.summary}`)
    .join('\n')}\n\nRun 'ebpf-sim ${spec.name} SUB-COMMAND --help' for its options.\n`;
  return {
    name: spec.name,
    summary: spec.summary,
    usage,
    async run(args, io) {
      const [first, ...rest] = args;
      if (first === undefined || first === '--help' || first === '-h') {
        if (first === undefined) throw new UsageError(`missing sub-command: ${wordList(names)} (see 'ebpf-sim ${spec.name} --help')`);
        io.out(usage);
        return 0;
      }
      const command = spec.commands.find((c) => word(c) === first);
      if (command === undefined) throw new UsageError(`unknown sub-command '${first}': expected ${wordList(names)}`);
      return command.run(rest, io);
    },
  };
}
