/**
 * Networking helpers (net/core/filter.c): socket buffers, XDP buffers, redirects, checksums. Helpers that
 * may move packet data are marked, so the verifier drops every packet pointer after calling them.
 */
import { helper, type BpfHelper } from './define.js';

export const NET_HELPERS: readonly BpfHelper[] = [
  helper('skb_store_bytes', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_mem', 'const_size', 'anything'], changesPktData: true }),
  helper('l3_csum_replace', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything', 'anything', 'anything'], changesPktData: true }),
  helper('l4_csum_replace', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything', 'anything', 'anything'], changesPktData: true }),
  helper('clone_redirect', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true }),
  helper('get_cgroup_classid', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('skb_vlan_push', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true }),
  helper('skb_vlan_pop', { ret: 'integer', args: ['ptr_to_ctx'], changesPktData: true }),
  helper('redirect', { ret: 'integer', args: ['anything', 'anything'] }),
  helper('skb_load_bytes', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_uninit_mem', 'const_size'] }),
  helper('csum_diff', {
    ret: 'integer',
    args: ['ptr_to_mem_or_null', 'const_size_or_zero', 'ptr_to_mem_or_null', 'const_size_or_zero', 'anything'],
  }),
  helper('skb_change_proto', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true }),
  helper('get_hash_recalc', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('skb_change_tail', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true }),
  helper('skb_pull_data', { ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true }),
  helper('csum_update', { ret: 'integer', args: ['ptr_to_ctx', 'anything'] }),
  helper('skb_change_head', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything'], changesPktData: true }),
  helper('xdp_adjust_head', { ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true }),
  helper('get_socket_cookie', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('get_socket_uid', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('set_hash', { ret: 'integer', args: ['ptr_to_ctx', 'anything'] }),
  helper('skb_adjust_room', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'anything', 'anything'], changesPktData: true }),
  helper('redirect_map', {
    ret: 'integer',
    args: ['const_map_ptr', 'anything', 'anything'],
    mapTypes: ['devmap', 'devmap_hash', 'cpumap', 'xskmap'],
  }),
  helper('xdp_adjust_meta', { ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true }),
  helper('xdp_adjust_tail', { ret: 'integer', args: ['ptr_to_ctx', 'anything'], changesPktData: true }),
  helper('fib_lookup', { ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_mem', 'const_size', 'anything'] }),
  helper('skb_cgroup_id', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('skb_ecn_set_ce', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('check_mtu', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_int', 'anything', 'anything'] }),
  helper('xdp_get_buff_len', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('xdp_load_bytes', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_uninit_mem', 'const_size'] }),
  helper('xdp_store_bytes', { ret: 'integer', args: ['ptr_to_ctx', 'anything', 'ptr_to_mem', 'const_size'] }),
];
