/**
 * BPF_MAP_TYPE_BLOOM_FILTER, as Linux's kernel/bpf/bloom_filter.c: a bit array without keys. Pushing a value
 * sets `nr_hash_funcs` bits (jhash of the value with seed `hash_seed + i`); peeking tests them (0: maybe
 * present, -ENOENT: absent). map_extra's low 4 bits give nr_hash_funcs (0 means 5).
 *
 * bpf() maps MAP_UPDATE_ELEM to push (BPF_ANY only) and MAP_LOOKUP_ELEM to peek, with the value to test
 * copied in from user space (the syscall copies `value` into the buffer before calling {@link BpfMap.lookupSys}).
 * A program's lookup and update are EINVAL (it uses map_peek_elem/map_push_elem); pop, delete and get_next_key
 * are EOPNOTSUPP.
 */
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { jhash } from './jhash.js';
import { BPF_F_ACCESS_MASK, BpfMap, KMALLOC_MAX_SIZE, MAP_AREA_MAX, defineMapOps, mapFlagsAccessOk, type MapAttr, type MapEnv, type MapOps } from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** BLOOM_CREATE_FLAG_MASK (kernel/bpf/bloom_filter.c). */
const BLOOM_CREATE_FLAG_MASK = BPF_MAP_F.NUMA_NODE | BPF_MAP_F.ZERO_SEED | BPF_F_ACCESS_MASK;

/** nr_hash_funcs when map_extra leaves it 0. */
const DEFAULT_NR_HASH_FUNCS = 5;

/** BITS_PER_LONG on x86_64: the smallest bit array, and the unit its bytes are rounded to. */
const BITS_PER_LONG = 64;

const U32_MAX = 0xffffffff;

/** bloom_map_alloc_check. */
function bloomAllocCheck(attr: MapAttr): number {
  if (attr.valueSize > KMALLOC_MAX_SIZE) return -Errno.E2BIG;
  return 0;
}

/**
 * The bit array's size in bits minus one, as bloom_map_alloc computes it: max_entries × nr_hash_funcs × 7/5
 * (≈ 1/ln 2, the size that minimises false positives), at least BITS_PER_LONG, rounded up to a power of two;
 * 2^32 bits when that overflows a u32 or passes 2^31.
 */
export function bloomBitsetMask(maxEntries: number, nrHashFuncs: number): number {
  let nrBits = maxEntries * nrHashFuncs;
  if (nrBits > U32_MAX) return U32_MAX;
  nrBits = Math.floor(nrBits / 5) * 7;
  if (nrBits > U32_MAX || nrBits > 2 ** 31) return U32_MAX;
  if (nrBits <= BITS_PER_LONG) return BITS_PER_LONG - 1;
  let rounded = 1;
  while (rounded < nrBits) rounded *= 2;
  return rounded - 1;
}

