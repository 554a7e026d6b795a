import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, CAP, Errno } from '@ebpf-sim/uapi';
import { mapTestEnv, readU32le, u32le, u64le } from '../testing/map-env.js';
import { HashTab } from './hashtab.js';
import { HTAB_STRUCT } from './htab-lookup-wasm.js';
import { ENOTSUPP, type MapAttr, type MapEnv } from './map.js';
import { createMap } from './registry.js';

function hash(env: MapEnv, attr: Partial<MapAttr> = {}): HashTab {
  const map = createMap({ mapType: BPF_MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0, name: 'h', ...attr }, env);
  if (!(map instanceof HashTab)) throw new Error(`hash map creation failed: ${typeof map === 'number' ? map : 'not a hash table'}`);
  return map;
}

/** Every key in get_next_key order, from a null key. */
function keysOf(map: HashTab): number[] {
  const keys: number[] = [];
  const next = new Uint8Array(map.keySize);
  let key: Uint8Array | null = null;
  while (map.getNextKey(key, next) === 0) {
    keys.push(readU32le(next));
    key = next.slice();
    if (keys.length > map.maxEntries) throw new Error('get_next_key does not end');
  }
  return keys;
}

describe('htab_map_alloc_check', () => {
  const env = mapTestEnv();
  const base: MapAttr = { mapType: BPF_MAP_TYPE.HASH, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 };
  it.each([
    ['max_entries 0', { maxEntries: 0 }, -Errno.EINVAL],
    ['key_size 0', { keySize: 0 }, -Errno.EINVAL],
    ['value_size 0', { valueSize: 0 }, -Errno.EINVAL],
    ['MMAPABLE', { mapFlags: BPF_MAP_F.MMAPABLE }, -Errno.EINVAL],
    ['NO_COMMON_LRU outside LRU maps', { mapFlags: BPF_MAP_F.NO_COMMON_LRU }, -Errno.EINVAL],
    ['LRU without preallocation', { mapType: BPF_MAP_TYPE.LRU_HASH, mapFlags: BPF_MAP_F.NO_PREALLOC }, -ENOTSUPP],
    ['NUMA node on a per-CPU hash', { mapType: BPF_MAP_TYPE.PERCPU_HASH, mapFlags: BPF_MAP_F.NUMA_NODE }, -Errno.EINVAL],
    ['NUMA node with per-CPU LRU lists', { mapType: BPF_MAP_TYPE.LRU_HASH, mapFlags: BPF_MAP_F.NUMA_NODE | BPF_MAP_F.NO_COMMON_LRU }, -Errno.EINVAL],
    ['key and value past KMALLOC_MAX_SIZE', { keySize: 4, valueSize: (4 << 20) - 52 }, -Errno.E2BIG],
    ['per-CPU value above 32 KiB', { mapType: BPF_MAP_TYPE.PERCPU_HASH, valueSize: (32 << 10) + 1 }, -Errno.E2BIG],
    ['more than 2^28 buckets', { maxEntries: (1 << 28) + 1, mapFlags: BPF_MAP_F.NO_PREALLOC }, -Errno.E2BIG],
    ['more elements than memory holds', { maxEntries: 1 << 20, valueSize: 256 }, -Errno.ENOMEM],
    ['spin lock in an LRU map', { mapType: BPF_MAP_TYPE.LRU_HASH, valueSize: 8, spinLockOff: 0 }, -Errno.EOPNOTSUPP],
  ] as const)('%s', (_what, change, errno) => {
    expect(createMap({ ...base, ...change }, env)).toBe(errno);
  });

  it('gives the buckets back when the elements do not fit', () => {
    const small = mapTestEnv({ memoryBytes: 1 << 20 });
    expect(createMap({ ...base, maxEntries: 1 << 14, valueSize: 64, name: 'oom' }, small)).toBe(-Errno.ENOMEM);
    expect(small.phys.usageOf('bpf-map:oom')).toMatchObject({ bytes: 0, allocations: 0 });
  });

  it('lets only CAP_SYS_ADMIN ask for a zero seed', () => {
    expect(createMap({ ...base, mapFlags: BPF_MAP_F.ZERO_SEED }, mapTestEnv({ capabilities: [CAP.BPF] }))).toBe(-Errno.EPERM);
    const map = createMap({ ...base, mapFlags: BPF_MAP_F.ZERO_SEED }, env);
    expect(map).toBeInstanceOf(HashTab);
    if (map instanceof HashTab) map.free();
  });

  it('rounds max_entries to a multiple of the CPUs with per-CPU LRU lists', () => {
    const map = createMap({ ...base, mapType: BPF_MAP_TYPE.LRU_HASH, maxEntries: 5, mapFlags: BPF_MAP_F.NO_COMMON_LRU }, mapTestEnv({ nrCpus: 4 }));
    expect(map).toBeInstanceOf(HashTab);
    if (map instanceof HashTab) expect(map.maxEntries).toBe(8);
  });
});

