/**
 * bpf_prog_test_run_skb (net/bpf/test_run.c, Linux 6.18) for SCHED_CLS and SOCKET_FILTER: data_in becomes a
 * linear sk_buff with NET_SKB_PAD of headroom, received on the loopback device (or the device ctx_in.ifindex
 * names) through eth_type_trans; a tc program sees it from the MAC header, a socket filter from the network
 * header, and data_out gets the link-layer header back (zeroed for socket filters, as Linux writes it). The skb
 * owns a dummy socket (dummySocket), as Linux's does.
 */
import { NET_DEVICE, QDISC_SKB_CB, SKB_PKT_TYPE_MAX, SKB_SHARED_INFO, SK_BUFF, SK_NO_QUEUE_MAPPING, SOCK } from '@ebpf-sim/kernel';
import { AF, Errno, PAGE_SIZE, TCP_STATE, __SK_BUFF } from '@ebpf-sim/uapi';
import { skbComputeDataPointers } from '../net/skbuff.js';
import { ETH_HLEN, readPtr, writePtr } from '../net/xdp.js';
import { TestRunAllocations, bpfTestRun, buildLoopback, ctxFinish, ctxInit, deviceByIndex, skbDataAlign, testFinish } from './common.js';
import type { TestRunAttr, TestRunEnv, TestRunOp } from './types.js';

/** NET_SKB_PAD (max(32, L1_CACHE_BYTES)) + NET_IP_ALIGN (0 on x86): the headroom of a test run's skb. */
const SKB_HEADROOM = 64;
/** GSO_LEGACY_MAX_SIZE and GSO_MAX_SEGS: the bounds of wire_len and gso_segs in ctx_in. */
const GSO_LEGACY_MAX_SIZE = 65536;
const GSO_MAX_SEGS = 65535;
/** QDISC_CB_PRIV_LEN: the cb[] bytes a program and ctx_in share. */
const QDISC_CB_PRIV_LEN = QDISC_SKB_CB.dataSize;
/** ETH_P_802_3_MIN, ETH_P_802_3, ETH_P_802_2 (eth_type_trans's protocols for 802.3 frames). */
const ETH_P_802_3_MIN = 0x0600;
const ETH_P_802_3 = 0x0001;
const ETH_P_802_2 = 0x0004;
/** skb->pkt_type values (PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST). */
const PACKET_BROADCAST = 1;
const PACKET_MULTICAST = 2;
const PACKET_OTHERHOST = 3;

/**
 * The __sk_buff fields ctx_in may set (convert___skb_to_skb); every other byte must be zero. As [offset, size].
 * `ifindex` only chooses the device.
 */
const SETTABLE: ReadonlyArray<readonly [number, number]> = [
  [__SK_BUFF.mark, 4],
  [__SK_BUFF.priority, 4],
  [__SK_BUFF.ingress_ifindex, 4],
  [__SK_BUFF.ifindex, 4],
  [__SK_BUFF.cb, QDISC_CB_PRIV_LEN],
  [__SK_BUFF.tstamp, 8],
  [__SK_BUFF.wire_len, 4],
  [__SK_BUFF.gso_segs, 4],
  [__SK_BUFF.gso_size, 4],
  [__SK_BUFF.hwtstamp, 8],
];

function onlySettable(ctx: Uint8Array): boolean {
  let at = 0;
  for (const [off, size] of SETTABLE) {
    for (; at < off; at++) if (ctx[at] !== 0) return false;
    at = off + size;
  }
  for (; at < ctx.length; at++) if (ctx[at] !== 0) return false;
  return true;
}

/** How a program type sees the skb (the switch at the top of bpf_prog_test_run_skb). */
export interface SkbTestRunKind {
  /** The program sees the link-layer header (tc): it is pushed back before the run. */
  readonly isL2: boolean;
  /** Direct packet access: data/data_end are computed before the run. */
  readonly directPacketAccess: boolean;
}

interface Skb {
  readonly skb: number;
  readonly free: () => void;
}

