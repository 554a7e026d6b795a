/**
 * BPF_PROG_TYPE_SK_MSG (net/core/filter.c sk_msg_is_valid_access, sk_msg_convert_ctx_access,
 * sk_msg_func_proto; Linux 6.18). The context is struct sk_msg_md over struct sk_msg: the message's bytes as a
 * packet (`data`..`data_end`, direct read and write), its size, and its socket's addresses and ports, every
 * scalar a whole read-only u32. Linux checks no return range (the verdict is SK_PASS or anything else).
 *
 * Not modelled: `sk` (PTR_TO_SOCKET): programs reading it are refused.
 */
import { SK_MSG } from '@ebpf-sim/kernel';
import { BPF_PROG_TYPE, SK_MSG_MD } from '@ebpf-sim/uapi';
import { POINTER } from './convert.js';
import { defineProgType } from './define.js';
import { U32, direct, scalar, sockAddressFields } from './sock.js';

export const SK_MSG_TYPE = defineProgType(
  {
    name: 'sk_msg',
    uapiId: BPF_PROG_TYPE.SK_MSG,
    ctx: {
      structName: 'sk_msg_md',
      size: SK_MSG_MD.size,
      fields: [
        { name: 'data', off: SK_MSG_MD.data, size: 8, kind: 'pkt', convert: direct(SK_MSG.data, POINTER) },
        { name: 'data_end', off: SK_MSG_MD.data_end, size: 8, kind: 'pkt_end', convert: direct(SK_MSG.data_end, POINTER) },
        ...sockAddressFields(SK_MSG_MD, SK_MSG.sk),
        scalar('size', SK_MSG_MD.msg_size, direct(SK_MSG.msg_size, U32)),
      ],
    },
    directPacketWrite: true,
  },
  [
    'msg_redirect_map',
    'msg_redirect_hash',
    'msg_apply_bytes',
    'msg_cork_bytes',
    'msg_pull_data',
    'msg_push_data',
    'msg_pop_data',
    'perf_event_output',
    'get_current_uid_gid',
    'sk_storage_get',
    'sk_storage_delete',
    'get_netns_cookie',
    'get_current_cgroup_id',
    'get_current_ancestor_cgroup_id',
    'get_cgroup_classid',
  ],
);
