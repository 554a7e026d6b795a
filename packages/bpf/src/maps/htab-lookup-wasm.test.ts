import { BPF_MAP_F, BPF_MAP_TYPE } from '@ebpf-sim/uapi';
import { Prng } from '@ebpf-sim/kernel';
import { describe, expect, it } from 'vitest';
import { mapTestEnv } from '../testing/map-env.js';
import { HashTab } from './hashtab.js';
import { htabLookupFor, htabLookupModuleBytes } from './htab-lookup-wasm.js';
import { jhash } from './jhash.js';
import { HTAB_ELEM_SIZE } from './map.js';
import { createMap } from './registry.js';

describe('__htab_map_lookup_elem in WebAssembly', () => {
  it('is a valid module', () => {
    expect(new WebAssembly.Module(htabLookupModuleBytes())).toBeInstanceOf(WebAssembly.Module);
  });

  // Key sizes that take every path of the hash and the compare: a partial word only, whole words, the 12-byte
  // blocks with and without a tail, and a block boundary exactly.
  for (const keySize of [1, 3, 4, 8, 12, 13, 16, 24, 37]) {
    it(`finds the same element as the map's own lookup, keys of ${keySize} bytes (present, absent, unaligned)`, () => {
      const env = mapTestEnv({ nrCpus: 1 });
      const map = createMap({ mapType: BPF_MAP_TYPE.HASH, keySize, valueSize: 8, maxEntries: 64, mapFlags: 0, name: 'h' }, env);
      if (!(map instanceof HashTab)) throw new Error(`map: ${typeof map === 'number' ? map : map.typeName}`);
      const lookup = htabLookupFor(env.phys.memory);
      const random = new Prng(keySize);
      const keys: Uint8Array[] = [];
      for (let i = 0; i < 64; i++) {
        const key = Uint8Array.from({ length: keySize }, () => random.nextU32() & 0xff);
        keys.push(key);
        if (i < 48) expect(map.updateSys(key, new Uint8Array(8).fill(i), 0)).toBe(0);
      }
      let found = 0;
      for (const [i, key] of keys.entries()) {
        for (const offset of [0, 1, 3]) {
          const at = env.put(key, 64 + offset);
          const value = map.lookup(at, 0);
          const elem = lookup(map.kernelStruct(), at);
          expect(elem === 0 ? 0 : elem + HTAB_ELEM_SIZE + Math.ceil(keySize / 8) * 8).toBe(value);
          if (elem !== 0) found++;
          // The keys this test inserted (distinct with overwhelming likelihood) are exactly the ones found.
          expect(elem !== 0).toBe(i < 48 || keys.slice(0, 48).some((k) => k.every((b, j) => b === key[j])));
        }
      }
      expect(found).toBeGreaterThanOrEqual(48 * 3);
    });
  }

  it('hashes as jhash does with the seed (a one-bucket walk finds the element by hash and key)', () => {
    // With BPF_F_ZERO_SEED and one entry the chain is the single bucket's; the element's stored hash is jhash's.
    const env = mapTestEnv({ nrCpus: 1 });
    const map = createMap({ mapType: BPF_MAP_TYPE.HASH, keySize: 5, valueSize: 4, maxEntries: 1, mapFlags: BPF_MAP_F.ZERO_SEED, name: 'h' }, env);
    if (!(map instanceof HashTab)) throw new Error(`map: ${typeof map === 'number' ? map : map.typeName}`);
    const key = Uint8Array.of(1, 2, 3, 4, 5);
    expect(map.updateSys(key, new Uint8Array(4), 0)).toBe(0);
    const at = env.put(key);
    const elem = htabLookupFor(env.phys.memory)(map.kernelStruct(), at);
    expect(elem).not.toBe(0);
    expect(new DataView(env.phys.memory.buffer).getInt32(elem + 4, true)).toBe(jhash(key, 0, 5, 0) | 0);
  });
});