/** eth_type_trans: the device, MAC header, packet type and protocol; the Ethernet header pulled. */
function ethTypeTrans(env: TestRunEnv, skb: number, netdev: number): void {
  const { view, bytes } = env.phys;
  const data = readPtr(view, skb + SK_BUFF.data);
  const head = readPtr(view, skb + SK_BUFF.head);
  writePtr(view, skb + SK_BUFF.dev, netdev);
  view.setUint16(skb + SK_BUFF.mac_header, data - head, true);
  // The devices have no hardware address in the simulated net_device: all-zero, as lo's.
  let pktType = 0;
  if (((bytes[data] ?? 0) & 1) !== 0) {
    pktType = bytes.subarray(data, data + 6).every((b) => b === 0xff) ? PACKET_BROADCAST : PACKET_MULTICAST;
  } else if (bytes.subarray(data, data + 6).some((b) => b !== 0)) {
    pktType = PACKET_OTHERHOST;
  }
  const typeByte = view.getUint8(skb + SK_BUFF.pkt_type_byte);
  view.setUint8(skb + SK_BUFF.pkt_type_byte, (typeByte & ~SKB_PKT_TYPE_MAX) | pktType);
  const proto = view.getUint16(data + 12, false);
  let protocol = proto;
  if (proto < ETH_P_802_3_MIN) protocol = view.getUint16(data + ETH_HLEN, true) === 0xffff ? ETH_P_802_3 : ETH_P_802_2;
  // skb->protocol is __be16.
  view.setUint16(skb + SK_BUFF.protocol, protocol, false);
  writePtr(view, skb + SK_BUFF.data, data + ETH_HLEN);
  view.setUint32(skb + SK_BUFF.len, view.getUint32(skb + SK_BUFF.len, true) - ETH_HLEN, true);
}

/** __skb_push / __skb_pull by `n` bytes (negative pulls). */
function skbPush(view: DataView, skb: number, n: number): void {
  writePtr(view, skb + SK_BUFF.data, readPtr(view, skb + SK_BUFF.data) - n);
  view.setUint32(skb + SK_BUFF.len, view.getUint32(skb + SK_BUFF.len, true) + n, true);
}

/** ETH_P_IP and ETH_P_IPV6 (skb->protocol, host order here), the header sizes and address offsets the dummy socket copies. */
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPV4 = { size: 20, saddr: 12, daddr: 16 } as const;
const IPV6 = { size: 40, saddr: 8, daddr: 24 } as const;

/**
 * The socket bpf_prog_test_run_skb hangs off the skb (sk_alloc of bpf_dummy_proto + sock_init_data(NULL, sk)):
 * CLOSE, no queue mapping, in the calling task's cgroup (cgroup_sk_alloc), and for an IPv4 or IPv6 packet that
 * family with the packet's source as its local address and destination as its remote one, when the header fits
 * the linear data. `sk` is zeroed memory of SOCK.size; the skb must already be past eth_type_trans.
 */
function dummySocket(env: TestRunEnv, skb: number, sk: number): void {
  const { view, bytes } = env.phys;
  writePtr(view, skb + SK_BUFF.sk, sk);
  view.setUint8(sk + SOCK.skc_state, TCP_STATE.CLOSE);
  view.setUint16(sk + SOCK.sk_rx_queue_mapping, SK_NO_QUEUE_MAPPING, true);
  writePtr(view, sk + SOCK.sk_cgrp_data, env.cgroupAddress ?? 0);
  const data = readPtr(view, skb + SK_BUFF.data);
  const headlen = view.getUint32(skb + SK_BUFF.len, true) - view.getUint32(skb + SK_BUFF.data_len, true);
  // Addresses stay in network order, as the kernel keeps them (__be32, struct in6_addr).
  switch (view.getUint16(skb + SK_BUFF.protocol, false)) {
    case ETH_P_IP:
      view.setUint16(sk + SOCK.skc_family, AF.INET, true);
      if (IPV4.size <= headlen) {
        bytes.copyWithin(sk + SOCK.skc_rcv_saddr, data + IPV4.saddr, data + IPV4.saddr + 4);
        bytes.copyWithin(sk + SOCK.skc_daddr, data + IPV4.daddr, data + IPV4.daddr + 4);
      }
      break;
    case ETH_P_IPV6:
      view.setUint16(sk + SOCK.skc_family, AF.INET6, true);
      if (IPV6.size <= headlen) {
        bytes.copyWithin(sk + SOCK.skc_v6_rcv_saddr, data + IPV6.saddr, data + IPV6.saddr + 16);
        bytes.copyWithin(sk + SOCK.skc_v6_daddr, data + IPV6.daddr, data + IPV6.daddr + 16);
      }
      break;
    default:
      break;
  }
}

