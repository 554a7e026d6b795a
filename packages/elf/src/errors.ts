/**
 * A malformed ELF file: what was expected and the byte offset where reading failed, so a user can look at the
 * file with `xxd -s OFFSET`.
 */
export class ElfError extends Error {
  override readonly name = 'ElfError';
  constructor(
    /** What was expected, e.g. `section header table inside the file`. */
    readonly expected: string,
    /** Byte offset in the file where the problem is. */
    readonly offset: number,
    /** What was found instead, when it helps. */
    readonly found?: string,
  ) {
    super(`bad ELF file at byte offset ${offset} (0x${offset.toString(16)}): expected ${expected}${found === undefined ? '' : `, found ${found}`}`);
  }
}
