/**
 * The socket and cgroup maps with objects in them (the syscall side with this kernel's fds, which are never
 * sockets or cgroups, is replayed against Linux in linux-fd-replay.test.ts): sockets and cgroups come from a
 * hand-made MapFdObjects, standing in for the socket and cgroup files this kernel does not have yet. Then their
 * helpers, called as a program calls them.
 */
import { SK_BUFF } from '@ebpf-sim/kernel';
import { AF, BPF_F, BPF_MAP_TYPE, BPF_UPDATE, Errno, SK_ACTION, XDP_ACTION } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { ROOT_CGROUP_ID } from '../helpers/sock_map.js';
import { helperRig } from '../testing/helper-rig.js';
import { mapTestEnv, u32le, u64le } from '../testing/map-env.js';
import { CgroupArrayMap } from './arraymap.js';
import { jhash } from './jhash.js';
import type { BpfMap, FdRef, MapAttr, MapCgroup, MapFdObjects, MapSocket } from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';
import { createMap } from './registry.js';

/** A socket for the maps: TCP-like (suitable for SOCKMAP, in a reuseport group) unless told otherwise. */
function socket(n: number, over: Partial<MapSocket> = {}): MapSocket {
  return { cookie: 1000n + BigInt(n), family: AF.INET, address: 0x10000 + 0x100 * n, sockMapSuitable: true, inReuseportGroup: true, xskBound: false, ...over };
}

/** Sockets and cgroups by fd, counting the references maps hold. */
class FakeFds implements MapFdObjects {
  readonly mapFile = null;
  readonly sockets = new Map<number, MapSocket>();
  readonly cgroups = new Map<number, MapCgroup>();
  held = 0;
  private ref<T>(object: T): FdRef<T> {
    this.held++;
    return { object, id: 0, put: () => void this.held-- };
  }
  mapFromFd(): number {
    return -Errno.EBADF;
  }
  progFromFd(): number {
    return -Errno.EBADF;
  }
  perfEventFromFd(): number {
    return -Errno.EBADF;
  }
  cgroupFromFd(fd: number): FdRef<MapCgroup> | number {
    const cgroup = this.cgroups.get(fd);
    return cgroup === undefined ? -Errno.EBADF : this.ref(cgroup);
  }
  socketFromFd(fd: number): FdRef<MapSocket> | number {
    const sock = this.sockets.get(fd);
    return sock === undefined ? -Errno.ENOTSOCK : this.ref(sock);
  }
}

function make(attr: Partial<MapAttr> & Pick<MapAttr, 'mapType'>): BpfMap {
  const map = createMap({ keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0, ...attr }, mapTestEnv({ capabilities: 'all' }));
  if (typeof map === 'number') throw new Error(`createMap: ${map}`);
  return map;
}

function cookieOf(map: BpfMap, key: Uint8Array): bigint | number {
  const out = new Uint8Array(map.userValueSize);
  const ret = map.lookupSys(key, out, 0);
  return ret !== 0 ? ret : new DataView(out.buffer).getBigUint64(0, true);
}

