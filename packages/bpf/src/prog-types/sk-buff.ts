/**
 * struct __sk_buff (include/uapi/linux/bpf.h), the context of socket filters and tc programs, and its
 * conversion to the kernel's struct sk_buff as Linux's bpf_convert_ctx_access makes it: `cb[]`, `tc_classid`
 * and `wire_len` through the qdisc_skb_cb laid over skb->cb, `data_end`/`data_meta` through bpf_skb_data_end
 * (also in skb->cb), `ifindex` through skb->dev, `gso_*` through skb_shinfo(skb). Which fields a program type
 * may read or write differs (sk_filter_is_valid_access, tc_cls_act_is_valid_access), and so does `ifindex`:
 * a socket filter may run on an skb without a device (NULL-checked), tc never does
 * (tc_cls_act_convert_ctx_access).
 *
 * The simulated kernel models no tc ingress hook, so it is built as Linux without CONFIG_NET_XGRESS: `tstamp`
 * is read and written as it is (Linux with it first tests skb->tc_at_ingress through BPF_REG_AX). `sk` and the
 * socket fields (`family` .. `local_port`) read the skb's struct sock (SK_BUFF_SK, SK_BUFF_SOCK_FIELDS) for the
 * types that offer them here (socket filters: `sk`; cgroup skb: both); tc and the others do not offer them yet.
 */
import { BPF_SKB_DATA_END, MIN_NAPI_ID, NET_DEVICE, NO_QUEUE_MAPPING, QDISC_SKB_CB, SKB_PKT_TYPE_MAX, SKB_SHARED_INFO, SK_BUFF, SOCK } from '@ebpf-sim/kernel';
import { __SK_BUFF, __SK_BUFF_CB_WORDS } from '@ebpf-sim/uapi';
import type { CtxConvert, CtxField } from '@ebpf-sim/verifier';
import { POINTER, chain, fromCtx, fromValue } from './convert.js';

const U32 = 4;
const U16 = 2;
const U8 = 1;

/** Where `__sk_buff.cb[0]` lives: qdisc_skb_cb.data inside skb->cb. */
const CB_DATA = SK_BUFF.cb + QDISC_SKB_CB.data;

/** A field read with one load from the sk_buff, and stored back to the same place when `store` says so. */
function direct(off: number, size: 1 | 2 | 4 | 8, store?: Omit<NonNullable<CtxConvert['write']>, 'off' | 'size'>): CtxConvert {
  return { read: [fromCtx(off, size)], ...(store ? { write: { off, size, ...store } } : {}) };
}

/** The scalar u32 fields of __sk_buff the skb program types share, in uapi order, with their conversions. */
const SCALARS: ReadonlyArray<readonly [name: string, off: number, convert: CtxConvert]> = [
  ['len', __SK_BUFF.len, direct(SK_BUFF.len, U32)],
  ['pkt_type', __SK_BUFF.pkt_type, { read: [fromCtx(SK_BUFF.pkt_type_byte, U8), { op: 'and', imm: SKB_PKT_TYPE_MAX }] }],
  ['mark', __SK_BUFF.mark, direct(SK_BUFF.mark, U32, {})],
  ['queue_mapping', __SK_BUFF.queue_mapping, direct(SK_BUFF.queue_mapping, U16, { below: NO_QUEUE_MAPPING })],
  ['protocol', __SK_BUFF.protocol, direct(SK_BUFF.protocol, U16)],
  ['vlan_present', __SK_BUFF.vlan_present, { read: [fromCtx(SK_BUFF.vlan_all, U32), { op: 'jeq', imm: 0, skip: 1 }, { op: 'mov', imm: 1 }] }],
  ['vlan_tci', __SK_BUFF.vlan_tci, direct(SK_BUFF.vlan_tci, U16)],
  ['vlan_proto', __SK_BUFF.vlan_proto, direct(SK_BUFF.vlan_proto, U16)],
  ['priority', __SK_BUFF.priority, direct(SK_BUFF.priority, U32, {})],
  ['ingress_ifindex', __SK_BUFF.ingress_ifindex, direct(SK_BUFF.skb_iif, U32)],
  // Replaced per program type (see skBuffFields).
  ['ifindex', __SK_BUFF.ifindex, { read: chain([SK_BUFF.dev, POINTER], [NET_DEVICE.ifindex, U32]) }],
  ['tc_index', __SK_BUFF.tc_index, direct(SK_BUFF.tc_index, U16, {})],
  ['hash', __SK_BUFF.hash, direct(SK_BUFF.hash, U32)],
  ['tc_classid', __SK_BUFF.tc_classid, direct(SK_BUFF.cb + QDISC_SKB_CB.tc_classid, U16, {})],
  ['napi_id', __SK_BUFF.napi_id, { read: [fromCtx(SK_BUFF.napi_id, U32), { op: 'jge', imm: MIN_NAPI_ID, skip: 1 }, { op: 'mov', imm: 0, alu64: true }] }],
  ['wire_len', __SK_BUFF.wire_len, direct(SK_BUFF.cb + QDISC_SKB_CB.pkt_len, U32)],
  // skb_shinfo(skb) is skb->end in the simulated layout (see SK_BUFF).
  ['gso_segs', __SK_BUFF.gso_segs, { read: [fromCtx(SK_BUFF.end, POINTER), fromValue(SKB_SHARED_INFO.gso_segs, U16)] }],
  ['gso_size', __SK_BUFF.gso_size, { read: [fromCtx(SK_BUFF.end, POINTER), fromValue(SKB_SHARED_INFO.gso_size, U16)] }],
];

