/**
 * The inner map template of ARRAY_OF_MAPS and HASH_OF_MAPS, as Linux's kernel/bpf/map_in_map.c: at creation
 * the map behind inner_map_fd is copied as a template (bpf_map_meta_alloc), and every map later written into
 * a slot must match it (the template type's map_meta_equal, through bpf_map_fd_get_ptr).
 */
import type { MapDesc } from '@ebpf-sim/verifier';
import { BPF_MAP_F, BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import { ENOTSUPP, type BpfMap, type FdRef, type MapAttr, type MapEnv, type MapFdObjects } from './map.js';

/** bpf_map_meta_alloc's copy of the inner map: what map_meta_equal compares, and the verifier's view of it. */
export interface InnerMapMeta {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly mapFlags: number;
  readonly maxEntries: number;
  readonly spinLockOff: number;
  readonly desc: MapDesc;
}

type MetaEqual = (meta: InnerMapMeta, map: BpfMap) => boolean;

/** bpf_map_meta_equal: type, key and value sizes, flags and special fields (the spin lock) agree. */
const bpfMapMetaEqual: MetaEqual = (meta, map) =>
  meta.type === map.type &&
  meta.keySize === map.keySize &&
  meta.valueSize === map.valueSize &&
  meta.mapFlags === map.mapFlags &&
  meta.spinLockOff === map.spinLockOff;

/** array_map_meta_equal: arrays also agree on max_entries, unless the template was created with BPF_F_INNER_MAP. */
const arrayMapMetaEqual: MetaEqual = (meta, map) =>
  bpfMapMetaEqual(meta, map) && ((meta.mapFlags & BPF_MAP_F.INNER_MAP) !== 0 || meta.maxEntries === map.maxEntries);

/**
 * The map types that may be inner maps, with their map_meta_equal (Linux sets the op in their bpf_map_ops;
 * a type without it, PROG_ARRAY among them, gives ENOTSUPP as a template, as the recording shows). The
 * map-in-map types have it too, but a map-in-map is refused as an inner map before it is asked.
 */
const META_EQUAL: ReadonlyMap<number, MetaEqual> = new Map<number, MetaEqual>([
  [BPF_MAP_TYPE.ARRAY, arrayMapMetaEqual],
  [BPF_MAP_TYPE.PERCPU_ARRAY, arrayMapMetaEqual],
  [BPF_MAP_TYPE.HASH, bpfMapMetaEqual],
  [BPF_MAP_TYPE.PERCPU_HASH, bpfMapMetaEqual],
  [BPF_MAP_TYPE.LRU_HASH, bpfMapMetaEqual],
  [BPF_MAP_TYPE.LRU_PERCPU_HASH, bpfMapMetaEqual],
  [BPF_MAP_TYPE.LPM_TRIE, bpfMapMetaEqual],
  [BPF_MAP_TYPE.PERF_EVENT_ARRAY, bpfMapMetaEqual],
  [BPF_MAP_TYPE.STACK_TRACE, bpfMapMetaEqual],
  [BPF_MAP_TYPE.QUEUE, bpfMapMetaEqual],
  [BPF_MAP_TYPE.STACK, bpfMapMetaEqual],
  [BPF_MAP_TYPE.BLOOM_FILTER, bpfMapMetaEqual],
  [BPF_MAP_TYPE.RINGBUF, bpfMapMetaEqual],
  [BPF_MAP_TYPE.TASK_STORAGE, bpfMapMetaEqual],
  [BPF_MAP_TYPE.DEVMAP, bpfMapMetaEqual],
  [BPF_MAP_TYPE.DEVMAP_HASH, bpfMapMetaEqual],
]);

/** bpf_map_meta_alloc: the template of the map behind inner_map_fd, or -errno. */
export function innerMapMetaAlloc(attr: MapAttr, env: MapEnv): InnerMapMeta | number {
  const inner = env.mapOfFd === undefined ? -Errno.EBADF : env.mapOfFd(attr.innerMapFd ?? 0);
  if (typeof inner === 'number') return inner;
  // Does not support more than one level of map-in-map.
  if (inner.innerMapDesc() !== null) return -Errno.EINVAL;
  if (!META_EQUAL.has(inner.type)) return -ENOTSUPP;
  return {
    type: inner.type,
    keySize: inner.keySize,
    valueSize: inner.valueSize,
    mapFlags: inner.mapFlags,
    maxEntries: inner.maxEntries,
    spinLockOff: inner.spinLockOff,
    desc: inner.desc(),
  };
}

/** bpf_map_fd_get_ptr: the map behind `ufd` with a reference, when it matches the template; -EINVAL when not. */
export function innerMapGet(meta: InnerMapMeta, fds: MapFdObjects, ufd: number): FdRef<BpfMap> | number {
  const ref = fds.mapFromFd(ufd);
  if (typeof ref === 'number') return ref;
  const equal = META_EQUAL.get(meta.type);
  if (equal !== undefined && equal(meta, ref.object)) return ref;
  ref.put();
  return -Errno.EINVAL;
}
