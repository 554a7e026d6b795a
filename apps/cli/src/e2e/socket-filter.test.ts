/**
 * Socket filters end to end: a clang-compiled object (fixtures/attach/src/sockfilter_udp.bpf.c) loaded by the
 * loader, its SEC("socket") programs attached with setsockopt(SO_ATTACH_BPF) as a user program would, UDP
 * traffic over lo, and what user space reads: the frames a filtered packet socket receives, the datagrams a
 * trimmed UDP socket receives, the program's counters in its map.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerBpf } from '@ebpf-sim/bpf';
import { createKernel } from '@ebpf-sim/kernel';
import { load, openObject, type LoadedObject } from '@ebpf-sim/loader';
import { AF, Errno, ETH_P, Libc, MSG, SO, SOCK, SOL, htons, sockaddrIn, sockaddrLl, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';

// A plain Uint8Array copy: the loader's BTF reader views `.buffer` from offset 0, which a pooled Node Buffer is not.
const OBJECT = new Uint8Array(readFileSync(join(repoRoot(), 'apps', 'cli', 'fixtures', 'attach', 'obj', 'sockfilter_udp.bpf.o')));

/** Run `body` as root in a fresh kernel with the bpf subsystem, the object loaded; returns the kernel. */
function withObject(body: (libc: Libc, object: LoadedObject) => Generator<number, void, number>): ReturnType<typeof createKernel> {
  const kernel = createKernel({ cpus: 2 });
  registerBpf(kernel);
  let failure: unknown;
  let finished = false;
  const program: UserProgram = function* (ctx) {
    const libc = new Libc(ctx);
    try {
      const object = yield* load(openObject(OBJECT, { name: 'sockfilter_udp' }), libc);
      yield* body(libc, object);
      yield* object.close();
      finished = true;
    } catch (error) {
      failure = error;
    }
    return 0;
  };
  kernel.vfs.registerProgram('/bin/sockfilter', program);
  kernel.spawn('/bin/sockfilter');
  kernel.run({ untilNs: 10e9 });
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
  expect(finished).toBe(true);
  return kernel;
}

const progFd = (object: LoadedObject, name: string): number => {
  const prog = object.programs.get(name);
  if (prog === undefined) throw new Error(`no program ${name}`);
  return prog.fd;
};

describe('socket filter (SO_ATTACH_BPF) with a clang object', () => {
  it('a packet socket keeps only UDP to port 7777; the program counts kept and dropped frames', () => {
    const seen: number[] = [];
    const counts: unknown[] = [];
    const kernel = withObject(function* (libc, object) {
      const raw = yield* libc.socket(AF.PACKET, SOCK.RAW, htons(ETH_P.ALL));
      expect(yield* libc.bind(raw, sockaddrLl(1, ETH_P.ALL))).toBe(0);
      expect(yield* libc.setsockoptInt(raw, SOL.SOCKET, SO.ATTACH_BPF, progFd(object, 'udp_port_filter'))).toBe(0);
      const udp = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      for (const port of [7777, 8888, 7777, 9999]) yield* libc.sendto(udp, `to ${port}`, 0, sockaddrIn('127.0.0.1', port));
      for (;;) {
        const got = yield* libc.recvfrom(raw, 2048, MSG.DONTWAIT);
        if (got.ret < 0) {
          expect(got.ret).toBe(-Errno.EAGAIN);
          break;
        }
        // The destination port, from the frame the socket received (Ethernet + IPv4 + UDP).
        seen.push(new DataView(got.data.buffer, got.data.byteOffset).getUint16(14 + 20 + 2, false));
      }
      const map = object.maps.get('counts');
      if (map === undefined) throw new Error('no counts map');
      counts.push(yield* map.lookup(0), yield* map.lookup(1));
      // SO_DETACH_BPF: the next frames all arrive.
      expect(yield* libc.setsockoptInt(raw, SOL.SOCKET, SO.DETACH_BPF, 0)).toBe(0);
      expect(yield* libc.setsockoptInt(raw, SOL.SOCKET, SO.DETACH_BPF, 0)).toBe(-Errno.ENOENT);
      yield* libc.sendto(udp, 'x', 0, sockaddrIn('127.0.0.1', 8888));
      let after = 0;
      while ((yield* libc.recvfrom(raw, 2048, MSG.DONTWAIT)).ret > 0) after++;
      seen.push(-after);
      yield* libc.close(raw);
      yield* libc.close(udp);
    });
    // Each datagram crosses lo as two frames (PACKET_OUTGOING, then PACKET_HOST): two kept per datagram to 7777.
    expect(seen).toEqual([7777, 7777, 7777, 7777, -2]);
    // Dropped: 4 frames to 8888 and 9999; kept: 4 frames to 7777.
    expect(counts.map(Number)).toEqual([4, 4]);
    expect(kernel.net.skbs.live).toBe(0);
  });

  it('a UDP socket whose filter returns 12 gets each datagram trimmed to 4 payload bytes; only SOCKET_FILTER programs attach', () => {
    const got: string[] = [];
    const errors: number[] = [];
    withObject(function* (libc, object) {
      const udp = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
      yield* libc.bind(udp, sockaddrIn('127.0.0.1', 5353));
      expect(yield* libc.setsockoptInt(udp, SOL.SOCKET, SO.ATTACH_BPF, progFd(object, 'udp_trim'))).toBe(0);
      yield* libc.sendto(udp, 'abcdefgh', 0, sockaddrIn('127.0.0.1', 5353));
      yield* libc.sendto(udp, 'xy', 0, sockaddrIn('127.0.0.1', 5353));
      got.push(libc.decode((yield* libc.recvfrom(udp, 100)).data), libc.decode((yield* libc.recvfrom(udp, 100)).data));
      const map = object.maps.get('counts');
      errors.push(yield* libc.setsockoptInt(udp, SOL.SOCKET, SO.ATTACH_BPF, map?.fd ?? -1), yield* libc.setsockoptInt(udp, SOL.SOCKET, SO.ATTACH_BPF, 99));
      yield* libc.close(udp);
    });
    expect(got).toEqual(['abcd', 'xy']);
    expect(errors).toEqual([-Errno.EINVAL, -Errno.EBADF]);
  });
});
