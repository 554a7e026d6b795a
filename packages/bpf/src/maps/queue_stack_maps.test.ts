import { describe, expect, it } from 'vitest';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { mapTestEnv, readU32le, u32le } from '../testing/map-env.js';
import { ENOTSUPP, type MapAttr, type MapEnv } from './map.js';
import { QueueStackMap } from './queue_stack_maps.js';
import { createMap } from './registry.js';

function queueStack(env: MapEnv, mapType: number, maxEntries = 3): QueueStackMap {
  const map = createMap({ mapType, keySize: 0, valueSize: 4, maxEntries, mapFlags: 0, name: 'qs' }, env);
  if (!(map instanceof QueueStackMap)) throw new Error(`queue/stack creation failed: ${typeof map === 'number' ? map : 'not a queue'}`);
  return map;
}

const NO_KEY = new Uint8Array(0);

/** MAP_LOOKUP_AND_DELETE_ELEM (pop) from user space: the u32 value, or the errno. */
function popSys(map: QueueStackMap): number {
  const out = new Uint8Array(4).fill(0xff);
  const rc = map.lookupAndDeleteSys(NO_KEY, out, 0);
  if (rc !== 0) {
    expect([...out]).toEqual([0, 0, 0, 0]);
    return rc;
  }
  return readU32le(out);
}

describe('queue_stack_map_alloc_check', () => {
  const env = mapTestEnv();
  const base: MapAttr = { mapType: BPF_MAP_TYPE.QUEUE, keySize: 0, valueSize: 4, maxEntries: 4, mapFlags: 0 };
  it.each([
    ['key_size 4', { keySize: 4 }, -Errno.EINVAL],
    ['value_size 0', { valueSize: 0 }, -Errno.EINVAL],
    ['max_entries 0', { maxEntries: 0 }, -Errno.EINVAL],
    ['NO_PREALLOC', { mapFlags: BPF_MAP_F.NO_PREALLOC }, -Errno.EINVAL],
    ['MMAPABLE on a stack', { mapType: BPF_MAP_TYPE.STACK, mapFlags: BPF_MAP_F.MMAPABLE }, -Errno.EINVAL],
    ['RDONLY_PROG with WRONLY_PROG', { mapFlags: BPF_MAP_F.RDONLY_PROG | BPF_MAP_F.WRONLY_PROG }, -Errno.EINVAL],
    ['value_size above KMALLOC_MAX_SIZE', { valueSize: (4 << 20) + 1 }, -Errno.E2BIG],
    ['more than bpf_map_area_alloc gives', { valueSize: 4 << 20, maxEntries: 1 << 12 }, -Errno.ENOMEM],
    ['more than memory holds', { valueSize: 1 << 20, maxEntries: 1 << 12 }, -Errno.ENOMEM],
    ['spin lock', { spinLockOff: 0 }, -Errno.EOPNOTSUPP],
  ] as const)('%s', (_what, change, errno) => {
    expect(createMap({ ...base, ...change }, env)).toBe(errno);
  });

  it('accepts the access flags and NUMA node 0', () => {
    for (const mapFlags of [BPF_MAP_F.RDONLY_PROG, BPF_MAP_F.WRONLY, BPF_MAP_F.NUMA_NODE]) {
      const map = createMap({ ...base, mapFlags }, env);
      expect(map).toBeInstanceOf(QueueStackMap);
      if (map instanceof QueueStackMap) map.free();
    }
  });
});

