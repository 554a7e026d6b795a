/**
 * BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH, as Linux's kernel/bpf/hashtab.c.
 *
 * Everything lives in kernel memory, charged to the map's owner: the bucket array (`n_buckets` =
 * roundup_pow_of_two(max_entries) buckets of sizeof(struct bucket) = 16 bytes, the first word the head of the
 * bucket's chain) and the elements. An element is laid out as Linux's `struct htab_elem`: a header of
 * {@link HTAB_ELEM_SIZE} bytes (here: chain next, hash, LRU links), the key at that offset, the value at
 * round_up(key_size, 8) after it; a per-CPU element holds nr_cpus value slots of round_up(value_size, 8) bytes
 * inline (Linux points to a per-CPU area instead). Keys are hashed with jhash straight from memory, so a
 * program's lookup allocates nothing. New elements go to the head of their bucket, and get_next_key walks
 * buckets in order and each chain from its head, as Linux does.
 *
 * Preallocated maps (the default) take all max_entries elements at creation; with BPF_F_NO_PREALLOC elements
 * are taken from the kernel in chunks of about 64 KiB as the map fills, and a deleted element goes back to the
 * map's free list rather than to the kernel until the map is freed (Linux's bpf_mem_alloc also caches freed
 * elements per CPU).
 *
 * LRU: Linux's LRU (kernel/bpf/bpf_lru_list.c) is approximate. Elements sit on active and inactive lists, a
 * lookup only sets a reference bit, and elements are taken from and evicted to per-CPU free lists in batches,
 * so Linux may evict before the map is full and not always the least recently used element. Here the list is
 * exact: a program's lookup and every update move the element to the head, and inserting into a full map (with
 * BPF_F_NO_COMMON_LRU: into the updating CPU's full list of max_entries / nr_cpus elements) evicts the tail.
 * User-space lookups are not a use (Linux's htab_lru_map_lookup_elem_sys sets no reference bit). Linux takes
 * the new element, evicting if it must, before it checks BPF_NOEXIST/BPF_EXIST; here a refused update evicts
 * nothing.
 */
import { AluOp, Class, JmpOp, Mode, Size, type RawInsn } from '@ebpf-sim/isa';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, CAP, Errno } from '@ebpf-sim/uapi';
import type { InsnPatch, MapDesc } from '@ebpf-sim/verifier';
import { HTAB_STRUCT } from './htab-lookup-wasm.js';
import { jhash, jhash2 } from './jhash.js';
import { innerMapGet, innerMapMetaAlloc, type InnerMapMeta } from './map_in_map.js';
import { freeElemTimer } from '../helpers/timer.js';
import {
  aluImm,
  BPF_F_ACCESS_MASK,
  BpfMap,
  defineMapOps,
  ENOTSUPP,
  HTAB_ELEM_SIZE,
  jmpImm,
  KMALLOC_MAX_SIZE,
  MAP_AREA_MAX,
  mapFlagsAccessOk,
  PCPU_MIN_UNIT_SIZE,
  readU32,
  round8,
  updateFlagsInvalid,
  type FdRef,
  type MapAttr,
  type MapFdObjects,
  type MapEnv,
  type MapOps,
} from './map.js';
import { HASHTAB_MAP_LOCK_COUNT, KERNEL_SIZEOF as K } from './mem-usage.js';

/** Value areas up to this many 32-bit words are zeroed with inline stores when an element is made. */
const INLINE_ZERO_WORDS = 16;

/**
 * The immediate of the xlated `call __htab_map_lookup_elem` (htab_map_gen_lookup's BPF_EMIT_CALL). Linux's is
 * the function's offset from __bpf_call_base, which differs per kernel build; this kernel's functions have no
 * such address, so the kernel function gets a fixed number past every helper id (__BPF_FUNC_MAX_ID is 212).
 * JIT code calls it as WebAssembly (htab-lookup-wasm.ts), the interpreter through the helper table.
 */
export const HTAB_LOOKUP_ELEM_CALL = 0x10000;
/** Its name, as the xlated dump prints it. */
export const HTAB_LOOKUP_ELEM_NAME = '__htab_map_lookup_elem';

/** HTAB_CREATE_FLAG_MASK (kernel/bpf/hashtab.c). */
const HTAB_CREATE_FLAG_MASK = BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.NO_COMMON_LRU | BPF_MAP_F.NUMA_NODE | BPF_F_ACCESS_MASK | BPF_MAP_F.ZERO_SEED;

/** sizeof(struct bucket): an hlist_nulls_head and a spin lock, padded. */
const BUCKET_SIZE = 16;
const U32_MAX = 0xffffffff;
/** Bytes of elements a map without preallocation takes from the kernel at a time. */
const NO_PREALLOC_CHUNK_BYTES = 64 << 10;

