import type { SimpleNic } from '@ebpf-sim/kernel';
import { buildUdpFrame } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, Errno, XDP_ACTION, type Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { loadObject, runInKernel } from './attach-kernel.js';

const CPUS = 2;
const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
/** A UDP frame from 10.0.0.`host` (its IPv4 source, as bytes on the wire, is the blocklist's key). */
const frame = (host: number, n: number): Uint8Array => buildUdpFrame(ip(10, 0, 0, host), ip(10, 0, 1, 1), 1000 + n, 53, 32, n);
const u32 = (value: number): Uint8Array => new Uint8Array(new Uint32Array([value]).buffer);

/** The per-CPU u64 counters of `actions` at `action`, summed over the CPUs. */
function* actionCount(libc: Libc, fd: number, action: number): Generator<number, number, number> {
  const value = yield* libc.bpfMapLookup(fd, u32(action), 8 * CPUS);
  if (!value.ok) throw new Error(`lookup actions[${action}]: errno ${value.errno}`);
  const view = new DataView(value.value.buffer, value.value.byteOffset);
  let sum = 0;
  for (let cpu = 0; cpu < CPUS; cpu++) sum += Number(view.getBigUint64(8 * cpu, true));
  return sum;
}

function* linkXdp(libc: Libc, progFd: number, ifindex: number): Generator<number, number, number> {
  return (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: progFd, target_ifindex: ifindex, attach_type: BPF_ATTACH_TYPE.XDP })).ret;
}

describe('XDP end to end: xdp_fw.bpf.o attached with BPF_LINK_CREATE to a NIC', () => {
  it('drops blocklisted sources, counts actions per CPU, takes one program per interface, and redirects through a DEVMAP', () => {
    runInKernel({ cpus: CPUS, devices: { nics: [{ name: 'eth0' }, { name: 'eth1' }] } }, function* (libc, kernel) {
      const [eth0, eth1] = kernel.devices.nics as [SimpleNic, SimpleNic];
      const object = yield* loadObject(libc, 'xdp_fw', CPUS);
      const fw = object.programs.get('xdp_fw');
      const fwd = object.programs.get('xdp_fwd');
      const blocklist = object.maps.get('blocklist');
      const actions = object.maps.get('actions');
      const txPort = object.maps.get('tx_port');
      if (fw === undefined || fwd === undefined || blocklist === undefined || actions === undefined || txPort === undefined) {
        throw new Error('xdp_fw.bpf.o: a program or map is missing');
      }
      // 10.0.0.3 is blocked: the key is the source address as the packet carries it (network order).
      expect(yield* libc.bpfMapUpdate(blocklist.fd, new Uint8Array([10, 0, 0, 3]), new Uint8Array([1]))).toBe(0);

      const link = yield* linkXdp(libc, fw.fd, eth0.ifindex);
      expect(link).toBeGreaterThan(0);
      // One program per interface, as Linux: the device's slot is held by the link.
      expect(yield* linkXdp(libc, fwd.fd, eth0.ifindex)).toBe(-Errno.EBUSY);

      const start = kernel.clock.now + 10_000;
      eth0.attachSource(Array.from({ length: 10 }, (_, i) => ({ timeNs: start + i * 1000, data: frame(2 + (i % 2), i) })));
      yield* libc.nanosleep(1_000_000);
      expect(yield* actionCount(libc, actions.fd, XDP_ACTION.PASS)).toBe(5);
      expect(yield* actionCount(libc, actions.fd, XDP_ACTION.DROP)).toBe(5);
      expect(yield* actionCount(libc, actions.fd, XDP_ACTION.ABORTED)).toBe(0);
      expect(eth0.stats).toMatchObject({ rxPackets: 10, xdpPass: 5, xdpDrop: 5 });
      expect(eth0.delivered).toEqual([0, 2, 4, 6, 8].map((i) => frame(2, i)));

      // Swap in the forwarder: eth0's frames go out of eth1 (tx_port[0] = ifindex 3); an empty slot passes.
      expect(yield* libc.bpfLinkUpdate(link, fwd.fd)).toBe(0);
      eth0.attachSource([{ timeNs: kernel.clock.now + 10_000, data: frame(4, 20) }]);
      yield* libc.nanosleep(1_000_000);
      expect(eth0.stats.xdpPass).toBe(6);
      expect(yield* libc.bpfMapUpdate(txPort.fd, u32(0), u32(eth1.ifindex))).toBe(0);
      eth0.attachSource([{ timeNs: kernel.clock.now + 10_000, data: frame(4, 21) }]);
      yield* libc.nanosleep(1_000_000);
      expect(eth0.stats.xdpRedirect).toBe(1);
      expect(eth1.wire.map((w) => w.data)).toEqual([frame(4, 21)]);

      // Closing the link detaches the program: frames pass untouched.
      expect(yield* libc.close(link)).toBe(0);
      expect(eth0.xdp.programs).toHaveLength(0);
      yield* object.close();
    });
  });
});
