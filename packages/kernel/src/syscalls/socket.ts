/**
 * The socket syscalls (net/socket.c): socket, bind, listen, accept/accept4, connect, sendto, recvfrom,
 * shutdown, getsockname, getpeername, setsockopt, getsockopt, and read/write/close through the socket's file.
 * Addresses cross with move_addr_to_kernel / move_addr_to_user's rules; the protocol's ProtoOps does the rest.
 */
import {
  AF,
  BPF_ATTACH_TYPE,
  CAP_NET_RAW,
  Errno,
  IPPROTO,
  O,
  SO,
  SOCK,
  SOCKADDR_IN_LAYOUT,
  SOCKADDR_LL,
  SOL,
  TCP_CA_NAME_MAX,
  TCP_SOCKOPT,
  TCP_STATE,
} from '@ebpf-sim/uapi';
import { cgroupInetSock } from '../cgroup/net-hooks.js';
import type { NetStack } from '../net/stack.js';
import type { File, FileOperations, IoContext } from '../fs/file.js';
import { writeSockFields, type SockAddr, type Socket } from '../net/socket.js';
import type { CurrentTask, KernelInternals } from '../services.js';
import { hasCapability, type Task } from '../task/task.js';
import type { SyscallTable } from './table.js';
import { bounceBuffer, MAX_TRANSFER } from './user-buffer.js';

/** What the socket syscalls use: the stack and the descriptor table. */
export type SocketSyscallServices = Pick<KernelInternals, 'net' | 'fds' | 'current' | 'phys'>;

/** sizeof(struct sockaddr_storage): the largest address move_addr_to_kernel accepts. */
const SOCKADDR_STORAGE = 128;
/** SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF (2 * (2048 + sizeof(struct sk_buff) rounded), Linux 6.x on x86_64) and net.core.rmem_max/wmem_max. */
const SOCK_MIN_RCVBUF = 2304;
const SOCK_MIN_SNDBUF = 4608;
const RMEM_MAX = 212992;

const sockOf = (file: File): Socket => file.privateData as Socket;

/** The file of a socket: read/write are recv/send without flags (as the calling task), close releases the protocol's state. */
function socketFileOps(current: CurrentTask, stack?: NetStack): FileOperations {
  const caller = (): Task | undefined => current.currentTask();
  return {
    name: 'socket',
    read(io: IoContext, file: File, buffer: Uint8Array, count: number): number {
      const sock = sockOf(file);
      sock.nonblocking = (file.flags & O.NONBLOCK) !== 0;
      const task = caller();
      void io;
      return task === undefined ? -Errno.EINVAL : sock.ops.recvmsg(task, sock, buffer, count, 0);
    },
    write(io: IoContext, file: File, data: Uint8Array, count: number): number {
      const sock = sockOf(file);
      sock.nonblocking = (file.flags & O.NONBLOCK) !== 0;
      const task = caller();
      void io;
      return task === undefined ? -Errno.EINVAL : sock.ops.sendmsg(task, sock, data, count, 0, undefined);
    },
    release(file: File): void {
      const sock = sockOf(file);
      // inet_release: the cgroup's sock_release programs see the socket before it goes (their answer is ignored).
      if (stack !== undefined) cgroupInetSock(stack, sock, BPF_ATTACH_TYPE.CGROUP_INET_SOCK_RELEASE);
      sock.ops.release(sock);
    },
    showFdinfo(file: File): string {
      return `socket_ino:\t${sockOf(file).ino}\n`;
    },
  };
}

/** move_addr_to_kernel + the family's parse: the address, or -errno (EINVAL for a bad length, EFAULT). */
function readSockaddr(task: Task, address: number, length: number): SockAddr | number {
  if (length < 0 || length > SOCKADDR_STORAGE) return -Errno.EINVAL;
  const bytes = new Uint8Array(Math.max(length, SOCKADDR_STORAGE));
  if (length > 0 && !task.group.mm.copyFromUser(address, bytes, 0, length)) return -Errno.EFAULT;
  const view = new DataView(bytes.buffer);
  const family = length >= 2 ? view.getUint16(0, true) : AF.UNSPEC;
  if (family === AF.PACKET) {
    return {
      family,
      addr: 0,
      port: 0,
      ifindex: view.getInt32(SOCKADDR_LL.sll_ifindex, true),
      protocol: view.getUint16(SOCKADDR_LL.sll_protocol, false),
      pktType: 0,
      hatype: 0,
    };
  }
  return {
    family,
    addr: view.getUint32(SOCKADDR_IN_LAYOUT.sin_addr, false),
    port: view.getUint16(SOCKADDR_IN_LAYOUT.sin_port, false),
    ifindex: 0,
    protocol: 0,
    pktType: 0,
    hatype: 0,
  };
}

