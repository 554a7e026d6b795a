/**
 * bpf_timer end to end: the clang object timer_tick.bpf.o (an XDP program that, at the first packet, initialises
 * a timer kept in an array map's value, gives it a callback and starts it; the callback counts, records the
 * virtual time and re-arms itself 10 ms later until it has fired five times) is loaded with the loader and linked
 * to a NIC; the callback runs in the kernel at expiry, outside any program, in virtual time. The refused objects
 * (timer_bad_off, timer_cb_ret, timer_no_field, timer_other_map, timer_tracing, timer_direct) get Linux's refusal: the lines
 * recorded by loading them into Linux 6.18 (fixtures/attach/record-timer.sh, timer-linux.json).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimpleNic } from '@ebpf-sim/kernel';
import { buildUdpFrame } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';
import { loadObject, runInKernel } from './attach-kernel.js';

const MS = 1e6;
const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

interface Recorded {
  readonly kernel: string;
  readonly objects: Readonly<Record<string, { readonly loaded: boolean; readonly errno: number; readonly log: readonly string[] }>>;
}

const recorded = JSON.parse(readFileSync(join(repoRoot(), 'apps/cli/fixtures/attach/timer-linux.json'), 'utf8')) as Recorded;

describe('bpf_timer: a timer in a map value whose callback re-arms it in virtual time', () => {
  it('fires five times 10 ms apart after the first packet, and stops when the map is released', () => {
    runInKernel({ cpus: 2, devices: { nics: [{ name: 'eth0' }] } }, function* (libc, kernel) {
      const [eth0] = kernel.devices.nics as [SimpleNic];
      const object = yield* loadObject(libc, 'timer_tick', 2);
      const prog = object.programs.get('arm_tick');
      const ticks = object.maps.get('ticks');
      if (prog === undefined || ticks === undefined) throw new Error('timer_tick.bpf.o lacks arm_tick or ticks');
      const link = (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: prog.fd, target_ifindex: eth0.ifindex, attach_type: BPF_ATTACH_TYPE.XDP })).ret;
      expect(link).toBeGreaterThan(0);
      const armedAt = kernel.clock.now + 10_000;
      eth0.attachSource([
        { timeNs: armedAt, data: buildUdpFrame(ip(10, 0, 0, 2), ip(10, 0, 1, 1), 1000, 53, 32, 1) },
        { timeNs: armedAt + 3 * MS, data: buildUdpFrame(ip(10, 0, 0, 2), ip(10, 0, 1, 1), 1000, 53, 32, 2) },
      ]);
      // struct tick { struct bpf_timer timer; u64 fired; u64 armed; u64 last_ns; }
      const read = function* (): Generator<number, { fired: number; armed: number; lastNs: number }, number> {
        const value = yield* libc.bpfMapLookup(ticks.fd, new Uint8Array(4), 40);
        if (!value.ok) throw new Error(`lookup ticks[0]: errno ${value.errno}`);
        const view = new DataView(value.value.buffer, value.value.byteOffset);
        return { fired: Number(view.getBigUint64(16, true)), armed: Number(view.getBigUint64(24, true)), lastNs: Number(view.getBigUint64(32, true)) };
      };
      yield* libc.nanosleep(20 * MS);
      const early = yield* read();
      // Armed at the first packet (1 ms), then every 10 ms: two callbacks by now.
      expect(early.armed).toBe(1);
      expect(early.fired).toBe(2);
      yield* libc.nanosleep(100 * MS);
      const done = yield* read();
      expect(done.fired).toBe(5);
      // The last callback ran 1 ms + 4 × 10 ms after the first packet (the second packet did not re-arm it).
      expect(done.lastNs).toBeGreaterThanOrEqual(armedAt + 41 * MS);
      expect(done.lastNs).toBeLessThan(armedAt + 42 * MS);
      expect(yield* libc.close(link)).toBe(0);
      yield* object.close();
    });
  });

  it('is cancelled and freed when user space lets go of the map, though the program still holds it', () => {
    runInKernel({ cpus: 1, devices: { nics: [{ name: 'eth0' }] } }, function* (libc, kernel) {
      const [eth0] = kernel.devices.nics as [SimpleNic];
      const object = yield* loadObject(libc, 'timer_tick', 1);
      const prog = object.programs.get('arm_tick');
      const ticks = object.maps.get('ticks');
      if (prog === undefined || ticks === undefined) throw new Error('timer_tick.bpf.o lacks arm_tick or ticks');
      const link = (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: prog.fd, target_ifindex: eth0.ifindex, attach_type: BPF_ATTACH_TYPE.XDP })).ret;
      eth0.attachSource([{ timeNs: kernel.clock.now + 10_000, data: buildUdpFrame(ip(10, 0, 0, 2), ip(10, 0, 1, 1), 1000, 53, 32, 1) }]);
      yield* libc.nanosleep(5 * MS);
      const info = yield* libc.bpfMapGetInfo(ticks.fd);
      if (!info.ok) throw new Error(`map info: errno ${info.errno}`);
      // The map's only user reference goes (the program and its link still hold the map): map_release_uref
      // cancels and frees its timers, as Linux does for maps with timers.
      expect(yield* libc.close(ticks.fd)).toBe(0);
      const fd = (yield* libc.bpfAttr('MAP_GET_FD_BY_ID', { id: info.value.id })).ret;
      expect(fd).toBeGreaterThan(0);
      yield* libc.nanosleep(100 * MS);
      const value = yield* libc.bpfMapLookup(fd, new Uint8Array(4), 40);
      if (!value.ok) throw new Error(`lookup ticks[0]: errno ${value.errno}`);
      // Fired once (at 1 ms), never again: the re-arm at 11 ms was cancelled.
      expect(new DataView(value.value.buffer, value.value.byteOffset).getBigUint64(16, true)).toBe(1n);
      expect(yield* libc.close(fd)).toBe(0);
      expect(yield* libc.close(link)).toBe(0);
      expect(yield* libc.close(prog.fd)).toBe(0);
    });
  });

  it('in a hash map element: deleting the element cancels and frees its timer', () => {
    runInKernel({ cpus: 1, devices: { nics: [{ name: 'eth0' }] } }, function* (libc, kernel) {
      const [eth0] = kernel.devices.nics as [SimpleNic];
      const object = yield* loadObject(libc, 'timer_hash', 1);
      const prog = object.programs.get('arm_tick');
      const ticks = object.maps.get('ticks');
      if (prog === undefined || ticks === undefined) throw new Error('timer_hash.bpf.o lacks arm_tick or ticks');
      const key = new Uint8Array(4);
      const fired = function* (): Generator<number, bigint, number> {
        const value = yield* libc.bpfMapLookup(ticks.fd, key, 40);
        if (!value.ok) throw new Error(`lookup ticks[0]: errno ${value.errno}`);
        return new DataView(value.value.buffer, value.value.byteOffset).getBigUint64(16, true);
      };
      expect(yield* libc.bpfMapUpdate(ticks.fd, key, new Uint8Array(40))).toBe(0);
      const link = (yield* libc.bpfAttr('LINK_CREATE', { prog_fd: prog.fd, target_ifindex: eth0.ifindex, attach_type: BPF_ATTACH_TYPE.XDP })).ret;
      eth0.attachSource([{ timeNs: kernel.clock.now + 10_000, data: buildUdpFrame(ip(10, 0, 0, 2), ip(10, 0, 1, 1), 1000, 53, 32, 1) }]);
      yield* libc.nanosleep(5 * MS);
      expect(yield* fired()).toBe(1n);
      // The element goes, and comes back (the same memory, from the free list) already armed: a timer that
      // outlived its element would fire on it at 11 ms.
      expect(yield* libc.bpfMapDelete(ticks.fd, key)).toBe(0);
      const armed = new Uint8Array(40);
      armed.set([1], 16);
      armed.set([1], 24);
      expect(yield* libc.bpfMapUpdate(ticks.fd, key, armed)).toBe(0);
      yield* libc.nanosleep(100 * MS);
      expect(yield* fired()).toBe(1n);
      expect(yield* libc.close(link)).toBe(0);
      yield* object.close();
    });
  });
});

describe('bpf_timer refusals as Linux 6.18 words them', () => {
  it('records the kernel the answers came from', () => {
    expect(recorded.kernel).toMatch(/^6\.18\./);
    expect(recorded.objects['timer_tick']?.loaded).toBe(true);
  });

  it.each(['timer_bad_off', 'timer_cb_ret', 'timer_no_field', 'timer_other_map', 'timer_tracing', 'timer_direct'])(
    '%s: refused with the kernel’s lines',
    (name) => {
      const linux = recorded.objects[name];
      if (linux === undefined) throw new Error(`${name} was not recorded`);
      expect(linux.loaded).toBe(false);
      let message = '';
      runInKernel({ cpus: 1 }, function* (libc) {
        try {
          yield* loadObject(libc, name, 1);
        } catch (error) {
          message = error instanceof Error ? error.message : String(error);
        }
      });
      expect(message).toContain(`BPF_PROG_LOAD failed: -${linux.errno === 13 ? 'EACCES' : 'EINVAL'}`);
      expect([13, 22]).toContain(linux.errno);
      const lines = message.split('\n');
      // The failing instruction (when Linux names one) and the refusal, as consecutive lines; then the count.
      const key = linux.log.slice(0, -1);
      const at = lines.indexOf(key[0] ?? '');
      expect(at).toBeGreaterThanOrEqual(0);
      expect(lines.slice(at, at + key.length)).toEqual(key);
      const processed = lines.find((line) => line.startsWith('processed '));
      expect(processed?.split(' ').slice(0, 2)).toEqual(linux.log.at(-1)?.split(' ').slice(0, 2));
    },
  );
});
