/**
 * TCP over IPv4 (net/ipv4/tcp*.c), enough for connection tracing and client/server workloads on a lossless
 * network: the three-way handshake (a SYN creates a request; the final ACK creates the child socket, which
 * goes CLOSE -> SYN_RECV -> ESTABLISHED onto the listener's accept queue), in-order data with an immediate ACK
 * per segment, FIN close from either side (FIN_WAIT1/FIN_WAIT2/CLOSING, CLOSE_WAIT/LAST_ACK), and RST for a
 * segment nobody owns (ECONNREFUSED at the connecting end). Not modelled: retransmission, congestion and flow
 * control (the window is fixed, the receive buffer unbounded), options (MSS is the route's MTU minus 40),
 * TIME_WAIT sockets (the closing end goes FIN_WAIT2 -> CLOSE as tcp_time_wait's tcp_done reports it; the
 * port is free at once).
 *
 * Every state change fires sock:inet_sock_set_state; tcp_v4_connect, tcp_sendmsg and inet_csk_accept have
 * kprobe sites with the struct sock address as their first argument.
 *
 * Congestion control (tcp-cong.ts) is called at connection establishment, data sent, ACKs and teardown; the
 * window is tracked and handed to the congestion control's ops, not enforced.
 */
import { AF, Errno, IPPROTO, MSG, SHUT, SIG, SOMAXCONN, TCP_FLAG, TCP_HLEN, TCP_STATE, TRACE_INET_SOCK_SET_STATE } from '@ebpf-sim/uapi';
import type { HookPoint } from '../hooks/hook.js';
import { BLOCKED } from '../sched/wait.js';
import type { Task } from '../task/task.js';
import { TCP_WINDOW } from './constants.js';
import type { ParsedIpv4 } from './headers.js';
import type { NetInterface } from './interface.js';
import { PortTable } from './ports.js';
import { inetAddr, waitOrAgain, writeSockFields, type ProtoOps, type SockAddr, type Socket } from './socket.js';
import type { InetProtocol, NetStack } from './stack.js';

/** A SYN received by a listener and answered with SYN-ACK (struct request_sock), waiting for the final ACK. */
interface SynRequest {
  readonly listener: Socket;
  readonly iss: number;
  readonly irs: number;
}

const key = (laddr: number, lport: number, raddr: number, rport: number): string => `${laddr}:${lport}:${raddr}:${rport}`;
const seqAdd = (seq: number, n: number): number => (seq + n) >>> 0;

/** The states in which this end may still send data (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT). */
const CAN_SEND = (1 << TCP_STATE.ESTABLISHED) | (1 << TCP_STATE.CLOSE_WAIT);
/** The states in which data from the peer is accepted. */
const CAN_RECEIVE = (1 << TCP_STATE.ESTABLISHED) | (1 << TCP_STATE.FIN_WAIT1) | (1 << TCP_STATE.FIN_WAIT2);

export class TcpProtocol implements InetProtocol {
  readonly ports: PortTable;
  readonly ops: ProtoOps;
  /** Connections (SYN_SENT and later) by local and remote address and port. */
  private readonly conns = new Map<string, Socket>();
  private readonly requests = new Map<string, SynRequest>();
  private readonly setStateHook: HookPoint;
  /** Resets sent (TCP_MIB_OUTRSTS) and segments received with no socket. */
  outRsts = 0;

  constructor(private readonly stack: NetStack) {
    this.ports = new PortTable(true, stack.k.random);
    this.setStateHook = stack.k.hooks.require('sock:inet_sock_set_state');
    this.ops = {
      name: 'tcp',
      bind: (sock, addr, addrlen) => this.bind(sock, addr, addrlen),
      connect: (task, sock, addr, addrlen) => this.connect(task, sock, addr, addrlen),
      listen: (sock, backlog) => this.listen(sock, backlog),
      accept: (task, sock) => this.accept(task, sock),
      sendmsg: (task, sock, data, length, flags) => this.sendmsg(task, sock, data, length, flags),
      recvmsg: (task, sock, out, count, flags) => this.recvmsg(task, sock, out, count, flags),
      shutdown: (sock, how) => this.shutdown(sock, how),
      getname: (sock, peer) =>
        peer
          ? sock.state === TCP_STATE.ESTABLISHED || sock.state === TCP_STATE.CLOSE_WAIT || sock.finReceived
            ? inetAddr(sock.remoteAddr, sock.remotePort)
            : -Errno.ENOTCONN
          : inetAddr(sock.localAddr, sock.localPort),
      release: (sock) => this.release(sock),
    };
  }

