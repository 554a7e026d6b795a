import { readFileSync, writeFileSync } from 'node:fs';
import { fileError } from './args.js';

const code = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/** Read a file for a command, turning a missing or unreadable file into one clear message: `x.o: cannot read file (ENOENT)`. */
export function readInputFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    throw fileError(path, code(error));
  }
}

/** {@link readInputFile} as UTF-8 text. */
export function readInputText(path: string): string {
  return new TextDecoder().decode(readInputFile(path));
}

/** Write a file a command produces: `out.hex: cannot write file (ENOENT)` when it cannot. */
export function writeOutputFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw fileError(path, code(error), true);
  }
}
