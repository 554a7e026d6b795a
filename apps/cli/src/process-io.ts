import { readFileSync } from 'node:fs';
import { CliError, ExitCode, type CliIo } from './command.js';

/**
 * The exit status when the reader of our output went away (EPIPE): what the shell reports for a Unix tool that
 * SIGPIPE killed (128 + 13), as `seq 1 1000000 | head -1` shows under `set -o pipefail`. Node ignores
 * SIGPIPE, so the process exits with that status itself, quietly.
 */
export const EXIT_BROKEN_PIPE = 128 + 13;

const guarded = new WeakSet<NodeJS.WriteStream>();

/**
 * Handle write errors of a standard stream, which Node reports as an 'error' event (a stack trace when nobody
 * listens): a closed pipe ends the process quietly; any other error (ENOSPC on /dev/full) is one line on
 * stderr and exit status 1.
 */
function guard(stream: NodeJS.WriteStream, name: string): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  let failed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (failed) return;
    failed = true;
    if (error.code === 'EPIPE') process.exit(EXIT_BROKEN_PIPE);
    if (stream !== process.stderr) process.stderr.write(`ebpf-sim: cannot write to ${name} (${error.code ?? error.message})\n`);
    process.exit(ExitCode.FAILURE);
  });
}

/** Write unless the stream already failed (its error handler is about to end the process). */
function write(stream: NodeJS.WriteStream, text: string): void {
  if (!stream.destroyed) stream.write(text);
}

/** The process's standard streams as a {@link CliIo}, with write errors handled as a command-line tool should. */
export function processIo(): CliIo {
  guard(process.stdout, 'standard output');
  guard(process.stderr, 'standard error');
  return {
    out: (text) => write(process.stdout, text),
    err: (text) => write(process.stderr, text),
    readStdin: () => {
      try {
        return Promise.resolve(readFileSync(0, 'utf8'));
      } catch (error) {
        return Promise.reject(new CliError(`cannot read standard input (${(error as NodeJS.ErrnoException).code ?? 'error'})`));
      }
    },
  };
}
