import { describe, expect, it } from 'vitest';
import { assembleLlvm, assembleLlvmSections } from './asm-llvm.js';
import { encodeProgram, toHex } from './encode.js';
import { AsmError } from './errors.js';

const hex = (text: string) => toHex(encodeProgram(assembleLlvm(text)));
const error = (text: string): AsmError => {
  try {
    assembleLlvm(text);
  } catch (e) {
    if (e instanceof AsmError) return e;
    throw e;
  }
  throw new Error('no error');
};

describe('assembleLlvm', () => {
  it('assembles the syntax llvm-objdump prints', () => {
    expect(hex('r1 = 0x5')).toBe('b701000005000000');
    expect(hex('w1 s%= 0x7')).toBe('9401010007000000');
    expect(hex('w1 = (s16)w2')).toBe('bc21100000000000');
    expect(hex('r2 = *(s8 *)(r1 + 0x0)')).toBe('9112000000000000');
    expect(hex('lock *(u64 *)(r0 + 0x0) += r1')).toBe('db10000000000000');
    expect(hex('r1 = 0x0 ll')).toBe('1801000000000000' + '0000000000000000');
    expect(hex('call 0x1')).toBe('8500000001000000');
    expect(hex('if r3 > r2 goto +0xa')).toBe('2d230a0000000000');
    expect(hex('r0 = *(u32 *)skb[-0x7]')).toBe('20000000f9ffffff');
    expect(hex('ld_pseudo\tr1, 0x2, 0x7')).toBe('1821000007000000' + '0000000000000000');
    expect(hex('w0 = cmpxchg32_32(r1 - 0x8, w0, w2)')).toBe('c321f8fff1000000');
    expect(hex('r2 = xchg_64(r1 - 0x8, r2)')).toBe('db21f8ffe1000000');
    expect(hex('r1 = bswap32 r1')).toBe('d701000020000000');
    expect(hex('*(u32 *)(r10 - 0x4) = w1')).toBe('631afcff00000000');
  });

  it('accepts both register spellings of sub-word loads and stores and 32-bit atomic add', () => {
    expect(hex('r1 = *(u8 *)(r2 - 0x8)')).toBe(hex('w1 = *(u8 *)(r2 - 0x8)'));
    expect(hex('lock *(u32 *)(r1 - 0x8) += r2')).toBe(hex('lock *(u32 *)(r1 - 0x8) += w2'));
  });

  it('resolves labels for jumps, gotol and local calls, with comments and directives', () => {
    const text = [
      '\t.text',
      '\t.globl prog',
      'prog:',
      '\tr0 = 0 # zero',
      'again: if r0 > 3 goto out',
      '\tr0 += 1',
      '\tgoto again',
      'out:',
      '\tcall helper_fn',
      '\tgotol prog',
      '\texit',
      'helper_fn: exit',
    ].join('\n');
    expect(hex(text)).toBe(
      [
        'b700000000000000',
        '2500020003000000',
        '0700000001000000',
        '0500fdff00000000',
        '8510000002000000',
        '06000000faffffff',
        '9500000000000000',
        '9500000000000000',
      ].join(''),
    );
  });

  it('reads a whole objdump listing, ignoring the byte column and jump annotations', () => {
    const listing = [
      '',
      'x.o:\tfile format elf64-bpf',
      '',
      'Disassembly of section xdp:',
      '',
      '0000000000000000 <prog>:',
      '       0:\tb7 00 00 00 02 00 00 00\tr0 = 0x2',
      '       1:\t05 00 00 00 00 00 00 00\tgoto -0x2 <prog>',
      '',
      'Disassembly of section tc:',
      '',
      '0000000000000000 <other>:',
      '       0:\t95 00 00 00 00 00 00 00\texit',
      '',
    ].join('\n');
    const sections = assembleLlvmSections(listing);
    expect(sections.map((s) => [s.name, toHex(encodeProgram(s.insns))])).toEqual([
      ['xdp', 'b700000002000000' + '0500feff00000000'],
      ['tc', '9500000000000000'],
    ]);
    expect(() => assembleLlvm(listing)).toThrow(/holds 2 sections/);
  });

  it('reports errors with line and column', () => {
    expect(error('r0 = 1\nr1 +== 2').message).toBe("2:6: expected a register or an immediate, found '='");
    expect(error('r1 < 2').message).toBe("1:4: unknown operator '<'");
    expect(error('  r11 = 1').message).toBe("1:3: invalid register 'r11': registers are r0..r10");
    expect(error('r1 = 0x100000000').message).toBe("1:6: immediate 4294967296 does not fit in 32 bits (add 'll' for a 64-bit constant)");
    expect(error('goto nowhere').message).toBe("1:6: unknown label 'nowhere'");
    expect(error('x:\nx: exit').message).toBe("2:1: duplicate label 'x' (first defined at line 1)");
    expect(error('w1 += r2').message).toBe("1:7: expected a w register, found 'r2'");
    expect(error('r1 = *(u128 *)(r2 + 0)').message).toBe("1:8: expected a size (u8, u16, u32, u64, s8, s16, s32), found 'u128'");
    expect(error('frobnicate r1').message).toBe("1:1: unknown instruction 'frobnicate'");
    expect(error('exit now').message).toBe("1:6: unexpected 'now' after the instruction");
    expect(error('r0 = *(u64 *)(r10 - 0x8000 )\nr0 = *(u64 *)(r10 - 0x8001)').message).toBe('2:21: offset -32769 does not fit in 16 bits');
    expect(error('       4:\tc3 21 f8 ff 40 00 00 00\t<unknown>').message).toMatch(/^1:35: llvm-objdump could not decode/);
    expect(error('r1 = @').message).toBe("1:6: unexpected character '@'");
  });
});
