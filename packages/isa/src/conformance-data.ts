/**
 * Parser of bpf_conformance `.data` test files, following /work/shared/conformance/README.md section 1
 * exactly (the upstream runner's line reader): `\r` stripped, `#` comments removed everywhere, any line still
 * holding `--` is a section header picked by substring search in a fixed order, empty lines skipped, text
 * before the first header ignored.
 */

export interface ConformanceData {
  /** The asm section as the assembler sees it (lines joined, `\n`-terminated), or null. */
  readonly asm: string | null;
  /** For each line of `asm`, its 1-based line number in the file (to report assembler errors in place). */
  readonly asmLineNumbers: readonly number[];
  /** The raw section: each 64-bit token is one slot, stored little-endian; null without a raw section. */
  readonly raw: readonly bigint[] | null;
  /** The raw section's tokens as written, joined by single spaces (tests.json's `raw`), or null. */
  readonly rawText: string | null;
  /** Input memory (`-- mem`), empty when absent. */
  readonly mem: Uint8Array;
  /** Expected r0 as an unsigned 64-bit value, or null without a result section. */
  readonly result: bigint | null;
  /** Expected error message, verbatim, or null. */
  readonly error: string | null;
  /** Why the upstream runner would skip the file, or null when it runs. */
  readonly skip: string | null;
  /** Sections seen, in order (`asm`, `result`, `mem`, `raw`, `error`, `ignored`). */
  readonly sections: readonly string[];
}

type SectionName = 'asm' | 'result' | 'mem' | 'raw' | 'ignored' | 'error';

/** Header substrings in upstream's search order; the first match wins. */
const HEADER_MATCHES: ReadonlyArray<[string, SectionName]> = [
  ['asm', 'asm'],
  ['result', 'result'],
  ['mem', 'mem'],
  ['raw', 'raw'],
  ['no register offset', 'ignored'],
  [' c', 'ignored'],
  ['error', 'error'],
];

/** C's strtoull prefix parse in a base (a leading minus wraps modulo 2^64); 0 when there is no digit. */
function prefixNumber(text: string, hex: boolean): bigint {
  const m = hex ? /^\s*([+-]?)(?:0[xX])?([0-9a-fA-F]+)/.exec(text) : /^\s*([+-]?)(\d+)/.exec(text);
  if (!m) return 0n;
  const magnitude = BigInt(hex ? `0x${m[2] ?? '0'}` : (m[2] ?? '0'));
  return BigInt.asUintN(64, m[1] === '-' ? -magnitude : magnitude);
}

/** Parse the text of one `.data` file (decode the file as latin1: comments may hold byte 0x7f). */
export function parseConformanceData(text: string): ConformanceData {
  const collected: Record<SectionName, string[]> = { asm: [], result: [], mem: [], raw: [], ignored: [], error: [] };
  const asmLineNumbers: number[] = [];
  const sections: string[] = [];
  let current: SectionName | null = null;
  let unknownDirective: string | null = null;
  for (const [index, rawLine] of text.split('\n').entries()) {
    let line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    if (line.includes('--')) {
      const match = HEADER_MATCHES.find(([needle]) => line.includes(needle));
      if (!match) {
        unknownDirective ??= line;
        current = null;
        continue;
      }
      current = match[1];
      sections.push(current);
      continue;
    }
    if (line === '' || current === null) continue;
    collected[current].push(line);
    if (current === 'asm') asmLineNumbers.push(index + 1);
  }
  const has = (name: SectionName) => sections.includes(name);

  const asm = has('asm') ? collected.asm.map((l) => `${l}\n`).join('') : null;
  const rawTokens = has('raw') ? collected.raw.flatMap((l) => l.split(/\s+/).filter((t) => t !== '')) : null;
  const raw = rawTokens?.map((t) => BigInt.asUintN(64, t.includes('0x') ? prefixNumber(t, true) : prefixNumber(t, false))) ?? null;

  const memBytes: number[] = [];
  for (const token of collected.mem.flatMap((l) => l.split(/\s+/).filter((t) => t !== ''))) {
    if (!/^(0[xX])?[0-9a-fA-F]+$/.test(token)) break;
    memBytes.push(Number(prefixNumber(token, true) & 0xffn));
  }
  const lastResult = collected.result.at(-1);
  const result = lastResult === undefined ? null : BigInt.asUintN(64, prefixNumber(lastResult, lastResult.includes('0x')));
  const error = collected.error.at(-1) ?? null;

  let skip: string | null = null;
  if (unknownDirective !== null) skip = `Unknown directive: ${unknownDirective.trim()}`;
  else if (result === null && error === null) skip = 'No result or error in test file';
  else if ((raw === null || raw.length === 0) && (asm === null || asm === '')) skip = 'No instructions in test file';

  return {
    asm,
    asmLineNumbers,
    raw,
    rawText: rawTokens?.join(' ') ?? null,
    mem: Uint8Array.from(memBytes),
    result: result ?? (error !== null ? 0n : null),
    error,
    skip,
    sections,
  };
}

/** The program bytes of a parsed test: the raw section when present (it wins over asm), else null. */
export function rawProgramBytes(data: ConformanceData): Uint8Array | null {
  if (data.raw === null) return null;
  const bytes = new Uint8Array(data.raw.length * 8);
  const view = new DataView(bytes.buffer);
  data.raw.forEach((word, i) => view.setBigUint64(i * 8, word, true));
  return bytes;
}
