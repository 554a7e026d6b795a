/**
 * BPF_MAP_TYPE_TASK_STORAGE, as Linux's kernel/bpf/bpf_task_storage.c over bpf_local_storage.c: one value
 * per task, created on demand (BPF_F_NO_PREALLOC is required, max_entries must be 0), freed with the task.
 *
 * BTF: Linux refuses a local-storage map without btf_key_type_id and btf_value_type_id (EINVAL, "Enforce BTF
 * for userspace sk dumping"), so the allocation check here does too. Until BTF_LOAD exists the bpf() syscall
 * refuses any BTF type id before it gets here, so TASK_STORAGE cannot be created through bpf() yet — the
 * answer Linux gives a loader without BTF. When BTF_LOAD lands, the syscall passes the ids on in
 * `MapAttr.btfKeyTypeId` / `btfValueTypeId` and this type is reachable unchanged.
 *
 * User space names a task by a pidfd in Linux (pidfd_get_pid: EBADF for no file). This kernel has no
 * pidfd_open yet, so the key goes through `MapEnv.taskOfUserKey`, which the syscall provides (a pidfd when
 * the kernel has them; for now, the pid); without a resolver every user-space key is EBADF.
 *
 * Each task's value is its own allocation in kernel memory (value_size rounded to 8), charged to the map.
 */
import type { Task } from '@ebpf-sim/kernel';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { BpfMap, ENOTSUPP, defineMapOps, round8, updateFlagsInvalid, type MapAttr, type MapEnv, type MapOps } from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** BPF_LOCAL_STORAGE_CREATE_FLAG_MASK. */
const LOCAL_STORAGE_CREATE_FLAG_MASK = BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.CLONE;
/**
 * BPF_LOCAL_STORAGE_MAX_VALUE_SIZE: U16_MAX - sizeof(struct bpf_local_storage_elem), the element being 128
 * bytes on x86_64 (its data cacheline-aligned after the list nodes).
 */
export const LOCAL_STORAGE_MAX_VALUE_SIZE = 0xffff - 128;
/** BPF_LOCAL_STORAGE_GET_F_CREATE: bpf_task_storage_get creates the value when the task has none. */
export const BPF_LOCAL_STORAGE_GET_F_CREATE = 1;

/** bpf_local_storage_map_alloc_check. */
function taskStorageAllocCheck(attr: MapAttr): number {
  if ((attr.mapFlags & ~LOCAL_STORAGE_CREATE_FLAG_MASK) !== 0 || (attr.mapFlags & BPF_MAP_F.NO_PREALLOC) === 0) return -Errno.EINVAL;
  if (attr.maxEntries !== 0 || attr.keySize !== 4 || attr.valueSize === 0) return -Errno.EINVAL;
  if ((attr.btfKeyTypeId ?? 0) === 0 || (attr.btfValueTypeId ?? 0) === 0) return -Errno.EINVAL;
  if (attr.valueSize > LOCAL_STORAGE_MAX_VALUE_SIZE) return -Errno.E2BIG;
  return 0;
}

