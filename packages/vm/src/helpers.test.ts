import { describe, expect, it } from 'vitest';
import { helperResultWords } from './helpers.js';

/** The (lo, hi) words of a helper result, through the same Int32Array the engines read. */
const words = (value: bigint | number | undefined): [number, number] => {
  const out = new Int32Array(2);
  helperResultWords(value, out);
  return [out[0] ?? NaN, out[1] ?? NaN];
};

describe('helperResultWords', () => {
  it("splits numbers into two's-complement 64-bit words, on the fast path and off it", () => {
    expect(words(undefined)).toEqual([0, 0]);
    expect(words(0)).toEqual([0, 0]);
    expect(words(-0)).toEqual([0, 0]);
    expect(words(7)).toEqual([7, 0]);
    expect(words(0xffffffff)).toEqual([-1, 0]);
    expect(words(0x80000000)).toEqual([-0x80000000, 0]);
    expect(words(-1)).toEqual([-1, -1]);
    expect(words(-22)).toEqual([-22, -1]);
    expect(words(-0x80000000)).toEqual([-0x80000000, -1]);
    expect(words(-0x80000001)).toEqual([0x7fffffff, -1]);
    expect(words(-0x1_0000_0001)).toEqual([-1, -2]);
    expect(words(0x1_0000_0000)).toEqual([0, 1]);
    expect(words(Number.MAX_SAFE_INTEGER)).toEqual([-1, 0x1fffff]);
    expect(words(0xffff_ffff_ffff_ffffn)).toEqual([-1, -1]);
  });

  it('refuses a number that is not a safe integer', () => {
    expect(() => words(1.5)).toThrow(/not a safe integer/);
    expect(() => words(2 ** 60)).toThrow(/not a safe integer/);
  });
});
