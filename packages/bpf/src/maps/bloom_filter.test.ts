import { describe, expect, it } from 'vitest';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { mapTestEnv, u32le } from '../testing/map-env.js';
import { BloomFilter, bloomBitsetMask } from './bloom_filter.js';
import { ENOTSUPP, type MapAttr, type MapEnv } from './map.js';
import { createMap } from './registry.js';

const NO_KEY = new Uint8Array(0);
const base: MapAttr = { mapType: BPF_MAP_TYPE.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 100, mapFlags: 0 };

function bloom(env: MapEnv, attr: Partial<MapAttr> = {}): BloomFilter {
  const map = createMap({ ...base, name: 'bloom', ...attr }, env);
  if (!(map instanceof BloomFilter)) throw new Error(`bloom filter creation failed: ${typeof map === 'number' ? map : 'not a bloom filter'}`);
  return map;
}

describe('bloom_map_alloc_check and bloom_map_alloc', () => {
  const env = mapTestEnv();
  it.each([
    ['key_size 4', { keySize: 4 }, -Errno.EINVAL],
    ['value_size 0', { valueSize: 0 }, -Errno.EINVAL],
    ['max_entries 0', { maxEntries: 0 }, -Errno.EINVAL],
    ['NO_PREALLOC', { mapFlags: BPF_MAP_F.NO_PREALLOC }, -Errno.EINVAL],
    ['MMAPABLE', { mapFlags: BPF_MAP_F.MMAPABLE }, -Errno.EINVAL],
    ['RDONLY_PROG with WRONLY_PROG', { mapFlags: BPF_MAP_F.RDONLY_PROG | BPF_MAP_F.WRONLY_PROG }, -Errno.EINVAL],
    ['map_extra past the low 4 bits', { mapExtra: 16 }, -Errno.EINVAL],
    ['value_size above KMALLOC_MAX_SIZE', { valueSize: (4 << 20) + 1 }, -Errno.E2BIG],
    ['a 2^32-bit array the machine has no room for', { maxEntries: 0xffffffff }, -Errno.ENOMEM],
    ['spin lock', { spinLockOff: 0 }, -Errno.EOPNOTSUPP],
  ] as const)('%s', (_what, change, errno) => {
    expect(createMap({ ...base, ...change }, env)).toBe(errno);
  });

  it('takes nr_hash_funcs from map_extra, 5 by default', () => {
    const five = bloom(env);
    const fifteen = bloom(env, { mapExtra: 15 });
    expect([five.nrHashFuncs, fifteen.nrHashFuncs]).toEqual([5, 15]);
    five.free();
    fifteen.free();
  });

  it('sizes the bit array as Linux: n × k × 7/5, at least 64, a power of two; 2^32 bits on overflow', () => {
    expect(bloomBitsetMask(1, 1)).toBe(63);
    expect(bloomBitsetMask(10, 5)).toBe(127); // 50 / 5 * 7 = 70 -> 128
    expect(bloomBitsetMask(100, 5)).toBe(1023); // 700 -> 1024
    expect(bloomBitsetMask(1 << 28, 5)).toBe(0x7fffffff); // 2^28 * 7 < 2^31 -> 2^31
    expect(bloomBitsetMask(1 << 29, 5)).toBe(0xffffffff); // 2^29 * 7 > 2^31
    expect(bloomBitsetMask(0xffffffff, 15)).toBe(0xffffffff); // n * k overflows a u32
    const env2 = mapTestEnv();
    const map = bloom(env2, { maxEntries: 100 });
    expect(env2.phys.usageOf(map.owner).bytes).toBeGreaterThanOrEqual(1024 / 8);
    map.free();
  });
});

