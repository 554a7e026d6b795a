import { readFileSync } from 'node:fs';
import { CliError, ExitCode, UsageError, type CliIo, type Command } from './command.js';
import { COMMANDS } from './commands/index.js';
import { processIo } from './process-io.js';

/** The version in apps/cli/package.json (one folder above both src/ and the built dist/). */
export function cliVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

function helpText(commands: readonly Command[]): string {
  const rows: Array<[string, string]> = [
    ...commands.map((c): [string, string] => [c.name, c.summary]),
    ['help [COMMAND]', "List the commands, or show one command's usage and options"],
    ['version', 'Print the version (also --version)'],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = rows.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`);
  return (
    `usage: ebpf-sim <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    "Run 'ebpf-sim <command> --help' for a command's options.\n" +
    'Exit status: 0 done, 1 failed (a file that cannot be read, bad input, a fault), 2 wrong command line.\n'
  );
}

const seeHelp = "(run 'ebpf-sim help' for the list)";

/** `help [COMMAND]`, `version`, or null when `name` is neither. */
function builtin(name: string, rest: readonly string[], io: CliIo, commands: readonly Command[]): number | null {
  if (name === 'help' || name === '--help' || name === '-h') {
    if (rest.length > 1) throw new UsageError(`help takes one command name, not ${rest.length}`);
    const topic = rest[0];
    if (topic === undefined || topic === '--help' || topic === '-h') {
      io.out(helpText(commands));
      return ExitCode.OK;
    }
    const command = commands.find((c) => c.name === topic);
    if (command === undefined) throw new UsageError(`unknown command '${topic}' ${seeHelp}`);
    io.out(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`);
    return ExitCode.OK;
  }
  if (name === 'version' || name === '--version') {
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0] ?? ''}' after ${name}`);
    io.out(`ebpf-sim ${cliVersion()}\n`);
    return ExitCode.OK;
  }
  return null;
}

/** The exit code for an error a command threw, after printing it as one line (a stack trace only for a bug, on request). */
function report(error: unknown, prefix: string, command: Command | undefined, io: CliIo): number {
  if (error instanceof CliError) {
    io.err(`${prefix}: ${error.message.replace(/\n+/g, ' ')}\n`);
    return error instanceof UsageError ? ExitCode.USAGE : (command?.failureExitCode ?? ExitCode.FAILURE);
  }
  // A bug, not a user mistake: still one line for the user; EBPF_SIM_DEBUG=1 shows the stack.
  const message = error instanceof Error ? error.message : String(error);
  io.err(`${prefix}: internal error: ${message.replace(/\n+/g, ' ')}\n`);
  if (process.env.EBPF_SIM_DEBUG) io.err(`${error instanceof Error ? (error.stack ?? '') : ''}\n`);
  return ExitCode.INTERNAL;
}

/**
 * Run the CLI with `argv` (without node and the script path) and resolve to the exit code: 0 done, 1 failed,
 * 2 wrong command line (see {@link ExitCode}). Errors are printed as one line on stderr, never as a stack trace.
 */
export async function main(argv: readonly string[], io: CliIo = processIo(), commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(helpText(commands));
    return ExitCode.USAGE;
  }
  const command = commands.find((c) => c.name === name);
  try {
    const done = command === undefined ? builtin(name, rest, io, commands) : null;
    if (done !== null) return done;
    if (command === undefined) {
      throw new UsageError(name.startsWith('-') ? `unknown option '${name}' ${seeHelp}` : `unknown command '${name}' ${seeHelp}`);
    }
    return await command.run(rest, io);
  } catch (error) {
    const where = error instanceof CliError && error.command !== undefined ? error.command : command?.name;
    return report(error, where === undefined ? 'ebpf-sim' : `ebpf-sim ${where}`, command, io);
  }
}
