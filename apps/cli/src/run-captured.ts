import type { CliIo } from './command.js';
import { main } from './main.js';

/** What a command wrote and its exit code. */
export interface Captured {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Run `ebpf-sim ARGV` in this process with its output captured (for tests). */
export async function runCaptured(argv: readonly string[], stdin = ''): Promise<Captured> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), readStdin: () => Promise.resolve(stdin) };
  const code = await main(argv, io);
  return { code, out, err };
}
