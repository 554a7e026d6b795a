/**
 * A client/server network workload, written as user space (only @ebpf-sim/uapi, only syscalls):
 * `/bin/netload <clients> <requests> <port> <tcp|udp>` starts a server and `clients` clients on 127.0.0.1
 * and waits for all of them; it exits with the number of processes that failed.
 * - TCP: the server listens, forks a handler per accepted connection; each request is a 4-byte little-endian
 *   size, answered with that many bytes; a client connects, makes `requests` requests of random sizes
 *   (getrandom: they follow the kernel seed), checks every answer, and closes (FIN), which ends its handler.
 * - UDP: the server answers each datagram with the same bytes, upper-cased, until it has answered
 *   `clients * requests`; a client sends a datagram per request and waits for each answer.
 */
import { AF, Libc, SO, SOCK, SOL, WEXITSTATUS, WIFEXITED, sockaddrIn, type Sys, type UserContext, type UserProgram } from '@ebpf-sim/uapi';

/** Paths the workload's programs must be registered at. */
export const NET_PROGRAMS = { load: '/bin/netload', server: '/bin/netserver', client: '/bin/netclient' } as const;

/** The largest answer a TCP request asks for. */
const MAX_ANSWER = 8192;
const LOOPBACK = '127.0.0.1';

function argInt(ctx: UserContext, index: number, fallback: number): number {
  const value = Number(ctx.argv[index]);
  return Number.isFinite(value) ? value : fallback;
}

function* randomBelow(libc: Libc, bound: number): Sys<number> {
  const bytes = yield* libc.getrandom(4);
  if (!bytes.ok) return 0;
  return new DataView(bytes.value.buffer, bytes.value.byteOffset, 4).getUint32(0, true) % bound;
}

/** Read exactly `count` bytes from a stream socket: the bytes, or undefined at end of stream or on error. */
function* readFully(libc: Libc, fd: number, count: number): Sys<Uint8Array | undefined> {
  const out = new Uint8Array(count);
  let got = 0;
  while (got < count) {
    const { ret, data } = yield* libc.read(fd, count - got);
    if (ret <= 0) return undefined;
    out.set(data, got);
    got += ret;
  }
  return out;
}

/** Wait for `count` children: how many failed (non-zero exit or a signal). */
function* reapAll(libc: Libc, count: number): Sys<number> {
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const { pid, status } = yield* libc.wait4(-1, 0);
    if (pid < 0) return failed + count - i;
    if (!WIFEXITED(status) || WEXITSTATUS(status) !== 0) failed++;
  }
  return failed;
}

/** The byte at `index` of an answer (a pattern the client can check). */
const patternByte = (index: number): number => (index * 7 + 13) & 0xff;

/** One TCP connection's handler: answer size requests until the client closes. */
function* serveConnection(libc: Libc, fd: number): Sys<number> {
  for (;;) {
    const request = yield* readFully(libc, fd, 4);
    if (request === undefined) break;
    const size = new DataView(request.buffer).getUint32(0, true);
    if (size > MAX_ANSWER) return 1;
    const answer = new Uint8Array(size);
    for (let i = 0; i < size; i++) answer[i] = patternByte(i);
    if ((yield* libc.write(fd, answer)) !== size) return 2;
  }
  yield* libc.close(fd);
  return 0;
}

