/**
 * struct socket + struct sock: one open socket of any family, the state every protocol shares (addresses,
 * state, the receive queue and its wait queue, socket options, the attached socket filter), its struct sock
 * in kernel memory (SOCK in hooks/kernel-objects.ts: what kprobe arguments, `skaddr` and bpf_sock fields point
 * to), and the protocol's operations as a table (struct proto_ops), chosen at socket(2) by family and type.
 */
import { AF, SOCK } from '@ebpf-sim/uapi';
import type { IoContext } from '../fs/file.js';
import type { HookPoint, HookProgram } from '../hooks/hook.js';
import { SOCK as SOCK_LAYOUT } from '../hooks/kernel-objects.js';
import { WaitQueue } from '../sched/wait.js';
import type { Task } from '../task/task.js';
import type { Cgroup } from '../cgroup/cgroup.js';
import { TcpCwnd } from './tcp-cong.js';

/** A socket address as the syscalls parse it from user memory (sockaddr_in or sockaddr_ll). */
export interface SockAddr {
  readonly family: number;
  /** AF_INET: the address and port, host order. */
  readonly addr: number;
  readonly port: number;
  /** AF_PACKET: the device (0: any) and the ETH_P_* protocol (host order). */
  readonly ifindex: number;
  readonly protocol: number;
  /** AF_PACKET, for sockaddr_ll of a received frame: PACKET_* type and the device's ARPHRD_* type (0 otherwise). */
  readonly pktType: number;
  readonly hatype: number;
}

/** One received datagram or frame with where it came from. */
export interface QueuedMessage {
  readonly data: Uint8Array;
  readonly from: SockAddr;
}

/** A socket filter attached with SO_ATTACH_BPF: the hook it runs on and how to drop the program reference. */
export interface AttachedFilter {
  readonly hook: HookPoint;
  readonly program: HookProgram;
  readonly release: () => void;
}

/**
 * struct proto_ops of one (family, type): each returns 0 / a count / -errno, or BLOCKED after `io.sleepOn`
 * (the syscall is re-run when the task wakes, `task.restarting` set).
 */
export interface ProtoOps {
  readonly name: string;
  bind(sock: Socket, addr: SockAddr, addrlen: number): number;
  connect(task: Task, sock: Socket, addr: SockAddr, addrlen: number): number;
  listen(sock: Socket, backlog: number): number;
  /** The accepted socket, or -errno / BLOCKED. */
  accept(task: Task, sock: Socket): Socket | number;
  /** Send `length` bytes of `data` (to `to`, or the connected peer): the bytes sent or -errno. */
  sendmsg(task: Task, sock: Socket, data: Uint8Array, length: number, flags: number, to: SockAddr | undefined): number;
  /** Receive into `out` (at most `count` bytes): the count (or the datagram's length with MSG_TRUNC) or -errno; `sock.lastFrom` says who sent it. */
  recvmsg(task: Task, sock: Socket, out: Uint8Array, count: number, flags: number): number;
  shutdown(sock: Socket, how: number): number;
  /** The address of this end (false) or of the peer (true), or -ENOTCONN. */
  getname(sock: Socket, peer: boolean): SockAddr | number;
  /** close(): the file's last reference went. */
  release(sock: Socket): void;
}

