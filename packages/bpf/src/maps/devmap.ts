/**
 * BPF_MAP_TYPE_DEVMAP and BPF_MAP_TYPE_DEVMAP_HASH, as Linux's kernel/bpf/devmap.c: network devices for
 * bpf_redirect_map. User space writes a `struct bpf_devmap_val` of 4 bytes (the ifindex) or 8 (the ifindex
 * and the fd of an XDP program of expected attach type BPF_XDP_DEVMAP to run on the device); it reads back the
 * ifindex and the program's id. Each entry's value lives in kernel memory (Linux's bpf_dtab_netdev.val): a
 * program's lookup returns its address, read-only (the map is BPF_F_RDONLY_PROG).
 *
 * DEVMAP is an array of entries (deleting an empty index succeeds; an index past the end is EINVAL). DEVMAP_HASH
 * keeps entries in roundup_pow_of_two(max_entries) buckets chosen by `key & (n_buckets - 1)`, new entries at
 * the head of their bucket, and walks them in that order for get_next_key, as Linux does.
 */
import { BPF_ATTACH_TYPE, BPF_DEVMAP_VAL, BPF_F, BPF_MAP_F, BPF_MAP_TYPE, BPF_PROG_TYPE, BPF_UPDATE, CAP, Errno } from '@ebpf-sim/uapi';
import { arrayGetNextKey } from './arraymap.js';
import { BpfMap, defineMapOps, ProgMapOwner, readU32, type FdProgram, type FdRef, type MapAttr, type MapEnv, type MapFdObjects, type MapOps } from './map.js';
import { KERNEL_SIZEOF as K } from './mem-usage.js';

/** DEV_CREATE_FLAG_MASK. */
const DEV_CREATE_FLAG_MASK = BPF_MAP_F.NUMA_NODE | BPF_MAP_F.RDONLY | BPF_MAP_F.WRONLY;

function writeU32(dst: Uint8Array, off: number, value: number): void {
  for (let i = 0; i < 4; i++) dst[off + i] = (value >>> (8 * i)) & 0xff;
}

/** One entry (struct bpf_dtab_netdev): the device, the program with its reference, and the value's kernel address. */
interface DevEntry {
  key: number;
  ifindex: number;
  prog: FdRef<FdProgram> | null;
  /** Physical address of the entry's bpf_devmap_val. */
  readonly val: number;
}

