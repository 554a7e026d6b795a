/**
 * BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY, as Linux's kernel/bpf/arraymap.c: `max_entries` values
 * of `round_up(value_size, 8)` bytes, allocated and zeroed at creation, keyed by a u32 index. Elements always
 * exist, so deleting gives EINVAL and BPF_NOEXIST gives EEXIST.
 *
 * A per-CPU array keeps each index's CPU slots side by side (index-major), so user space's copy of every CPU's
 * value is one contiguous run; Linux gives each CPU its own area, which a program cannot tell apart.
 */
import type { File, PerfOutputEvent } from '@ebpf-sim/kernel';
import type { MapDesc } from '@ebpf-sim/verifier';
import { AluOp, Class, JmpOp, Mode, Size, Source, type RawInsn } from '@ebpf-sim/isa';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_PROG_TYPE, BPF_UPDATE, CAP, Errno, PAGE_SIZE } from '@ebpf-sim/uapi';
import type { TailCallTarget } from '../runtime/env.js';
import { innerMapGet, innerMapMetaAlloc, type InnerMapMeta } from './map_in_map.js';
import {
  BPF_F_ACCESS_MASK,
  BpfMap,
  aluImm,
  jmpImm,
  ENOTSUPP,
  MAP_AREA_MAX,
  ProgMapOwner,
  PCPU_MIN_UNIT_SIZE,
  defineMapOps,
  mapFlagsAccessOk,
  round8,
  updateFlagsInvalid,
  type FdProgram,
  type FdRef,
  type MapAttr,
  type MapEnv,
  type MapCgroup,
  type MapFdObjects,
  type InsnPatch,
  type MapOps,
} from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** ARRAY_CREATE_FLAG_MASK (kernel/bpf/arraymap.c). */
const ARRAY_CREATE_FLAG_MASK = BPF_MAP_F.NUMA_NODE | BPF_MAP_F.MMAPABLE | BPF_F_ACCESS_MASK | BPF_MAP_F.PRESERVE_ELEMS | BPF_MAP_F.INNER_MAP;

const pageAlign = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/**
 * offsetof(struct bpf_array, value) on x86_64 Linux 6.18: where an array's values start after its struct, the
 * constant array_map_gen_lookup adds to the map pointer (`r1 += 312` in fixtures/fixups/arraylookup.xlated.txt).
 * Every array here is laid out that way: the map's kernel address is the struct, its values follow at this offset.
 */
export const BPF_ARRAY_VALUE_OFF = 312;

/** Bytes before the values in an array's area: the struct, or (BPF_F_MMAPABLE) the whole pages it takes, so the values are page-aligned. */
const headerBytes = (mapFlags: number): number => ((mapFlags & BPF_MAP_F.MMAPABLE) !== 0 ? pageAlign(BPF_ARRAY_VALUE_OFF) : BPF_ARRAY_VALUE_OFF);

/** INT_MAX: array_map_alloc_check refuses larger values so round_up cannot overflow. */
const INT_MAX = 0x7fffffff;

const readIndex = (src: Uint8Array, off: number): number => (src[off]! | (src[off + 1]! << 8) | (src[off + 2]! << 16) | (src[off + 3]! << 24)) >>> 0;

function writeIndex(dst: Uint8Array, index: number): void {
  dst[0] = index & 0xff;
  dst[1] = (index >>> 8) & 0xff;
  dst[2] = (index >>> 16) & 0xff;
  dst[3] = (index >>> 24) & 0xff;
}

/** array_map_get_next_key: no key or one past the end restarts at 0; the last index has no next. */
export function arrayGetNextKey(maxEntries: number, key: Uint8Array | null, next: Uint8Array): number {
  const index = key === null ? 0xffffffff : readIndex(key, 0);
  if (index >= maxEntries) {
    writeIndex(next, 0);
    return 0;
  }
  if (index === maxEntries - 1) return -Errno.ENOENT;
  writeIndex(next, index + 1);
  return 0;
}