/** The bytes of a struct sockaddr_in or sockaddr_ll for `addr`. */
function encodeSockaddr(addr: SockAddr): Uint8Array {
  if (addr.family === AF.PACKET) {
    const out = new Uint8Array(SOCKADDR_LL.size);
    const view = new DataView(out.buffer);
    view.setUint16(SOCKADDR_LL.sll_family, AF.PACKET, true);
    view.setUint16(SOCKADDR_LL.sll_protocol, addr.protocol, false);
    view.setInt32(SOCKADDR_LL.sll_ifindex, addr.ifindex, true);
    view.setUint16(SOCKADDR_LL.sll_hatype, addr.hatype, true);
    view.setUint8(SOCKADDR_LL.sll_pkttype, addr.pktType);
    // sll_halen 6 and an all-zero source MAC: the simulated devices' link addresses are not reported.
    view.setUint8(SOCKADDR_LL.sll_halen, 6);
    return out;
  }
  const out = new Uint8Array(SOCKADDR_IN_LAYOUT.size);
  const view = new DataView(out.buffer);
  view.setUint16(SOCKADDR_IN_LAYOUT.sin_family, AF.INET, true);
  view.setUint16(SOCKADDR_IN_LAYOUT.sin_port, addr.port, false);
  view.setUint32(SOCKADDR_IN_LAYOUT.sin_addr, addr.addr, false);
  return out;
}

/** move_addr_to_user: at most *ulen bytes of `bytes`, then *ulen = the full length. 0 or -errno. */
function writeSockaddr(task: Task, address: number, lenAddress: number, bytes: Uint8Array): number {
  const mm = task.group.mm;
  const lenBytes = new Uint8Array(4);
  if (!mm.copyFromUser(lenAddress, lenBytes, 0, 4)) return -Errno.EFAULT;
  const view = new DataView(lenBytes.buffer);
  const ulen = view.getInt32(0, true);
  if (ulen < 0) return -Errno.EINVAL;
  const n = Math.min(ulen, bytes.length);
  if (n > 0 && !mm.copyToUser(address, bytes, 0, n)) return -Errno.EFAULT;
  view.setInt32(0, bytes.length, true);
  return mm.copyToUser(lenAddress, lenBytes, 0, 4) ? 0 : -Errno.EFAULT;
}

