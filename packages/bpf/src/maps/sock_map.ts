/**
 * BPF_MAP_TYPE_SOCKMAP and BPF_MAP_TYPE_SOCKHASH, as Linux's net/core/sock_map.c: sockets that sk_skb and sk_msg
 * programs redirect to (bpf_sk_redirect_map/hash, bpf_msg_redirect_map/hash) and that sock_ops programs add
 * (bpf_sock_map_update, bpf_sock_hash_update). SOCKMAP is an array of sockets keyed by a u32, SOCKHASH a hash
 * of them keyed by any bytes (jhash with the fixed seed S32_MAX into roundup_pow_of_two(max_entries) buckets,
 * new elements at the head of their bucket, get_next_key in that order, as Linux).
 *
 * User space writes a socket's fd (a u32, or a u64 when value_size is 8: above S32_MAX EINVAL; sockfd_lookup's
 * EBADF / ENOTSOCK; an unsuitable socket EOPNOTSUPP) and, when value_size is 8, reads back the socket's cookie
 * (else ENOSPC). Programs look sockets up (a struct sock pointer, or NULL).
 */
import type { KernelMemory } from '@ebpf-sim/kernel';
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { arrayGetNextKey } from './arraymap.js';
import { jhash } from './jhash.js';
import {
  BpfMap,
  defineMapOps,
  MAP_AREA_MAX,
  readU32,
  round8,
  type FdRef,
  type MapAttr,
  type MapEnv,
  type MapFdObjects,
  type MapOps,
  type MapSocket,
} from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** SOCK_CREATE_FLAG_MASK. */
const SOCK_CREATE_FLAG_MASK = BPF_MAP_F.NUMA_NODE | BPF_MAP_F.RDONLY | BPF_MAP_F.WRONLY;
/** S32_MAX: the largest fd a u64 value may name, and sock_hash_bucket_hash's jhash seed. */
const S32_MAX = 0x7fffffff;
/** MAX_BPF_STACK: the largest SOCKHASH key (E2BIG above). */
const MAX_BPF_STACK = 512;

/**
 * The fd in a user-space value, then sockfd_lookup. sock_map_update_elem_sys reads a u64 (8-byte value) or a u32
 * and refuses any above S32_MAX (EINVAL); bpf_fd_reuseport_array_update_elem does so for a u64 only and takes a
 * u32 as an int, whose negative values no fd has (EBADF).
 */
export function socketOfValue(value: Uint8Array, valueSize: number, fds: MapFdObjects, u32AsInt: boolean): FdRef<MapSocket> | number {
  const fd = readU32(value, 0);
  const wide = valueSize === 8 && readU32(value, 4) !== 0;
  if (wide || (fd > S32_MAX && (valueSize === 8 || !u32AsInt))) return -Errno.EINVAL;
  if (fd > S32_MAX) return -Errno.EBADF;
  return fds.socketFromFd(fd);
}

/** Copy a socket's cookie to user space's 8-byte value (sock_map_lookup_sys, bpf_fd_reuseport_array_lookup_elem). */
export function writeCookie(out: Uint8Array, sock: MapSocket): void {
  new DataView(out.buffer, out.byteOffset, 8).setBigUint64(0, sock.cookie, true);
}

/**
 * An array of socket pointers in kernel memory (stab->sks, xsk_map's xsk_map[], reuseport_array's ptrs[]) with
 * the references behind them: what SOCKMAP, XSKMAP and REUSEPORT_SOCKARRAY share. The area is
 * bpf_map_area_alloc'd by {@link SocketSlots.alloc} with `header` bytes of struct before the pointers.
 */
export class SocketSlots {
  private readonly refs: Array<FdRef<MapSocket> | undefined>;
  /** The sockets held (xsk_map's m->count). */
  count = 0;

  private constructor(
    private readonly mem: KernelMemory,
    private readonly area: number,
    private readonly header: number,
    readonly length: number,
  ) {
    this.refs = new Array<FdRef<MapSocket> | undefined>(length);
  }

  /** The area for `length` pointers after `header` bytes, zeroed and charged to `owner`; -ENOMEM when too large. */
  static alloc(env: MapEnv, owner: string, header: number, length: number): SocketSlots | number {
    const size = header + length * K.pointer;
    if (size >= MAP_AREA_MAX) return -Errno.ENOMEM;
    const area = env.phys.kmalloc(size, owner);
    if (area < 0) return -Errno.ENOMEM;
    env.phys.bytes.fill(0, area, area + size);
    return new SocketSlots(env.phys, area, header, length);
  }