  /** The connections this protocol holds (tests, workloads). */
  connections(): Socket[] {
    return [...this.conns.values()];
  }

  /** tcp_set_state: the new state, in kernel memory and through sock:inet_sock_set_state. */
  private setState(sock: Socket, state: number): void {
    const old = sock.state === 0 ? TCP_STATE.CLOSE : sock.state;
    sock.state = state;
    writeSockFields(this.stack.k.phys.view, sock);
    const hook = this.setStateHook;
    if (hook.programs.length === 0) return;
    const T = TRACE_INET_SOCK_SET_STATE;
    const k = this.stack.k;
    const arena = k.hookArena;
    const cpu = k.current.currentCpu;
    const task = k.current.currentTask();
    const ctx = arena.begin(cpu, T.size);
    const w = arena.write;
    const view = k.phys.view;
    w.traceEntry(ctx, hook.id, task?.pid ?? 0);
    w.u64(ctx + T.skaddr, sock.sk);
    w.i32(ctx + T.oldstate, old);
    w.i32(ctx + T.newstate, state);
    w.u16(ctx + T.sport, sock.localPort);
    w.u16(ctx + T.dport, sock.remotePort);
    w.u16(ctx + T.family, AF.INET);
    w.u16(ctx + T.protocol, IPPROTO.TCP);
    view.setUint32(ctx + T.saddr, sock.localAddr, false);
    view.setUint32(ctx + T.daddr, sock.remoteAddr, false);
    // saddr_v6/daddr_v6: the IPv4-mapped addresses (::ffff:a.b.c.d), as TP_STORE_ADDRS writes them for AF_INET.
    view.setUint16(ctx + T.saddr_v6 + 10, 0xffff, false);
    view.setUint32(ctx + T.saddr_v6 + 12, sock.localAddr, false);
    view.setUint16(ctx + T.daddr_v6 + 10, 0xffff, false);
    view.setUint32(ctx + T.daddr_v6 + 12, sock.remoteAddr, false);
    arena.fire(hook, ctx, cpu, task);
    arena.end(cpu, T.size);
  }

  private bind(sock: Socket, addr: SockAddr, addrlen: number): number {
    if (addrlen < 16) return -Errno.EINVAL;
    if (addr.family !== AF.INET) return -Errno.EAFNOSUPPORT;
    if (addr.addr !== 0 && !this.stack.isLocal(addr.addr)) return -Errno.EADDRNOTAVAIL;
    if (sock.localPort !== 0 || sock.state !== TCP_STATE.CLOSE) return -Errno.EINVAL;
    const port = this.ports.bind(sock, addr.addr, addr.port);
    if (port === -1) return -Errno.EADDRINUSE;
    if (port < 0) return -Errno.EAGAIN;
    writeSockFields(this.stack.k.phys.view, sock);
    return 0;
  }

  /** inet_listen: bound (or bound now to an ephemeral port), backlog capped at SOMAXCONN. */
  private listen(sock: Socket, backlog: number): number {
    if (sock.state !== TCP_STATE.CLOSE && sock.state !== TCP_STATE.LISTEN) return -Errno.EINVAL;
    sock.backlog = Math.min(Math.max(backlog, 0), SOMAXCONN);
    if (sock.state === TCP_STATE.LISTEN) return 0;
    if (sock.localPort === 0 && this.ports.bind(sock, 0, 0) < 0) return -Errno.EAGAIN;
    this.setState(sock, TCP_STATE.LISTEN);
    return 0;
  }

