/**
 * BPF_MAP_TYPE_CGRP_STORAGE, as Linux's kernel/bpf/bpf_cgrp_storage.c over bpf_local_storage.c (see
 * bpf_local_storage.ts): one value per cgroup, freed when the cgroup is (bpf_cgrp_storage_free: the cgroup
 * attach code calls {@link CgrpStorageMap.cgroupGone} for every such map at rmdir).
 *
 * User space names a cgroup by an fd of its cgroupfs directory (cgroup_v1v2_get_from_fd: EBADF for no file and
 * for a file that is not a cgroup directory, as Linux answers for /dev/null: fixtures/storage). Programs name it
 * by a struct cgroup pointer (bpf_cgrp_storage_get's PTR_TO_BTF_ID argument: a tp_btf/cgroup_mkdir argument, for
 * one), which {@link CgrpStorageMap.ownerAt} resolves to the cgroup whose struct it is.
 */
import { BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import { defineMapOps, type MapAttr, type MapEnv, type MapOps } from './map.js';
import { LocalStorageMap, keyFd, localStorageAllocCheck } from './bpf_local_storage.js';

/** A cgroup as a storage owner: the kernel's cgroup object, compared by identity. */
export type CgroupOwner = object;

export class CgrpStorageMap extends LocalStorageMap<CgroupOwner> {
  private readonly cgroupOfFile: MapEnv['cgroupOfFile'];
  private readonly cgroupAt: MapEnv['cgroupAt'];

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string) {
    super(ops, attr, env, owner);
    this.cgroupOfFile = env.cgroupOfFile;
    this.cgroupAt = env.cgroupAt;
  }

  /** cgroup_v1v2_get_from_fd: the cgroup of a cgroupfs directory fd, else EBADF. */
  protected ownerOfUserKey(key: Uint8Array, keyOff: number): CgroupOwner | number {
    const file = this.fileOfUserFd?.(keyFd(key, keyOff));
    return (file === undefined ? undefined : this.cgroupOfFile?.(file)) ?? -Errno.EBADF;
  }

  /** The cgroup a program's struct cgroup pointer names (undefined: none, which the helpers treat as NULL). */
  ownerAt(address: number): CgroupOwner | undefined {
    return this.cgroupAt?.(address);
  }

  /** bpf_cgrp_storage_free for this map: the cgroup is gone, and its value with it. */
  cgroupGone(cgroup: CgroupOwner): void {
    this.ownerGone(cgroup);
  }
}

export const CGRP_STORAGE_OPS = defineMapOps(
  BPF_MAP_TYPE.CGRP_STORAGE,
  'cgrp_storage',
  true,
  localStorageAllocCheck,
  (ops, attr, env, owner) => new CgrpStorageMap(ops, attr, env, owner),
);