/** A bloom filter: struct bpf_bloom_filter's bit array in kernel memory, its mask, hash count and seed. */
export class BloomFilter extends BpfMap {
  /** Physical address of the bit array. */
  readonly base: number;
  readonly nrHashFuncs: number;
  /** Bits in the array minus one (a power of two minus one). */
  readonly bitsetMask: number;
  private readonly hashSeed: number;
  override readonly lookupTestsValue = true;

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, base: number, nrHashFuncs: number, bitsetMask: number) {
    super(ops, attr, env, owner, attr.maxEntries, false);
    this.base = base;
    this.nrHashFuncs = nrHashFuncs;
    this.bitsetMask = bitsetMask;
    this.hashSeed = (attr.mapFlags & BPF_MAP_F.ZERO_SEED) !== 0 ? 0 : env.random.nextU32() >>> 0;
  }

  /** hash(): jhash2 for whole words, jhash otherwise (the same function on little-endian bytes), masked. */
  private bit(src: Uint8Array, off: number, index: number): number {
    return jhash(src, off, this.valueSize, (this.hashSeed + index) >>> 0) & this.bitsetMask;
  }

  /** bloom_map_peek_elem: 0 when every bit is set (maybe present), else -ENOENT. */
  private test(src: Uint8Array, off: number): number {
    for (let i = 0; i < this.nrHashFuncs; i++) {
      const h = this.bit(src, off, i) >>> 0;
      if ((this.bytes[this.base + Math.floor(h / 8)]! & (1 << (h & 7))) === 0) return -Errno.ENOENT;
    }
    return 0;
  }

  /** bloom_map_push_elem: only BPF_ANY. */
  private add(src: Uint8Array, off: number, flags: number): number {
    if (flags !== BPF_UPDATE.ANY) return -Errno.EINVAL;
    for (let i = 0; i < this.nrHashFuncs; i++) {
      const h = this.bit(src, off, i) >>> 0;
      this.bytes[this.base + Math.floor(h / 8)]! |= 1 << (h & 7);
    }
    return 0;
  }

  /** bloom_map_lookup_elem: a program uses map_peek_elem instead (Linux returns ERR_PTR(-EINVAL), never a value). */
  lookup(): number {
    return 0;
  }

  override push(valueAddr: number, flags: number): number {
    return this.add(this.bytes, valueAddr, flags);
  }

  override peek(valueAddr: number): number {
    return this.test(this.bytes, valueAddr);
  }

  /** bloom_map_pop_elem. */
  override pop(_valueAddr: number): number {
    return -Errno.EOPNOTSUPP;
  }

  /** bpf_map_update_value: MAP_UPDATE_ELEM on a bloom filter is map_push_elem. */
  override updateSys(_key: Uint8Array, value: Uint8Array, flags: number): number {
    // map_update_elem: BPF_F_LOCK needs a spin lock, which a bloom filter never has.
    if ((flags & BPF_UPDATE.F_LOCK) !== 0) return -Errno.EINVAL;
    return this.add(value, 0, flags);
  }

  /** MAP_LOOKUP_ELEM: `out` holds the value to test (copied from user space); map_peek_elem. */
  protected copyOut(_key: Uint8Array, out: Uint8Array): number {
    return this.test(out, 0);
  }

  /** bloom_map_update_elem: a program uses map_push_elem instead. */
  protected updateElem(): number {
    return -Errno.EINVAL;
  }

  /** bloom_map_delete_elem. */
  protected deleteElem(): number {
    return -Errno.EOPNOTSUPP;
  }

  /** bloom_map_get_next_key. */
  getNextKey(_key: Uint8Array | null, _next: Uint8Array): number {
    return -Errno.EOPNOTSUPP;
  }

  /** bloom_map_mem_usage: the struct and the bit array, rounded up to longs. */
  memUsage(): number {
    const bytes = Math.ceil((this.bitsetMask + 1) / 8);
    return K.bpf_bloom_filter + Math.ceil(bytes / 8) * 8;
  }

  free(): void {
    this.mem.kfree(this.base);
  }
}

/** bloom_map_alloc: the attribute checks Linux makes here, then a zeroed bit array of whole longs. */
function bloomAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const mapExtra = attr.mapExtra ?? 0;
  if (attr.keySize !== 0 || attr.valueSize === 0 || attr.maxEntries === 0) return -Errno.EINVAL;
  if ((attr.mapFlags & ~BLOOM_CREATE_FLAG_MASK) !== 0 || !mapFlagsAccessOk(attr.mapFlags)) return -Errno.EINVAL;
  // The low 4 bits of map_extra are the number of hash functions; nothing else may be set.
  if (mapExtra < 0 || mapExtra > 0xf || !Number.isInteger(mapExtra)) return -Errno.EINVAL;
  const nrHashFuncs = mapExtra === 0 ? DEFAULT_NR_HASH_FUNCS : mapExtra;
  const bitsetMask = bloomBitsetMask(attr.maxEntries, nrHashFuncs);
  // BITS_TO_BYTES(mask + 1), rounded up to whole longs.
  const bytes = Math.ceil((bitsetMask + 1) / BITS_PER_LONG) * (BITS_PER_LONG / 8);
  if (bytes >= MAP_AREA_MAX) return -Errno.ENOMEM;
  const base = env.phys.kmalloc(bytes, owner);
  if (base < 0) return -Errno.ENOMEM;
  env.phys.bytes.fill(0, base, base + bytes);
  return new BloomFilter(ops, attr, env, owner, base, nrHashFuncs, bitsetMask);
}

export const BLOOM_FILTER_OPS = defineMapOps(BPF_MAP_TYPE.BLOOM_FILTER, 'bloom_filter', false, bloomAllocCheck, bloomAlloc);
