/**
 * UDP over IPv4 (net/ipv4/udp.c): bind (explicit or automatic on first send/connect), connect (a default
 * peer and a receive filter), datagrams queued whole with their sender, sk_filter_trim_cap before queueing
 * (cap: the UDP header), the receive buffer limit (SO_RCVBUF: drops counted). No ICMP: a datagram to a port
 * nobody listens on is dropped (Linux answers ICMP port unreachable; the sender sees no error either way
 * unless connected).
 */
import { AF, Errno, IPPROTO, MSG, SHUT, TCP_STATE, UDP_HLEN } from '@ebpf-sim/uapi';
import { BLOCKED } from '../sched/wait.js';
import type { Task } from '../task/task.js';
import { UDP_MAX_PAYLOAD } from './constants.js';
import type { ParsedIpv4 } from './headers.js';
import type { NetInterface } from './interface.js';
import { PortTable } from './ports.js';
import { inetAddr, waitOrAgain, writeSockFields, type ProtoOps, type SockAddr, type Socket } from './socket.js';
import type { InetProtocol, NetStack } from './stack.js';

export class UdpProtocol implements InetProtocol {
  readonly ports: PortTable;
  readonly ops: ProtoOps;
  /** Datagrams received for no socket (UDP_MIB_NOPORTS) and dropped for a full buffer or a filter (UDP_MIB_INERRORS). */
  noPorts = 0;
  inErrors = 0;

  constructor(private readonly stack: NetStack) {
    this.ports = new PortTable(false, stack.k.random);
    this.ops = {
      name: 'udp',
      bind: (sock, addr, addrlen) => this.bind(sock, addr, addrlen),
      connect: (task, sock, addr, addrlen) => this.connect(sock, addr, addrlen),
      listen: () => -Errno.EOPNOTSUPP,
      accept: () => -Errno.EOPNOTSUPP,
      sendmsg: (task, sock, data, length, flags, to) => this.sendmsg(sock, data, length, to),
      recvmsg: (task, sock, out, count, flags) => this.recvmsg(task, sock, out, count, flags),
      shutdown: (sock, how) => this.shutdown(sock, how),
      getname: (sock, peer) =>
        peer ? (sock.remotePort === 0 ? -Errno.ENOTCONN : inetAddr(sock.remoteAddr, sock.remotePort)) : inetAddr(sock.localAddr, sock.localPort),
      release: (sock) => this.release(sock),
    };
  }

  /** inet_bind: AF_INET, an address of this host (or INADDR_ANY), once. */
  private bind(sock: Socket, addr: SockAddr, addrlen: number): number {
    if (addrlen < 16) return -Errno.EINVAL;
    if (addr.family !== AF.INET) return -Errno.EAFNOSUPPORT;
    if (addr.addr !== 0 && !this.stack.isLocal(addr.addr) && addr.addr !== 0xffffffff) return -Errno.EADDRNOTAVAIL;
    if (sock.localPort !== 0) return -Errno.EINVAL;
    const port = this.ports.bind(sock, addr.addr, addr.port);
    if (port === -1) return -Errno.EADDRINUSE;
    if (port < 0) return -Errno.EAGAIN;
    writeSockFields(this.stack.k.phys.view, sock);
    return 0;
  }

  /** inet_autobind: an ephemeral port on INADDR_ANY. */
  private autobind(sock: Socket): number {
    if (sock.localPort !== 0) return 0;
    const port = this.ports.bind(sock, 0, 0);
    return port < 0 ? -Errno.EAGAIN : 0;
  }

  /** ip4_datagram_connect: the default destination (AF_UNSPEC dissolves it). */
  private connect(sock: Socket, addr: SockAddr, addrlen: number): number {
    if (addr.family === AF.UNSPEC) {
      sock.remoteAddr = 0;
      sock.remotePort = 0;
      // __udp_disconnect: back to TCP_CLOSE.
      sock.state = TCP_STATE.CLOSE;
      writeSockFields(this.stack.k.phys.view, sock);
      return 0;
    }
    if (addrlen < 16) return -Errno.EINVAL;
    if (addr.family !== AF.INET) return -Errno.EAFNOSUPPORT;
    const route = this.stack.route(addr.addr);
    if (route === undefined) return -Errno.ENETUNREACH;
    const bound = this.autobind(sock);
    if (bound < 0) return bound;
    if (sock.localAddr === 0) sock.localAddr = route.src;
    sock.remoteAddr = addr.addr;
    sock.remotePort = addr.port;
    // __ip4_datagram_connect: sk_state = TCP_ESTABLISHED.
    sock.state = TCP_STATE.ESTABLISHED;
    writeSockFields(this.stack.k.phys.view, sock);
    return 0;
  }

