/**
 * TCP congestion control (net/ipv4/tcp_cong.c, tcp_input.c's call sites), kept small: each TCP socket has a
 * congestion window (snd_cwnd, snd_ssthresh, snd_cwnd_cnt, packets in flight) and a congestion control
 * (`struct tcp_congestion_ops`) chosen from the registered ones by name (setsockopt TCP_CONGESTION,
 * /proc/sys/net/ipv4/tcp_congestion_control). The stack calls its ops where Linux does for a lossless network:
 * init when the connection is established (tcp_init_transfer), cwnd_event(CA_EVENT_TX_START) when data is sent
 * with nothing in flight, cong_avoid for every ACK that acknowledges segments (tcp_cong_avoid), release when the
 * socket goes (tcp_cleanup_congestion_control).
 *
 * Simplified, and said so: the window is tracked, not enforced (a send puts every segment on the wire at once);
 * no loss is ever detected (the simulated links are lossless and there is no retransmission), so ssthresh,
 * set_state and undo_cwnd are never called by the stack (they are checked at registration, as Linux does);
 * pkts_acked, in_ack_event and cong_control (which take an ack_sample / rate_sample) are not called either.
 * Linux's default is cubic; here the one built-in congestion control is reno, which is the default.
 *
 * The state lives on the Socket (the stack's own reads) and is mirrored into the socket's struct tcp_sock in
 * kernel memory (TCP_SOCK) around each op call, so BPF congestion controls (struct_ops) read and write it there.
 */
import { Errno, TCP_CA_NAME_MAX } from '@ebpf-sim/uapi';
import { SOCK } from '../hooks/kernel-objects.js';
import { KERNEL_TYPES } from '../task/layout.js';

/** enum tcp_ca_state (include/uapi/linux/tcp.h). */
export const TCP_CA_STATE = { Open: 0, Disorder: 1, CWR: 2, Recovery: 3, Loss: 4 } as const;
/** enum tcp_ca_event (include/net/tcp.h). */
export const TCP_CA_EVENT = { TX_START: 0, CWND_RESTART: 1, COMPLETE_CWR: 2, LOSS: 3, ECN_NO_CE: 4, ECN_IS_CE: 5 } as const;
/** TCP_INIT_CWND (include/net/tcp.h). */
export const TCP_INIT_CWND = 10;
/** TCP_INFINITE_SSTHRESH: slow start until the first loss. */
export const TCP_INFINITE_SSTHRESH = 0x7fffffff;
/** tcp_congestion_ops.flags (include/net/tcp.h): NON_RESTRICTED, NEEDS_ECN; TCP_CONG_MASK is their union. */
export const TCP_CONG = { NON_RESTRICTED: 0x1, NEEDS_ECN: 0x2, MASK: 0x3 } as const;
/** ICSK_CA_PRIV_SIZE: a congestion control's private area in inet_connection_sock (13 u64s). */
export const ICSK_CA_PRIV_SIZE = 13 * 8;
/** The built-in congestion control (Linux's tcp_reno). */
export const TCP_RENO_NAME = 'reno';

const align8 = (n: number): number => (n + 7) & ~7;
/** Where inet_connection_sock's own fields start: after the struct sock the socket layer already lays out. */
const ICSK_AT = align8(SOCK.size);
const TP_AT = ICSK_AT + 16 + ICSK_CA_PRIV_SIZE;

/**
 * struct tcp_sock in kernel memory as this kernel lays it out (its vmlinux BTF says the same): struct sock
 * (SOCK) first, then inet_connection_sock's congestion fields, then tcp_sock's window fields. The struct
 * sock part keeps SOCK's offsets (the socket program types' context rewrites use them, and SOCK.snd_cwnd /
 * SOCK.snd_ssthresh there are kept equal to these for bpf_sock_ops).
 */
