/**
 * BPF_PROG_TYPE_SK_LOOKUP (net/core/filter.c sk_lookup_is_valid_access, sk_lookup_convert_ctx_access,
 * sk_lookup_func_proto; check_return_code; Linux 6.18). The context is struct bpf_sk_lookup over struct
 * bpf_sk_lookup_kern: the packet's 4-tuple, protocol and ingress device, read-only, narrower loads allowed;
 * `remote_port` is a 2-byte field that may also be read as a u32 (and its zero padding read as such). A program
 * returns SK_DROP or SK_PASS; it picks a socket with bpf_sk_assign.
 *
 * Not modelled: `sk` (PTR_TO_SOCKET_OR_NULL): programs reading it are refused.
 */
import { BPF_SK_LOOKUP_KERN } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE, BPF_SK_LOOKUP, SK_ACTION } from '@ebpf-sim/uapi';
import type { CtxConvert } from '@ebpf-sim/verifier';
import { POINTER, fromCtx } from './convert.js';
import { defineProgType } from './define.js';
import { U16, U32, direct, ip6Words, scalar } from './sock.js';

const K = BPF_SK_LOOKUP_KERN;
const O = BPF_SK_LOOKUP;

/**
 * Word `word` of an IPv6 address behind the pointer at `ptrOff`, read at the program's own width; the pointer
 * is NULL for an IPv4 lookup and the field then reads 0 (sk_lookup_convert_ctx_access).
 */
const ip6Word = (ptrOff: number, word: number): CtxConvert => ({
  read: [fromCtx(ptrOff, POINTER), { op: 'jeq', imm: 0, skip: 1 }, { op: 'load', base: 'value', off: word * U32, size: 'access' }],
});

export const SK_LOOKUP = defineProgType(
  {
    name: 'sk_lookup',
    uapiId: BPF_PROG_TYPE.SK_LOOKUP,
    ctx: {
      structName: 'bpf_sk_lookup',
      size: O.size,
      fields: [
        scalar('family', O.family, { ...direct(K.family, U16), targetSize: U16 }, { narrow: true }),
        scalar('protocol', O.protocol, { ...direct(K.protocol, U16), targetSize: U16 }, { narrow: true }),
        scalar('remote_ip4', O.remote_ip4, direct(K.v4_saddr, U32), { narrow: true }),
        ...ip6Words('remote_ip6', O.remote_ip6, (i) => ip6Word(K.v6_saddr, i), { narrow: true }),
        // sport is network order; a u32 read gives it in the low half, the padding above reads 0.
        scalar('remote_port', O.remote_port, { ...direct(K.sport, U16), targetSize: U16 }, { narrow: true }),
        scalar('local_ip4', O.local_ip4, direct(K.v4_daddr, U32), { narrow: true }),
        ...ip6Words('local_ip6', O.local_ip6, (i) => ip6Word(K.v6_daddr, i), { narrow: true }),
        scalar('local_port', O.local_port, { ...direct(K.dport, U16), targetSize: U16 }, { narrow: true }),
        scalar('ingress_ifindex', O.ingress_ifindex, direct(K.ingress_ifindex, U32), { narrow: true }),
      ],
    },
    retRange: { min: SK_ACTION.DROP, max: SK_ACTION.PASS },
    // bpf_prog_load_check_attach: expected_attach_type BPF_SK_LOOKUP only.
    attachTypes: new Map([[BPF_ATTACH_TYPE.SK_LOOKUP, {}]]),
  },
  ['sk_assign', 'sk_release', 'perf_event_output', 'get_socket_cookie', 'get_netns_cookie', 'sk_lookup_tcp', 'sk_lookup_udp', 'skc_lookup_tcp'],
);
