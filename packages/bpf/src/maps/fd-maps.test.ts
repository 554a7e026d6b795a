/**
 * fd-valued maps and devmaps from the program side and their references (the syscall side is replayed against
 * Linux in linux-fd-replay.test.ts): the objects behind fds come from a hand-made MapFdObjects.
 */
import type { File, PerfOutputEvent } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_F, BPF_F_PERF, BPF_MAP_F, BPF_MAP_TYPE, BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import { loadProgram, type HelperContext } from '@ebpf-sim/vm';
import { describe, expect, it } from 'vitest';
import { HELPERS } from '../helpers/index.js';
import { idleRunState, type HelperEnv, type RunState } from '../runtime/env.js';
import { mapTestEnv, u32le, type MapTestEnv } from '../testing/map-env.js';
import { ArrayOfMaps, PerfEventArrayMap, ProgArrayMap } from './arraymap.js';
import { DevMapBase } from './devmap.js';
import { HashOfMaps } from './hashtab.js';
import { BpfMap, type FdProgram, type FdRef, type MapAttr, type MapFdObjects } from './map.js';
import { createMap } from './registry.js';

const PROGRAM = loadProgram(new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]));

/** Objects by fd, counting the references maps take and give back. */
class FakeFds implements MapFdObjects {
  mapFile: File | null = null;
  readonly objects = new Map<number, BpfMap | FdProgram | PerfOutputEvent>();
  readonly refs = new Map<unknown, number>();

  add(fd: number, object: BpfMap | FdProgram | PerfOutputEvent): number {
    this.objects.set(fd, object);
    return fd;
  }
  private ref<T>(object: T, id: number): FdRef<T> {
    this.refs.set(object, (this.refs.get(object) ?? 0) + 1);
    return { object, id, put: () => void this.refs.set(object, (this.refs.get(object) ?? 0) - 1) };
  }
  mapFromFd(fd: number): FdRef<BpfMap> | number {
    const o = this.objects.get(fd);
    if (o === undefined) return -Errno.EBADF;
    return o instanceof BpfMap ? this.ref(o, o.id) : -Errno.EINVAL;
  }
  progFromFd(fd: number): FdRef<FdProgram> | number {
    const o = this.objects.get(fd);
    if (o === undefined) return -Errno.EBADF;
    return 'target' in o ? this.ref(o, fd * 10) : -Errno.EINVAL;
  }
  perfEventFromFd(fd: number): FdRef<PerfOutputEvent> | number {
    const o = this.objects.get(fd);
    return o !== undefined && 'outputSample' in o ? this.ref(o, 0) : -Errno.EBADF;
  }
  /** This test's objects hold no cgroup and no socket (cgroup_get_from_fd: EBADF; sockfd_lookup: EBADF, ENOTSOCK). */
  cgroupFromFd(): number {
    return -Errno.EBADF;
  }
  socketFromFd(fd: number): number {
    return this.objects.has(fd) ? -Errno.ENOTSOCK : -Errno.EBADF;
  }
  /** References held now, over every object. */
  held(): number {
    let sum = 0;
    for (const n of this.refs.values()) sum += n;
    return sum;
  }
}

function make(env: MapTestEnv, attr: Partial<MapAttr> & Pick<MapAttr, 'mapType'>, fds?: FakeFds): BpfMap {
  const map = createMap(
    { keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0, ...attr },
    { ...env, mapOfFd: (fd) => (fds?.objects.get(fd) instanceof BpfMap ? (fds.objects.get(fd) as BpfMap) : -Errno.EBADF) },
  );
  if (typeof map === 'number') throw new Error(`create: ${map}`);
  return map;
}

const prog = (progType: number, expectedAttachType = 0): FdProgram => ({
  progType,
  expectedAttachType,
  jited: true,
  xdpHasFrags: false,
  target: { program: PROGRAM, progType },
});

describe('PROG_ARRAY', () => {
  it('answers the tail-call hook, takes one program type, and drops its programs with the last user reference', () => {
    const env = mapTestEnv();
    const fds = new FakeFds();
    const map = make(env, { mapType: BPF_MAP_TYPE.PROG_ARRAY });
    if (!(map instanceof ProgArrayMap)) throw new Error('not a prog array');
    const xdp = prog(BPF_PROG_TYPE.XDP);
    fds.add(3, xdp);
    fds.add(4, prog(BPF_PROG_TYPE.SOCKET_FILTER));
    expect(map.updateWithFds(u32le(1), u32le(3), 0, fds)).toBe(0);
    expect(map.updateWithFds(u32le(2), u32le(4), 0, fds)).toBe(-Errno.EINVAL);
    expect(map.programAt(1)).toBe(xdp.target);
    expect(map.programAt(0)).toBeUndefined();
    expect(map.programAt(4)).toBeUndefined();
    expect(map.progCompatible({ progType: BPF_PROG_TYPE.XDP, jited: false, xdpHasFrags: false })).toBe(false);
    expect(fds.held()).toBe(1);
    map.releaseUref();
    expect(map.programAt(1)).toBeUndefined();
    expect(fds.held()).toBe(0);
    map.free();
    expect(env.phys.usageOf(map.owner).bytes).toBe(0);
  });
});