  /** tcp_v4_connect and the wait in __inet_stream_connect. */
  private connect(task: Task, sock: Socket, addr: SockAddr, addrlen: number): number {
    if (task.restarting && sock.state === TCP_STATE.SYN_SENT) return waitOrAgain(task.io, sock, false, BLOCKED, -Errno.EINPROGRESS);
    if (task.restarting && sock.state === TCP_STATE.ESTABLISHED) return 0;
    if (task.restarting && sock.error !== 0) return -this.takeError(sock);
    if (addrlen < 16) return -Errno.EINVAL;
    if (addr.family !== AF.INET) return -Errno.EAFNOSUPPORT;
    if (sock.state === TCP_STATE.SYN_SENT) return -Errno.EALREADY;
    if (sock.state !== TCP_STATE.CLOSE) return -Errno.EISCONN;
    const k = this.stack.k;
    const site = k.kprobes.sites.tcp_v4_connect;
    k.kprobes.enter(site, task, sock.sk, 0, addrlen);
    const ret = this.startConnect(sock, addr);
    k.kprobes.exit(site, task, ret);
    if (ret < 0) return ret;
    return waitOrAgain(task.io, sock, false, BLOCKED, -Errno.EINPROGRESS);
  }

  private startConnect(sock: Socket, addr: SockAddr): number {
    const route = this.stack.route(addr.addr);
    if (route === undefined) return -Errno.ENETUNREACH;
    if (sock.localPort === 0 && this.ports.bind(sock, 0, 0) < 0) return -Errno.EADDRNOTAVAIL;
    if (sock.localAddr === 0) sock.localAddr = route.src;
    sock.remoteAddr = addr.addr;
    sock.remotePort = addr.port;
    const iss = this.stack.k.random.nextU32();
    sock.sndUna = iss;
    sock.sndNxt = seqAdd(iss, 1);
    this.conns.set(key(sock.localAddr, sock.localPort, sock.remoteAddr, sock.remotePort), sock);
    this.setState(sock, TCP_STATE.SYN_SENT);
    this.send(sock.localAddr, sock.localPort, sock.remoteAddr, sock.remotePort, iss, 0, TCP_FLAG.SYN, EMPTY, sock);
    return 0;
  }

  private takeError(sock: Socket): number {
    const error = sock.error;
    sock.error = 0;
    return error;
  }

  /** inet_csk_accept: the first connection of the accept queue, or sleep. */
  private accept(task: Task, sock: Socket): Socket | number {
    if (sock.state !== TCP_STATE.LISTEN) return -Errno.EINVAL;
    const k = this.stack.k;
    const site = k.kprobes.sites.inet_csk_accept;
    if (!task.restarting) k.kprobes.enter(site, task, sock.sk, 0);
    const child = sock.acceptQueue.shift();
    if (child === undefined) {
      const wait = waitOrAgain(task.io, sock, false, BLOCKED, -Errno.EAGAIN);
      if (wait !== BLOCKED) k.kprobes.exit(site, task, 0);
      return wait;
    }
    child.parent = undefined;
    k.kprobes.exit(site, task, child.sk);
    return child;
  }

  /** The most a segment carries towards `dst`: the route's MTU minus the IP and TCP headers. */
  private mss(dst: number): number {
    const route = this.stack.route(dst);
    return (route?.iface.mtu ?? 1500) - 40;
  }

  /** tcp_sendmsg: the bytes in MSS-sized segments (PSH on the last). */
  private sendmsg(task: Task, sock: Socket, data: Uint8Array, length: number, flags: number): number {
    const k = this.stack.k;
    const site = k.kprobes.sites.tcp_sendmsg;
    if (!task.restarting) k.kprobes.enter(site, task, sock.sk, 0, length);
    const ret = this.sendNow(task, sock, data, length, flags);
    if (ret !== BLOCKED) k.kprobes.exit(site, task, ret);
    return ret;
  }

