/**
 * BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY, as Linux's kernel/bpf/arraymap.c: `max_entries` values
 * of `round_up(value_size, 8)` bytes, allocated and zeroed at creation, keyed by a u32 index. Elements always
 * exist, so deleting gives EINVAL and BPF_NOEXIST gives EEXIST.
 *
 * A per-CPU array keeps each index's CPU slots side by side (index-major), so user space's copy of every CPU's
 * value is one contiguous run; Linux gives each CPU its own area, which a program cannot tell apart.
 */
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, CAP, Errno, PAGE_SIZE } from '@ebpf-sim/uapi';
import {
  BPF_F_ACCESS_MASK,
  BpfMap,
  MAP_AREA_MAX,
  PCPU_MIN_UNIT_SIZE,
  defineMapOps,
  mapFlagsAccessOk,
  round8,
  updateFlagsInvalid,
  type MapAttr,
  type MapEnv,
  type MapOps,
} from './map.js';

/** ARRAY_CREATE_FLAG_MASK (kernel/bpf/arraymap.c). */
const ARRAY_CREATE_FLAG_MASK = BPF_MAP_F.NUMA_NODE | BPF_MAP_F.MMAPABLE | BPF_F_ACCESS_MASK | BPF_MAP_F.PRESERVE_ELEMS | BPF_MAP_F.INNER_MAP;

const pageAlign = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/** INT_MAX: array_map_alloc_check refuses larger values so round_up cannot overflow. */
const INT_MAX = 0x7fffffff;

const readIndex = (src: Uint8Array, off: number): number => (src[off]! | (src[off + 1]! << 8) | (src[off + 2]! << 16) | (src[off + 3]! << 24)) >>> 0;

function writeIndex(dst: Uint8Array, index: number): void {
  dst[0] = index & 0xff;
  dst[1] = (index >>> 8) & 0xff;
  dst[2] = (index >>> 16) & 0xff;
  dst[3] = (index >>> 24) & 0xff;
}

/** array_map_alloc_check. */
function arrayAllocCheck(attr: MapAttr): number {
  const percpu = attr.mapType === BPF_MAP_TYPE.PERCPU_ARRAY;
  const numa = (attr.mapFlags & BPF_MAP_F.NUMA_NODE) !== 0;
  if (attr.maxEntries === 0 || attr.keySize !== 4 || attr.valueSize === 0) return -Errno.EINVAL;
  if ((attr.mapFlags & ~ARRAY_CREATE_FLAG_MASK) !== 0 || !mapFlagsAccessOk(attr.mapFlags) || (percpu && numa)) return -Errno.EINVAL;
  if (attr.mapType !== BPF_MAP_TYPE.ARRAY && (attr.mapFlags & (BPF_MAP_F.MMAPABLE | BPF_MAP_F.INNER_MAP)) !== 0) return -Errno.EINVAL;
  if (attr.mapType !== BPF_MAP_TYPE.PERF_EVENT_ARRAY && (attr.mapFlags & BPF_MAP_F.PRESERVE_ELEMS) !== 0) return -Errno.EINVAL;
  if (attr.valueSize > INT_MAX) return -Errno.E2BIG;
  if (percpu && round8(attr.valueSize) > PCPU_MIN_UNIT_SIZE) return -Errno.E2BIG;
  return 0;
}