/** array_map_alloc's index_mask: roundup_pow_of_two(max_entries) - 1 (as a u32). */
function indexMaskOf(maxEntries: number): number {
  let rounded = 1;
  while (rounded < maxEntries) rounded *= 2;
  return (rounded - 1) >>> 0;
}

/** array_map_alloc_check. */
export function arrayAllocCheck(attr: MapAttr): number {
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
  /** map->bypass_spec_v1: the creator had CAP_PERFMON, so lookups need no index masking against Spectre v1. */
  private readonly bypassSpecV1: boolean;
  /** array->index_mask: roundup_pow_of_two(max_entries) - 1. */
  private readonly indexMask: number;

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
    this.bypassSpecV1 = env.capable(CAP.PERFMON);
    this.indexMask = indexMaskOf(attr.maxEntries);
  }

  /** The struct bpf_array before the values. */
  override kernelStruct(): number {
    return this.base - BPF_ARRAY_VALUE_OFF;
  }

  /**
   * array_map_gen_lookup: the lookup as instructions, which do_misc_fixups puts in place of the call when the
   * program is JIT-compiled (r1 the map, r2 the key; r0 the value or NULL). The key load needs no check: the
   * verifier proved r2 points to key_size readable bytes. An index is masked (Spectre v1) unless the creator had
   * CAP_PERFMON. Linux 6.18 also inlines PERCPU_ARRAY with its per-CPU address instruction, which this ISA has
   * not: a per-CPU array's lookup stays a call. An inner map (BPF_F_INNER_MAP: arrays of any size) is not inlined.
   */
  override genLookup(): InsnPatch | null {
    if (this.percpu || (this.mapFlags & BPF_MAP_F.INNER_MAP) !== 0) return null;
    const ret = 0;
    const mapPtr = 1;
    const index = 2;
    const insns: RawInsn[] = [
      aluImm(Class.ALU64, AluOp.ADD, mapPtr, BPF_ARRAY_VALUE_OFF),
      { code: Class.LDX | Size.W | Mode.MEM, dst: ret, src: index, off: 0, imm: 0 },
    ];
    // The immediate is an s32, as in Linux (BPF_JMP_IMM(BPF_JGE, ret, map->max_entries, ...)).
    if (!this.bypassSpecV1) {
      insns.push(jmpImm(JmpOp.JGE, ret, this.maxEntries | 0, 4), aluImm(Class.ALU, AluOp.AND, ret, this.indexMask | 0));
    } else {
      insns.push(jmpImm(JmpOp.JGE, ret, this.maxEntries | 0, 3));
    }
    const size = this.elemSize;
    if ((size & (size - 1)) === 0) insns.push(aluImm(Class.ALU64, AluOp.LSH, ret, 31 - Math.clz32(size)));
    else insns.push(aluImm(Class.ALU64, AluOp.MUL, ret, size));
    insns.push(
      { code: Class.ALU64 | AluOp.ADD | Source.X, dst: ret, src: mapPtr, off: 0, imm: 0 },
      jmpImm(JmpOp.JA, 0, 0, 1),
      aluImm(Class.ALU64, AluOp.MOV, ret, 0),
    );
    return { insns, inBounds: [1] };
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

  /** array_map_direct_value_addr: an ARRAY's values are addressable in place (a per-CPU array's are not). */
  override directValueBase(): number {
    return this.percpu ? -1 : this.base;
  }

  /** array_map_lookup_elem / percpu_array_map_lookup_elem: this CPU's value of the index, or 0 past the end. */
  lookup(keyAddr: number, cpu: number): number {
    const index = readIndex(this.bytes, keyAddr);
    if (index >= this.maxEntries) return 0;
    return this.base + index * this.stride + (this.percpu ? cpu * this.elemSize : 0);
  }

  /** bpf_for_each_array_elem: every index in order, the key a u32 at `keyScratch`. */
  override forEachElem(cpu: number, keyScratch: number, visit: (keyAddr: number, valueAddr: number) => boolean): number {
    const view = this.mem.view;
    let visited = 0;
    for (let index = 0; index < this.maxEntries; index++) {
      visited++;
      view.setUint32(keyScratch, index, true);
      if (visit(keyScratch, this.base + index * this.stride + (this.percpu ? cpu * this.elemSize : 0))) break;
    }
    return visited;
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
    return arrayGetNextKey(this.maxEntries, key, next);
  }

  /** array_map_mem_usage: the struct, then per-CPU pointers and slots, or the (page-aligned when mmapable) values. */
  memUsage(): number {
    const n = this.maxEntries;
    if (this.percpu) return K.bpf_array + n * K.pointer + n * this.elemSize * this.nrCpuIds;
    if ((this.mapFlags & BPF_MAP_F.MMAPABLE) !== 0) return pageAlign(K.bpf_array) + pageAlign(n * this.elemSize);
    return K.bpf_array + n * this.elemSize;
  }

  free(): void {
    this.mem.kfree(this.base - headerBytes(this.mapFlags));
  }
}