  /** The socket at `index`, or undefined for an empty slot or an index past the end. */
  at(index: number): MapSocket | undefined {
    return index < this.length ? this.refs[index]?.object : undefined;
  }

  /** The update flags' test against the slot: BPF_NOEXIST on a full one EEXIST, BPF_EXIST on an empty one ENOENT. */
  existCheck(index: number, flags: number): number {
    const full = this.refs[index] !== undefined;
    if (full && flags === BPF_UPDATE.NOEXIST) return -Errno.EEXIST;
    if (!full && flags === BPF_UPDATE.EXIST) return -Errno.ENOENT;
    return 0;
  }

  /** xchg(slot, socket): the pointer written, the old socket's reference put. */
  set(index: number, ref: FdRef<MapSocket> | undefined): void {
    const old = this.refs[index];
    this.refs[index] = ref;
    this.count += (ref === undefined ? 0 : 1) - (old === undefined ? 0 : 1);
    this.mem.view.setBigUint64(this.area + this.header + index * K.pointer, BigInt(ref?.object.address ?? 0), true);
    old?.put();
  }

  /** Every socket put and the area freed (map_free). */
  free(): void {
    for (let i = 0; i < this.length; i++) if (this.refs[i] !== undefined) this.set(i, undefined);
    this.mem.kfree(this.area);
  }
}

/** What SOCKMAP and SOCKHASH share: the user-space update path, lookups of the cookie, the redirect targets. */
abstract class SockMapBase extends BpfMap {
  /** The socket under `key` (a u32 index or hash key bytes at `off` in `src`), or undefined. */
  protected abstract socketAt(src: Uint8Array, off: number): MapSocket | undefined;
  /** sock_map_update_common / sock_hash_update_common once the socket is known to be suitable: 0 or -errno. */
  protected abstract updateCommon(key: Uint8Array, keyOff: number, ref: FdRef<MapSocket>, flags: number): number;

  /** __sock_map_lookup_elem / __sock_hash_lookup_elem for the socket helpers: the socket under the key at (src, off), or undefined. */
  socketAtKey(src: Uint8Array, off: number): MapSocket | undefined {
    return this.socketAt(src, off);
  }

  /** bpf_sk_select_reuseport on a socket outside a reuseport group: such a socket may be in these maps (EINVAL). */
  readonly reuseportUngroupedErrno: number = -Errno.EINVAL;

  /** sock_map_lookup / sock_hash_lookup from a program: the struct sock, or NULL. */
  lookup(keyAddr: number, _cpu: number): number {
    return this.socketAt(this.bytes, keyAddr)?.address ?? 0;
  }

  /** sock_map_lookup_sys / sock_hash_lookup_sys: the cookie, only into a u64 value (ENOSPC), ENOENT for none. */
  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    if (this.valueSize !== 8) return -Errno.ENOSPC;
    const sock = this.socketAt(key, 0);
    if (sock === undefined) return -Errno.ENOENT;
    writeCookie(out, sock);
    return 0;
  }

  /**
   * A program's map_update_elem (sock_map_update_elem): the value is a socket pointer the verifier checked, and
   * this kernel has no socket a program could hold, so none is full (`!sk_fullsock(sk)`: EINVAL).
   */
  protected updateElem(): number {
    return -Errno.EINVAL;
  }

  /** sock_map_update_elem_sys: the fd, the socket, its suitability, then the type's update. */
  override updateWithFds(key: Uint8Array, value: Uint8Array, flags: number, fds: MapFdObjects): number {
    const ref = socketOfValue(value, this.valueSize, fds, false);
    if (typeof ref === 'number') return ref;
    if (!ref.object.sockMapSuitable) {
      ref.put();
      return -Errno.EOPNOTSUPP;
    }
    const ret = this.updateCommon(key, 0, ref, flags);
    if (ret !== 0) ref.put();
    return ret;
  }
}

/** BPF_MAP_TYPE_SOCKMAP: an array of sockets (struct bpf_stab). */
export class SockMap extends SockMapBase {
  constructor(
    ops: MapOps,
    attr: MapAttr,
    env: MapEnv,
    owner: string,
    /** stab->sks. */
    private readonly sks: SocketSlots,
  ) {
    super(ops, attr, env, owner, attr.maxEntries, false);
  }

