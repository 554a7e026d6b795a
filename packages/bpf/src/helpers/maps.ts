/**
 * Map helpers (kernel/bpf/helpers.c, ringbuf.c): Linux helper numbers and bpf_func_proto argument and
 * return types.
 */
import type { HelperProto } from '@ebpf-sim/verifier';

export const MAP_HELPERS: readonly HelperProto[] = [
  { id: 1, name: 'bpf_map_lookup_elem', ret: 'ptr_to_map_value_or_null', args: ['const_map_ptr', 'ptr_to_map_key'] },
  { id: 2, name: 'bpf_map_update_elem', ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key', 'ptr_to_map_value', 'anything'] },
  { id: 3, name: 'bpf_map_delete_elem', ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key'] },
  { id: 87, name: 'bpf_map_push_elem', ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_value', 'anything'], mapTypes: ['queue', 'stack'] },
  { id: 88, name: 'bpf_map_pop_elem', ret: 'integer', args: ['const_map_ptr', 'ptr_to_uninit_map_value'], mapTypes: ['queue', 'stack'] },
  { id: 89, name: 'bpf_map_peek_elem', ret: 'integer', args: ['const_map_ptr', 'ptr_to_uninit_map_value'], mapTypes: ['queue', 'stack'] },
  {
    id: 195,
    name: 'bpf_map_lookup_percpu_elem',
    ret: 'ptr_to_map_value_or_null',
    args: ['const_map_ptr', 'ptr_to_map_key', 'anything'],
    mapTypes: ['percpu_hash', 'percpu_array', 'lru_percpu_hash'],
  },
  { id: 130, name: 'bpf_ringbuf_output', ret: 'integer', args: ['const_map_ptr', 'ptr_to_mem', 'const_size_or_zero', 'anything'], mapTypes: ['ringbuf'] },
  {
    id: 131,
    name: 'bpf_ringbuf_reserve',
    ret: 'ptr_to_ringbuf_mem_or_null',
    args: ['const_map_ptr', 'const_alloc_size_or_zero', 'anything'],
    mapTypes: ['ringbuf'],
  },
  { id: 132, name: 'bpf_ringbuf_submit', ret: 'void', args: ['ptr_to_ringbuf_mem', 'anything'], releases: true },
  { id: 133, name: 'bpf_ringbuf_discard', ret: 'void', args: ['ptr_to_ringbuf_mem', 'anything'], releases: true },
  { id: 134, name: 'bpf_ringbuf_query', ret: 'integer', args: ['const_map_ptr', 'anything'], mapTypes: ['ringbuf'] },
  { id: 93, name: 'bpf_spin_lock', ret: 'void', args: ['ptr_to_spin_lock'], lock: 'acquire' },
  { id: 94, name: 'bpf_spin_unlock', ret: 'void', args: ['ptr_to_spin_lock'], lock: 'release' },
  { id: 12, name: 'bpf_tail_call', ret: 'void', args: ['ptr_to_ctx', 'const_map_ptr', 'anything'], mapTypes: ['prog_array'], tailCall: true },
];
