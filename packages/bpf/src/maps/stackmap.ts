/**
 * BPF_MAP_TYPE_STACK_TRACE, as Linux's kernel/bpf/stackmap.c: stack traces (arrays of instruction pointers, or
 * of `struct bpf_stack_build_id` with BPF_F_STACK_BUILD_ID) kept in buckets chosen by the trace's jhash, the
 * bucket index being the stack id bpf_get_stackid returns. `max_entries` preallocated elements go round a
 * free list; the bucket table has roundup_pow_of_two(max_entries) slots.
 *
 * Kernel memory holds the bucket table (one 8-byte slot per bucket, the element number + 1 where Linux keeps
 * a pointer, 0 for none) and the elements, each laid out as `struct stack_map_bucket`: free-list node (8),
 * hash (u32), nr (u32), then value_size bytes of data.
 */
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_STACK_BUILD_ID, BPF_STACKID_F, Errno } from '@ebpf-sim/uapi';
import { jhash } from './jhash.js';
import { BpfMap, defineMapOps, MAP_AREA_MAX, readU32, type MapAttr, type MapEnv, type MapOps } from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';
import { PERF_MAX_STACK_DEPTH } from './perf-max-stack.js';

export { PERF_MAX_STACK_DEPTH };

/** STACK_CREATE_FLAG_MASK. */
const STACK_CREATE_FLAG_MASK = BPF_MAP_F.NUMA_NODE | BPF_MAP_F.RDONLY | BPF_MAP_F.WRONLY | BPF_MAP_F.STACK_BUILD_ID;
/** sizeof(struct stack_map_bucket) before its data: fnode, hash, nr. */
const BUCKET_HDR = 16;
/** get_stackid's known flags (bpf_get_stackid refuses others with EINVAL). */
const STACKID_FLAGS = BPF_STACKID_F.SKIP_FIELD_MASK | BPF_STACKID_F.USER_STACK | BPF_STACKID_F.FAST_STACK_CMP | BPF_STACKID_F.REUSE_STACKID;

const roundupPowOfTwo = (n: number): number => {
  let r = 1;
  while (r < n) r *= 2;
  return r;
};

/** stack_map_alloc's checks (sysctl_perf_event_max_stack from the environment, 127 by default). */
function stackAllocCheck(attr: MapAttr, env: MapEnv): number {
  const maxStack = env.perfEventMaxStack ?? PERF_MAX_STACK_DEPTH;
  if ((attr.mapFlags & ~STACK_CREATE_FLAG_MASK) !== 0) return -Errno.EINVAL;
  if (attr.maxEntries === 0 || attr.keySize !== 4 || attr.valueSize < 8 || attr.valueSize % 8 !== 0) return -Errno.EINVAL;
  if ((attr.mapFlags & BPF_MAP_F.STACK_BUILD_ID) !== 0) {
    if (attr.valueSize % BPF_STACK_BUILD_ID.SIZE !== 0 || attr.valueSize / BPF_STACK_BUILD_ID.SIZE > maxStack) return -Errno.EINVAL;
  } else if (attr.valueSize / 8 > maxStack) return -Errno.EINVAL;
  // roundup_pow_of_two must not overflow.
  if (attr.maxEntries > 0x80000000) return -Errno.E2BIG;
  return 0;
}

