/** Branches and loops: dead branches, refinement on each side, bounded loops, infinite loops, limits. */
import type { SelftestCase } from '../harness.js';
import { BAD, RET0, asm, pktCheck } from './snippets.js';

const { Add, Exit, Ja, JEq, JGe, JGt, JLt, JNe, JSet, JSGt, JSLt, Ldx, Mov, label, program, R0, R1, R2, R6 } = asm;

/** r6 = unknown byte, then a condition that jumps to `t`; the fall-through dereferences r0 = 0 if `bad`. */
const byte = [...pktCheck(8), Ldx.b(R6, R2, 0)];

export const JUMPS: SelftestCase[] = [
  {
    name: 'dead branch is never verified',
    insns: program(Mov.imm(R0, 0), JEq.imm(R0, 0, 'ok'), Ldx.dw(R0, R0, 0), label('ok'), Exit()),
    result: 'accept',
    log: 'processed 3 insns',
  },
  {
    name: 'always-taken jump skips bad code',
    insns: program(Mov.imm(R1, 5), JGt.imm(R1, 3, 'ok'), Ldx.dw(R0, R1, 0), label('ok'), Mov.imm(R0, 0), Exit()),
    result: 'accept',
  },
  {
    name: 'both branches verified',
    insns: program(byte, JEq.imm(R6, 7, 'x'), Mov.imm(R0, 1), Exit(), label('x'), Ldx.dw(R0, R6, 0), Exit(), BAD),
    result: 'reject',
    log: "R6 invalid mem access 'scalar'",
  },
  { name: 'jeq refines to a constant', insns: program(byte, JNe.imm(R6, 7, 'bad'), Mov.reg(R0, R6), Exit(), BAD), result: 'accept', log: 'R6=7' },
  {
    name: 'jgt refines the fall-through',
    insns: program(byte, JGt.imm(R6, 9, 'bad'), Mov.reg(R0, R6), Exit(), BAD),
    result: 'accept',
    log: 'R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=9,var_off=(0x0; 0xf))',
  },
  { name: 'jlt refines the target', insns: program(byte, JLt.imm(R6, 10, 'x'), RET0, label('x'), Mov.reg(R0, R6), Exit(), BAD), result: 'accept' },
  { name: 'jge refines the target', insns: program(byte, JGe.imm(R6, 200, 'x'), RET0, label('x'), Mov.reg(R0, R6), Exit(), BAD), result: 'accept' },
  {
    name: 'jset on a known-zero bit is never taken',
    insns: program(byte, JSet.imm(R6, 0x100, 'x'), RET0, label('x'), Ldx.dw(R0, R6, 0), Exit(), BAD),
    result: 'accept',
  },
  { name: 'signed compare of a byte', insns: program(byte, JSGt.imm(R6, -1, 'x'), Ldx.dw(R0, R6, 0), label('x'), RET0, BAD), result: 'accept' },
  {
    name: 'jslt 0 on an unsigned byte is dead',
    insns: program(byte, JSLt.imm(R6, 0, 'x'), RET0, label('x'), Ldx.dw(R0, R6, 0), Exit(), BAD),
    result: 'accept',
  },
  {
    name: 'jmp32 refines the subregister',
    insns: program(byte, asm.JGt.imm32(R6, 3, 'bad'), Mov.reg(R0, R6), Exit(), BAD),
    result: 'accept',
    log: 'R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=3,var_off=(0x0; 0x3))',
  },
  {
    name: 'bounded loop of 100 iterations',
    insns: program(Mov.imm(R0, 0), Mov.imm(R1, 0), label('l'), Add.imm(R0, 3), Add.imm(R1, 1), JLt.imm(R1, 100, 'l'), Exit()),
    result: 'accept',
    log: 'processed 303 insns',
  },
  {
    name: 'infinite loop',
    insns: program(Mov.imm(R0, 0), label('l'), JEq.imm(R0, 0, 'l'), Exit()),
    result: 'reject',
    log: 'infinite loop detected at insn 1',
    errno: 22,
  },
  {
    name: 'loop that never changes state',
    insns: program(Mov.imm(R0, 0), label('l'), Mov.imm(R1, 1), Ja('l')),
    result: 'reject',
    log: 'infinite loop detected at insn 1',
  },
  {
    name: 'loop that is too long',
    insns: program(Mov.imm(R0, 0), label('l'), Add.imm(R0, 1), JNe.imm(R0, 1_000_000, 'l'), Exit()),
    result: 'reject',
    log: 'BPF program is too large. Processed 1000001 insn',
    errno: 7,
  },
  {
    name: 'loop bounded by a packet byte',
    insns: program(byte, Mov.imm(R0, 0), label('l'), Add.imm(R0, 1), JLt.reg(R0, R6, 'l'), Exit(), BAD),
    result: 'accept',
  },
  { name: 'backward jump to the program start is a loop', insns: program(label('top'), Mov.imm(R0, 0), JEq.imm(R0, 1, 'top'), Exit()), result: 'accept' },
  {
    name: 'pruning: two equal paths',
    insns: program(byte, JEq.imm(R6, 1, 'a'), Mov.imm(R0, 0), Ja('j'), label('a'), Mov.imm(R0, 0), label('j'), Add.imm(R0, 1), Exit(), BAD),
    result: 'accept',
  },
  { name: 'jump to itself leaves the exit unreachable', insns: program(Mov.imm(R0, 0), Ja(-1), Exit()), result: 'reject', log: 'unreachable insn 2' },
  { name: 'gotol', insns: program(Mov.imm(R0, 0), asm.Gotol(1), Mov.imm(R0, 1), Exit()), result: 'reject', log: 'unreachable insn 2' },
];
