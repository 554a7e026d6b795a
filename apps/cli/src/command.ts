/** Where a command writes; tests capture it instead of touching the process streams. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Read all of standard input. */
  readStdin(): Promise<string>;
}

/** One `ebpf-sim` sub-command. Each lives in its own file under `commands/` and is listed in the registry. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Usage text shown by `ebpf-sim help NAME` and on a usage error. */
  readonly usage: string;
  /** Run with the arguments after the command name; resolves to the exit code. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/**
 * A failure to report to the user as one message (no stack trace): bad arguments, unreadable files, bad
 * input with a position. `exitCode` is 1 unless the command documents otherwise.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