  private sendNow(task: Task, sock: Socket, data: Uint8Array, length: number, flags: number): number {
    if (sock.error !== 0) return -this.takeError(sock);
    if (((1 << sock.state) & CAN_SEND) === 0 || (sock.shutdownMask & 2) !== 0) {
      if (sock.state === TCP_STATE.SYN_SENT) return waitOrAgain(task.io, sock, (flags & MSG.DONTWAIT) !== 0, BLOCKED, -Errno.EAGAIN);
      // sk_stream_wait_connect's -EPIPE, and sk_stream_error's SIGPIPE unless MSG_NOSIGNAL.
      if ((flags & MSG.NOSIGNAL) === 0) task.io.signalSelf(SIG.SIGPIPE);
      return -Errno.EPIPE;
    }
    const mss = this.mss(sock.remoteAddr);
    for (let offset = 0; offset < length; offset += mss) {
      const end = Math.min(length, offset + mss);
      const segmentFlags = TCP_FLAG.ACK | (end === length ? TCP_FLAG.PSH : 0);
      this.send(sock.localAddr, sock.localPort, sock.remoteAddr, sock.remotePort, sock.sndNxt, sock.rcvNxt, segmentFlags, data.subarray(offset, end), sock);
      const sent = sock.sndNxt;
      sock.sndNxt = seqAdd(sock.sndNxt, end - offset);
      this.stack.congestion.dataSent(sock, sock.sndNxt, sent);
    }
    writeSockFields(this.stack.k.phys.view, sock);
    return length;
  }

  /** tcp_recvmsg: stream bytes, 0 at end of stream (FIN received or SHUT_RD), or sleep. */
  private recvmsg(task: Task, sock: Socket, out: Uint8Array, count: number, flags: number): number {
    if (sock.state === TCP_STATE.LISTEN) return -Errno.ENOTCONN;
    let copied = 0;
    let index = 0;
    let offset = sock.streamOffset;
    while (copied < count && index < sock.stream.length) {
      const chunk = sock.stream[index] as Uint8Array;
      const n = Math.min(count - copied, chunk.length - offset);
      out.set(chunk.subarray(offset, offset + n), copied);
      copied += n;
      offset += n;
      if (offset === chunk.length) {
        index++;
        offset = 0;
      }
    }
    if (copied > 0) {
      if ((flags & MSG.PEEK) === 0) {
        sock.stream.splice(0, index);
        sock.streamOffset = offset;
        sock.queuedBytes -= copied;
      }
      sock.lastFrom = inetAddr(sock.remoteAddr, sock.remotePort);
      return copied;
    }
    if (sock.error !== 0) return -this.takeError(sock);
    if (sock.finReceived || (sock.shutdownMask & 1) !== 0) return 0;
    if (sock.state === TCP_STATE.CLOSE) return -Errno.ENOTCONN;
    return waitOrAgain(task.io, sock, (flags & MSG.DONTWAIT) !== 0, BLOCKED, -Errno.EAGAIN);
  }

  /** inet_shutdown / tcp_shutdown: SHUT_WR sends our FIN. */
  private shutdown(sock: Socket, how: number): number {
    if (how < SHUT.RD || how > SHUT.RDWR) return -Errno.EINVAL;
    if (sock.state === TCP_STATE.CLOSE || sock.state === TCP_STATE.SYN_SENT) {
      if (sock.state === TCP_STATE.SYN_SENT) this.finish(sock, 0);
      return -Errno.ENOTCONN;
    }
    sock.shutdownMask |= how + 1;
    if (sock.state === TCP_STATE.LISTEN) {
      if ((how + 1) & 1) this.closeListener(sock);
    } else if (((how + 1) & 2) !== 0) {
      this.sendFin(sock);
    }
    sock.wait.wakeAll();
    return 0;
  }

