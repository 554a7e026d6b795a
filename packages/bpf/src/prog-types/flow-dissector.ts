/**
 * BPF_PROG_TYPE_FLOW_DISSECTOR (net/core/filter.c flow_dissector_is_valid_access,
 * flow_dissector_convert_ctx_access, flow_dissector_func_proto): the program sees `struct __sk_buff *` but the
 * kernel hands it struct bpf_flow_dissector. Only three fields are readable, none writable: data and data_end
 * (u32 loads, packet pointers; the packet is read directly, never written) and flow_keys (a u64 load,
 * PTR_TO_FLOW_KEYS: struct bpf_flow_keys, read and written at constant offsets, check_flow_keys_access). No
 * return range; the run gives BPF_OK, BPF_DROP or BPF_FLOW_DISSECTOR_CONTINUE.
 *
 * flow_dissector_func_proto adds only skb_load_bytes, as bpf_flow_dissector_load_bytes (it reads from the
 * dissector's data, not an sk_buff): the simulator's skb_load_bytes reads an sk_buff, so it is not offered yet
 * and a program calling it is refused as calling an unknown function for this type.
 */
import { BPF_FLOW_DISSECTOR } from '@ebpf-sim/kernel';
import { BPF_FLOW_KEYS, BPF_PROG_TYPE, __SK_BUFF } from '@ebpf-sim/uapi';
import { POINTER, chain } from './convert.js';
import { defineProgType } from './define.js';

const U32 = 4;

export const FLOW_DISSECTOR = defineProgType(
  {
    name: 'flow_dissector',
    uapiId: BPF_PROG_TYPE.FLOW_DISSECTOR,
    ctx: {
      structName: '__sk_buff',
      size: __SK_BUFF.size,
      fields: [
        { name: 'data', off: __SK_BUFF.data, size: U32, kind: 'pkt', convert: { read: chain([BPF_FLOW_DISSECTOR.data, POINTER]) } },
        { name: 'data_end', off: __SK_BUFF.data_end, size: U32, kind: 'pkt_end', convert: { read: chain([BPF_FLOW_DISSECTOR.data_end, POINTER]) } },
        {
          name: 'flow_keys',
          off: __SK_BUFF.flow_keys,
          size: POINTER,
          kind: 'flow_keys',
          pointeeSize: BPF_FLOW_KEYS.size,
          convert: { read: chain([BPF_FLOW_DISSECTOR.flow_keys, POINTER]) },
        },
      ],
    },
  },
  [],
);
