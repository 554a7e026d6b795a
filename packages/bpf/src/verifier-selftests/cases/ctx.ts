/** Context access per program type: fields, sizes, read-only fields, modified context pointers. */
import type { SelftestCase } from '../harness.js';
import { RET0, asm } from './snippets.js';

const { Add, Exit, Ldx, Mov, St, Stx, program, R0, R1, R2 } = asm;

const read = (w: 'b' | 'h' | 'w' | 'dw', off: number) => program(Ldx[w](R0, R1, off), RET0);

export const CTX: SelftestCase[] = [
  { name: 'xdp: data is a packet pointer', insns: read('w', 0), result: 'accept', log: 'R0=pkt(r=0)' },
  { name: 'xdp: data_end', insns: read('w', 4), result: 'accept', log: 'R0=pkt_end()' },
  { name: 'xdp: data_meta', insns: read('w', 8), result: 'accept', log: 'R0=pkt_meta(r=0)' },
  { name: 'xdp: ingress_ifindex', insns: read('w', 12), result: 'accept', log: 'R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))' },
  { name: 'xdp: rx_queue_index', insns: read('w', 16), result: 'accept' },
  { name: 'xdp: egress_ifindex is only for devmap programs', insns: read('w', 20), result: 'reject', log: 'invalid bpf_context access off=20 size=4' },
  { name: 'xdp: past the end', insns: read('w', 24), result: 'reject', log: 'invalid bpf_context access off=24 size=4', errno: 13 },
  { name: 'xdp: 8-byte load of data', insns: read('dw', 0), result: 'reject', log: 'invalid bpf_context access off=0 size=8' },
  { name: 'xdp: narrow load of ingress_ifindex', insns: read('b', 12), result: 'reject', log: 'invalid bpf_context access off=12 size=1' },
  { name: 'xdp: misaligned load', insns: read('w', 2), result: 'reject', log: 'invalid bpf_context access off=2 size=4' },
  { name: 'xdp: negative offset', insns: read('w', -4), result: 'reject', log: 'invalid bpf_context access off=-4 size=4' },
  { name: 'xdp: write to data', insns: program(Mov.imm(R2, 0), Stx.w(R1, 0, R2), RET0), result: 'reject', log: 'invalid bpf_context access off=0 size=4' },
  { name: 'xdp: BPF_ST into ctx', insns: program(St.w(R1, 12, 0), RET0), result: 'reject', log: 'invalid bpf_context access off=12 size=4' },
  { name: 'xdp: modified ctx pointer', insns: program(Add.imm(R1, 4), Ldx.w(R0, R1, 0), RET0), result: 'reject', log: 'dereference of modified ctx ptr R1 off=4 disallowed' },
  { name: 'xdp: ctx copy keeps the type', insns: program(Mov.reg(R2, R1), Ldx.w(R0, R2, 4), RET0), result: 'accept', log: 'R0=pkt_end()' },
  { name: 'socket_filter: len', insns: read('w', 0), type: 'socket_filter', result: 'accept' },
  { name: 'socket_filter: narrow load of protocol', insns: read('h', 16), type: 'socket_filter', result: 'accept', log: 'R0=scalar(smin=smin32=0,smax=umax=smax32=umax32=0xffff,var_off=(0x0; 0xffff))' },
  { name: 'socket_filter: byte load of mark', insns: read('b', 8), type: 'socket_filter', result: 'accept' },
  { name: 'socket_filter: no direct packet access', insns: read('w', 76), type: 'socket_filter', result: 'reject', log: 'invalid bpf_context access off=76 size=4' },
  { name: 'socket_filter: write cb[0]', insns: program(Mov.imm(R2, 1), Stx.w(R1, 48, R2), RET0), type: 'socket_filter', result: 'accept' },
  { name: 'socket_filter: write mark is read-only', insns: program(Mov.imm(R2, 1), Stx.w(R1, 8, R2), RET0), type: 'socket_filter', result: 'reject', log: 'invalid bpf_context access off=8 size=4' },
  { name: 'socket_filter: past the end', insns: read('w', 192), type: 'socket_filter', result: 'reject', log: 'invalid bpf_context access off=192 size=4' },
  { name: 'sched_cls: data is a packet pointer', insns: read('w', 76), type: 'sched_cls', result: 'accept', log: 'R0=pkt(r=0)' },
  { name: 'sched_cls: data_end', insns: read('w', 80), type: 'sched_cls', result: 'accept', log: 'R0=pkt_end()' },
  { name: 'sched_cls: write mark', insns: program(Mov.imm(R2, 1), Stx.w(R1, 8, R2), RET0), type: 'sched_cls', result: 'accept' },
  { name: 'sched_cls: write tc_classid', insns: program(Mov.imm(R2, 1), Stx.w(R1, 72, R2), RET0), type: 'sched_cls', result: 'accept' },
  { name: 'sched_cls: write len is read-only', insns: program(Mov.imm(R2, 1), Stx.w(R1, 0, R2), RET0), type: 'sched_cls', result: 'reject', log: 'invalid bpf_context access off=0 size=4' },
  { name: 'sched_cls: narrow load of data is refused', insns: read('h', 76), type: 'sched_cls', result: 'reject', log: 'invalid bpf_context access off=76 size=2' },
  { name: 'kprobe: read pt_regs->di', insns: read('dw', 112), type: 'kprobe', result: 'accept', log: 'R0=scalar()' },
  { name: 'kprobe: 4-byte read of a register', insns: read('w', 112), type: 'kprobe', result: 'accept' },
  { name: 'kprobe: read past pt_regs', insns: read('dw', 168), type: 'kprobe', result: 'reject', log: 'invalid bpf_context access off=168 size=8' },
  { name: 'kprobe: misaligned read', insns: read('dw', 4), type: 'kprobe', result: 'reject', log: 'invalid bpf_context access off=4 size=8' },
  { name: 'kprobe: pt_regs is read-only', insns: program(Mov.imm(R2, 1), Stx.dw(R1, 0, R2), RET0), type: 'kprobe', result: 'reject', log: 'invalid bpf_context access off=0 size=8' },
  { name: 'tracepoint: read a field', insns: read('dw', 8), type: 'tracepoint', result: 'accept' },
  { name: 'tracepoint: common header is hidden', insns: read('dw', 0), type: 'tracepoint', result: 'reject', log: 'invalid bpf_context access off=0 size=8' },
  { name: 'raw_tracepoint: read arg 0', insns: read('dw', 0), type: 'raw_tracepoint', result: 'accept' },
  { name: 'raw_tracepoint: read arg 12 is past MAX_BPF_FUNC_ARGS', insns: read('dw', 96), type: 'raw_tracepoint', result: 'reject', log: 'invalid bpf_context access off=96 size=8' },
  { name: 'perf_event: sample_period', insns: read('dw', 168), type: 'perf_event', result: 'accept' },
  { name: 'perf_event: narrow sample_period', insns: read('w', 168), type: 'perf_event', result: 'accept' },
  { name: 'perf_event: 4-byte read of a register', insns: read('w', 0), type: 'perf_event', result: 'reject', log: 'invalid bpf_context access off=0 size=4' },
  { name: 'lsm: read an argument (not checked against Linux: needs a BTF attach point)', insns: program(Ldx.dw(R0, R1, 0), Mov.imm(R0, 0), Exit()), type: 'lsm', result: 'accept' },
];
