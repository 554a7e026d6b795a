import { describe, expect, it } from 'vitest';
import { ContextWriter, readU64 } from './context-writer.js';

describe('ContextWriter.u64', () => {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  const w = new ContextWriter(view, bytes);
  const stored = (value: number): bigint => {
    bytes.fill(0xaa);
    w.u64(0, value);
    return view.getBigUint64(0, true);
  };

  it('stores every exact JS integer as its 64-bit two’s complement, on the 32-bit fast paths and off them', () => {
    for (const value of [0, 1, 0x7fffffff, 0xffffffff, 0x1_0000_0000, 2 ** 53 - 1, -1, -2, -0x80000000, -0x80000001, -(2 ** 32), -(2 ** 53 - 1)]) {
      expect(stored(value), String(value)).toBe(BigInt.asUintN(64, BigInt(value)));
    }
  });

  it('wraps values past 64 bits modulo 2^64, and reads back what it wrote below 2^53', () => {
    expect(stored(2 ** 64 + 2 ** 33)).toBe(1n << 33n);
    for (const value of [5, 0xffffffff, 2 ** 40 + 3, -7, -(2 ** 40)]) {
      w.u64(8, value);
      expect(readU64(view, 8, value < 0)).toBe(value);
    }
  });
});