/** An array map: ARRAY (one slot per index) or PERCPU_ARRAY (nr_cpus slots per index). */
export class ArrayMap extends BpfMap {
  /** Physical address of index 0 (CPU 0). */
  readonly base: number;
  private readonly percpu: boolean;
  private readonly nrCpus: number;
  /** round_up(value_size, 8): one value slot. */
  private readonly elemSize: number;
  /** Bytes from one index to the next: elemSize, times nr_cpus for a per-CPU array. */
  private readonly stride: number;
  override readonly hasMmap: boolean;

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, base: number) {
    const percpu = attr.mapType === BPF_MAP_TYPE.PERCPU_ARRAY;
    super(ops, attr, env, owner, attr.maxEntries, percpu);
    this.base = base;
    this.percpu = percpu;
    this.nrCpus = env.nrCpus;
    this.elemSize = round8(attr.valueSize);
    this.stride = percpu ? this.elemSize * env.nrCpus : this.elemSize;
    // array_map_ops has map_mmap, percpu_array_map_ops has not.
    this.hasMmap = !percpu;
  }

  /**
   * array_map_mmap: only a BPF_F_MMAPABLE array, and only within PAGE_ALIGN(max_entries × elem_size) (else
   * EINVAL); the values are page-aligned, so page n of the mapping is page n of the value area.
   */
  override mmap(pgoff: number, pages: number): readonly number[] | number {
    if ((this.mapFlags & BPF_MAP_F.MMAPABLE) === 0) return -Errno.EINVAL;
    if (pages <= 0 || pgoff < 0 || (pgoff + pages) * PAGE_SIZE > pageAlign(this.maxEntries * this.elemSize)) return -Errno.EINVAL;
    const frames: number[] = [];
    for (let p = pgoff; p < pgoff + pages; p++) frames.push(this.base + p * PAGE_SIZE);
    return frames;
  }

  /** array_map_lookup_elem / percpu_array_map_lookup_elem: this CPU's value of the index, or 0 past the end. */
  lookup(keyAddr: number, cpu: number): number {
    const index = readIndex(this.bytes, keyAddr);
    if (index >= this.maxEntries) return 0;
    return this.base + index * this.stride + (this.percpu ? cpu * this.elemSize : 0);
  }

  /** array_map_update_elem (and bpf_percpu_array_update from user space, every CPU's slot). */
  protected updateElem(keySrc: Uint8Array, keyOff: number, valSrc: Uint8Array, valOff: number, flags: number, cpu: number, allCpus: boolean): number {
    if (updateFlagsInvalid(flags, true)) return -Errno.EINVAL;
    const index = readIndex(keySrc, keyOff);
    // All elements were allocated at creation: an index past the end cannot be inserted.
    if (index >= this.maxEntries) return -Errno.E2BIG;
    if ((flags & BPF_UPDATE.NOEXIST) !== 0) return -Errno.EEXIST;
    if ((flags & BPF_UPDATE.F_LOCK) !== 0 && this.spinLockOff < 0) return -Errno.EINVAL;
    const slot = this.base + index * this.stride;
    if (!this.percpu) this.copyIn(slot, valSrc, valOff, this.valueSize);
    else if (!allCpus) this.copyIn(slot + cpu * this.elemSize, valSrc, valOff, this.valueSize);
    // User space writes each CPU's whole 8-byte-rounded slot (copy_map_value_long).
    else for (let c = 0; c < this.nrCpus; c++) this.copyIn(slot + c * this.elemSize, valSrc, valOff + c * this.elemSize, this.elemSize);
    return 0;
  }

  /** array_map_delete_elem: array elements cannot be deleted. */
  protected deleteElem(): number {
    return -Errno.EINVAL;
  }

  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    const index = readIndex(key, 0);
    if (index >= this.maxEntries) return -Errno.ENOENT;
    const slot = this.base + index * this.stride;
    if (!this.percpu) this.copyToUser(out, 0, slot, this.valueSize);
    else for (let c = 0; c < this.nrCpus; c++) this.copyToUser(out, c * this.elemSize, slot + c * this.elemSize, this.elemSize);
    return 0;
  }

  /** array_map_get_next_key: no key or one past the end restarts at 0; the last index has no next. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    const index = key === null ? 0xffffffff : readIndex(key, 0);
    if (index >= this.maxEntries) {
      writeIndex(next, 0);
      return 0;
    }
    if (index === this.maxEntries - 1) return -Errno.ENOENT;
    writeIndex(next, index + 1);
    return 0;
  }

  free(): void {
    this.mem.kfree(this.base);
  }
}

/**
 * array_map_alloc: every element at once, zeroed. For a creator without CAP_PERFMON (no bypass_spec_v1) Linux
 * rounds the array up to a power of two so a mispredicted bounds check stays inside it; the memory charged
 * follows, and an overflow of that rounding gives E2BIG.
 */
function arrayAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const percpu = attr.mapType === BPF_MAP_TYPE.PERCPU_ARRAY;
  let entries = attr.maxEntries;
  if (!env.capable(CAP.PERFMON)) {
    let rounded = 1;
    while (rounded < entries) rounded *= 2;
    entries = rounded;
    if (entries > 0xffffffff) return -Errno.E2BIG;
  }
  let size = entries * round8(attr.valueSize) * (percpu ? env.nrCpus : 1);
  // bpf_map_area_mmapable_alloc: whole pages, so user space maps nothing but the values.
  if ((attr.mapFlags & BPF_MAP_F.MMAPABLE) !== 0) size = pageAlign(size);
  if (size >= MAP_AREA_MAX) return -Errno.ENOMEM;
  const base = env.phys.kmalloc(size, owner);
  if (base < 0) return -Errno.ENOMEM;
  env.phys.bytes.fill(0, base, base + size);
  return new ArrayMap(ops, attr, env, owner, base);
}

export const ARRAY_OPS = defineMapOps(BPF_MAP_TYPE.ARRAY, 'array', true, arrayAllocCheck, arrayAlloc);
export const PERCPU_ARRAY_OPS = defineMapOps(BPF_MAP_TYPE.PERCPU_ARRAY, 'percpu_array', false, arrayAllocCheck, arrayAlloc);