export class TaskStorageMap extends BpfMap {
  /** Each task's value (physical address). */
  private readonly values = new Map<Task, number>();
  private readonly taskOfUserKey: MapEnv['taskOfUserKey'];
  private readonly phys: MapEnv['phys'];

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string) {
    super(ops, attr, env, owner, 0, false);
    this.taskOfUserKey = env.taskOfUserKey;
    this.phys = env.phys;
  }

  /** Tasks holding a value. */
  get size(): number {
    return this.values.size;
  }

  /** The task user space's key names (the key's first 4 bytes, a pidfd in Linux), or -errno. */
  private taskOf(key: Uint8Array, keyOff: number): Task | number {
    const resolve = this.taskOfUserKey;
    if (resolve === undefined) return -Errno.EBADF;
    return resolve(key[keyOff]! | (key[keyOff + 1]! << 8) | (key[keyOff + 2]! << 16) | (key[keyOff + 3]! << 24));
  }

  /**
   * bpf_local_storage_update for `task`: BPF_NOEXIST on a present value EEXIST, BPF_EXIST on an absent one
   * ENOENT, unknown flags (or BPF_F_LOCK without a lock) EINVAL, ENOMEM when memory is out.
   */
  private store(task: Task, src: Uint8Array | null, srcOff: number, flags: number): number {
    if (updateFlagsInvalid(flags, true) || ((flags & BPF_UPDATE.F_LOCK) !== 0 && this.spinLockOff < 0)) return -Errno.EINVAL;
    const mode = flags & ~BPF_UPDATE.F_LOCK;
    let value = this.values.get(task);
    if (value !== undefined && mode === BPF_UPDATE.NOEXIST) return -Errno.EEXIST;
    if (value === undefined) {
      if (mode === BPF_UPDATE.EXIST) return -Errno.ENOENT;
      value = this.phys.kmalloc(round8(this.valueSize), this.owner);
      if (value < 0) return -Errno.ENOMEM;
      this.bytes.fill(0, value, value + round8(this.valueSize));
      this.values.set(task, value);
    }
    // A value created without a source (bpf_task_storage_get with a NULL value) stays zeroed.
    if (src !== null) this.copyIn(value, src, srcOff, this.valueSize);
    return 0;
  }

  // --- program side (the task_storage helpers; the verifier keeps map_lookup_elem and friends away) ---

  /**
   * bpf_task_storage_get(map, task, value, flags): the task's value, created from `valueAddr` (zeroed for 0)
   * with BPF_LOCAL_STORAGE_GET_F_CREATE when it has none; 0 (NULL) for no task, unknown flags, or none.
   */
  storageGet(task: Task | undefined, valueAddr: number, flags: number): number {
    if ((flags & ~BPF_LOCAL_STORAGE_GET_F_CREATE) !== 0 || flags < 0 || task === undefined) return 0;
    const value = this.values.get(task);
    if (value !== undefined || (flags & BPF_LOCAL_STORAGE_GET_F_CREATE) === 0) return value ?? 0;
    const created = this.store(task, valueAddr === 0 ? null : this.bytes, valueAddr, BPF_UPDATE.NOEXIST);
    return created === 0 ? this.values.get(task)! : 0;
  }

  /** bpf_task_storage_delete(map, task): 0, -ENOENT when the task has no value, -EINVAL for no task. */
  storageDelete(task: Task | undefined): number {
    if (task === undefined) return -Errno.EINVAL;
    return this.drop(task);
  }

  /** bpf_task_storage_free for this map: the task is gone, and its value with it. */
  taskExited(task: Task): void {
    this.drop(task);
  }

  private drop(task: Task): number {
    const value = this.values.get(task);
    if (value === undefined) return -Errno.ENOENT;
    this.values.delete(task);
    this.phys.kfree(value);
    return 0;
  }

  /** task_storage_map's map_lookup_elem is for user space only; programs use bpf_task_storage_get. */
  lookup(): number {
    return 0;
  }

  // --- syscall side (bpf_pid_task_storage_*_elem) ---

  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    const task = this.taskOf(key, 0);
    if (typeof task === 'number') return task;
    const value = this.values.get(task);
    if (value === undefined) return -Errno.ENOENT;
    this.copyToUser(out, 0, value, this.valueSize);
    return 0;
  }

  protected updateElem(keySrc: Uint8Array, keyOff: number, valSrc: Uint8Array, valOff: number, flags: number): number {
    const task = this.taskOf(keySrc, keyOff);
    if (typeof task === 'number') return task;
    return this.store(task, valSrc, valOff, flags);
  }

  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const task = this.taskOf(keySrc, keyOff);
    if (typeof task === 'number') return task;
    return this.drop(task);
  }

  /** notsupp_get_next_key: local storage cannot be iterated by key. */
  getNextKey(_key: Uint8Array | null, _next: Uint8Array): number {
    return -ENOTSUPP;
  }

  /** bpf_local_storage_map_mem_usage: the struct and its buckets (the next power of two of the CPUs, at least 2). */
  memUsage(): number {
    let buckets = 2;
    while (buckets < this.nrCpuIds) buckets *= 2;
    return K.bpf_local_storage_map + K.local_storage_bucket * buckets;
  }

  free(): void {
    for (const value of this.values.values()) this.phys.kfree(value);
    this.values.clear();
  }
}

export const TASK_STORAGE_OPS = defineMapOps(
  BPF_MAP_TYPE.TASK_STORAGE,
  'task_storage',
  true,
  taskStorageAllocCheck,
  (ops, attr, env, owner) => new TaskStorageMap(ops, attr, env, owner),
);