  /** tcp_close's FIN: ESTABLISHED -> FIN_WAIT1, CLOSE_WAIT -> LAST_ACK. */
  private sendFin(sock: Socket): void {
    const next = sock.state === TCP_STATE.ESTABLISHED ? TCP_STATE.FIN_WAIT1 : sock.state === TCP_STATE.CLOSE_WAIT ? TCP_STATE.LAST_ACK : 0;
    if (next === 0) return;
    this.setState(sock, next);
    this.send(sock.localAddr, sock.localPort, sock.remoteAddr, sock.remotePort, sock.sndNxt, sock.rcvNxt, TCP_FLAG.FIN | TCP_FLAG.ACK, EMPTY, sock);
    const sent = sock.sndNxt;
    sock.sndNxt = seqAdd(sock.sndNxt, 1);
    // The FIN is a segment in flight (its ACK reaches cong_avoid), but carries no data (no TX_START).
    this.stack.congestion.dataSent(sock, sock.sndNxt, sent, false);
  }

  /** A listener stops: unaccepted connections are reset, pending requests forgotten. */
  private closeListener(sock: Socket): void {
    for (const child of sock.acceptQueue.splice(0)) {
      this.sendRst(child.localAddr, child.localPort, child.remoteAddr, child.remotePort, child.sndNxt);
      child.orphan = true;
      this.finish(child, 0);
    }
    for (const [id, request] of this.requests) if (request.listener === sock) this.requests.delete(id);
    this.setState(sock, TCP_STATE.CLOSE);
  }

  /** tcp_close: the file's last reference went; the connection finishes on its own (an orphan). */
  private release(sock: Socket): void {
    sock.orphan = true;
    sock.shutdownMask = 3;
    if (sock.state === TCP_STATE.LISTEN) this.closeListener(sock);
    else if (sock.state === TCP_STATE.SYN_SENT) this.finish(sock, 0);
    else this.sendFin(sock);
    sock.stream.length = 0;
    sock.queuedBytes = 0;
    if (sock.state === TCP_STATE.CLOSE) this.free(sock);
  }

  /** tcp_done: CLOSE, out of the connection table, `error` for the owner; an orphan is freed. */
  private finish(sock: Socket, error: number): void {
    // tcp_done -> tcp_v4_destroy_sock's tcp_cleanup_congestion_control.
    this.stack.congestion.cleanup(sock);
    this.conns.delete(key(sock.localAddr, sock.localPort, sock.remoteAddr, sock.remotePort));
    if (sock.state !== TCP_STATE.CLOSE) this.setState(sock, TCP_STATE.CLOSE);
    if (error !== 0) sock.error = error;
    sock.wait.wakeAll();
    if (sock.orphan) this.free(sock);
  }

  private free(sock: Socket): void {
    this.stack.congestion.cleanup(sock);
    this.ports.unbind(sock);
    this.stack.freeSock(sock);
  }

  /** tcp_v4_send_reset: RST for a segment nobody owns (seq from its ACK, or RST|ACK acknowledging it). */
  private sendRst(laddr: number, lport: number, raddr: number, rport: number, seq: number, ack = 0, withAck = false): void {
    this.outRsts++;
    this.send(laddr, lport, raddr, rport, seq, ack, TCP_FLAG.RST | (withAck ? TCP_FLAG.ACK : 0), EMPTY);
  }

  /**
   * One segment out. `sock`, for a segment of a connection's own (not a SYN-ACK of a request or a reset), goes
   * through ip_finish_output's cgroup egress programs as Linux's full socket does (skb->sk).
   */
  private send(laddr: number, lport: number, raddr: number, rport: number, seq: number, ack: number, flags: number, payload: Uint8Array, sock?: Socket): void {
    this.stack.ipOutput({ src: laddr, dst: raddr, protocol: IPPROTO.TCP, srcPort: lport, dstPort: rport, seq, ack, flags, window: TCP_WINDOW, payload }, sock);
  }

