/** Helper calls: which program types may call what, GPL, size arguments, ringbuf references, spin locks. */
import type { SelftestCase } from '../harness.js';
import { OUT, RET0, asm, lookupChecked } from './snippets.js';

const { Add, And, Call, Exit, JEq, JGt, LdImm64, Ldx, Mov, St, label, program, R0, R1, R2, R3, R4, R5, R6, R10 } = asm;

const reserve = (size: number) => [LdImm64.mapFd(R1, 2), Mov.imm(R2, size), Mov.imm(R3, 0), Call.helper(131)];
const SPIN_MAPS = [{ name: 'locked', type: 'array', keySize: 4, valueSize: 16, maxEntries: 1, spinLockOff: 0 }] as const;

export const HELPERS: SelftestCase[] = [
  { name: 'ktime_get_ns from xdp', insns: program(Call.helper(5), Exit()), result: 'accept', log: '(85) call bpf_ktime_get_ns#5' },
  { name: 'get_prandom_u32', insns: program(Call.helper(7), Exit()), result: 'accept' },
  { name: 'get_smp_processor_id', insns: program(Call.helper(8), Exit()), result: 'accept' },
  { name: 'unknown helper number', insns: program(Call.helper(9999), RET0), result: 'reject', log: 'invalid func unknown#9999', errno: 22 },
  { name: 'get_current_pid_tgid from xdp (Linux 6.18 allows it)', insns: program(Call.helper(14), Exit()), result: 'accept' },
  { name: 'override_return is not for xdp', insns: program(Mov.imm(R2, 0), Call.helper(58), Exit()), result: 'reject', log: 'program of this type cannot use helper bpf_override_return#58' },
  { name: 'get_current_pid_tgid from a kprobe', insns: program(Call.helper(14), Exit()), type: 'kprobe', result: 'accept' },
  { name: 'get_current_pid_tgid from a tracepoint', insns: program(Call.helper(14), Exit()), type: 'tracepoint', result: 'accept' },
  { name: 'skb_load_bytes is not for xdp', insns: program(Mov.imm(R2, 0), Mov.reg(R3, R10), Add.imm(R3, -8), Mov.imm(R4, 8), Call.helper(26), Exit()), result: 'reject', log: 'program of this type cannot use helper bpf_skb_load_bytes#26' },
  { name: 'skb_load_bytes into the stack', insns: program(Mov.imm(R2, 0), Mov.reg(R3, R10), Add.imm(R3, -8), Mov.imm(R4, 8), Call.helper(26), Ldx.dw(R0, R10, -8), Exit()), type: 'socket_filter', result: 'accept' },
  { name: 'skb_load_bytes with a zero size', insns: program(Mov.imm(R2, 0), Mov.reg(R3, R10), Add.imm(R3, -8), Mov.imm(R4, 0), Call.helper(26), Exit()), type: 'socket_filter', result: 'reject', log: 'R4 invalid zero-sized read: u64=[0,0]' },
  { name: 'skb_load_bytes with a size past the buffer', insns: program(Mov.imm(R2, 0), Mov.reg(R3, R10), Add.imm(R3, -8), Mov.imm(R4, 16), Call.helper(26), Exit()), type: 'socket_filter', result: 'reject', log: 'invalid write to stack R3 off=-8 size=16' },
  { name: 'skb_load_bytes with a size that may be zero', insns: program(Ldx.w(R4, R1, 0), Mov.imm(R2, 0), Mov.reg(R3, R10), Add.imm(R3, -8), Call.helper(26), Exit()), type: 'socket_filter', result: 'reject', log: 'R4 invalid zero-sized read: u64=[0,4294967295]' },
  { name: 'skb_load_bytes with an unbounded size', insns: program(Ldx.w(R4, R1, 0), asm.Or.imm(R4, 1), Mov.imm(R2, 0), Mov.reg(R3, R10), Add.imm(R3, -8), Call.helper(26), Exit()), type: 'socket_filter', result: 'reject', log: "R4 unbounded memory access, use 'var &= const' or 'if (var < const)'" },
  { name: 'skb_load_bytes with a masked size', insns: program(Ldx.w(R4, R1, 0), And.imm(R4, 7), Add.imm(R4, 1), Mov.imm(R2, 0), Mov.reg(R3, R10), Add.imm(R3, -8), Call.helper(26), Exit()), type: 'socket_filter', result: 'accept' },
  { name: 'skb_load_bytes with a negative size', insns: program(Mov.imm(R4, -1), Mov.imm(R2, 0), Mov.reg(R3, R10), Add.imm(R3, -8), Call.helper(26), Exit()), type: 'socket_filter', result: 'reject', log: "R4 min value is negative, either use unsigned or 'var &= const'" },
  { name: 'helper needs the context in r1', insns: program(Mov.imm(R1, 0), Mov.imm(R2, 0), Call.helper(44), Exit()), result: 'reject', log: 'R1 type=scalar expected=ctx' },
  { name: 'xdp_adjust_head', insns: program(Mov.imm(R2, 4), Call.helper(44), Exit()), result: 'accept' },
  { name: 'redirect', insns: program(Mov.imm(R1, 1), Mov.imm(R2, 0), Call.helper(23), Exit()), result: 'accept' },
  { name: 'trace_printk with a stack string', insns: program(St.dw(R10, -8, 0x6968), Mov.reg(R1, R10), Add.imm(R1, -8), Mov.imm(R2, 8), Call.helper(6), Exit()), type: 'kprobe', result: 'accept' },
  { name: 'trace_printk from a non-GPL program', insns: program(St.dw(R10, -8, 0x6968), Mov.reg(R1, R10), Add.imm(R1, -8), Mov.imm(R2, 8), Call.helper(6), Exit()), type: 'kprobe', gpl: false, result: 'reject', log: 'cannot call GPL-restricted function from non-GPL compatible program' },
  { name: 'probe_read_kernel into the stack', insns: program(Mov.reg(R1, R10), Add.imm(R1, -16), Mov.imm(R2, 16), Mov.imm(R3, 0), Call.helper(113), Ldx.dw(R0, R10, -16), Exit()), type: 'kprobe', result: 'accept' },
  { name: 'probe_read_kernel size larger than the buffer', insns: program(Mov.reg(R1, R10), Add.imm(R1, -16), Mov.imm(R2, 32), Mov.imm(R3, 0), Call.helper(113), Exit()), type: 'kprobe', result: 'reject', log: 'invalid write to stack R1 off=-16 size=32' },
  { name: 'get_current_comm', insns: program(Mov.reg(R1, R10), Add.imm(R1, -16), Mov.imm(R2, 16), Call.helper(16), Exit()), type: 'kprobe', result: 'accept' },
  { name: 'perf_event_output with a stack record', insns: program(St.dw(R10, -8, 1), LdImm64.mapFd(R2, 4), LdImm64.value(R3, 0xffffffffn), Mov.reg(R4, R10), Add.imm(R4, -8), Mov.imm(R5, 8), Call.helper(25), Exit()), type: 'kprobe', result: 'accept' },
  { name: 'perf_event_output into an array map', insns: program(St.dw(R10, -8, 1), LdImm64.mapFd(R2, 0), Mov.imm(R3, 0), Mov.reg(R4, R10), Add.imm(R4, -8), Mov.imm(R5, 8), Call.helper(25), Exit()), type: 'kprobe', result: 'reject', log: 'cannot pass map_type 2 into func bpf_perf_event_output#25' },
  { name: 'get_current_task_btf', insns: program(Call.helper(158), Ldx.dw(R0, R0, 0), Exit()), type: 'kprobe', result: 'accept', log: 'R0=trusted_ptr_task_struct()' },
  { name: 'ringbuf reserve and submit', insns: program(reserve(8), JEq.imm(R0, 0, 'out'), St.dw(R0, 0, 1), Mov.reg(R1, R0), Mov.imm(R2, 0), Call.helper(132), OUT), result: 'accept', log: 'R0=ringbuf_mem_or_null(id=2,ref_obj_id=2,sz=8)' },
  { name: 'ringbuf reserve and discard', insns: program(reserve(8), JEq.imm(R0, 0, 'out'), Mov.reg(R1, R0), Mov.imm(R2, 0), Call.helper(133), OUT), result: 'accept' },
  { name: 'ringbuf record leaked', insns: program(reserve(8), JEq.imm(R0, 0, 'out'), St.dw(R0, 0, 1), OUT), result: 'reject', log: 'Unreleased reference id=2 alloc_insn=4', errno: 22 },
  { name: 'ringbuf record written past its size', insns: program(reserve(8), JEq.imm(R0, 0, 'out'), St.dw(R0, 8, 1), Mov.reg(R1, R0), Mov.imm(R2, 0), Call.helper(132), OUT), result: 'reject', log: 'invalid access to memory, mem_size=8 off=8 size=8' },
  { name: 'ringbuf record used before the NULL check', insns: program(reserve(8), St.dw(R0, 0, 1), RET0), result: 'reject', log: "R0 invalid mem access 'ringbuf_mem_or_null'" },
  { name: 'ringbuf submit of a NULL-able record', insns: program(reserve(8), Mov.reg(R1, R0), Mov.imm(R2, 0), Call.helper(132), RET0), result: 'reject', log: 'R1 type=ringbuf_mem_or_null expected=ringbuf_mem' },
  { name: 'ringbuf submit twice', insns: program(reserve(8), JEq.imm(R0, 0, 'out'), Mov.reg(R6, R0), Mov.reg(R1, R6), Mov.imm(R2, 0), Call.helper(132), Mov.reg(R1, R6), Mov.imm(R2, 0), Call.helper(132), OUT), result: 'reject', log: 'R1 type=scalar expected=ringbuf_mem' },
  { name: 'ringbuf submit of a moved pointer', insns: program(reserve(8), JEq.imm(R0, 0, 'out'), Mov.reg(R1, R0), Add.imm(R1, 4), Mov.imm(R2, 0), Call.helper(132), OUT), result: 'reject', log: 'R1 must have zero offset when passed to release func' },
  { name: 'ringbuf reserve with a variable size', insns: program(Call.helper(7), Mov.reg(R2, R0), LdImm64.mapFd(R1, 2), Mov.imm(R3, 0), Call.helper(131), RET0), result: 'reject', log: "R2 is not a known constant'" },
  { name: 'ringbuf output from the stack', insns: program(St.dw(R10, -8, 1), LdImm64.mapFd(R1, 2), Mov.reg(R2, R10), Add.imm(R2, -8), Mov.imm(R3, 8), Mov.imm(R4, 0), Call.helper(130), Exit()), result: 'accept' },
  { name: 'ringbuf output into a hash map', insns: program(St.dw(R10, -8, 1), LdImm64.mapFd(R1, 1), Mov.reg(R2, R10), Add.imm(R2, -8), Mov.imm(R3, 8), Mov.imm(R4, 0), Call.helper(130), Exit()), result: 'reject', log: 'cannot pass map_type 1 into func bpf_ringbuf_output#130' },
  { name: 'spin lock and unlock (not checked against Linux: needs BTF)', maps: SPIN_MAPS, insns: program(lookupChecked(0), Mov.reg(R6, R0), Mov.reg(R1, R6), Call.helper(93), Mov.reg(R1, R6), Call.helper(94), OUT), result: 'accept' },
  { name: 'helper call while holding a spin lock (not checked against Linux: needs BTF)', maps: SPIN_MAPS, insns: program(lookupChecked(0), Mov.reg(R6, R0), Mov.reg(R1, R6), Call.helper(93), Call.helper(5), Mov.reg(R1, R6), Call.helper(94), OUT), result: 'reject', log: 'function calls are not allowed while holding a lock' },
  { name: 'exit while holding a spin lock (not checked against Linux: needs BTF)', maps: SPIN_MAPS, insns: program(lookupChecked(0), Mov.reg(R1, R0), Call.helper(93), OUT), result: 'reject', log: 'BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region' },
  { name: 'unlock without lock (not checked against Linux: needs BTF)', maps: SPIN_MAPS, insns: program(lookupChecked(0), Mov.reg(R1, R0), Call.helper(94), OUT), result: 'reject', log: 'bpf_spin_unlock without taking a lock' },
  { name: 'spin lock on a map without one (not checked against Linux: needs BTF)', insns: program(lookupChecked(0), Mov.reg(R1, R0), Call.helper(93), OUT), result: 'reject', log: "map 'counts' has no valid bpf_spin_lock" },
  { name: 'spin lock at the wrong offset (not checked against Linux: needs BTF)', maps: SPIN_MAPS, insns: program(lookupChecked(0), Mov.reg(R1, R0), Add.imm(R1, 8), Call.helper(93), OUT), result: 'reject', log: "off 8 doesn't point to 'struct bpf_spin_lock' that is at 0" },
  { name: 'helper result range is unknown', insns: program(Call.helper(7), JGt.imm(R0, 10, 'x'), label('x'), Exit()), result: 'accept' },
  { name: 'csum_diff with NULL from', insns: program(Mov.imm(R1, 0), Mov.imm(R2, 0), St.dw(R10, -8, 0), Mov.reg(R3, R10), Add.imm(R3, -8), Mov.imm(R4, 8), Mov.imm(R5, 0), Call.helper(28), Exit()), result: 'accept' },
];
