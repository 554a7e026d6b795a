import { AF, Errno, ETH_P, IPPROTO, Libc, MSG, O, SO, SOCK, SOL, htons, ipv4, parseSockaddrIn, sockaddrIn, sockaddrLl } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';

const LOOPBACK = ipv4('127.0.0.1');

describe('UDP over lo', () => {
  it('sends datagrams both ways with their source addresses, whole and in order', () => {
    const r: Record<string, unknown> = {};
    const { kernel, status } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const server = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      r.bind = yield* libc.bind(server, sockaddrIn('127.0.0.1', 7000));
      const client = yield* libc.socket(AF.INET, SOCK.DGRAM, IPPROTO.UDP);
      r.send1 = yield* libc.sendto(client, 'hello', 0, sockaddrIn('127.0.0.1', 7000));
      r.send2 = yield* libc.sendto(client, 'world!', 0, sockaddrIn(LOOPBACK, 7000));
      const first = yield* libc.recvfrom(server, 100);
      const second = yield* libc.recvfrom(server, 3);
      r.first = libc.decode(first.data);
      r.second = [second.ret, libc.decode(second.data)];
      const from = parseSockaddrIn(first.addr);
      const name = yield* libc.sockname(client);
      r.fromIsClient = name.ok && from !== undefined && parseSockaddrIn(name.value)?.port === from.port && from.addr === LOOPBACK;
      r.ephemeral = from !== undefined && from.port >= 32768 && from.port <= 60999;
      // Reply to the sender, then read it on the client with read(2).
      r.reply = yield* libc.sendto(server, 'pong', 0, first.addr);
      r.read = libc.decode((yield* libc.read(client, 10)).data);
      r.empty = (yield* libc.recvfrom(server, 10, MSG.DONTWAIT)).ret;
      return 0;
    });
    expect(status).toBe(0);
    expect(r).toEqual({
      bind: 0,
      send1: 5,
      send2: 6,
      first: 'hello',
      second: [3, 'wor'],
      fromIsClient: true,
      ephemeral: true,
      reply: 4,
      read: 'pong',
      empty: -Errno.EAGAIN,
    });
    expect(kernel.net.udp.noPorts).toBe(0);
    // Every skb and socket is gone once the process has exited.
    expect(kernel.net.skbs.live).toBe(0);
    expect(kernel.net.socketCount).toBe(0);
  });

  it('answers the errnos of bad calls as Linux (see linux-errnos.test.ts for the recorded ones)', () => {
    const r: Record<string, number> = {};
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      r.family = yield* libc.socket(99, SOCK.STREAM, 0);
      r.type = yield* libc.socket(AF.INET, 5 /* SOCK_SEQPACKET */, 0);
      r.protocol = yield* libc.socket(AF.INET, SOCK.STREAM, IPPROTO.UDP);
      r.flags = yield* libc.socket(AF.INET, SOCK.DGRAM | 0x100, 0);
      const u = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      r.sendNoDest = yield* libc.sendto(u, 'x');
      r.shutdownUnconnected = yield* libc.shutdown(u, 0);
      r.bindNonLocal = yield* libc.bind(u, sockaddrIn('10.9.9.9', 5000));
      r.bindShort = yield* libc.bind(u, sockaddrIn('127.0.0.1', 5000).subarray(0, 8));
      r.bind = yield* libc.bind(u, sockaddrIn('127.0.0.1', 5000));
      r.bindTwice = yield* libc.bind(u, sockaddrIn('127.0.0.1', 5001));
      const v = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      r.inUse = yield* libc.bind(v, sockaddrIn('0.0.0.0', 5000));
      r.peer = (yield* libc.sockname(v, true)).ok ? 0 : -Errno.ENOTCONN;
      r.notSock = yield* libc.bind(0, sockaddrIn('127.0.0.1', 5002));
      r.badFd = yield* libc.bind(77, sockaddrIn('127.0.0.1', 5002));
      r.attachNotProg = yield* libc.setsockoptInt(u, SOL.SOCKET, SO.ATTACH_BPF, 0);
      r.detachNone = yield* libc.setsockoptInt(u, SOL.SOCKET, SO.DETACH_BPF, 0);
      r.badOpt = yield* libc.setsockoptInt(u, SOL.SOCKET, 9999, 0);
      r.rcvbufDefault = (yield* libc.getsockoptInt(u, SOL.SOCKET, SO.RCVBUF)).ok ? 212992 : -1;
      yield* libc.setsockoptInt(u, SOL.SOCKET, SO.RCVBUF, 4096);
      const rcvbuf = yield* libc.getsockoptInt(u, SOL.SOCKET, SO.RCVBUF);
      r.rcvbuf = rcvbuf.ok ? rcvbuf.value : -rcvbuf.errno;
      const type = yield* libc.getsockoptInt(u, SOL.SOCKET, SO.TYPE);
      r.soType = type.ok ? type.value : -1;
      const nb = yield* libc.socket(AF.INET, SOCK.DGRAM | SOCK.NONBLOCK, 0);
      yield* libc.bind(nb, sockaddrIn('127.0.0.1', 5003));
      r.nonblockRead = (yield* libc.read(nb, 10)).ret;
      return 0;
    });
    expect(r).toEqual({
      family: -Errno.EAFNOSUPPORT,
      type: -Errno.ESOCKTNOSUPPORT,
      protocol: -Errno.EPROTONOSUPPORT,
      flags: -Errno.EINVAL,
      sendNoDest: -Errno.EDESTADDRREQ,
      shutdownUnconnected: -Errno.ENOTCONN,
      bindNonLocal: -Errno.EADDRNOTAVAIL,
      bindShort: -Errno.EINVAL,
      bind: 0,
      bindTwice: -Errno.EINVAL,
      inUse: -Errno.EADDRINUSE,
      peer: -Errno.ENOTCONN,
      notSock: -Errno.ENOTSOCK,
      badFd: -Errno.EBADF,
      attachNotProg: -Errno.EINVAL,
      detachNone: -Errno.ENOENT,
      badOpt: -Errno.ENOPROTOOPT,
      rcvbufDefault: 212992,
      rcvbuf: 8192,
      soType: SOCK.DGRAM,
      nonblockRead: -Errno.EAGAIN,
    });
  });

  it('a blocked recvfrom sleeps in virtual time until a datagram arrives (from another process)', () => {
    const got: string[] = [];
    const { status } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const server = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      yield* libc.bind(server, sockaddrIn('127.0.0.1', 9000));
      const child = yield* libc.fork(function* (childCtx) {
        const c = new Libc(childCtx);
        yield* c.nanosleep(1_000_000);
        const s = yield* c.socket(AF.INET, SOCK.DGRAM, 0);
        yield* c.connect(s, sockaddrIn('127.0.0.1', 9000));
        yield* c.write(s, 'late');
        return 0;
      });
      got.push(libc.decode((yield* libc.recvfrom(server, 10)).data));
      yield* libc.wait4(child);
      return 0;
    });
    expect(status).toBe(0);
    expect(got).toEqual(['late']);
  });
});

