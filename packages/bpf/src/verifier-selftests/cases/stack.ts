/** The stack: bounds, alignment, spills and fills, uninitialised reads, variable offsets. */
import type { SelftestCase } from '../harness.js';
import { RET0, BAD, asm, pktCheck } from './snippets.js';

const { Add, And, Atomic, Exit, Ldx, Mov, St, Stx, program, R0, R1, R2, R3, R6, R10 } = asm;

export const STACK: SelftestCase[] = [
  { name: 'store and load a constant', insns: program(St.dw(R10, -8, 42), Ldx.dw(R0, R10, -8), Exit()), result: 'accept', log: 'R0=42' },
  { name: 'ST dw spills a constant', insns: program(St.dw(R10, -8, 0), RET0), result: 'accept', log: 'fp-8=0' },
  { name: 'STX dw spills a register', insns: program(Mov.imm(R1, 7), Stx.dw(R10, -16, R1), RET0), result: 'accept', log: 'fp-16=7' },
  {
    name: 'spill and fill the context pointer',
    insns: program(Stx.dw(R10, -8, R1), Ldx.dw(R2, R10, -8), Ldx.w(R0, R2, 0), RET0),
    result: 'accept',
    log: 'R2=ctx()',
  },
  {
    name: 'spill and fill a packet pointer keeps its range',
    insns: program(pktCheck(8), Stx.dw(R10, -8, R2), Ldx.dw(R6, R10, -8), Ldx.dw(R0, R6, 0), RET0, BAD),
    result: 'accept',
    log: 'R6=pkt(r=8)',
  },
  { name: 'word store of a register is misc', insns: program(Mov.imm(R1, 7), Stx.w(R10, -4, R1), RET0), result: 'accept' },
  { name: 'byte store then byte load', insns: program(St.b(R10, -1, 3), Ldx.b(R0, R10, -1), Exit()), result: 'accept' },
  { name: 'store below the frame', insns: program(St.dw(R10, -520, 0), RET0), result: 'reject', log: 'invalid write to stack R10 off=-520 size=8', errno: 13 },
  { name: 'store at fp+0', insns: program(St.dw(R10, 0, 0), RET0), result: 'reject', log: 'invalid write to stack R10 off=0 size=8' },
  { name: 'load at fp+8', insns: program(Ldx.dw(R0, R10, 8), Exit()), result: 'reject', log: 'invalid read from stack R10 off=8 size=8' },
  { name: 'store crossing fp', insns: program(St.dw(R10, -4, 0), RET0), result: 'reject', log: 'misaligned stack access off 0+0+-4 size 8' },
  { name: 'misaligned word store', insns: program(St.w(R10, -6, 0), RET0), result: 'reject', log: 'misaligned stack access off 0+0+-6 size 4' },
  { name: 'lowest slot fp-512 is usable', insns: program(St.dw(R10, -512, 1), Ldx.dw(R0, R10, -512), Exit()), result: 'accept', log: 'R0=1' },
  { name: 'privileged read of uninitialised stack', insns: program(Ldx.dw(R0, R10, -8), Exit()), result: 'accept', log: 'R0=scalar()' },
  {
    name: 'unprivileged read of uninitialised stack',
    insns: program(Ldx.dw(R0, R10, -8), Exit()),
    type: 'socket_filter',
    unprivileged: true,
    result: 'reject',
    // Past the allocated stack: check_stack_slot_within_bounds (recorded on 6.18: fixtures/unpriv san_spec_bad_read).
    log: 'invalid read from stack R10 off=-8 size=8',
  },
  {
    name: 'unprivileged read of half-initialised stack',
    insns: program(St.w(R10, -8, 0), Ldx.dw(R0, R10, -8), Exit()),
    type: 'socket_filter',
    unprivileged: true,
    result: 'reject',
    log: 'invalid read from stack off -8+4 size 8',
  },
  {
    name: 'partial fill of a spilled pointer',
    insns: program(Stx.dw(R10, -8, R1), Ldx.w(R0, R10, -8), Exit()),
    result: 'reject',
    log: 'invalid size of register fill',
  },
  { name: 'partial spill of a pointer', insns: program(Stx.w(R10, -8, R1), RET0), result: 'reject', log: 'invalid size of register spill' },
  {
    name: 'overwriting part of a spilled pointer (privileged)',
    insns: program(Stx.dw(R10, -8, R1), St.b(R10, -8, 0), Ldx.dw(R0, R10, -8), Exit()),
    result: 'accept',
  },
  {
    name: 'unprivileged overwrite of a spilled pointer',
    insns: program(Stx.dw(R10, -8, R1), St.b(R10, -8, 0), RET0),
    type: 'socket_filter',
    unprivileged: true,
    result: 'reject',
    log: 'attempt to corrupt spilled pointer on stack',
  },
  { name: 'zeroed slot reads as 0', insns: program(Mov.imm(R1, 0), Stx.w(R10, -4, R1), Ldx.w(R0, R10, -4), Exit()), result: 'accept', log: 'R0=0' },
  {
    name: 'stack pointer arithmetic then store',
    insns: program(Mov.reg(R2, R10), Add.imm(R2, -16), St.dw(R2, 8, 5), Ldx.dw(R0, R10, -8), Exit()),
    result: 'accept',
    log: 'R0=5',
  },
  {
    name: 'stack pointer arithmetic out of the frame',
    insns: program(Mov.reg(R2, R10), Add.imm(R2, -512), St.dw(R2, -8, 5), RET0),
    result: 'reject',
    log: 'invalid write to stack R2 off=-520 size=8',
  },
  {
    name: 'variable-offset stack write, privileged',
    insns: program(pktCheck(8), Ldx.b(R6, R2, 0), And.imm(R6, 0x38), Mov.reg(R3, R10), Add.imm(R3, -64), asm.Add.reg(R3, R6), St.dw(R3, 0, 1), RET0, BAD),
    result: 'accept',
  },
  {
    name: 'variable-offset stack write that can leave the frame',
    insns: program(pktCheck(8), Ldx.b(R6, R2, 0), And.imm(R6, 0x78), Mov.reg(R3, R10), Add.imm(R3, -64), asm.Add.reg(R3, R6), St.dw(R3, 0, 1), RET0, BAD),
    result: 'reject',
    log: 'invalid variable-offset write to stack R3 var_off=(0x0; 0x78) off=-64 size=8',
  },
  { name: 'atomic add on the stack', insns: program(St.dw(R10, -8, 1), Mov.imm(R1, 2), Atomic.add('dw', R10, -8, R1), RET0), result: 'accept' },
  {
    name: 'atomic fetch_add returns into the source',
    insns: program(St.dw(R10, -8, 1), Mov.imm(R1, 2), Atomic.fetchAdd('dw', R10, -8, R1), Mov.reg(R0, R1), Exit()),
    result: 'accept',
  },
  { name: 'atomic on uninitialised r1', insns: program(St.dw(R10, -8, 1), Atomic.add('dw', R10, -8, R1), RET0), result: 'accept' },
  {
    name: 'atomic on the context',
    insns: program(Mov.imm(R2, 1), Atomic.add('w', R1, 0, R2), RET0),
    result: 'reject',
    log: 'BPF_ATOMIC stores into R1 ctx is not allowed',
  },
  {
    name: 'cmpxchg needs r0',
    insns: program(St.dw(R10, -8, 1), Mov.imm(R1, 2), Atomic.cmpxchg('dw', R10, -8, R1), RET0),
    result: 'reject',
    log: 'R0 !read_ok',
  },
];
