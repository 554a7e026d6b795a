import { readFileSync, writeFileSync } from 'node:fs';
import { fileError } from './args.js';
import { CliError } from './command.js';

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
export function writeOutputFile(path: string, text: string | Uint8Array): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw fileError(path, code(error), true);
  }
}

/** `\x7fELF`: the first bytes of an ELF object. */
const ELF_MAGIC = '\x7fELF';

/**
 * Hex text read from `path`, or a one-line error when it is an ELF object instead (a user who hands
 * `--prog-hex` the `.o` clang wrote): the commands that read objects are named.
 */
export function readHexText(path: string): string {
  const text = readInputText(path);
  if (text.startsWith(ELF_MAGIC)) throw new CliError(`${path}: an ELF object, not hex text (disasm FILE.o and verify FILE.o read objects)`);
  return text;
}

/** {@link writeOutputFile} of bytes (data_out, a raw instruction dump). */
export const writeBinary = (path: string, data: Uint8Array): void => writeOutputFile(path, data);
