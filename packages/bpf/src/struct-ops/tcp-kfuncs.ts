/**
 * The kfuncs a BPF TCP congestion control may call (net/ipv4/bpf_tcp_ca.c bpf_tcp_ca_check_kfunc_ids, Linux
 * 6.18: registered for BPF_PROG_TYPE_STRUCT_OPS): the kernel's Reno pieces, working on the socket's
 * struct tcp_sock in kernel memory, as Linux's do (the stack reads the window back after the op returns).
 */
import { TCP_SOCK, TcpCwnd, tcpCongAvoidAi, tcpRenoCongAvoid, tcpRenoSsthresh, tcpRenoUndoCwnd, tcpSlowStart } from '@ebpf-sim/kernel';
import type { HelperFn } from '@ebpf-sim/vm';
import { kfunc, type BpfKfunc, type KfuncEnv } from '../kfuncs/define.js';

const SK = { name: 'sk', ctype: 'struct sock *' };
const TP = { name: 'tp', ctype: 'struct tcp_sock *' };

/** The window of the tcp_sock at `sk` into `tp` (every field the Reno pieces read). */
function load(view: DataView, sk: number, tp: TcpCwnd): void {
  tp.sndCwnd = view.getUint32(sk + TCP_SOCK.snd_cwnd, true);
  tp.sndCwndCnt = view.getUint32(sk + TCP_SOCK.snd_cwnd_cnt, true);
  tp.sndCwndClamp = view.getUint32(sk + TCP_SOCK.snd_cwnd_clamp, true);
  tp.sndSsthresh = view.getUint32(sk + TCP_SOCK.snd_ssthresh, true);
  tp.priorCwnd = view.getUint32(sk + TCP_SOCK.prior_cwnd, true);
  tp.maxPacketsOut = view.getUint32(sk + TCP_SOCK.max_packets_out, true);
  tp.isCwndLimited = view.getUint8(sk + TCP_SOCK.is_cwnd_limited) !== 0;
}

/** What the Reno pieces change: the window and its counter. */
function store(view: DataView, sk: number, tp: TcpCwnd): void {
  view.setUint32(sk + TCP_SOCK.snd_cwnd, tp.sndCwnd >>> 0, true);
  view.setUint32(sk + TCP_SOCK.snd_cwnd_cnt, tp.sndCwndCnt >>> 0, true);
}

/**
 * A kfunc over the tcp_sock its first argument points to: the window loaded into one scratch record made
 * when the runtime binds the kfunc (no allocation per call), `op` run, what it changed stored back.
 */
function onTcpSock(op: (tp: TcpCwnd, a2: number, a3: number) => number): (env: KfuncEnv) => HelperFn {
  return (env) => {
    const tp = new TcpCwnd();
    return (ctx) => {
      const sk = ctx.argNumber(1);
      // The verifier passed a trusted tcp_sock; a NULL or wild pointer cannot reach here, but the kernel stays safe.
      const view = env.k.phys.view;
      if (sk <= 0 || sk + TCP_SOCK.size > view.byteLength) return 0;
      load(view, sk, tp);
      const ret = op(tp, ctx.argU32(2), ctx.argU32(3));
      store(view, sk, tp);
      return ret >>> 0;
    };
  };
}

export const TCP_CA_KFUNCS: readonly BpfKfunc[] = [
  kfunc('tcp_reno_ssthresh', { ret: 'u32', args: [SK] }, 0, 'struct_ops', onTcpSock(tcpRenoSsthresh)),
  kfunc(
    'tcp_reno_cong_avoid',
    { ret: 'void', args: [SK, { name: 'ack', ctype: 'u32' }, { name: 'acked', ctype: 'u32' }] },
    0,
    'struct_ops',
    onTcpSock((tp, _ack, acked) => {
      tcpRenoCongAvoid(tp, acked);
      return 0;
    }),
  ),
  kfunc('tcp_reno_undo_cwnd', { ret: 'u32', args: [SK] }, 0, 'struct_ops', onTcpSock(tcpRenoUndoCwnd)),
  kfunc('tcp_slow_start', { ret: 'u32', args: [TP, { name: 'acked', ctype: 'u32' }] }, 0, 'struct_ops', onTcpSock(tcpSlowStart)),
  kfunc(
    'tcp_cong_avoid_ai',
    { ret: 'void', args: [TP, { name: 'w', ctype: 'u32' }, { name: 'acked', ctype: 'u32' }] },
    0,
    'struct_ops',
    onTcpSock((tp, w, acked) => {
      tcpCongAvoidAi(tp, w, acked);
      return 0;
    }),
  ),
];
