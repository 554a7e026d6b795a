/**
 * The four batch map commands (BPF_MAP_LOOKUP_BATCH, LOOKUP_AND_DELETE_BATCH, UPDATE_BATCH, DELETE_BATCH), as
 * Linux's bpf_map_do_batch (kernel/bpf/syscall.c) with generic_map_*_batch and hashtab.c's
 * __htab_map_lookup_and_delete_batch.
 *
 * Which map type has which batch op is a table ({@link BATCH_OPS}), as Linux's bpf_map_ops fields: a missing
 * op answers ENOTSUPP. The generic lookup walks get_next_key and its token is the last key visited; htab's
 * walks buckets whole (a bucket never splits across calls: one bigger than the room left ends the call, and
 * ENOSPC when nothing was copied yet) and its token is the next bucket index (a u32).
 */
import type { Task, UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTR_LAYOUTS, BPF_MAP_TYPE, BPF_UPDATE, Errno } from '@ebpf-sim/uapi';
import { HashTab } from '../maps/hashtab.js';
import { ENOTSUPP, type BpfMap } from '../maps/map.js';
import type { BpfSyscall, MapObject } from './bpf-syscall.js';

const B = BPF_ATTR_LAYOUTS.MAP_LOOKUP_BATCH;

export type BatchCommand = 'lookup' | 'lookup_and_delete' | 'update' | 'delete';

/** How a map type serves each batch command: Linux's generic_map_*_batch, htab's own, or not at all (ENOTSUPP). */
type BatchImpl = 'generic' | 'htab' | null;

type BatchTable = Readonly<Record<BatchCommand, BatchImpl>>;

const ARRAY_BATCH: BatchTable = { lookup: 'generic', lookup_and_delete: null, update: 'generic', delete: null };
const HTAB_BATCH: BatchTable = { lookup: 'htab', lookup_and_delete: 'htab', update: 'generic', delete: 'generic' };

/** The batch ops of each map type (BATCH_OPS(htab) and the generic ops in the types' bpf_map_ops); others have none. */
const BATCH_OPS: ReadonlyMap<number, BatchTable> = new Map([
  [BPF_MAP_TYPE.ARRAY, ARRAY_BATCH],
  [BPF_MAP_TYPE.PERCPU_ARRAY, ARRAY_BATCH],
  [BPF_MAP_TYPE.ARRAY_OF_MAPS, ARRAY_BATCH],
  [BPF_MAP_TYPE.HASH, HTAB_BATCH],
  [BPF_MAP_TYPE.PERCPU_HASH, HTAB_BATCH],
  [BPF_MAP_TYPE.LRU_HASH, HTAB_BATCH],
  [BPF_MAP_TYPE.LRU_PERCPU_HASH, HTAB_BATCH],
  [BPF_MAP_TYPE.HASH_OF_MAPS, HTAB_BATCH],
]);

/** The fields of the attr's batch struct, read once per call. */
interface BatchAttr {
  readonly inBatch: number;
  readonly outBatch: number;
  readonly keys: number;
  readonly values: number;
  readonly count: number;
  readonly elemFlags: number;
  readonly elemFlagsHigh: number;
  readonly flags: number;
}

/** bpf_map_do_batch: the map with the access the command needs (read for lookups, write for the rest), then the type's op. */
export function mapBatch(sys: BpfSyscall, cmd: BatchCommand, task: Task, mm: UserCopy, uattr: number): number {
  const needsRead = cmd === 'lookup' || cmd === 'lookup_and_delete';
  const needsWrite = cmd !== 'lookup';
  const object = sys.mapWithAccess(task, B.map_fd.offset, (needsRead ? FMODE_READ : 0) | (needsWrite ? FMODE_WRITE : 0));
  if (typeof object === 'number') return object;
  const impl = BATCH_OPS.get(object.map.type)?.[cmd] ?? null;
  if (impl === null) return -ENOTSUPP;
  const attr: BatchAttr = {
    inBatch: sys.u64(B.in_batch.offset),
    outBatch: sys.u64(B.out_batch.offset),
    keys: sys.u64(B.keys.offset),
    values: sys.u64(B.values.offset),
    count: sys.u32(B.count.offset),
    elemFlags: sys.u32(B.elem_flags.offset),
    elemFlagsHigh: sys.u64High(B.elem_flags.offset),
    flags: sys.u64(B.flags.offset),
  };
  const countAddress = uattr + B.count.offset;
  if (cmd === 'update') return genericUpdate(sys, task, mm, object, attr, countAddress);
  if (cmd === 'delete') return genericDelete(mm, object.map, attr, countAddress);
  if (impl === 'htab' && object.map instanceof HashTab) return htabLookupBatch(mm, object.map, attr, countAddress, cmd === 'lookup_and_delete');
  return genericLookup(mm, object, attr, countAddress);
}