  /** udp_sendmsg: one datagram. */
  private sendmsg(sock: Socket, data: Uint8Array, length: number, to: SockAddr | undefined): number {
    if ((sock.shutdownMask & 2) !== 0) return -Errno.EPIPE;
    let dst: number;
    let port: number;
    if (to !== undefined) {
      if (to.family !== AF.INET) return -Errno.EAFNOSUPPORT;
      dst = to.addr;
      port = to.port;
      if (port === 0) return -Errno.EINVAL;
    } else {
      if (sock.remotePort === 0) return -Errno.EDESTADDRREQ;
      dst = sock.remoteAddr;
      port = sock.remotePort;
    }
    if (length > UDP_MAX_PAYLOAD) return -Errno.EMSGSIZE;
    const route = this.stack.route(dst);
    if (route === undefined) return -Errno.ENETUNREACH;
    const bound = this.autobind(sock);
    if (bound < 0) return bound;
    writeSockFields(this.stack.k.phys.view, sock);
    const src = sock.localAddr !== 0 ? sock.localAddr : route.src;
    const sent = this.stack.ipOutput(
      {
        src,
        dst,
        protocol: IPPROTO.UDP,
        srcPort: sock.localPort,
        dstPort: port,
        seq: 0,
        ack: 0,
        flags: 0,
        window: 0,
        payload: data.subarray(0, length),
      },
      sock,
    );
    return sent < 0 ? sent : length;
  }

  /** udp_recvmsg: the next datagram (truncated to `count`; MSG_TRUNC returns its real length). */
  private recvmsg(task: Task, sock: Socket, out: Uint8Array, count: number, flags: number): number {
    const message = sock.queue[0];
    if (message === undefined) {
      if ((sock.shutdownMask & 1) !== 0) return 0;
      return waitOrAgain(task.io, sock, (flags & MSG.DONTWAIT) !== 0, BLOCKED, -Errno.EAGAIN);
    }
    if ((flags & MSG.PEEK) === 0) {
      sock.queue.shift();
      sock.queuedBytes -= message.data.length;
    }
    const n = Math.min(count, message.data.length);
    out.set(message.data.subarray(0, n), 0);
    sock.lastFrom = message.from;
    return (flags & MSG.TRUNC) !== 0 ? message.data.length : n;
  }

  private shutdown(sock: Socket, how: number): number {
    if (how < SHUT.RD || how > SHUT.RDWR) return -Errno.EINVAL;
    // inet_shutdown: an unconnected datagram socket answers ENOTCONN, but the shutdown still takes effect.
    sock.shutdownMask |= how + 1;
    sock.wait.wakeAll();
    return sock.remotePort === 0 ? -Errno.ENOTCONN : 0;
  }

  private release(sock: Socket): void {
    this.ports.unbind(sock);
    sock.queue.length = 0;
    sock.queuedBytes = 0;
    this.stack.freeSock(sock);
  }

  /** __udp4_lib_rcv: the socket for the destination (the best match: exact address over INADDR_ANY, connected peer). */
  receive(skb: number, ip: ParsedIpv4, dev: NetInterface): void {
    void dev;
    const stack = this.stack;
    const view = stack.k.phys.view;
    const uh = stack.skbs.data(skb);
    const srcPort = view.getUint16(uh, false);
    const dstPort = view.getUint16(uh + 2, false);
    const udpLen = view.getUint16(uh + 4, false);
    if (udpLen < UDP_HLEN || udpLen > stack.skbs.len(skb)) {
      this.inErrors++;
      return;
    }
    stack.skbs.trim(skb, udpLen);
    const sock = this.lookup(ip.dst, dstPort, ip.src, srcPort);
    if (sock === undefined) {
      this.noPorts++;
      return;
    }
    if (sock.queuedBytes + udpLen > sock.rcvbuf || (sock.shutdownMask & 1) !== 0 || !stack.runFilter(sock, skb, UDP_HLEN)) {
      sock.drops++;
      this.inErrors++;
      return;
    }
    // The filter may have trimmed the datagram (never below its header).
    const payload = stack.skbs.bytes(skb).slice(UDP_HLEN);
    sock.queue.push({ data: payload, from: inetAddr(ip.src, srcPort) });
    sock.queuedBytes += payload.length;
    sock.wait.wakeAll();
  }

  private lookup(daddr: number, dport: number, saddr: number, sport: number): Socket | undefined {
    let best: Socket | undefined;
    let bestScore = -1;
    for (const sock of this.ports.at(dport)) {
      if (sock.localAddr !== 0 && sock.localAddr !== daddr) continue;
      if (sock.remotePort !== 0 && (sock.remoteAddr !== saddr || sock.remotePort !== sport)) continue;
      const score = (sock.localAddr !== 0 ? 2 : 0) + (sock.remotePort !== 0 ? 4 : 0);
      if (score > bestScore) {
        best = sock;
        bestScore = score;
      }
    }
    return best;
  }
}
