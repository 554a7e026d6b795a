/**
 * The sizes map_mem_usage counts (the `memlock` line of a map's fdinfo, Linux 6.x's account of a map's memory):
 * sizeof() of kernel structs on Linux 6.18 x86_64. They are Linux's, not this kernel's own layout, and were read
 * off the real kernel's fdinfo for maps of several shapes (fixtures/fdinfo: rebuild.sh), each formula below
 * being the one in that map type's *_map_mem_usage.
 */
export const KERNEL_SIZEOF = {
  pointer: 8,
  /** struct bpf_array (arraymap.c), up to its value[] / ptrs[]. */
  bpf_array: 312,
  /** struct bpf_htab, struct bucket, struct htab_elem up to its key, struct llist_node (hashtab.c). */
  bpf_htab: 832,
  htab_bucket: 16,
  htab_elem: 48,
  llist_node: 8,
  /** struct bpf_queue_stack (queue_stack_maps.c), struct bpf_bloom_filter (bloom_filter.c). */
  bpf_queue_stack: 312,
  bpf_bloom_filter: 312,
  /** struct bpf_ringbuf_map (ringbuf.c). */
  bpf_ringbuf_map: 304,
  /** struct lpm_trie_node up to its data[] (lpm_trie.c). */
  lpm_trie_node: 24,
  /** struct bpf_dtab, struct bpf_dtab_netdev, struct hlist_head (devmap.c). */
  bpf_dtab: 344,
  bpf_dtab_netdev: 64,
  hlist_head: 8,
  /** struct bpf_stack_map, struct stack_map_bucket up to its data[] (stackmap.c). */
  bpf_stack_map: 320,
  stack_map_bucket: 16,
  /** struct bpf_local_storage_map, struct bpf_local_storage_map_bucket (bpf_local_storage.c). */
  bpf_local_storage_map: 480,
  local_storage_bucket: 16,
  /** struct bpf_cgroup_storage_map (local_storage.c). */
  bpf_cgroup_storage_map: 328,
} as const;

/** HASHTAB_MAP_LOCK_COUNT: the per-CPU map_locked counters every hash table has. */
export const HASHTAB_MAP_LOCK_COUNT = 8;
