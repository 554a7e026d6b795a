/** Structural checks: opcodes, reserved fields, jumps, reachability, LD imm64, program shape. */
import type { RawInsn } from '@ebpf-sim/isa';
import type { SelftestCase } from '../harness.js';
import { RET0, asm, slots } from './snippets.js';

const { Add, Call, Exit, Ja, JEq, LdImm64, Mov, label, program, R0, R1, R10 } = asm;
const raw = (code: number, dst = 0, src = 0, off = 0, imm = 0): RawInsn => ({ code, dst, src, off, imm });

// Checked against Linux 6.18 (bpftool/bpf_prog_load on this machine) unless marked otherwise.
export const STRUCTURAL: SelftestCase[] = [
  { name: 'minimal program', insns: program(RET0), result: 'accept', log: 'processed 2 insns' },
  { name: 'unknown opcode 0x8d', insns: [raw(0x8d), ...program(RET0)], result: 'reject', log: 'unknown opcode 8d', errno: 22 },
  { name: 'unknown opcode 0xff', insns: [raw(0xff), ...program(RET0)], result: 'reject', log: 'unknown opcode ff', errno: 22 },
  { name: 'unknown opcode 0x06 jmp32 ja with class bits', insns: [raw(0xe6), ...program(RET0)], result: 'reject', log: 'unknown opcode e6' },
  // BPF_ST_NOSPEC is the kernel's own (the VM runs it in the xlated program): from user space Linux 6.18 refuses it so.
  { name: 'nospec from user space', insns: [raw(0xc2), ...program(RET0)], result: 'reject', log: 'unknown opcode c2', errno: 22 },
  { name: 'no exit: last insn is mov', insns: program(Mov.imm(R0, 0)), result: 'reject', log: 'last insn is not an exit or jmp', errno: 22 },
  { name: 'last insn is a conditional jump', insns: program(Mov.imm(R0, 0), JEq.imm(R0, 0, -2)), result: 'reject', log: 'last insn is not an exit or jmp' },
  { name: 'jump past the end', insns: program(Mov.imm(R0, 0), Ja(5), Exit()), result: 'reject', log: 'jump out of range from insn 1 to 7' },
  { name: 'jump before the start', insns: program(Mov.imm(R0, 0), JEq.imm(R0, 0, -3), Exit()), result: 'reject', log: 'jump out of range from insn 1 to -1' },
  {
    name: 'jump into ld_imm64 second slot',
    insns: program(Mov.imm(R0, 0), JEq.imm(R0, 0, 1), LdImm64.value(R0, 1n), Exit()),
    result: 'reject',
    log: 'jump into the middle of ldimm64 insn 2',
  },
  {
    name: 'unreachable insn after exit',
    insns: program(Mov.imm(R0, 0), Exit(), Mov.imm(R0, 1), Exit()),
    result: 'reject',
    log: 'unreachable insn 2',
    errno: 22,
  },
  { name: 'unreachable insn skipped by goto', insns: program(Mov.imm(R0, 0), Ja(1), Mov.imm(R0, 1), Exit()), result: 'reject', log: 'unreachable insn 2' },
  { name: 'goto +0 is fine', insns: program(Mov.imm(R0, 0), Ja(0), Exit()), result: 'accept' },
  {
    name: 'ld_imm64 as last slot (checked against Linux 6.18: subprogram checks come first)',
    insns: slots([0xb7], [0x95], [0x18, 0, 0, 0, 1]),
    result: 'reject',
    log: 'last insn is not an exit or jmp',
  },
  { name: 'ld_imm64 second slot with opcode', insns: slots([0x18, 0, 0, 0, 1], [0xb7], [0x95]), result: 'reject', log: 'invalid bpf_ld_imm64 insn' },
  { name: 'ld_imm64 second slot with dst', insns: slots([0x18, 0, 0, 0, 1], [0, 1], [0x95]), result: 'reject', log: 'invalid bpf_ld_imm64 insn' },
  { name: 'ld_imm64 with unknown pseudo src 9', insns: slots([0x18, 0, 9, 0, 1], [0], [0x95]), result: 'reject', log: 'unrecognized bpf_ld_imm64 insn' },
  { name: 'ld_imm64 64-bit constant', insns: program(LdImm64.value(R0, 0x1122334455667788n), Exit()), result: 'accept', log: 'R0=0x1122334455667788' },
  {
    name: 'map fd that does not exist',
    insns: program(LdImm64.mapFd(R1, 42), Mov.imm(R0, 0), Exit()),
    result: 'reject',
    log: 'fd 42 is not pointing to valid bpf_map',
    errno: 9,
  },
  { name: 'ALU with non-zero off', insns: [raw(0x07, 0, 0, 1, 1), ...program(RET0)], result: 'reject', log: 'BPF_ALU uses reserved fields' },
  { name: 'ALU K with non-zero src', insns: [raw(0x07, 0, 1, 0, 1), ...program(RET0)], result: 'reject', log: 'BPF_ALU uses reserved fields' },
  { name: 'ALU X with non-zero imm', insns: [raw(0x0f, 0, 1, 0, 1), ...program(RET0)], result: 'reject', log: 'BPF_ALU uses reserved fields' },
  { name: 'MOV K with non-zero src', insns: [raw(0xb7, 0, 1, 0, 0), ...program(Exit())], result: 'reject', log: 'BPF_MOV uses reserved fields' },
  { name: 'NEG with non-zero imm', insns: [raw(0xb7), raw(0x87, 0, 0, 0, 1), ...program(Exit())], result: 'reject', log: 'BPF_NEG uses reserved fields' },
  { name: 'END with width 8', insns: [raw(0xb7), raw(0xdc, 0, 0, 0, 8), ...program(Exit())], result: 'reject', log: 'BPF_END uses reserved fields' },
  { name: 'EXIT with non-zero imm', insns: [raw(0xb7), raw(0x95, 0, 0, 0, 1)], result: 'reject', log: 'BPF_EXIT uses reserved fields' },
  { name: 'JA with non-zero imm', insns: [raw(0xb7), raw(0x05, 0, 0, 0, 1), ...program(Exit())], result: 'reject', log: 'BPF_JA uses reserved fields' },
  { name: 'CALL with non-zero off', insns: [raw(0x85, 0, 0, 1, 5), ...program(RET0)], result: 'reject', log: 'BPF_CALL uses reserved fields' },
  {
    name: 'conditional jump K with non-zero src',
    insns: [raw(0xb7), raw(0x15, 0, 1, 0, 0), ...program(Exit())],
    result: 'reject',
    log: 'BPF_JMP/JMP32 uses reserved fields',
  },
  { name: 'LDX with non-zero imm', insns: [raw(0x79, 0, 10, -8, 1), ...program(Exit())], result: 'reject', log: 'BPF_LDX uses reserved fields' },
  { name: 'ST with non-zero src', insns: [raw(0x7a, 10, 1, -8, 0), ...program(RET0)], result: 'reject', log: 'BPF_ST uses reserved fields' },
  { name: 'STX with non-zero imm', insns: [raw(0x7b, 10, 1, -8, 1), ...program(RET0)], result: 'reject', log: 'BPF_STX uses reserved fields' },
  {
    name: 'atomic with unknown operation',
    insns: [raw(0x7a, 10, 0, -8, 0), raw(0xdb, 10, 1, -8, 0x10), ...program(RET0)],
    result: 'reject',
    log: 'BPF_ATOMIC uses invalid atomic opcode 10',
  },
  { name: 'register r11', insns: [raw(0xb7, 11, 0, 0, 0), ...program(RET0)], result: 'reject', log: 'R11 is invalid' },
  { name: 'write to r10', insns: program(Mov.imm(R10, 0), RET0), result: 'reject', log: 'frame pointer is read only', errno: 13 },
  { name: 'add to r10', insns: program(Add.imm(R10, 8), RET0), result: 'reject', log: 'frame pointer is read only' },
  { name: 'call to invalid destination', insns: program(Call.local(10), RET0), result: 'reject', log: 'call to invalid destination' },
  { name: 'bpf-to-bpf call into a subprogram', insns: program(Call.local('f'), Exit(), label('f'), Mov.imm(R0, 1), Exit()), result: 'accept' },
  {
    name: 'jump from main program into a subprogram',
    insns: program(Mov.imm(R0, 0), JEq.imm(R0, 0, 'f'), Call.local('f'), Exit(), label('f'), Mov.imm(R0, 1), Exit()),
    result: 'reject',
    log: 'jump out of range from insn 1 to 4',
  },
  {
    name: 'subprogram that falls through into the next',
    insns: program(Call.local('f'), Exit(), label('f'), Mov.imm(R0, 1)),
    result: 'reject',
    log: 'last insn is not an exit or jmp',
  },
  {
    name: 'subprogram never called is unreachable',
    insns: program(Mov.imm(R0, 0), Exit(), label('f'), Mov.imm(R0, 1), Exit()),
    result: 'reject',
    log: 'unreachable insn 2',
  },
  {
    name: 'unprivileged back-edge',
    insns: program(Mov.imm(R0, 0), label('l'), Add.imm(R0, 1), JEq.imm(R0, 10, 'e'), Ja('l'), label('e'), Exit()),
    type: 'socket_filter',
    unprivileged: true,
    result: 'reject',
    log: 'back-edge from insn 3 to 1',
  },
  {
    name: 'privileged bounded loop',
    insns: program(Mov.imm(R0, 0), label('l'), Add.imm(R0, 1), JEq.imm(R0, 10, 'e'), Ja('l'), label('e'), Exit()),
    result: 'accept',
    log: 'processed 31 insns',
  },
  { name: 'unprivileged program type not allowed', insns: program(RET0), unprivileged: true, result: 'reject', errno: 1 },
];
