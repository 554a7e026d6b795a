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
  /** The help text `ebpf-sim help NAME` and `ebpf-sim NAME --help` print. */
  readonly usage: string;
  /**
   * The exit code of a failure (a {@link CliError} that is not a usage error): 1, except for a command whose 1
   * is a verdict (`verify`: 1 = rejected), which fails with 2 the way grep does.
   */
  readonly failureExitCode?: number;
  /** Run with the arguments after the command name; resolves to the exit code. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** The exit codes of every command (sysexits.h names the last one). */
export const ExitCode = {
  OK: 0,
  /** The work failed: a file that cannot be read, bad contents, a program that faulted, a failed check. */
  FAILURE: 1,
  /** The command line is wrong: unknown option, bad or missing value, wrong number of arguments. */
  USAGE: 2,
  /** EX_SOFTWARE: a bug in ebpf-sim, never a user mistake. */
  INTERNAL: 70,
} as const;

/**
 * A failure to report to the user as one line (no stack trace): an unreadable file, bad input with its
 * position, a program that faulted. Exits with the command's failure code (1 unless the command documents
 * another).
 */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  /** The command line that failed (`sim hooks`), for the message's prefix; set by the command that threw it. */
  command: string | undefined;
}

/** A wrong command line: exits 2 in every command. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
}
