/**
 * What the local storage maps share, as Linux's kernel/bpf/bpf_local_storage.c: a value per owner object (a
 * socket for SK_STORAGE, an inode for INODE_STORAGE, a task for TASK_STORAGE, a cgroup for CGRP_STORAGE),
 * created on demand, freed with its owner or on delete. Each type's file (bpf_sk_storage.ts,
 * bpf_inode_storage.ts, bpf_task_storage.ts, bpf_cgrp_storage.ts) says what its owner is and how user space
 * names one: by an fd in its key (a socket fd, any fd of the inode, a pidfd, a cgroup directory fd), resolved
 * for the task making the bpf() call.
 *
 * Linux hangs the values off the owner (sk->sk_bpf_storage, inode's i_security blob, task->bpf_storage,
 * cgroup->bpf_cgrp_storage) and links them into the map's buckets; here the map keeps them in one JavaScript
 * map from owner to value. Each value is its own allocation in kernel memory (value_size rounded to 8), charged
 * to the map, so a program reads and writes it in place.
 *
 * BTF: bpf_local_storage_map_alloc_check refuses a map without btf_key_type_id and btf_value_type_id ("Enforce
 * BTF for userspace sk dumping"), and bpf_local_storage_map_check_btf wants the key to be a 32-bit int.
 */
