/**
 * BPF_MAP_TYPE_CGRP_STORAGE, as Linux's kernel/bpf/bpf_cgrp_storage.c over bpf_local_storage.c (see
 * bpf_local_storage.ts): one value per cgroup, freed when the cgroup is.
 *
 * User space names a cgroup by an fd of its cgroupfs directory (cgroup_v1v2_get_from_fd: EBADF for no file and
 * for a file that is not a cgroup directory). This kernel has no cgroup file system yet, so no fd is a cgroup
 * directory and every key is EBADF, as Linux answers for /dev/null (fixtures/storage). `ownerGone` is
 * bpf_cgrp_storage_free for when cgroups exist; programs reach values through bpf_cgrp_storage_get.
 */
import { BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import { defineMapOps } from './map.js';
import { LocalStorageMap, localStorageAllocCheck } from './bpf_local_storage.js';

/** A cgroup as a storage owner: compared by identity (the kernel's cgroup object, once it has one). */
export type CgroupOwner = object;

export class CgrpStorageMap extends LocalStorageMap<CgroupOwner> {
  /**
   * cgroup_v1v2_get_from_fd: only a cgroupfs directory names a cgroup, and this kernel mounts none, so every fd
   * (a file or none) is EBADF.
   */
  protected ownerOfUserKey(_key: Uint8Array, _keyOff: number): CgroupOwner | number {
    return -Errno.EBADF;
  }
}

export const CGRP_STORAGE_OPS = defineMapOps(
  BPF_MAP_TYPE.CGRP_STORAGE,
  'cgrp_storage',
  true,
  localStorageAllocCheck,
  (ops, attr, env, owner) => new CgrpStorageMap(ops, attr, env, owner),
);
