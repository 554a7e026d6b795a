import { readFileSync } from 'node:fs';
import { CliError, type CliIo, type Command } from './command.js';
import { COMMANDS } from './commands/index.js';

function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    readStdin: () => Promise.resolve(readFileSync(0, 'utf8')),
  };
}

function helpText(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: ebpf-sim <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'ebpf-sim help <command>' for a command's options.\n`;
}

/**
 * Run the CLI with `argv` (without node and the script path) and resolve to the exit code. Errors are printed
 * as one line on stderr, never as a stack trace.
 */
export async function main(argv: readonly string[], io: CliIo = processIo(), commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? rest[0] : undefined;
    const command = topic === undefined ? undefined : commands.find((c) => c.name === topic);
    if (topic !== undefined && command === undefined) {
      io.err(`ebpf-sim: unknown command '${topic}'\n`);
      return 1;
    }
    io.out(command ? `${command.usage}\n` : helpText(commands));
    return name === undefined ? 1 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`ebpf-sim: unknown command '${name}'\n${helpText(commands)}`);
    return 1;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`ebpf-sim ${command.name}: ${error.message}\n`);
      return error.exitCode;
    }
    // An unexpected failure is still one line for the user; EBPF_SIM_DEBUG=1 shows the stack.
    const message = error instanceof Error ? error.message : String(error);
    io.err(`ebpf-sim ${command.name}: internal error: ${message}\n`);
    if (process.env.EBPF_SIM_DEBUG) io.err(`${error instanceof Error ? (error.stack ?? '') : ''}\n`);
    return 70;
  }
}
