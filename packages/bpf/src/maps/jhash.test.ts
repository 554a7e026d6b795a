import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jhash, jhash2 } from './jhash.js';

describe('jhash and jhash2', () => {
  it('agree on every key of whole words, as htab_map_hash relies on (jhash2 gives the same 32 bits, signed)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 9 }), fc.integer({ min: 0, max: 0xffffffff }), (words, seed) => {
        const key = Uint32Array.from(words);
        const bytes = new Uint8Array(key.buffer);
        expect(jhash2(key, 0, words.length, seed) >>> 0).toBe(jhash(bytes, 0, bytes.length, seed));
      }),
    );
  });

  it('reads a key in place at a word index', () => {
    const memory = Uint32Array.of(7, 0xdeadbeef, 42, 9);
    expect(jhash2(memory, 1, 2, 5)).toBe(jhash2(Uint32Array.of(0xdeadbeef, 42), 0, 2, 5));
  });
});