/** `__sk_buff.ifindex` of a socket filter: skb->dev may be NULL, then the field reads 0 (bpf_convert_ctx_access). */
export const IFINDEX_NULL_CHECKED: CtxConvert = {
  read: [fromCtx(SK_BUFF.dev, POINTER), { op: 'jeq', imm: 0, skip: 1 }, fromValue(NET_DEVICE.ifindex, U32)],
};

/**
 * `cb[0]`..`cb[4]` as one field: bpf_skb_is_valid_access lets a load or store of any width aligned to it
 * anywhere inside them (an 8-byte access spans two words), and the conversion makes each at its own width and
 * offset where `data` (an offset in the sk_buff) puts them.
 */
function cbField(data: number, writable: boolean): CtxField {
  return {
    name: 'cb',
    off: __SK_BUFF.cb,
    size: __SK_BUFF_CB_WORDS * U32,
    kind: 'scalar',
    anyAlignedAccess: true,
    writable,
    convert: { read: [fromCtx(data, 'access')], write: { off: data, size: 'access' } },
  };
}

/**
 * Where an sk_skb program's cb[] lives: struct sk_skb_cb's `data`, at the start of skb->cb
 * (sk_skb_convert_ctx_access), not after a qdisc_skb_cb's header as for the other types.
 */
export const SK_SKB_CB_DATA = SK_BUFF.cb;

/**
 * The scalar fields, writable where `writable` says so, without the `hidden` ones; narrow loads are allowed on
 * all of them. `ifindex`, when given, replaces the conversion of `ifindex` (NULL-checked skb->dev). cb[] comes
 * with them: writable unless `cbReadOnly` (sk_skb_is_valid_access refuses those stores), at `cbData` in the
 * sk_buff (qdisc_skb_cb's data by default).
 */
export function skBuffScalars(
  writable: ReadonlySet<string>,
  hidden: ReadonlySet<string>,
  ifindex?: CtxConvert,
  cbData: number = CB_DATA,
  cbReadOnly = false,
): CtxField[] {
  const scalars = SCALARS.filter(([name]) => !hidden.has(name)).map(([name, off, convert]) => ({
    name,
    off,
    size: U32,
    kind: 'scalar' as const,
    narrowLoads: true,
    writable: writable.has(name),
    convert: name === 'ifindex' && ifindex !== undefined ? ifindex : convert,
  }));
  return [...scalars, cbField(cbData, !cbReadOnly)];
}

/** data, data_end and data_meta: packet pointers for the types with direct packet access. */
export const SK_BUFF_PACKET: readonly CtxField[] = [
  { name: 'data', off: __SK_BUFF.data, size: U32, kind: 'pkt', convert: direct(SK_BUFF.data, POINTER) },
  { name: 'data_end', off: __SK_BUFF.data_end, size: U32, kind: 'pkt_end', convert: direct(SK_BUFF.cb + BPF_SKB_DATA_END.data_end, POINTER) },
  { name: 'data_meta', off: __SK_BUFF.data_meta, size: U32, kind: 'pkt_meta', convert: direct(SK_BUFF.cb + BPF_SKB_DATA_END.data_meta, POINTER) },
];

/** data and data_end without data_meta (LWT, cgroup skb): the packet pointers of types that have no metadata. */
export const SK_BUFF_DATA: readonly CtxField[] = SK_BUFF_PACKET.filter((f) => f.name !== 'data_meta');

