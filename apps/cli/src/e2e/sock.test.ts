/**
 * Socket pointers end to end: a clang object (fixtures/attach/src/sock_egress.bpf.c) loaded by the loader; its
 * cgroup_skb egress program attached to a cgroup where a workload sends UDP datagrams and talks TCP over lo. The
 * program follows skb->sk through bpf_sk_fullsock and bpf_tcp_sock, keeps what it saw of each socket in an
 * SK_STORAGE map, and user space reads each socket's value back by its fd. The object's second program runs in
 * BPF_PROG_TEST_RUN on the skb's dummy socket, compared with what Linux 6.18 gave (sock_egress.linux.json,
 * recorded by fixtures/attach/record-sock.sh).
 */
import { readFileSync } from 'node:fs';
import { attachProgram, type LoadedObject } from '@ebpf-sim/loader';
import { AF, Errno, IPPROTO, O, SOCK, TCP_STATE, sockaddrIn, Libc, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { arrayU64s, loadAttachObject, mapFd, progFd } from './rawtp-attach.js';

/** struct sock_seen of sock_egress.bpf.c: [name, offset, size]. */
const SEEN: ReadonlyArray<readonly [string, number, 4 | 8]> = [
  ['packets', 0, 8],
  ['bytes', 8, 8],
  ['cookie', 16, 8],
  ['cgroup_id', 24, 8],
  ['family', 32, 4],
  ['protocol', 36, 4],
  ['state', 40, 4],
  ['src_port', 44, 4],
  ['dst_port', 48, 4],
  ['dst_ip4', 52, 4],
  ['uid', 56, 4],
  ['is_tcp', 60, 4],
  ['snd_nxt', 64, 4],
  ['skb_family', 68, 4],
  ['skb_remote_port', 72, 4],
  ['skb_local_port', 76, 4],
];
const SEEN_SIZE = 80;

/** The socket's value in the SK_STORAGE map (the key is the socket's fd), decoded; or the errno. */
function* seenOf(libc: Libc, map: number, fd: number): Generator<number, Record<string, number> | number, number> {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt32(0, fd, true);
  const value = yield* libc.bpfMapLookup(map, key, SEEN_SIZE);
  if (!value.ok) return -value.errno;
  const view = new DataView(value.value.buffer, value.value.byteOffset, value.value.byteLength);
  return Object.fromEntries(SEEN.map(([name, off, size]) => [name, size === 8 ? Number(view.getBigUint64(off, true)) : view.getUint32(off, true)]));
}

function* writeFile(libc: Libc, path: string, text: string): Generator<number, number, number> {
  const fd = yield* libc.open(path, O.WRONLY);
  if (fd < 0) return fd;
  const ret = yield* libc.write(fd, text);
  yield* libc.close(fd);
  return ret;
}

/** 127.0.0.1 as the u32 a program loads from the network-order address on a little-endian machine. */
const LOOPBACK_LOADED = 0x0100007f;

describe('socket pointers in a cgroup_skb program (sock_egress.bpf.o)', () => {
  it('sees the sending socket of real UDP and TCP traffic through skb->sk, bpf_sk_fullsock, bpf_tcp_sock and sk_storage', () => {
    const seen: Record<string, unknown> = {};
    inCorpusKernel(function* (libc) {
      const loaded: LoadedObject = yield* loadAttachObject(libc, 'sock_egress');
      expect(yield* libc.mkdir('/sys/fs/cgroup/sk')).toBe(0);
      const st = yield* libc.stat('/sys/fs/cgroup/sk');
      if (!st.ok) throw new Error('stat');
      seen.cgroupId = st.value.ino;
      const cgroupFd = yield* libc.open('/sys/fs/cgroup/sk', O.RDONLY | O.DIRECTORY);
      const egress = loaded.programs.get('sock_egress');
      if (egress === undefined) throw new Error('sock_egress missing');
      yield* attachProgram(libc, egress, { cgroupFd });
      const storage = mapFd(loaded, 'sock_seen');
      const totals = mapFd(loaded, 'totals');

      const child: UserProgram = function* (ctx) {
        const c = new Libc(ctx);
        expect(yield* writeFile(c, '/sys/fs/cgroup/sk/cgroup.procs', '0\n')).toBe(2);
        // UDP: two datagrams from 127.0.0.1:40001 to a receiver on 7777.
        const receiver = yield* c.socket(AF.INET, SOCK.DGRAM, 0);
        expect(yield* c.bind(receiver, sockaddrIn('127.0.0.1', 7777))).toBe(0);
        const udp = yield* c.socket(AF.INET, SOCK.DGRAM, 0);
        expect(yield* c.bind(udp, sockaddrIn('127.0.0.1', 40001))).toBe(0);
        expect(yield* c.sendto(udp, 'hello', 0, sockaddrIn('127.0.0.1', 7777))).toBe(5);
        expect(yield* c.sendto(udp, 'world', 0, sockaddrIn('127.0.0.1', 7777))).toBe(5);
        // TCP: a connection to a listener on 8080, and three bytes sent on it.
        const listener = yield* c.socket(AF.INET, SOCK.STREAM, 0);
        expect(yield* c.bind(listener, sockaddrIn('127.0.0.1', 8080))).toBe(0);
        expect(yield* c.listen(listener, 4)).toBe(0);
        const tcp = yield* c.socket(AF.INET, SOCK.STREAM, 0);
        expect(yield* c.connect(tcp, sockaddrIn('127.0.0.1', 8080))).toBe(0);
        const accepted = yield* c.accept(listener);
        expect(accepted.fd).toBeGreaterThanOrEqual(0);
        expect(yield* c.write(tcp, 'abc')).toBe(3);
        // Each socket's value, looked up by its fd (bpf_fd_sk_storage_lookup_elem).
        seen.udp = yield* seenOf(c, storage, udp);
        seen.tcp = yield* seenOf(c, storage, tcp);
        seen.accepted = yield* seenOf(c, storage, accepted.fd);
        seen.receiver = yield* seenOf(c, storage, receiver);
        seen.notSocket = yield* seenOf(c, storage, 0);
        seen.uid = yield* c.getuid();
        // Before the sockets close (their FINs would count too).
        seen.totals = yield* arrayU64s(c, totals, 3);
        return 0;
      };
      expect(yield* libc.fork(child)).toBeGreaterThan(0);
      yield* libc.wait4();
    });

    const udp = seen.udp as Record<string, number>;
    const tcp = seen.tcp as Record<string, number>;
    const accepted = seen.accepted as Record<string, number>;
    expect(udp).toMatchObject({
      packets: 2,
      // skb->len from the network header: 20 (IP) + 8 (UDP) + 5 bytes of payload, twice.
      bytes: 2 * 33,
      cgroup_id: seen.cgroupId,
      family: AF.INET,
      protocol: IPPROTO.UDP,
      // An unconnected UDP socket is TCP_CLOSE (sock_init_data).
      state: TCP_STATE.CLOSE,
      src_port: 40001,
      dst_port: 0,
      uid: seen.uid,
      is_tcp: 0,
      skb_family: AF.INET,
      skb_local_port: 40001,
    });
    expect(tcp).toMatchObject({
      cgroup_id: seen.cgroupId,
      family: AF.INET,
      protocol: IPPROTO.TCP,
      state: TCP_STATE.ESTABLISHED,
      dst_port: 8080,
      dst_ip4: LOOPBACK_LOADED,
      is_tcp: 1,
      skb_family: AF.INET,
      skb_remote_port: 8080,
    });
    expect(tcp.skb_local_port).toBe(tcp.src_port);
    // The SYN, the ACK of the handshake and the data segment at least.
    expect(tcp.packets).toBeGreaterThanOrEqual(3);
    expect(accepted).toMatchObject({ protocol: IPPROTO.TCP, src_port: 8080, dst_port: tcp.src_port, is_tcp: 1 });
    // Cookies: given on first use, one per socket, never 0.
    const cookies = [udp.cookie, tcp.cookie, accepted.cookie];
    expect(cookies.every((cookie) => cookie !== 0)).toBe(true);
    expect(new Set(cookies).size).toBe(3);
    // A socket that never sent has no value; an fd that is no socket is ENOTSOCK (sockfd_lookup).
    expect(seen.receiver).toBe(-Errno.ENOENT);
    expect(seen.notSocket).toBe(-Errno.ENOTSOCK);
    const [tcpTotal, udpTotal, noSocket] = seen.totals as number[];
    expect(udpTotal).toBe(2);
    expect(tcpTotal).toBe(Number(tcp.packets) + Number(accepted.packets));
    expect(noSocket).toBe(0);
  });

  it("BPF_PROG_TEST_RUN hands the program an skb owning a dummy socket, as Linux 6.18's bpf_prog_test_run_skb", () => {
    const linux = JSON.parse(readFileSync(new URL('../../fixtures/attach/sock_egress.linux.json', import.meta.url), 'utf8')) as {
      retval: number;
      run_seen: number[];
    };
    const got: Record<string, unknown> = {};
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'sock_egress');
      // The frame record-sock.sh runs: IPv4/UDP 10.0.0.1:40000 -> 10.0.0.2:7777.
      const frame = new Uint8Array([
        ...new Array<number>(12).fill(0),
        0x08,
        0x00,
        0x45,
        0,
        0,
        28,
        0,
        1,
        0,
        0,
        64,
        17,
        0,
        0,
        10,
        0,
        0,
        1,
        10,
        0,
        0,
        2,
        0x9c,
        0x40,
        0x1e,
        0x61,
        0,
        8,
        0,
        0,
      ]);
      const run = yield* libc.bpfProgTestRun(progFd(loaded, 'sock_testrun'), { data: frame });
      got.retval = run.retval;
      got.runSeen = yield* arrayU64s(libc, mapFd(loaded, 'run_seen'), 6);
    });
    expect(got.retval).toBe(linux.retval);
    // family, local_ip4 (the packet's source), remote_ip4, TCP_CLOSE, a cookie, the root cgroup's id (1).
    expect(got.runSeen).toEqual(linux.run_seen);
  });
});
