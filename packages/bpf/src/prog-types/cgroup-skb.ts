/**
 * BPF_PROG_TYPE_CGROUP_SKB (net/core/filter.c cg_skb_is_valid_access, cg_skb_func_proto): a cgroup's ingress
 * or egress filter. It reads __sk_buff without tc_classid, data_meta and wire_len, writes mark, priority and
 * cb[], and, with CAP_BPF only, reads the packet directly (never writes it) and stores tstamp. Unprivileged
 * users may load it (bpf_prog_load's exception, with SOCKET_FILTER). PROG_LOAD takes only the
 * BPF_CGROUP_INET_INGRESS and BPF_CGROUP_INET_EGRESS attach types (bpf_prog_load_check_attach); the program
 * returns 0 (drop) or 1 (allow), and an egress program may add congestion notification (2, 3:
 * check_return_code's retval_range(0, 3)).
 *
 * `__sk_buff.sk` (PTR_TO_SOCK_COMMON_OR_NULL) and the socket fields (family .. local_port) read the struct sock
 * the hook (or the test run's dummy socket) hangs off the skb. Helpers: cg_skb_func_proto, which first offers
 * cgroup_common_func_proto's and cgroup_current_func_proto's (the hook runs in the sending or receiving task's
 * context), then falls back to sk_filter_func_proto.
 */
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE, __SK_BUFF } from '@ebpf-sim/uapi';
import { defineProgType, withAttachTypes } from './define.js';
import { IFINDEX_NULL_CHECKED, SK_BUFF_DATA, SK_BUFF_HWTSTAMP, SK_BUFF_SK, SK_BUFF_SOCK_FIELDS, SK_BUFF_TSTAMP, skBuffScalars } from './sk-buff.js';

const CG_SKB = defineProgType(
  {
    name: 'cgroup_skb',
    uapiId: BPF_PROG_TYPE.CGROUP_SKB,
    ctx: {
      structName: '__sk_buff',
      size: __SK_BUFF.size,
      fields: [
        ...skBuffScalars(new Set(['mark', 'priority']), new Set(['tc_classid', 'wire_len']), IFINDEX_NULL_CHECKED),
        ...SK_BUFF_SOCK_FIELDS,
        SK_BUFF_SK,
        ...SK_BUFF_DATA.map((f) => ({ ...f, capBpf: 'access' as const })),
        { ...SK_BUFF_TSTAMP, writable: true, capBpf: 'write' as const },
        SK_BUFF_HWTSTAMP,
      ],
    },
    retRange: { min: 0, max: 1 },
    unprivileged: true,
  },
  [
    // cgroup_current_func_proto (Linux 6.18 kernel/bpf/cgroup.c).
    'get_current_uid_gid',
    'get_current_comm',
    'current_task_under_cgroup',
    'get_local_storage',
    'sk_fullsock',
    'sk_storage_get',
    'sk_storage_delete',
    'perf_event_output',
    'skb_cgroup_id',
    'skb_ancestor_cgroup_id',
    'sk_cgroup_id',
    'sk_ancestor_cgroup_id',
    'sk_lookup_tcp',
    'sk_lookup_udp',
    'sk_release',
    'skc_lookup_tcp',
    'tcp_sock',
    'get_listener_sock',
    'skb_ecn_set_ce',
    // sk_filter_func_proto, its fallback.
    'skb_load_bytes',
    'skb_load_bytes_relative',
    'get_socket_cookie',
    'get_socket_uid',
  ],
);

export const CGROUP_SKB = withAttachTypes(CG_SKB, [BPF_ATTACH_TYPE.CGROUP_INET_INGRESS, BPF_ATTACH_TYPE.CGROUP_INET_EGRESS], (attachType) =>
  attachType === BPF_ATTACH_TYPE.CGROUP_INET_EGRESS ? { retRange: { min: 0, max: 3 } } : {},
);
