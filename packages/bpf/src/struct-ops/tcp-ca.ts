/**
 * tcp_congestion_ops as a struct_ops type (net/ipv4/bpf_tcp_ca.c, Linux 6.18): a BPF TCP congestion control.
 * Its members are Linux's, in Linux's order (the map value `struct bpf_struct_ops_tcp_congestion_ops` is 256
 * bytes, as there). reg registers it with the kernel's TCP (tcp_register_congestion_control) under its `name`;
 * then setsockopt(TCP_CONGESTION) selects it and the stack calls its programs through the trampoline: the
 * arguments as u64 slots, the program's r0 the op's result.
 */
import { TcpCongestionControl, TCP_CONG, TCP_SOCK, type TcpCaSocket, type TcpCongestionOps } from '@ebpf-sim/kernel';
import { Errno, TCP_CA_NAME_MAX } from '@ebpf-sim/uapi';
import type { BtfAccess } from '@ebpf-sim/verifier';
import { ENOTSUPP } from '../errno.js';
import { funcIds } from '../helpers/define.js';
import { PRIVILEGED_BASE, UNPRIVILEGED_BASE } from '../helpers/base.js';
import type { RunnableProgram } from '../runtime/runtime.js';
import type { StructOpsInstance, StructOpsKernel, StructOpsMember, StructOpsType } from './types.js';

const SK = { ctype: 'struct sock *' };
const U32 = { ctype: 'u32' };
/** SMP_CACHE_BYTES: the struct is ____cacheline_aligned_in_smp. */
const CACHELINE = 64;

/** The members, as Linux 6.18's struct tcp_congestion_ops (include/net/tcp.h). */
const MEMBERS: readonly StructOpsMember[] = [
  { name: 'ssthresh', kind: 'func', ret: 'u32', params: [SK] },
  { name: 'cong_avoid', kind: 'func', ret: 'void', params: [SK, U32, U32] },
  { name: 'set_state', kind: 'func', ret: 'void', params: [SK, { ctype: 'u8' }] },
  // enum tcp_ca_event in Linux; a u32 here (the same 4 bytes to the program).
  { name: 'cwnd_event', kind: 'func', ret: 'void', params: [SK, U32] },
  { name: 'in_ack_event', kind: 'func', ret: 'void', params: [SK, U32] },
  { name: 'pkts_acked', kind: 'func', ret: 'void', params: [SK, { ctype: 'const struct ack_sample *' }] },
  { name: 'min_tso_segs', kind: 'func', ret: 'u32', params: [SK] },
  { name: 'cong_control', kind: 'func', ret: 'void', params: [SK, U32, { ctype: 'int' }, { ctype: 'const struct rate_sample *' }] },
  { name: 'undo_cwnd', kind: 'func', ret: 'u32', params: [SK] },
  { name: 'sndbuf_expand', kind: 'func', ret: 'u32', params: [SK] },
  { name: 'get_info', kind: 'func', ret: 'size_t', params: [SK, U32, { ctype: 'int *' }, { ctype: 'union tcp_cc_info *' }] },
  { name: 'name', kind: 'field', ctype: `char[${TCP_CA_NAME_MAX}]`, size: TCP_CA_NAME_MAX, align: 1 },
  { name: 'owner', kind: 'field', ctype: 'struct module *', size: 8, align: 8 },
  // struct list_head in Linux (two pointers); this kernel's BTF has no list_head, so two words.
  { name: 'list', kind: 'field', ctype: 'unsigned long[2]', size: 16, align: 8 },
  { name: 'key', kind: 'field', ctype: 'u32', size: 4, align: 4 },
  { name: 'flags', kind: 'field', ctype: 'u32', size: 4, align: 4 },
  { name: 'init', kind: 'func', ret: 'void', params: [SK] },
  { name: 'release', kind: 'func', ret: 'void', params: [SK] },
];
const member = (name: string): number => MEMBERS.findIndex((m) => m.name === name);
const M = {
  ssthresh: member('ssthresh'),
  congAvoid: member('cong_avoid'),
  setState: member('set_state'),
  cwndEvent: member('cwnd_event'),
  congControl: member('cong_control'),
  undoCwnd: member('undo_cwnd'),
  getInfo: member('get_info'),
  name: member('name'),
  flags: member('flags'),
  init: member('init'),
  release: member('release'),
};

/** The tcp_sock members a BPF congestion control may write (bpf_tcp_ca_btf_struct_access), [start, end). */
const WRITABLE: readonly (readonly [number, number])[] = [
  [TCP_SOCK.icsk_ca_priv, TCP_SOCK.icsk_ca_priv + 13 * 8],
  [TCP_SOCK.snd_cwnd, TCP_SOCK.snd_cwnd + 4],
  [TCP_SOCK.snd_cwnd_cnt, TCP_SOCK.snd_cwnd_cnt + 4],
  [TCP_SOCK.snd_ssthresh, TCP_SOCK.snd_ssthresh + 4],
];