/** Header words of an element (u32 index from address / 4). */
const E_NEXT = 0;
const E_HASH = 1;
const E_LRU_PREV = 2;
const E_LRU_NEXT = 3;
const E_LRU_LIST = 4;
/** Word of the element where its key starts. */
const KEY_WORD = HTAB_ELEM_SIZE >>> 2;

const isPercpu = (type: number): boolean => type === BPF_MAP_TYPE.PERCPU_HASH || type === BPF_MAP_TYPE.LRU_PERCPU_HASH;
const isLru = (type: number): boolean => type === BPF_MAP_TYPE.LRU_HASH || type === BPF_MAP_TYPE.LRU_PERCPU_HASH;

/** htab_map_alloc_check, in Linux's order. */
function htabAllocCheck(attr: MapAttr, env: MapEnv): number {
  const flags = attr.mapFlags;
  const percpu = isPercpu(attr.mapType);
  const lru = isLru(attr.mapType);
  // percpu_lru: each CPU has its own LRU list (unrelated to per-CPU values).
  const percpuLru = (flags & BPF_MAP_F.NO_COMMON_LRU) !== 0;
  const prealloc = (flags & BPF_MAP_F.NO_PREALLOC) === 0;
  const numa = (flags & BPF_MAP_F.NUMA_NODE) !== 0;
  // A zero seed makes bucket collisions predictable: root only (guard against local DoS).
  if ((flags & BPF_MAP_F.ZERO_SEED) !== 0 && !env.capable(CAP.SYS_ADMIN)) return -Errno.EPERM;
  if ((flags & ~HTAB_CREATE_FLAG_MASK) !== 0 || !mapFlagsAccessOk(flags)) return -Errno.EINVAL;
  if (!lru && percpuLru) return -Errno.EINVAL;
  if (lru && !prealloc) return -ENOTSUPP;
  if (numa && (percpu || percpuLru)) return -Errno.EINVAL;
  if (attr.maxEntries === 0 || attr.keySize === 0 || attr.valueSize === 0) return -Errno.EINVAL;
  // Larger elements could not be copied through the bpf syscall, nor kmalloc'd.
  if (attr.keySize + attr.valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) return -Errno.E2BIG;
  if (percpu && round8(attr.valueSize) > PCPU_MIN_UNIT_SIZE) return -Errno.E2BIG;
  return 0;
}

/** A hash table map of any of the four hash types. */
export class HashTab extends BpfMap {
  private readonly u32: Uint32Array;
  /** The same memory as signed words: hashes are compared as int32, which V8 keeps unboxed. */
  private readonly i32: Int32Array;
  private readonly percpu: boolean;
  private readonly lru: boolean;
  private readonly percpuLru: boolean;
  private readonly nrCpus: number;
  private readonly hashrnd: number;
  /** key_size / 4 when the key is whole u32 words (htab_map_hash then uses jhash2), else 0. */
  private readonly keyWords: number;
  /** Physical address of the bucket array, and its index mask (n_buckets - 1). */
  private readonly buckets: number;
  private readonly bucketMask: number;
  /** Bytes of one element, the value's offset in it, and one value slot (round_up(value_size, 8)). */
  private readonly elemSize: number;
  protected readonly valueOff: number;
  private readonly valueSlot: number;
  private readonly valueBytes: number;
  private readonly chunkElems: number;
  private readonly chunks: number[] = [];
  private freeHead = 0;
  private count = 0;
  /** LRU lists (one, or one per CPU with BPF_F_NO_COMMON_LRU): head (most recent), tail, length. */
  private readonly lruHead: Float64Array;
  private readonly lruTail: Float64Array;
  private readonly lruCount: Int32Array;
  private readonly lruListCap: number;

