/**
 * struct __sk_buff (include/uapi/linux/bpf.h), the context of socket filters and tc programs. Which fields a
 * program type may read or write differs (sk_filter_is_valid_access, tc_cls_act_is_valid_access).
 */
import type { CtxField } from '@ebpf-sim/verifier';

const U32_FIELDS: ReadonlyArray<readonly [string, number]> = [
  ['len', 0],
  ['pkt_type', 4],
  ['mark', 8],
  ['queue_mapping', 12],
  ['protocol', 16],
  ['vlan_present', 20],
  ['vlan_tci', 24],
  ['vlan_proto', 28],
  ['priority', 32],
  ['ingress_ifindex', 36],
  ['ifindex', 40],
  ['tc_index', 44],
  ['cb[0]', 48],
  ['cb[1]', 52],
  ['cb[2]', 56],
  ['cb[3]', 60],
  ['cb[4]', 64],
  ['hash', 68],
  ['tc_classid', 72],
  ['napi_id', 84],
  ['family', 88],
  ['remote_ip4', 92],
  ['local_ip4', 96],
  ['remote_port', 132],
  ['local_port', 136],
  ['wire_len', 160],
  ['gso_segs', 164],
  ['gso_size', 176],
];

export const SK_BUFF_SIZE = 192;

/** The scalar fields, writable where `writable` says so; narrow loads are allowed on all of them. */
export function skBuffScalars(writable: ReadonlySet<string>, hidden: ReadonlySet<string>): CtxField[] {
  return U32_FIELDS.filter(([name]) => !hidden.has(name)).map(([name, off]) => ({
    name,
    off,
    size: 4,
    kind: 'scalar' as const,
    narrowLoads: true,
    writable: writable.has(name) || name.startsWith('cb['),
  }));
}

/** data, data_end and data_meta: packet pointers for the types with direct packet access. */
export const SK_BUFF_PACKET: readonly CtxField[] = [
  { name: 'data', off: 76, size: 4, kind: 'pkt', convert: { realOff: 200, realSize: 8, note: 'skb->data' } },
  { name: 'data_end', off: 80, size: 4, kind: 'pkt_end', convert: { realOff: 80, realSize: 8, note: 'bpf_skb_data_end->data_end (skb->cb)' } },
  { name: 'data_meta', off: 140, size: 4, kind: 'pkt_meta', convert: { realOff: 200, realSize: 8, note: 'skb->data - skb_metadata_len(skb)' } },
];

export const SK_BUFF_TSTAMP: CtxField = { name: 'tstamp', off: 152, size: 8, kind: 'scalar', narrowLoads: true };