describe('HASH', () => {
  it('gives Linux errnos by update flag, and E2BIG when full', () => {
    const env = mapTestEnv();
    const map = hash(env, { maxEntries: 2 });
    const v = u64le(1);
    expect(map.updateSys(u32le(1), v, BPF_UPDATE.EXIST)).toBe(-Errno.ENOENT);
    expect(map.updateSys(u32le(1), v, BPF_UPDATE.NOEXIST)).toBe(0);
    expect(map.updateSys(u32le(1), v, BPF_UPDATE.NOEXIST)).toBe(-Errno.EEXIST);
    expect(map.updateSys(u32le(1), u64le(2), BPF_UPDATE.EXIST)).toBe(0);
    expect(map.updateSys(u32le(2), v, BPF_UPDATE.ANY)).toBe(0);
    expect(map.updateSys(u32le(3), v, BPF_UPDATE.ANY)).toBe(-Errno.E2BIG);
    // Replacing a key of a full map is not an insertion.
    expect(map.updateSys(u32le(2), u64le(3), BPF_UPDATE.ANY)).toBe(0);
    expect(map.updateSys(u32le(2), v, 3)).toBe(-Errno.EINVAL);
    expect(map.updateSys(u32le(2), v, BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.size).toBe(2);
    const out = new Uint8Array(8);
    expect(map.lookupSys(u32le(1), out, 0)).toBe(0);
    expect(readU32le(out)).toBe(2);
    expect(map.lookupSys(u32le(9), out, 0)).toBe(-Errno.ENOENT);
    expect(map.deleteSys(u32le(9))).toBe(-Errno.ENOENT);
    expect(map.deleteSys(u32le(1))).toBe(0);
    expect(map.deleteSys(u32le(1))).toBe(-Errno.ENOENT);
    expect(map.updateSys(u32le(3), v, BPF_UPDATE.ANY)).toBe(0);
    map.free();
  });

  it('hands programs the value in place; lookup of a missing key is 0', () => {
    const env = mapTestEnv();
    const map = hash(env);
    const key = env.put(u32le(42));
    expect(map.lookup(key, 0)).toBe(0);
    expect(map.update(key, env.put(u64le(7), 8), BPF_UPDATE.ANY, 0)).toBe(0);
    const value = map.lookup(key, 0);
    expect(env.phys.view.getUint32(value, true)).toBe(7);
    env.phys.view.setUint32(value, 8, true);
    const out = new Uint8Array(8);
    expect(map.lookupSys(u32le(42), out, 0)).toBe(0);
    expect(readU32le(out)).toBe(8);
    expect(map.delete(key)).toBe(0);
    expect(map.lookup(key, 0)).toBe(0);
    map.free();
  });

  it('looks up and deletes at once, with flags checked as the syscall does', () => {
    const env = mapTestEnv();
    const map = hash(env);
    const out = new Uint8Array(8);
    expect(map.updateSys(u32le(5), u64le(55), 0)).toBe(0);
    expect(map.lookupAndDeleteSys(u32le(5), out, BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.lookupAndDeleteSys(u32le(5), out, 0)).toBe(0);
    expect(readU32le(out)).toBe(55);
    expect(map.lookupAndDeleteSys(u32le(5), out, 0)).toBe(-Errno.ENOENT);
    expect(map.size).toBe(0);
    map.free();
  });

  it('iterates bucket by bucket, each chain from its newest element, and restarts from a missing key', () => {
    const env = mapTestEnv();
    // One bucket: every key chains there, newest first.
    const map = hash(env, { maxEntries: 1 });
    expect(map.updateSys(u32le(1), u64le(0), 0)).toBe(0);
    expect(keysOf(map)).toEqual([1]);
    map.free();
    const big = hash(env, { maxEntries: 64 });
    for (const k of [10, 20, 30, 40]) expect(big.updateSys(u32le(k), u64le(k), 0)).toBe(0);
    const order = keysOf(big);
    expect([...order].sort((a, b) => a - b)).toEqual([10, 20, 30, 40]);
    const next = new Uint8Array(4);
    // A key that is not there restarts at the first key.
    expect(big.getNextKey(u32le(99), next)).toBe(0);
    expect(readU32le(next)).toBe(order[0]);
    expect(big.getNextKey(u32le(order[3]!), next)).toBe(-Errno.ENOENT);
    // Deleting the current key during iteration restarts it, as in Linux.
    expect(big.deleteSys(u32le(order[1]!))).toBe(0);
    expect(big.getNextKey(u32le(order[1]!), next)).toBe(0);
    expect(readU32le(next)).toBe(order[0]);
    big.free();
    const empty = hash(env);
    expect(empty.getNextKey(null, next)).toBe(-Errno.ENOENT);
    empty.free();
  });

  it("finds a program's key wherever it lies: word-aligned keys of whole words hashed by word, any other by byte", () => {
    for (const keySize of [4, 8, 16, 20, 6]) {
      const env = mapTestEnv();
      const map = hash(env, { keySize, maxEntries: 64 });
      const keyOf = (i: number): Uint8Array => Uint8Array.from({ length: keySize }, (_, b) => (i * 31 + b * 7) & 0xff);
      for (let i = 0; i < 40; i++) expect(map.updateSys(keyOf(i), u64le(i), 0)).toBe(0);
      for (let i = 0; i < 40; i++) {
        // The same key at an aligned and at an unaligned address of kernel memory, as a program passes it.
        for (const offset of [0, 1, 4, 6]) {
          const value = map.lookup(env.put(keyOf(i), offset), 0);
          expect(value, `key size ${keySize}, key ${i}, offset ${offset}`).not.toBe(0);
          expect(readU32le(env.read(value, 4))).toBe(i);
        }
      }
      expect(map.lookup(env.put(keyOf(40)), 0)).toBe(0);
      map.free();
    }
  });

  it('with BPF_F_ZERO_SEED buckets keys by jhash(key, key_size, 0), so the order is fixed', () => {
    const env = mapTestEnv();
    const map = hash(env, { maxEntries: 8, mapFlags: BPF_MAP_F.ZERO_SEED });
    const keys = [1, 2, 3, 4, 5, 6, 7, 8];
    for (const k of keys) expect(map.updateSys(u32le(k), u64le(k), 0)).toBe(0);
    const again = hash(env, { maxEntries: 8, mapFlags: BPF_MAP_F.ZERO_SEED });
    for (const k of keys) expect(again.updateSys(u32le(k), u64le(k), 0)).toBe(0);
    expect(keysOf(again)).toEqual(keysOf(map));
    map.free();
    again.free();
  });

  it('updates under BPF_F_LOCK in place, leaving the lock', () => {
    const env = mapTestEnv();
    const map = hash(env, { valueSize: 16, spinLockOff: 0 });
    const value = new Uint8Array(16).fill(3);
    expect(map.updateSys(u32le(1), value, BPF_UPDATE.F_LOCK | BPF_UPDATE.EXIST)).toBe(-Errno.ENOENT);
    expect(map.updateSys(u32le(1), value, BPF_UPDATE.F_LOCK)).toBe(0);
    const slot = map.lookup(env.put(u32le(1)), 0);
    expect(env.phys.view.getUint32(slot, true)).toBe(0);
    expect(env.phys.view.getUint32(slot + 4, true)).toBe(0x03030303);
    env.phys.view.setUint32(slot, 1, true);
    expect(map.updateSys(u32le(1), new Uint8Array(16).fill(4), BPF_UPDATE.F_LOCK | BPF_UPDATE.NOEXIST)).toBe(-Errno.EEXIST);
    expect(map.updateSys(u32le(1), new Uint8Array(16).fill(4), BPF_UPDATE.F_LOCK)).toBe(0);
    expect(map.lookup(env.put(u32le(1)), 0)).toBe(slot);
    expect(env.phys.view.getUint32(slot, true)).toBe(1);
    const out = new Uint8Array(16);
    expect(map.lookupSys(u32le(1), out, BPF_UPDATE.F_LOCK)).toBe(0);
    expect(readU32le(out)).toBe(0);
    expect(out[4]).toBe(4);
    map.free();
  });

  it('takes memory in chunks with BPF_F_NO_PREALLOC, and E2BIG at max_entries all the same', () => {
    const env = mapTestEnv();
    const map = hash(env, { maxEntries: 10000, mapFlags: BPF_MAP_F.NO_PREALLOC, name: 'lazy' });
    const empty = env.phys.usageOf('bpf-map:lazy').bytes;
    expect(empty).toBe(HTAB_STRUCT.size + 16384 * 16); // the map's struct and the buckets only
    for (let k = 0; k < 10000; k++) expect(map.updateSys(u32le(k), u64le(k), 0)).toBe(0);
    expect(env.phys.usageOf('bpf-map:lazy').bytes).toBeGreaterThan(empty);
    expect(map.updateSys(u32le(10000), u64le(0), 0)).toBe(-Errno.E2BIG);
    map.free();
    expect(env.phys.usageOf('bpf-map:lazy')).toMatchObject({ bytes: 0, pages: 0, allocations: 0 });
  });

  it('keys of any size hash and compare whole', () => {
    const env = mapTestEnv();
    const map = hash(env, { keySize: 13 });
    const a = new Uint8Array(13).fill(1);
    const b = new Uint8Array(13).fill(1);
    b[12] = 2;
    expect(map.updateSys(a, u64le(1), 0)).toBe(0);
    expect(map.updateSys(b, u64le(2), 0)).toBe(0);
    const out = new Uint8Array(8);
    expect(map.lookupSys(b, out, 0)).toBe(0);
    expect(readU32le(out)).toBe(2);
    expect(map.lookup(env.put(a), 0)).toBeGreaterThan(0);
    // From a program's memory, aligned (compared word by word) or not, the last byte still counts.
    const c = b.slice();
    c[12] = 3;
    expect(map.lookup(env.put(b, 32), 0)).toBe(map.lookup(env.put(b, 65), 0));
    expect(map.lookup(env.put(b, 32), 0)).toBeGreaterThan(0);
    expect(map.lookup(env.put(c, 32), 0)).toBe(0);
    expect(map.lookup(env.put(c, 65), 0)).toBe(0);
    const words = hash(env, { keySize: 8 });
    expect(words.updateSys(u64le(0x1_0000_0001), u64le(1), 0)).toBe(0);
    expect(words.lookup(env.put(u64le(0x1_0000_0001), 8), 0)).toBeGreaterThan(0);
    expect(words.lookup(env.put(u64le(0x2_0000_0001), 8), 0)).toBe(0);
    words.free();
    map.free();
  });
});

describe('PERCPU_HASH', () => {
  it('keeps one slot per CPU; a program writes its own, zeroing the others for a new key', () => {
    const env = mapTestEnv({ nrCpus: 2 });
    const map = hash(env, { mapType: BPF_MAP_TYPE.PERCPU_HASH, valueSize: 12 });
    expect(map.userValueSize).toBe(32);
    const key = env.put(u32le(1));
    const value = env.put(new Uint8Array(12).fill(9), 16);
    expect(map.update(key, value, BPF_UPDATE.ANY, 1)).toBe(0);
    expect(map.lookup(key, 1) - map.lookup(key, 0)).toBe(16);
    const out = new Uint8Array(32);
    expect(map.lookupSys(u32le(1), out, 0)).toBe(0);
    expect([...out.subarray(0, 16)]).toEqual(new Array(16).fill(0));
    expect([...out.subarray(16, 28)]).toEqual(new Array(12).fill(9));
    // User space writes both slots.
    const both = new Uint8Array(32);
    both.fill(5, 0, 12);
    both.fill(6, 16, 28);
    expect(map.updateSys(u32le(1), both, BPF_UPDATE.EXIST)).toBe(0);
    expect(env.read(map.lookup(key, 0), 12)).toEqual(new Uint8Array(12).fill(5));
    expect(env.read(map.lookup(key, 1), 12)).toEqual(new Uint8Array(12).fill(6));
    expect(map.updateSys(u32le(1), both, BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.lookupAndDeleteSys(u32le(1), out, 0)).toBe(0);
    expect(out[16]).toBe(6);
    expect(map.desc().type).toBe('percpu_hash');
    map.free();
  });
});

describe('LRU_HASH', () => {
  it('evicts the least recently used key when full; program lookups are uses, user-space lookups are not', () => {
    const env = mapTestEnv();
    const map = hash(env, { mapType: BPF_MAP_TYPE.LRU_HASH, maxEntries: 3 });
    for (const k of [1, 2, 3]) expect(map.updateSys(u32le(k), u64le(k), 0)).toBe(0);
    // A program uses 1; user space reads 2 (not a use).
    expect(map.lookup(env.put(u32le(1)), 0)).toBeGreaterThan(0);
    expect(map.lookupSys(u32le(2), new Uint8Array(8), 0)).toBe(0);
    expect(map.updateSys(u32le(4), u64le(4), 0)).toBe(0); // evicts 2
    expect(keysOf(map).sort()).toEqual([1, 3, 4]);
    expect(map.updateSys(u32le(3), u64le(33), BPF_UPDATE.EXIST)).toBe(0); // 3 is now the newest
    expect(map.updateSys(u32le(5), u64le(5), BPF_UPDATE.NOEXIST)).toBe(0); // evicts 1
    expect(keysOf(map).sort()).toEqual([3, 4, 5]);
    // Refused updates evict nothing.
    expect(map.updateSys(u32le(3), u64le(0), BPF_UPDATE.NOEXIST)).toBe(-Errno.EEXIST);
    expect(map.updateSys(u32le(9), u64le(0), BPF_UPDATE.EXIST)).toBe(-Errno.ENOENT);
    expect(map.updateSys(u32le(3), u64le(0), BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.size).toBe(3);
    expect(map.deleteSys(u32le(4))).toBe(0);
    expect(map.deleteSys(u32le(4))).toBe(-Errno.ENOENT);
    expect(map.updateSys(u32le(6), u64le(6), 0)).toBe(0); // a free element: no eviction
    expect(keysOf(map).sort()).toEqual([3, 5, 6]);
    map.free();
  });

  it('with BPF_F_NO_COMMON_LRU evicts from the updating CPU list', () => {
    const env = mapTestEnv({ nrCpus: 2 });
    const map = hash(env, { mapType: BPF_MAP_TYPE.LRU_HASH, maxEntries: 4, mapFlags: BPF_MAP_F.NO_COMMON_LRU });
    expect(map.updateSys(u32le(1), u64le(1), 0, 0)).toBe(0);
    expect(map.updateSys(u32le(2), u64le(2), 0, 0)).toBe(0);
    expect(map.updateSys(u32le(3), u64le(3), 0, 1)).toBe(0);
    // CPU 0's list (2 elements) is full: its oldest, 1, goes, though the map has room.
    expect(map.updateSys(u32le(4), u64le(4), 0, 0)).toBe(0);
    expect(keysOf(map).sort()).toEqual([2, 3, 4]);
    expect(map.update(env.put(u32le(5)), env.put(u64le(5), 8), 0, 1)).toBe(0);
    expect(keysOf(map).sort()).toEqual([2, 3, 4, 5]);
    expect(map.update(env.put(u32le(6)), env.put(u64le(6), 8), 0, 1)).toBe(0); // CPU 1 evicts 3
    expect(keysOf(map).sort()).toEqual([2, 4, 5, 6]);
    map.free();
  });
});

describe('LRU_PERCPU_HASH', () => {
  it('evicts like LRU_HASH and keeps per-CPU values', () => {
    const env = mapTestEnv({ nrCpus: 2 });
    const map = hash(env, { mapType: BPF_MAP_TYPE.LRU_PERCPU_HASH, maxEntries: 2, valueSize: 4 });
    expect(map.userValueSize).toBe(16);
    const all = new Uint8Array(16);
    all[0] = 1;
    all[8] = 2;
    for (const k of [1, 2, 3]) expect(map.updateSys(u32le(k), all, 0)).toBe(0);
    expect(keysOf(map).sort()).toEqual([2, 3]);
    const key = env.put(u32le(3));
    expect(env.phys.bytes[map.lookup(key, 1)]).toBe(2);
    expect(map.updateSys(u32le(3), all, BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.desc().type).toBe('lru_percpu_hash');
    map.free();
  });
});

describe('hash memory', () => {
  it('creating and freeing every hash type gives every byte back', () => {
    const env = mapTestEnv({ nrCpus: 3 });
    const free = env.phys.freePages;
    for (const mapType of [BPF_MAP_TYPE.HASH, BPF_MAP_TYPE.PERCPU_HASH, BPF_MAP_TYPE.LRU_HASH, BPF_MAP_TYPE.LRU_PERCPU_HASH]) {
      for (const mapFlags of [0, mapType === BPF_MAP_TYPE.HASH || mapType === BPF_MAP_TYPE.PERCPU_HASH ? BPF_MAP_F.NO_PREALLOC : BPF_MAP_F.NO_COMMON_LRU]) {
        const map = hash(env, { mapType, mapFlags, maxEntries: 3000, valueSize: 24, name: 'acct' });
        for (let k = 0; k < 4000; k++) map.updateSys(u32le(k), new Uint8Array(map.userValueSize).fill(k & 0xff), 0);
        expect(env.phys.usageOf('bpf-map:acct').bytes).toBeGreaterThan(0);
        map.free();
        expect(env.phys.usageOf('bpf-map:acct')).toMatchObject({ bytes: 0, pages: 0, allocations: 0 });
        expect(env.phys.freePages).toBe(free);
      }
    }
  });
});

describe('HASH against a JS Map', () => {
  type Op =
    | { op: 'update'; key: number; value: number; flags: number }
    | { op: 'delete'; key: number }
    | { op: 'lookup'; key: number }
    | { op: 'next'; key: number | null };
  const key = fc.integer({ min: 0, max: 40 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('update' as const), key, value: fc.integer({ min: 0, max: 0xffffffff }), flags: fc.constantFrom(0, 1, 2, 3) }),
    fc.record({ op: fc.constant('delete' as const), key }),
    fc.record({ op: fc.constant('lookup' as const), key }),
    fc.record({ op: fc.constant('next' as const), key: fc.option(key) }),
  );

  it('agrees on every result, and get_next_key visits every key once', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.integer({ min: 1, max: 24 }), fc.boolean(), (ops, maxEntries, noPrealloc) => {
        const env = mapTestEnv({ memoryBytes: 1 << 20 });
        const map = hash(env, { maxEntries, mapFlags: noPrealloc ? BPF_MAP_F.NO_PREALLOC : 0, name: 'model' });
        const model = new Map<number, number>();
        const out = new Uint8Array(8);
        const next = new Uint8Array(4);
        for (const step of ops) {
          if (step.op === 'update') {
            const has = model.has(step.key);
            const expected =
              step.flags > BPF_UPDATE.EXIST
                ? -Errno.EINVAL
                : has && step.flags === BPF_UPDATE.NOEXIST
                  ? -Errno.EEXIST
                  : !has && step.flags === BPF_UPDATE.EXIST
                    ? -Errno.ENOENT
                    : !has && model.size >= maxEntries
                      ? -Errno.E2BIG
                      : 0;
            expect(map.updateSys(u32le(step.key), u64le(step.value), step.flags)).toBe(expected);
            if (expected === 0) model.set(step.key, step.value);
          } else if (step.op === 'delete') {
            expect(map.deleteSys(u32le(step.key))).toBe(model.delete(step.key) ? 0 : -Errno.ENOENT);
          } else if (step.op === 'lookup') {
            const want = model.get(step.key);
            expect(map.lookupSys(u32le(step.key), out, 0)).toBe(want === undefined ? -Errno.ENOENT : 0);
            if (want !== undefined) expect(readU32le(out)).toBe(want);
            const addr = map.lookup(env.put(u32le(step.key)), 0);
            expect(addr === 0).toBe(want === undefined);
          } else {
            const rc = map.getNextKey(step.key === null ? null : u32le(step.key), next);
            if (model.size === 0) expect(rc).toBe(-Errno.ENOENT);
            else if (rc === 0) expect(model.has(readU32le(next))).toBe(true);
            // A key that is absent restarts: there is always a first key.
            if (step.key === null || !model.has(step.key)) expect(rc).toBe(model.size === 0 ? -Errno.ENOENT : 0);
          }
          expect(map.size).toBe(model.size);
        }
        expect(keysOf(map).sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
        map.free();
        expect(env.phys.usageOf('bpf-map:model').allocations).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