/** The maps bpf_redirect_map serves from this file. */
export abstract class DevMapBase extends BpfMap {
  protected readonly env: MapEnv;
  /** The entries' value slots (8 bytes each), allocated at creation. */
  protected readonly vals: number;
  private readonly owner_ = new ProgMapOwner();
  /** dtab->items: the devices in the map. */
  private items = 0;

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, vals: number) {
    super(ops, { ...attr, mapFlags: attr.mapFlags | BPF_MAP_F.RDONLY_PROG }, env, owner, attr.maxEntries, false);
    this.env = env;
    this.vals = vals;
  }

  /** bpf_prog_map_compatible for the XDP_DEVMAP programs the entries hold, and for programs loaded using the map. */
  override progCompatible(prog: Pick<FdProgram, 'progType' | 'jited' | 'xdpHasFrags'>): boolean {
    return this.owner_.compatible(prog);
  }

  override progOwner(): { readonly progType: number; readonly jited: boolean } | undefined {
    return this.owner_.claimedBy;
  }

  /** The value slot a new entry for `key` takes (a replaced entry's own), or undefined when none is left. */
  protected abstract valSlot(key: number): number | undefined;
  /** Give an entry's value slot back. */
  protected abstract releaseVal(val: number): void;

  /** The entry of `key`, or undefined (__dev_map_lookup_elem / __dev_map_hash_lookup_elem). */
  protected abstract entry(key: number): DevEntry | undefined;

  /**
   * The flags bpf_redirect_map takes for a device map besides the action bits (dev_map_redirect's flag mask); the
   * helper (helpers/net.ts, __bpf_xdp_redirect_map) refuses others with XDP_ABORTED.
   */
  readonly redirectFlagMask = BPF_F.BROADCAST | BPF_F.EXCLUDE_INGRESS;

  /** The redirect target at `index` for bpf_redirect_map (ri->tgt_value: the entry's kernel address), or 0. */
  redirectLookup(index: number): number {
    return this.entry(index >>> 0)?.val ?? 0;
  }

  /** The ifindex of the device at `key` (where a redirect to it transmits), or 0 when the key has no entry. */
  redirectTarget(key: number): number {
    return this.entry(key >>> 0)?.ifindex ?? 0;
  }

  /** The XDP program of `key`'s entry (run on the frame before it goes out), or null. */
  entryProgram(key: number): FdProgram | null {
    return this.entry(key >>> 0)?.prog?.object ?? null;
  }

  /** dev_map_lookup_elem from a program: the address of the entry's bpf_devmap_val, or 0. */
  lookup(keyAddr: number, _cpu: number): number {
    return this.entry(readU32(this.bytes, keyAddr))?.val ?? 0;
  }

  protected copyOut(key: Uint8Array, out: Uint8Array): number {
    const e = this.entry(readU32(key, 0));
    if (e === undefined) return -Errno.ENOENT;
    out.set(this.bytes.subarray(e.val, e.val + this.valueSize));
    return 0;
  }

  /** Programs cannot update devmaps, and user space goes through {@link updateWithFds} (the value may name a program fd). */
  protected updateElem(): number {
    return -Errno.EOPNOTSUPP;
  }

  /**
   * __dev_map_alloc_node: the device must exist, and a program fd (> 0) must name an XDP program of expected
   * attach type BPF_XDP_DEVMAP compatible with the map; every failure is EINVAL.
   */
  protected allocNode(key: number, value: Uint8Array, fds: MapFdObjects): DevEntry | number {
    const ifindex = readU32(value, BPF_DEVMAP_VAL.ifindex);
    if (this.env.netDevices?.byIndex(ifindex) === undefined) return -Errno.EINVAL;
    const progFd = this.valueSize >= BPF_DEVMAP_VAL.size ? readU32(value, BPF_DEVMAP_VAL.bpf_prog) | 0 : 0;
    let prog: FdRef<FdProgram> | null = null;
    if (progFd > 0) {
      const ref = fds.progFromFd(progFd);
      if (typeof ref === 'number') return -Errno.EINVAL;
      const p = ref.object;
      if (p.progType !== BPF_PROG_TYPE.XDP || p.expectedAttachType !== BPF_ATTACH_TYPE.XDP_DEVMAP || !this.progCompatible(p)) {
        ref.put();
        return -Errno.EINVAL;
      }
      prog = ref;
    }
    const val = this.valSlot(key);
    if (val === undefined) {
      prog?.put();
      return -Errno.E2BIG;
    }
    writeU32(this.bytes, val + BPF_DEVMAP_VAL.ifindex, ifindex);
    writeU32(this.bytes, val + BPF_DEVMAP_VAL.bpf_prog, prog === null ? 0 : prog.id);
    this.items++;
    return { key, ifindex, prog, val };
  }

  /** __dev_map_entry_free: the program's reference goes, and the value slot unless a replacement took it. */
  protected freeNode(e: DevEntry, keepVal = false): void {
    e.prog?.put();
    e.prog = null;
    this.items--;
    if (!keepVal) this.releaseVal(e.val);
  }

  /** dev_map_mem_usage: the struct, the slots (DEVMAP) or buckets (DEVMAP_HASH), and the devices in it now. */
  memUsage(): number {
    return K.bpf_dtab + this.indexBytes() + this.items * K.bpf_dtab_netdev;
  }

  /** The map's index: a pointer per slot, or a list head per bucket. */
  protected abstract indexBytes(): number;

  free(): void {
    this.clear();
    this.mem.kfree(this.vals);
  }

  protected abstract clear(): void;
}

/** BPF_MAP_TYPE_DEVMAP: an array of devices. */
export class DevMap extends DevMapBase {
  private readonly entries: Array<DevEntry | undefined>;