export function registerSocketSyscalls(table: SyscallTable, k: SocketSyscallServices): void {
  let fops: FileOperations | undefined;
  const fileOps = (): FileOperations => (fops ??= socketFileOps(k.current, k.net));

  /** sockfd_lookup: the socket behind `fd`, or -EBADF / -ENOTSOCK; its O_NONBLOCK noted. */
  const lookup = (task: Task, fd: number): Socket | number => {
    const file = task.group.files.get(fd);
    if (file === undefined) return -Errno.EBADF;
    if (file.ops !== fileOps()) return -Errno.ENOTSOCK;
    const sock = sockOf(file);
    sock.nonblocking = (file.flags & O.NONBLOCK) !== 0;
    return sock;
  };

  /** sock_alloc_file + fd_install: the socket's fd, or -errno (the socket released). */
  const install = (task: Task, sock: Socket, flags: number): number => {
    const fd = k.fds.installFd(task, 'socket', fileOps(), sock, O.RDWR | (flags & (O.NONBLOCK | O.CLOEXEC)));
    if (fd < 0) sock.ops.release(sock);
    sock.nonblocking = (flags & O.NONBLOCK) !== 0;
    return fd;
  };

  table.register('socket', (task, family, type, protocol) => {
    const flags = type & ~SOCK.TYPE_MASK;
    if ((flags & ~(SOCK.CLOEXEC | SOCK.NONBLOCK)) !== 0) return -Errno.EINVAL;
    // packet_create: raw frames need CAP_NET_RAW.
    if (family === AF.PACKET && !hasCapability(task.group.cred, CAP_NET_RAW)) return -Errno.EPERM;
    const sock = k.net.newSock(family, type & SOCK.TYPE_MASK, protocol);
    if (typeof sock === 'number') return sock;
    // inet_create: the cgroup's sock_create programs may refuse the socket (EPERM).
    const refused = cgroupInetSock(k.net, sock, BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE);
    if (refused !== 0) {
      sock.ops.release(sock);
      return refused;
    }
    return install(task, sock, flags);
  });

  const withAddr =
    (op: (task: Task, sock: Socket, addr: SockAddr, addrlen: number) => number) =>
    (task: Task, fd: number, address: number, addrlen: number): number => {
      const sock = lookup(task, fd);
      if (typeof sock === 'number') return sock;
      const addr = readSockaddr(task, address, addrlen);
      if (typeof addr === 'number') return addr;
      return op(task, sock, addr, addrlen);
    };
  table.register(
    'bind',
    withAddr((task, sock, addr, addrlen) => {
      const ret = sock.ops.bind(sock, addr, addrlen);
      if (ret !== 0 || !sock.isInet) return ret;
      // __inet_bind: the cgroup's post_bind4 programs may refuse the bound address; the port is given back.
      const refused = cgroupInetSock(k.net, sock, BPF_ATTACH_TYPE.CGROUP_INET4_POST_BIND);
      if (refused !== 0) {
        (sock.isStream ? k.net.tcp : k.net.udp).ports.unbind(sock);
        sock.localAddr = 0;
        sock.localPort = 0;
        writeSockFields(k.phys.view, sock);
      }
      return refused;
    }),
  );
  table.register(
    'connect',
    withAddr((task, sock, addr, addrlen) => sock.ops.connect(task, sock, addr, addrlen)),
  );
  table.register('listen', (task, fd, backlog) => {
    const sock = lookup(task, fd);
    return typeof sock === 'number' ? sock : sock.ops.listen(sock, backlog);
  });

  const accept = (task: Task, fd: number, address: number, lenAddress: number, flags: number): number => {
    if ((flags & ~(SOCK.CLOEXEC | SOCK.NONBLOCK)) !== 0) return -Errno.EINVAL;
    const sock = lookup(task, fd);
    if (typeof sock === 'number') return sock;
    const child = sock.ops.accept(task, sock);
    if (typeof child === 'number') return child;
    const newFd = install(task, child, flags);
    if (newFd < 0) return newFd;
    if (address !== 0) {
      const peer = child.ops.getname(child, true);
      const err = typeof peer === 'number' ? peer : writeSockaddr(task, address, lenAddress, encodeSockaddr(peer));
      if (err < 0) {
        task.group.files.close(newFd);
        return err;
      }
    }
    return newFd;
  };
  table.register('accept', (task, fd, address, lenAddress) => accept(task, fd, address, lenAddress, 0));
  table.register('accept4', (task, fd, address, lenAddress, flags) => accept(task, fd, address, lenAddress, flags));

  table.register('sendto', (task, fd, buf, len, flags, address, addrlen) => {
    const sock = lookup(task, fd);
    if (typeof sock === 'number') return sock;
    let to: SockAddr | undefined;
    if (address !== 0) {
      const parsed = readSockaddr(task, address, addrlen);
      if (typeof parsed === 'number') return parsed;
      to = parsed;
    }
    const n = Math.min(len, MAX_TRANSFER);
    const buffer = bounceBuffer(n);
    if (n > 0 && !task.group.mm.copyFromUser(buf, buffer, 0, n)) return -Errno.EFAULT;
    return sock.ops.sendmsg(task, sock, buffer, n, flags, to);
  });

  table.register('recvfrom', (task, fd, buf, size, flags, address, lenAddress) => {
    const sock = lookup(task, fd);
    if (typeof sock === 'number') return sock;
    const n = Math.min(size, MAX_TRANSFER);
    const buffer = bounceBuffer(Math.max(n, 1));
    sock.lastFrom = undefined;
    const ret = sock.ops.recvmsg(task, sock, buffer, n, flags);
    if (ret < 0) return ret;
    const copied = Math.min(ret, n);
    if (copied > 0 && !task.group.mm.copyToUser(buf, buffer, 0, copied)) return -Errno.EFAULT;
    if (address !== 0) {
      // A stream socket reports no address (msg_namelen stays 0).
      const from = sock.isStream || sock.lastFrom === undefined ? new Uint8Array(0) : encodeSockaddr(sock.lastFrom);
      const err = writeSockaddr(task, address, lenAddress, from);
      if (err < 0) return err;
    }
    return ret;
  });

  table.register('shutdown', (task, fd, how) => {
    const sock = lookup(task, fd);
    return typeof sock === 'number' ? sock : sock.ops.shutdown(sock, how);
  });

  const name = (peer: boolean) => (task: Task, fd: number, address: number, lenAddress: number) => {
    const sock = lookup(task, fd);
    if (typeof sock === 'number') return sock;
    const addr = sock.ops.getname(sock, peer);
    if (typeof addr === 'number') return addr;
    return writeSockaddr(task, address, lenAddress, encodeSockaddr(addr));
  };
  table.register('getsockname', name(false));
  table.register('getpeername', name(true));

  table.register('setsockopt', (task, fd, level, optname, optval, optlen) => {
    const sock = lookup(task, fd);
    if (typeof sock === 'number') return sock;
    if (level === SOL.TCP && sock.protocol === IPPROTO.TCP) return tcpSetsockopt(k.net, task, sock, optname, optval, optlen);
    if (level !== SOL.SOCKET) return -Errno.ENOPROTOOPT;
    if (optname === SO.DETACH_BPF) return k.net.detachFilter(sock) ? 0 : -Errno.ENOENT;
    const setter = INT_SETTERS.get(optname);
    if (setter === undefined && optname !== SO.ATTACH_BPF) return -Errno.ENOPROTOOPT;
    // sock_setsockopt reads an int: a shorter option is EINVAL.
    if (optlen < 4) return -Errno.EINVAL;
    const bytes = new Uint8Array(4);
    if (!task.group.mm.copyFromUser(optval, bytes, 0, 4)) return -Errno.EFAULT;
    const value = new DataView(bytes.buffer).getInt32(0, true);
    if (optname === SO.ATTACH_BPF) return k.net.attachFilter(task, sock, value);
    return (setter as IntSetter)(sock, value);
  });

  table.register('getsockopt', (task, fd, level, optname, optval, lenAddress) => {
    const sock = lookup(task, fd);
    if (typeof sock === 'number') return sock;
    if (level === SOL.TCP && sock.protocol === IPPROTO.TCP) return tcpGetsockopt(k.net, task, sock, optname, optval, lenAddress);
    if (level !== SOL.SOCKET) return -Errno.ENOPROTOOPT;
    const getter = INT_GETTERS.get(optname);
    if (getter === undefined) return -Errno.ENOPROTOOPT;
    const mm = task.group.mm;
    const lenBytes = new Uint8Array(4);
    if (!mm.copyFromUser(lenAddress, lenBytes, 0, 4)) return -Errno.EFAULT;
    const lenView = new DataView(lenBytes.buffer);
    const len = lenView.getInt32(0, true);
    if (len < 0) return -Errno.EINVAL;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setInt32(0, getter(sock), true);
    const n = Math.min(len, 4);
    if (n > 0 && !mm.copyToUser(optval, out, 0, n)) return -Errno.EFAULT;
    lenView.setInt32(0, n, true);
    return mm.copyToUser(lenAddress, lenBytes, 0, 4) ? 0 : -Errno.EFAULT;
  });
}

