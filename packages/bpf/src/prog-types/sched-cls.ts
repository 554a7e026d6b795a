/**
 * BPF_PROG_TYPE_SCHED_CLS (tc_cls_act_is_valid_access, tc_cls_act_func_proto): direct packet read and
 * write, writable mark/priority/tc_index/tc_classid/queue_mapping/cb[]/tstamp, the skb helpers.
 */
import { BPF_PROG_TYPE, __SK_BUFF } from '@ebpf-sim/uapi';
import { defineProgType } from './define.js';
import { SK_BUFF_PACKET, SK_BUFF_TSTAMP, skBuffScalars } from './sk-buff.js';

export const SCHED_CLS = defineProgType(
  {
    name: 'sched_cls',
    uapiId: BPF_PROG_TYPE.SCHED_CLS,
    ctx: {
      structName: '__sk_buff',
      size: __SK_BUFF.size,
      fields: [
        ...skBuffScalars(new Set(['mark', 'priority', 'tc_index', 'tc_classid', 'queue_mapping']), new Set()),
        ...SK_BUFF_PACKET,
        { ...SK_BUFF_TSTAMP, writable: true },
      ],
    },
    directPacketWrite: true,
    ldAbs: true,
  },
  [
    'skb_store_bytes',
    'skb_load_bytes',
    'skb_pull_data',
    'csum_diff',
    'csum_update',
    'l3_csum_replace',
    'l4_csum_replace',
    'clone_redirect',
    'get_cgroup_classid',
    'skb_vlan_push',
    'skb_vlan_pop',
    'skb_change_proto',
    'skb_adjust_room',
    'skb_change_tail',
    'skb_change_head',
    'redirect',
    'get_hash_recalc',
    'set_hash',
    'perf_event_output',
    'get_smp_processor_id',
    'get_socket_cookie',
    'get_socket_uid',
    'fib_lookup',
    'check_mtu',
    'skb_ecn_set_ce',
    'skb_cgroup_id',
  ],
);