/** FMODE_CAN_READ / FMODE_CAN_WRITE, as bpf-syscall.ts's map_get_sys_perms gives them. */
const FMODE_READ = 1;
const FMODE_WRITE = 2;

/** The elem_flags every batch op checks: only BPF_F_LOCK, and only for a value with a spin lock. */
function elemFlagsBad(map: BpfMap, attr: BatchAttr): boolean {
  if (attr.elemFlagsHigh !== 0 || (attr.elemFlags & ~BPF_UPDATE.F_LOCK) !== 0) return true;
  return (attr.elemFlags & BPF_UPDATE.F_LOCK) !== 0 && map.spinLockOff < 0;
}

/**
 * The start every batch op shares: elem_flags checked (with `flagsMustBeZero`, htab's flags too), a zero count
 * done at once, and the count written back as 0 before any element is touched. Undefined to go on, or the result.
 */
function batchBegin(mm: UserCopy, map: BpfMap, attr: BatchAttr, countAddress: number, flagsMustBeZero: boolean): number | undefined {
  if (elemFlagsBad(map, attr) || (flagsMustBeZero && attr.flags !== 0)) return -Errno.EINVAL;
  if (attr.count === 0) return 0;
  return putU32(mm, countAddress, 0) ? undefined : -Errno.EFAULT;
}

const u32Bytes = new Uint8Array(4);

/** put_user of a u32: true, or false for a fault. */
function putU32(mm: UserCopy, address: number, value: number): boolean {
  for (let i = 0; i < 4; i++) u32Bytes[i] = (value >>> (8 * i)) & 0xff;
  return mm.copyToUser(address, u32Bytes, 0, 4);
}

/** generic_map_lookup_batch: get_next_key from the in_batch key; elements that vanish (ENOENT) are skipped; the token is the last key visited. */
function genericLookup(mm: UserCopy, object: MapObject, attr: BatchAttr, countAddress: number): number {
  const map = object.map;
  const begun = batchBegin(mm, map, attr, countAddress, false);
  if (begun !== undefined) return begun;
  const valueSize = map.userValueSize;
  const maxCount = attr.count;
  let prev: Uint8Array | null = null;
  let key: Uint8Array = new Uint8Array(map.keySize);
  let spare: Uint8Array = new Uint8Array(map.keySize);
  const value = new Uint8Array(valueSize);
  if (attr.inBatch !== 0) {
    if (!mm.copyFromUser(attr.inBatch, spare, 0, map.keySize)) return -Errno.EFAULT;
    prev = spare;
    spare = new Uint8Array(map.keySize);
  }
  let err = 0;
  let cp = 0;
  while (cp < maxCount) {
    err = map.getNextKey(prev, key);
    if (err !== 0) break;
    err = map.lookupSys(key, value, attr.elemFlags);
    if (err !== 0 && err !== -Errno.ENOENT) return err;
    if (err === 0) {
      if (!mm.copyToUser(attr.keys + cp * map.keySize, key, 0, map.keySize) || !mm.copyToUser(attr.values + cp * valueSize, value, 0, valueSize)) {
        err = -Errno.EFAULT;
        break;
      }
      cp++;
    }
    // The visited key becomes the previous one (swap(prev_key, key) in Linux).
    const visited = key;
    key = prev ?? spare;
    prev = visited;
  }
  if (err === -Errno.EFAULT) return err;
  if (!putU32(mm, countAddress, cp) || (cp !== 0 && prev !== null && !mm.copyToUser(attr.outBatch, prev, 0, map.keySize))) return -Errno.EFAULT;
  return err;
}

