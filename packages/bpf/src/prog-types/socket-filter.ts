/**
 * BPF_PROG_TYPE_SOCKET_FILTER (sk_filter_is_valid_access, sk_filter_func_proto): no direct packet access,
 * writes only to cb[], legacy LD_ABS/LD_IND loads, loadable without privileges.
 */
import { BPF_PROG_TYPE, __SK_BUFF } from '@ebpf-sim/uapi';
import { defineProgType } from './define.js';
import { IFINDEX_NULL_CHECKED, SK_BUFF_SK, skBuffScalars } from './sk-buff.js';

export const SOCKET_FILTER = defineProgType(
  {
    name: 'socket_filter',
    uapiId: BPF_PROG_TYPE.SOCKET_FILTER,
    ctx: {
      structName: '__sk_buff',
      size: __SK_BUFF.size,
      // sk_filter_is_valid_access refuses family .. local_port but not `sk` (bpf_skb_is_valid_access types it).
      fields: [...skBuffScalars(new Set(), new Set(['tc_classid', 'wire_len']), IFINDEX_NULL_CHECKED), SK_BUFF_SK],
    },
    ldAbs: true,
    unprivileged: true,
  },
  ['skb_load_bytes', 'get_socket_cookie', 'get_socket_uid', 'perf_event_output'],
);