  /** The map's struct (its kernel address), {@link HTAB_STRUCT}, and the bucket array after it in one allocation. */
  private readonly struct: number;

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, maxEntries: number, struct: number, nBuckets: number) {
    const percpu = isPercpu(attr.mapType);
    super(ops, attr, env, owner, maxEntries, percpu);
    const buckets = struct + HTAB_STRUCT.size;
    this.struct = struct;
    this.u32 = new Uint32Array(env.phys.memory.buffer);
    this.i32 = new Int32Array(env.phys.memory.buffer);
    this.percpu = percpu;
    this.lru = isLru(attr.mapType);
    this.percpuLru = (attr.mapFlags & BPF_MAP_F.NO_COMMON_LRU) !== 0;
    this.nrCpus = env.nrCpus;
    this.hashrnd = (attr.mapFlags & BPF_MAP_F.ZERO_SEED) !== 0 ? 0 : env.random.nextU32() >>> 0;
    this.keyWords = attr.keySize % 4 === 0 ? attr.keySize / 4 : 0;
    this.buckets = buckets;
    this.bucketMask = nBuckets - 1;
    this.valueOff = HTAB_ELEM_SIZE + round8(attr.keySize);
    this.valueSlot = round8(attr.valueSize);
    this.valueBytes = percpu ? this.valueSlot * env.nrCpus : this.valueSlot;
    this.elemSize = this.valueOff + this.valueBytes;
    const prealloc = (attr.mapFlags & BPF_MAP_F.NO_PREALLOC) === 0;
    this.chunkElems = prealloc ? maxEntries : Math.min(maxEntries, Math.max(1, Math.floor(NO_PREALLOC_CHUNK_BYTES / this.elemSize)));
    const lists = this.percpuLru ? env.nrCpus : 1;
    this.lruHead = new Float64Array(lists);
    this.lruTail = new Float64Array(lists);
    this.lruCount = new Int32Array(lists);
    this.lruListCap = this.percpuLru ? maxEntries / env.nrCpus : maxEntries;
    const w = struct >>> 2;
    this.u32[w + (HTAB_STRUCT.buckets >>> 2)] = buckets;
    this.u32[w + (HTAB_STRUCT.bucketMask >>> 2)] = this.bucketMask;
    this.u32[w + (HTAB_STRUCT.hashrnd >>> 2)] = this.hashrnd;
    this.u32[w + (HTAB_STRUCT.keySize >>> 2)] = attr.keySize;
  }

  /** The struct before the buckets: the map's kernel address, which __htab_map_lookup_elem reads. */
  override kernelStruct(): number {
    return this.struct;
  }

  /**
   * htab_map_gen_lookup: `call __htab_map_lookup_elem; if r0 == 0 goto +1; r0 += offset of the value` (r1 the
   * map, r2 the key, as the helper had them). Only the plain HASH here (HASH_OF_MAPS has its own): Linux's LRU
   * form sets the element's reference bit, where this LRU moves the element to the head of its list (the
   * helper does that), and per-CPU values need Linux's per-CPU address instruction, which this ISA lacks.
   */
  override genLookup(): InsnPatch | null {
    return this.type === BPF_MAP_TYPE.HASH ? { insns: this.lookupToValue(1) } : null;
  }

  /** The call and the step to the value of {@link genLookup}, the NULL test jumping `skip` instructions. */
  protected lookupToValue(skip: number): RawInsn[] {
    return [
      { code: Class.JMP | JmpOp.CALL, dst: 0, src: 0, off: 0, imm: HTAB_LOOKUP_ELEM_CALL },
      jmpImm(JmpOp.JEQ, 0, 0, skip),
      aluImm(Class.ALU64, AluOp.ADD, 0, this.valueOff),
    ];
  }

  /** Elements in the map. */
  get size(): number {
    return this.count;
  }

  /** htab_map_lookup_elem (htab_lru_map_lookup_elem marks a use; per-CPU maps give this CPU's slot). */
  lookup(keyAddr: number, cpu: number): number {
    const e = this.keyWords !== 0 && (keyAddr & 3) === 0 ? this.findWords(keyAddr >>> 2) : this.find(this.bytes, keyAddr, this.hash(this.bytes, keyAddr));
    if (e === 0) return 0;
    if (this.lru) this.touch(e);
    return e + this.valueOff + (this.percpu ? cpu * this.valueSlot : 0);
  }

  /**
   * bpf_for_each_hash_elem: bucket by bucket, each chain from its head; the key is the element's own, the
   * value this CPU's slot. No LRU use is marked (Linux's walk sets no reference bit).
   */
  override forEachElem(cpu: number, _keyScratch: number, visit: (keyAddr: number, valueAddr: number) => boolean): number {
    const u32 = this.u32;
    const base = this.buckets >>> 2;
    const slot = this.percpu ? cpu * this.valueSlot : 0;
    let visited = 0;
    for (let bucket = 0; bucket <= this.bucketMask; bucket++) {
      // The next element is read before the visit (hlist_nulls_for_each_entry_safe): the callback may delete this one.
      for (let e = u32[base + bucket * (BUCKET_SIZE >>> 2)]!, next = 0; e !== 0; e = next) {
        next = u32[(e >>> 2) + E_NEXT]!;
        visited++;
        if (visit(e + HTAB_ELEM_SIZE, e + this.valueOff + slot)) return visited;
      }
    }
    return visited;
  }

  /** htab_map_update_elem and its per-CPU and LRU variants. */
  protected updateElem(keySrc: Uint8Array, keyOff: number, valSrc: Uint8Array, valOff: number, flags: number, cpu: number, allCpus: boolean): number {
    // Only the plain hash takes BPF_F_LOCK; the others refuse any flag above BPF_EXIST.
    if (updateFlagsInvalid(flags, !this.percpu && !this.lru)) return -Errno.EINVAL;
    if ((flags & BPF_UPDATE.F_LOCK) !== 0 && this.spinLockOff < 0) return -Errno.EINVAL;
    const hash = this.hash(keySrc, keyOff);
    const old = this.find(keySrc, keyOff, hash);
    const op = flags & ~BPF_UPDATE.F_LOCK;
    // check_flags
    if (old !== 0 && op === BPF_UPDATE.NOEXIST) return -Errno.EEXIST;
    if (old === 0 && op === BPF_UPDATE.EXIST) return -Errno.ENOENT;
    if (old !== 0) {
      // Linux links a new element and frees the old one, and its timer with it (free_htab_elem).
      if (this.timerOff >= 0 && (flags & BPF_UPDATE.F_LOCK) === 0 && !this.percpu) freeElemTimer(this, old + this.valueOff);
      this.writeValue(old, valSrc, valOff, cpu, allCpus);
      // BPF_F_LOCK updates in place; otherwise Linux links a fresh copy at the head of the bucket (per-CPU
      // maps update their slots in place).
      if ((flags & BPF_UPDATE.F_LOCK) === 0 && !this.percpu) {
        this.unlinkBucket(old, hash);
        this.linkBucket(old, hash);
      }
      if (this.lru) this.touch(old);
      return 0;
    }
    const list = this.percpuLru ? cpu : 0;
    const e = this.lru ? this.takeLru(list) : this.take();
    if (e < 0) return e;
    const w = e >>> 2;
    this.u32[w + E_HASH] = hash;
    this.copyRange(e + HTAB_ELEM_SIZE, keySrc, keyOff, this.keySize);
    // A new element starts zeroed (its other CPUs' slots, its spin lock, its padding). The value area is whole
    // 8-byte words from a word-aligned element (e = w * 4): a small one is cleared with word stores, which
    // TurboFan inlines, where TypedArray.prototype.fill is a builtin call costing more than the stores.
    const from = w + (this.valueOff >>> 2);
    const to = w + (this.elemSize >>> 2);
    if (to - from <= INLINE_ZERO_WORDS) for (let word = from; word < to; word++) this.u32[word] = 0;
    else this.bytes.fill(0, e + this.valueOff, e + this.elemSize);
    this.writeValue(e, valSrc, valOff, cpu, allCpus);
    this.linkBucket(e, hash);
    if (this.lru) this.lruPush(e, list);
    this.count++;
    return 0;
  }

  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const hash = this.hash(keySrc, keyOff);
    const e = this.find(keySrc, keyOff, hash);
    if (e === 0) return -Errno.ENOENT;
    this.remove(e, hash);
    this.release(e);
    return 0;
  }

  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    const e = this.find(key, 0, this.hash(key, 0));
    if (e === 0) return -Errno.ENOENT;
    this.copyValueOut(e, out);
    return 0;
  }

  /** __htab_map_lookup_and_delete_elem. */
  override lookupAndDeleteSys(key: Uint8Array, out: Uint8Array, flags: number): number {
    const bad = this.lookupFlagsCheck(flags);
    if (bad !== 0) return bad;
    const hash = this.hash(key, 0);
    const e = this.find(key, 0, hash);
    if (e === 0) return -Errno.ENOENT;
    this.copyValueOut(e, out);
    this.remove(e, hash);
    this.release(e);
    return 0;
  }

  // --- htab's batch ops (syscall/map-batch.ts): the token is a bucket index ---

  /** n_buckets. */
  get bucketCount(): number {
    return this.bucketMask + 1;
  }

  /** The elements of `bucket` in chain order (head first) into `out`, which is emptied first. */
  bucketElems(bucket: number, out: number[]): void {
    out.length = 0;
    for (let e = this.u32[(this.buckets >>> 2) + bucket * (BUCKET_SIZE >>> 2)]!; e !== 0; e = this.u32[(e >>> 2) + E_NEXT]!) out.push(e);
  }

  /** Element `e`'s key to `keys` at `keyOff` and its value as user space reads it (every CPU's slot) to `values` at `valueOff`. */
  batchCopy(e: number, keys: Uint8Array, keyOff: number, values: Uint8Array, valueOff: number): void {
    keys.set(this.bytes.subarray(e + HTAB_ELEM_SIZE, e + HTAB_ELEM_SIZE + this.keySize), keyOff);
    const value = e + this.valueOff;
    if (!this.percpu) this.copyToUser(values, valueOff, value, this.valueSize);
    else for (let c = 0; c < this.nrCpus; c++) this.copyToUser(values, valueOff + c * this.valueSlot, value + c * this.valueSlot, this.valueSlot);
  }

  /** Delete element `e`, which the batch just copied. */
  batchDelete(e: number): void {
    this.remove(e, this.u32[(e >>> 2) + E_HASH]!);
    this.release(e);
  }

  /** The element holding the key at (src, off), or 0. */
  protected elemOf(src: Uint8Array, off: number): number {
    return this.find(src, off, this.hash(src, off));
  }

  /** htab_map_get_next_key: the next element in the key's chain, else the first of a later bucket; a missing key restarts. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    let bucket = 0;
    if (key !== null) {
      const hash = this.hash(key, 0);
      const e = this.find(key, 0, hash);
      if (e !== 0) {
        const after = this.u32[(e >>> 2) + E_NEXT]!;
        if (after !== 0) return this.copyKey(after, next);
        bucket = (hash & this.bucketMask) + 1;
      }
    }
    const base = this.buckets >>> 2;
    for (; bucket <= this.bucketMask; bucket++) {
      const head = this.u32[base + bucket * (BUCKET_SIZE >>> 2)]!;
      if (head !== 0) return this.copyKey(head, next);
    }
    return -Errno.ENOENT;
  }

  /**
   * htab_map_mem_usage: the struct, the buckets, the per-CPU lock counters; then a preallocated map's every element
   * (plus one extra per CPU for a plain hash) with its per-CPU values, or the elements in use now with their
   * llist nodes.
   */
  memUsage(): number {
    const cpus = this.nrCpus;
    const valueSlot = round8(this.valueSize);
    const elemSize = K.htab_elem + round8(this.keySize) + (this.percpu ? K.pointer : valueSlot);
    let usage = K.bpf_htab + K.htab_bucket * (this.bucketMask + 1) + 4 * cpus * HASHTAB_MAP_LOCK_COUNT;
    if ((this.mapFlags & BPF_MAP_F.NO_PREALLOC) === 0) {
      // htab_has_extra_elems: a plain (not per-CPU, LRU or fd) hash keeps one spare element per CPU.
      const entries = this.maxEntries + (!this.percpu && !this.lru && !this.holdsFds ? cpus : 0);
      usage += elemSize * entries;
      if (this.percpu) usage += valueSlot * cpus * entries;
      else if (!this.lru) usage += K.pointer * cpus;
      return usage;
    }
    usage += (elemSize + K.llist_node) * this.count;
    if (this.percpu) usage += (K.llist_node + K.pointer) * this.count + valueSlot * cpus * this.count;
    return usage;
  }

  /** An fd hash (HASH_OF_MAPS) keeps no extra elements. */
  protected get holdsFds(): boolean {
    return false;
  }

  free(): void {
    for (const chunk of this.chunks) this.mem.kfree(chunk);
    this.chunks.length = 0;
    this.mem.kfree(this.struct);
  }

  /** Take elements from the kernel: all of them for a preallocated map, a chunk otherwise. 0, or -ENOMEM. */
  grow(): number {
    const size = this.chunkElems * this.elemSize;
    const chunk = size >= MAP_AREA_MAX ? -1 : this.mem.kmalloc(size, this.owner);
    if (chunk < 0) return -Errno.ENOMEM;
    this.chunks.push(chunk);
    for (let i = this.chunkElems - 1; i >= 0; i--) this.release(chunk + i * this.elemSize);
    return 0;
  }

  /**
   * htab_map_hash, as a signed int32 (compared with the element's hash word through `i32`): jhash2 over the key's
   * words when key_size is a multiple of 4, else jhash over its bytes. Both give the same value, so a key in
   * kernel memory at a 4-byte-aligned address (a program's) is hashed by word, and any other (user space's copy,
   * an unaligned stack slot) by byte.
   */
  private hash(src: Uint8Array, off: number): number {
    return this.keyWords !== 0 && src === this.bytes && (off & 3) === 0
      ? jhash2(this.u32, off >>> 2, this.keyWords, this.hashrnd)
      : jhash(src, off, this.keySize, this.hashrnd) | 0;
  }

  /**
   * {@link find} for a key of whole words in kernel memory at word index `key` (a program's lookup): hashed with
   * jhash2 and compared word by word.
   */
  private findWords(key: number): number {
    const u32 = this.u32;
    const words = this.keyWords;
    const hash = jhash2(u32, key, words, this.hashrnd);
    let e = u32[this.bucketWord(hash)]!;
    while (e !== 0) {
      const w = e >>> 2;
      if (this.i32[w + E_HASH] === hash) {
        let i = 0;
        while (i < words && u32[w + KEY_WORD + i] === u32[key + i]) i++;
        if (i === words) return e;
      }
      e = u32[w + E_NEXT]!;
    }
    return 0;
  }

  private find(src: Uint8Array, off: number, hash: number): number {
    const u32 = this.u32;
    let e = u32[(this.buckets >>> 2) + (hash & this.bucketMask) * (BUCKET_SIZE >>> 2)]!;
    while (e !== 0) {
      if (this.i32[(e >>> 2) + E_HASH] === hash && this.keyEquals(e + HTAB_ELEM_SIZE, src, off)) return e;
      e = u32[(e >>> 2) + E_NEXT]!;
    }
    return 0;
  }

  private keyEquals(at: number, src: Uint8Array, off: number): boolean {
    const bytes = this.bytes;
    const size = this.keySize;
    // Keys are stored 8-byte aligned; compare whole words while both sides allow it.
    let i = 0;
    if (src === bytes && (off & 3) === 0) {
      const u32 = this.u32;
      for (const words = size >>> 2; i < words; i++) if (u32[(at >>> 2) + i] !== u32[(off >>> 2) + i]) return false;
      i <<= 2;
    }
    for (; i < size; i++) if (bytes[at + i] !== src[off + i]) return false;
    return true;
  }

  private copyKey(e: number, next: Uint8Array): number {
    next.set(this.bytes.subarray(e + HTAB_ELEM_SIZE, e + HTAB_ELEM_SIZE + this.keySize));
    return 0;
  }

  private copyValueOut(e: number, out: Uint8Array): void {
    const value = e + this.valueOff;
    if (!this.percpu) this.copyToUser(out, 0, value, this.valueSize);
    else for (let c = 0; c < this.nrCpus; c++) this.copyToUser(out, c * this.valueSlot, value + c * this.valueSlot, this.valueSlot);
  }

  /** A program writes value_size bytes into its CPU's slot; user space writes every CPU's 8-byte-rounded slot. */
  private writeValue(e: number, src: Uint8Array, off: number, cpu: number, allCpus: boolean): void {
    const value = e + this.valueOff;
    if (!this.percpu) this.copyIn(value, src, off, this.valueSize);
    else if (!allCpus) this.copyIn(value + cpu * this.valueSlot, src, off, this.valueSize);
    else for (let c = 0; c < this.nrCpus; c++) this.copyIn(value + c * this.valueSlot, src, off + c * this.valueSlot, this.valueSlot);
  }

  private bucketWord(hash: number): number {
    return (this.buckets >>> 2) + (hash & this.bucketMask) * (BUCKET_SIZE >>> 2);
  }

  private linkBucket(e: number, hash: number): void {
    const head = this.bucketWord(hash);
    this.u32[(e >>> 2) + E_NEXT] = this.u32[head]!;
    this.u32[head] = e;
  }

  private unlinkBucket(e: number, hash: number): void {
    const u32 = this.u32;
    let link = this.bucketWord(hash);
    while (u32[link] !== e) link = (u32[link]! >>> 2) + E_NEXT;
    u32[link] = u32[(e >>> 2) + E_NEXT]!;
  }

  /** Unlink a live element from its bucket (and LRU list). */
  private remove(e: number, hash: number): void {
    this.unlinkBucket(e, hash);
    if (this.lru) this.lruUnlink(e);
    this.count--;
  }

  /** Put an element on the free list (its value's bpf_timer, if any, is cancelled and freed first). */
  private release(e: number): void {
    if (this.timerOff >= 0) freeElemTimer(this, e + this.valueOff);
    this.u32[(e >>> 2) + E_NEXT] = this.freeHead;
    this.freeHead = e;
  }

  /** An element for a new key of a hash map: -E2BIG when full, -ENOMEM when the kernel has no chunk to give. */
  private take(): number {
    if (this.count >= this.maxEntries) return -Errno.E2BIG;
    if (this.freeHead === 0 && this.grow() < 0) return -Errno.ENOMEM;
    const e = this.freeHead;
    this.freeHead = this.u32[(e >>> 2) + E_NEXT]!;
    return e;
  }

  /** An element for a new key of an LRU map: a free one, or the least recently used of `list` when full. */
  private takeLru(list: number): number {
    const full = this.percpuLru ? this.lruCount[list]! >= this.lruListCap : this.freeHead === 0;
    if (!full) {
      const e = this.freeHead;
      this.freeHead = this.u32[(e >>> 2) + E_NEXT]!;
      return e;
    }
    const victim = this.lruTail[list]!;
    this.remove(victim, this.u32[(victim >>> 2) + E_HASH]!);
    return victim;
  }

  private lruPush(e: number, list: number): void {
    const w = e >>> 2;
    const head = this.lruHead[list]!;
    this.u32[w + E_LRU_LIST] = list;
    this.u32[w + E_LRU_PREV] = 0;
    this.u32[w + E_LRU_NEXT] = head;
    if (head !== 0) this.u32[(head >>> 2) + E_LRU_PREV] = e;
    else this.lruTail[list] = e;
    this.lruHead[list] = e;
    this.lruCount[list]!++;
  }

  private lruUnlink(e: number): void {
    const w = e >>> 2;
    const list = this.u32[w + E_LRU_LIST]!;
    const prev = this.u32[w + E_LRU_PREV]!;
    const next = this.u32[w + E_LRU_NEXT]!;
    if (prev !== 0) this.u32[(prev >>> 2) + E_LRU_NEXT] = next;
    else this.lruHead[list] = next;
    if (next !== 0) this.u32[(next >>> 2) + E_LRU_PREV] = prev;
    else this.lruTail[list] = prev;
    this.lruCount[list]!--;
  }

  /** A use: move the element to the head of its list. */
  private touch(e: number): void {
    const list = this.u32[(e >>> 2) + E_LRU_LIST]!;
    if (this.lruHead[list] === e) return;
    this.lruUnlink(e);
    this.lruPush(e, list);
  }
}

