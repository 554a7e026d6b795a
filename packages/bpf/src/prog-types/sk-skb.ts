/**
 * BPF_PROG_TYPE_SK_SKB (net/core/filter.c sk_skb_is_valid_access, sk_skb_convert_ctx_access, sk_skb_func_proto):
 * the stream parser and verdict programs of a sockmap. They read __sk_buff without mark, tc_classid, data_meta,
 * tstamp, wire_len and hwtstamp, write only tc_index and priority (not cb[]), and read and write the packet,
 * behind the un-clone prologue that drops with SK_DROP (sk_skb_prologue). cb[] is struct sk_skb_cb's data at
 * the start of skb->cb, and data_end is computed from skb->data, len and data_len (no
 * bpf_compute_data_pointers on the stream path). PROG_LOAD checks no attach type for it (libbpf's
 * sk_skb/stream_parser, stream_verdict and verdict sections only name the attach point), no return range, and
 * there is no BPF_PROG_TEST_RUN (ENOTSUPP).
 *
 * `__sk_buff.sk` and the socket fields (family .. local_port) are not offered: the simulated kernel has no
 * struct sock yet.
 */
import { BPF_PROG_TYPE, SK_ACTION, __SK_BUFF } from '@ebpf-sim/uapi';
import { defineProgType } from './define.js';
import { uncloneProlog } from './sched-cls.js';
import { IFINDEX_NULL_CHECKED, SK_BUFF_PACKET, SK_SKB_CB_DATA, SK_SKB_DATA_END, skBuffScalars } from './sk-buff.js';

export const SK_SKB = defineProgType(
  {
    name: 'sk_skb',
    uapiId: BPF_PROG_TYPE.SK_SKB,
    ctx: {
      structName: '__sk_buff',
      size: __SK_BUFF.size,
      fields: [
        ...skBuffScalars(new Set(['tc_index', 'priority']), new Set(['mark', 'tc_classid', 'wire_len']), IFINDEX_NULL_CHECKED, SK_SKB_CB_DATA, true),
        ...SK_BUFF_PACKET.filter((f) => f.name === 'data'),
        SK_SKB_DATA_END,
      ],
    },
    directPacketWrite: true,
    directWritePrologue: uncloneProlog(SK_ACTION.DROP),
  },
  [
    'skb_store_bytes',
    'skb_load_bytes',
    'skb_pull_data',
    'skb_change_tail',
    'skb_change_head',
    'skb_adjust_room',
    'get_socket_cookie',
    'get_socket_uid',
    'sk_redirect_map',
    'sk_redirect_hash',
    'perf_event_output',
    'sk_lookup_tcp',
    'sk_lookup_udp',
    'sk_release',
    'skc_lookup_tcp',
  ],
);