/** Build the skb and apply ctx_in (convert___skb_to_skb); -errno on failure, everything freed. */
function buildSkb(attr: TestRunAttr, env: TestRunEnv, kind: SkbTestRunKind, ctx: Uint8Array | null): Skb | number {
  const allocs = new TestRunAllocations(env);
  const free = (): void => allocs.freeAll();
  const fail = (errno: number): number => {
    free();
    return errno;
  };
  const { view } = env.phys;
  const size = attr.data_size_in;
  const lo = buildLoopback(env, allocs);
  const dataArea = skbDataAlign(size);
  const head = allocs.kzalloc(SKB_HEADROOM + dataArea + SKB_SHARED_INFO.size);
  const skb = allocs.kzalloc(SK_BUFF.size);
  if (lo === undefined || head < 0 || skb < 0) return fail(-Errno.ENOMEM);
  if (!env.user.copyFromUser(attr.data_in, env.phys.bytes, head + SKB_HEADROOM, size)) return fail(-Errno.EFAULT);
  // slab_build_skb + skb_reserve + __skb_put.
  writePtr(view, skb + SK_BUFF.head, head);
  writePtr(view, skb + SK_BUFF.data, head + SKB_HEADROOM);
  writePtr(view, skb + SK_BUFF.tail, head + SKB_HEADROOM + size);
  writePtr(view, skb + SK_BUFF.end, head + SKB_HEADROOM + dataArea);
  view.setUint32(skb + SK_BUFF.len, size, true);
  view.setUint32(skb + SK_BUFF.users, 1, true);
  view.setUint32(skb + SK_BUFF.truesize, SK_BUFF.size + SKB_HEADROOM + dataArea + SKB_SHARED_INFO.size, true);
  const cv = ctx === null ? null : new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  let dev = lo;
  const ifindex = cv?.getUint32(__SK_BUFF.ifindex, true) ?? 0;
  if (ifindex > 1) {
    const named = deviceByIndex(env, lo, ifindex);
    if (named === undefined) return fail(-Errno.ENODEV);
    dev = named;
  }
  ethTypeTrans(env, skb, dev.netdev);
  view.setUint16(skb + SK_BUFF.network_header, readPtr(view, skb + SK_BUFF.data) - head, true);
  const sk = allocs.kzalloc(SOCK.size);
  if (sk < 0) return fail(-Errno.ENOMEM);
  dummySocket(env, skb, sk);
  if (kind.isL2) skbPush(view, skb, ETH_HLEN);
  if (kind.directPacketAccess) skbComputeDataPointers(view, skb);
  // Linux 6.18 runs an L3 program on a frame that is only an Ethernet header (len 0): see fixtures/test-run.
  const len = view.getUint32(skb + SK_BUFF.len, true);
  if (cv !== null && ctx !== null) {
    if (!onlySettable(ctx)) return fail(-Errno.EINVAL);
    view.setUint32(skb + SK_BUFF.mark, cv.getUint32(__SK_BUFF.mark, true), true);
    view.setUint32(skb + SK_BUFF.priority, cv.getUint32(__SK_BUFF.priority, true), true);
    view.setUint32(skb + SK_BUFF.skb_iif, cv.getUint32(__SK_BUFF.ingress_ifindex, true), true);
    view.setBigUint64(skb + SK_BUFF.tstamp, cv.getBigUint64(__SK_BUFF.tstamp, true), true);
    env.phys.bytes.set(ctx.subarray(__SK_BUFF.cb, __SK_BUFF.cb + QDISC_CB_PRIV_LEN), skb + SK_BUFF.cb + QDISC_SKB_CB.data);
    const wireLen = cv.getUint32(__SK_BUFF.wire_len, true);
    if (wireLen !== 0 && (wireLen < len || wireLen > GSO_LEGACY_MAX_SIZE)) return fail(-Errno.EINVAL);
    view.setUint32(skb + SK_BUFF.cb + QDISC_SKB_CB.pkt_len, wireLen === 0 ? len : wireLen, true);
    const gsoSegs = cv.getUint32(__SK_BUFF.gso_segs, true);
    if (gsoSegs > GSO_MAX_SEGS) return fail(-Errno.EINVAL);
    const shinfo = readPtr(view, skb + SK_BUFF.end);
    view.setUint16(shinfo + SKB_SHARED_INFO.gso_segs, gsoSegs, true);
    view.setUint16(shinfo + SKB_SHARED_INFO.gso_size, cv.getUint32(__SK_BUFF.gso_size, true), true);
    view.setBigUint64(shinfo + SKB_SHARED_INFO.hwtstamps, cv.getBigUint64(__SK_BUFF.hwtstamp, true), true);
  }
  return { skb, free };
}

