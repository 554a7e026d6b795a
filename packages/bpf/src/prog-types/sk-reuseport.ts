/**
 * BPF_PROG_TYPE_SK_REUSEPORT (net/core/filter.c sk_reuseport_is_valid_access, sk_reuseport_convert_ctx_access,
 * sk_reuseport_func_proto): picks the socket of a SO_REUSEPORT group for an incoming packet. The program sees
 * struct sk_reuseport_md, read-only; the kernel hands it struct sk_reuseport_kern: data and len come from the
 * skb it points to, data_end, hash and bind_inany from the struct itself. The packet is read directly. PROG_LOAD
 * takes BPF_SK_REUSEPORT_SELECT (what 0 stands for, bpf_prog_load_fixup_attach_type) and
 * BPF_SK_REUSEPORT_SELECT_OR_MIGRATE; no return range; no BPF_PROG_TEST_RUN (ENOTSUPP).
 *
 * ip_protocol (skb->sk->sk_protocol), sk (PTR_TO_SOCKET) and migrating_sk (PTR_TO_SOCK_COMMON_OR_NULL) are not
 * offered: the simulated kernel has no struct sock yet.
 */
import { SK_BUFF, SK_REUSEPORT_KERN } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE, SK_REUSEPORT_MD } from '@ebpf-sim/uapi';
import type { CtxField } from '@ebpf-sim/verifier';
import { POINTER, chain } from './convert.js';
import { defineProgType } from './define.js';

const U32 = 4;

/** A u32 field that narrow loads may read (bpf_ctx_narrow_access_ok with the u32 default size). */
const narrow = (name: string, off: number, read: CtxField['convert']): CtxField => ({ name, off, size: U32, kind: 'scalar', narrowLoads: true, convert: read });

export const SK_REUSEPORT = defineProgType(
  {
    name: 'sk_reuseport',
    uapiId: BPF_PROG_TYPE.SK_REUSEPORT,
    ctx: {
      structName: 'sk_reuseport_md',
      size: SK_REUSEPORT_MD.size,
      fields: [
        {
          name: 'data',
          off: SK_REUSEPORT_MD.data,
          size: POINTER,
          kind: 'pkt',
          convert: { read: chain([SK_REUSEPORT_KERN.skb, POINTER], [SK_BUFF.data, POINTER]) },
        },
        { name: 'data_end', off: SK_REUSEPORT_MD.data_end, size: POINTER, kind: 'pkt_end', convert: { read: chain([SK_REUSEPORT_KERN.data_end, POINTER]) } },
        narrow('len', SK_REUSEPORT_MD.len, { read: chain([SK_REUSEPORT_KERN.skb, POINTER], [SK_BUFF.len, U32]) }),
        // A load narrower than skb->protocol's two bytes is refused (sk_reuseport_is_valid_access).
        {
          ...narrow('eth_protocol', SK_REUSEPORT_MD.eth_protocol, { read: chain([SK_REUSEPORT_KERN.skb, POINTER], [SK_BUFF.protocol, 2]) }),
          minNarrowLoad: 2,
        },
        narrow('bind_inany', SK_REUSEPORT_MD.bind_inany, { read: chain([SK_REUSEPORT_KERN.bind_inany, 1]) }),
        { name: 'hash', off: SK_REUSEPORT_MD.hash, size: U32, kind: 'scalar', convert: { read: chain([SK_REUSEPORT_KERN.hash, U32]) } },
      ],
    },
    defaultAttachType: BPF_ATTACH_TYPE.SK_REUSEPORT_SELECT,
    attachTypes: new Map([
      [BPF_ATTACH_TYPE.SK_REUSEPORT_SELECT, {}],
      [BPF_ATTACH_TYPE.SK_REUSEPORT_SELECT_OR_MIGRATE, {}],
    ]),
  },
  ['sk_select_reuseport', 'skb_load_bytes', 'skb_load_bytes_relative', 'get_socket_cookie', 'ktime_get_coarse_ns'],
);
