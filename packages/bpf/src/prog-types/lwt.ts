/**
 * The lightweight-tunnel program types (net/core/filter.c lwt_is_valid_access, lwt_*_func_proto): LWT_IN,
 * LWT_OUT, LWT_XMIT and LWT_SEG6LOCAL run on a route's packets at L3. They read __sk_buff without tc_classid,
 * data_meta, tstamp, wire_len and the socket fields, write mark, priority and cb[], and read the packet
 * directly; only LWT_XMIT may write it (may_access_direct_pkt_data), behind tc's un-clone prologue
 * (lwt_xmit_verifier_ops.gen_prologue). ifindex is read through a possibly NULL skb->dev
 * (bpf_convert_ctx_access). No return range (check_return_code has none for them).
 *
 * `__sk_buff.sk` (PTR_TO_SOCK_COMMON_OR_NULL) is not offered: the simulated kernel has no struct sock yet.
 */
import { BPF_PROG_TYPE, __SK_BUFF, type BpfFuncName } from '@ebpf-sim/uapi';
import type { CtxLayout, ProgramTypeDesc } from '@ebpf-sim/verifier';
import { defineProgType } from './define.js';
import { TC_UNCLONE_PROLOGUE } from './sched-cls.js';
import { IFINDEX_NULL_CHECKED, SK_BUFF_DATA, skBuffScalars } from './sk-buff.js';

const LWT_CTX: CtxLayout = {
  structName: '__sk_buff',
  size: __SK_BUFF.size,
  fields: [...skBuffScalars(new Set(['mark', 'priority']), new Set(['tc_classid', 'wire_len']), IFINDEX_NULL_CHECKED), ...SK_BUFF_DATA],
};

/** lwt_out_func_proto: the helpers every LWT type has. */
const LWT_OUT_HELPERS: readonly BpfFuncName[] = [
  'skb_load_bytes',
  'skb_pull_data',
  'csum_diff',
  'get_cgroup_classid',
  'get_route_realm',
  'get_hash_recalc',
  'perf_event_output',
  'get_smp_processor_id',
  'skb_under_cgroup',
];

function lwt(name: string, uapiId: number, own: readonly BpfFuncName[], extra: Partial<ProgramTypeDesc> = {}): ProgramTypeDesc {
  return defineProgType({ name, uapiId, ctx: LWT_CTX, ...extra }, [...own, ...LWT_OUT_HELPERS]);
}

export const LWT_IN = lwt('lwt_in', BPF_PROG_TYPE.LWT_IN, ['lwt_push_encap']);
export const LWT_OUT = lwt('lwt_out', BPF_PROG_TYPE.LWT_OUT, []);
export const LWT_XMIT = lwt(
  'lwt_xmit',
  BPF_PROG_TYPE.LWT_XMIT,
  [
    'skb_get_tunnel_key',
    'skb_set_tunnel_key',
    'skb_get_tunnel_opt',
    'skb_set_tunnel_opt',
    'redirect',
    'clone_redirect',
    'skb_change_tail',
    'skb_change_head',
    'skb_store_bytes',
    'csum_update',
    'csum_level',
    'l3_csum_replace',
    'l4_csum_replace',
    'set_hash_invalid',
    'lwt_push_encap',
  ],
  { directPacketWrite: true, directWritePrologue: TC_UNCLONE_PROLOGUE },
);
export const LWT_SEG6LOCAL = lwt('lwt_seg6local', BPF_PROG_TYPE.LWT_SEG6LOCAL, ['lwt_seg6_store_bytes', 'lwt_seg6_action', 'lwt_seg6_adjust_srh']);
