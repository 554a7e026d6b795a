export {
  BpfMap,
  ENOTSUPP,
  bpfMapMmap,
  ProgMapOwner,
  round8,
  type FdProgram,
  type FdRef,
  type MapAttr,
  type MapEnv,
  type MapFdObjects,
  type MapOps,
  type NetDevices,
} from './map.js';
export { ArrayMap, ARRAY_OPS, PERCPU_ARRAY_OPS, FdArrayMap, ProgArrayMap, PerfEventArrayMap, ArrayOfMaps } from './arraymap.js';
export { PROG_ARRAY_OPS, PERF_EVENT_ARRAY_OPS, ARRAY_OF_MAPS_OPS } from './arraymap.js';
export { HashTab, HashOfMaps, HASH_OPS, PERCPU_HASH_OPS, LRU_HASH_OPS, LRU_PERCPU_HASH_OPS, HASH_OF_MAPS_OPS } from './hashtab.js';
export { DevMapBase, DevMap, DevMapHash, DEVMAP_OPS, DEVMAP_HASH_OPS } from './devmap.js';
export { QueueStackMap, QUEUE_OPS, STACK_OPS } from './queue_stack_maps.js';
export { BloomFilter, BLOOM_FILTER_OPS, bloomBitsetMask } from './bloom_filter.js';
export { LpmTrie, LPM_TRIE_OPS, LPM_VAL_SIZE_MAX } from './lpm_trie.js';
export { RingBufMap, UserRingBufMap, RINGBUF_OPS, USER_RINGBUF_OPS, RINGBUF_NR_META_PAGES, BPF_MAX_USER_RINGBUF_SAMPLES, DYNPTR_KERN } from './ringbuf.js';
export { StackTraceMap, STACK_TRACE_OPS, PERF_MAX_STACK_DEPTH } from './stackmap.js';
export { TaskStorageMap, TASK_STORAGE_OPS, BPF_LOCAL_STORAGE_GET_F_CREATE, LOCAL_STORAGE_MAX_VALUE_SIZE } from './bpf_task_storage.js';
export { LocalStorageMap, localStorageAllocCheck } from './bpf_local_storage.js';
export { SkStorageMap, SK_STORAGE_OPS } from './bpf_sk_storage.js';
export { InodeStorageMap, INODE_STORAGE_OPS } from './bpf_inode_storage.js';
export { CgrpStorageMap, CGRP_STORAGE_OPS, type CgroupOwner } from './bpf_cgrp_storage.js';
export { CgroupStorageMap, CGROUP_STORAGE_OPS, PERCPU_CGROUP_STORAGE_OPS, CGROUP_STORAGE_KEY_SIZE, type CgroupStorage } from './local_storage.js';
export { ringbufOfSample } from './ringbuf-records.js';
export { MAP_OPS, createMap } from './registry.js';
export { jhash } from './jhash.js';
