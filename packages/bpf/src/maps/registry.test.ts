import type { Task } from '@ebpf-sim/kernel';
import { describe, expect, it } from 'vitest';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_OBJ_NAME_LEN, Errno } from '@ebpf-sim/uapi';
import { MAP_TYPE_IDS } from '../maps.js';
import { mapTestEnv, u32le } from '../testing/map-env.js';
import { BpfMap } from './map.js';
import { BPF_LOCAL_STORAGE_GET_F_CREATE, LocalStorageMap } from './bpf_local_storage.js';
import { CgroupStorageMap } from './local_storage.js';
import { MAP_OPS, createMap } from './registry.js';

/** Attributes a type needs beyond the common test map: keyless types take key_size 0. */
const TYPE_ATTR: Readonly<
  Partial<Record<string, { keySize: number; mapFlags?: number; valueSize?: number; maxEntries?: number; btfKeyTypeId?: number; btfValueTypeId?: number }>>
> = {
  queue: { keySize: 0 },
  stack: { keySize: 0 },
  bloom_filter: { keySize: 0 },
  // An LPM trie needs key data (prefixlen u32 + data) and BPF_F_NO_PREALLOC.
  lpm_trie: { keySize: 8, mapFlags: BPF_MAP_F.NO_PREALLOC },
  // A ring buffer has no key or value, and a power-of-2 number of pages.
  ringbuf: { keySize: 0, valueSize: 0, maxEntries: 4096 },
  // A stack trace's value is whole 8-byte frames.
  stack_trace: { keySize: 4, valueSize: 24 },
  // Task storage: no preallocation, no max_entries, BTF type ids (its values are made by tasks, below).
  task_storage: { keySize: 4, maxEntries: 0, mapFlags: BPF_MAP_F.NO_PREALLOC, btfKeyTypeId: 1, btfValueTypeId: 2 },
  sk_storage: { keySize: 4, maxEntries: 0, mapFlags: BPF_MAP_F.NO_PREALLOC, btfKeyTypeId: 1, btfValueTypeId: 2 },
  inode_storage: { keySize: 4, maxEntries: 0, mapFlags: BPF_MAP_F.NO_PREALLOC, btfKeyTypeId: 1, btfValueTypeId: 2 },
  cgrp_storage: { keySize: 4, maxEntries: 0, mapFlags: BPF_MAP_F.NO_PREALLOC, btfKeyTypeId: 1, btfValueTypeId: 2 },
  // Cgroup storages: struct bpf_cgroup_storage_key, no max_entries (their storages are made by attachments, below).
  cgroup_storage: { keySize: 16, maxEntries: 0 },
  percpu_cgroup_storage: { keySize: 16, maxEntries: 0 },
  user_ringbuf: { keySize: 0, valueSize: 0, maxEntries: 4096 },
};

/**
 * Types whose values are fds, devices or CPUs (u32 fds, bpf_devmap_val, bpf_cpumap_val): fd-maps.test.ts,
 * devmap.test.ts and sock-maps.test.ts free them after use.
 */
const FD_VALUED = new Set([
  'prog_array',
  'perf_event_array',
  'array_of_maps',
  'hash_of_maps',
  'devmap',
  'devmap_hash',
  'cgroup_array',
  'cpumap',
  'xskmap',
  'sockmap',
  'sockhash',
  'reuseport_sockarray',
]);

describe('MAP_OPS', () => {
  it('keys each type by its uapi number, under the name the verifier knows it by', () => {
    expect(MAP_OPS.size).toBeGreaterThan(0);
    for (const [type, ops] of MAP_OPS) {
      expect(ops.type).toBe(type);
      expect(BPF_MAP_TYPE[ops.name.toUpperCase() as keyof typeof BPF_MAP_TYPE]).toBe(type);
      expect(MAP_TYPE_IDS[ops.name]).toBe(type);
    }
  });

  it('refuses types it does not have with EINVAL, as map_create', () => {
    const env = mapTestEnv();
    for (const mapType of [BPF_MAP_TYPE.UNSPEC, BPF_MAP_TYPE.STRUCT_OPS, 0xffff])
      expect(createMap({ mapType, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 }, env)).toBe(-Errno.EINVAL);
  });

  it('checks map names as bpf_obj_name_cpy', () => {
    const env = mapTestEnv();
    const attr = { mapType: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 };
    const ok = createMap({ ...attr, name: `a.b_${'c'.repeat(BPF_OBJ_NAME_LEN - 5)}` }, env);
    expect(ok).toBeInstanceOf(BpfMap);
    if (ok instanceof BpfMap) {
      expect(ok.owner).toBe(`bpf-map:${ok.name}`);
      ok.free();
    }
    expect(createMap({ ...attr, name: 'sp ace' }, env)).toBe(-Errno.EINVAL);
    const unnamed = createMap(attr, env, 'bpf-map:7');
    expect(unnamed instanceof BpfMap && unnamed.owner).toBe('bpf-map:7');
    if (unnamed instanceof BpfMap) unnamed.free();
  });

  it('gives back every byte: each type, created, filled from programs and user space, and freed', () => {
    const env = mapTestEnv({ nrCpus: 2 });
    const freePages = env.phys.freePages;
    const before = env.phys.usage().map((charge) => ({ ...charge }));
    // Task storage keys name tasks: each key number its own task here.
    const keyTasks = new Map<number, Task>();
    const taskOfUserKey = (key: number): Task => keyTasks.get(key) ?? keyTasks.set(key, { pid: key } as unknown as Task).get(key)!;
    for (const [type, ops] of MAP_OPS) {
      if (FD_VALUED.has(ops.name)) continue;
      // A struct_ops map's value is a type of the kernel's BTF: struct-ops/struct-ops.test.ts makes them.
      if (ops.name === 'struct_ops') continue;
      const map = createMap(
        { mapType: type, keySize: 4, valueSize: 20, maxEntries: 50, mapFlags: 0, name: ops.name.slice(0, 15), ...TYPE_ATTR[ops.name] },
        { ...env, taskOfUserKey },
      );
      if (!(map instanceof BpfMap)) throw new Error(`${ops.name}: ${map}`);
      expect(map.desc()).toMatchObject({
        type: ops.name,
        typeId: type,
        keySize: TYPE_ATTR[ops.name]?.keySize ?? 4,
        valueSize: TYPE_ATTR[ops.name]?.valueSize ?? 20,
        maxEntries: TYPE_ATTR[ops.name]?.maxEntries ?? 50,
      });
      const value = env.put(new Uint8Array(20).fill(1), 64);
      for (let k = 0; k < 60; k++) {
        map.update(env.put(u32le(k)), value, 0, k % 2);
        map.updateSys(u32le(k + 100), new Uint8Array(map.userValueSize), 0);
        map.push(value, 0);
      }
      // Storages whose values only their owners or attachments create: make some from the program side.
      if (map instanceof LocalStorageMap) for (let k = 0; k < 3; k++) map.storageGet({ owner: k }, value, BPF_LOCAL_STORAGE_GET_F_CREATE);
      if (map instanceof CgroupStorageMap) {
        for (let k = 0; k < 3; k++) map.link(map.allocStorage()!, k, 0);
        map.allocStorage();
      }
      expect(env.phys.usageOf(map.owner).bytes).toBeGreaterThan(0);
      map.free();
      expect(env.phys.usageOf(map.owner)).toMatchObject({ bytes: 0, pages: 0, allocations: 0 });
    }
    expect(env.phys.freePages).toBe(freePages);
    expect(env.phys.usage()).toEqual(before);
  });
});
