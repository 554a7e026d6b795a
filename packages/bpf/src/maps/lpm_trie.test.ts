import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { mapTestEnv, readU32le, u32le } from '../testing/map-env.js';
import { LPM_VAL_SIZE_MAX, LpmTrie } from './lpm_trie.js';
import { ENOTSUPP, type MapAttr, type MapEnv } from './map.js';
import { createMap } from './registry.js';

const IPV4: MapAttr = { mapType: BPF_MAP_TYPE.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 16, mapFlags: BPF_MAP_F.NO_PREALLOC, name: 'lpm' };

function trie(env: MapEnv, change: Partial<MapAttr> = {}): LpmTrie {
  const map = createMap({ ...IPV4, ...change }, env);
  if (!(map instanceof LpmTrie)) throw new Error(`lpm_trie creation failed: ${typeof map === 'number' ? map : 'not a trie'}`);
  return map;
}

/** struct bpf_lpm_trie_key_u8 for an IPv4 prefix: prefixlen (host order), then the address in network order. */
function v4(address: string, prefixlen: number): Uint8Array {
  const key = new Uint8Array(8);
  key.set(u32le(prefixlen));
  key.set(
    address.split('.').map((part) => Number(part)),
    4,
  );
  return key;
}

/** MAP_LOOKUP_ELEM: the u32 value, or the errno. */
function lookupSys(map: LpmTrie, key: Uint8Array): number {
  const out = new Uint8Array(4);
  const rc = map.lookupSys(key, out, 0);
  return rc !== 0 ? rc : readU32le(out);
}

/** Every key MAP_GET_NEXT_KEY gives from a NULL key, as `a.b.c.d/len`. */
function iterate(map: LpmTrie): string[] {
  const keys: string[] = [];
  let key: Uint8Array | null = null;
  const next = new Uint8Array(map.keySize);
  while (map.getNextKey(key, next) === 0) {
    keys.push(`${[...next.subarray(4)].join('.')}/${readU32le(next)}`);
    key = next.slice();
    if (keys.length > 100) throw new Error('get_next_key does not end');
  }
  return keys;
}

describe('trie_alloc checks', () => {
  const env = mapTestEnv();
  it.each([
    ['without BPF_F_NO_PREALLOC', { mapFlags: 0 }, -Errno.EINVAL],
    ['max_entries 0', { maxEntries: 0 }, -Errno.EINVAL],
    ['key_size 4 (no data)', { keySize: 4 }, -Errno.EINVAL],
    ['key_size 0', { keySize: 0 }, -Errno.EINVAL],
    ['key_size 261 (257 bytes of data)', { keySize: 261 }, -Errno.EINVAL],
    ['value_size 0', { valueSize: 0 }, -Errno.EINVAL],
    ['value_size above LPM_VAL_SIZE_MAX', { valueSize: LPM_VAL_SIZE_MAX + 1 }, -Errno.EINVAL],
    ['BPF_F_MMAPABLE', { mapFlags: BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.MMAPABLE }, -Errno.EINVAL],
    ['BPF_F_ZERO_SEED', { mapFlags: BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.ZERO_SEED }, -Errno.EINVAL],
    ['RDONLY_PROG with WRONLY_PROG', { mapFlags: BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.RDONLY_PROG | BPF_MAP_F.WRONLY_PROG }, -Errno.EINVAL],
    ['spin lock', { spinLockOff: 0 }, -Errno.EOPNOTSUPP],
  ] as const)('%s', (_what, change, errno) => {
    expect(createMap({ ...IPV4, ...change }, env)).toBe(errno);
  });

  it('accepts 1 and 256 bytes of data, LPM_VAL_SIZE_MAX, NUMA node 0 and the access flags', () => {
    for (const change of [
      { keySize: 5 },
      { keySize: 260 },
      { valueSize: LPM_VAL_SIZE_MAX },
      { mapFlags: BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.NUMA_NODE },
      { mapFlags: BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.RDONLY_PROG },
      { mapFlags: BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.WRONLY },
    ]) {
      const map = createMap({ ...IPV4, ...change }, env);
      expect(map).toBeInstanceOf(LpmTrie);
      if (map instanceof LpmTrie) map.free();
    }
  });
});