export const TCP_SOCK = {
  icsk_ca_ops: ICSK_AT,
  icsk_ca_state: ICSK_AT + 8,
  icsk_ca_priv: ICSK_AT + 16,
  icskSize: TP_AT,
  snd_cwnd: TP_AT,
  snd_cwnd_cnt: TP_AT + 4,
  snd_cwnd_clamp: TP_AT + 8,
  snd_ssthresh: TP_AT + 12,
  prior_cwnd: TP_AT + 16,
  packets_out: TP_AT + 20,
  max_packets_out: TP_AT + 24,
  is_cwnd_limited: TP_AT + 28,
  size: TP_AT + 32,
} as const;

// The BTF of the socket types (struct sock_common, sock, inet_sock, inet_connection_sock, tcp_sock), with
// Linux's member names so programs compiled against Linux's vmlinux.h find them by CO-RE; offsets are ours.
KERNEL_TYPES.fixedStruct('sock_common', SOCK.sk_rx_queue_mapping, [
  ['skc_daddr', SOCK.skc_daddr, '__u32'],
  ['skc_rcv_saddr', SOCK.skc_rcv_saddr, '__u32'],
  ['skc_dport', SOCK.skc_dport, '__u16'],
  ['skc_num', SOCK.skc_num, '__u16'],
  ['skc_family', SOCK.skc_family, 'unsigned short'],
  ['skc_state', SOCK.skc_state, 'volatile unsigned char'],
  ['skc_bound_dev_if', SOCK.skc_bound_dev_if, 'int'],
  ['skc_v6_daddr', SOCK.skc_v6_daddr, '__u32[4]'],
  ['skc_v6_rcv_saddr', SOCK.skc_v6_rcv_saddr, '__u32[4]'],
]);
KERNEL_TYPES.fixedStruct('sock', ICSK_AT, [
  ['__sk_common', 0, 'struct sock_common'],
  ['sk_rx_queue_mapping', SOCK.sk_rx_queue_mapping, 'u16'],
  ['sk_type', SOCK.sk_type, 'u16'],
  ['sk_protocol', SOCK.sk_protocol, 'u16'],
  ['sk_mark', SOCK.sk_mark, '__u32'],
  ['sk_priority', SOCK.sk_priority, '__u32'],
  ['sk_txhash', SOCK.sk_txhash, '__u32'],
]);
KERNEL_TYPES.fixedStruct('inet_sock', ICSK_AT, [['sk', 0, 'struct sock']]);
KERNEL_TYPES.fixedStruct('inet_connection_sock', TCP_SOCK.icskSize, [
  ['icsk_inet', 0, 'struct inet_sock'],
  ['icsk_ca_ops', TCP_SOCK.icsk_ca_ops, 'const struct tcp_congestion_ops *'],
  // Linux: `__u8 icsk_ca_state:5, ...` bitfields; a whole byte here.
  ['icsk_ca_state', TCP_SOCK.icsk_ca_state, '__u8'],
  ['icsk_ca_priv', TCP_SOCK.icsk_ca_priv, `u64[${ICSK_CA_PRIV_SIZE / 8}]`],
]);
KERNEL_TYPES.fixedStruct('tcp_sock', TCP_SOCK.size, [
  ['inet_conn', 0, 'struct inet_connection_sock'],
  ['snd_cwnd', TCP_SOCK.snd_cwnd, 'u32'],
  ['snd_cwnd_cnt', TCP_SOCK.snd_cwnd_cnt, 'u32'],
  ['snd_cwnd_clamp', TCP_SOCK.snd_cwnd_clamp, 'u32'],
  ['snd_ssthresh', TCP_SOCK.snd_ssthresh, 'u32'],
  ['prior_cwnd', TCP_SOCK.prior_cwnd, 'u32'],
  ['packets_out', TCP_SOCK.packets_out, 'u32'],
  ['max_packets_out', TCP_SOCK.max_packets_out, 'u32'],
  ['is_cwnd_limited', TCP_SOCK.is_cwnd_limited, 'u8'],
]);