describe('AF_PACKET', () => {
  it('a raw packet socket sees each lo frame twice (outgoing and host), from the Ethernet header', () => {
    const frames: Array<{ len: number; type: number; proto: number }> = [];
    const r: Record<string, number> = {};
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const raw = yield* libc.socket(AF.PACKET, SOCK.RAW, htons(ETH_P.ALL));
      r.bind = yield* libc.bind(raw, sockaddrLl(1, ETH_P.ALL));
      const u = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      yield* libc.bind(u, sockaddrIn('127.0.0.1', 4000));
      yield* libc.sendto(u, 'abc', 0, sockaddrIn('127.0.0.1', 4000));
      for (let i = 0; i < 2; i++) {
        const got = yield* libc.recvfrom(raw, 2000);
        const view = new DataView(got.data.buffer, got.data.byteOffset);
        frames.push({ len: got.ret, type: got.addr[10] ?? -1, proto: view.getUint16(12, false) });
      }
      r.more = (yield* libc.recvfrom(raw, 2000, MSG.DONTWAIT)).ret;
      return 0;
    });
    // 14 (Ethernet) + 20 (IPv4) + 8 (UDP) + 3.
    expect(frames).toEqual([
      { len: 45, type: 4, proto: ETH_P.IP },
      { len: 45, type: 0, proto: ETH_P.IP },
    ]);
    expect(r).toEqual({ bind: 0, more: -Errno.EAGAIN });
  });

  it('needs CAP_NET_RAW', () => {
    let ret = 0;
    runProgram(
      function* (ctx) {
        ret = yield* new Libc(ctx).socket(AF.PACKET, SOCK.RAW, htons(ETH_P.ALL));
        return 0;
      },
      {},
      undefined,
      { uid: 1000 },
    );
    expect(ret).toBe(-Errno.EPERM);
    expect(O.NONBLOCK).toBe(SOCK.NONBLOCK);
  });
});
