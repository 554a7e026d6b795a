/** Pointer arithmetic rules and the unprivileged restrictions (pointer leaks, comparisons). */
import type { SelftestCase } from '../harness.js';
import { BAD, OUT, RET0, asm, lookup, lookupChecked, pktCheck } from './snippets.js';

const { Add, And, Call, Exit, JEq, JGt, LdImm64, Ldx, Lsh, Mov, Mul, Or, Stx, Sub, Xor, program, R0, R1, R2, R3, R4, R6, R10 } = asm;

export const PTR: SelftestCase[] = [
  { name: 'ctx + constant is allowed (but not dereferenceable)', insns: program(Add.imm(R1, 8), RET0), result: 'accept' },
  { name: 'pointer multiplication', insns: program(Mul.imm(R1, 2), RET0), result: 'reject', log: 'R1 pointer arithmetic with *= operator prohibited' },
  { name: 'pointer shift', insns: program(Mov.reg(R2, R10), Lsh.imm(R2, 1), RET0), result: 'reject', log: 'R2 pointer arithmetic with <<= operator prohibited' },
  { name: 'pointer and', insns: program(Mov.reg(R2, R10), And.imm(R2, -8), RET0), result: 'reject', log: 'R2 bitwise operator &= on pointer prohibited' },
  { name: 'pointer or', insns: program(Mov.reg(R2, R10), Or.imm(R2, 1), RET0), result: 'reject', log: 'R2 bitwise operator |= on pointer prohibited' },
  { name: 'pointer xor', insns: program(Mov.reg(R2, R10), Xor.imm(R2, 1), RET0), result: 'reject', log: 'R2 bitwise operator ^= on pointer prohibited' },
  { name: '32-bit pointer arithmetic', insns: program(Mov.reg(R2, R10), Add.imm32(R2, -8), RET0), result: 'reject', log: 'R2 32-bit pointer arithmetic prohibited' },
  { name: 'scalar minus pointer', insns: program(Mov.imm(R2, 100), Sub.reg(R2, R10), RET0), result: 'reject', log: 'R2 tried to subtract pointer from scalar' },
  { name: 'scalar plus pointer', insns: program(Mov.imm(R2, -8), asm.Add.reg(R2, R10), asm.St.dw(R2, 0, 1), RET0), result: 'accept', log: 'R2=fp-8' },
  { name: 'pointer minus pointer (privileged)', insns: program(pktCheck(8), Mov.reg(R0, R4), Sub.reg(R0, R2), Exit(), BAD), result: 'accept', log: 'R0=scalar()' },
  { name: 'pointer plus pointer', insns: program(Mov.reg(R2, R10), asm.Add.reg(R2, R10), RET0), result: 'reject', log: 'R2 pointer += pointer prohibited' },
  { name: 'arithmetic on map_value_or_null', insns: program(lookup(1, 'dw'), Add.imm(R0, 4), RET0), result: 'reject', log: 'R0 pointer arithmetic on map_value_or_null prohibited, null-check it first' },
  { name: 'map value plus constant then read', insns: program(lookupChecked(1, 'dw'), Add.imm(R0, 8), Ldx.dw(R1, R0, 0), OUT), result: 'accept', log: 'R0=map_value(map=flows,ks=8,vs=16,off=8)' },
  { name: 'map value pointer moved outside then back', insns: program(lookupChecked(1, 'dw'), Add.imm(R0, 32), Ldx.dw(R1, R0, -24), OUT), result: 'accept' },
  { name: 'huge constant added to a pointer', insns: program(Mov.reg(R2, R10), LdImm64.value(R3, 1n << 40n), asm.Add.reg(R2, R3), RET0), result: 'reject', log: 'math between fp pointer and 1099511627776 is not allowed' },
  { name: 'unknown scalar added to a stack pointer', insns: program(Call.helper(7), Mov.reg(R2, R10), asm.Add.reg(R2, R0), RET0), result: 'reject', log: 'math between fp pointer and register with unbounded min value is not allowed' },
  { name: 'packet pointer plus unknown 64-bit value', insns: program(pktCheck(8), Ldx.dw(R6, R2, 0), asm.Add.reg(R2, R6), RET0, BAD), result: 'reject', log: 'math between pkt pointer and register with unbounded min value is not allowed' },
  { name: 'neg of a pointer (privileged)', insns: program(Mov.reg(R2, R10), asm.Neg.r64(R2), RET0), result: 'accept' },
  { name: 'unprivileged: pointer leaked through r0', insns: program(Mov.reg(R0, R10), Exit()), type: 'socket_filter', unprivileged: true, result: 'reject', log: 'R0 leaks addr as return value' },
  { name: 'privileged: pointer returned', insns: program(Mov.reg(R0, R10), Exit()), type: 'kprobe', result: 'accept' },
  { name: 'unprivileged: pointer stored into a map value', insns: program(Mov.reg(R6, R10), lookupChecked(0), Stx.dw(R0, 0, R6), OUT), type: 'socket_filter', unprivileged: true, result: 'reject', log: 'R6 leaks addr into map' },
  { name: 'unprivileged: pointer comparison', insns: program(Mov.reg(R2, R10), JEq.reg(R2, R1, 1), Mov.imm(R0, 0), Exit()), type: 'socket_filter', unprivileged: true, result: 'reject', log: 'R2 pointer comparison prohibited' },
  { name: 'unprivileged: pointer passed as an integer helper argument', insns: program(LdImm64.mapFd(R2, 3), Mov.reg(R3, R10), Call.helper(12), RET0), type: 'socket_filter', unprivileged: true, result: 'reject', log: 'R3 leaks addr into helper function' },
  { name: 'unprivileged: 32-bit copy of a pointer', insns: program(Mov.reg32(R0, R10), Exit()), type: 'socket_filter', unprivileged: true, result: 'reject', log: 'R10 partial copy of pointer' },
  { name: 'privileged: 32-bit copy of a pointer is a scalar', insns: program(Mov.reg32(R0, R10), Exit()), result: 'accept', log: 'R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))' },
  { name: 'unprivileged: map lookup from a socket filter', insns: program(lookupChecked(0), Ldx.dw(R0, R0, 0), Exit(), ...OUT), type: 'socket_filter', unprivileged: true, result: 'accept' },
  { name: 'unprivileged: variable stack offset', insns: program(Ldx.w(R3, R1, 0), And.imm(R3, 8), Mov.reg(R2, R10), Add.imm(R2, -16), asm.Add.reg(R2, R3), RET0), type: 'socket_filter', unprivileged: true, result: 'reject', log: 'R2 variable stack access prohibited for !root' },
  { name: 'unprivileged: ktime is allowed', insns: program(Call.helper(5), Exit()), type: 'socket_filter', unprivileged: true, result: 'accept' },
  { name: 'unprivileged: trace_printk needs CAP_PERFMON', insns: program(asm.St.dw(R10, -8, 0), Mov.reg(R1, R10), Add.imm(R1, -8), Mov.imm(R2, 8), Call.helper(6), Exit()), type: 'socket_filter', unprivileged: true, result: 'reject', log: 'program of this type cannot use helper bpf_trace_printk#6' },
  { name: 'null check compares a pointer with zero', insns: program(lookup(0), JGt.imm(R0, 0, 'out'), RET0, ...OUT), result: 'accept' },
];