/**
 * BPF_MAP_TYPE_HASH_OF_MAPS (hashtab.c's htab_of_maps): a hash whose values hold inner maps matching the
 * template. The value slot holds the inner map's kernel address (a program's lookup returns it); the
 * references live beside it, keyed by element.
 */
export class HashOfMaps extends HashTab {
  private readonly refs = new Map<number, FdRef<BpfMap>>();
  private readonly addressBytes = new Uint8Array(4);

  protected override get holdsFds(): boolean {
    return true;
  }

  constructor(
    ops: MapOps,
    attr: MapAttr,
    env: MapEnv,
    owner: string,
    maxEntries: number,
    struct: number,
    nBuckets: number,
    private readonly meta: InnerMapMeta,
  ) {
    super(ops, attr, env, owner, maxEntries, struct, nBuckets);
  }

  override innerMapDesc(): MapDesc {
    return this.meta.desc;
  }

  /**
   * htab_of_map_gen_lookup: the hash's lookup, then the inner map's pointer loaded from the value
   * (`r0 = *(u64 *)(r0 + 0)`): the slot's upper word is kept zero (see updateWithFds).
   */
  override genLookup(): InsnPatch | null {
    return { insns: [...this.lookupToValue(2), { code: Class.LDX | Size.DW | Mode.MEM, dst: 0, src: 0, off: 0, imm: 0 }], inBounds: [3] };
  }

