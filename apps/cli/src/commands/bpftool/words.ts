/**
 * bpftool's command-line words: a command's arguments are keywords with values (`data_in FILE repeat 10`),
 * a program or map handle (`id 3`, `pinned /sys/fs/bpf/x`, `name fill`, `tag 0b88..`, or here also an object
 * file `OBJ[:NAME]`), and bytes (`key 1 0 0 0`, `key hex 01 00 00 00`) parsed as bpftool's parse_bytes does.
 */
import { UsageError } from '../../command.js';

/** The words of one command, consumed front to back. */
export class Words {
  private at = 0;
  constructor(private readonly words: readonly string[]) {}

  get done(): boolean {
    return this.at >= this.words.length;
  }

  peek(): string | undefined {
    return this.words[this.at];
  }

  /** The next word, or a usage error naming what was expected. */
  next(what: string): string {
    const word = this.words[this.at];
    if (word === undefined) throw new UsageError(`expected ${what}`);
    this.at++;
    return word;
  }

  /** The next word when it is `word` (consumed), else false. */
  accept(word: string): boolean {
    if (this.words[this.at] !== word) return false;
    this.at++;
    return true;
  }

  /** Every word is used: anything left is a usage error. */
  end(): void {
    const word = this.words[this.at];
    if (word !== undefined) throw new UsageError(`unexpected argument '${word}'`);
  }

  /** A keyword's value as an unsigned integer up to `max` (strtoul with base 0, as bpftool reads it). */
  uint(keyword: string, max: number): number {
    const text = this.next(`a number after '${keyword}'`);
    const n = parseCNumber(text);
    if (n === undefined || n > max) throw new UsageError(`can't parse ${keyword} '${text}' (a number from 0 to ${max})`);
    return n;
  }
}

/** strtoul(text, NULL, 0) of a whole word: 0x.. hex, 0.. octal, else decimal; undefined when not all of it is a number. */
export function parseCNumber(text: string): number | undefined {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[0-7]*$/.test(text)) n = parseInt(text, 8);
  else if (/^[1-9][0-9]*$/.test(text)) n = parseInt(text, 10);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * bpftool's parse_bytes: the bytes after a keyword, each a number (base 0, or base 16 after `hex`); they end at
 * the first word that is not one. The count is checked against the map's size when the map is known
 * ({@link checkByteCount}).
 */
export function parseBytes(words: Words, keyword: string): Uint8Array {
  const hex = words.accept('hex');
  const out: number[] = [];
  while (!words.done) {
    const word = words.peek() ?? '';
    const value = hex ? (/^(0[xX])?[0-9a-fA-F]{1,2}$/.test(word) ? parseInt(word.replace(/^0[xX]/, ''), 16) : undefined) : parseCNumber(word);
    if (value === undefined) break;
    if (value > 0xff) throw new UsageError(`error parsing byte: ${word}`);
    out.push(value);
    words.next('a byte');
  }
  if (out.length === 0) throw new UsageError(`expected bytes after '${keyword}'`);
  return Uint8Array.from(out);
}

/** bpftool's check once the map's sizes are known: `key expected 4 bytes got 3`. */
export function checkByteCount(keyword: string, bytes: Uint8Array, n: number): void {
  if (bytes.length !== n) throw new UsageError(`${keyword} expected ${n} bytes got ${bytes.length}`);
}