/** A socket's congestion window and its congestion control (the tcp_sock / inet_connection_sock fields). */
export class TcpCwnd {
  sndCwnd = TCP_INIT_CWND;
  sndCwndCnt = 0;
  sndCwndClamp = 0xffffffff;
  sndSsthresh = TCP_INFINITE_SSTHRESH;
  priorCwnd = 0;
  packetsOut = 0;
  maxPacketsOut = 0;
  /** tp->cwnd_usage_seq: the snd_nxt when max_packets_out was last reset (tcp_cwnd_validate). */
  cwndUsageSeq = 0;
  isCwndLimited = false;
  caState: number = TCP_CA_STATE.Open;
  /** The end sequence number of each data segment in flight, oldest first (the retransmit queue). */
  readonly inFlight: number[] = [];
  /** icsk_ca_ops: chosen at socket creation / setsockopt; undefined: the default at tcp_init_transfer. */
  ca: TcpCongestionOps | undefined;
  /** icsk_ca_initialized: init ran (release runs only then). */
  initialized = false;
}

/** What Linux's ops read of a socket: its window (the `struct sock *` the ops get), and where it is in memory. */
export interface TcpCaSocket {
  readonly cwnd: TcpCwnd;
  /** The socket's struct sock / tcp_sock in kernel memory (0: none). */
  readonly sk: number;
}

/**
 * struct tcp_congestion_ops as the stack calls it: the required ops and the optional ones (absent = a NULL
 * function pointer). ssthresh and undo_cwnd are required, and cong_avoid or cong_control (tcp_validate_congestion_control).
 */
export interface TcpCongestionOps {
  readonly name: string;
  readonly flags: number;
  readonly ssthresh?: (sk: TcpCaSocket) => number;
  readonly congAvoid?: (sk: TcpCaSocket, ack: number, acked: number) => void;
  readonly setState?: (sk: TcpCaSocket, newState: number) => void;
  readonly cwndEvent?: (sk: TcpCaSocket, event: number) => void;
  readonly undoCwnd?: (sk: TcpCaSocket) => number;
  readonly init?: (sk: TcpCaSocket) => void;
  readonly release?: (sk: TcpCaSocket) => void;
  /** Whether cong_control is set (the stack does not call it: see the file comment). */
  readonly hasCongControl?: boolean;
}

// ---- Reno (net/ipv4/tcp_cong.c), on the window fields: the built-in ops and the tcp_reno_* kfuncs ----

const minU32 = (a: number, b: number): number => (a >>> 0 < b >>> 0 ? a >>> 0 : b >>> 0);

/** tcp_in_slow_start. */
const inSlowStart = (tp: TcpCwnd): boolean => tp.sndCwnd >>> 0 < tp.sndSsthresh >>> 0;

/** tcp_is_cwnd_limited: in slow start, whether the window is less than twice what was in flight. */
export function tcpIsCwndLimited(tp: TcpCwnd): boolean {
  if (inSlowStart(tp)) return tp.sndCwnd < 2 * tp.maxPacketsOut;
  return tp.isCwndLimited;
}

/** tcp_slow_start: grow by `acked` up to ssthresh; returns what is left of `acked`. */
export function tcpSlowStart(tp: TcpCwnd, acked: number): number {
  const cwnd = minU32(tp.sndCwnd + acked, tp.sndSsthresh);
  const left = (acked - (cwnd - tp.sndCwnd)) >>> 0;
  tp.sndCwnd = minU32(cwnd, tp.sndCwndClamp);
  return left;
}

