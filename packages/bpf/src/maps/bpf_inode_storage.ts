/**
 * BPF_MAP_TYPE_INODE_STORAGE, as Linux's kernel/bpf/bpf_inode_storage.c over bpf_local_storage.c (see
 * bpf_local_storage.ts): one value per inode, freed when the inode is.
 *
 * User space names an inode by any fd open on it (bpf_fd_inode_storage_*_elem: file_inode of the fd's file,
 * EBADF for no file), so every file works as a key: /dev/null in fixtures/storage.
 */
import type { Inode } from '@ebpf-sim/kernel';
import { BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import { defineMapOps } from './map.js';
import { LocalStorageMap, keyFd, localStorageAllocCheck } from './bpf_local_storage.js';

export class InodeStorageMap extends LocalStorageMap<Inode> {
  protected ownerOfUserKey(key: Uint8Array, keyOff: number): Inode | number {
    return this.fileOfUserFd?.(keyFd(key, keyOff))?.inode ?? -Errno.EBADF;
  }
}

export const INODE_STORAGE_OPS = defineMapOps(
  BPF_MAP_TYPE.INODE_STORAGE,
  'inode_storage',
  true,
  localStorageAllocCheck,
  (ops, attr, env, owner) => new InodeStorageMap(ops, attr, env, owner),
);
