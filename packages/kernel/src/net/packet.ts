/**
 * AF_PACKET SOCK_RAW sockets (net/packet/af_packet.c): each sees every frame of its device (or of every device
 * when unbound) whose protocol matches (ETH_P_ALL: all), received (PACKET_HOST...) and transmitted
 * (PACKET_OUTGOING), from the MAC header on, as packet_rcv delivers them; a socket filter runs first and its
 * result is the snap length (0 drops). sendto transmits a whole frame on the bound device.
 */
import { AF, ETH_HLEN, ETH_P, Errno, MSG } from '@ebpf-sim/uapi';
import { BLOCKED } from '../sched/wait.js';
import type { Task } from '../task/task.js';
import type { NetInterface } from './interface.js';
import type { NetStack } from './stack.js';
import { waitOrAgain, type ProtoOps, type SockAddr, type Socket } from './socket.js';

const noAddress = (): number => -Errno.EOPNOTSUPP;

export class PacketProtocol {
  /** Bound, receiving packet sockets. */
  private readonly sockets: Socket[] = [];
  readonly ops: ProtoOps;

  constructor(private readonly stack: NetStack) {
    this.ops = {
      name: 'packet',
      bind: (sock, addr, addrlen) => this.bind(sock, addr, addrlen),
      connect: noAddress,
      listen: noAddress,
      accept: noAddress,
      sendmsg: (task, sock, data, length, flags, to) => this.sendmsg(sock, data, length, to),
      recvmsg: (task, sock, out, count, flags) => this.recvmsg(task, sock, out, count, flags),
      shutdown: noAddress,
      getname: (sock, peer) =>
        peer ? -Errno.EOPNOTSUPP : { family: AF.PACKET, addr: 0, port: 0, ifindex: sock.ifindex, protocol: sock.etherProtocol, pktType: 0, hatype: 0 },
      release: (sock) => {
        this.unhook(sock);
        this.stack.freeSock(sock);
      },
    };
  }

  /** Whether any packet socket listens (the transmit path builds an skb for the taps only then). */
  get listening(): boolean {
    return this.sockets.length !== 0;
  }

  /** packet_create's register_prot_hook: a socket created with a protocol listens at once, on every device. */
  created(sock: Socket): void {
    // The protocol argument is network order (htons(ETH_P_ALL)).
    sock.etherProtocol = ((sock.protocol & 0xff) << 8) | (sock.protocol >>> 8);
    if (sock.etherProtocol !== 0) this.sockets.push(sock);
  }

  private unhook(sock: Socket): void {
    const index = this.sockets.indexOf(sock);
    if (index >= 0) this.sockets.splice(index, 1);
    sock.queue.length = 0;
    sock.queuedBytes = 0;
  }

  /** packet_bind: sockaddr_ll's ifindex (0: any device) and protocol (0: keep the socket's). */
  private bind(sock: Socket, addr: SockAddr, addrlen: number): number {
    if (addrlen < 12 || addr.family !== AF.PACKET) return -Errno.EINVAL;
    if (addr.ifindex !== 0 && this.stack.byIndex(addr.ifindex) === undefined) return -Errno.ENODEV;
    this.unhook(sock);
    sock.ifindex = addr.ifindex;
    if (addr.protocol !== 0) sock.etherProtocol = addr.protocol;
    if (sock.etherProtocol !== 0) this.sockets.push(sock);
    return 0;
  }

  /** dev_queue_xmit_nit / deliver_skb to each matching socket: `skb`'s data is at the network header. */
  tap(dev: NetInterface, skb: number, pktType: number): void {
    if (this.sockets.length === 0) return;
    const stack = this.stack;
    const skbs = stack.skbs;
    const view = stack.k.phys.view;
    // packet_rcv gives SOCK_RAW sockets the frame from the MAC header.
    const atMac = pktType !== 4; // PACKET_OUTGOING skbs are already at the MAC header
    if (atMac) skbs.pull(skb, -ETH_HLEN);
    const ethType = view.getUint16(skbs.data(skb) + 12, false);
    const len = skbs.len(skb);
    for (const sock of this.sockets) {
      if (sock.ifindex !== 0 && sock.ifindex !== dev.ifindex) continue;
      if (sock.etherProtocol !== ETH_P.ALL && sock.etherProtocol !== ethType) continue;
      if (sock.queuedBytes + len > sock.rcvbuf) {
        sock.drops++;
        continue;
      }
      if (!stack.runFilter(sock, skb, 0)) {
        sock.drops++;
        stack.skbs.trim(skb, len);
        continue;
      }
      const snap = skbs.len(skb);
      // Each socket gets its own copy (a clone in Linux); the filter's trim applies to this socket only.
      const data = skbs.bytes(skb).slice(0, snap);
      skbs.trim(skb, len);
      sock.queue.push({ data, from: { family: AF.PACKET, addr: 0, port: 0, ifindex: dev.ifindex, protocol: ethType, pktType, hatype: dev.hatype } });
      sock.queuedBytes += data.length;
      sock.wait.wakeAll();
    }
    if (atMac) skbs.pull(skb, ETH_HLEN);
  }

  private recvmsg(task: Task, sock: Socket, out: Uint8Array, count: number, flags: number): number {
    const message = sock.queue[0];
    if (message === undefined) return waitOrAgain(task.io, sock, (flags & MSG.DONTWAIT) !== 0, BLOCKED, -Errno.EAGAIN);
    if ((flags & MSG.PEEK) === 0) {
      sock.queue.shift();
      sock.queuedBytes -= message.data.length;
    }
    const n = Math.min(count, message.data.length);
    out.set(message.data.subarray(0, n), 0);
    sock.lastFrom = message.from;
    return (flags & MSG.TRUNC) !== 0 ? message.data.length : n;
  }

  /** packet_snd: a whole frame on the device `to` names (or the bound one). */
  private sendmsg(sock: Socket, data: Uint8Array, length: number, to: SockAddr | undefined): number {
    const ifindex = to?.ifindex ?? sock.ifindex;
    const dev = this.stack.byIndex(ifindex);
    if (ifindex === 0 || dev === undefined) return -Errno.ENXIO;
    if (length < ETH_HLEN) return -Errno.EINVAL;
    if (length > dev.mtu + ETH_HLEN) return -Errno.EMSGSIZE;
    this.stack.devQueueXmit(dev, data.slice(0, length));
    return length;
  }
}