import { BPF_MAP_F, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { BpfMap, ENOTSUPP, round8, updateFlagsInvalid, type MapAttr, type MapEnv, type MapOps } from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** BPF_LOCAL_STORAGE_CREATE_FLAG_MASK. */
const LOCAL_STORAGE_CREATE_FLAG_MASK = BPF_MAP_F.NO_PREALLOC | BPF_MAP_F.CLONE;
/**
 * BPF_LOCAL_STORAGE_MAX_VALUE_SIZE: U16_MAX - sizeof(struct bpf_local_storage_elem), the element being 128
 * bytes on x86_64 (its data cacheline-aligned after the list nodes).
 */
export const LOCAL_STORAGE_MAX_VALUE_SIZE = 0xffff - 128;
/** BPF_LOCAL_STORAGE_GET_F_CREATE (= BPF_SK_STORAGE_GET_F_CREATE): the *_storage_get helpers create the value when the owner has none. */
export const BPF_LOCAL_STORAGE_GET_F_CREATE = 1;

/** bpf_local_storage_map_alloc_check: every local storage type's create checks. */
export function localStorageAllocCheck(attr: MapAttr): number {
  if ((attr.mapFlags & ~LOCAL_STORAGE_CREATE_FLAG_MASK) !== 0 || (attr.mapFlags & BPF_MAP_F.NO_PREALLOC) === 0) return -Errno.EINVAL;
  if (attr.maxEntries !== 0 || attr.keySize !== 4 || attr.valueSize === 0) return -Errno.EINVAL;
  if ((attr.btfKeyTypeId ?? 0) === 0 || (attr.btfValueTypeId ?? 0) === 0) return -Errno.EINVAL;
  if (attr.valueSize > LOCAL_STORAGE_MAX_VALUE_SIZE) return -Errno.E2BIG;
  return 0;
}

/** The 32-bit little-endian fd at the start of a user-space key. */
export const keyFd = (key: Uint8Array, off: number): number => key[off]! | (key[off + 1]! << 8) | (key[off + 2]! << 16) | (key[off + 3]! << 24);

/**
 * A local storage map over owners of type `O` (compared by identity). Subclasses resolve user space's key to
 * an owner ({@link ownerOfUserKey}).
 */
export abstract class LocalStorageMap<O> extends BpfMap {
  /** Each owner's value (physical address). */
  private readonly values = new Map<O, number>();
  /** fdget in the calling task, for the types whose user-space keys are fds of files (MapEnv.fileOfUserFd). */
  protected readonly fileOfUserFd: MapEnv['fileOfUserFd'];

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string) {
    super(ops, attr, env, owner, 0, false);
    this.fileOfUserFd = env.fileOfUserFd;
  }

  /** Owners holding a value. */
  get size(): number {
    return this.values.size;
  }

  /** The owner user space's key names (its first 4 bytes are an fd), or -errno. */
  protected abstract ownerOfUserKey(key: Uint8Array, keyOff: number): O | number;

  /**
   * bpf_local_storage_update for `owner`: BPF_NOEXIST on a present value EEXIST, BPF_EXIST on an absent one
   * ENOENT, unknown flags (or BPF_F_LOCK without a lock) EINVAL, ENOMEM when memory is out.
   */
  private store(owner: O, src: Uint8Array | null, srcOff: number, flags: number): number {
    if (updateFlagsInvalid(flags, true) || ((flags & BPF_UPDATE.F_LOCK) !== 0 && this.spinLockOff < 0)) return -Errno.EINVAL;
    const mode = flags & ~BPF_UPDATE.F_LOCK;
    let value = this.values.get(owner);
    if (value !== undefined && mode === BPF_UPDATE.NOEXIST) return -Errno.EEXIST;
    if (value === undefined) {
      if (mode === BPF_UPDATE.EXIST) return -Errno.ENOENT;
      value = this.mem.kmalloc(round8(this.valueSize), this.owner);
      if (value < 0) return -Errno.ENOMEM;
      this.bytes.fill(0, value, value + round8(this.valueSize));
      this.values.set(owner, value);
    }
    // A value created without a source (a *_storage_get with a NULL value) stays zeroed.
    if (src !== null) this.copyIn(value, src, srcOff, this.valueSize);
    return 0;
  }

  // --- program side (the *_storage_get / *_storage_delete helpers; the verifier keeps map_lookup_elem away) ---

  /**
   * bpf_*_storage_get(map, owner, value, flags): the owner's value, created from `valueAddr` (zeroed for 0)
   * with BPF_LOCAL_STORAGE_GET_F_CREATE when it has none; 0 (NULL) for no owner, unknown flags, or none.
   */
  storageGet(owner: O | undefined, valueAddr: number, flags: number): number {
    if ((flags & ~BPF_LOCAL_STORAGE_GET_F_CREATE) !== 0 || flags < 0 || owner === undefined) return 0;
    const value = this.values.get(owner);
    if (value !== undefined || (flags & BPF_LOCAL_STORAGE_GET_F_CREATE) === 0) return value ?? 0;
    const created = this.store(owner, valueAddr === 0 ? null : this.bytes, valueAddr, BPF_UPDATE.NOEXIST);
    return created === 0 ? this.values.get(owner)! : 0;
  }

  /** bpf_*_storage_delete(map, owner): 0, -ENOENT when the owner has no value, -EINVAL for no owner. */
  storageDelete(owner: O | undefined): number {
    if (owner === undefined) return -Errno.EINVAL;
    return this.drop(owner);
  }

  /** bpf_*_storage_free for this map: the owner is gone (socket destroyed, inode evicted, task freed, cgroup released). */
  ownerGone(owner: O): void {
    this.drop(owner);
  }

  private drop(owner: O): number {
    const value = this.values.get(owner);
    if (value === undefined) return -Errno.ENOENT;
    this.values.delete(owner);
    this.mem.kfree(value);
    return 0;
  }

  /** A local storage map's map_lookup_elem is for user space only; programs use the *_storage_get helpers. */
  lookup(): number {
    return 0;
  }

  // --- syscall side (bpf_fd_*_storage_*_elem) ---

  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    const owner = this.ownerOfUserKey(key, 0);
    if (typeof owner === 'number') return owner;
    const value = this.values.get(owner);
    if (value === undefined) return -Errno.ENOENT;
    this.copyToUser(out, 0, value, this.valueSize);
    return 0;
  }

  protected updateElem(keySrc: Uint8Array, keyOff: number, valSrc: Uint8Array, valOff: number, flags: number): number {
    // map_update_elem refuses BPF_F_LOCK on a value without a lock before the type's op resolves the key.
    if ((flags & BPF_UPDATE.F_LOCK) !== 0 && this.spinLockOff < 0) return -Errno.EINVAL;
    const owner = this.ownerOfUserKey(keySrc, keyOff);
    if (typeof owner === 'number') return owner;
    return this.store(owner, valSrc, valOff, flags);
  }

  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const owner = this.ownerOfUserKey(keySrc, keyOff);
    if (typeof owner === 'number') return owner;
    return this.drop(owner);
  }

  /** notsupp_get_next_key: local storage cannot be iterated by key. */
  getNextKey(_key: Uint8Array | null, _next: Uint8Array): number {
    return -ENOTSUPP;
  }

  /**
   * bpf_local_storage_map_mem_usage: the struct and its buckets (the next power of two of the CPUs, at least
   * 2); the values are charged to their owners' memory cgroup, not counted here.
   */
  memUsage(): number {
    let buckets = 2;
    while (buckets < this.nrCpuIds) buckets *= 2;
    return K.bpf_local_storage_map + K.local_storage_bucket * buckets;
  }

  free(): void {
    for (const value of this.values.values()) this.mem.kfree(value);
    this.values.clear();
  }
}