describe('SOCKHASH with sockets in it', () => {
  it('keeps sockets by key, reads back cookies, refuses as sock_hash_update_common, and walks keys in bucket order', () => {
    const fds = new FakeFds();
    const map = make({ mapType: BPF_MAP_TYPE.SOCKHASH, keySize: 12, maxEntries: 5 });
    const key = (n: number): Uint8Array => new Uint8Array(12).fill(n);
    for (let n = 1; n <= 5; n++) {
      fds.sockets.set(10 + n, socket(n));
      expect(map.updateWithFds(key(n), u64le(10 + n), BPF_UPDATE.NOEXIST, fds)).toBe(0);
    }
    expect(fds.held).toBe(5);
    expect(map.updateWithFds(key(6), u64le(11), BPF_UPDATE.ANY, fds)).toBe(-Errno.E2BIG);
    expect(map.updateWithFds(key(1), u64le(12), BPF_UPDATE.NOEXIST, fds)).toBe(-Errno.EEXIST);
    expect(map.updateWithFds(key(7), u64le(12), BPF_UPDATE.EXIST, fds)).toBe(-Errno.ENOENT);
    fds.sockets.set(20, socket(9, { sockMapSuitable: false }));
    expect(map.updateWithFds(key(1), u64le(20), BPF_UPDATE.ANY, fds)).toBe(-Errno.EOPNOTSUPP);
    expect(fds.held).toBe(5);
    // Replacing key 1's socket: the old reference goes.
    expect(map.updateWithFds(key(1), u64le(15), BPF_UPDATE.EXIST, fds)).toBe(0);
    expect(fds.held).toBe(5);
    expect(cookieOf(map, key(1))).toBe(1005n);
    expect(cookieOf(map, key(2))).toBe(1002n);
    expect(cookieOf(map, key(8))).toBe(-Errno.ENOENT);
    // 8 buckets, jhash(key, 12, S32_MAX) & 7, newest first within a bucket (key 1 was re-added last).
    const order = [2, 3, 4, 5, 1]
      .map((n, i) => ({ n, bucket: jhash(key(n), 0, 12, 0x7fffffff) & 7, age: i }))
      .sort((a, b) => a.bucket - b.bucket || b.age - a.age)
      .map(({ n }) => n);
    const walked: number[] = [];
    const next = new Uint8Array(12);
    for (let at: Uint8Array | null = null; map.getNextKey(at, next) === 0; at = next.slice()) walked.push(next[0]!);
    expect(walked).toEqual(order);
    expect(map.memUsage()).toBe(K.bpf_shtab + 8 * K.bpf_shtab_bucket + 5 * (K.bpf_shtab_elem + 16));
    expect(map.deleteSys(key(3))).toBe(0);
    expect(map.deleteSys(key(3))).toBe(-Errno.ENOENT);
    expect(map.memUsage()).toBe(K.bpf_shtab + 8 * K.bpf_shtab_bucket + 4 * (K.bpf_shtab_elem + 16));
    map.free();
    expect(fds.held).toBe(0);
  });
});

describe('SOCKMAP, XSKMAP and REUSEPORT_SOCKARRAY with sockets in them', () => {
  it('SOCKMAP: cookies only into a u64 value, sock_map_update_common flags, delete of an empty slot EINVAL', () => {
    const fds = new FakeFds();
    fds.sockets.set(3, socket(3));
    const narrow = make({ mapType: BPF_MAP_TYPE.SOCKMAP, valueSize: 4 });
    expect(narrow.updateWithFds(u32le(0), u32le(3), BPF_UPDATE.ANY, fds)).toBe(0);
    expect(cookieOf(narrow, u32le(0))).toBe(-Errno.ENOSPC);
    narrow.free();
    const map = make({ mapType: BPF_MAP_TYPE.SOCKMAP });
    expect(map.updateWithFds(u32le(1), u64le(3), BPF_UPDATE.EXIST, fds)).toBe(-Errno.ENOENT);
    expect(map.updateWithFds(u32le(1), u64le(3), BPF_UPDATE.ANY, fds)).toBe(0);
    expect(map.updateWithFds(u32le(1), u64le(3), BPF_UPDATE.NOEXIST, fds)).toBe(-Errno.EEXIST);
    expect(map.updateWithFds(u32le(4), u64le(3), BPF_UPDATE.ANY, fds)).toBe(-Errno.E2BIG);
    expect(cookieOf(map, u32le(1))).toBe(1003n);
    expect(map.deleteSys(u32le(2))).toBe(-Errno.EINVAL);
    expect(map.deleteSys(u32le(1))).toBe(0);
    expect(fds.held).toBe(0);
    map.free();
  });

  it('XSKMAP: bound AF_XDP sockets only; each counts an xsk_map_node', () => {
    const fds = new FakeFds();
    fds.sockets.set(3, socket(3));
    fds.sockets.set(4, socket(4, { family: AF.XDP, xskBound: false }));
    fds.sockets.set(5, socket(5, { family: AF.XDP, xskBound: true }));
    const map = make({ mapType: BPF_MAP_TYPE.XSKMAP, valueSize: 4 });
    expect(map.updateWithFds(u32le(0), u32le(3), BPF_UPDATE.ANY, fds)).toBe(-Errno.EOPNOTSUPP);
    expect(map.updateWithFds(u32le(0), u32le(4), BPF_UPDATE.ANY, fds)).toBe(-Errno.EOPNOTSUPP);
    expect(map.updateWithFds(u32le(0), u32le(5), BPF_UPDATE.EXIST, fds)).toBe(-Errno.ENOENT);
    expect(map.updateWithFds(u32le(2), u32le(5), BPF_UPDATE.ANY, fds)).toBe(0);
    expect(fds.held).toBe(1);
    expect(map.memUsage()).toBe(K.xsk_map + 4 * K.pointer + K.xsk_map_node);
    expect(map.lookupSys(u32le(2), new Uint8Array(4), 0)).toBe(-Errno.EOPNOTSUPP);
    expect((map as unknown as { redirectLookup(i: number): number }).redirectLookup(2)).toBe(socket(5).address);
    expect(map.deleteSys(u32le(2))).toBe(0);
    expect(map.memUsage()).toBe(K.xsk_map + 4 * K.pointer);
    expect(fds.held).toBe(0);
    map.free();
  });

  it('REUSEPORT_SOCKARRAY: sockets of a reuseport group, cookies into a u64 value', () => {
    const fds = new FakeFds();
    fds.sockets.set(3, socket(3, { inReuseportGroup: false }));
    fds.sockets.set(4, socket(4));
    const map = make({ mapType: BPF_MAP_TYPE.REUSEPORT_SOCKARRAY });
    expect(map.updateWithFds(u32le(0), u64le(3), BPF_UPDATE.ANY, fds)).toBe(-Errno.EINVAL);
    expect(map.updateWithFds(u32le(0), u64le(4), BPF_UPDATE.ANY, fds)).toBe(0);
    expect(map.updateWithFds(u32le(0), u64le(4), BPF_UPDATE.NOEXIST, fds)).toBe(-Errno.EEXIST);
    expect(cookieOf(map, u32le(0))).toBe(1004n);
    expect(fds.held).toBe(1);
    map.free();
    expect(fds.held).toBe(0);
  });
});