  /** htab_of_map_lookup_elem: the inner map's kernel address, or 0. */
  override lookup(keyAddr: number, cpu: number): number {
    const value = super.lookup(keyAddr, cpu);
    return value === 0 ? 0 : readU32(this.bytes, value);
  }

  /** bpf_fd_htab_map_update_elem: the map behind the fd (a reference), then htab_map_update_elem; the old value's reference goes. */
  override updateWithFds(key: Uint8Array, value: Uint8Array, flags: number, fds: MapFdObjects): number {
    const ref = innerMapGet(this.meta, fds, readU32(value, 0));
    if (typeof ref === 'number') return ref;
    const address = ref.object.address;
    for (let i = 0; i < 4; i++) this.addressBytes[i] = (address >>> (8 * i)) & 0xff;
    const ret = this.updateElem(key, 0, this.addressBytes, 0, flags, 0, true);
    if (ret !== 0) {
      ref.put();
      return ret;
    }
    const e = this.elemOf(key, 0);
    // The slot holds the 4-byte address in 8 bytes (round_up(value_size, 8)); the inlined lookup reads all 8.
    this.bytes.fill(0, e + this.valueOff + 4, e + this.valueOff + 8);
    const old = this.refs.get(e);
    this.refs.set(e, ref);
    old?.put();
    return 0;
  }

