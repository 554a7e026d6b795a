/**
 * BPF_PROG_TYPE_SOCK_OPS (net/core/filter.c sock_ops_is_valid_access, sock_ops_convert_ctx_access,
 * sock_ops_func_proto; Linux 6.18). The context is struct bpf_sock_ops over struct bpf_sock_ops_kern: the
 * callback (`op`) and its arguments, the reply, the connection's addresses and ports (sock_common fields,
 * always there), its TCP state (tcp_sock fields, 0 unless `is_fullsock`), and the segment of the header-option
 * callbacks (`skb_*`, 0 / NULL otherwise). Every field but the u64 ones is read as a whole u32; only `reply`
 * (`replylong[0]`) is written. A program returns 0 or 1.
 *
 * Not modelled: `sk` (PTR_TO_SOCKET_OR_NULL, a type the verifier here lacks) and stores to `sk_txhash` (Linux
 * stores through the socket pointer with a scratch register; the conversion data here stores into the context
 * object only): programs using them are refused.
 */
import { BPF_SOCK_OPS_KERN, SKB_SHARED_INFO, SK_BUFF, SOCK, TCP_SKB_CB_TCP_FLAGS } from '@ebpf-sim/kernel';
import { BPF_PROG_TYPE, BPF_SOCK_OPS } from '@ebpf-sim/uapi';
import type { CtxConvert, CtxConvertSize, CtxField } from '@ebpf-sim/verifier';
import { POINTER, fromCtx, fromValue } from './convert.js';
import { defineProgType } from './define.js';
import { U32, U8, direct, scalar, sockAddressFields, sockField } from './sock.js';

const K = BPF_SOCK_OPS_KERN;
const O = BPF_SOCK_OPS;

/** A tcp_sock field: 0 unless the socket is a full socket (SOCK_OPS_GET_TCP_SOCK_FIELD). */
const tcpField = (off: number, size: CtxConvertSize): CtxConvert => ({
  read: [fromCtx(K.is_fullsock, U8), { op: 'jeq', imm: 0, skip: 2 }, fromCtx(K.sk, POINTER), fromValue(off, size)],
});

/** A field of the callback's skb: 0 when there is none. */
const skbField = (...steps: ReadonlyArray<readonly [number, CtxConvertSize]>): CtxConvert => ({
  read: [fromCtx(K.skb, POINTER), { op: 'jeq', imm: 0, skip: steps.length }, ...steps.map(([off, size]) => fromValue(off, size))],
});

/** The u32 TCP counters and state, in uapi order, with their tcp_sock fields. */
const TCP_U32: ReadonlyArray<readonly [keyof typeof O, number, CtxConvertSize]> = [
  ['snd_cwnd', SOCK.snd_cwnd, U32],
  ['srtt_us', SOCK.srtt_us, U32],
  ['bpf_sock_ops_cb_flags', SOCK.bpf_sock_ops_cb_flags, U8],
  ['rtt_min', SOCK.rtt_min, U32],
  ['snd_ssthresh', SOCK.snd_ssthresh, U32],
  ['rcv_nxt', SOCK.rcv_nxt, U32],
  ['snd_nxt', SOCK.snd_nxt, U32],
  ['snd_una', SOCK.snd_una, U32],
  ['mss_cache', SOCK.mss_cache, U32],
  ['ecn_flags', SOCK.ecn_flags, U8],
  ['rate_delivered', SOCK.rate_delivered, U32],
  ['rate_interval_us', SOCK.rate_interval_us, U32],
  ['packets_out', SOCK.packets_out, U32],
  ['retrans_out', SOCK.retrans_out, U32],
  ['total_retrans', SOCK.total_retrans, U32],
  ['segs_in', SOCK.segs_in, U32],
  ['data_segs_in', SOCK.data_segs_in, U32],
  ['segs_out', SOCK.segs_out, U32],
  ['data_segs_out', SOCK.data_segs_out, U32],
  ['lost_out', SOCK.lost_out, U32],
  ['sacked_out', SOCK.sacked_out, U32],
  ['sk_txhash', SOCK.sk_txhash, U32],
];

const FIELDS: readonly CtxField[] = [
  scalar('op', O.op, direct(K.op, U8)),
  // args[4], reply and replylong[4] share the four words at offset 4; `reply` (word 0) is the one writable.
  scalar('reply', O.reply, { read: [fromCtx(K.args, U32)], write: { off: K.args, size: U32 } }, { writable: true }),
  ...[1, 2, 3].map((i) => scalar(`args[${i}]`, O.args + i * U32, direct(K.args + i * U32, U32))),
  ...sockAddressFields(O, K.sk),
  scalar('is_fullsock', O.is_fullsock, direct(K.is_fullsock, U8)),
  scalar('state', O.state, sockField(K.sk, SOCK.skc_state, U8)),
  ...TCP_U32.map(([name, off, size]) => scalar(name, O[name], tcpField(off, size))),
  scalar('bytes_received', O.bytes_received, tcpField(SOCK.bytes_received, 8), {}, 8),
  scalar('bytes_acked', O.bytes_acked, tcpField(SOCK.bytes_acked, 8), {}, 8),
  { name: 'skb_data', off: O.skb_data, size: 8, kind: 'pkt', convert: skbField([SK_BUFF.data, POINTER]) },
  { name: 'skb_data_end', off: O.skb_data_end, size: 8, kind: 'pkt_end', convert: direct(K.skb_data_end, POINTER) },
  scalar('skb_len', O.skb_len, skbField([SK_BUFF.len, U32])),
  scalar('skb_tcp_flags', O.skb_tcp_flags, skbField([SK_BUFF.cb + TCP_SKB_CB_TCP_FLAGS, U8]), { narrow: true }),
  scalar('skb_hwtstamp', O.skb_hwtstamp, skbField([SK_BUFF.end, POINTER], [SKB_SHARED_INFO.hwtstamps, 8]), {}, 8),
];

export const SOCK_OPS = defineProgType(
  { name: 'sock_ops', uapiId: BPF_PROG_TYPE.SOCK_OPS, ctx: { structName: 'bpf_sock_ops', size: O.size, fields: FIELDS }, retRange: { min: 0, max: 1 } },
  [
    'setsockopt',
    'getsockopt',
    'sock_ops_cb_flags_set',
    'sock_map_update',
    'sock_hash_update',
    'get_socket_cookie',
    'get_local_storage',
    'perf_event_output',
    'sk_storage_get',
    'sk_storage_delete',
    'get_netns_cookie',
    'tcp_sock',
    'load_hdr_opt',
    'store_hdr_opt',
    'reserve_hdr_opt',
    'ktime_get_coarse_ns',
  ],
);
