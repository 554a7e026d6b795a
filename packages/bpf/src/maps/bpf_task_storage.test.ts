import type { Task } from '@ebpf-sim/kernel';
import { describe, expect, it } from 'vitest';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { mapTestEnv, readU32le, u32le, type MapTestEnv } from '../testing/map-env.js';
import { BPF_LOCAL_STORAGE_GET_F_CREATE, LOCAL_STORAGE_MAX_VALUE_SIZE, TaskStorageMap } from './bpf_task_storage.js';
import { ENOTSUPP, type MapAttr } from './map.js';
import { createMap } from './registry.js';

const STORAGE: MapAttr = {
  mapType: BPF_MAP_TYPE.TASK_STORAGE,
  keySize: 4,
  valueSize: 12,
  maxEntries: 0,
  mapFlags: BPF_MAP_F.NO_PREALLOC,
  name: 'task_st',
  btfKeyTypeId: 1,
  btfValueTypeId: 2,
};

/** Tasks as map keys: the storage only needs their identity. */
const tasks = new Map<number, Task>([100, 101, 102].map((pid) => [pid, { pid } as unknown as Task]));

/** The syscall's resolver as this kernel offers it: a pid names the task (no pidfd_open yet). */
const byPid = (key: number): Task | number => tasks.get(key) ?? -Errno.ENOENT;

function storage(env: MapTestEnv, attr: Partial<MapAttr> = {}): TaskStorageMap {
  const map = createMap({ ...STORAGE, ...attr }, { ...env, taskOfUserKey: byPid });
  if (!(map instanceof TaskStorageMap)) throw new Error(`task storage: ${typeof map === 'number' ? map : 'another type'}`);
  return map;
}

describe('bpf_local_storage_map_alloc_check', () => {
  const env = mapTestEnv();
  it.each([
    ['without BPF_F_NO_PREALLOC', { mapFlags: 0 }, -Errno.EINVAL],
    ['max_entries 1', { maxEntries: 1 }, -Errno.EINVAL],
    ['key_size 8', { keySize: 8 }, -Errno.EINVAL],
    ['value_size 0', { valueSize: 0 }, -Errno.EINVAL],
    ['flag MMAPABLE', { mapFlags: BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.MMAPABLE }, -Errno.EINVAL],
    ['no BTF type ids (Linux: BTF is required)', { btfKeyTypeId: 0, btfValueTypeId: 0 }, -Errno.EINVAL],
    ['no BTF value type id', { btfValueTypeId: 0 }, -Errno.EINVAL],
    ['value past the largest local storage value', { valueSize: LOCAL_STORAGE_MAX_VALUE_SIZE + 1 }, -Errno.E2BIG],
  ] as const)('%s', (_what, change, errno) => {
    expect(createMap({ ...STORAGE, ...change }, env)).toBe(errno);
  });

  it('accepts BPF_F_CLONE and the largest value', () => {
    storage(env, { mapFlags: BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.CLONE, valueSize: LOCAL_STORAGE_MAX_VALUE_SIZE }).free();
  });
});

describe('task storage values', () => {
  it('user space updates, looks up and deletes by task, with the update flags of Linux', () => {
    const env = mapTestEnv();
    const map = storage(env);
    const value = new Uint8Array(12).fill(7);
    const out = new Uint8Array(12);
    expect(map.lookupSys(u32le(100), out, 0)).toBe(-Errno.ENOENT);
    expect(map.updateSys(u32le(100), value, BPF_UPDATE.EXIST)).toBe(-Errno.ENOENT);
    expect(map.updateSys(u32le(100), value, BPF_UPDATE.NOEXIST)).toBe(0);
    expect(map.updateSys(u32le(100), value, BPF_UPDATE.NOEXIST)).toBe(-Errno.EEXIST);
    expect(map.updateSys(u32le(100), value, 8)).toBe(-Errno.EINVAL);
    expect(map.updateSys(u32le(100), value, BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.lookupSys(u32le(100), out, 0)).toBe(0);
    expect([...out]).toEqual([...value]);
    expect(map.lookupSys(u32le(999), out, 0)).toBe(-Errno.ENOENT);
    expect(map.getNextKey(null, new Uint8Array(4))).toBe(-ENOTSUPP);
    expect(map.deleteSys(u32le(100))).toBe(0);
    expect(map.deleteSys(u32le(100))).toBe(-Errno.ENOENT);
  });

  it('without a key resolver (no pidfds) every user-space key is EBADF', () => {
    const env = mapTestEnv();
    const map = createMap(STORAGE, env);
    if (!(map instanceof TaskStorageMap)) throw new Error('task storage');
    expect(map.lookupSys(u32le(3), new Uint8Array(12), 0)).toBe(-Errno.EBADF);
  });

  it('programs get (creating on request, from a value or zeroed) and delete; values are per task and go with the task', () => {
    const env = mapTestEnv();
    const map = storage(env);
    const a = tasks.get(100)!;
    const b = tasks.get(101)!;
    expect(map.storageGet(a, 0, 0)).toBe(0);
    expect(map.storageGet(a, 0, 2)).toBe(0);
    expect(map.storageGet(undefined, 0, BPF_LOCAL_STORAGE_GET_F_CREATE)).toBe(0);
    const va = map.storageGet(a, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    expect(va).not.toBe(0);
    expect([...env.read(va, 12)]).toEqual(new Array(12).fill(0));
    expect(map.storageGet(a, 0, 0)).toBe(va);
    const init = env.put(u32le(0xabcd));
    const vb = map.storageGet(b, init, BPF_LOCAL_STORAGE_GET_F_CREATE);
    expect(readU32le(env.read(vb, 4))).toBe(0xabcd);
    // A program's write is what user space reads.
    env.phys.view.setUint32(va, 42, true);
    const out = new Uint8Array(12);
    expect(map.lookupSys(u32le(100), out, 0)).toBe(0);
    expect(readU32le(out)).toBe(42);
    expect(map.size).toBe(2);
    expect(map.storageDelete(b)).toBe(0);
    expect(map.storageDelete(b)).toBe(-Errno.ENOENT);
    expect(map.storageDelete(undefined)).toBe(-Errno.EINVAL);
    map.taskExited(a);
    expect(map.size).toBe(0);
    expect(env.phys.usageOf(map.owner).bytes).toBe(0);
  });

  it('frees every value with the map', () => {
    const env = mapTestEnv();
    const map = storage(env);
    for (const task of tasks.values()) map.storageGet(task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    expect(env.phys.usageOf(map.owner).allocations).toBe(3);
    map.free();
    expect(env.phys.usageOf(map.owner).allocations).toBe(0);
  });
});