describe('QUEUE and STACK from user space', () => {
  it('a queue gives back the oldest value first; a stack the newest', () => {
    const env = mapTestEnv();
    const queue = queueStack(env, BPF_MAP_TYPE.QUEUE);
    const stack = queueStack(env, BPF_MAP_TYPE.STACK);
    for (const map of [queue, stack]) for (const v of [10, 20, 30]) expect(map.updateSys(NO_KEY, u32le(v), BPF_UPDATE.ANY)).toBe(0);
    expect([popSys(queue), popSys(queue), popSys(queue), popSys(queue)]).toEqual([10, 20, 30, -Errno.ENOENT]);
    expect([popSys(stack), popSys(stack), popSys(stack), popSys(stack)]).toEqual([30, 20, 10, -Errno.ENOENT]);
    queue.free();
    stack.free();
  });

  it('peeks without taking (MAP_LOOKUP_ELEM), ENOENT when empty', () => {
    const env = mapTestEnv();
    for (const [type, expected] of [
      [BPF_MAP_TYPE.QUEUE, 1],
      [BPF_MAP_TYPE.STACK, 2],
    ] as const) {
      const map = queueStack(env, type);
      const out = new Uint8Array(4);
      expect(map.lookupSys(NO_KEY, out, 0)).toBe(-Errno.ENOENT);
      map.updateSys(NO_KEY, u32le(1), 0);
      map.updateSys(NO_KEY, u32le(2), 0);
      expect(map.lookupSys(NO_KEY, out, 0)).toBe(0);
      expect(readU32le(out)).toBe(expected);
      expect(map.lookupSys(NO_KEY, out, 0)).toBe(0);
      expect(readU32le(out)).toBe(expected);
      expect(map.lookupSys(NO_KEY, out, BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
      map.free();
    }
  });

  it('is full at max_entries: E2BIG, or BPF_EXIST overwrites the oldest', () => {
    const env = mapTestEnv();
    const queue = queueStack(env, BPF_MAP_TYPE.QUEUE);
    const stack = queueStack(env, BPF_MAP_TYPE.STACK);
    for (const map of [queue, stack]) {
      for (const v of [1, 2, 3]) expect(map.updateSys(NO_KEY, u32le(v), BPF_UPDATE.ANY)).toBe(0);
      expect(map.updateSys(NO_KEY, u32le(4), BPF_UPDATE.ANY)).toBe(-Errno.E2BIG);
      expect(map.updateSys(NO_KEY, u32le(4), BPF_UPDATE.EXIST)).toBe(0);
      expect(map.updateSys(NO_KEY, u32le(5), BPF_UPDATE.EXIST)).toBe(0);
    }
    // 1 and 2 were overwritten.
    expect([popSys(queue), popSys(queue), popSys(queue), popSys(queue)]).toEqual([3, 4, 5, -Errno.ENOENT]);
    expect([popSys(stack), popSys(stack), popSys(stack), popSys(stack)]).toEqual([5, 4, 3, -Errno.ENOENT]);
    queue.free();
    stack.free();
  });

  it('wraps around its ring many times in order', () => {
    const env = mapTestEnv();
    const queue = queueStack(env, BPF_MAP_TYPE.QUEUE, 4);
    const model: number[] = [];
    let next = 0;
    for (let step = 0; step < 200; step++) {
      if (step % 3 !== 2) {
        const rc = queue.updateSys(NO_KEY, u32le(next), 0);
        expect(rc).toBe(model.length < 4 ? 0 : -Errno.E2BIG);
        if (rc === 0) model.push(next);
        next++;
      } else expect(popSys(queue)).toBe(model.shift() ?? -Errno.ENOENT);
    }
    queue.free();
  });

  it('gives Linux errnos for flags, delete, get_next_key and lookup_and_delete flags', () => {
    const env = mapTestEnv();
    const map = queueStack(env, BPF_MAP_TYPE.STACK);
    expect(map.updateSys(NO_KEY, u32le(1), BPF_UPDATE.NOEXIST)).toBe(-Errno.EINVAL);
    expect(map.updateSys(NO_KEY, u32le(1), 3)).toBe(-Errno.EINVAL);
    expect(map.updateSys(NO_KEY, u32le(1), BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.updateSys(NO_KEY, u32le(1), BPF_UPDATE.EXIST)).toBe(0);
    expect(map.deleteSys(NO_KEY)).toBe(-Errno.EINVAL);
    expect(map.getNextKey(null, new Uint8Array(4))).toBe(-Errno.EINVAL);
    expect(map.lookupAndDeleteSys(NO_KEY, new Uint8Array(4), BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(popSys(map)).toBe(1);
    map.free();
    // Types without a pop op keep the syscall's ENOTSUPP.
    const array = createMap({ mapType: BPF_MAP_TYPE.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 }, env);
    if (typeof array === 'number') throw new Error(String(array));
    expect(array.lookupAndDeleteSys(u32le(0), new Uint8Array(4), 0)).toBe(-ENOTSUPP);
    expect(array.push(env.put(u32le(1)), 0)).toBe(-Errno.EOPNOTSUPP);
    array.free();
  });
});

describe('QUEUE and STACK from programs', () => {
  it('push, peek and pop on kernel memory; lookup is NULL, update and delete EINVAL', () => {
    const env = mapTestEnv();
    const queue = queueStack(env, BPF_MAP_TYPE.QUEUE, 2);
    const buf = env.scratch + 64;
    expect(queue.push(env.put(u32le(7)), 0)).toBe(0);
    expect(queue.push(env.put(u32le(8)), 0)).toBe(0);
    expect(queue.push(env.put(u32le(9)), 0)).toBe(-Errno.E2BIG);
    expect(queue.push(env.put(u32le(9)), BPF_UPDATE.NOEXIST)).toBe(-Errno.EINVAL);
    expect(queue.peek(buf)).toBe(0);
    expect(env.phys.view.getUint32(buf, true)).toBe(7);
    expect(queue.pop(buf)).toBe(0);
    expect(env.phys.view.getUint32(buf, true)).toBe(7);
    expect(queue.pop(buf)).toBe(0);
    expect(env.phys.view.getUint32(buf, true)).toBe(8);
    // Empty: ENOENT and the program's buffer zeroed.
    env.phys.view.setUint32(buf, 0xdead, true);
    expect(queue.pop(buf)).toBe(-Errno.ENOENT);
    expect(env.phys.view.getUint32(buf, true)).toBe(0);
    env.phys.view.setUint32(buf, 0xdead, true);
    expect(queue.peek(buf)).toBe(-Errno.ENOENT);
    expect(env.phys.view.getUint32(buf, true)).toBe(0);
    expect(queue.lookup()).toBe(0);
    expect(queue.update(env.put(u32le(0)), buf, 0, 0)).toBe(-Errno.EINVAL);
    expect(queue.delete(env.put(u32le(0)))).toBe(-Errno.EINVAL);
    queue.free();
  });

  it('charges (max_entries + 1) × value_size and gives it all back', () => {
    const env = mapTestEnv();
    const before = env.phys.usage().map((charge) => ({ ...charge }));
    const map = queueStack(env, BPF_MAP_TYPE.STACK, 9);
    expect(env.phys.usageOf(map.owner).bytes).toBeGreaterThanOrEqual(40);
    for (let v = 0; v < 20; v++) map.push(env.put(u32le(v)), BPF_UPDATE.EXIST);
    map.free();
    expect(env.phys.usageOf(map.owner)).toMatchObject({ bytes: 0, pages: 0, allocations: 0 });
    expect(env.phys.usage()).toEqual(before);
  });
});