  protected indexBytes(): number {
    return this.maxEntries * K.pointer;
  }

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, vals: number) {
    super(ops, attr, env, owner, vals);
    this.entries = new Array<DevEntry | undefined>(attr.maxEntries);
  }

  protected entry(key: number): DevEntry | undefined {
    return key < this.maxEntries ? this.entries[key] : undefined;
  }

  /** Each index has its own value slot. */
  protected valSlot(key: number): number {
    return this.vals + key * BPF_DEVMAP_VAL.size;
  }
  protected releaseVal(): void {}

  /** dev_map_update_elem: ifindex 0 empties the slot (and may not name a program). */
  override updateWithFds(key: Uint8Array, value: Uint8Array, flags: number, fds: MapFdObjects): number {
    if (flags >>> 0 > BPF_UPDATE.EXIST) return -Errno.EINVAL;
    const index = readU32(key, 0);
    if (index >= this.maxEntries) return -Errno.E2BIG;
    if (flags === BPF_UPDATE.NOEXIST) return -Errno.EEXIST;
    let node: DevEntry | undefined;
    if (readU32(value, BPF_DEVMAP_VAL.ifindex) === 0) {
      if (this.valueSize >= BPF_DEVMAP_VAL.size && (readU32(value, BPF_DEVMAP_VAL.bpf_prog) | 0) > 0) return -Errno.EINVAL;
    } else {
      const made = this.allocNode(index, value, fds);
      if (typeof made === 'number') return made;
      node = made;
    }
    const old = this.entries[index];
    this.entries[index] = node;
    if (old !== undefined) this.freeNode(old);
    return 0;
  }

  /** dev_map_delete_elem: EINVAL past the end; an empty slot deletes fine. */
  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const index = readU32(keySrc, keyOff);
    if (index >= this.maxEntries) return -Errno.EINVAL;
    const old = this.entries[index];
    this.entries[index] = undefined;
    if (old !== undefined) this.freeNode(old);
    return 0;
  }

  /** dev_map_get_next_key: array order. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    return arrayGetNextKey(this.maxEntries, key, next);
  }

  protected clear(): void {
    for (let i = 0; i < this.maxEntries; i++) {
      const e = this.entries[i];
      this.entries[i] = undefined;
      if (e !== undefined) this.freeNode(e);
    }
  }
}

/** BPF_MAP_TYPE_DEVMAP_HASH: devices keyed by any u32. */
export class DevMapHash extends DevMapBase {
  /** Each bucket's entries, head first. */
  private readonly buckets: DevEntry[][];
  private readonly mask: number;
  /** Value slots no entry holds. */
  private readonly freeVals: number[] = [];