  /** tcp_v4_rcv: the connection, else a listener for a SYN (or the ACK completing one), else RST. */
  receive(skb: number, ip: ParsedIpv4, dev: NetInterface): void {
    void dev;
    const stack = this.stack;
    const skbs = stack.skbs;
    const view = stack.k.phys.view;
    const th = skbs.data(skb);
    if (skbs.len(skb) < TCP_HLEN) return;
    const sport = view.getUint16(th, false);
    const dport = view.getUint16(th + 2, false);
    const seq = view.getUint32(th + 4, false);
    const ack = view.getUint32(th + 8, false);
    const doff = (view.getUint8(th + 12) >> 4) * 4;
    const flags = view.getUint8(th + 13);
    if (doff < TCP_HLEN || doff > skbs.len(skb)) return;
    const id = key(ip.dst, dport, ip.src, sport);
    const conn = this.conns.get(id);
    if (conn !== undefined) {
      if (!stack.runFilter(conn, skb, doff)) return;
      this.segment(conn, seq, ack, flags, skbs.bytes(skb).subarray(doff));
      return;
    }
    const request = this.requests.get(id);
    if (request !== undefined && (flags & (TCP_FLAG.ACK | TCP_FLAG.SYN | TCP_FLAG.RST)) === TCP_FLAG.ACK && ack === seqAdd(request.iss, 1)) {
      this.requests.delete(id);
      const child = this.completeRequest(request, ip, dport, sport);
      if (child !== undefined) this.segment(child, seq, ack, flags, skbs.bytes(skb).subarray(doff));
      return;
    }
    if ((flags & (TCP_FLAG.SYN | TCP_FLAG.ACK | TCP_FLAG.RST)) === TCP_FLAG.SYN) {
      const listener = this.listenerFor(ip.dst, dport);
      if (listener !== undefined && stack.runFilter(listener, skb, doff)) {
        if (listener.acceptQueue.length >= Math.max(listener.backlog, 1)) return;
        const iss = stack.k.random.nextU32();
        this.requests.set(id, { listener, iss, irs: seq });
        this.send(ip.dst, dport, ip.src, sport, iss, seqAdd(seq, 1), TCP_FLAG.SYN | TCP_FLAG.ACK, EMPTY);
        return;
      }
    }
    if ((flags & TCP_FLAG.RST) !== 0) return;
    const payloadLength = skbs.len(skb) - doff + ((flags & TCP_FLAG.SYN) !== 0 ? 1 : 0) + ((flags & TCP_FLAG.FIN) !== 0 ? 1 : 0);
    if ((flags & TCP_FLAG.ACK) !== 0) this.sendRst(ip.dst, dport, ip.src, sport, ack);
    else this.sendRst(ip.dst, dport, ip.src, sport, 0, seqAdd(seq, payloadLength), true);
  }

  private listenerFor(addr: number, port: number): Socket | undefined {
    let any: Socket | undefined;
    for (const sock of this.ports.at(port)) {
      if (sock.state !== TCP_STATE.LISTEN) continue;
      if (sock.localAddr === addr) return sock;
      if (sock.localAddr === 0) any = sock;
    }
    return any;
  }

  /** tcp_check_req + tcp_create_openreq_child: the child socket, on the listener's accept queue. */
  private completeRequest(request: SynRequest, ip: ParsedIpv4, lport: number, rport: number): Socket | undefined {
    const listener = request.listener;
    if (listener.state !== TCP_STATE.LISTEN) return undefined;
    const child = this.stack.newSock(AF.INET, listener.type, IPPROTO.TCP);
    if (typeof child === 'number') return undefined;
    child.localAddr = ip.dst;
    child.localPort = lport;
    child.remoteAddr = ip.src;
    child.remotePort = rport;
    child.rcvNxt = seqAdd(request.irs, 1);
    child.sndUna = seqAdd(request.iss, 1);
    child.sndNxt = seqAdd(request.iss, 1);
    child.rcvbuf = listener.rcvbuf;
    child.sndbuf = listener.sndbuf;
    child.parent = listener;
    // cgroup_sk_clone: an accepted socket stays in its listener's cgroup.
    child.cgroup = listener.cgroup;
    // Linux's child inherits the listener's socket filter (sk_clone_lock); here the child starts without one.
    child.state = TCP_STATE.CLOSE;
    this.setState(child, TCP_STATE.SYN_RECV);
    this.conns.set(key(child.localAddr, child.localPort, child.remoteAddr, child.remotePort), child);
    this.setState(child, TCP_STATE.ESTABLISHED);
    // tcp_assign_congestion_control: the listener's (setsockopt) choice, else the default.
    child.cwnd.ca = listener.cwnd.ca;
    this.stack.congestion.initTransfer(child);
    listener.acceptQueue.push(child);
    listener.wait.wakeAll();
    return child;
  }

