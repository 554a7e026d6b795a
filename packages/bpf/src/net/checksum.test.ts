/**
 * Known answers for the checksum arithmetic: RFC 1071's example and a reference one's complement sum computed
 * here independently (16-bit big-endian words, end-around carry), and the ±0 cases where Linux's 32-bit
 * arithmetic decides.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csumAdd, csumFold, csumFrom32to16, csumPartial, csumReplace2, csumReplace4, csumReplaceByDiff, csumSub } from './checksum.js';

/** RFC 1071 §4.1: the one's complement sum of big-endian 16-bit words, folded (not complemented). */
function rfc1071Sum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] ?? 0) * 256 + (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >>> 8);

describe('csum_partial', () => {
  it('RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2', () => {
    const bytes = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(rfc1071Sum(bytes)).toBe(0xddf2);
    // Little-endian words sum to the byte-swapped value (RFC 1071 §2(B)).
    expect(csumFrom32to16(csumPartial(viewOf(bytes), 0, bytes.length, 0))).toBe(0xf2dd);
  });

  it('an IPv4 header checksums to zero once its checksum field is filled in', () => {
    const header = Uint8Array.from([0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7]);
    const check = ~rfc1071Sum(header) & 0xffff;
    expect(check).toBe(0xb861);
    expect(csumFold(csumPartial(viewOf(header), 0, header.length, 0))).toBe(swap16(check));
    header[10] = check >>> 8;
    header[11] = check & 0xff;
    expect(csumFold(csumPartial(viewOf(header), 0, header.length, 0))).toBe(0);
  });

  it('folds to the RFC 1071 sum for any even-length buffer and any odd tail', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => {
        const folded = csumFrom32to16(csumPartial(viewOf(bytes), 0, bytes.length, 0));
        // Equal as one's complement numbers: 0 and 0xffff are the same value.
        expect(folded % 0xffff).toBe(swap16(rfc1071Sum(bytes)) % 0xffff);
      }),
    );
  });

  it('carries out of the 64-bit accumulator come back in at the bottom (x86 adcq, add32_with_carry)', () => {
    const words = new Uint8Array(16).fill(0xff);
    // 2^32-1 four times plus 1: 0x1_ffff_ffff_ffff_ffff wraps to 0xffff_ffff_ffff_ffff + 1 ... folded to 0xffffffff + carry.
    expect(csumPartial(viewOf(words), 0, 16, 1)).toBe(1);
    const diff = new Uint8Array(8);
    viewOf(diff).setUint32(0, 0xfffffeff, true);
    expect(csumPartial(viewOf(diff), 0, 8, 0xffff0100)).toBe(0xffff0000);
  });
});

describe('csum_add, csum_sub and the replace helpers', () => {
  it('csum_add and csum_sub carry end-around in 32 bits', () => {
    expect(csumAdd(0xffff0100, 0xfffffeff)).toBe(0xffff0000);
    expect(csumAdd(0xffffffff, 1)).toBe(1);
    expect(csumSub(5, 5)).toBe(0xffffffff);
  });

  it('csum_replace4 equals recomputing the checksum with the new word (Linux 6.18 answers 0x908f)', () => {
    expect(csumReplace4(0x1918, 0x44332211, 0x88776655)).toBe(0x908f);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.nat(4), fc.integer({ min: 0, max: 0xffffffff }), (bytes, word, to) => {
        const view = viewOf(bytes);
        const sum = csumFold(csumPartial(view, 0, 20, 0));
        const from = view.getUint32(word * 4, true);
        view.setUint32(word * 4, to, true);
        expect(csumReplace4(sum, from, to) % 0xffff).toBe(csumFold(csumPartial(view, 0, 20, 0)) % 0xffff);
      }),
    );
  });

  it('csum_replace2 and csum_replace_by_diff', () => {
    // 16-bit: field 0x1234 -> 0x5678 in a checksum 0x1918 (Linux 6.18: 0xd4d3).
    expect(csumReplace2(0x1918, 0x1234, 0x5678)).toBe(0xd4d3);
    // by diff: a diff of 0x5678 (from 0) on 0x1918 (Linux 6.18: 0xc29f).
    expect(csumReplaceByDiff(0x1918, 0x5678)).toBe(0xc29f);
  });
});