  protected indexBytes(): number {
    return (this.mask + 1) * K.hlist_head;
  }

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, vals: number, nBuckets: number) {
    super(ops, attr, env, owner, vals);
    this.mask = nBuckets - 1;
    this.buckets = Array.from({ length: nBuckets }, () => []);
    for (let i = attr.maxEntries - 1; i >= 0; i--) this.freeVals.push(vals + i * BPF_DEVMAP_VAL.size);
  }

  /** A replaced entry's slot is reused (its value is rewritten only once the new entry is good). */
  protected valSlot(key: number): number | undefined {
    return this.entry(key)?.val ?? this.freeVals.pop();
  }
  protected releaseVal(val: number): void {
    this.freeVals.push(val);
  }

  protected entry(key: number): DevEntry | undefined {
    const bucket = this.buckets[key & this.mask]!;
    for (const e of bucket) if (e.key === key) return e;
    return undefined;
  }

  /** __dev_map_hash_update_elem: ifindex 0 is EINVAL; BPF_EXIST is not checked; a new key into a full map is E2BIG. */
  override updateWithFds(key: Uint8Array, value: Uint8Array, flags: number, fds: MapFdObjects): number {
    if (flags >>> 0 > BPF_UPDATE.EXIST || readU32(value, BPF_DEVMAP_VAL.ifindex) === 0) return -Errno.EINVAL;
    const idx = readU32(key, 0);
    const old = this.entry(idx);
    if (old !== undefined && flags === BPF_UPDATE.NOEXIST) return -Errno.EEXIST;
    // A new key into a full map finds no free value slot: allocNode answers E2BIG after the device and program
    // checks, as Linux makes the entry before it finds the map full.
    const made = this.allocNode(idx, value, fds);
    if (typeof made === 'number') return made;
    if (old !== undefined) {
      // The replacement goes to the head of the bucket, as Linux's hlist_del_rcu + hlist_add_head_rcu.
      this.unlink(old);
      this.freeNode(old, true);
    }
    this.buckets[idx & this.mask]!.unshift(made);
    return 0;
  }

  protected deleteElem(keySrc: Uint8Array, keyOff: number): number {
    const e = this.entry(readU32(keySrc, keyOff));
    if (e === undefined) return -Errno.ENOENT;
    this.unlink(e);
    this.freeNode(e);
    return 0;
  }

  /** dev_map_hash_get_next_key: the next in the key's bucket, else the first of a later bucket; a missing key restarts. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    let bucket = 0;
    if (key !== null) {
      const idx = readU32(key, 0);
      const chain = this.buckets[idx & this.mask]!;
      const at = chain.findIndex((e) => e.key === idx);
      if (at >= 0) {
        const after = chain[at + 1];
        if (after !== undefined) {
          writeU32(next, 0, after.key);
          return 0;
        }
        bucket = (idx & this.mask) + 1;
      }
    }
    for (; bucket <= this.mask; bucket++) {
      const head = this.buckets[bucket]![0];
      if (head !== undefined) {
        writeU32(next, 0, head.key);
        return 0;
      }
    }
    return -Errno.ENOENT;
  }

  protected clear(): void {
    for (const chain of this.buckets) {
      for (const e of chain) this.freeNode(e);
      chain.length = 0;
    }
  }

  private unlink(e: DevEntry): void {
    const chain = this.buckets[e.key & this.mask]!;
    chain.splice(chain.indexOf(e), 1);
  }
}

/** dev_map_init_map's checks: key 4, value 4 or 8 (ifindex, then the program fd), only the access and NUMA flags. */
function devMapAllocCheck(attr: MapAttr): number {
  const valueOk = attr.valueSize === BPF_DEVMAP_VAL.bpf_prog || attr.valueSize === BPF_DEVMAP_VAL.size;
  if (attr.maxEntries === 0 || attr.keySize !== 4 || !valueOk || (attr.mapFlags & ~DEV_CREATE_FLAG_MASK) !== 0) return -Errno.EINVAL;
  if (attr.mapType === BPF_MAP_TYPE.DEVMAP_HASH && attr.maxEntries > 2 ** 31) return -Errno.EINVAL;
  return 0;
}

/**
 * dev_map_alloc. Linux checks CAP_NET_ADMIN in map_create before it allocates (after the type's alloc
 * check, which devmaps do not have: their attr checks come after the capability); EPERM without it.
 */
function devMapAlloc(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string): BpfMap | number {
  if (!env.capable(CAP.NET_ADMIN)) return -Errno.EPERM;
  const bad = devMapAllocCheck(attr);
  if (bad !== 0) return bad;
  const bytes = attr.maxEntries * BPF_DEVMAP_VAL.size;
  const vals = env.phys.kmalloc(bytes, owner);
  if (vals < 0) return -Errno.ENOMEM;
  env.phys.bytes.fill(0, vals, vals + bytes);
  if (attr.mapType === BPF_MAP_TYPE.DEVMAP) return new DevMap(ops, attr, env, owner, vals);
  let nBuckets = 1;
  while (nBuckets < attr.maxEntries) nBuckets *= 2;
  return new DevMapHash(ops, attr, env, owner, vals, nBuckets);
}

export const DEVMAP_OPS = defineMapOps(BPF_MAP_TYPE.DEVMAP, 'devmap', false, () => 0, devMapAlloc);
export const DEVMAP_HASH_OPS = defineMapOps(BPF_MAP_TYPE.DEVMAP_HASH, 'devmap_hash', false, () => 0, devMapAlloc);
