/**
 * What the verifier's socket pointers point at (packages/verifier/src/sock.ts), as data: struct bpf_sock over the
 * kernel's struct sock for PTR_TO_SOCKET (bpf_sock_is_valid_access, bpf_sock_convert_ctx_access), the same
 * without type, protocol, mark and priority for PTR_TO_SOCK_COMMON (bpf_sock_common_is_valid_access: a request
 * or time-wait socket has only sock_common), and struct bpf_tcp_sock for PTR_TO_TCP_SOCK
 * (bpf_tcp_sock_is_valid_access, bpf_tcp_sock_convert_ctx_access: whole u32 loads, u64 for the byte counters).
 * Every conversion reads through the socket pointer itself (the `ctx` base of a conversion). Linux 6.18.
 *
 * Simplification: bpf_sock_is_valid_access lets narrow loads of family, type, protocol, state, src_port and
 * rx_queue_mapping only at the field's first byte (the address words anywhere); the verifier's narrow-load rule
 * takes any aligned offset inside the field.
 */
import { SK_NO_QUEUE_MAPPING, SOCK } from '@ebpf-sim/kernel';
import { BPF_SOCK, BPF_TCP_SOCK } from '@ebpf-sim/uapi';
import type { CtxConvert, CtxField, CtxLayout, SocketLayouts } from '@ebpf-sim/verifier';
import { fromCtx } from './convert.js';
import { U16, U32, U8, ip6Words, scalar } from './sock.js';

const U64 = 8;

/** One load of a struct sock field through the pointer (`targetSize` for a narrower field in a wider slot). */
const sk = (off: number, size: 1 | 2 | 4 | 8, targetSize?: number): CtxConvert => ({
  read: [fromCtx(off, size)],
  ...(targetSize === undefined ? {} : { targetSize }),
});

/** bpf_sock's fields every socket (sock_common included) has. */
const COMMON: readonly CtxField[] = [
  scalar('bound_dev_if', BPF_SOCK.bound_dev_if, sk(SOCK.skc_bound_dev_if, U32)),
  scalar('family', BPF_SOCK.family, sk(SOCK.skc_family, U16), { narrow: true }),
  scalar('src_ip4', BPF_SOCK.src_ip4, sk(SOCK.skc_rcv_saddr, U32), { narrow: true }),
  ...ip6Words('src_ip6', BPF_SOCK.src_ip6, (i) => sk(SOCK.skc_v6_rcv_saddr + i * U32, U32), { narrow: true }),
  scalar('src_port', BPF_SOCK.src_port, sk(SOCK.skc_num, U16), { narrow: true }),
  // A 2-byte port in a 4-byte slot: a whole-word load, or a narrow one of its two bytes (bpf_sock_is_valid_access).
  scalar('dst_port', BPF_SOCK.dst_port, sk(SOCK.skc_dport, U16, U16), { narrow: true }),
  scalar('dst_ip4', BPF_SOCK.dst_ip4, sk(SOCK.skc_daddr, U32), { narrow: true }),
  ...ip6Words('dst_ip6', BPF_SOCK.dst_ip6, (i) => sk(SOCK.skc_v6_daddr + i * U32, U32), { narrow: true }),
  scalar('state', BPF_SOCK.state, sk(SOCK.skc_state, U8), { narrow: true }),
  // NO_QUEUE_MAPPING reads as -1.
  scalar(
    'rx_queue_mapping',
    BPF_SOCK.rx_queue_mapping,
    {
      read: [fromCtx(SOCK.sk_rx_queue_mapping, U16), { op: 'jne', imm: SK_NO_QUEUE_MAPPING, skip: 1 }, { op: 'mov', imm: -1, alu64: true }],
    },
    { narrow: true },
  ),
];

/** bpf_sock's fields of a full socket only (bpf_sock_common_is_valid_access refuses type .. priority). */
const FULL_ONLY: readonly CtxField[] = [
  scalar('type', BPF_SOCK.type, sk(SOCK.sk_type, U16), { narrow: true }),
  scalar('protocol', BPF_SOCK.protocol, sk(SOCK.sk_protocol, U16), { narrow: true }),
  scalar('mark', BPF_SOCK.mark, sk(SOCK.sk_mark, U32)),
  scalar('priority', BPF_SOCK.priority, sk(SOCK.sk_priority, U32)),
];

/**
 * bpf_sock_convert_ctx_access's read-only fields by name (ip6 addresses as their four words), for every context
 * that is a struct bpf_sock over a struct sock: these socket pointers and BPF_PROG_TYPE_CGROUP_SOCK's context.
 */
export function bpfSockReads(...names: readonly string[]): CtxField[] {
  return [...COMMON, ...FULL_ONLY].filter((f) => names.some((name) => f.name === name || f.name.startsWith(`${name}[`)));
}

const bpfSock = (fields: readonly CtxField[]): CtxLayout => ({ structName: 'bpf_sock', size: BPF_SOCK.size, fields });

/** struct bpf_tcp_sock: each member one load of the tcp_sock field behind it. */
const TCP_FIELDS: ReadonlyArray<readonly [keyof typeof BPF_TCP_SOCK & keyof typeof SOCK, number]> = [
  ['snd_cwnd', U32],
  ['srtt_us', U32],
  ['rtt_min', U32],
  ['snd_ssthresh', U32],
  ['rcv_nxt', U32],
  ['snd_nxt', U32],
  ['snd_una', U32],
  ['mss_cache', U32],
  ['ecn_flags', U32],
  ['rate_delivered', U32],
  ['rate_interval_us', U32],
  ['packets_out', U32],
  ['retrans_out', U32],
  ['total_retrans', U32],
  ['segs_in', U32],
  ['data_segs_in', U32],
  ['segs_out', U32],
  ['data_segs_out', U32],
  ['lost_out', U32],
  ['sacked_out', U32],
  ['bytes_received', U64],
  ['bytes_acked', U64],
  ['dsack_dups', U32],
  ['delivered', U32],
  ['delivered_ce', U32],
  ['icsk_retransmits', U32],
];

export const SOCKET_LAYOUTS: SocketLayouts = {
  sockCommon: bpfSock(COMMON),
  sock: bpfSock([...COMMON, ...FULL_ONLY]),
  tcpSock: {
    structName: 'bpf_tcp_sock',
    size: BPF_TCP_SOCK.size,
    fields: TCP_FIELDS.map(([name, size]) => scalar(name, BPF_TCP_SOCK[name], sk(SOCK[name], size === U64 ? U64 : U32), {}, size)),
  },
};
