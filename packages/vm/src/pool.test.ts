import { describe, expect, it } from 'vitest';
import { allocWords, freePoolWords, freeWords, ownedBlock, POOL, POOL_WORDS, PoolExhaustedError } from './pool.js';

describe('word pool', () => {
  it('hands out disjoint zeroed blocks and takes them back, coalescing neighbours', () => {
    const before = freePoolWords();
    const a = allocWords(10);
    const b = allocWords(3);
    const c = allocWords(8);
    // Blocks round up to 4 words and do not overlap.
    expect(b).toBeGreaterThanOrEqual(a + 12);
    expect(c).toBeGreaterThanOrEqual(b + 4);
    POOL.fill(7, a, a + 10);
    expect(freePoolWords()).toBe(before - 12 - 4 - 8);
    freeWords(b, 3);
    freeWords(a, 10);
    freeWords(c, 8);
    expect(freePoolWords()).toBe(before);
    // A block handed out again is zeroed.
    const again = allocWords(10);
    expect(Array.from(POOL.subarray(again, again + 10))).toEqual(new Array<number>(10).fill(0));
    freeWords(again, 10);
  });

  it('rejects freeing a block twice instead of corrupting the free list', () => {
    const a = allocWords(4);
    freeWords(a, 4);
    expect(() => freeWords(a, 4)).toThrow(/already free/);
  });

  it('reports exhaustion as an error, and bad sizes as RangeError', () => {
    expect(() => allocWords(POOL_WORDS)).toThrow(PoolExhaustedError);
    expect(() => allocWords(0)).toThrow(RangeError);
    expect(() => allocWords(1.5)).toThrow(RangeError);
  });

  it('gives an owner a view of its block', () => {
    const { base, view } = ownedBlock(32);
    view[5] = 42;
    expect(POOL[base + 5]).toBe(42);
    expect(view.length).toBe(32);
  });
});