/** bpf_tcp_ca_btf_struct_access: writes to tcp_sock's congestion fields only, each within its member. */
function tcpCaStructWrite(structName: string, off: number, size: number): BtfAccess {
  if (structName !== 'tcp_sock') return { kind: 'refused', log: ['only read is supported'], errno: Errno.EACCES };
  // icsk_ca_priv is matched as a range (bpf_ctx_range), the others at their first byte.
  const range = WRITABLE.find(([start, end], i) => (i === 0 ? off >= start && off < end : off === start));
  if (range === undefined) return { kind: 'refused', log: [`no write support to tcp_sock at off ${off}`], errno: Errno.EACCES };
  if (off + size > range[1])
    return { kind: 'refused', log: [`write access at off ${off} with size ${size} beyond the member of tcp_sock ended at ${range[1]}`], errno: Errno.EACCES };
  return { kind: 'scalar' };
}

/** bpf_obj_name_cpy: the name up to its NUL (EINVAL for a character other than alnum, `_`, `.`; E2BIG without a NUL). */
function objName(bytes: Uint8Array): string | number {
  let name = '';
  for (const byte of bytes) {
    if (byte === 0) return name;
    const c = String.fromCharCode(byte);
    if (!/[A-Za-z0-9_.]/.test(c)) return -Errno.EINVAL;
    name += c;
  }
  return -Errno.E2BIG;
}

/** Whether a program object is runnable by the runtime (every loaded program is; a map's test double may not be). */
const runnable = (target: unknown): target is RunnableProgram =>
  typeof target === 'object' && target !== null && 'jited' in target && 'runCnt' in target && 'program' in target;

/** Argument slots of the trampoline frame: the most any op takes. */
const MAX_ARGS = 4;

/**
 * The kernel-side tcp_congestion_ops of one registered map: each op a program has runs it on a frame of u64
 * argument slots (allocated at reg, freed at unreg; after unreg a socket still holding the ops gets Reno's
 * answers and no program runs).
 */
class BpfTcpCa {
  private frame: number;
  private live = true;
  readonly ops: TcpCongestionOps;

  constructor(
    private readonly inst: StructOpsInstance,
    private readonly kernel: StructOpsKernel,
    name: string,
    flags: number,
  ) {
    this.frame = kernel.k.phys.kmalloc(8 * MAX_ARGS, 'bpf-struct-ops');
    const has = (i: number): boolean => inst.program(i) !== undefined;
    this.ops = {
      name,
      flags,
      ...(has(M.ssthresh) ? { ssthresh: (sk: TcpCaSocket) => this.run(M.ssthresh, sk.sk, 0, 0) } : {}),
      ...(has(M.congAvoid) ? { congAvoid: (sk: TcpCaSocket, ack: number, acked: number) => void this.run(M.congAvoid, sk.sk, ack, acked) } : {}),
      ...(has(M.setState) ? { setState: (sk: TcpCaSocket, state: number) => void this.run(M.setState, sk.sk, state, 0) } : {}),
      ...(has(M.cwndEvent) ? { cwndEvent: (sk: TcpCaSocket, event: number) => void this.run(M.cwndEvent, sk.sk, event, 0) } : {}),
      ...(has(M.undoCwnd) ? { undoCwnd: (sk: TcpCaSocket) => this.run(M.undoCwnd, sk.sk, 0, 0) } : {}),
      ...(has(M.init) ? { init: (sk: TcpCaSocket) => void this.run(M.init, sk.sk, 0, 0) } : {}),
      ...(has(M.release) ? { release: (sk: TcpCaSocket) => void this.run(M.release, sk.sk, 0, 0) } : {}),
      hasCongControl: has(M.congControl),
    };
  }

  /** The trampoline: r1 = the frame [sk, a1, a2], the program's r0 (a u32) back; 0 when it cannot run. */
  private run(memberIdx: number, sk: number, a1: number, a2: number): number {
    const prog = this.inst.program(memberIdx);
    if (!this.live || this.frame <= 0 || !runnable(prog)) return 0;
    const view = this.kernel.k.phys.view;
    view.setUint32(this.frame, sk >>> 0, true);
    view.setUint32(this.frame + 4, Math.floor(sk / 0x1_0000_0000), true);
    view.setUint32(this.frame + 8, a1 >>> 0, true);
    view.setUint32(this.frame + 12, 0, true);
    view.setUint32(this.frame + 16, a2 >>> 0, true);
    view.setUint32(this.frame + 20, 0, true);
    return this.kernel.runtime.runAtHook(prog, this.frame, this.kernel.k.current.currentCpu, 0n) >>> 0;
  }

