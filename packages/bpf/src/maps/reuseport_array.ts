/**
 * BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, as Linux's kernel/bpf/reuseport_array.c: sockets of one SO_REUSEPORT group,
 * indexed by a u32, from which an sk_reuseport program picks the one to take a packet or connection
 * (bpf_sk_select_reuseport). User space writes a socket fd (u32, or u64 when value_size is 8) and, with an 8-byte
 * value, reads back the socket's cookie (else ENOSPC).
 */
import { BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { arrayAllocCheck, arrayGetNextKey } from './arraymap.js';
import { BpfMap, defineMapOps, readU32, type MapAttr, type MapEnv, type MapFdObjects, type MapOps, type MapSocket } from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';
import { SocketSlots, socketOfValue, writeCookie } from './sock_map.js';

export class ReuseportArray extends BpfMap {
  constructor(
    ops: MapOps,
    attr: MapAttr,
    env: MapEnv,
    owner: string,
    /** struct reuseport_array's ptrs[]. */
    private readonly ptrs: SocketSlots,
  ) {
    super(ops, attr, env, owner, attr.maxEntries, false);
  }

  /** reuseport_array_lookup_elem for bpf_sk_select_reuseport: the socket under the u32 key at (src, off), or undefined. */
  socketAtKey(src: Uint8Array, off: number): MapSocket | undefined {
    return this.ptrs.at(readU32(src, off));
  }

  /** bpf_sk_select_reuseport on a socket outside a reuseport group: it was unhashed since (ENOENT). */
  readonly reuseportUngroupedErrno: number = -Errno.ENOENT;

  /** Programs reach the array only through bpf_sk_select_reuseport (check_map_func_compatibility). */
  lookup(_keyAddr: number, _cpu: number): number {
    return 0;
  }

  /** bpf_fd_reuseport_array_lookup_elem: the cookie, only into a u64 value (ENOSPC), ENOENT for none. */
  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    if (this.valueSize !== 8) return -Errno.ENOSPC;
    const sock = this.ptrs.at(readU32(key, 0));
    if (sock === undefined) return -Errno.ENOENT;
    writeCookie(out, sock);
    return 0;
  }

  /** Programs cannot update it; user space goes through {@link updateWithFds}. */
  protected updateElem(): number {
    return -Errno.EOPNOTSUPP;
  }

  /**
   * bpf_fd_reuseport_array_update_elem: flags (EINVAL), the index (E2BIG), the fd (socketOfValue), then
   * reuseport_array_update_check: the slot's BPF_NOEXIST / BPF_EXIST test, a socket outside a reuseport
   * group EINVAL.
   */
  override updateWithFds(key: Uint8Array, value: Uint8Array, flags: number, fds: MapFdObjects): number {
    if (flags >>> 0 > BPF_UPDATE.EXIST) return -Errno.EINVAL;
    const index = readU32(key, 0);
    if (index >= this.maxEntries) return -Errno.E2BIG;
    const ref = socketOfValue(value, this.valueSize, fds, true);
    if (typeof ref === 'number') return ref;
    const bad = this.ptrs.existCheck(index, flags) || (ref.object.inReuseportGroup ? 0 : -Errno.EINVAL);
    if (bad !== 0) {
      ref.put();
      return bad;
    }
    this.ptrs.set(index, ref);
    return 0;
  }

  /** reuseport_array_delete_elem: E2BIG past the end, ENOENT for an empty slot. */
  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const index = readU32(keySrc, keyOff);
    if (index >= this.maxEntries) return -Errno.E2BIG;
    if (this.ptrs.at(index) === undefined) return -Errno.ENOENT;
    this.ptrs.set(index, undefined);
    return 0;
  }

  /** reuseport_array_get_next_key: array order. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    return arrayGetNextKey(this.maxEntries, key, next);
  }

  /** reuseport_array_mem_usage: struct_size(array, ptrs, max_entries). */
  memUsage(): number {
    return K.reuseport_array + this.maxEntries * K.pointer;
  }

  free(): void {
    this.ptrs.free();
  }
}

/** reuseport_array_alloc_check: the value is a u32 or u64 fd, then array_map_alloc_check. */
function reuseportArrayAllocCheck(attr: MapAttr): number {
  if (attr.valueSize !== 4 && attr.valueSize !== 8) return -Errno.EINVAL;
  return arrayAllocCheck(attr);
}

/** reuseport_array_alloc: the struct and a pointer per slot, zeroed (map_create checked CAP_BPF). */
function reuseportArrayAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const ptrs = SocketSlots.alloc(env, owner, K.reuseport_array, attr.maxEntries);
  return typeof ptrs === 'number' ? ptrs : new ReuseportArray(ops, attr, env, owner, ptrs);
}

export const REUSEPORT_SOCKARRAY_OPS = defineMapOps(
  BPF_MAP_TYPE.REUSEPORT_SOCKARRAY,
  'reuseport_sockarray',
  false,
  reuseportArrayAllocCheck,
  reuseportArrayAlloc,
);
