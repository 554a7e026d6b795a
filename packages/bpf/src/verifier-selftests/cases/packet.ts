/** Direct packet access: ranges learnt from comparisons with data_end, in every comparison form. */
import { BPF_FUNC } from '@ebpf-sim/uapi';
import type { SelftestCase } from '../harness.js';
import { BAD, RET0, asm, pktCheck } from './snippets.js';

const { Add, And, Call, JGe, JGt, JLe, JLt, Ldx, Mov, St, Stx, Sub, label, program, R0, R1, R2, R3, R4, R5, R6 } = asm;

const pro = [Ldx.w(R2, R1, 0), Ldx.w(R3, R1, 4), Mov.reg(R4, R2), Add.imm(R4, 8)];

export const PACKET: SelftestCase[] = [
  { name: 'access after data + 8 > data_end check', insns: program(pktCheck(8), Ldx.dw(R0, R2, 0), RET0, BAD), result: 'accept', log: 'R2=pkt(r=8)' },
  { name: 'range is set on the copy too', insns: program(pktCheck(8), Ldx.b(R0, R4, -1), RET0, BAD), result: 'accept', log: 'R4=pkt(off=8,r=8)' },
  {
    name: 'access without check',
    insns: program(Ldx.w(R2, R1, 0), Ldx.b(R0, R2, 0), RET0),
    result: 'reject',
    log: 'invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)',
    errno: 13,
  },
  {
    name: 'access one byte past the checked range',
    insns: program(pktCheck(8), Ldx.b(R0, R2, 8), RET0, BAD),
    result: 'reject',
    log: 'invalid access to packet, off=8 size=1, R2(id=0,off=8,r=8)',
  },
  {
    name: 'word access straddling the range',
    insns: program(pktCheck(8), Ldx.w(R0, R2, 6), RET0, BAD),
    result: 'reject',
    log: 'R2 offset is outside of the packet',
  },
  {
    name: 'access on the wrong branch',
    insns: program(pro, JGt.reg(R4, R3, 'x'), RET0, label('x'), Ldx.b(R0, R2, 0), RET0),
    result: 'reject',
    log: 'invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)',
  },
  {
    name: 'data + 8 < data_end proves 9 bytes',
    insns: program(pro, JLt.reg(R4, R3, 'ok'), RET0, label('ok'), Ldx.b(R0, R2, 8), RET0),
    result: 'accept',
    log: 'R2=pkt(r=9)',
  },
  {
    name: 'data + 8 < data_end: byte 9 is not proven',
    insns: program(pro, JLt.reg(R4, R3, 'ok'), RET0, label('ok'), Ldx.b(R0, R2, 9), RET0),
    result: 'reject',
    log: 'invalid access to packet, off=9 size=1, R2(id=0,off=9,r=9)',
  },
  { name: 'data + 8 >= data_end', insns: program(pro, JGe.reg(R4, R3, 'bad'), Ldx.b(R0, R2, 6), RET0, BAD), result: 'accept' },
  { name: 'data + 8 <= data_end', insns: program(pro, JLe.reg(R4, R3, 'ok'), RET0, label('ok'), Ldx.dw(R0, R2, 0), RET0), result: 'accept' },
  { name: 'data_end < data + 8', insns: program(pro, JLt.reg(R3, R4, 'bad'), Ldx.dw(R0, R2, 0), RET0, BAD), result: 'accept' },
  { name: 'data_end > data + 8', insns: program(pro, JGt.reg(R3, R4, 'ok'), RET0, label('ok'), Ldx.b(R0, R2, 6), RET0), result: 'accept' },
  { name: 'data_end >= data + 8', insns: program(pro, JGe.reg(R3, R4, 'ok'), RET0, label('ok'), Ldx.dw(R0, R2, 0), RET0), result: 'accept' },
  { name: 'data_end <= data + 8', insns: program(pro, asm.JLe.reg(R3, R4, 'bad'), Ldx.b(R0, R2, 6), RET0, BAD), result: 'accept' },
  { name: 'write to the packet in xdp', insns: program(pktCheck(8), St.b(R2, 0, 1), RET0, BAD), result: 'accept' },
  {
    name: 'write to the packet in sched_cls',
    insns: program(Ldx.w(R2, R1, 76), Ldx.w(R3, R1, 80), Mov.reg(R4, R2), Add.imm(R4, 8), JGt.reg(R4, R3, 'bad'), St.b(R2, 0, 1), RET0, BAD),
    type: 'sched_cls',
    result: 'accept',
  },
  {
    name: 'pkt_end is not dereferenceable',
    insns: program(Ldx.w(R3, R1, 4), Ldx.b(R0, R3, 0), RET0),
    result: 'reject',
    log: "R3 invalid mem access 'pkt_end'",
  },
  {
    name: 'arithmetic on pkt_end',
    insns: program(Ldx.w(R3, R1, 4), Sub.imm(R3, 8), RET0),
    result: 'reject',
    log: 'R3 pointer arithmetic on pkt_end prohibited',
  },
  {
    name: 'variable offset after the check needs its own check',
    insns: program(pktCheck(8), Ldx.b(R5, R2, 0), And.imm(R5, 0xf), asm.Add.reg(R2, R5), Ldx.b(R0, R2, 0), RET0, BAD),
    result: 'reject',
    log: 'invalid access to packet, off=0 size=1, R2(id=1,off=0,r=0)',
  },
  {
    name: 'variable offset checked again',
    insns: program(
      pktCheck(8),
      Ldx.b(R5, R2, 0),
      And.imm(R5, 0xf),
      asm.Add.reg(R2, R5),
      Mov.reg(R4, R2),
      Add.imm(R4, 2),
      JGt.reg(R4, R3, 'bad'),
      Ldx.h(R0, R2, 0),
      RET0,
      BAD,
    ),
    result: 'accept',
  },
  {
    name: 'packet pointers are invalid after bpf_xdp_adjust_head',
    insns: program(
      Mov.reg(R6, R1),
      pktCheck(8),
      Mov.imm(R2, 4),
      Mov.reg(R1, R6),
      Call.helper(BPF_FUNC.xdp_adjust_head),
      Ldx.w(R2, R6, 0),
      Ldx.b(R0, R2, 0),
      RET0,
      BAD,
    ),
    result: 'reject',
    log: 'invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)',
  },
  {
    name: 'packet pointer held across bpf_xdp_adjust_head',
    insns: program(
      Mov.reg(R6, R1),
      pktCheck(8),
      Mov.reg(asm.R7, R2),
      Mov.imm(R2, 4),
      Mov.reg(R1, R6),
      Call.helper(BPF_FUNC.xdp_adjust_head),
      Ldx.b(R0, asm.R7, 0),
      RET0,
      BAD,
    ),
    result: 'reject',
    log: "R7 invalid mem access 'scalar'",
  },
  { name: 'packet pointer stored into the packet (privileged)', insns: program(pktCheck(8), Stx.dw(R2, 0, R2), RET0, BAD), result: 'accept' },
  {
    name: 'data_meta + 4 > data',
    insns: program(Ldx.w(R2, R1, 8), Ldx.w(R3, R1, 0), Mov.reg(R4, R2), Add.imm(R4, 4), JGt.reg(R4, R3, 'bad'), Ldx.w(R0, R2, 0), RET0, BAD),
    result: 'accept',
    log: 'R2=pkt_meta(r=4)',
  },
];