describe('LPM_TRIE from user space', () => {
  it('finds the longest matching prefix: 10.0.0.0/8, 10.1.0.0/16, 10.1.2.3/32', () => {
    const env = mapTestEnv();
    const map = trie(env);
    expect(map.updateSys(v4('10.0.0.0', 8), u32le(8), BPF_UPDATE.ANY)).toBe(0);
    expect(map.updateSys(v4('10.1.0.0', 16), u32le(16), BPF_UPDATE.ANY)).toBe(0);
    expect(map.updateSys(v4('10.1.2.3', 32), u32le(32), BPF_UPDATE.ANY)).toBe(0);
    expect(map.size).toBe(3);
    expect(lookupSys(map, v4('10.1.2.3', 32))).toBe(32);
    expect(lookupSys(map, v4('10.1.2.4', 32))).toBe(16);
    expect(lookupSys(map, v4('10.1.255.255', 32))).toBe(16);
    expect(lookupSys(map, v4('10.2.0.1', 32))).toBe(8);
    expect(lookupSys(map, v4('11.0.0.0', 32))).toBe(-Errno.ENOENT);
    // The key's prefixlen bounds the bits considered.
    expect(lookupSys(map, v4('10.1.2.3', 24))).toBe(16);
    expect(lookupSys(map, v4('10.1.2.3', 15))).toBe(8);
    expect(lookupSys(map, v4('10.1.2.3', 7))).toBe(-Errno.ENOENT);
    // A prefixlen past the key's bits finds nothing.
    expect(lookupSys(map, v4('10.1.2.3', 33))).toBe(-Errno.ENOENT);
    map.free();
  });

  it('matches data most significant bit first (extract_bit), across an intermediate node', () => {
    const env = mapTestEnv();
    const map = trie(env);
    // 192.168.0.0/24 and 192.168.1.0/24 differ at bit 23: an intermediate 192.168.0.0/23 holds them.
    expect(map.updateSys(v4('192.168.0.0', 24), u32le(1), 0)).toBe(0);
    expect(map.updateSys(v4('192.168.1.0', 24), u32le(2), 0)).toBe(0);
    expect(lookupSys(map, v4('192.168.1.77', 32))).toBe(2);
    expect(lookupSys(map, v4('192.168.0.77', 32))).toBe(1);
    // The intermediate node is no prefix of its own.
    expect(lookupSys(map, v4('192.168.0.0', 23))).toBe(-Errno.ENOENT);
    expect(map.deleteSys(v4('192.168.0.0', 23))).toBe(-Errno.ENOENT);
    // It becomes one when inserted (BPF_EXIST may not, as the prefix is absent).
    expect(map.updateSys(v4('192.168.0.0', 23), u32le(3), BPF_UPDATE.EXIST)).toBe(-Errno.ENOENT);
    expect(map.updateSys(v4('192.168.0.0', 23), u32le(3), BPF_UPDATE.NOEXIST)).toBe(0);
    expect(lookupSys(map, v4('192.168.0.0', 23))).toBe(3);
    expect(map.size).toBe(3);
    map.free();
  });

  it('gives Linux errnos for update flags, prefixlen and delete', () => {
    const env = mapTestEnv();
    const map = trie(env);
    const key = v4('10.0.0.0', 8);
    expect(map.updateSys(key, u32le(1), 4)).toBe(-Errno.EINVAL);
    expect(map.updateSys(key, u32le(1), BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.updateSys(v4('10.0.0.0', 33), u32le(1), 0)).toBe(-Errno.EINVAL);
    expect(map.deleteSys(v4('10.0.0.0', 33))).toBe(-Errno.EINVAL);
    expect(map.updateSys(key, u32le(1), BPF_UPDATE.EXIST)).toBe(-Errno.ENOENT);
    expect(map.updateSys(key, u32le(1), BPF_UPDATE.NOEXIST)).toBe(0);
    expect(map.updateSys(key, u32le(2), BPF_UPDATE.NOEXIST)).toBe(-Errno.EEXIST);
    expect(map.updateSys(key, u32le(3), BPF_UPDATE.EXIST)).toBe(0);
    expect(lookupSys(map, key)).toBe(3);
    expect(map.updateSys(key, u32le(4), BPF_UPDATE.ANY)).toBe(0);
    expect(lookupSys(map, key)).toBe(4);
    expect(map.size).toBe(1);
    // Delete is exact: a longer or shorter prefix of the same data is another key.
    expect(map.deleteSys(v4('10.0.0.0', 16))).toBe(-Errno.ENOENT);
    expect(map.deleteSys(v4('10.0.0.0', 7))).toBe(-Errno.ENOENT);
    expect(map.deleteSys(key)).toBe(0);
    expect(map.deleteSys(key)).toBe(-Errno.ENOENT);
    expect(lookupSys(map, key)).toBe(-Errno.ENOENT);
    expect(map.lookupSys(key, new Uint8Array(4), BPF_UPDATE.F_LOCK)).toBe(-Errno.EINVAL);
    expect(map.lookupAndDeleteSys(key, new Uint8Array(4), 0)).toBe(-ENOTSUPP);
    map.free();
  });

  it('is full at max_entries: a new prefix gets ENOSPC, an existing one still updates', () => {
    const env = mapTestEnv();
    const map = trie(env, { maxEntries: 3 });
    for (let i = 0; i < 3; i++) expect(map.updateSys(v4(`10.${i}.0.0`, 16), u32le(i), 0)).toBe(0);
    expect(map.updateSys(v4('10.9.0.0', 16), u32le(9), 0)).toBe(-Errno.ENOSPC);
    expect(map.updateSys(v4('10.0.0.0', 8), u32le(9), 0)).toBe(-Errno.ENOSPC);
    expect(map.updateSys(v4('10.1.0.0', 16), u32le(11), BPF_UPDATE.ANY)).toBe(0);
    expect(lookupSys(map, v4('10.1.0.1', 32))).toBe(11);
    // Turning an intermediate node into a prefix is a new entry too (10.0.0.0/15 holds 10.0/16 and 10.1/16).
    expect(map.updateSys(v4('10.0.0.0', 15), u32le(15), 0)).toBe(-Errno.ENOSPC);
    expect(map.deleteSys(v4('10.2.0.0', 16))).toBe(0);
    expect(map.updateSys(v4('10.0.0.0', 15), u32le(15), 0)).toBe(0);
    expect(map.size).toBe(3);
    map.free();
  });

  it('iterates in post-order, more specific prefixes first; a missing key restarts', () => {
    const env = mapTestEnv();
    const map = trie(env);
    // lpm_trie.c's example trie.
    for (const [address, len] of [
      ['192.168.0.0', 16],
      ['192.168.0.0', 24],
      ['192.168.1.0', 24],
      ['192.168.128.0', 24],
    ] as const)
      expect(map.updateSys(v4(address, len), u32le(len), 0)).toBe(0);
    expect(iterate(map)).toEqual(['192.168.0.0/24', '192.168.1.0/24', '192.168.128.0/24', '192.168.0.0/16']);
    const next = new Uint8Array(8);
    expect(map.getNextKey(v4('192.168.0.0', 16), next)).toBe(-Errno.ENOENT);
    for (const missing of [v4('1.2.3.4', 32), v4('192.168.0.0', 23), v4('192.168.0.0', 33)]) {
      expect(map.getNextKey(missing, next)).toBe(0);
      expect([...next]).toEqual([...v4('192.168.0.0', 24)]);
    }
    // After deletes the walk still covers every prefix once.
    expect(map.deleteSys(v4('192.168.0.0', 16))).toBe(0);
    expect(map.deleteSys(v4('192.168.1.0', 24))).toBe(0);
    expect(iterate(map)).toEqual(['192.168.0.0/24', '192.168.128.0/24']);
    expect(map.deleteSys(v4('192.168.0.0', 24))).toBe(0);
    expect(map.deleteSys(v4('192.168.128.0', 24))).toBe(0);
    expect(map.getNextKey(null, next)).toBe(-Errno.ENOENT);
    map.free();
  });
});

describe('LPM_TRIE from programs', () => {
  it('lookup gives the value in kernel memory, which the program writes in place', () => {
    const env = mapTestEnv();
    const map = trie(env);
    expect(map.update(env.put(v4('10.0.0.0', 8)), env.put(u32le(7), 64), BPF_UPDATE.ANY, 0)).toBe(0);
    const value = map.lookup(env.put(v4('10.20.30.40', 32)));
    expect(value).toBeGreaterThan(0);
    expect(value % 8).toBe(0);
    expect(env.phys.view.getUint32(value, true)).toBe(7);
    env.phys.view.setUint32(value, 99, true);
    expect(lookupSys(map, v4('10.0.0.0', 8))).toBe(99);
    expect(map.lookup(env.put(v4('11.0.0.0', 32)))).toBe(0);
    expect(map.delete(env.put(v4('10.0.0.0', 8)))).toBe(0);
    expect(map.lookup(env.put(v4('10.20.30.40', 32)))).toBe(0);
    map.free();
  });

  it('takes nodes from kernel memory as it grows and gives every byte back', () => {
    const env = mapTestEnv();
    const before = env.phys.usage().map((charge) => ({ ...charge }));
    const map = trie(env, { maxEntries: 4000, valueSize: 64 });
    expect(env.phys.usageOf(map.owner).bytes).toBe(0);
    for (let i = 0; i < 4000; i++) expect(map.updateSys(v4(`10.${i >> 8}.${i & 255}.0`, 24 + (i % 9)), new Uint8Array(64).fill(i & 255), 0)).toBe(0);
    expect(env.phys.usageOf(map.owner).bytes).toBeGreaterThan(4000 * 64);
    for (let i = 0; i < 4000; i += 2) expect(map.deleteSys(v4(`10.${i >> 8}.${i & 255}.0`, 24 + (i % 9)))).toBe(0);
    expect(map.size).toBe(2000);
    map.free();
    expect(env.phys.usageOf(map.owner)).toMatchObject({ bytes: 0, pages: 0, allocations: 0 });
    expect(env.phys.usage()).toEqual(before);
  });
});

describe('LPM_TRIE against a brute-force longest-prefix model', () => {
  type Prefix = { data: number; len: number };
  const bits = (value: number, len: number): number => (len === 0 ? 0 : (value >>> (16 - len)) & ((1 << len) - 1));
  /** A 2-byte-data key (16 bits): small enough that random prefixes overlap often. */
  const key16 = (data: number, len: number): Uint8Array => Uint8Array.of(len, 0, 0, 0, data >> 8, data & 255);
  const prefix = fc.record({ data: fc.integer({ min: 0, max: 0xffff }), len: fc.integer({ min: 0, max: 16 }) });
  type Op = { op: 'update'; p: Prefix; value: number } | { op: 'delete'; p: Prefix } | { op: 'lookup'; p: Prefix };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('update' as const), p: prefix, value: fc.integer({ min: 0, max: 0xffffffff }) }),
    fc.record({ op: fc.constant('delete' as const), p: prefix }),
    fc.record({ op: fc.constant('lookup' as const), p: prefix }),
  );

  it('lookups, updates, deletes and iteration agree with the model', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const env = mapTestEnv();
        const map = trie(env, { keySize: 6, maxEntries: 64 });
        /** Prefix `len:bits` → value. */
        const model = new Map<string, number>();
        const name = (p: Prefix): string => `${p.len}:${bits(p.data, p.len)}`;
        for (const step of ops) {
          const key = key16(step.p.data, step.p.len);
          if (step.op === 'update') {
            const rc = map.updateSys(key, u32le(step.value), BPF_UPDATE.ANY);
            if (!model.has(name(step.p)) && model.size === 64) expect(rc).toBe(-Errno.ENOSPC);
            else {
              expect(rc).toBe(0);
              model.set(name(step.p), step.value);
            }
          } else if (step.op === 'delete') {
            expect(map.deleteSys(key)).toBe(model.delete(name(step.p)) ? 0 : -Errno.ENOENT);
          } else {
            let expected: number = -Errno.ENOENT;
            for (let len = step.p.len; len >= 0; len--) {
              const value = model.get(`${len}:${bits(step.p.data, len)}`);
              if (value !== undefined) {
                expected = value;
                break;
              }
            }
            const out = new Uint8Array(4);
            const rc = map.lookupSys(key, out, 0);
            expect(rc === 0 ? readU32le(out) : rc).toBe(expected);
            expect(map.lookup(env.put(key)) !== 0).toBe(expected >= 0);
          }
          expect(map.size).toBe(model.size);
        }
        // get_next_key visits every prefix once.
        const seen: string[] = [];
        let cursor: Uint8Array | null = null;
        const next = new Uint8Array(6);
        while (map.getNextKey(cursor, next) === 0) {
          seen.push(name({ data: (next[4]! << 8) | next[5]!, len: next[0]! }));
          cursor = next.slice();
          expect(seen.length).toBeLessThanOrEqual(model.size);
        }
        expect(seen.sort()).toEqual([...model.keys()].sort());
        map.free();
        expect(env.phys.usageOf(map.owner).bytes).toBe(0);
      }),
      { numRuns: 150, seed: 7 },
    );
  });
});
