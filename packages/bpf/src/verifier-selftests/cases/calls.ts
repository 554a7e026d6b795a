/** bpf-to-bpf calls: frames, arguments, return values, stack depth of call chains. */
import { BPF_FUNC } from '@ebpf-sim/uapi';
import type { SelftestCase } from '../harness.js';
import { RET0, asm } from './snippets.js';

const { Add, Call, Exit, Ldx, Mov, St, Stx, label, program, R0, R1, R2, R6, R10 } = asm;

/** A chain of `n` functions, each using `frame` bytes of stack and calling the next. */
function chain(n: number, frame: number) {
  const items = [];
  for (let i = 0; i < n; i++) {
    items.push(label(`f${i}`), St.dw(R10, -frame, 0));
    if (i + 1 < n) items.push(Call.local(`f${i + 1}`));
    items.push(Mov.imm(R0, 0), Exit());
  }
  return program(items);
}

export const CALLS: SelftestCase[] = [
  { name: 'call returns a value', insns: program(Call.local('f'), Exit(), label('f'), Mov.imm(R0, 42), Exit()), result: 'accept', log: 'R0=42' },
  { name: 'arguments are passed in r1-r5', insns: program(Mov.imm(R1, 5), Call.local('f'), Exit(), label('f'), Mov.reg(R0, R1), Exit()), result: 'accept' },
  {
    name: 'callee may not read caller r6',
    insns: program(Mov.imm(R6, 1), Call.local('f'), Exit(), label('f'), Mov.reg(R0, R6), Exit()),
    result: 'reject',
    log: 'R6 !read_ok',
  },
  {
    name: 'caller r6 survives the call',
    insns: program(Mov.imm(R6, 1), Call.local('f'), Mov.reg(R0, R6), Exit(), label('f'), Mov.imm(R0, 0), Exit()),
    result: 'accept',
  },
  {
    name: 'caller r1 is clobbered by the call',
    insns: program(Mov.imm(R1, 1), Call.local('f'), Mov.reg(R0, R1), Exit(), label('f'), Mov.imm(R0, 0), Exit()),
    result: 'reject',
    log: 'R1 !read_ok',
  },
  { name: 'callee must set r0', insns: program(Call.local('f'), Exit(), label('f'), Exit()), result: 'reject', log: 'R0 !read_ok' },
  {
    name: 'callee reads the caller stack through a pointer',
    insns: program(St.dw(R10, -8, 7), Mov.reg(R1, R10), Add.imm(R1, -8), Call.local('f'), Exit(), label('f'), Ldx.dw(R0, R1, 0), Exit()),
    result: 'accept',
  },
  {
    name: 'callee writes the caller stack',
    insns: program(Mov.reg(R1, R10), Add.imm(R1, -8), Call.local('f'), Ldx.dw(R0, R10, -8), Exit(), label('f'), St.dw(R1, 0, 3), Mov.imm(R0, 0), Exit()),
    result: 'accept',
    log: 'R0=3',
  },
  {
    name: 'returning a pointer to the callee stack',
    insns: program(Call.local('f'), Mov.imm(R0, 0), Exit(), label('f'), Mov.reg(R0, R10), Exit()),
    result: 'reject',
    log: 'cannot return stack pointer to the caller',
  },
  { name: 'context passed to a subprogram', insns: program(Call.local('f'), Exit(), label('f'), Ldx.w(R0, R1, 12), Exit()), result: 'accept' },
  { name: 'eight frames are allowed', insns: chain(8, 8), result: 'accept' },
  { name: 'nine frames are too deep', insns: chain(9, 8), result: 'reject', log: 'the call stack of 9 frames is too deep', errno: 7 },
  { name: 'combined stack of a call chain', insns: chain(3, 256), result: 'reject', log: 'combined stack size of 3 calls is 768. Too large' },
  { name: 'two frames of 256 bytes fit', insns: chain(2, 256), result: 'accept' },
  {
    name: 'recursion',
    insns: program(Call.local('f'), Exit(), label('f'), Call.local('f'), Exit()),
    result: 'reject',
    log: 'the call stack of 9 frames is too deep',
    errno: 7,
  },
  {
    name: 'helper call inside a subprogram',
    insns: program(Call.local('f'), Exit(), label('f'), Call.helper(BPF_FUNC.ktime_get_ns), Exit()),
    result: 'accept',
  },
  {
    name: 'spilled pointer to a caller frame',
    insns: program(
      Mov.reg(R2, R10),
      Stx.dw(R10, -8, R2),
      Mov.reg(R1, R10),
      Add.imm(R1, -8),
      Call.local('f'),
      Exit(),
      label('f'),
      Ldx.dw(R0, R1, 0),
      Mov.imm(R0, 0),
      Exit(),
    ),
    result: 'accept',
  },
  { name: 'unused return value', insns: program(Call.local('f'), RET0, label('f'), Mov.imm(R0, 1), Exit()), result: 'accept' },
];