  protected socketAt(src: Uint8Array, off: number): MapSocket | undefined {
    return this.sks.at(readU32(src, off));
  }

  /** sock_map_update_common: flags (EINVAL), the index (E2BIG), then the slot's BPF_NOEXIST / BPF_EXIST test. */
  protected updateCommon(key: Uint8Array, keyOff: number, ref: FdRef<MapSocket>, flags: number): number {
    if (flags >>> 0 > BPF_UPDATE.EXIST) return -Errno.EINVAL;
    const index = readU32(key, keyOff);
    if (index >= this.maxEntries) return -Errno.E2BIG;
    const bad = this.sks.existCheck(index, flags);
    if (bad !== 0) return bad;
    this.sks.set(index, ref);
    return 0;
  }

  /** sock_map_delete_elem: EINVAL past the end and for an empty slot (__sock_map_delete finds no socket). */
  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const index = readU32(keySrc, keyOff);
    if (this.sks.at(index) === undefined) return -Errno.EINVAL;
    this.sks.set(index, undefined);
    return 0;
  }

  /** sock_map_get_next_key: array order. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    return arrayGetNextKey(this.maxEntries, key, next);
  }

  /** sock_map_mem_usage: struct bpf_stab and a pointer per slot. */
  memUsage(): number {
    return K.bpf_stab + this.maxEntries * K.pointer;
  }

  free(): void {
    this.sks.free();
  }
}

/** One element of a SOCKHASH (struct bpf_shtab_elem): the key, its hash and the socket. */
interface ShtabElem {
  readonly key: Uint8Array;
  readonly hash: number;
  sock: FdRef<MapSocket>;
}

/** BPF_MAP_TYPE_SOCKHASH: sockets by key (struct bpf_shtab). */
export class SockHash extends SockMapBase {
  /** The buckets that hold elements, each head first (the bucket array itself is `area`, Linux's htab->buckets). */
  private readonly buckets = new Map<number, ShtabElem[]>();
  private readonly mask: number;
  /** htab->count. */
  private count = 0;

  constructor(
    ops: MapOps,
    attr: MapAttr,
    env: MapEnv,
    owner: string,
    nBuckets: number,
    /** htab->buckets, bpf_map_area_alloc'd. */
    private readonly area: number,
  ) {
    super(ops, attr, env, owner, attr.maxEntries, false);
    this.mask = nBuckets - 1;
  }

  private bucket(hash: number): ShtabElem[] {
    let b = this.buckets.get(hash & this.mask);
    if (b === undefined) this.buckets.set(hash & this.mask, (b = []));
    return b;
  }

  private unlink(e: ShtabElem): void {
    const b = this.bucket(e.hash);
    b.splice(b.indexOf(e), 1);
    if (b.length === 0) this.buckets.delete(e.hash & this.mask);
  }

  /** sock_hash_bucket_hash. */
  private hashOf(src: Uint8Array, off: number): number {
    return jhash(src, off, this.keySize, S32_MAX);
  }

  /** sock_hash_lookup_elem_raw. */
  private find(src: Uint8Array, off: number, hash: number): ShtabElem | undefined {
    outer: for (const e of this.buckets.get(hash & this.mask) ?? []) {
      if (e.hash !== hash) continue;
      for (let i = 0; i < this.keySize; i++) if (e.key[i] !== src[off + i]) continue outer;
      return e;
    }
    return undefined;
  }

  protected socketAt(src: Uint8Array, off: number): MapSocket | undefined {
    return this.find(src, off, this.hashOf(src, off))?.sock.object;
  }

  /**
   * sock_hash_update_common: flags (EINVAL); BPF_NOEXIST on a present key EEXIST, BPF_EXIST on a missing one
   * ENOENT; a new key into a full map E2BIG; the new element goes to the head of its bucket.
   */
  protected updateCommon(key: Uint8Array, keyOff: number, ref: FdRef<MapSocket>, flags: number): number {
    if (flags >>> 0 > BPF_UPDATE.EXIST) return -Errno.EINVAL;
    const hash = this.hashOf(key, keyOff);
    const old = this.find(key, keyOff, hash);
    if (old !== undefined && flags === BPF_UPDATE.NOEXIST) return -Errno.EEXIST;
    if (old === undefined && flags === BPF_UPDATE.EXIST) return -Errno.ENOENT;
    if (old === undefined && this.count >= this.maxEntries) return -Errno.E2BIG;
    if (old !== undefined) {
      this.unlink(old);
      old.sock.put();
    } else {
      this.count++;
    }
    this.bucket(hash).unshift({ key: key.slice(keyOff, keyOff + this.keySize), hash, sock: ref });
    return 0;
  }