/**
 * `data_end` of an sk_skb program: skb->data + skb->len - skb->data_len (bpf_convert_data_end_access, through
 * BPF_REG_AX): the stream parser's skbs never went through bpf_compute_data_pointers.
 */
export const SK_SKB_DATA_END: CtxField = {
  name: 'data_end',
  off: __SK_BUFF.data_end,
  size: U32,
  kind: 'pkt_end',
  convert: {
    read: [
      fromCtx(SK_BUFF.data, POINTER),
      { op: 'loadAx', off: SK_BUFF.len, size: U32 },
      { op: 'addAx' },
      { op: 'loadAx', off: SK_BUFF.data_len, size: U32 },
      { op: 'subAx' },
    ],
  },
};

/** tstamp: only whole 8-byte loads and stores (bpf_skb_is_valid_access). */
export const SK_BUFF_TSTAMP: CtxField = {
  name: 'tstamp',
  off: __SK_BUFF.tstamp,
  size: 8,
  kind: 'scalar',
  convert: direct(SK_BUFF.tstamp, 8, {}),
};

/** hwtstamp: skb_shinfo(skb)->hwtstamps.hwtstamp, read-only, whole 8-byte loads (tc and cgroup skb may read it). */
export const SK_BUFF_HWTSTAMP: CtxField = {
  name: 'hwtstamp',
  off: __SK_BUFF.hwtstamp,
  size: 8,
  kind: 'scalar',
  convert: { read: [fromCtx(SK_BUFF.end, POINTER), fromValue(SKB_SHARED_INFO.hwtstamps, 8)] },
};

/** `__sk_buff.sk`: skb->sk as PTR_TO_SOCK_COMMON_OR_NULL, whole 8-byte reads only (bpf_skb_is_valid_access). */
export const SK_BUFF_SK: CtxField = { name: 'sk', off: __SK_BUFF.sk, size: 8, kind: 'sock_common_or_null', convert: direct(SK_BUFF.sk, POINTER) };

/** A struct sock field read through skb->sk (bpf_convert_ctx_access: no NULL test, the types that allow them always have one). */
const throughSk = (off: number, size: 2 | 4): CtxConvert => ({ read: chain([SK_BUFF.sk, POINTER], [off, size]) });

/**
 * `family` .. `local_port` of __sk_buff: the skb's socket's addresses and ports (bpf_convert_ctx_access). The
 * address words take only whole u32 loads; family and the ports narrow ones too (bpf_skb_is_valid_access's
 * default case). `remote_port` is skc_dport (network order) shifted into the upper half on a little-endian machine.
 */
export const SK_BUFF_SOCK_FIELDS: readonly CtxField[] = [
  { name: 'family', off: __SK_BUFF.family, size: U32, kind: 'scalar', narrowLoads: true, convert: throughSk(SOCK.skc_family, U16) },
  { name: 'remote_ip4', off: __SK_BUFF.remote_ip4, size: U32, kind: 'scalar', convert: throughSk(SOCK.skc_daddr, U32) },
  { name: 'local_ip4', off: __SK_BUFF.local_ip4, size: U32, kind: 'scalar', convert: throughSk(SOCK.skc_rcv_saddr, U32) },
  ...[0, 1, 2, 3].map((i) => ({
    name: `remote_ip6[${i}]`,
    off: __SK_BUFF.remote_ip6 + i * U32,
    size: U32,
    kind: 'scalar' as const,
    convert: throughSk(SOCK.skc_v6_daddr + i * U32, U32),
  })),
  ...[0, 1, 2, 3].map((i) => ({
    name: `local_ip6[${i}]`,
    off: __SK_BUFF.local_ip6 + i * U32,
    size: U32,
    kind: 'scalar' as const,
    convert: throughSk(SOCK.skc_v6_rcv_saddr + i * U32, U32),
  })),
  {
    name: 'remote_port',
    off: __SK_BUFF.remote_port,
    size: U32,
    kind: 'scalar',
    narrowLoads: true,
    convert: { read: [...chain([SK_BUFF.sk, POINTER], [SOCK.skc_dport, U16]), { op: 'lsh', imm: 16 }] },
  },
  { name: 'local_port', off: __SK_BUFF.local_port, size: U32, kind: 'scalar', narrowLoads: true, convert: throughSk(SOCK.skc_num, U16) },
];
