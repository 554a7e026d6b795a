import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AF, IPPROTO, Libc, MSG, SHUT, SO, SOCK, SOL, sockaddrIn } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';

/** What Linux answered (fixtures/record-linux-errnos.py, run on the machine named in the file). */
const LINUX = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'linux-errnos.json'), 'utf8')) as Record<string, number | string>;

describe('socket calls answer as Linux does', () => {
  it('gives the recorded errnos and option values for the same calls', () => {
    const r: Record<string, number | string> = { kernel: LINUX.kernel ?? '' };
    const { status } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const intOpt = function* (fd: number, name: number) {
        const got = yield* libc.getsockoptInt(fd, SOL.SOCKET, name);
        return got.ok ? got.value : -got.errno;
      };
      r.family = yield* libc.socket(99, SOCK.STREAM, 0);
      r.type = yield* libc.socket(AF.INET, 5 /* SOCK_SEQPACKET */, 0);
      r.protocol = yield* libc.socket(AF.INET, SOCK.STREAM, IPPROTO.UDP);
      const u = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      r.udpSendNoDest = yield* libc.sendto(u, 'x');
      r.udpShutdownUnconnected = yield* libc.shutdown(u, SHUT.RD);
      r.bindNonLocal = yield* libc.bind(u, sockaddrIn('10.9.9.9', 5556));
      r.attachNotProg = yield* libc.setsockoptInt(u, SOL.SOCKET, SO.ATTACH_BPF, 0);
      r.detachNone = yield* libc.setsockoptInt(u, SOL.SOCKET, SO.DETACH_BPF, 0);
      r.badOpt = yield* libc.setsockoptInt(u, SOL.SOCKET, 9999, 0);
      r.rcvbufDefault = yield* intOpt(u, SO.RCVBUF);
      yield* libc.setsockoptInt(u, SOL.SOCKET, SO.RCVBUF, 4096);
      r.rcvbufAfter4096 = yield* intOpt(u, SO.RCVBUF);
      const a = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
      yield* libc.bind(a, sockaddrIn('127.0.0.1', 5555));
      r.bindTwice = yield* libc.bind(a, sockaddrIn('127.0.0.1', 5556));
      r.bindInUse = yield* libc.bind(yield* libc.socket(AF.INET, SOCK.STREAM, 0), sockaddrIn('127.0.0.1', 5555));
      const peer = yield* libc.sockname(a, true);
      r.getpeernameUnconnected = peer.ok ? 0 : -peer.errno;
      const t = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
      r.tcpSendUnconnected = yield* libc.sendto(t, 'x', MSG.NOSIGNAL);
      r.tcpRecvUnconnected = (yield* libc.read(t, 1)).ret;
      r.connectRefused = yield* libc.connect(t, sockaddrIn('127.0.0.1', 1));
      r.connectRefusedAgain = yield* libc.connect(t, sockaddrIn('127.0.0.1', 1));
      yield* libc.listen(a, 1);
      r.connectListening = yield* libc.connect(a, sockaddrIn('127.0.0.1', 1));
      return 0;
    });
    expect(status).toBe(0);
    expect(r).toEqual(LINUX);
  });
});
