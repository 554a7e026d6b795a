/** Scalar ALU: constants, tnums and bounds after each operation, division and shift rules. */
import { BPF_FUNC } from '@ebpf-sim/uapi';
import type { SelftestCase } from '../harness.js';
import { RET0, asm, pktCheck, BAD } from './snippets.js';

const { Add, And, Arsh, Div, Exit, JGt, Ldx, Lsh, Mod, Mov, MovSX, Mul, Neg, Or, Rsh, SDiv, Sub, Swap, Xor, LdImm64, program, R0, R1, R2, R5, R6 } = asm;

/** r6 = an unknown byte from the packet (after a 1-byte bounds check), then `ops`, then return 0. */
function onByte(...ops: ReturnType<typeof Mov.imm>[]) {
  return program(pktCheck(8), Ldx.b(R6, R2, 0), ...ops, Mov.imm(R0, 0), Exit(), BAD);
}

export const ALU: SelftestCase[] = [
  { name: 'mov imm', insns: program(Mov.imm(R0, 7), Exit()), result: 'accept', log: 'R0=7' },
  { name: 'mov imm negative is sign-extended', insns: program(Mov.imm(R0, -1), Exit()), result: 'accept', log: 'R0=-1' },
  { name: 'mov32 imm negative is zero-extended', insns: program(Mov.imm32(R0, -1), Exit()), result: 'accept', log: 'R0=0xffffffff' },
  { name: 'add constants', insns: program(Mov.imm(R0, 40), Add.imm(R0, 2), Exit()), result: 'accept', log: 'R0=42' },
  { name: 'sub to negative', insns: program(Mov.imm(R0, 1), Sub.imm(R0, 3), Exit()), result: 'accept', log: 'R0=-2' },
  { name: 'mul constants', insns: program(Mov.imm(R0, 6), Mul.imm(R0, 7), Exit()), result: 'accept', log: 'R0=42' },
  { name: 'xor self', insns: program(Mov.imm(R0, 5), Xor.reg(R0, R0), Exit()), result: 'accept', log: 'R0=0' },
  { name: 'lsh constant', insns: program(Mov.imm(R0, 1), Lsh.imm(R0, 40), Exit()), result: 'accept', log: 'R0=0x10000000000' },
  { name: 'rsh constant', insns: program(Mov.imm(R0, 256), Rsh.imm(R0, 4), Exit()), result: 'accept', log: 'R0=16' },
  { name: 'arsh negative constant', insns: program(Mov.imm(R0, -16), Arsh.imm(R0, 2), Exit()), result: 'accept', log: 'R0=-4' },
  { name: 'neg constant', insns: program(Mov.imm(R0, 5), Neg.r64(R0), Exit()), result: 'accept', log: 'R0=-5' },
  { name: '32-bit add wraps', insns: program(Mov.imm32(R0, -1), Add.imm32(R0, 2), Exit()), result: 'accept', log: 'R0=1' },
  { name: 'be16 of a constant', insns: program(Mov.imm(R0, 0x1234), Swap.be(R0, 16), Exit()), result: 'accept', log: 'R0=13330' },
  { name: 'le16 truncates', insns: program(Mov.imm(R0, 0x12345), Swap.le(R0, 16), Exit()), result: 'accept', log: 'R0=9029' },
  { name: 'movsx8 of 0x80', insns: program(Mov.imm(R1, 0x80), MovSX.reg(R0, R1, 8), Exit()), result: 'accept', log: 'R0=-128' },
  { name: 'ld_imm64 then add', insns: program(LdImm64.value(R0, 0x100000000n), Add.imm(R0, 1), Exit()), result: 'accept', log: 'R0=0x100000001' },
  { name: 'unknown byte bounds', insns: onByte(), result: 'accept', log: 'R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))' },
  { name: 'byte and 0xf', insns: onByte(And.imm(R6, 0xf)), result: 'accept', log: 'R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=15,var_off=(0x0; 0xf))' },
  {
    name: 'byte or 0x100',
    insns: onByte(Or.imm(R6, 0x100)),
    result: 'accept',
    log: 'R6=scalar(smin=umin=smin32=umin32=256,smax=umax=smax32=umax32=511,var_off=(0x100; 0xff))',
  },
  { name: 'byte lsh 8', insns: onByte(Lsh.imm(R6, 8)), result: 'accept', log: 'R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=0xff00,var_off=(0x0; 0xff00))' },
  { name: 'byte rsh 4', insns: onByte(Rsh.imm(R6, 4)), result: 'accept', log: 'R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=15,var_off=(0x0; 0xf))' },
  {
    name: 'byte add 10',
    insns: onByte(Add.imm(R6, 10)),
    result: 'accept',
    log: 'R6=scalar(smin=umin=smin32=umin32=10,smax=umax=smax32=umax32=265,var_off=(0x0; 0x1ff))',
  },
  { name: 'byte sub 10 goes negative', insns: onByte(Sub.imm(R6, 10)), result: 'accept', log: 'R6=scalar(smin=smin32=-10,smax=smax32=245)' },
  { name: 'byte mul 4', insns: onByte(Mul.imm(R6, 4)), result: 'accept', log: 'R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=1020,var_off=(0x0; 0x3fc))' },
  {
    name: 'byte xor 0xff',
    insns: onByte(Xor.imm(R6, 0xff)),
    result: 'accept',
    log: 'R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))',
  },
  { name: 'byte neg', insns: onByte(Neg.r64(R6)), result: 'accept' },
  { name: 'byte div is unknown', insns: onByte(Div.imm(R6, 3)), result: 'accept', log: '; R6=scalar()' },
  { name: 'byte mod by register', insns: onByte(Mov.imm(R5, 7), Mod.reg(R6, R5)), result: 'accept' },
  { name: 'byte be16', insns: onByte(Swap.be(R6, 16)), result: 'accept' },
  {
    name: 'word load bounds',
    insns: program(pktCheck(8), Ldx.w(R6, R2, 0), RET0, BAD),
    result: 'accept',
    log: 'R6=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))',
  },
  {
    name: 'half load bounds',
    insns: program(pktCheck(8), Ldx.h(R6, R2, 0), RET0, BAD),
    result: 'accept',
    log: 'R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=0xffff,var_off=(0x0; 0xffff))',
  },
  { name: 'dword load is unknown', insns: program(pktCheck(8), Ldx.dw(R6, R2, 0), RET0, BAD), result: 'accept', log: 'R6=scalar()' },
  {
    name: 'sign-extending byte load',
    insns: program(pktCheck(8), asm.LdxSX.b(R6, R2, 0), RET0, BAD),
    result: 'accept',
    log: 'R6=scalar(smin=smin32=-128,smax=smax32=127)',
  },
  {
    name: 'mov32 keeps the 32-bit value',
    insns: onByte(Mov.reg32(R5, R6)),
    result: 'accept',
    log: 'R5=scalar(id=1,smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))',
  },
  {
    name: 'mov64 links the copies with an id',
    insns: onByte(Mov.reg(R5, R6)),
    result: 'accept',
    log: 'R5=scalar(id=1,smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)) R6=scalar(id=1,',
  },
  { name: 'div by constant zero', insns: program(Mov.imm(R0, 1), Div.imm(R0, 0), Exit()), result: 'reject', log: 'div by zero', errno: 22 },
  { name: 'mod by constant zero', insns: program(Mov.imm(R0, 1), Mod.imm(R0, 0), Exit()), result: 'reject', log: 'div by zero' },
  { name: 'sdiv by constant zero', insns: program(Mov.imm(R0, 1), SDiv.imm(R0, 0), Exit()), result: 'reject', log: 'div by zero' },
  { name: 'div by register that may be zero is allowed', insns: program(Mov.imm(R0, 1), Mov.imm(R1, 0), Div.reg(R0, R1), Exit()), result: 'accept' },
  { name: 'shift by 64', insns: program(Mov.imm(R0, 1), Lsh.imm(R0, 64), Exit()), result: 'reject', log: 'invalid shift 64', errno: 22 },
  { name: 'shift32 by 32', insns: program(Mov.imm(R0, 1), Lsh.imm32(R0, 32), Exit()), result: 'reject', log: 'invalid shift 32' },
  { name: 'shift by negative', insns: program(Mov.imm(R0, 1), Rsh.imm(R0, -1), Exit()), result: 'reject', log: 'invalid shift -1' },
  { name: 'arsh by 63 is fine', insns: program(Mov.imm(R0, -1), Arsh.imm(R0, 63), Exit()), result: 'accept', log: 'R0=-1' },
  { name: 'read of uninitialised r2', insns: program(Mov.reg(R0, R2), Exit()), result: 'reject', log: 'R2 !read_ok', errno: 13 },
  { name: 'add to uninitialised r5', insns: program(Add.imm(R5, 1), RET0), result: 'reject', log: 'R5 !read_ok' },
  { name: 'exit without setting r0', insns: program(Exit()), result: 'reject', log: 'R0 !read_ok' },
  {
    name: 'r1-r5 are clobbered by a helper call',
    insns: program(Mov.imm(R5, 1), asm.Call.helper(BPF_FUNC.ktime_get_ns), Mov.reg(R0, R5), Exit()),
    result: 'reject',
    log: 'R5 !read_ok',
  },
  { name: 'r6 survives a helper call', insns: program(Mov.imm(R6, 1), asm.Call.helper(BPF_FUNC.ktime_get_ns), Mov.reg(R0, R6), Exit()), result: 'accept' },
  {
    name: 'bounds refined: x < 16 then x * 8',
    insns: program(pktCheck(8), Ldx.b(R6, R2, 0), JGt.imm(R6, 15, 'bad'), Mul.imm(R6, 8), RET0, BAD),
    result: 'accept',
    log: 'R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=120,var_off=(0x0; 0x78))',
  },
];