  /** sock_hash_delete_elem: ENOENT for a missing key. */
  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const hash = this.hashOf(keySrc, keyOff);
    const e = this.find(keySrc, keyOff, hash);
    if (e === undefined) return -Errno.ENOENT;
    this.unlink(e);
    this.count--;
    e.sock.put();
    return 0;
  }

  /** sock_hash_get_next_key: the next in the key's bucket, else the first of a later bucket; a missing key restarts. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    let i = 0;
    if (key !== null) {
      const hash = this.hashOf(key, 0);
      const e = this.find(key, 0, hash);
      if (e !== undefined) {
        const bucket = this.bucket(hash);
        const after = bucket[bucket.indexOf(e) + 1];
        if (after !== undefined) {
          next.set(after.key);
          return 0;
        }
        i = (hash & this.mask) + 1;
      }
    }
    // The first element of the first non-empty bucket at or after i.
    let first = -1;
    for (const index of this.buckets.keys()) if (index >= i && (first < 0 || index < first)) first = index;
    if (first < 0) return -Errno.ENOENT;
    next.set(this.buckets.get(first)![0]!.key);
    return 0;
  }

  /** sock_hash_mem_usage: struct bpf_shtab, the buckets, and an element (header and key rounded to 8) per socket. */
  memUsage(): number {
    return K.bpf_shtab + (this.mask + 1) * K.bpf_shtab_bucket + this.count * (K.bpf_shtab_elem + round8(this.keySize));
  }

  free(): void {
    for (const bucket of this.buckets.values()) for (const e of bucket) e.sock.put();
    this.buckets.clear();
    this.count = 0;
    this.mem.kfree(this.area);
  }
}

/** sock_map_alloc: key 4, value 4 or 8, only the NUMA and access flags. No map_alloc_check: CAP_NET_ADMIN comes first. */
function sockMapAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  if (attr.maxEntries === 0 || attr.keySize !== 4 || (attr.valueSize !== 4 && attr.valueSize !== 8) || (attr.mapFlags & ~SOCK_CREATE_FLAG_MASK) !== 0) {
    return -Errno.EINVAL;
  }
  const sks = SocketSlots.alloc(env, owner, 0, attr.maxEntries);
  return typeof sks === 'number' ? sks : new SockMap(ops, attr, env, owner, sks);
}

/** sock_hash_alloc: any key up to MAX_BPF_STACK (E2BIG), value 4 or 8, only the NUMA and access flags. */
function sockHashAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  if (attr.maxEntries === 0 || attr.keySize === 0 || (attr.valueSize !== 4 && attr.valueSize !== 8) || (attr.mapFlags & ~SOCK_CREATE_FLAG_MASK) !== 0) {
    return -Errno.EINVAL;
  }
  if (attr.keySize > MAX_BPF_STACK) return -Errno.E2BIG;
  let nBuckets = 1;
  while (nBuckets < attr.maxEntries) nBuckets *= 2;
  // buckets_num > U32_MAX / sizeof(struct bpf_shtab_bucket) (roundup_pow_of_two of a u32 can reach 2^32).
  if (nBuckets > 0xffffffff / K.bpf_shtab_bucket) return -Errno.EINVAL;
  const size = nBuckets * K.bpf_shtab_bucket;
  if (size >= MAP_AREA_MAX) return -Errno.ENOMEM;
  const area = env.phys.kmalloc(size, owner);
  if (area < 0) return -Errno.ENOMEM;
  env.phys.bytes.fill(0, area, area + size);
  return new SockHash(ops, attr, env, owner, nBuckets, area);
}

export const SOCKMAP_OPS = defineMapOps(BPF_MAP_TYPE.SOCKMAP, 'sockmap', false, () => 0, sockMapAlloc);
export const SOCKHASH_OPS = defineMapOps(BPF_MAP_TYPE.SOCKHASH, 'sockhash', false, () => 0, sockHashAlloc);