/** tcp_cong_avoid_ai: one more segment per `w` acknowledged. */
export function tcpCongAvoidAi(tp: TcpCwnd, w: number, acked: number): void {
  w >>>= 0;
  if (tp.sndCwndCnt >>> 0 >= w) {
    tp.sndCwndCnt = 0;
    tp.sndCwnd = (tp.sndCwnd + 1) >>> 0;
  }
  tp.sndCwndCnt = (tp.sndCwndCnt + acked) >>> 0;
  if (w !== 0 && tp.sndCwndCnt >= w) {
    const delta = Math.floor(tp.sndCwndCnt / w);
    tp.sndCwndCnt -= delta * w;
    tp.sndCwnd = (tp.sndCwnd + delta) >>> 0;
  }
  tp.sndCwnd = minU32(tp.sndCwnd, tp.sndCwndClamp);
}

/** tcp_reno_cong_avoid. */
export function tcpRenoCongAvoid(tp: TcpCwnd, acked: number): void {
  if (!tcpIsCwndLimited(tp)) return;
  if (inSlowStart(tp)) {
    acked = tcpSlowStart(tp, acked);
    if (acked === 0) return;
  }
  tcpCongAvoidAi(tp, tp.sndCwnd, acked);
}

/** tcp_reno_ssthresh: half the window, at least 2. */
export function tcpRenoSsthresh(tp: TcpCwnd): number {
  return Math.max(tp.sndCwnd >>> 1, 2);
}

/** tcp_reno_undo_cwnd. */
export function tcpRenoUndoCwnd(tp: TcpCwnd): number {
  return Math.max(tp.sndCwnd >>> 0, tp.priorCwnd >>> 0);
}

/** tcp_reno: the built-in congestion control (TCP_CONG_NON_RESTRICTED). */
export const TCP_RENO: TcpCongestionOps = {
  name: TCP_RENO_NAME,
  flags: TCP_CONG.NON_RESTRICTED,
  ssthresh: (sk) => tcpRenoSsthresh(sk.cwnd),
  congAvoid: (sk, _ack, acked) => tcpRenoCongAvoid(sk.cwnd, acked),
  undoCwnd: (sk) => tcpRenoUndoCwnd(sk.cwnd),
};

// ---- the window in kernel memory ----

/** Write the window into the socket's tcp_sock (before an op runs: BPF ops read it there). */
export function writeTcpCwnd(view: DataView, sk: number, tp: TcpCwnd): void {
  if (sk === 0) return;
  view.setUint32(sk + TCP_SOCK.snd_cwnd, tp.sndCwnd >>> 0, true);
  view.setUint32(sk + TCP_SOCK.snd_cwnd_cnt, tp.sndCwndCnt >>> 0, true);
  view.setUint32(sk + TCP_SOCK.snd_cwnd_clamp, tp.sndCwndClamp >>> 0, true);
  view.setUint32(sk + TCP_SOCK.snd_ssthresh, tp.sndSsthresh >>> 0, true);
  view.setUint32(sk + TCP_SOCK.prior_cwnd, tp.priorCwnd >>> 0, true);
  view.setUint32(sk + TCP_SOCK.packets_out, tp.packetsOut >>> 0, true);
  view.setUint32(sk + TCP_SOCK.max_packets_out, tp.maxPacketsOut >>> 0, true);
  view.setUint8(sk + TCP_SOCK.is_cwnd_limited, tp.isCwndLimited ? 1 : 0);
  view.setUint8(sk + TCP_SOCK.icsk_ca_state, tp.caState);
  // bpf_sock_ops reads the struct sock copies.
  view.setUint32(sk + SOCK.snd_cwnd, tp.sndCwnd >>> 0, true);
  view.setUint32(sk + SOCK.snd_ssthresh, tp.sndSsthresh >>> 0, true);
}

/** Read back what an op may change (bpf_tcp_ca_btf_struct_access lets BPF write snd_cwnd, snd_cwnd_cnt, snd_ssthresh...). */
export function readTcpCwnd(view: DataView, sk: number, tp: TcpCwnd): void {
  if (sk === 0) return;
  tp.sndCwnd = view.getUint32(sk + TCP_SOCK.snd_cwnd, true);
  tp.sndCwndCnt = view.getUint32(sk + TCP_SOCK.snd_cwnd_cnt, true);
  tp.sndSsthresh = view.getUint32(sk + TCP_SOCK.snd_ssthresh, true);
  view.setUint32(sk + SOCK.snd_cwnd, tp.sndCwnd, true);
  view.setUint32(sk + SOCK.snd_ssthresh, tp.sndSsthresh, true);
}

