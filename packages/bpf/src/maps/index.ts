export { BpfMap, ENOTSUPP, round8, type MapAttr, type MapEnv, type MapOps } from './map.js';
export { ArrayMap, ARRAY_OPS, PERCPU_ARRAY_OPS } from './arraymap.js';
export { HashTab, HASH_OPS, PERCPU_HASH_OPS, LRU_HASH_OPS, LRU_PERCPU_HASH_OPS } from './hashtab.js';
export { QueueStackMap, QUEUE_OPS, STACK_OPS } from './queue_stack_maps.js';
export { BloomFilter, BLOOM_FILTER_OPS, bloomBitsetMask } from './bloom_filter.js';
export { LpmTrie, LPM_TRIE_OPS, LPM_VAL_SIZE_MAX } from './lpm_trie.js';
export { MAP_OPS, createMap } from './registry.js';
export { jhash } from './jhash.js';