  /** tcp_rcv_state_process / tcp_rcv_established for a segment of a known connection. */
  private segment(sock: Socket, seq: number, ack: number, flags: number, payload: Uint8Array): void {
    if ((flags & TCP_FLAG.RST) !== 0) {
      this.finish(
        sock,
        sock.state === TCP_STATE.SYN_SENT
          ? Errno.ECONNREFUSED
          : sock.state === TCP_STATE.CLOSE_WAIT || sock.state === TCP_STATE.ESTABLISHED
            ? Errno.ECONNRESET
            : 0,
      );
      return;
    }
    if (sock.state === TCP_STATE.SYN_SENT) {
      if ((flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === (TCP_FLAG.SYN | TCP_FLAG.ACK) && ack === sock.sndNxt) {
        sock.rcvNxt = seqAdd(seq, 1);
        sock.sndUna = ack;
        this.setState(sock, TCP_STATE.ESTABLISHED);
        this.stack.congestion.initTransfer(sock);
        this.send(sock.localAddr, sock.localPort, sock.remoteAddr, sock.remotePort, sock.sndNxt, sock.rcvNxt, TCP_FLAG.ACK, EMPTY, sock);
        sock.wait.wakeAll();
      }
      return;
    }
    let needAck = false;
    if ((flags & TCP_FLAG.ACK) !== 0) {
      sock.sndUna = ack;
      if (sock.cwnd.packetsOut > 0) this.stack.congestion.acked(sock, ack);
      if (ack === sock.sndNxt) {
        if (sock.state === TCP_STATE.FIN_WAIT1) this.setState(sock, TCP_STATE.FIN_WAIT2);
        else if (sock.state === TCP_STATE.CLOSING) {
          this.finish(sock, 0);
          return;
        } else if (sock.state === TCP_STATE.LAST_ACK) {
          this.finish(sock, 0);
          return;
        }
      }
    }
    if (seq !== sock.rcvNxt) {
      // Out of order or a duplicate (impossible on the lossless model unless the peer misbehaves): re-ACK what we have.
      if (payload.length > 0 || (flags & TCP_FLAG.FIN) !== 0) this.sendAck(sock);
      return;
    }
    if (payload.length > 0 && ((1 << sock.state) & CAN_RECEIVE) !== 0) {
      if ((sock.shutdownMask & 1) === 0) {
        sock.stream.push(payload.slice());
        sock.queuedBytes += payload.length;
      }
      sock.rcvNxt = seqAdd(sock.rcvNxt, payload.length);
      needAck = true;
    }
    if ((flags & TCP_FLAG.FIN) !== 0) {
      sock.rcvNxt = seqAdd(sock.rcvNxt, 1);
      sock.finReceived = true;
      needAck = true;
      if (sock.state === TCP_STATE.ESTABLISHED) this.setState(sock, TCP_STATE.CLOSE_WAIT);
      else if (sock.state === TCP_STATE.FIN_WAIT1) this.setState(sock, TCP_STATE.CLOSING);
      else if (sock.state === TCP_STATE.FIN_WAIT2) {
        this.sendAck(sock);
        this.finish(sock, 0);
        return;
      }
    }
    if (needAck) this.sendAck(sock);
    writeSockFields(this.stack.k.phys.view, sock);
    sock.wait.wakeAll();
    sock.parent?.wait.wakeAll();
  }

  private sendAck(sock: Socket): void {
    this.send(sock.localAddr, sock.localPort, sock.remoteAddr, sock.remotePort, sock.sndNxt, sock.rcvNxt, TCP_FLAG.ACK, EMPTY, sock);
  }
}

const EMPTY = new Uint8Array(0);
