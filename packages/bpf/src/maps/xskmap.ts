/**
 * BPF_MAP_TYPE_XSKMAP, as Linux's net/xdp/xskmap.c: AF_XDP sockets that bpf_redirect_map sends XDP frames to,
 * indexed by a u32 (usually the RX queue). User space writes a bound AF_XDP socket's fd; it cannot read a slot
 * back (map_lookup_elem_sys_only: EOPNOTSUPP). A program's lookup gives the socket (or NULL).
 */
import { AF, BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { arrayGetNextKey } from './arraymap.js';
import { BpfMap, defineMapOps, readU32, type MapAttr, type MapEnv, type MapFdObjects, type MapOps } from './map.js';
import { SocketSlots } from './sock_map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

export class XskMap extends BpfMap {
  /** bpf_redirect_map's flags for an XSK map: only the action bits (xsk_map_redirect passes no others). */
  readonly redirectFlagMask = 0;

  constructor(
    ops: MapOps,
    attr: MapAttr,
    env: MapEnv,
    owner: string,
    /** struct xsk_map's xsk_map[]. */
    private readonly socks: SocketSlots,
  ) {
    super(ops, attr, env, owner, attr.maxEntries, false);
  }

  /** __xsk_map_lookup_elem: the socket's address, or 0 for an empty slot or a key past the end. */
  redirectLookup(index: number): number {
    return this.socks.at(index)?.address ?? 0;
  }

  /** xsk_map_lookup_elem from a program: the socket, or NULL. */
  lookup(keyAddr: number, _cpu: number): number {
    return this.redirectLookup(readU32(this.bytes, keyAddr));
  }

  /** xsk_map_lookup_elem_sys_only: user space cannot read an XSK map. */
  protected copyOut(): number {
    return -Errno.EOPNOTSUPP;
  }

  /** Programs cannot update XSK maps (the verifier allows redirect_map and lookups only). */
  protected updateElem(): number {
    return -Errno.EOPNOTSUPP;
  }

  /**
   * xsk_map_update_elem: flags, the key (E2BIG), the fd (sockfd_lookup: EBADF, ENOTSOCK), an AF_XDP socket that
   * is bound (EOPNOTSUPP), then the slot's BPF_NOEXIST / BPF_EXIST test.
   */
  override updateWithFds(key: Uint8Array, value: Uint8Array, flags: number, fds: MapFdObjects): number {
    if (flags >>> 0 > BPF_UPDATE.EXIST) return -Errno.EINVAL;
    const index = readU32(key, 0);
    if (index >= this.maxEntries) return -Errno.E2BIG;
    const ref = fds.socketFromFd(readU32(value, 0));
    if (typeof ref === 'number') return ref;
    const bad = ref.object.family !== AF.XDP || !ref.object.xskBound ? -Errno.EOPNOTSUPP : this.socks.existCheck(index, flags);
    if (bad !== 0) {
      ref.put();
      return bad;
    }
    this.socks.set(index, ref);
    return 0;
  }

  /** xsk_map_delete_elem: EINVAL past the end; an empty slot deletes fine. */
  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const index = readU32(keySrc, keyOff);
    if (index >= this.maxEntries) return -Errno.EINVAL;
    this.socks.set(index, undefined);
    return 0;
  }

  /** xsk_map_get_next_key: array order. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    return arrayGetNextKey(this.maxEntries, key, next);
  }

  /** xsk_map_mem_usage: struct_size(m, xsk_map, max_entries) and a struct xsk_map_node per socket in the map. */
  memUsage(): number {
    return K.xsk_map + this.maxEntries * K.pointer + this.socks.count * K.xsk_map_node;
  }

  free(): void {
    this.socks.free();
  }
}

/** xsk_map_alloc: key 4, value 4 (the socket fd), only the NUMA and access flags. No map_alloc_check: CAP_NET_ADMIN comes first. */
function xskMapAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  const allowed = BPF_MAP_F.NUMA_NODE | BPF_MAP_F.RDONLY | BPF_MAP_F.WRONLY;
  if (attr.maxEntries === 0 || attr.keySize !== 4 || attr.valueSize !== 4 || (attr.mapFlags & ~allowed) !== 0) return -Errno.EINVAL;
  const socks = SocketSlots.alloc(env, owner, K.xsk_map, attr.maxEntries);
  return typeof socks === 'number' ? socks : new XskMap(ops, attr, env, owner, socks);
}

export const XSKMAP_OPS = defineMapOps(BPF_MAP_TYPE.XSKMAP, 'xskmap', false, () => 0, xskMapAlloc);