describe('the helpers of the socket and cgroup maps', () => {
  it('bpf_skb_under_cgroup and bpf_current_task_under_cgroup: no socket, past the end, an empty slot, then the hierarchy', () => {
    const rig = helperRig();
    const map = rig.map({ mapType: BPF_MAP_TYPE.CGROUP_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 });
    const skb = rig.alloc(SK_BUFF.size);
    const at = BigInt(map.address);
    expect(rig.call('skb_under_cgroup', BigInt(skb), at, 0n)).toBe(BigInt.asUintN(64, BigInt(-Errno.ENOENT)));
    rig.kernel.phys.view.setBigUint64(skb + SK_BUFF.sk, 0x1234n, true);
    expect(rig.call('skb_under_cgroup', BigInt(skb), at, 5n)).toBe(BigInt.asUintN(64, BigInt(-Errno.E2BIG)));
    // The empty slot: what the corpus recording shows for maps_every.bpf.o (-11).
    expect(rig.call('skb_under_cgroup', BigInt(skb), at, 0n)).toBe(BigInt.asUintN(64, BigInt(-Errno.EAGAIN)));
    expect(rig.call('current_task_under_cgroup', at, 1n)).toBe(BigInt.asUintN(64, BigInt(-Errno.EAGAIN)));
    const fds = new FakeFds();
    fds.cgroups.set(7, { id: ROOT_CGROUP_ID, isAncestorOf: () => true });
    fds.cgroups.set(8, { id: 42n, isAncestorOf: (id) => id === 42n });
    expect(map.updateWithFds(u32le(0), u32le(7), BPF_UPDATE.ANY, fds)).toBe(0);
    expect(map.updateWithFds(u32le(1), u32le(8), BPF_UPDATE.ANY, fds)).toBe(0);
    expect(map.updateWithFds(u32le(1), u32le(9), BPF_UPDATE.ANY, fds)).toBe(-Errno.EBADF);
    expect(map).toBeInstanceOf(CgroupArrayMap);
    expect(rig.call('skb_under_cgroup', BigInt(skb), at, 0n)).toBe(1n);
    expect(rig.call('current_task_under_cgroup', at, 0n)).toBe(1n);
    expect(rig.call('current_task_under_cgroup', at, 1n)).toBe(0n);
    map.free();
    expect(fds.held).toBe(0);
  });

  it('bpf_sk_redirect_map/hash and bpf_sk_select_reuseport: flags, empty slots, the chosen socket', () => {
    const rig = helperRig();
    const fds = new FakeFds();
    fds.sockets.set(3, socket(3));
    fds.sockets.set(4, socket(4, { inReuseportGroup: false }));
    const sockmap = rig.map({ mapType: BPF_MAP_TYPE.SOCKMAP, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 });
    const sockhash = rig.map({ mapType: BPF_MAP_TYPE.SOCKHASH, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 });
    const array = rig.map({ mapType: BPF_MAP_TYPE.REUSEPORT_SOCKARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 });
    const key = rig.alloc(4);
    rig.kernel.phys.view.setUint32(key, 1, true);
    const [m, h, a] = [sockmap, sockhash, array].map((map) => BigInt(map.address)) as [bigint, bigint, bigint];
    expect(rig.call('sk_redirect_map', 0n, m, 1n, 0n)).toBe(BigInt(SK_ACTION.DROP));
    expect(rig.call('sk_redirect_hash', 0n, h, BigInt(key), 0n)).toBe(BigInt(SK_ACTION.DROP));
    expect(rig.call('sk_select_reuseport', 0n, a, BigInt(key), 0n)).toBe(BigInt.asUintN(64, BigInt(-Errno.ENOENT)));
    expect(sockmap.updateWithFds(u32le(1), u64le(3), BPF_UPDATE.ANY, fds)).toBe(0);
    expect(sockhash.updateWithFds(u32le(1), u64le(4), BPF_UPDATE.ANY, fds)).toBe(0);
    expect(array.updateWithFds(u32le(1), u64le(3), BPF_UPDATE.ANY, fds)).toBe(0);
    expect(rig.call('sk_redirect_map', 0n, m, 1n, BigInt(BPF_F.BROADCAST))).toBe(BigInt(SK_ACTION.DROP));
    expect(rig.call('msg_redirect_map', 0n, m, 1n, BigInt(BPF_F.INGRESS))).toBe(BigInt(SK_ACTION.PASS));
    expect(rig.run.redirectSocket).toBe(socket(3).address);
    expect(rig.call('sk_redirect_hash', 0n, h, BigInt(key), 0n)).toBe(BigInt(SK_ACTION.PASS));
    expect(rig.run.redirectSocket).toBe(socket(4).address);
    // A socket outside a reuseport group: EINVAL from a socket map.
    expect(rig.call('sk_select_reuseport', 0n, h, BigInt(key), 0n)).toBe(BigInt.asUintN(64, BigInt(-Errno.EINVAL)));
    expect(rig.call('sk_select_reuseport', 0n, a, BigInt(key), 0n)).toBe(0n);
    expect(rig.run.redirectSocket).toBe(socket(3).address);
    for (const map of [sockmap, sockhash, array]) map.free();
    expect(fds.held).toBe(0);
  });

  it("bpf_redirect_map on CPUMAP and XSKMAP: an empty slot takes the flags' fallback action, a CPU with a queue redirects", () => {
    const rig = helperRig({ config: { cpus: 2 } });
    const cpus = rig.map({ mapType: BPF_MAP_TYPE.CPUMAP, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 });
    const xsks = rig.map({ mapType: BPF_MAP_TYPE.XSKMAP, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 });
    expect(rig.call('redirect_map', BigInt(cpus.address), 0n, BigInt(XDP_ACTION.PASS))).toBe(BigInt(XDP_ACTION.PASS));
    expect(rig.call('redirect_map', BigInt(xsks.address), 0n, BigInt(XDP_ACTION.PASS))).toBe(BigInt(XDP_ACTION.PASS));
    // CPU maps take no BPF_F_BROADCAST (only device maps do): XDP_ABORTED.
    expect(rig.call('redirect_map', BigInt(cpus.address), 0n, BigInt(BPF_F.BROADCAST))).toBe(BigInt(XDP_ACTION.ABORTED));
    expect(cpus.updateWithFds(u32le(1), u32le(64), BPF_UPDATE.ANY, new FakeFds())).toBe(0);
    expect(rig.call('redirect_map', BigInt(cpus.address), 1n, BigInt(XDP_ACTION.DROP))).toBe(BigInt(XDP_ACTION.REDIRECT));
    cpus.free();
    xsks.free();
  });
});