/**
 * array_map_alloc: every element at once, zeroed. For a creator without CAP_PERFMON (no bypass_spec_v1) Linux
 * rounds the array up to a power of two so a mispredicted bounds check stays inside it; the memory charged
 * follows, and an overflow of that rounding gives E2BIG.
 */
function arrayAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const base = arrayArea(attr, env, owner);
  return base < 0 ? base : new ArrayMap(ops, attr, env, owner, base);
}

/** array_map_alloc's memory: the (rounded) element area, zeroed, charged to `owner`; its address or -errno. */
function arrayArea(attr: MapAttr, env: MapEnv, owner: string): number {
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
  // The struct bpf_array comes first (Linux: array_size = sizeof(*array) + the values; an mmapable array's
  // struct ends where the page-aligned values start).
  size += headerBytes(attr.mapFlags);
  if (size >= MAP_AREA_MAX) return -Errno.ENOMEM;
  const start = env.phys.kmalloc(size, owner);
  if (start < 0) return -Errno.ENOMEM;
  env.phys.bytes.fill(0, start, start + size);
  return start + headerBytes(attr.mapFlags);
}

export const ARRAY_OPS = defineMapOps(BPF_MAP_TYPE.ARRAY, 'array', true, arrayAllocCheck, arrayAlloc);
export const PERCPU_ARRAY_OPS = defineMapOps(BPF_MAP_TYPE.PERCPU_ARRAY, 'percpu_array', false, arrayAllocCheck, arrayAlloc);

// ---- fd arrays: PROG_ARRAY, PERF_EVENT_ARRAY, ARRAY_OF_MAPS (arraymap.c's fd_array_map_* and map_in_map.c) ----

/**
 * fd_array_map_alloc_check: the value is a u32 fd, programs' read-only / write-only flags are not supported for
 * these maps, and fd arrays cannot be mmap'ed; then array_map_alloc_check.
 */
function fdArrayAllocCheck(attr: MapAttr): number {
  const progAccess = BPF_MAP_F.RDONLY_PROG | BPF_MAP_F.WRONLY_PROG;
  if (attr.valueSize !== 4 || (attr.mapFlags & (BPF_MAP_F.MMAPABLE | progAccess)) !== 0) return -Errno.EINVAL;
  return arrayAllocCheck(attr);
}

/**
 * An array whose slots hold references to kernel objects that user space names by fd (Linux's array->ptrs).
 * The slot area in kernel memory (8 bytes per slot, as array_map_alloc sizes it) holds the object's kernel
 * address where it has one (an inner map), so a program's lookup reads it in place.
 */
