/**
 * Map helpers (kernel/bpf/helpers.c, ringbuf.c): Linux helper numbers and bpf_func_proto argument and
 * return types.
 */
import { helper, type BpfHelper } from './define.js';

export const MAP_HELPERS: readonly BpfHelper[] = [
  helper('map_lookup_elem', { ret: 'ptr_to_map_value_or_null', args: ['const_map_ptr', 'ptr_to_map_key'], constKeyNeverNull: true }),
  helper('map_update_elem', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key', 'ptr_to_map_value', 'anything'] }),
  helper('map_delete_elem', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_key'] }),
  helper('map_push_elem', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_map_value', 'anything'], mapTypes: ['queue', 'stack'] }),
  helper('map_pop_elem', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_uninit_map_value'], mapTypes: ['queue', 'stack'] }),
  helper('map_peek_elem', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_uninit_map_value'], mapTypes: ['queue', 'stack'] }),
  helper('map_lookup_percpu_elem', {
    ret: 'ptr_to_map_value_or_null',
    args: ['const_map_ptr', 'ptr_to_map_key', 'anything'],
    mapTypes: ['percpu_hash', 'percpu_array', 'lru_percpu_hash'],
  }),
  helper('ringbuf_output', { ret: 'integer', args: ['const_map_ptr', 'ptr_to_mem', 'const_size_or_zero', 'anything'], mapTypes: ['ringbuf'] }),
  helper('ringbuf_reserve', {
    ret: 'ptr_to_ringbuf_mem_or_null',
    args: ['const_map_ptr', 'const_alloc_size_or_zero', 'anything'],
    mapTypes: ['ringbuf'],
  }),
  helper('ringbuf_submit', { ret: 'void', args: ['ptr_to_ringbuf_mem', 'anything'], releases: true }),
  helper('ringbuf_discard', { ret: 'void', args: ['ptr_to_ringbuf_mem', 'anything'], releases: true }),
  helper('ringbuf_query', { ret: 'integer', args: ['const_map_ptr', 'anything'], mapTypes: ['ringbuf'] }),
  helper('spin_lock', { ret: 'void', args: ['ptr_to_spin_lock'], lock: 'acquire' }),
  helper('spin_unlock', { ret: 'void', args: ['ptr_to_spin_lock'], lock: 'release' }),
  helper('tail_call', { ret: 'void', args: ['ptr_to_ctx', 'const_map_ptr', 'anything'], mapTypes: ['prog_array'], tailCall: true }),
];