/** /bin/netserver <port> <clients> <requests> <tcp|udp>. */
export const netServer: UserProgram = function* (ctx) {
  const libc = new Libc(ctx);
  const port = argInt(ctx, 1, 8080);
  const clients = argInt(ctx, 2, 4);
  const requests = argInt(ctx, 3, 4);
  const udp = ctx.argv[4] === 'udp';
  const fd = yield* libc.socket(AF.INET, udp ? SOCK.DGRAM : SOCK.STREAM, 0);
  if (fd < 0) return 10;
  yield* libc.setsockoptInt(fd, SOL.SOCKET, SO.REUSEADDR, 1);
  if ((yield* libc.bind(fd, sockaddrIn(LOOPBACK, port))) !== 0) return 11;
  if (udp) {
    for (let answered = 0; answered < clients * requests; answered++) {
      const { ret, data, addr } = yield* libc.recvfrom(fd, 2048);
      if (ret < 0) return 12;
      const upper = libc.decode(data).toUpperCase();
      if ((yield* libc.sendto(fd, upper, 0, addr)) < 0) return 13;
    }
    return 0;
  }
  if ((yield* libc.listen(fd, 128)) !== 0) return 12;
  for (let served = 0; served < clients; served++) {
    const conn = yield* libc.accept(fd);
    if (conn.fd < 0) return 13;
    const handler = yield* libc.fork(function* (child) {
      return yield* serveConnection(new Libc(child), conn.fd);
    });
    if (handler < 0) return 14;
    yield* libc.close(conn.fd);
  }
  yield* libc.close(fd);
  return yield* reapAll(libc, clients);
};

/** /bin/netclient <port> <requests> <tcp|udp> <id>. */
export const netClient: UserProgram = function* (ctx) {
  const libc = new Libc(ctx);
  const port = argInt(ctx, 1, 8080);
  const requests = argInt(ctx, 2, 4);
  const udp = ctx.argv[3] === 'udp';
  const id = argInt(ctx, 4, 0);
  const fd = yield* libc.socket(AF.INET, udp ? SOCK.DGRAM : SOCK.STREAM, 0);
  if (fd < 0) return 20;
  if ((yield* libc.connect(fd, sockaddrIn(LOOPBACK, port))) !== 0) return 21;
  for (let r = 0; r < requests; r++) {
    if (udp) {
      const text = `client ${id} request ${r}`;
      if ((yield* libc.write(fd, text)) !== text.length) return 22;
      const { ret, data } = yield* libc.read(fd, 2048);
      if (ret !== text.length || libc.decode(data) !== text.toUpperCase()) return 23;
    } else {
      const size = 1 + (yield* randomBelow(libc, MAX_ANSWER));
      const request = new Uint8Array(4);
      new DataView(request.buffer).setUint32(0, size, true);
      if ((yield* libc.write(fd, request)) !== 4) return 22;
      const answer = yield* readFully(libc, fd, size);
      if (answer === undefined) return 23;
      for (let i = 0; i < size; i++) if (answer[i] !== patternByte(i)) return 24;
    }
    yield* libc.compute(10_000 + (yield* randomBelow(libc, 50_000)));
  }
  yield* libc.close(fd);
  return 0;
};

/** /bin/netload <clients> <requests> <port> <tcp|udp>: the server, then the clients; reap all. */
export const netLoad: UserProgram = function* (ctx) {
  const libc = new Libc(ctx);
  const clients = argInt(ctx, 1, 4);
  const requests = argInt(ctx, 2, 4);
  const port = argInt(ctx, 3, 8080);
  const proto = ctx.argv[4] === 'udp' ? 'udp' : 'tcp';
  const server = yield* libc.fork(function* (child) {
    return yield* new Libc(child).execve(NET_PROGRAMS.server, ['netserver', String(port), String(clients), String(requests), proto]);
  });
  if (server < 0) return 100;
  // Let the server reach listen() before the first connect (a connect before that would be refused).
  yield* libc.nanosleep(1_000_000);
  for (let id = 0; id < clients; id++) {
    const pid = yield* libc.fork(function* (child) {
      return yield* new Libc(child).execve(NET_PROGRAMS.client, ['netclient', String(port), String(requests), proto, String(id)]);
    });
    if (pid < 0) return 101;
  }
  const failed = yield* reapAll(libc, clients + 1);
  yield* libc.write(1, `netload: ${clients} ${proto} clients x ${requests} requests, ${failed} failed\n`);
  return failed;
};
