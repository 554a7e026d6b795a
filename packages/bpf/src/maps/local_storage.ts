/**
 * BPF_MAP_TYPE_CGROUP_STORAGE and BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, as Linux's kernel/bpf/local_storage.c:
 * the storage a cgroup program gets from bpf_get_local_storage, one buffer (or one per CPU) per cgroup and
 * attach type the program is attached to.
 *
 * The key is struct bpf_cgroup_storage_key { u64 cgroup_inode_id; u32 attach_type; } (16 bytes with its
 * padding), or a bare u64 cgroup id, when storages are shared by every attach type of a cgroup; max_entries
 * must be 0 (there is one storage per attachment, not a table). Storages are not created by updates: the
 * attach path allocates one per (program, storage type) with {@link CgroupStorageMap.allocStorage}
 * (bpf_cgroup_storage_alloc) and {@link CgroupStorageMap.link}s it under its key (bpf_cgroup_storage_link);
 * BPF_PROG_TEST_RUN allocates unlinked ones for the run, as bpf_test_run does. User space can then look up and
 * update the linked ones by key and walk them with get_next_key, newest first (list_add); deletion is EINVAL.
 *
 * A program reaches its run's storage through `RunState.cgroupStorage` (shared) and
 * `RunState.percpuCgroupStorage` (per-CPU), which the runner sets to the storages of the attachment being run
 * (Linux's bpf_cg_run_ctx->prog_item->cgroup_storage[stype]).
 */
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { BPF_F_ACCESS_MASK, BpfMap, PCPU_MIN_UNIT_SIZE, defineMapOps, mapFlagsAccessOk, round8, type MapAttr, type MapEnv, type MapOps } from './map.js';
import { LOCAL_STORAGE_MAX_VALUE_SIZE } from './bpf_local_storage.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** sizeof(struct bpf_cgroup_storage_key): u64 cgroup_inode_id, u32 attach_type, 4 bytes of padding. */
export const CGROUP_STORAGE_KEY_SIZE = 16;
/** A key of only the cgroup id: one storage per cgroup, whatever the attach type. */
const CGROUP_ID_KEY_SIZE = 8;
/** LOCAL_STORAGE_CREATE_FLAG_MASK of local_storage.c. */
const CGROUP_STORAGE_CREATE_FLAG_MASK = BPF_MAP_F.NUMA_NODE | BPF_F_ACCESS_MASK;

/** cgroup_storage_map_alloc's checks, in its order. */
function cgroupStorageAllocCheck(attr: MapAttr): number {
  // A per-CPU storage is bound by the per-CPU allocator's unit.
  const maxValueSize =
    attr.mapType === BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE ? Math.min(LOCAL_STORAGE_MAX_VALUE_SIZE, PCPU_MIN_UNIT_SIZE) : LOCAL_STORAGE_MAX_VALUE_SIZE;
  if (attr.keySize !== CGROUP_STORAGE_KEY_SIZE && attr.keySize !== CGROUP_ID_KEY_SIZE) return -Errno.EINVAL;
  if (attr.valueSize === 0) return -Errno.EINVAL;
  if (attr.valueSize > maxValueSize) return -Errno.E2BIG;
  if ((attr.mapFlags & ~CGROUP_STORAGE_CREATE_FLAG_MASK) !== 0 || !mapFlagsAccessOk(attr.mapFlags)) return -Errno.EINVAL;
  // max_entries is per cgroup, so 0.
  if (attr.maxEntries !== 0) return -Errno.EINVAL;
  return 0;
}

/** The little-endian u32 at `off` of a key (bytes past its end read as 0). */
const u32At = (key: Uint8Array, off: number): number =>
  ((key[off] ?? 0) | ((key[off + 1] ?? 0) << 8) | ((key[off + 2] ?? 0) << 16) | ((key[off + 3] ?? 0) << 24)) >>> 0;

/** One storage (struct bpf_cgroup_storage): its buffer and, once linked, its key. */
export interface CgroupStorage {
  /** Physical address of the value (of CPU 0's slot for a per-CPU storage; CPU n's is n × round8(value_size) on). */
  readonly address: number;
  /** The cgroup's id (cgroup_inode_id) and attach type it is linked under; -1 while unlinked. */
  cgroupId: number;
  attachType: number;
}

