import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from '../../command.js';
import { main } from '../../main.js';

/** The repository root, found from this file's folder (apps/cli/src/commands/isa). */
export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..', '..', '..');
export const ISA_FIXTURES = join(REPO_ROOT, 'packages', 'isa', 'fixtures');
export const SHARED = join(REPO_ROOT, '..', 'shared');
export const SHARED_PRESENT = existsSync(SHARED);
if (!SHARED_PRESENT) console.warn(`skipping tests over ../shared: ${SHARED} is absent (the shared fixtures live beside the repo)`);

export interface RunResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Run the CLI in-process and capture what it prints. */
export async function run(...argv: string[]): Promise<RunResult> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    readStdin: () => Promise.resolve(''),
  };
  const code = await main(argv, io);
  return { code, out, err };
}