const seqBefore = (a: number, b: number): boolean => ((a - b) | 0) < 0;

/**
 * The congestion controls of this kernel (tcp_cong_list) and the stack's call sites into them. Registering
 * takes a name not yet used (EEXIST) and the required ops (EINVAL).
 */
export class TcpCongestionControl {
  private readonly list: TcpCongestionOps[] = [TCP_RENO];
  private defaultOps: TcpCongestionOps = TCP_RENO;

  constructor(private readonly view: DataView) {}

  /** tcp_validate_congestion_control: ssthresh, undo_cwnd, and cong_avoid or cong_control. */
  static validate(ops: TcpCongestionOps): number {
    if (ops.ssthresh === undefined || ops.undoCwnd === undefined || (ops.congAvoid === undefined && ops.hasCongControl !== true)) return -Errno.EINVAL;
    return 0;
  }

  /** tcp_register_congestion_control. */
  register(ops: TcpCongestionOps): number {
    const bad = TcpCongestionControl.validate(ops);
    if (bad !== 0) return bad;
    if (ops.name === '' || ops.name.length >= TCP_CA_NAME_MAX) return -Errno.EINVAL;
    if (this.find(ops.name) !== undefined) return -Errno.EEXIST;
    this.list.push(ops);
    return 0;
  }

  /** tcp_unregister_congestion_control (sockets using it keep it until they go). */
  unregister(ops: TcpCongestionOps): void {
    const at = this.list.indexOf(ops);
    if (at > 0) this.list.splice(at, 1);
    if (this.defaultOps === ops) this.defaultOps = TCP_RENO;
  }

  /**
   * tcp_update_congestion_control (a struct_ops link moved to another map): `ops` valid, `old` the one registered
   * under its name (EINVAL otherwise); `ops` goes in (at the tail, as Linux's list_add_tail_rcu) before `old` goes,
   * so one is always there. As Linux, the new name is not checked against the others. Sockets using `old` keep it.
   */
  update(ops: TcpCongestionOps, old: TcpCongestionOps): number {
    const bad = TcpCongestionControl.validate(ops);
    if (bad !== 0) return bad;
    if (ops.name === '' || this.find(old.name) !== old) return -Errno.EINVAL;
    this.list.push(ops);
    this.unregister(old);
    return 0;
  }

  find(name: string): TcpCongestionOps | undefined {
    return this.list.find((ops) => ops.name === name);
  }

  /** /proc/sys/net/ipv4/tcp_available_congestion_control: the names, space-separated. */
  available(): string {
    return this.list.map((ops) => ops.name).join(' ');
  }

  /** /proc/sys/net/ipv4/tcp_congestion_control. */
  get defaultName(): string {
    return this.defaultOps.name;
  }

  /** tcp_set_default_congestion_control: ENOENT for a name not registered. */
  setDefault(name: string): number {
    const ops = this.find(name);
    if (ops === undefined) return -Errno.ENOENT;
    this.defaultOps = ops;
    return 0;
  }

  /**
   * tcp_set_congestion_control (setsockopt TCP_CONGESTION): ENOENT for an unknown name; a connected socket
   * switches at once (tcp_reinit_congestion_control: the old one released, the private area cleared, the new one initialised).
   */
  setSocket(sk: TcpCaSocket, name: string, connected: boolean): number {
    const ops = this.find(name);
    if (ops === undefined) return -Errno.ENOENT;
    const tp = sk.cwnd;
    if (tp.ca === ops) return 0;
    if (!connected) {
      tp.ca = ops;
      return 0;
    }
    this.cleanup(sk);
    tp.ca = ops;
    if (sk.sk !== 0) new Uint8Array(this.view.buffer, this.view.byteOffset + sk.sk + TCP_SOCK.icsk_ca_priv, ICSK_CA_PRIV_SIZE).fill(0);
    this.init(sk);
    return 0;
  }