describe('ARRAY_OF_MAPS and HASH_OF_MAPS', () => {
  it("give programs the inner map's address, the verifier the template, and hold a reference per slot", () => {
    const env = mapTestEnv();
    const fds = new FakeFds();
    const template = make(env, { mapType: BPF_MAP_TYPE.HASH, valueSize: 8, name: 'template' });
    const inner = make(env, { mapType: BPF_MAP_TYPE.HASH, valueSize: 8, maxEntries: 16, name: 'inner' });
    inner.address = 0x4000;
    inner.id = 7;
    fds.add(5, template);
    fds.add(6, inner);
    for (const mapType of [BPF_MAP_TYPE.ARRAY_OF_MAPS, BPF_MAP_TYPE.HASH_OF_MAPS]) {
      const outer = make(env, { mapType, innerMapFd: 5 }, fds);
      expect(outer instanceof ArrayOfMaps || outer instanceof HashOfMaps).toBe(true);
      expect(outer.innerMapDesc()).toMatchObject({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
      expect(outer.desc()).toMatchObject({ type: mapType === BPF_MAP_TYPE.ARRAY_OF_MAPS ? 'array_of_maps' : 'hash_of_maps' });
      expect(outer.updateWithFds(u32le(2), u32le(6), 0, fds)).toBe(0);
      expect(outer.updateWithFds(u32le(3), u32le(6), 0, fds)).toBe(0);
      expect(outer.lookup(env.put(u32le(2)), 0)).toBe(0x4000);
      expect(outer.lookup(env.put(u32le(1)), 0)).toBe(0);
      const out = new Uint8Array(4);
      expect(outer.lookupSys(u32le(3), out, 0)).toBe(0);
      expect(out).toEqual(u32le(7));
      expect(fds.refs.get(inner)).toBe(2);
      expect(outer.deleteSys(u32le(3))).toBe(0);
      expect(fds.refs.get(inner)).toBe(1);
      outer.free();
      expect(fds.refs.get(inner)).toBe(0);
      expect(env.phys.usageOf(outer.owner).bytes).toBe(0);
    }
    // No map-in-map inside a map-in-map.
    const outer = make(env, { mapType: BPF_MAP_TYPE.ARRAY_OF_MAPS, innerMapFd: 5 }, fds);
    fds.add(8, outer);
    expect(
      createMap({ mapType: BPF_MAP_TYPE.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0, innerMapFd: 8 }, { ...env, mapOfFd: () => outer }),
    ).toBe(-Errno.EINVAL);
    outer.free();
  });
});

/** A helper call's arguments as the VM hands them over. */
function call(args: readonly number[]): HelperContext {
  return {
    mem: undefined as never,
    arg: (n) => BigInt(args[n - 1] ?? 0),
    argNumber: (n) => args[n - 1] ?? 0,
    argU32: (n) => (args[n - 1] ?? 0) % 2 ** 32,
    pc: 0,
    requestExit: () => undefined,
  };
}

const run = (cpu: number): RunState => ({ ...idleRunState(), cpu });

describe('PERF_EVENT_ARRAY and bpf_perf_event_output', () => {
  it('writes into the event of the CPU slot, with Linux errnos for the rest, and drops entries with the map file that wrote them', () => {
    const env = mapTestEnv({ nrCpus: 2 });
    const fds = new FakeFds();
    const map = make(env, { mapType: BPF_MAP_TYPE.PERF_EVENT_ARRAY, maxEntries: 3 });
    if (!(map instanceof PerfEventArrayMap)) throw new Error('not a perf event array');
    map.address = 0x8000;
    const samples: string[] = [];
    const event = (cpu: number): PerfOutputEvent => ({
      cpu,
      outputSample: (bytes, offset, length) => {
        samples.push(`cpu${cpu}:${Array.from(bytes.subarray(offset, offset + length)).join(',')}`);
        return 0;
      },
    });
    fds.add(10, event(0));
    fds.add(11, event(1));
    const file = {} as File;
    fds.mapFile = file;
    expect(map.updateWithFds(u32le(0), u32le(10), 0, fds)).toBe(0);
    expect(map.updateWithFds(u32le(1), u32le(11), 0, fds)).toBe(0);
    expect(map.updateWithFds(u32le(2), u32le(5), 0, fds)).toBe(-Errno.EBADF);
    const impl = HELPERS.get(25)?.impl;
    if (impl === undefined) throw new Error('perf_event_output has no implementation');
    const state = run(1);
    const fn = impl({
      k: { phys: env.phys },
      run: state,
      trace: { printk: () => undefined },
      mapAt: (a: number) => (a === 0x8000 ? map : undefined),
    } as unknown as HelperEnv);
    const data = env.put(new Uint8Array([1, 2, 3]));
    expect(fn(call([0, 0x8000, BPF_F_PERF.CURRENT_CPU, data, 3]))).toBe(0);
    expect(fn(call([0, 0x8000, 0, data, 2]))).toBe(-Errno.EOPNOTSUPP);
    expect(fn(call([0, 0x8000, 2, data, 2]))).toBe(-Errno.ENOENT);
    expect(fn(call([0, 0x8000, 3, data, 2]))).toBe(-Errno.E2BIG);
    expect(fn(call([0, 0x8000, 2 ** 32, data, 2]))).toBe(-Errno.EINVAL);
    state.cpu = 0;
    expect(fn(call([0, 0x8000, 0, data, 1]))).toBe(0);
    expect(samples).toEqual(['cpu1:1,2,3', 'cpu0:1']);
    map.releaseFile(file);
    expect(map.eventAt(0)).toBeUndefined();
    expect(fds.held()).toBe(0);
    map.free();
  });

  it('keeps the entries past their map file with BPF_F_PRESERVE_ELEMS, until the map goes', () => {
    const env = mapTestEnv();
    const fds = new FakeFds();
    const map = make(env, { mapType: BPF_MAP_TYPE.PERF_EVENT_ARRAY, mapFlags: BPF_MAP_F.PRESERVE_ELEMS });
    if (!(map instanceof PerfEventArrayMap)) throw new Error('not a perf event array');
    const file = {} as File;
    fds.mapFile = file;
    fds.add(10, { cpu: -1, outputSample: () => 0 });
    expect(map.updateWithFds(u32le(0), u32le(10), 0, fds)).toBe(0);
    map.releaseFile(file);
    expect(map.eventAt(0)).toBeDefined();
    map.free();
    expect(fds.held()).toBe(0);
  });
});

describe('DEVMAP and bpf_redirect_map', () => {
  it('holds devices and XDP_DEVMAP programs, and gives bpf_redirect_map its entries', () => {
    const env = mapTestEnv();
    const fds = new FakeFds();
    const devices = { byIndex: (ifindex: number) => (ifindex === 2 || ifindex === 3 ? { ifindex } : undefined) };
    for (const mapType of [BPF_MAP_TYPE.DEVMAP, BPF_MAP_TYPE.DEVMAP_HASH]) {
      const created = createMap({ mapType, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 }, { ...env, netDevices: devices });
      if (!(created instanceof DevMapBase)) throw new Error(`create: ${typeof created === 'number' ? created : created.typeName}`);
      const map = created;
      map.id = 9;
      expect(map.mapFlags & BPF_MAP_F.RDONLY_PROG).toBe(BPF_MAP_F.RDONLY_PROG);
      const devmapProg = prog(BPF_PROG_TYPE.XDP, BPF_ATTACH_TYPE.XDP_DEVMAP);
      fds.add(20, devmapProg);
      const value = new Uint8Array(8);
      value.set(u32le(3));
      value.set(u32le(20), 4);
      expect(map.updateWithFds(u32le(1), value, 0, fds)).toBe(0);
      expect(map.entryProgram(1)).toBe(devmapProg);
      // A program's lookup sees bpf_devmap_val: the ifindex and the program's id.
      const val = map.lookup(env.put(u32le(1)), 0);
      expect(Array.from(env.read(val, 8))).toEqual([3, 0, 0, 0, 200, 0, 0, 0]);
      // bpf_redirect_map's map side: the entry (its value's address) and the device behind a key.
      expect(map.redirectLookup(1)).toBe(val);
      expect(map.redirectLookup(2)).toBe(0);
      expect(map.redirectTarget(1)).toBe(3);
      expect(map.redirectFlagMask).toBe(BPF_F.BROADCAST | BPF_F.EXCLUDE_INGRESS);
      expect(map.deleteSys(u32le(1))).toBe(0);
      expect(map.redirectLookup(1)).toBe(0);
      map.free();
      expect(fds.held()).toBe(0);
      expect(env.phys.usageOf(map.owner).bytes).toBe(0);
    }
  });

  it('needs CAP_NET_ADMIN to create', () => {
    const env = mapTestEnv({ capabilities: [] });
    expect(createMap({ mapType: BPF_MAP_TYPE.DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0 }, env)).toBe(-Errno.EPERM);
  });
});
