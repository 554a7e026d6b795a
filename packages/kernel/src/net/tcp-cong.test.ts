import { AF, Errno, Libc, SOCK, SOL, TCP_CA_NAME_MAX, TCP_SOCKOPT, sockaddrIn } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';
import {
  TCP_CA_EVENT,
  TCP_INIT_CWND,
  TCP_RENO,
  TCP_SOCK,
  TcpCongestionControl,
  TcpCwnd,
  tcpRenoCongAvoid,
  tcpRenoSsthresh,
  type TcpCongestionOps,
} from './tcp-cong.js';

const name = (text: string): Uint8Array => new TextEncoder().encode(`${text}\0`);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes.subarray(0, Math.max(0, bytes.indexOf(0) < 0 ? bytes.length : bytes.indexOf(0))));

describe('TCP congestion control', () => {
  it('reno as tcp_cong.c: slow start to ssthresh, then one segment per window; ssthresh halves', () => {
    const tp = new TcpCwnd();
    tp.maxPacketsOut = 10;
    tcpRenoCongAvoid(tp, 4);
    expect(tp.sndCwnd).toBe(TCP_INIT_CWND + 4);
    tp.sndSsthresh = 16;
    tp.maxPacketsOut = 20;
    tcpRenoCongAvoid(tp, 4);
    // 2 to reach ssthresh, the other 2 counted towards the next increase (w = 16).
    expect([tp.sndCwnd, tp.sndCwndCnt]).toEqual([16, 2]);
    // Not window-limited in slow start (cwnd >= 2 * max_packets_out): no change.
    const idle = new TcpCwnd();
    tcpRenoCongAvoid(idle, 5);
    expect(idle.sndCwnd).toBe(TCP_INIT_CWND);
    expect(tcpRenoSsthresh(tp)).toBe(8);
  });

  it('registration needs ssthresh, undo_cwnd and cong_avoid, and a new name', () => {
    const cc = new TcpCongestionControl(new DataView(new ArrayBuffer(TCP_SOCK.size)));
    const noUndo: TcpCongestionOps = { name: 'x', flags: 0, ssthresh: () => 2, congAvoid: () => undefined };
    expect(cc.register(noUndo)).toBe(-Errno.EINVAL);
    expect(cc.register({ ...TCP_RENO })).toBe(-Errno.EEXIST);
    const mine = { ...TCP_RENO, name: 'mine' };
    expect(cc.register(mine)).toBe(0);
    expect(cc.available()).toBe('reno mine');
    cc.unregister(mine);
    expect(cc.available()).toBe('reno');
  });

  it('a TCP connection calls init, cwnd_event(TX_START) and cong_avoid of the congestion control setsockopt chose', () => {
    const calls: string[] = [];
    const counting: TcpCongestionOps = {
      ...TCP_RENO,
      name: 'counting',
      init: (sk) => calls.push(`init ${sk.cwnd.sndCwnd}`),
      cwndEvent: (_sk, event) => calls.push(`event ${event}`),
      congAvoid: (sk, _ack, acked) => {
        calls.push(`cong_avoid ${acked}`);
        // The op sees the window in the socket's tcp_sock too, and what it writes there is read back.
        sk.cwnd.sndCwnd += acked;
      },
      release: () => calls.push('release'),
    };
    const answers: (string | number)[] = [];
    const { kernel, status } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const listener = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
        yield* libc.bind(listener, sockaddrIn('127.0.0.1', 9000));
        yield* libc.listen(listener, 4);
        const fd = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
        const before = yield* libc.getsockoptBytes(fd, SOL.TCP, TCP_SOCKOPT.CONGESTION, TCP_CA_NAME_MAX);
        answers.push(before.ok ? text(before.value) : -before.errno);
        answers.push(yield* libc.setsockoptBytes(fd, SOL.TCP, TCP_SOCKOPT.CONGESTION, name('nope')));
        answers.push(yield* libc.setsockoptBytes(fd, SOL.TCP, TCP_SOCKOPT.CONGESTION, name('counting')));
        const after = yield* libc.getsockoptBytes(fd, SOL.TCP, TCP_SOCKOPT.CONGESTION, 4);
        answers.push(after.ok ? `${text(after.value)}/${after.value.length}` : -after.errno);
        answers.push(yield* libc.connect(fd, sockaddrIn('127.0.0.1', 9000)));
        const { fd: peer } = yield* libc.accept(listener);
        yield* libc.write(fd, 'one');
        yield* libc.read(peer, 10);
        yield* libc.write(fd, 'two');
        yield* libc.read(peer, 10);
        yield* libc.nanosleep(1_000_000);
        yield* libc.close(fd);
        yield* libc.close(peer);
        yield* libc.close(listener);
        return 0;
      },
      {},
      (k) => {
        expect(k.net.congestion.register(counting)).toBe(0);
      },
    );
    expect(status).toBe(0);
    expect(answers).toEqual(['reno', -Errno.ENOENT, 0, 'coun/4', 0]);
    expect(calls).toEqual([
      `init ${TCP_INIT_CWND}`,
      `event ${TCP_CA_EVENT.TX_START}`,
      'cong_avoid 1',
      `event ${TCP_CA_EVENT.TX_START}`,
      'cong_avoid 1',
      // The FIN's ACK (a segment in flight, without TX_START).
      'cong_avoid 1',
      'release',
    ]);
    expect(kernel.net.congestion.available()).toBe('reno counting');
  });
});