  /** The name getsockopt(TCP_CONGESTION) reports: the socket's, or the default it will get. */
  nameOf(sk: TcpCaSocket): string {
    return (sk.cwnd.ca ?? this.defaultOps).name;
  }

  /** tcp_init_transfer's part: the initial window and tcp_init_congestion_control (the default unless chosen). */
  initTransfer(sk: TcpCaSocket): void {
    const tp = sk.cwnd;
    tp.sndCwnd = TCP_INIT_CWND;
    tp.sndSsthresh = TCP_INFINITE_SSTHRESH;
    tp.ca ??= this.defaultOps;
    this.init(sk);
  }

  private init(sk: TcpCaSocket): void {
    const tp = sk.cwnd;
    const init = tp.ca?.init;
    if (init !== undefined) this.call(sk, init);
    tp.initialized = true;
  }

  /**
   * tcp_event_new_data_sent / tcp_cwnd_validate for one segment ending at `endSeq`, `sndNxt` before it; with
   * `data` (not a bare FIN) tcp_event_data_sent too.
   */
  dataSent(sk: TcpCaSocket, endSeq: number, sndNxt: number, data = true): void {
    const tp = sk.cwnd;
    // tcp_event_data_sent: CA_EVENT_TX_START when nothing was in flight.
    if (data && tp.packetsOut === 0) {
      const event = tp.ca?.cwndEvent;
      if (event !== undefined) {
        writeTcpCwnd(this.view, sk.sk, tp);
        event(sk, TCP_CA_EVENT.TX_START);
        readTcpCwnd(this.view, sk.sk, tp);
      }
    }
    tp.packetsOut++;
    tp.inFlight.push(endSeq >>> 0);
    // tcp_cwnd_validate: the most in flight in this window, and whether the window limits sending.
    const limited = tp.packetsOut >= tp.sndCwnd;
    if (!seqBefore(sndNxt, tp.cwndUsageSeq) || limited || tp.packetsOut > tp.maxPacketsOut) {
      tp.maxPacketsOut = tp.packetsOut;
      tp.cwndUsageSeq = endSeq >>> 0;
      tp.isCwndLimited = limited;
    }
  }

  /** tcp_ack's congestion part: the segments `ack` acknowledges leave the flight, then tcp_cong_avoid. */
  acked(sk: TcpCaSocket, ack: number): void {
    const tp = sk.cwnd;
    let acked = 0;
    while (tp.inFlight.length > 0 && !seqBefore(ack, tp.inFlight[0] as number)) {
      tp.inFlight.shift();
      acked++;
    }
    if (acked === 0) return;
    const avoid = tp.ca?.congAvoid;
    if (avoid !== undefined) {
      writeTcpCwnd(this.view, sk.sk, tp);
      avoid(sk, ack >>> 0, acked);
      readTcpCwnd(this.view, sk.sk, tp);
    }
    tp.packetsOut -= acked;
  }

  /** tcp_cleanup_congestion_control: release, once initialised. */
  cleanup(sk: TcpCaSocket): void {
    const tp = sk.cwnd;
    const release = tp.ca?.release;
    if (tp.initialized && release !== undefined) this.call(sk, release);
    tp.initialized = false;
  }

  /** An op run with the window mirrored into the socket's tcp_sock and read back after (the per-ACK calls do it inline). */
  private call(sk: TcpCaSocket, op: (sk: TcpCaSocket) => unknown): void {
    writeTcpCwnd(this.view, sk.sk, sk.cwnd);
    op(sk);
    readTcpCwnd(this.view, sk.sk, sk.cwnd);
  }
}