/** convert_skb_to___skb: what ctx_out reports (gso_size is not copied back, as in Linux). */
function convertSkbToCtx(view: DataView, skb: number, ctx: Uint8Array): void {
  const cv = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const shinfo = readPtr(view, skb + SK_BUFF.end);
  cv.setUint32(__SK_BUFF.mark, view.getUint32(skb + SK_BUFF.mark, true), true);
  cv.setUint32(__SK_BUFF.priority, view.getUint32(skb + SK_BUFF.priority, true), true);
  cv.setUint32(__SK_BUFF.ingress_ifindex, view.getUint32(skb + SK_BUFF.skb_iif, true), true);
  cv.setUint32(__SK_BUFF.ifindex, view.getUint32(readPtr(view, skb + SK_BUFF.dev) + NET_DEVICE.ifindex, true), true);
  cv.setBigUint64(__SK_BUFF.tstamp, view.getBigUint64(skb + SK_BUFF.tstamp, true), true);
  const cb = skb + SK_BUFF.cb + QDISC_SKB_CB.data;
  ctx.set(new Uint8Array(view.buffer, cb, QDISC_CB_PRIV_LEN), __SK_BUFF.cb);
  cv.setUint32(__SK_BUFF.wire_len, view.getUint32(skb + SK_BUFF.cb + QDISC_SKB_CB.pkt_len, true), true);
  cv.setUint32(__SK_BUFF.gso_segs, view.getUint16(shinfo + SKB_SHARED_INFO.gso_segs, true), true);
  cv.setBigUint64(__SK_BUFF.hwtstamp, view.getBigUint64(shinfo + SKB_SHARED_INFO.hwtstamps, true), true);
}

/** bpf_prog_test_run_skb for a program type that sees the skb as `kind` says. */
export function testRunSkb(kind: SkbTestRunKind): TestRunOp {
  return (prog, attr, env, out) => {
    // BPF_F_TEST_SKB_CHECKSUM_COMPLETE is not modelled (our skbs are CHECKSUM_NONE): refused as an unknown flag.
    if (attr.flags !== 0 || attr.cpu !== 0 || attr.batch_size !== 0) return -Errno.EINVAL;
    if (attr.data_size_in < ETH_HLEN) return -Errno.EINVAL;
    // bpf_test_init: the data and the shared info fit a page after the headroom.
    if (attr.data_size_in > PAGE_SIZE - SKB_HEADROOM - SKB_SHARED_INFO.size) return -Errno.EINVAL;
    const ctx = ctxInit(attr, env, __SK_BUFF.size);
    if (typeof ctx === 'number') return ctx;
    const built = buildSkb(attr, env, kind, ctx);
    if (typeof built === 'number') return built;
    const { view } = env.phys;
    try {
      const run = bpfTestRun(prog, built.skb, attr.repeat, env.currentCpu, env, () => {
        const copy = buildSkb(attr, env, kind, ctx === null ? null : ctx.slice());
        return typeof copy === 'number' ? undefined : { ctx: copy.skb, free: copy.free };
      });
      if (run.err < 0) return run.err;
      // A socket filter ran on the network header: the link-layer header goes back, zeroed.
      if (!kind.isL2) {
        skbPush(view, built.skb, ETH_HLEN);
        const data = readPtr(view, built.skb + SK_BUFF.data);
        env.phys.bytes.fill(0, data, data + ETH_HLEN);
      }
      if (ctx !== null) convertSkbToCtx(view, built.skb, ctx);
      const data = readPtr(view, built.skb + SK_BUFF.data);
      const size = view.getUint32(built.skb + SK_BUFF.len, true);
      const err = testFinish(attr, env, out, env.phys.bytes.slice(data, data + size), 0, run.retval, run.duration);
      return err === 0 ? ctxFinish(attr, env, out, ctx) : err;
    } finally {
      built.free();
    }
  };
}