export abstract class FdArrayMap<T> extends BpfMap {
  protected readonly slots: Array<FdRef<T> | null>;
  protected readonly base: number;

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, base: number) {
    super(ops, attr, env, owner, attr.maxEntries, false);
    this.base = base;
    this.slots = new Array<FdRef<T> | null>(attr.maxEntries).fill(null);
  }

  /** map_fd_get_ptr: the object behind `ufd`, with a reference, or -errno. */
  protected abstract getPtr(fds: MapFdObjects, ufd: number): FdRef<T> | number;
  /** map_fd_sys_lookup_elem: the id user space reads for a slot; null for a type without it (ENOTSUPP). */
  protected abstract sysLookupId(ref: FdRef<T>): number | null;
  /** The kernel address a slot's memory holds for `ref` (0 for objects a program does not reach by address). */
  protected slotAddress(_ref: FdRef<T>): number {
    return 0;
  }

  /** Programs do not look fd arrays up (the verifier allows only their own helpers), except ARRAY_OF_MAPS. */
  lookup(_keyAddr: number, _cpu: number): number {
    return 0;
  }

  /** bpf_fd_array_map_update_elem: BPF_ANY only, the index in range, then the object behind the fd replaces the old. */
  override updateWithFds(key: Uint8Array, value: Uint8Array, flags: number, fds: MapFdObjects): number {
    if (flags !== BPF_UPDATE.ANY) return -Errno.EINVAL;
    const index = readIndex(key, 0);
    if (index >= this.maxEntries) return -Errno.E2BIG;
    const ref = this.getPtr(fds, readIndex(value, 0));
    if (typeof ref === 'number') return ref;
    this.setSlot(index, ref);
    return 0;
  }

  /** Programs cannot write fd arrays and user space writes go through {@link updateWithFds}: there are no fds here to resolve. */
  protected updateElem(): number {
    return -Errno.EOPNOTSUPP;
  }

  /** fd_array_map_delete_elem: -E2BIG past the end, -ENOENT for an empty slot. */
  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const index = readIndex(keySrc, keyOff);
    if (index >= this.maxEntries) return -Errno.E2BIG;
    if (this.slots[index] === null) return -Errno.ENOENT;
    this.setSlot(index, null);
    return 0;
  }

  /** bpf_fd_array_map_lookup_elem: ENOTSUPP without map_fd_sys_lookup_elem, ENOENT for an empty or missing slot, else the id. */
  override lookupSys(key: Uint8Array, out: Uint8Array, flags: number): number {
    const bad = this.lookupFlagsCheck(flags);
    if (bad !== 0) return bad;
    return this.copyOut(key, out);
  }

  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    if (!this.hasSysLookup()) return -ENOTSUPP;
    const index = readIndex(key, 0);
    const ref = index < this.maxEntries ? this.slots[index] : null;
    if (ref === null || ref === undefined) return -Errno.ENOENT;
    writeIndex(out, this.sysLookupId(ref) ?? 0);
    return 0;
  }

  /** Whether user space may read slots (the type has map_fd_sys_lookup_elem). */
  protected abstract hasSysLookup(): boolean;

  /** array_map_get_next_key. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    return arrayGetNextKey(this.maxEntries, key, next);
  }

  /** bpf_fd_array_map_clear: drop every slot's reference. */
  protected clear(): void {
    for (let i = 0; i < this.maxEntries; i++) if (this.slots[i] !== null) this.setSlot(i, null);
  }

  /** array_map_mem_usage of an fd array: the struct and one pointer per slot (elem_size is round_up(4, 8)). */
  memUsage(): number {
    return K.bpf_array + this.maxEntries * K.pointer;
  }

  free(): void {
    this.clear();
    this.mem.kfree(this.base - headerBytes(this.mapFlags));
  }

  /** The struct bpf_array before the slots. */
  override kernelStruct(): number {
    return this.base - BPF_ARRAY_VALUE_OFF;
  }

  /** xchg(array->ptrs + index, new) then map_fd_put_ptr(old). */
  protected setSlot(index: number, ref: FdRef<T> | null): void {
    const old = this.slots[index];
    this.slots[index] = ref;
    const address = ref === null ? 0 : this.slotAddress(ref);
    const at = this.base + index * 8;
    for (let i = 0; i < 8; i++) this.bytes[at + i] = i < 4 ? (address >>> (8 * i)) & 0xff : 0;
    if (old !== null && old !== undefined) old.put();
  }
}

