import { AF, Errno, Libc, SHUT, SOCK, TCP_FLAG, TCP_STATE, TRACE_INET_SOCK_SET_STATE, parseSockaddrIn, sockaddrIn, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import type { Kernel } from '../kernel.js';
import { runProgram } from '../testing/run-program.js';

/** A server process accepting one connection and echoing what it reads, upper-cased, until end of stream. */
const echoServer = (port: number, log: string[]): UserProgram =>
  function* (ctx) {
    const libc = new Libc(ctx);
    const listener = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
    yield* libc.bind(listener, sockaddrIn('127.0.0.1', port));
    yield* libc.listen(listener, 8);
    const { fd, addr } = yield* libc.accept(listener);
    log.push(`accepted from port ${(parseSockaddrIn(addr)?.port ?? -1 > 0) ? 'ephemeral' : 'none'}`);
    for (;;) {
      const { ret, data } = yield* libc.read(fd, 100);
      if (ret <= 0) break;
      log.push(`server read ${libc.decode(data)}`);
      yield* libc.write(fd, libc.decode(data).toUpperCase());
    }
    log.push('server saw end of stream');
    yield* libc.close(fd);
    yield* libc.close(listener);
    return 0;
  };

/** Record every inet_sock_set_state firing as "old>new". */
function traceStates(kernel: Kernel, states: string[]): void {
  kernel.hooks.require('sock:inet_sock_set_state').attach((inv) => {
    const view = inv.memory.view;
    const T = TRACE_INET_SOCK_SET_STATE;
    const name = (s: number): string => Object.entries(TCP_STATE).find(([, v]) => v === s)?.[0] ?? String(s);
    states.push(
      `${view.getUint16(inv.ctx + T.sport, true)}:${name(view.getInt32(inv.ctx + T.oldstate, true))}>${name(view.getInt32(inv.ctx + T.newstate, true))}`,
    );
    return 0;
  });
}

describe('TCP over lo', () => {
  it('handshake, data both ways, FIN close from the client; every state change traced', () => {
    const log: string[] = [];
    const states: string[] = [];
    const { kernel, status } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const server = yield* libc.fork(echoServer(8080, log));
        // Give the server time to listen (a connect before that is refused, as on Linux).
        yield* libc.nanosleep(1_000_000);
        const fd = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
        log.push(`connect ${yield* libc.connect(fd, sockaddrIn('127.0.0.1', 8080))}`);
        const peer = yield* libc.sockname(fd, true);
        log.push(`peer port ${peer.ok ? parseSockaddrIn(peer.value)?.port : -peer.errno}`);
        for (const word of ['ping', 'hello']) {
          yield* libc.write(fd, word);
          log.push(`client read ${libc.decode((yield* libc.read(fd, 100)).data)}`);
        }
        log.push(`shutdown ${yield* libc.shutdown(fd, SHUT.WR)}`);
        log.push(`client eof ${(yield* libc.read(fd, 100)).ret}`);
        yield* libc.close(fd);
        yield* libc.wait4(server);
        return 0;
      },
      {},
      (k) => traceStates(k, states),
    );
    expect(status).toBe(0);
    expect(log).toEqual([
      'connect 0',
      'peer port 8080',
      'accepted from port ephemeral',
      'server read ping',
      'client read PING',
      'server read hello',
      'client read HELLO',
      'shutdown 0',
      'server saw end of stream',
      'client eof 0',
    ]);
    const client = states.find((s) => s.includes('SYN_SENT'))?.split(':')[0];
    expect(states.map((s) => (s.startsWith('8080:') ? s.replace('8080', 'server') : s.replace(`${client}:`, 'client:')))).toEqual([
      'server:CLOSE>LISTEN',
      'client:CLOSE>SYN_SENT',
      'client:SYN_SENT>ESTABLISHED',
      'server:CLOSE>SYN_RECV',
      'server:SYN_RECV>ESTABLISHED',
      'client:ESTABLISHED>FIN_WAIT1',
      'server:ESTABLISHED>CLOSE_WAIT',
      'client:FIN_WAIT1>FIN_WAIT2',
      'server:CLOSE_WAIT>LAST_ACK',
      'client:FIN_WAIT2>CLOSE',
      'server:LAST_ACK>CLOSE',
      'server:LISTEN>CLOSE',
    ]);
    expect(kernel.net.skbs.live).toBe(0);
    expect(kernel.net.socketCount).toBe(0);
    expect(kernel.net.tcp.connections()).toEqual([]);
  });

  it('a connect to a closed port is refused by a RST (ECONNREFUSED); non-blocking connect says EINPROGRESS', () => {
    const r: Record<string, number> = {};
    const { kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const fd = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
      r.refused = yield* libc.connect(fd, sockaddrIn('127.0.0.1', 1));
      r.again = yield* libc.connect(fd, sockaddrIn('127.0.0.1', 1));
      r.send = yield* libc.sendto(fd, 'x', 0x4000 /* MSG_NOSIGNAL */);
      r.recv = (yield* libc.read(fd, 1)).ret;
      const listener = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
      yield* libc.bind(listener, sockaddrIn('0.0.0.0', 7777));
      yield* libc.listen(listener, 1);
      r.connectListening = yield* libc.connect(listener, sockaddrIn('127.0.0.1', 1));
      const nb = yield* libc.socket(AF.INET, SOCK.STREAM | SOCK.NONBLOCK, 0);
      r.inProgress = yield* libc.connect(nb, sockaddrIn('127.0.0.1', 7777));
      // Over lo the handshake completes before the next call (as on Linux, where lo's softirq runs at once).
      r.connected = yield* libc.connect(nb, sockaddrIn('127.0.0.1', 7777));
      r.acceptBadFlags = (yield* libc.accept(listener, 1)).fd;
      const accepted = yield* libc.accept(listener, SOCK.NONBLOCK);
      r.accepted = accepted.fd > 0 ? 1 : accepted.fd;
      const nbListener = yield* libc.socket(AF.INET, SOCK.STREAM | SOCK.NONBLOCK, 0);
      yield* libc.listen(nbListener, 1);
      r.acceptEmpty = (yield* libc.accept(nbListener)).fd;
      return 0;
    });
    expect(r).toEqual({
      refused: -Errno.ECONNREFUSED,
      again: -Errno.ECONNREFUSED,
      send: -Errno.EPIPE,
      recv: -Errno.ENOTCONN,
      connectListening: -Errno.EISCONN,
      inProgress: -Errno.EINPROGRESS,
      connected: -Errno.EISCONN,
      acceptBadFlags: -Errno.EINVAL,
      accepted: 1,
      acceptEmpty: -Errno.EAGAIN,
    });
    expect(kernel.net.tcp.outRsts).toBe(2);
  });

  it('sends real TCP headers: SYN, SYN-ACK, ACK on the wire', () => {
    const flags: number[] = [];
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const l = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
        yield* libc.bind(l, sockaddrIn('127.0.0.1', 9999));
        yield* libc.listen(l, 1);
        const c = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
        yield* libc.connect(c, sockaddrIn('127.0.0.1', 9999));
        return 0;
      },
      {},
      (k) =>
        k.hooks.require('tc:egress:lo').attach((inv) => {
          const view = inv.memory.view;
          const data = Number(view.getBigUint64(inv.ctx + 208, true));
          flags.push(view.getUint8(data + 14 + 20 + 13));
          return -1;
        }),
    );
    expect(flags.slice(0, 3)).toEqual([TCP_FLAG.SYN, TCP_FLAG.SYN | TCP_FLAG.ACK, TCP_FLAG.ACK]);
  });
});
