/**
 * Networking helpers (net/core/filter.c): socket buffers, XDP buffers, redirects, checksums. Helpers that
 * may move packet data are marked, so the verifier drops every packet pointer after calling them.
 */
import type { HelperProto } from '@ebpf-sim/verifier';

export const NET_HELPERS: readonly HelperProto[] = [
  { id: 9, name: 'bpf_skb_store_bytes', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_mem', 'const_size', 'anything'], changesPktData: true },
  { id: 10, name: 'bpf_l3_csum_replace', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything', 'anything', 'anything'], changesPktData: true },
  { id: 11, name: 'bpf_l4_csum_replace', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything', 'anything', 'anything'], changesPktData: true },
  { id: 13, name: 'bpf_clone_redirect', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true },
  { id: 17, name: 'bpf_get_cgroup_classid', ret: 'integer', args: ['ptr_to_ctx'] },
  { id: 18, name: 'bpf_skb_vlan_push', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true },
  { id: 19, name: 'bpf_skb_vlan_pop', ret: 'integer', args: ['ptr_to_ctx'], changesPktData: true },
  { id: 23, name: 'bpf_redirect', ret: 'integer', args: ['anything', 'anything'] },
  { id: 26, name: 'bpf_skb_load_bytes', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_uninit_mem', 'const_size'] },
  {
    id: 28,
    name: 'bpf_csum_diff',
    ret: 'integer',
    args: ['ptr_to_mem_or_null', 'const_size_or_zero', 'ptr_to_mem_or_null', 'const_size_or_zero', 'anything'],
  },
  { id: 31, name: 'bpf_skb_change_proto', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true },
  { id: 34, name: 'bpf_get_hash_recalc', ret: 'integer', args: ['ptr_to_ctx'] },
  { id: 38, name: 'bpf_skb_change_tail', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true },
  { id: 39, name: 'bpf_skb_pull_data', ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true },
  { id: 40, name: 'bpf_csum_update', ret: 'integer', args: ['ptr_to_ctx', 'anything'] },
  { id: 43, name: 'bpf_skb_change_head', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true },
  { id: 44, name: 'bpf_xdp_adjust_head', ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true },
  { id: 46, name: 'bpf_get_socket_cookie', ret: 'integer', args: ['ptr_to_ctx'] },
  { id: 47, name: 'bpf_get_socket_uid', ret: 'integer', args: ['ptr_to_ctx'] },
  { id: 48, name: 'bpf_set_hash', ret: 'integer', args: ['ptr_to_ctx', 'anything'] },
  { id: 50, name: 'bpf_skb_adjust_room', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything', 'anything'], changesPktData: true },
  {
    id: 51,
    name: 'bpf_redirect_map',
    ret: 'integer',
    args: ['const_map_ptr', 'anything', 'anything'],
    mapTypes: ['devmap', 'devmap_hash', 'cpumap', 'xskmap'],
  },
  { id: 54, name: 'bpf_xdp_adjust_meta', ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true },
  { id: 65, name: 'bpf_xdp_adjust_tail', ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true },
  { id: 69, name: 'bpf_fib_lookup', ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_mem', 'const_size', 'anything'] },
  { id: 79, name: 'bpf_skb_cgroup_id', ret: 'integer', args: ['ptr_to_ctx'] },
  { id: 97, name: 'bpf_skb_ecn_set_ce', ret: 'integer', args: ['ptr_to_ctx'] },
  { id: 163, name: 'bpf_check_mtu', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_int', 'anything', 'anything'] },
  { id: 188, name: 'bpf_xdp_get_buff_len', ret: 'integer', args: ['ptr_to_ctx'] },
  { id: 189, name: 'bpf_xdp_load_bytes', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_uninit_mem', 'const_size'] },
  { id: 190, name: 'bpf_xdp_store_bytes', ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_mem', 'const_size'] },
  {
    id: 25,
    name: 'bpf_perf_event_output',
    ret: 'integer',
    args: ['ptr_to_ctx', 'const_map_ptr', 'anything', 'ptr_to_mem', 'const_size_or_zero'],
    mapTypes: ['perf_event_array'],
  },
];