/** generic_map_update_batch: each element through the map's update (BPF_ANY, or BPF_F_LOCK), stopping at the first error. */
function genericUpdate(sys: BpfSyscall, task: Task, mm: UserCopy, object: MapObject, attr: BatchAttr, countAddress: number): number {
  const map = object.map;
  const begun = batchBegin(mm, map, attr, countAddress, false);
  if (begun !== undefined) return begun;
  const valueSize = map.userValueSize;
  const maxCount = attr.count;
  const key = new Uint8Array(map.keySize);
  const value = new Uint8Array(valueSize);
  const fds = sys.fdObjectsFor(task);
  let err = 0;
  let cp = 0;
  for (; cp < maxCount; cp++) {
    if (!mm.copyFromUser(attr.keys + cp * map.keySize, key, 0, map.keySize) || !mm.copyFromUser(attr.values + cp * valueSize, value, 0, valueSize)) {
      err = -Errno.EFAULT;
      break;
    }
    err = map.updateWithFds(key, value, attr.elemFlags, fds);
    if (err !== 0) break;
  }
  if (!putU32(mm, countAddress, cp)) return -Errno.EFAULT;
  return err;
}

/** generic_map_delete_batch: each key deleted, stopping at the first error. */
function genericDelete(mm: UserCopy, map: BpfMap, attr: BatchAttr, countAddress: number): number {
  const begun = batchBegin(mm, map, attr, countAddress, false);
  if (begun !== undefined) return begun;
  const maxCount = attr.count;
  const key = new Uint8Array(map.keySize);
  let err = 0;
  let cp = 0;
  for (; cp < maxCount; cp++) {
    if (!mm.copyFromUser(attr.keys + cp * map.keySize, key, 0, map.keySize)) {
      err = -Errno.EFAULT;
      break;
    }
    err = map.deleteSys(key);
    if (err !== 0) break;
  }
  if (!putU32(mm, countAddress, cp)) return -Errno.EFAULT;
  return err;
}

/**
 * __htab_map_lookup_and_delete_batch: whole buckets from the bucket index in_batch; flags must be 0. The call
 * ends before a bucket that does not fit (ENOSPC when it is the first), or with ENOENT past the last bucket;
 * the count and the next bucket index are written back either way.
 */
function htabLookupBatch(mm: UserCopy, map: HashTab, attr: BatchAttr, countAddress: number, andDelete: boolean): number {
  const begun = batchBegin(mm, map, attr, countAddress, true);
  if (begun !== undefined) return begun;
  const maxCount = attr.count;
  let batch = 0;
  if (attr.inBatch !== 0) {
    const token = new Uint8Array(4);
    if (!mm.copyFromUser(attr.inBatch, token, 0, 4)) return -Errno.EFAULT;
    batch = (token[0]! | (token[1]! << 8) | (token[2]! << 16) | (token[3]! << 24)) >>> 0;
  }
  const nBuckets = map.bucketCount;
  if (batch >= nBuckets) return -Errno.ENOENT;
  const keySize = map.keySize;
  const valueSize = map.userValueSize;
  const elems: number[] = [];
  let keys = new Uint8Array(0);
  let values = new Uint8Array(0);
  let total = 0;
  let ret = 0;
  for (;;) {
    map.bucketElems(batch, elems);
    const bucketCnt = elems.length;
    if (bucketCnt > maxCount - total) {
      if (total === 0) ret = -Errno.ENOSPC;
      break;
    }
    if (bucketCnt > 0) {
      if (keys.length < bucketCnt * keySize) {
        keys = new Uint8Array(bucketCnt * keySize);
        values = new Uint8Array(bucketCnt * valueSize);
      }
      for (let i = 0; i < bucketCnt; i++) {
        const e = elems[i]!;
        map.batchCopy(e, keys, i * keySize, values, i * valueSize);
        if (andDelete) map.batchDelete(e);
      }
      if (
        !mm.copyToUser(attr.keys + total * keySize, keys, 0, bucketCnt * keySize) ||
        !mm.copyToUser(attr.values + total * valueSize, values, 0, bucketCnt * valueSize)
      ) {
        return -Errno.EFAULT;
      }
      total += bucketCnt;
    }
    batch++;
    if (batch >= nBuckets) {
      ret = -Errno.ENOENT;
      break;
    }
  }
  if (!putU32(mm, attr.outBatch, batch) || !putU32(mm, countAddress, total)) return -Errno.EFAULT;
  return ret;
}