/** One socket. Protocol modules keep their state in the fields below (unused ones stay at their defaults). */
export class Socket {
  /** TCP state (TCP_STATE.*); 0 for sockets without one. */
  state = 0;
  localAddr = 0;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;
  /** AF_PACKET: bound device (0: any) and protocol (ETH_P_*, host order). */
  ifindex = 0;
  etherProtocol = 0;
  /** Received datagrams / frames (UDP, packet). */
  readonly queue: QueuedMessage[] = [];
  /** Bytes waiting in the receive queue (sk_rmem_alloc). */
  queuedBytes = 0;
  /** Datagrams or frames dropped because the receive buffer was full or a filter dropped them. */
  drops = 0;
  /** The sender of the last message recvmsg returned. */
  lastFrom: SockAddr | undefined;
  /** Readers and writers sleep here (sk_sleep); connect and accept too. */
  readonly wait = new WaitQueue();
  /** sk->sk_err: a pending error reported once (ECONNREFUSED, ECONNRESET). */
  error = 0;
  /** SO_REUSEADDR, SO_RCVBUF, SO_SNDBUF. */
  reuseAddr = false;
  rcvbuf = 212992;
  sndbuf = 212992;
  /** shutdown(2) bits: 1 = no more receives, 2 = no more sends (RCV_SHUTDOWN, SEND_SHUTDOWN). */
  shutdownMask = 0;
  filter: AttachedFilter | undefined;
  /** The file is closed: the socket lives on only until its protocol is done with it (TCP's FIN exchange). */
  orphan = false;
  /** O_NONBLOCK of the file (kept here so protocol code need not see the file). */
  nonblocking = false;
  /** Protocol state: TCP's sequence numbers, the listener's queues, the connected peer. */
  sndNxt = 0;
  sndUna = 0;
  rcvNxt = 0;
  /** TCP: received stream bytes not yet read. */
  readonly stream: Uint8Array[] = [];
  streamOffset = 0;
  /** TCP listener: accepted connections not yet taken by accept(), and the limit (sk_max_ack_backlog). */
  readonly acceptQueue: Socket[] = [];
  backlog = 0;
  /** TCP: the listener a not-yet-accepted connection belongs to. */
  parent: Socket | undefined;
  /** TCP: a FIN arrived (reads return 0 after the stream). */
  finReceived = false;
  /** sk->sk_cgrp_data: the cgroup whose programs filter this socket's traffic (cgroup/net-hooks.ts). */
  cgroup: Cgroup | undefined = undefined;
  /** TCP: the congestion window and congestion control (tcp-cong.ts). */
  readonly cwnd = new TcpCwnd();

  constructor(
    readonly family: number,
    readonly type: number,
    readonly protocol: number,
    readonly ops: ProtoOps,
    /** The struct sock in kernel memory (0 when it could not be allocated: then socket() failed with ENOMEM). */
    readonly sk: number,
    /** The socket's inode number (socket:[ino]), unique in the kernel. */
    readonly ino: number,
  ) {}

  get isStream(): boolean {
    return this.type === SOCK.STREAM;
  }

  get isInet(): boolean {
    return this.family === AF.INET;
  }
}

/** An AF_INET address. */
export const inetAddr = (addr: number, port: number): SockAddr => ({ family: AF.INET, addr, port, ifindex: 0, protocol: 0, pktType: 0, hatype: 0 });

/** Sleep on the socket's wait queue unless non-blocking: -EAGAIN or BLOCKED (`flagsNonblock`: MSG_DONTWAIT). */
export function waitOrAgain(io: IoContext, sock: Socket, flagsNonblock: boolean, blocked: number, again: number): number {
  if (sock.nonblocking || flagsNonblock) return again;
  io.sleepOn(sock.wait);
  return blocked;
}

/** The fields of struct sock the socket keeps current in kernel memory (sock_common at Linux's offsets). */
export function writeSockFields(view: DataView, sock: Socket): void {
  const sk = sock.sk;
  if (sk === 0) return;
  view.setUint32(sk + SOCK_LAYOUT.skc_daddr, sock.remoteAddr, false);
  view.setUint32(sk + SOCK_LAYOUT.skc_rcv_saddr, sock.localAddr, false);
  view.setUint16(sk + SOCK_LAYOUT.skc_dport, sock.remotePort, false);
  view.setUint16(sk + SOCK_LAYOUT.skc_num, sock.localPort, true);
  view.setUint16(sk + SOCK_LAYOUT.skc_family, sock.family, true);
  view.setUint8(sk + SOCK_LAYOUT.skc_state, sock.state);
  view.setUint16(sk + SOCK_LAYOUT.sk_type, sock.type, true);
  view.setUint16(sk + SOCK_LAYOUT.sk_protocol, sock.protocol, true);
  view.setUint32(sk + SOCK_LAYOUT.rcv_nxt, sock.rcvNxt >>> 0, true);
  view.setUint32(sk + SOCK_LAYOUT.snd_nxt, sock.sndNxt >>> 0, true);
  view.setUint32(sk + SOCK_LAYOUT.snd_una, sock.sndUna >>> 0, true);
  // sk_cgrp_data: the cgroup's struct cgroup (cgroup_sk_alloc), a pointer as Linux keeps it.
  view.setBigUint64(sk + SOCK_LAYOUT.sk_cgrp_data, BigInt(sock.cgroup?.kernelAddress ?? 0), true);
}
