/**
 * The network stack's cgroup hook sites (include/linux/bpf-cgroup.h): BPF_CGROUP_RUN_PROG_INET_INGRESS in
 * sk_filter_trim_cap, BPF_CGROUP_RUN_PROG_INET_EGRESS in ip_finish_output, BPF_CGROUP_RUN_PROG_INET_SOCK in
 * inet_create, BPF_CGROUP_RUN_PROG_INET4_POST_BIND in __inet_bind and BPF_CGROUP_RUN_PROG_INET_SOCK_RELEASE in
 * inet_release. Each runs the programs effective at the cgroup the socket was created in (sk->sk_cgrp_data:
 * cgroup_sk_alloc takes the creating task's; an accepted TCP socket keeps its listener's), only for AF_INET
 * sockets, and costs one array read when nothing is attached there (cgroup_bpf_sock_enabled).
 *
 * The runs themselves belong to the bpf subsystem (CgroupBpfRunner); the skb is prepared here as
 * __cgroup_bpf_run_filter_skb does: skb->sk set to the socket, data pushed back to the network header and
 * data_end computed, all restored afterwards.
 */
import { BPF_ATTACH_TYPE, ETH_HLEN, Errno, PACKET_TYPE } from '@ebpf-sim/uapi';
import { SK_BUFF } from '../hooks/kernel-objects.js';
import type { NetInterface } from '../net/interface.js';
import type { Socket } from '../net/socket.js';
import type { NetStack } from '../net/stack.js';

/** NET_XMIT_* (include/linux/netdevice.h), what an egress run answers besides -errno. */
export const NET_XMIT_SUCCESS = 0;
export const NET_XMIT_DROP = 1;
export const NET_XMIT_CN = 2;

const readPtr = (view: DataView, at: number): number => view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
const writePtr = (view: DataView, at: number, value: number): void => {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
};

/** Whether programs run at `attachType` for `sock` (an AF_INET socket whose cgroup has effective programs there). */
function enabled(stack: NetStack, sock: Socket, attachType: number): boolean {
  return sock.isInet && sock.cgroup !== undefined && sock.cgroup.bpfEffective[attachType] !== 0 && stack.k.cgroups.bpf !== undefined;
}

/** __cgroup_bpf_run_filter_skb on `skb` (data anywhere at or past the network header): 0, a NET_XMIT code or -errno. */
function runSkb(stack: NetStack, sock: Socket, skb: number, attachType: number): number {
  const runner = stack.k.cgroups.bpf;
  const cgroup = sock.cgroup;
  if (runner === undefined || cgroup === undefined) return 0;
  const view = stack.k.phys.view;
  const skbs = stack.skbs;
  const network = readPtr(view, skb + SK_BUFF.head) + view.getUint16(skb + SK_BUFF.network_header, true);
  const offset = skbs.data(skb) - network;
  const savedSk = readPtr(view, skb + SK_BUFF.sk);
  writePtr(view, skb + SK_BUFF.sk, sock.sk);
  skbs.pull(skb, -offset);
  skbs.computeDataPointers(skb);
  try {
    return runner.runSkb(cgroup, attachType, sock.sk, skb, stack.k.current.currentTask());
  } finally {
    skbs.pull(skb, offset);
    writePtr(view, skb + SK_BUFF.sk, savedSk);
  }
}

/** BPF_CGROUP_RUN_PROG_INET_INGRESS: 0 to deliver `skb` to `sock`, -EPERM when a program dropped it. */
export function cgroupInetIngress(stack: NetStack, sock: Socket, skb: number): number {
  return enabled(stack, sock, BPF_ATTACH_TYPE.CGROUP_INET_INGRESS) ? runSkb(stack, sock, skb, BPF_ATTACH_TYPE.CGROUP_INET_INGRESS) : 0;
}

/**
 * BPF_CGROUP_RUN_PROG_INET_EGRESS in ip_finish_output for the packet `frame` (Ethernet header first) `sock`
 * sends through `iface`: NET_XMIT_SUCCESS / NET_XMIT_CN to send it, NET_XMIT_DROP or -errno (-EPERM) to drop it.
 */
export function cgroupInetEgress(stack: NetStack, sock: Socket, iface: NetInterface, frame: Uint8Array): number {
  if (!enabled(stack, sock, BPF_ATTACH_TYPE.CGROUP_INET_EGRESS)) return NET_XMIT_SUCCESS;
  const skbs = stack.skbs;
  const skb = skbs.alloc(frame, iface.netdev, iface.ifindex, PACKET_TYPE.HOST, 0);
  // The packet needs an skb for the programs to see (Linux already has one): no memory for it drops the packet.
  if (skb < 0) return -Errno.ENOMEM;
  try {
    skbs.pull(skb, ETH_HLEN);
    return runSkb(stack, sock, skb, BPF_ATTACH_TYPE.CGROUP_INET_EGRESS);
  } finally {
    skbs.free(skb);
  }
}

/**
 * BPF_CGROUP_RUN_PROG_INET_SOCK / INET4_POST_BIND / INET_SOCK_RELEASE: the programs of `attachType` on the
 * socket's struct sock; 0, or -EPERM when one refused.
 */
export function cgroupInetSock(stack: NetStack, sock: Socket, attachType: number): number {
  if (!enabled(stack, sock, attachType) || sock.sk === 0) return 0;
  const runner = stack.k.cgroups.bpf;
  const cgroup = sock.cgroup;
  if (runner === undefined || cgroup === undefined) return 0;
  return runner.runSock(cgroup, attachType, sock.sk, stack.k.current.currentTask());
}