type IntSetter = (sock: Socket, value: number) => number;

/** The SOL_SOCKET int options setsockopt handles (sk_setsockopt), as data. */
const INT_SETTERS: ReadonlyMap<number, IntSetter> = new Map<number, IntSetter>([
  [
    SO.REUSEADDR,
    (sock, value) => {
      sock.reuseAddr = value !== 0;
      return 0;
    },
  ],
  [
    SO.RCVBUF,
    (sock, value) => {
      // The kernel doubles the value for its bookkeeping overhead (socket(7)), within [SOCK_MIN_RCVBUF, 2 * rmem_max].
      sock.rcvbuf = Math.max(SOCK_MIN_RCVBUF, Math.min(Math.max(value, 0), RMEM_MAX) * 2);
      return 0;
    },
  ],
  [
    SO.SNDBUF,
    (sock, value) => {
      sock.sndbuf = Math.max(SOCK_MIN_SNDBUF, Math.min(Math.max(value, 0), RMEM_MAX) * 2);
      return 0;
    },
  ],
]);

/** The SOL_SOCKET int options getsockopt reports (sk_getsockopt). */
const INT_GETTERS: ReadonlyMap<number, (sock: Socket) => number> = new Map<number, (sock: Socket) => number>([
  [SO.TYPE, (sock) => sock.type],
  [SO.PROTOCOL, (sock) => sock.protocol],
  [SO.DOMAIN, (sock) => sock.family],
  [SO.REUSEADDR, (sock) => (sock.reuseAddr ? 1 : 0)],
  [SO.RCVBUF, (sock) => sock.rcvbuf],
  [SO.SNDBUF, (sock) => sock.sndbuf],
  [SO.ACCEPTCONN, (sock) => (sock.state === TCP_STATE.LISTEN ? 1 : 0)],
  [
    SO.ERROR,
    (sock) => {
      const error = sock.error;
      sock.error = 0;
      return error;
    },
  ],
]);