  /** unreg: no program runs through these ops any more, and the frame goes. */
  retire(): void {
    this.live = false;
    if (this.frame > 0) this.kernel.k.phys.kfree(this.frame);
    this.frame = 0;
  }
}

/** The name and flags init_member copied into kdata. */
function nameAndFlags(inst: StructOpsInstance): { readonly name: string; readonly flags: number } {
  const offsets = inst.offsets;
  const at = offsets[M.name] ?? 0;
  const name = objName(inst.kdata.subarray(at, at + TCP_CA_NAME_MAX));
  const flags = new DataView(inst.kdata.buffer, inst.kdata.byteOffset).getUint32(offsets[M.flags] ?? 0, true);
  return { name: typeof name === 'string' ? name : '', flags };
}

export const TCP_CONGESTION_OPS: StructOpsType = {
  name: 'tcp_congestion_ops',
  members: MEMBERS,
  align: CACHELINE,
  promoteArgs: { sock: 'tcp_sock' },
  // bpf_tcp_ca_check_member: get_info is not supported (is_unsupported).
  checkMember: (m) => (m.name === 'get_info' ? -ENOTSUPP : 0),
  // bpf_tcp_ca_init_member: flags within TCP_CONG_MASK, a valid non-empty name; the rest is generic.
  initMember: (m, offset, kdata, udata) => {
    if (m.name === 'flags') {
      const flags = new DataView(udata.buffer, udata.byteOffset).getUint32(offset, true);
      if ((flags & ~TCP_CONG.MASK) !== 0) return -Errno.EINVAL;
      new DataView(kdata.buffer, kdata.byteOffset).setUint32(offset, flags, true);
      return 1;
    }
    if (m.name === 'name') {
      const name = objName(udata.subarray(offset, offset + TCP_CA_NAME_MAX));
      if (typeof name === 'number' || name === '') return -Errno.EINVAL;
      kdata.set(udata.subarray(offset, offset + TCP_CA_NAME_MAX), offset);
      return 1;
    }
    return 0;
  },
  // bpf_tcp_ca_reg: tcp_register_congestion_control (EEXIST for a name in use, EINVAL without the required ops).
  reg: (inst, kernel) => {
    const congestion = kernel?.congestion;
    if (kernel === undefined || congestion === undefined) return -Errno.EOPNOTSUPP;
    const { name, flags } = nameAndFlags(inst);
    const ca = new BpfTcpCa(inst, kernel, name, flags);
    const err = congestion.register(ca.ops);
    if (err !== 0) {
      ca.retire();
      return err;
    }
    inst.registered = ca;
    return 0;
  },
  unreg: (inst, kernel) => {
    const ca = inst.registered;
    if (!(ca instanceof BpfTcpCa)) return;
    kernel?.congestion?.unregister(ca.ops);
    ca.retire();
    inst.registered = undefined;
  },
  // bpf_tcp_ca_update: tcp_update_congestion_control, the new map's ops in place of the old map's. The old ops are
  // retired as unreg retires them (sockets still holding them get Reno's answers, where Linux keeps running them).
  update: (inst, old, kernel) => {
    const congestion = kernel?.congestion;
    const previous = old.registered;
    if (kernel === undefined || congestion === undefined || !(previous instanceof BpfTcpCa)) return -Errno.EINVAL;
    const { name, flags } = nameAndFlags(inst);
    const ca = new BpfTcpCa(inst, kernel, name, flags);
    const err = congestion.update(ca.ops, previous.ops);
    if (err !== 0) {
      ca.retire();
      return err;
    }
    previous.retire();
    old.registered = undefined;
    inst.registered = ca;
    return 0;
  },
  // bpf_tcp_ca_validate: tcp_validate_congestion_control on what the programs implement.
  validate: (inst) => {
    const has = (i: number): boolean => inst.program(i) !== undefined;
    const probe: TcpCongestionOps = {
      name: 'validate',
      flags: 0,
      ...(has(M.ssthresh) ? { ssthresh: () => 0 } : {}),
      ...(has(M.undoCwnd) ? { undoCwnd: () => 0 } : {}),
      ...(has(M.congAvoid) ? { congAvoid: () => undefined } : {}),
      hasCongControl: has(M.congControl),
    };
    return TcpCongestionControl.validate(probe);
  },
  btfStructWrite: tcpCaStructWrite,
  // bpf_tcp_ca_get_func_proto: bpf_base_func_proto (tcp_send_ack, sk_storage and [gs]etsockopt are not modelled).
  helpers: funcIds([...UNPRIVILEGED_BASE, ...PRIVILEGED_BASE]),
};