describe('BLOOM_FILTER', () => {
  it('has no false negatives: every value added is found, from user space and from programs', () => {
    const env = mapTestEnv();
    const map = bloom(env, { maxEntries: 64 });
    for (let v = 0; v < 64; v++) expect(map.updateSys(NO_KEY, u32le(v * 7919), BPF_UPDATE.ANY)).toBe(0);
    for (let v = 0; v < 64; v++) {
      expect(map.lookupSys(NO_KEY, u32le(v * 7919), 0)).toBe(0);
      expect(map.peek(env.put(u32le(v * 7919)))).toBe(0);
    }
    // A filter sized for 64 values with 5 hashes keeps most absent values out.
    let absent = 0;
    for (let v = 1; v <= 200; v++) if (map.lookupSys(NO_KEY, u32le(v * 7919 + 1), 0) === -Errno.ENOENT) absent++;
    expect(absent).toBeGreaterThan(180);
    map.free();
  });

  it('pushes from a program what user space then finds; an empty filter holds nothing', () => {
    const env = mapTestEnv();
    const map = bloom(env, { valueSize: 3 });
    expect(map.lookupSys(NO_KEY, new Uint8Array([1, 2, 3]), 0)).toBe(-Errno.ENOENT);
    expect(map.push(env.put(new Uint8Array([1, 2, 3])), BPF_UPDATE.ANY)).toBe(0);
    expect(map.lookupSys(NO_KEY, new Uint8Array([1, 2, 3]), 0)).toBe(0);
    expect(map.peek(env.put(new Uint8Array([1, 2, 3]), 8))).toBe(0);
    map.free();
  });

  it('the seed changes which bits a value sets; BPF_F_ZERO_SEED fixes it', () => {
    const bits = (env: MapEnv, mapFlags: number): string => {
      const map = bloom(env, { mapFlags, mapExtra: 1, maxEntries: 1 });
      map.updateSys(NO_KEY, u32le(1), 0);
      const found = [...Array(64).keys()].filter((v) => map.lookupSys(NO_KEY, u32le(v), 0) === 0).join(',');
      map.free();
      return found;
    };
    expect(bits(mapTestEnv(), BPF_MAP_F.ZERO_SEED)).toBe(bits(mapTestEnv(), BPF_MAP_F.ZERO_SEED));
    const env = mapTestEnv();
    const seeded = new Set([bits(env, 0), bits(env, 0), bits(env, 0), bits(env, 0)]);
    expect(seeded.size).toBeGreaterThan(1);
  });

  it('gives Linux errnos: push only BPF_ANY, lookup flags, no delete, next key, pop or program lookup/update', () => {
    const env = mapTestEnv();
    const map = bloom(env);
    for (const flags of [BPF_UPDATE.NOEXIST, BPF_UPDATE.EXIST, BPF_UPDATE.F_LOCK, 8]) expect(map.updateSys(NO_KEY, u32le(1), flags)).toBe(-Errno.EINVAL);
    expect(map.push(env.put(u32le(1)), BPF_UPDATE.EXIST)).toBe(-Errno.EINVAL);
    expect(map.lookupSys(NO_KEY, u32le(1), BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.lookupSys(NO_KEY, u32le(1), BPF_UPDATE.EXIST)).toBe(-Errno.EINVAL);
    expect(map.deleteSys(NO_KEY)).toBe(-Errno.EOPNOTSUPP);
    expect(map.getNextKey(null, new Uint8Array(4))).toBe(-Errno.EOPNOTSUPP);
    expect(map.lookupAndDeleteSys(NO_KEY, new Uint8Array(4), 0)).toBe(-ENOTSUPP);
    expect(map.pop(env.scratch)).toBe(-Errno.EOPNOTSUPP);
    expect(map.lookup()).toBe(0);
    expect(map.update(env.scratch, env.scratch, 0, 0)).toBe(-Errno.EINVAL);
    expect(map.delete(env.scratch)).toBe(-Errno.EOPNOTSUPP);
    map.free();
  });

  it('gives back every byte it took', () => {
    const env = mapTestEnv();
    const before = env.phys.usage().map((charge) => ({ ...charge }));
    const map = bloom(env, { maxEntries: 1000, mapExtra: 15 });
    for (let v = 0; v < 500; v++) map.updateSys(NO_KEY, u32le(v), 0);
    map.free();
    expect(env.phys.usageOf(map.owner)).toMatchObject({ bytes: 0, pages: 0, allocations: 0 });
    expect(env.phys.usage()).toEqual(before);
  });
});
