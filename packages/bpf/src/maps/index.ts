export {
  BpfMap,
  ENOTSUPP,
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
export { MAP_OPS, createMap } from './registry.js';
export { jhash } from './jhash.js';