/** do_tcp_setsockopt: TCP_CONGESTION only (tcp_set_congestion_control); any other SOL_TCP option is ENOPROTOOPT here. */
function tcpSetsockopt(net: NetStack, task: Task, sock: Socket, optname: number, optval: number, optlen: number): number {
  if (optname !== TCP_SOCKOPT.CONGESTION) return -Errno.ENOPROTOOPT;
  if (optlen < 1) return -Errno.EINVAL;
  // strncpy_from_sockptr(name, optval, min(TCP_CA_NAME_MAX - 1, optlen)): up to the NUL.
  const bytes = new Uint8Array(Math.min(TCP_CA_NAME_MAX - 1, optlen));
  if (!task.group.mm.copyFromUser(optval, bytes, 0, bytes.length)) return -Errno.EFAULT;
  const nul = bytes.indexOf(0);
  const name = new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  // tcp_reinit_congestion_control runs for a socket past CLOSE and LISTEN.
  const connected = sock.state !== 0 && sock.state !== TCP_STATE.CLOSE && sock.state !== TCP_STATE.LISTEN;
  return net.congestion.setSocket(sock, name, connected);
}

/** do_tcp_getsockopt: TCP_CONGESTION gives the name (char[TCP_CA_NAME_MAX], NUL-padded) cut to the caller's length. */
function tcpGetsockopt(net: NetStack, task: Task, sock: Socket, optname: number, optval: number, lenAddress: number): number {
  if (optname !== TCP_SOCKOPT.CONGESTION) return -Errno.ENOPROTOOPT;
  const mm = task.group.mm;
  const lenBytes = new Uint8Array(4);
  if (!mm.copyFromUser(lenAddress, lenBytes, 0, 4)) return -Errno.EFAULT;
  const lenView = new DataView(lenBytes.buffer);
  const len = lenView.getInt32(0, true);
  if (len < 0) return -Errno.EINVAL;
  const n = Math.min(len, TCP_CA_NAME_MAX);
  lenView.setInt32(0, n, true);
  if (!mm.copyToUser(lenAddress, lenBytes, 0, 4)) return -Errno.EFAULT;
  const name = new Uint8Array(TCP_CA_NAME_MAX);
  name.set(new TextEncoder().encode(net.congestion.nameOf(sock)).subarray(0, TCP_CA_NAME_MAX - 1));
  return n === 0 || mm.copyToUser(optval, name, 0, n) ? 0 : -Errno.EFAULT;
}
