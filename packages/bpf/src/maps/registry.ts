/**
 * The map types the kernel knows, keyed by uapi type number (Linux's include/linux/bpf_types.h), and map
 * creation as Linux's map_create does it after the syscall has decoded bpf_attr: the checks every type
 * shares, then the type's map_alloc_check and map_alloc.
 *
 * Not here (the bpf() command's part): CHECK_ATTR, the capability each map type requires of its creator,
 * ids, fds and memlock accounting.
 */
import { BPF_MAP_F, BPF_MAP_TYPE, BPF_OBJ_NAME_LEN, Errno } from '@ebpf-sim/uapi';
import { ARRAY_OF_MAPS_OPS, ARRAY_OPS, CGROUP_ARRAY_OPS, PERCPU_ARRAY_OPS, PERF_EVENT_ARRAY_OPS, PROG_ARRAY_OPS } from './arraymap.js';
import { BLOOM_FILTER_OPS } from './bloom_filter.js';
import { DEVMAP_HASH_OPS, DEVMAP_OPS } from './devmap.js';
import { HASH_OF_MAPS_OPS, HASH_OPS, LRU_HASH_OPS, LRU_PERCPU_HASH_OPS, PERCPU_HASH_OPS } from './hashtab.js';
import { LPM_TRIE_OPS } from './lpm_trie.js';
import type { BpfMap, MapAttr, MapEnv, MapOps } from './map.js';
import { QUEUE_OPS, STACK_OPS } from './queue_stack_maps.js';
import { RINGBUF_OPS, USER_RINGBUF_OPS } from './ringbuf.js';
import { STACK_TRACE_OPS } from './stackmap.js';
import { TASK_STORAGE_OPS } from './bpf_task_storage.js';
import { SK_STORAGE_OPS } from './bpf_sk_storage.js';
import { INODE_STORAGE_OPS } from './bpf_inode_storage.js';
import { CGRP_STORAGE_OPS } from './bpf_cgrp_storage.js';
import { CGROUP_STORAGE_OPS, PERCPU_CGROUP_STORAGE_OPS } from './local_storage.js';
import { CPUMAP_OPS } from './cpumap.js';
import { XSKMAP_OPS } from './xskmap.js';
import { SOCKHASH_OPS, SOCKMAP_OPS } from './sock_map.js';
import { REUSEPORT_SOCKARRAY_OPS } from './reuseport_array.js';
import { STRUCT_OPS_MAP_OPS } from './struct_ops.js';

/** Map ops by uapi type number. */
export const MAP_OPS: ReadonlyMap<number, MapOps> = new Map(
  [
    ARRAY_OPS,
    PERCPU_ARRAY_OPS,
    HASH_OPS,
    PERCPU_HASH_OPS,
    LRU_HASH_OPS,
    LRU_PERCPU_HASH_OPS,
    QUEUE_OPS,
    STACK_OPS,
    BLOOM_FILTER_OPS,
    LPM_TRIE_OPS,
    RINGBUF_OPS,
    STACK_TRACE_OPS,
    TASK_STORAGE_OPS,
    PROG_ARRAY_OPS,
    PERF_EVENT_ARRAY_OPS,
    ARRAY_OF_MAPS_OPS,
    HASH_OF_MAPS_OPS,
    DEVMAP_OPS,
    DEVMAP_HASH_OPS,
    SK_STORAGE_OPS,
    INODE_STORAGE_OPS,
    CGRP_STORAGE_OPS,
    CGROUP_STORAGE_OPS,
    PERCPU_CGROUP_STORAGE_OPS,
    USER_RINGBUF_OPS,
    CGROUP_ARRAY_OPS,
    CPUMAP_OPS,
    XSKMAP_OPS,
    SOCKMAP_OPS,
    SOCKHASH_OPS,
    REUSEPORT_SOCKARRAY_OPS,
    STRUCT_OPS_MAP_OPS,
  ].map((ops) => [ops.type, ops]),
);

/** NUMA nodes of the simulated machine: one, node 0. */
const NR_NODE_IDS = 1;

/** bpf_obj_name_cpy: a name of [A-Za-z0-9_.], shorter than BPF_OBJ_NAME_LEN (room for the NUL). */
function objNameValid(name: string): boolean {
  return name.length < BPF_OBJ_NAME_LEN && /^[A-Za-z0-9_.]*$/.test(name);
}

/**
 * map_create after the attr is decoded: the shared checks, then the type's own. The map's memory is charged
 * to `owner` (default `bpf-map:<name>`, or `bpf-map:<type>` for an unnamed map). Returns the map or -errno.
 */
export function createMap(attr: MapAttr, env: MapEnv, owner?: string): BpfMap | number {
  // Only the bloom filter (and arena) read map_extra.
  if (attr.mapType !== BPF_MAP_TYPE.BLOOM_FILTER && (attr.mapExtra ?? 0) !== 0) return -Errno.EINVAL;
  // bpf_get_file_flag: read-only and write-only at once.
  if ((attr.mapFlags & BPF_MAP_F.RDONLY) !== 0 && (attr.mapFlags & BPF_MAP_F.WRONLY) !== 0) return -Errno.EINVAL;
  if ((attr.mapFlags & BPF_MAP_F.NUMA_NODE) !== 0 && (attr.numaNode ?? 0) >>> 0 >= NR_NODE_IDS) return -Errno.EINVAL;
  const ops = MAP_OPS.get(attr.mapType);
  if (ops === undefined) return -Errno.EINVAL;
  const checked = ops.allocCheck(attr, env);
  if (checked !== 0) return checked;
  const name = attr.name ?? '';
  if (!objNameValid(name)) return -Errno.EINVAL;
  // map_check_btf: a spin lock only in the types that support one, 4-byte aligned inside the value.
  if (attr.spinLockOff !== undefined) {
    if (!ops.spinLock) return -Errno.EOPNOTSUPP;
    if (attr.spinLockOff < 0 || attr.spinLockOff % 4 !== 0 || attr.spinLockOff + 4 > attr.valueSize) return -Errno.EINVAL;
  }
  return ops.alloc(attr, env, owner ?? `bpf-map:${name === '' ? ops.name : name}`);
}
