/**
 * BPF_MAP_TYPE_SK_STORAGE, as Linux's net/core/bpf_sk_storage.c over bpf_local_storage.c (see
 * bpf_local_storage.ts): one value per socket.
 *
 * User space names a socket by an fd in the key (bpf_fd_sk_storage_*_elem: sockfd_lookup, EBADF for no file,
 * ENOTSOCK for a file that is not a socket). A socket is its inode (Linux's struct socket_alloc holds both),
 * so a socket file is one whose inode is S_IFSOCK, and that inode is the owner. This kernel creates no sockets
 * yet, so every fd user space has is ENOTSOCK, as Linux answers for /dev/null (fixtures/storage).
 */
import type { File, Inode } from '@ebpf-sim/kernel';
import { BPF_MAP_TYPE, Errno, S_IFMT, S_IFSOCK } from '@ebpf-sim/uapi';
import { defineMapOps } from './map.js';
import { LocalStorageMap, keyFd, localStorageAllocCheck } from './bpf_local_storage.js';

export class SkStorageMap extends LocalStorageMap<Inode> {
  protected ownerOfUserKey(key: Uint8Array, keyOff: number): Inode | number {
    const file: File | undefined = this.fileOfUserFd?.(keyFd(key, keyOff));
    if (file === undefined) return -Errno.EBADF;
    return (file.inode.mode & S_IFMT) === S_IFSOCK ? file.inode : -Errno.ENOTSOCK;
  }
}

export const SK_STORAGE_OPS = defineMapOps(
  BPF_MAP_TYPE.SK_STORAGE,
  'sk_storage',
  true,
  localStorageAllocCheck,
  (ops, attr, env, owner) => new SkStorageMap(ops, attr, env, owner),
);