export class CgroupStorageMap extends BpfMap {
  /** Linked storages, newest first (the map's list: bpf_cgroup_storage_link does list_add). */
  private readonly linked: CgroupStorage[] = [];
  /** Every storage allocated and not yet freed (linked or held by a run). */
  private readonly allocated = new Set<CgroupStorage>();
  private readonly percpu: boolean;
  /** Bytes of one storage: round8(value_size) per CPU for per-CPU storages, value_size rounded to 8 otherwise. */
  private readonly storageBytes: number;

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string) {
    const percpu = attr.mapType === BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE;
    super(ops, attr, env, owner, 0, percpu);
    this.percpu = percpu;
    this.storageBytes = percpu ? round8(attr.valueSize) * env.nrCpus : round8(attr.valueSize);
  }

  /** Storages linked under a key (user space sees these). */
  get size(): number {
    return this.linked.length;
  }

  /** bpf_cgroup_storage_alloc: a zeroed storage for one attachment (or one test run), not linked; null without memory. */
  allocStorage(): CgroupStorage | null {
    const address = this.mem.kmalloc(this.storageBytes, this.owner);
    if (address < 0) return null;
    this.bytes.fill(0, address, address + this.storageBytes);
    const storage: CgroupStorage = { address, cgroupId: -1, attachType: -1 };
    this.allocated.add(storage);
    return storage;
  }

  /** bpf_cgroup_storage_link: make `storage` the one of (cgroupId, attachType), first in get_next_key's walk. */
  link(storage: CgroupStorage, cgroupId: number, attachType: number): void {
    storage.cgroupId = cgroupId;
    storage.attachType = attachType;
    this.linked.unshift(storage);
  }

  /** cgroup_storage_lookup by (cgroup id, attach type): the storage linked there, as bpf_cgroup_storages_alloc reuses it. */
  storageOf(cgroupId: number, attachType: number): CgroupStorage | undefined {
    return this.linked.find((storage) => storage.cgroupId === cgroupId && storage.attachType === attachType);
  }

  /** bpf_cgroup_storage_unlink. */
  unlink(storage: CgroupStorage): void {
    const at = this.linked.indexOf(storage);
    if (at >= 0) this.linked.splice(at, 1);
    storage.cgroupId = storage.attachType = -1;
  }

  /** bpf_cgroup_storage_free: unlinked if it was, its memory given back. */
  freeStorage(storage: CgroupStorage): void {
    if (!this.allocated.delete(storage)) return;
    this.unlink(storage);
    this.mem.kfree(storage.address);
  }

  /** What bpf_get_local_storage returns for `storage` on `cpu`: the buffer, or this CPU's slot of it. */
  valueOn(storage: CgroupStorage, cpu: number): number {
    return this.percpu ? storage.address + cpu * round8(this.valueSize) : storage.address;
  }

  /** cgroup_storage_lookup: the linked storage of `key` (a full key compares the attach type too). */
  private find(key: Uint8Array, off: number): CgroupStorage | undefined {
    const cgroupId = u32At(key, off) + u32At(key, off + 4) * 0x100000000;
    const attachType = this.keySize === CGROUP_STORAGE_KEY_SIZE ? u32At(key, off + 8) : -1;
    for (const storage of this.linked) {
      if (storage.cgroupId === cgroupId && (attachType < 0 || storage.attachType === attachType)) return storage;
    }
    return undefined;
  }

  /** Programs get their storage from bpf_get_local_storage; map_lookup_elem is refused them by the verifier. */
  lookup(): number {
    return 0;
  }

  /** cgroup_storage_lookup_elem / bpf_percpu_cgroup_storage_copy: the value, every CPU's slot for per-CPU. */
  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    const storage = this.find(key, 0);
    if (storage === undefined) return -Errno.ENOENT;
    if (this.percpu) this.copyToUser(out, 0, storage.address, this.storageBytes);
    else this.copyToUser(out, 0, storage.address, this.valueSize);
    return 0;
  }

  /**
   * cgroup_storage_update_elem (flags BPF_ANY, BPF_EXIST, BPF_F_LOCK with a lock) and
   * bpf_percpu_cgroup_storage_update (BPF_ANY, BPF_EXIST): an existing storage's value; ENOENT for a key no
   * attachment has.
   */
  protected updateElem(keySrc: Uint8Array, keyOff: number, valSrc: Uint8Array, valOff: number, flags: number): number {
    if (this.percpu) {
      if (flags !== BPF_UPDATE.ANY && flags !== BPF_UPDATE.EXIST) return -Errno.EINVAL;
    } else {
      if ((flags & ~(BPF_UPDATE.F_LOCK | BPF_UPDATE.EXIST)) !== 0) return -Errno.EINVAL;
      if ((flags & BPF_UPDATE.F_LOCK) !== 0 && this.spinLockOff < 0) return -Errno.EINVAL;
    }
    const storage = this.find(keySrc, keyOff);
    if (storage === undefined) return -Errno.ENOENT;
    if (!this.percpu) {
      this.copyIn(storage.address, valSrc, valOff, this.valueSize);
      return 0;
    }
    // Each CPU's slot from its round8(value_size) bytes of the user's buffer.
    const slot = round8(this.valueSize);
    for (let cpu = 0; cpu * slot < this.storageBytes; cpu++) this.copyRange(storage.address + cpu * slot, valSrc, valOff + cpu * slot, this.valueSize);
    return 0;
  }

  /** cgroup_storage_delete_elem: storages go with their attachment, never by key. */
  protected deleteElem(): number {
    return -Errno.EINVAL;
  }

  /** cgroup_storage_get_next_key: the linked storages newest first; ENOENT when empty, for an unknown key, after the last. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    if (this.linked.length === 0) return -Errno.ENOENT;
    let at = 0;
    if (key !== null) {
      const storage = this.find(key, 0);
      if (storage === undefined) return -Errno.ENOENT;
      at = this.linked.indexOf(storage) + 1;
      if (at >= this.linked.length) return -Errno.ENOENT;
    }
    const storage = this.linked[at]!;
    const view = new DataView(next.buffer, next.byteOffset, this.keySize);
    next.fill(0);
    view.setUint32(0, storage.cgroupId >>> 0, true);
    view.setUint32(4, Math.floor(storage.cgroupId / 0x100000000), true);
    if (this.keySize === CGROUP_STORAGE_KEY_SIZE) view.setUint32(8, storage.attachType, true);
    return 0;
  }

  /** cgroup_storage_map_usage: the struct only (the storages are charged to the cgroups, not counted). */
  memUsage(): number {
    return K.bpf_cgroup_storage_map;
  }

  free(): void {
    for (const storage of this.allocated) this.mem.kfree(storage.address);
    this.allocated.clear();
    this.linked.length = 0;
  }
}

const alloc = (ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap => new CgroupStorageMap(ops, attr, env, owner);

export const CGROUP_STORAGE_OPS = defineMapOps(BPF_MAP_TYPE.CGROUP_STORAGE, 'cgroup_storage', true, cgroupStorageAllocCheck, alloc);
export const PERCPU_CGROUP_STORAGE_OPS = defineMapOps(BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE, 'percpu_cgroup_storage', false, cgroupStorageAllocCheck, alloc);