export class StackTraceMap extends BpfMap {
  /** Physical address of the bucket table. */
  readonly table: number;
  /** Physical address of element 0. */
  private readonly elems: number;
  readonly nBuckets: number;
  private readonly elemSize: number;
  /** Bytes of one frame: 8 (an ip) or sizeof(struct bpf_stack_build_id). */
  private readonly frameSize: number;
  private readonly maxStack: number;
  /** The free list (pcpu_freelist): element numbers, a stack. */
  private readonly free_: Int32Array;
  private nFree: number;
  private readonly view: DataView;

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, table: number, nBuckets: number) {
    super(ops, attr, env, owner, attr.maxEntries, false);
    this.table = table;
    this.nBuckets = nBuckets;
    this.elems = table + nBuckets * 8;
    this.elemSize = BUCKET_HDR + attr.valueSize;
    this.frameSize = (attr.mapFlags & BPF_MAP_F.STACK_BUILD_ID) !== 0 ? BPF_STACK_BUILD_ID.SIZE : 8;
    this.maxStack = env.perfEventMaxStack ?? PERF_MAX_STACK_DEPTH;
    this.free_ = new Int32Array(attr.maxEntries);
    for (let i = 0; i < attr.maxEntries; i++) this.free_[i] = attr.maxEntries - 1 - i;
    this.nFree = attr.maxEntries;
    this.view = env.phys.view;
  }

  /** The element in bucket `id` (its physical address), or 0. */
  private bucket(id: number): number {
    const slot = this.view.getUint32(this.table + id * 8, true);
    return slot === 0 ? 0 : this.elems + (slot - 1) * this.elemSize;
  }

  /** xchg(&buckets[id], elem): the element that was there (0 for none) goes back to the free list. */
  private setBucket(id: number, elem: number): void {
    const old = this.bucket(id);
    this.view.setUint32(this.table + id * 8, elem === 0 ? 0 : (elem - this.elems) / this.elemSize + 1, true);
    if (old !== 0) this.free_[this.nFree++] = (old - this.elems) / this.elemSize;
  }

  private popFree(): number {
    if (this.nFree === 0) return 0;
    return this.elems + this.free_[--this.nFree]! * this.elemSize;
  }

  /**
   * __bpf_get_stackid for a callchain of `ips.length / 8` instruction pointers (u64, little-endian, innermost
   * first), as bpf_get_stackid hands it over: the stack id (bucket index), or -errno. The callchain is cut at
   * value_size / frame size + skip frames (and kernel.perf_event_max_stack), the skipped frames dropped, the
   * rest hashed with jhash2. The bucket's trace is kept when it is the same (or, with BPF_F_FAST_STACK_CMP,
   * when only the hash is); a different trace there is EEXIST unless BPF_F_REUSE_STACKID replaces it.
   * With BPF_F_STACK_BUILD_ID each frame is a `struct bpf_stack_build_id` that says BPF_STACK_BUILD_ID_IP:
   * the simulated binaries carry no build id notes, which is Linux's answer when it cannot read one.
   */
  getStackid(ips: Uint8Array, flags: number): number {
    if (flags < 0 || flags > STACKID_FLAGS || (flags & ~STACKID_FLAGS) !== 0) return -Errno.EINVAL;
    const skip = flags & BPF_STACKID_F.SKIP_FIELD_MASK;
    const maxDepth = Math.min(this.valueSize / this.frameSize + skip, this.maxStack);
    const nr = Math.min(ips.length >>> 3, maxDepth);
    if (nr <= skip) return -Errno.EFAULT;
    const traceNr = nr - skip;
    const ipsOff = skip * 8;
    const hash = jhash(ips, ipsOff, traceNr * 8, 0);
    const id = hash & (this.nBuckets - 1);
    const bucket = this.bucket(id);
    const view = this.view;
    const hashMatches = bucket !== 0 && view.getUint32(bucket + 8, true) === hash >>> 0;
    if (hashMatches && (flags & BPF_STACKID_F.FAST_STACK_CMP) !== 0) return id;
    const buildId = this.frameSize !== 8;
    let fresh = 0;
    if (buildId) {
      // For build ids a bucket is popped before the slow compare, as Linux does.
      fresh = this.popFree();
      if (fresh === 0) return -Errno.ENOMEM;
      this.writeTrace(fresh, ips, ipsOff, traceNr);
      if (hashMatches && this.sameTrace(bucket, fresh + BUCKET_HDR, traceNr)) {
        this.free_[this.nFree++] = (fresh - this.elems) / this.elemSize;
        return id;
      }
      if (bucket !== 0 && (flags & BPF_STACKID_F.REUSE_STACKID) === 0) {
        this.free_[this.nFree++] = (fresh - this.elems) / this.elemSize;
        return -Errno.EEXIST;
      }
    } else {
      if (hashMatches && view.getUint32(bucket + 12, true) === traceNr && this.sameIps(bucket, ips, ipsOff, traceNr)) return id;
      if (bucket !== 0 && (flags & BPF_STACKID_F.REUSE_STACKID) === 0) return -Errno.EEXIST;
      fresh = this.popFree();
      if (fresh === 0) return -Errno.ENOMEM;
      this.writeTrace(fresh, ips, ipsOff, traceNr);
    }
    view.setUint32(fresh + 8, hash >>> 0, true);
    view.setUint32(fresh + 12, traceNr, true);
    this.setBucket(id, fresh);
    return id;
  }

  /** The bucket's data: the ips, or for build ids { status IP, zero build id, ip } per frame. */
  private writeTrace(elem: number, ips: Uint8Array, ipsOff: number, traceNr: number): void {
    const data = elem + BUCKET_HDR;
    if (this.frameSize === 8) {
      this.bytes.set(ips.subarray(ipsOff, ipsOff + traceNr * 8), data);
      return;
    }
    for (let i = 0; i < traceNr; i++) {
      const frame = data + i * BPF_STACK_BUILD_ID.SIZE;
      this.bytes.fill(0, frame, frame + 24);
      this.view.setInt32(frame, BPF_STACK_BUILD_ID.IP, true);
      this.bytes.set(ips.subarray(ipsOff + i * 8, ipsOff + i * 8 + 8), frame + 24);
    }
  }

  private sameIps(bucket: number, ips: Uint8Array, ipsOff: number, traceNr: number): boolean {
    const data = bucket + BUCKET_HDR;
    for (let i = 0; i < traceNr * 8; i++) if (this.bytes[data + i] !== ips[ipsOff + i]) return false;
    return true;
  }

  private sameTrace(bucket: number, data: number, traceNr: number): boolean {
    if (this.view.getUint32(bucket + 12, true) !== traceNr) return false;
    const a = bucket + BUCKET_HDR;
    for (let i = 0; i < traceNr * this.frameSize; i++) if (this.bytes[a + i] !== this.bytes[data + i]) return false;
    return true;
  }

  /** stack_map_lookup_elem: programs may not look traces up (the verifier refuses it; Linux's op answers EOPNOTSUPP). */
  lookup(): number {
    return 0;
  }

  /** bpf_stackmap_copy: the trace in bucket `key`, zero-filled past its frames; ENOENT for an empty or missing bucket. */
  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    const id = readU32(key);
    if (id >= this.nBuckets) return -Errno.ENOENT;
    const bucket = this.bucket(id);
    if (bucket === 0) return -Errno.ENOENT;
    const len = this.view.getUint32(bucket + 12, true) * this.frameSize;
    out.set(this.bytes.subarray(bucket + BUCKET_HDR, bucket + BUCKET_HDR + len), 0);
    out.fill(0, len, this.valueSize);
    return 0;
  }

  /** stack_map_update_elem: user space cannot write traces. */
  protected updateElem(): number {
    return -Errno.EINVAL;
  }

  /** stack_map_delete_elem: E2BIG past the table, ENOENT for an empty bucket. */
  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const id = readU32(keySrc, keyOff);
    if (id >= this.nBuckets) return -Errno.E2BIG;
    if (this.bucket(id) === 0) return -Errno.ENOENT;
    this.setBucket(id, 0);
    return 0;
  }

  /** stack_map_get_next_key: the next non-empty bucket; no key, or a key past the table or at an empty bucket, starts over. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    let id = 0;
    if (key !== null) {
      const at = readU32(key);
      id = at >= this.nBuckets || this.bucket(at) === 0 ? 0 : at + 1;
    }
    while (id < this.nBuckets && this.bucket(id) === 0) id++;
    if (id >= this.nBuckets) return -Errno.ENOENT;
    next[0] = id & 0xff;
    next[1] = (id >>> 8) & 0xff;
    next[2] = (id >>> 16) & 0xff;
    next[3] = id >>> 24;
    return 0;
  }

  /** stack_map_mem_usage: the struct, the bucket pointers, and max_entries buckets with their values. */
  memUsage(): number {
    return K.bpf_stack_map + this.nBuckets * K.pointer + this.maxEntries * (K.stack_map_bucket + this.valueSize);
  }

  free(): void {
    this.mem.kfree(this.table);
  }
}

/** stack_map_alloc: the bucket table and every element, zeroed; the elements on the free list. */
function stackAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const nBuckets = roundupPowOfTwo(attr.maxEntries);
  const size = nBuckets * 8 + attr.maxEntries * (BUCKET_HDR + attr.valueSize);
  if (size >= MAP_AREA_MAX) return -Errno.ENOMEM;
  const table = env.phys.kmalloc(size, owner);
  if (table < 0) return -Errno.ENOMEM;
  env.phys.bytes.fill(0, table, table + size);
  return new StackTraceMap(ops, attr, env, owner, table, nBuckets);
}

export const STACK_TRACE_OPS = defineMapOps(BPF_MAP_TYPE.STACK_TRACE, 'stack_trace', false, stackAllocCheck, stackAlloc);