  /** User space writes go through {@link updateWithFds}: without the fd's object there is nothing to store. */
  override updateSys(): number {
    return -Errno.EOPNOTSUPP;
  }

  /** map_lookup_and_delete_elem serves only the plain hash types (and queues): ENOTSUPP. */
  override lookupAndDeleteSys(): number {
    return -ENOTSUPP;
  }

  /** bpf_fd_htab_map_lookup_elem: the inner map's id. */
  protected override copyOut(key: Uint8Array, out: Uint8Array): number {
    const e = this.elemOf(key, 0);
    if (e === 0) return -Errno.ENOENT;
    writeU32(out, 0, this.refs.get(e)?.id ?? 0);
    return 0;
  }

  protected override deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const e = this.elemOf(keySrc, keyOff);
    const ret = super.deleteElem(keySrc, keyOff);
    if (ret === 0) this.dropRef(e);
    return ret;
  }

  /** The batch reads the inner map's id, as map_fd_sys_lookup_elem gives it. */
  override batchCopy(e: number, keys: Uint8Array, keyOff: number, values: Uint8Array, valueOff: number): void {
    keys.set(this.bytes.subarray(e + HTAB_ELEM_SIZE, e + HTAB_ELEM_SIZE + this.keySize), keyOff);
    writeU32(values, valueOff, this.refs.get(e)?.id ?? 0);
  }

  override batchDelete(e: number): void {
    super.batchDelete(e);
    this.dropRef(e);
  }

  /** htab_map_free puts every inner map (htab_free_prealloced_fields / fd_htab_map_free). */
  override free(): void {
    for (const ref of this.refs.values()) ref.put();
    this.refs.clear();
    super.free();
  }

  private dropRef(e: number): void {
    const ref = this.refs.get(e);
    this.refs.delete(e);
    ref?.put();
  }
}

