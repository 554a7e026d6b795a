/**
 * Fuzz of parseBtf and what reads its result: real blobs (clang-19 objects' BTF under libbpf's rules, the kernel's
 * copy of one under the kernel's), truncated and bit-flipped. parseBtf answers each with a Btf or a BtfError that names
 * a byte offset inside the blob, never another exception; a Btf it accepts dumps raw without throwing, as C with at
 * most a BtfDumpError, and formats a value of each type with at most a BtfValueError. Nothing loops unbounded: a hang
 * fails the test by its timeout.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapsKernelBtf, objectBtf } from '../fixtures/dump/fixtures.js';
import { BtfDumpError, BtfError, BtfValueError, dumpBtfC, dumpBtfRaw, formatBtfValue, parseBtf } from './index.js';
import type { Btf, BtfRules } from './index.js';

/** Values larger than this are not formatted in the fuzz (a flipped size bit can claim gigabytes). */
const MAX_FUZZ_VALUE = 1 << 12;

function useEverything(btf: Btf): void {
  expect(typeof dumpBtfRaw(btf)).toBe('string');
  try {
    dumpBtfC(btf);
  } catch (e) {
    if (!(e instanceof BtfDumpError)) throw e;
  }
  for (let id = 1; id < btf.types.length; id++) {
    const size = btf.sizeOf(id) ?? 0;
    if (size > MAX_FUZZ_VALUE) continue;
    const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 37 + id) & 0xff);
    for (const form of ['plain', 'json'] as const)
      try {
        formatBtfValue(btf, id, bytes, form);
      } catch (e) {
        if (!(e instanceof BtfValueError)) throw e;
      }
  }
}

const corpus: readonly { name: string; bytes: Uint8Array; rules: BtfRules }[] = [
  { name: 'types.o', bytes: objectBtf('types'), rules: 'libbpf' },
  { name: 'maps.o', bytes: objectBtf('maps'), rules: 'libbpf' },
  { name: 'externs.o', bytes: objectBtf('externs'), rules: 'libbpf' },
  { name: "maps.o's kernel copy", bytes: mapsKernelBtf(), rules: 'kernel' },
];

describe('parseBtf fuzz', () => {
  for (const { name, bytes: base, rules } of corpus) {
    it(`${name} (${rules} rules), unharmed, parses and is used whole`, () => {
      useEverything(parseBtf(base, { rules }));
    });

    it(`${name} (${rules} rules) truncated anywhere gives a BtfError at an offset inside it`, () => {
      for (let cut = 0; cut < base.length; cut++) {
        const bytes = base.slice(0, cut);
        try {
          parseBtf(bytes, { rules });
          throw new Error(`a blob cut to ${cut} of ${base.length} bytes parsed`);
        } catch (e) {
          if (!(e instanceof BtfError)) throw e;
          expect(e.offset).toBeGreaterThanOrEqual(0);
          expect(e.offset).toBeLessThanOrEqual(cut);
        }
      }
    });

    it(`${name} (${rules} rules) bit-flipped and cut: a Btf that can be used, or a BtfError with an offset`, () => {
      const outcomes = { parsed: 0, refused: 0 };
      fc.assert(
        fc.property(
          fc.array(fc.nat(base.length * 8 - 1), { minLength: 1, maxLength: 6 }),
          fc.option(fc.nat(base.length - 1), { nil: undefined }),
          (flips, cut) => {
            const bytes = base.slice(0, cut ?? base.length);
            for (const bit of flips) if (bit >> 3 < bytes.length) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) ^ (1 << (bit & 7));
            let btf: Btf;
            try {
              btf = parseBtf(bytes, { rules });
            } catch (e) {
              if (!(e instanceof BtfError)) throw e;
              expect(e.offset).toBeGreaterThanOrEqual(0);
              expect(e.offset).toBeLessThanOrEqual(bytes.length);
              expect(e.message).toMatch(/^bad BTF at byte offset \d+/);
              outcomes.refused++;
              return;
            }
            useEverything(btf);
            outcomes.parsed++;
          },
        ),
        { numRuns: 300, seed: 13 },
      );
      // Both paths were taken: corrupt blobs that still parse were dumped and formatted.
      expect(outcomes.parsed).toBeGreaterThan(0);
      expect(outcomes.refused).toBeGreaterThan(0);
    });
  }
});
