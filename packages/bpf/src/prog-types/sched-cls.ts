/**
 * BPF_PROG_TYPE_SCHED_CLS (tc_cls_act_is_valid_access, tc_cls_act_func_proto): direct packet read and
 * write, writable mark/priority/tc_index/tc_classid/queue_mapping/cb[], the skb helpers.
 */
import { defineProgType } from './define.js';
import { SK_BUFF_PACKET, SK_BUFF_SIZE, SK_BUFF_TSTAMP, skBuffScalars } from './sk-buff.js';

export const SCHED_CLS = defineProgType(
  {
    name: 'sched_cls',
    uapiId: 3,
    ctx: {
      structName: '__sk_buff',
      size: SK_BUFF_SIZE,
      fields: [
        ...skBuffScalars(
          new Set(['mark', 'priority', 'tc_index', 'tc_classid', 'queue_mapping']),
          new Set(['family', 'remote_ip4', 'local_ip4', 'remote_port', 'local_port']),
        ),
        ...SK_BUFF_PACKET,
        { ...SK_BUFF_TSTAMP, writable: true },
      ],
    },
    directPacketWrite: true,
    ldAbs: true,
  },
  [9, 26, 39, 28, 40, 10, 11, 13, 17, 18, 19, 31, 50, 38, 43, 23, 34, 48, 25, 8, 46, 47, 69, 163, 97, 79],
);