function writeU32(dst: Uint8Array, off: number, value: number): void {
  for (let i = 0; i < 4; i++) dst[off + i] = (value >>> (8 * i)) & 0xff;
}

/** fd_htab_map_alloc_check: the value is a u32 fd; then htab_map_alloc_check. */
function fdHtabAllocCheck(attr: MapAttr, env: MapEnv): number {
  if (attr.valueSize !== 4) return -Errno.EINVAL;
  return htabAllocCheck(attr, env);
}

/** htab_of_map_alloc: the template first (bpf_map_meta_alloc), then the hash. */
function htabOfMapsAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const meta = innerMapMetaAlloc(attr, env);
  if (typeof meta === 'number') return meta;
  return htabAllocWith(attr, env, owner, (maxEntries, struct, nBuckets) => new HashOfMaps(ops, attr, env, owner, maxEntries, struct, nBuckets, meta));
}

/** htab_map_alloc: the bucket array, then (preallocated maps) every element. */
function htabAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  return htabAllocWith(attr, env, owner, (maxEntries, struct, nBuckets) => new HashTab(ops, attr, env, owner, maxEntries, struct, nBuckets));
}

function htabAllocWith(attr: MapAttr, env: MapEnv, owner: string, make: (maxEntries: number, struct: number, nBuckets: number) => HashTab): BpfMap | number {
  let maxEntries = attr.maxEntries;
  if ((attr.mapFlags & BPF_MAP_F.NO_COMMON_LRU) !== 0) {
    // Every CPU's LRU list gets at least one element, and all the same number.
    const up = Math.ceil(maxEntries / env.nrCpus) * env.nrCpus;
    maxEntries = up <= U32_MAX ? up : Math.floor(maxEntries / env.nrCpus) * env.nrCpus;
  }
  if (maxEntries > 2 ** 31) return -Errno.E2BIG;
  let nBuckets = 1;
  while (nBuckets < maxEntries) nBuckets *= 2;
  if (nBuckets > Math.floor(U32_MAX / BUCKET_SIZE)) return -Errno.E2BIG;
  const bucketBytes = nBuckets * BUCKET_SIZE;
  if (bucketBytes >= MAP_AREA_MAX) return -Errno.ENOMEM;
  // The struct the map's address names, then the buckets (Linux allocates struct bpf_htab on its own).
  const struct = env.phys.kmalloc(HTAB_STRUCT.size + bucketBytes, owner);
  if (struct < 0) return -Errno.ENOMEM;
  env.phys.bytes.fill(0, struct, struct + HTAB_STRUCT.size + bucketBytes);
  const map = make(maxEntries, struct, nBuckets);
  if ((attr.mapFlags & BPF_MAP_F.NO_PREALLOC) === 0 && map.grow() < 0) {
    map.free();
    return -Errno.ENOMEM;
  }
  return map;
}

export const HASH_OPS = defineMapOps(BPF_MAP_TYPE.HASH, 'hash', true, htabAllocCheck, htabAlloc);
export const PERCPU_HASH_OPS = defineMapOps(BPF_MAP_TYPE.PERCPU_HASH, 'percpu_hash', false, htabAllocCheck, htabAlloc);
export const LRU_HASH_OPS = defineMapOps(BPF_MAP_TYPE.LRU_HASH, 'lru_hash', false, htabAllocCheck, htabAlloc);
export const LRU_PERCPU_HASH_OPS = defineMapOps(BPF_MAP_TYPE.LRU_PERCPU_HASH, 'lru_percpu_hash', false, htabAllocCheck, htabAlloc);
export const HASH_OF_MAPS_OPS = defineMapOps(BPF_MAP_TYPE.HASH_OF_MAPS, 'hash_of_maps', false, fdHtabAllocCheck, htabOfMapsAlloc);