/** BPF_MAP_TYPE_PROG_ARRAY: tail-call targets. */
export class ProgArrayMap extends FdArrayMap<FdProgram> {
  private readonly owner_ = new ProgMapOwner();

  /** bpf_prog_map_compatible for this array; PROG_LOAD calls it for each PROG_ARRAY a program uses. */
  override progCompatible(prog: Pick<FdProgram, 'progType' | 'jited' | 'xdpHasFrags'>): boolean {
    return this.owner_.compatible(prog);
  }

  override progOwner(): { readonly progType: number; readonly jited: boolean } | undefined {
    return this.owner_.claimedBy;
  }

  /**
   * The tail-call hook's question (runtime.ts's ProgramSlots): the program at `index`, or undefined for an empty
   * slot or an index past the end.
   */
  programAt(index: number): TailCallTarget | undefined {
    if (index >= this.maxEntries) return undefined;
    return this.slots[index]?.object.target;
  }

  /** prog_fd_array_get_ptr: an extension program, or one not compatible with the array, is EINVAL. */
  protected getPtr(fds: MapFdObjects, ufd: number): FdRef<FdProgram> | number {
    const ref = fds.progFromFd(ufd);
    if (typeof ref === 'number') return ref;
    if (ref.object.progType === BPF_PROG_TYPE.EXT || !this.progCompatible(ref.object)) {
      ref.put();
      return -Errno.EINVAL;
    }
    return ref;
  }
  protected sysLookupId(ref: FdRef<FdProgram>): number {
    return ref.id;
  }
  protected hasSysLookup(): boolean {
    return true;
  }
  /** prog_array_map_clear at map_release_uref: the programs go with the last user-space reference. */
  override releaseUref(): void {
    this.clear();
  }
}

/** A PERF_EVENT_ARRAY slot: the event and the map file it was written through (struct bpf_event_entry). */
export interface PerfEventEntry {
  readonly event: PerfOutputEvent;
  readonly mapFile: File | null;
}

/** BPF_MAP_TYPE_PERF_EVENT_ARRAY: per-CPU perf events for bpf_perf_event_output. */
export class PerfEventArrayMap extends FdArrayMap<PerfEventEntry> {
  /** The event at `index` for bpf_perf_event_output, or undefined for an empty slot or an index past the end. */
  eventAt(index: number): PerfOutputEvent | undefined {
    return index < this.maxEntries ? this.slots[index]?.object.event : undefined;
  }

  /** perf_event_fd_array_get_ptr: a perf event file, held with the map file that wrote it. */
  protected getPtr(fds: MapFdObjects, ufd: number): FdRef<PerfEventEntry> | number {
    const ref = fds.perfEventFromFd(ufd);
    if (typeof ref === 'number') return ref;
    return { object: { event: ref.object, mapFile: fds.mapFile }, id: ref.id, put: () => ref.put() };
  }
  protected sysLookupId(): null {
    return null;
  }
  protected hasSysLookup(): boolean {
    return false;
  }
  /** perf_event_fd_array_release: closing a map file drops the entries written through it, unless BPF_F_PRESERVE_ELEMS. */
  override releaseFile(file: File): void {
    if ((this.mapFlags & BPF_MAP_F.PRESERVE_ELEMS) !== 0) return;
    for (let i = 0; i < this.maxEntries; i++) if (this.slots[i]?.object.mapFile === file) this.setSlot(i, null);
  }
}

/** BPF_MAP_TYPE_ARRAY_OF_MAPS: slots of inner maps matching the template. */
export class ArrayOfMaps extends FdArrayMap<BpfMap> {
  constructor(
    ops: MapOps,
    attr: MapAttr,
    env: MapEnv,
    owner: string,
    base: number,
    private readonly meta: InnerMapMeta,
  ) {
    super(ops, attr, env, owner, base);
  }

