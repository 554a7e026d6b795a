/**
 * BPF_MAP_TYPE_SK_STORAGE, as Linux's net/core/bpf_sk_storage.c over bpf_local_storage.c (see
 * bpf_local_storage.ts): one value per socket.
 *
 * The owner is the socket itself. A program names it by its struct sock's address (a socket pointer:
 * bpf_sk_storage_get/delete, MapEnv.sockAt resolves it); user space by an fd in the key
 * (bpf_fd_sk_storage_*_elem: sockfd_lookup, EBADF for no file, ENOTSOCK for a file that is not a socket).
 *
 * Simplification: Linux frees a socket's values with the socket (bpf_sk_storage_free in __sk_destruct); here
 * they stay with the map until deleted or the map goes (no lookup can reach them: a new socket is another owner).
 */
import { BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import { defineMapOps, type MapAttr, type MapEnv, type MapOps } from './map.js';
import { LocalStorageMap, keyFd, localStorageAllocCheck } from './bpf_local_storage.js';

/** The name of a socket file's operations (the kernel's socket syscalls install every socket with them). */
const SOCKET_FILE_OPS = 'socket';

export class SkStorageMap extends LocalStorageMap<object> {
  private readonly sockAt: MapEnv['sockAt'];

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string) {
    super(ops, attr, env, owner);
    this.sockAt = env.sockAt;
  }

  protected ownerOfUserKey(key: Uint8Array, keyOff: number): object | number {
    const file = this.fileOfUserFd?.(keyFd(key, keyOff));
    if (file === undefined) return -Errno.EBADF;
    // A socket's file holds the socket (sock_from_file: file->private_data).
    return file.ops.name === SOCKET_FILE_OPS && typeof file.privateData === 'object' && file.privateData !== null ? file.privateData : -Errno.ENOTSOCK;
  }

  /** The socket a program's pointer names (its struct sock's address), or undefined for none. */
  ownerAt(address: number): object | undefined {
    return address === 0 ? undefined : this.sockAt?.(address);
  }
}

export const SK_STORAGE_OPS = defineMapOps(
  BPF_MAP_TYPE.SK_STORAGE,
  'sk_storage',
  true,
  localStorageAllocCheck,
  (ops, attr, env, owner) => new SkStorageMap(ops, attr, env, owner),
);
