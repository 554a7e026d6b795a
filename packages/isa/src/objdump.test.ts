import { describe, expect, it } from 'vitest';
import { Exit, Gotol, Ja, Mov, R0, program } from './builder.js';
import { encodeProgram, fromHex } from './encode.js';
import { formatObjdump, formatObjdumpSection, type ObjdumpSymbol } from './objdump.js';

const NOTYPE = 0;
const OBJECT = 1;
const FUNC = 2;
const SECTION = 3;
const sym = (name: string, value: number, type = FUNC): ObjdumpSymbol => ({ name, value, type });

describe('objdump layout (llvm-objdump 19 symbol rules)', () => {
  const code = encodeProgram(program(Mov.imm(R0, 0), Ja(1), Exit(), Exit(), Ja(-3)));

  it('prints the file line, skips empty sections, and names a symbol-less section after itself', () => {
    const out = formatObjdump({
      path: 'dir/x.o',
      endian: 'little',
      sections: [
        { name: '.text', data: new Uint8Array(0), symbols: [] },
        { name: 'xdp', data: code, symbols: [sym('', 0, SECTION)] },
      ],
    });
    expect(out).toBe(
      [
        '',
        'dir/x.o:\tfile format elf64-bpf',
        '',
        'Disassembly of section xdp:',
        '',
        '0000000000000000 <xdp>:',
        '       0:\tb7 00 00 00 00 00 00 00\tr0 = 0x0',
        '       1:\t05 00 01 00 00 00 00 00\tgoto +0x1 <xdp+0x18>',
        '       2:\t95 00 00 00 00 00 00 00\texit',
        '       3:\t95 00 00 00 00 00 00 00\texit',
        '       4:\t05 00 fd ff 00 00 00 00\tgoto -0x3 <xdp+0x10>',
        '',
      ].join('\n'),
    );
  });

  it('shows the name that sorts last at an address, prefers code symbols on symbol lines, annotates with any', () => {
    const out = formatObjdumpSection(
      { name: '.text', data: code, symbols: [sym('beta', 0, NOTYPE), sym('zeta', 0), sym('alpha', 0), sym('gamma', 0x18, NOTYPE), sym('zdata', 0x18, OBJECT)] },
      'little',
    );
    expect(out).toContain('\n0000000000000000 <zeta>:\n');
    expect(out).toContain('\n0000000000000018 <gamma>:\n');
    expect(out).toContain('goto +0x1 <zdata>');
    expect(out).toContain('goto -0x3 <zeta+0x10>');
  });

  it('wraps jump targets below zero at 2^64 like objdump', () => {
    const out = formatObjdumpSection({ name: 's', data: encodeProgram(program(Gotol(-0x80000000))), symbols: [sym('f', 0)] }, 'little');
    expect(out).toContain('gotol -0x80000000 <f+0xfffffffc00000008>');
  });

  it('prints <unknown> for undecodable slots and for 32-bit atomics the generic decoder lacks', () => {
    const data = fromHex('ff00000000000000 c321f8ff40000000');
    const generic = formatObjdumpSection({ name: 's', data, symbols: [] }, 'little');
    expect(generic).toContain('       0:\tff 00 00 00 00 00 00 00\t<unknown>\n');
    expect(generic).toContain('       1:\tc3 21 f8 ff 40 00 00 00\t<unknown>\n');
    expect(formatObjdumpSection({ name: 's', data, symbols: [] }, 'little', { dialect: 'alu32' })).toContain('lock *(u32 *)(r1 - 0x8) |= w2');
  });

  it('dumps the bytes after a data-only symbol as hex and text, as objdump does', () => {
    const data = new Uint8Array([...encodeProgram(program(Exit())), ...new TextEncoder().encode('Hello, BPF!'), 0x7f]);
    expect(formatObjdumpSection({ name: 's', data, symbols: [sym('f', 0), sym('table', 8, OBJECT)] }, 'little')).toBe(
      [
        '',
        '0000000000000000 <f>:',
        '       0:\t95 00 00 00 00 00 00 00\texit',
        '',
        '0000000000000008 <table>:',
        '       8: 48 65 6c 6c 6f 2c 20 42         Hello, B',
        '      10: 50 46 21 7f' + ' '.repeat(3 * 4 + 9) + 'PF!.',
        '',
      ].join('\n'),
    );
  });

  it('skips 8 or more zero bytes as "...", and prints a short tail byte by byte', () => {
    const data = fromHex('b700000000000000 0000000000000000 0000000000000000 9500000000000000 b7000000');
    expect(formatObjdumpSection({ name: 's', data, symbols: [] }, 'little')).toBe(
      [
        '',
        '0000000000000000 <s>:',
        '       0:\tb7 00 00 00 00 00 00 00\tr0 = 0x0',
        '\t\t...',
        '       3:\t95 00 00 00 00 00 00 00\texit',
        '       4:\tb7\t<unknown>',
        '       4:\t00\t<unknown>',
        '       4:\t00\t<unknown>',
        '       4:\t00\t<unknown>',
        '',
      ].join('\n'),
    );
  });
});
