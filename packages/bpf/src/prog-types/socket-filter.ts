/**
 * BPF_PROG_TYPE_SOCKET_FILTER (sk_filter_is_valid_access, sk_filter_func_proto): no direct packet access,
 * writes only to cb[], legacy LD_ABS/LD_IND loads, loadable without privileges.
 */
import { defineProgType } from './define.js';
import { SK_BUFF_SIZE, skBuffScalars } from './sk-buff.js';

export const SOCKET_FILTER = defineProgType(
  {
    name: 'socket_filter',
    uapiId: 1,
    ctx: {
      structName: '__sk_buff',
      size: SK_BUFF_SIZE,
      fields: skBuffScalars(new Set(), new Set(['tc_classid', 'family', 'remote_ip4', 'local_ip4', 'remote_port', 'local_port', 'wire_len'])),
    },
    ldAbs: true,
    unprivileged: true,
  },
  [26, 46, 47, 25],
);
