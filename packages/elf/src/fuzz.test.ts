import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ElfError, programSections, readElf } from './index.js';

const GOOD = new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'maps.bpfeb.o')));

/** Read everything the API offers; any failure must be an ElfError. */
function readAll(bytes: Uint8Array): void {
  try {
    const obj = readElf(bytes);
    for (const s of obj.sections) obj.relocations(s);
    programSections(obj);
  } catch (error) {
    expect(error).toBeInstanceOf(ElfError);
  }
}

describe('readElf on corrupted objects', () => {
  it('either reads or throws ElfError, whatever bytes are changed', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: GOOD.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const copy = GOOD.slice();
        for (const [at, value] of edits) copy[at] = value;
        readAll(copy);
      }),
      { numRuns: 2000 },
    );
  });

  it('either reads or throws ElfError for every truncation', () => {
    for (let n = 0; n < GOOD.length; n += 7) readAll(GOOD.subarray(0, n));
  });
});