  /** array_of_map_lookup_elem: the inner map's kernel address, or 0 (NULL) for an empty slot or an index past the end. */
  override lookup(keyAddr: number, _cpu: number): number {
    const index = readIndex(this.bytes, keyAddr);
    if (index >= this.maxEntries) return 0;
    return this.slots[index]?.object.address ?? 0;
  }
  override innerMapDesc(): MapDesc {
    return this.meta.desc;
  }
  protected getPtr(fds: MapFdObjects, ufd: number): FdRef<BpfMap> | number {
    return innerMapGet(this.meta, fds, ufd);
  }
  protected override slotAddress(ref: FdRef<BpfMap>): number {
    return ref.object.address;
  }
  protected sysLookupId(ref: FdRef<BpfMap>): number {
    return ref.id;
  }
  protected hasSysLookup(): boolean {
    return true;
  }
}

/**
 * BPF_MAP_TYPE_CGROUP_ARRAY: cgroups for bpf_skb_under_cgroup and bpf_current_task_under_cgroup (arraymap.c's
 * cgroup_fd_array_*). User space writes a cgroup v2 directory's fd (cgroup_get_from_fd: EBADF for any other
 * file) and cannot read a slot back (no map_fd_sys_lookup_elem: ENOTSUPP).
 */
export class CgroupArrayMap extends FdArrayMap<MapCgroup> {
  /** The cgroup at `index`: undefined for an empty slot or an index past the end. */
  cgroupAt(index: number): MapCgroup | undefined {
    return index < this.maxEntries ? (this.slots[index]?.object ?? undefined) : undefined;
  }

  /**
   * What bpf_skb_under_cgroup and bpf_current_task_under_cgroup answer for slot `index` and an object in cgroup
   * `cgroupId`: -E2BIG past the end, -EAGAIN for an empty slot, else 1 when that cgroup is the slot's or below
   * it (cgroup_is_descendant), 0 when not.
   */
  underCgroup(index: number, cgroupId: bigint): number {
    if (index >= this.maxEntries) return -Errno.E2BIG;
    const cgroup = this.slots[index]?.object;
    if (cgroup === undefined) return -Errno.EAGAIN;
    return cgroup.isAncestorOf(cgroupId) ? 1 : 0;
  }
  protected getPtr(fds: MapFdObjects, ufd: number): FdRef<MapCgroup> | number {
    return fds.cgroupFromFd(ufd);
  }
  protected sysLookupId(): null {
    return null;
  }
  protected hasSysLookup(): boolean {
    return false;
  }
}

function cgroupArrayAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const base = arrayArea(attr, env, owner);
  return base < 0 ? base : new CgroupArrayMap(ops, attr, env, owner, base);
}

function progArrayAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const base = arrayArea(attr, env, owner);
  return base < 0 ? base : new ProgArrayMap(ops, attr, env, owner, base);
}

function perfEventArrayAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const base = arrayArea(attr, env, owner);
  return base < 0 ? base : new PerfEventArrayMap(ops, attr, env, owner, base);
}

/** array_of_map_alloc: the template first (bpf_map_meta_alloc), then the array. */
function arrayOfMapsAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const meta = innerMapMetaAlloc(attr, env);
  if (typeof meta === 'number') return meta;
  const base = arrayArea(attr, env, owner);
  return base < 0 ? base : new ArrayOfMaps(ops, attr, env, owner, base, meta);
}

export const PROG_ARRAY_OPS = defineMapOps(BPF_MAP_TYPE.PROG_ARRAY, 'prog_array', false, fdArrayAllocCheck, progArrayAlloc);
export const PERF_EVENT_ARRAY_OPS = defineMapOps(BPF_MAP_TYPE.PERF_EVENT_ARRAY, 'perf_event_array', false, fdArrayAllocCheck, perfEventArrayAlloc);
export const ARRAY_OF_MAPS_OPS = defineMapOps(BPF_MAP_TYPE.ARRAY_OF_MAPS, 'array_of_maps', false, fdArrayAllocCheck, arrayOfMapsAlloc);
export const CGROUP_ARRAY_OPS = defineMapOps(BPF_MAP_TYPE.CGROUP_ARRAY, 'cgroup_array', false, fdArrayAllocCheck, cgroupArrayAlloc);
