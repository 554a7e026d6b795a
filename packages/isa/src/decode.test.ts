import { describe, expect, it } from 'vitest';
import { decodeProgram } from './decode.js';
import { encodeProgram, fromHex, toHex } from './encode.js';
import { IsaError } from './errors.js';
import { Exit, LdImm64, Mov, R0, R1, program } from './builder.js';

describe('decodeProgram', () => {
  it('decodes LD imm64 as one instruction spanning two slots', () => {
    const bytes = encodeProgram(program(LdImm64.value(R0, 0x1122334455667788n), Exit()));
    const insns = decodeProgram(bytes);
    expect(insns).toHaveLength(2);
    expect(insns[0]?.form.id).toBe('ld.imm64.imm');
    expect((insns[0]?.imm ?? 0) >>> 0).toBe(0x55667788);
    expect(insns[0]?.imm2).toBe(0x11223344);
    expect(insns[1]?.slot).toBe(2);
  });

  it('decodes big-endian bytecode (bpfeb register nibbles and field order)', () => {
    const little = encodeProgram(program(Mov.imm(R1, -2), Exit()));
    const big = encodeProgram(program(Mov.imm(R1, -2), Exit()), 'big');
    expect(toHex(big.subarray(0, 8))).toBe('b710' + '0000' + 'fffffffe');
    expect(decodeProgram(big, { endian: 'big' }).map((i) => [i.code, i.dst, i.imm])).toEqual(decodeProgram(little).map((i) => [i.code, i.dst, i.imm]));
  });

  it('rejects an invalid opcode, naming the slot and field', () => {
    expect(() => decodeProgram(fromHex('b700000000000000 ff00000000000000'))).toThrow(/invalid opcode \(insn 1, field opcode, value 0xff\)/);
  });

  it('rejects a non-zero reserved field', () => {
    // mov r0, 1 with src = 3: the K form reserves src.
    expect(() => decodeProgram(fromHex('b730000001000000'))).toThrow(/reserved field is not zero \(insn 0, field src/);
  });

  it('rejects a truncated LD imm64 and a bad second slot', () => {
    expect(() => decodeProgram(fromHex('1800000001000000'))).toThrow(/truncated LD imm64 \(insn 0, field imm2\)/);
    expect(() => decodeProgram(fromHex('1800000001000000 0100000000000000'))).toThrow(/invalid second slot of LD imm64 \(insn 1, field opcode/);
  });

  it('rejects a discriminant value no form accepts, and a length that is not a multiple of 8', () => {
    expect(() => decodeProgram(fromHex('bf12020000000000'))).toThrow(/invalid off for opcode 0xbf \(insn 0, field off, value 0x2\)/);
    expect(() => decodeProgram(fromHex('d400000011000000'))).toThrow(/invalid imm/);
    expect(() => decodeProgram(new Uint8Array(12))).toThrow(IsaError);
  });

  it('rejects registers above r10', () => {
    expect(() => decodeProgram(fromHex('b70b000000000000'))).toThrow(/invalid register \(insn 0, field dst, value r11\)/);
  });
});
