/**
 * BPF_PROG_TYPE_XDP (net/core/filter.c xdp_is_valid_access, xdp_convert_ctx_access, xdp_func_proto). The
 * program sees struct xdp_md, every field a read-only __u32 loaded whole; the hook hands it struct xdp_buff,
 * so data/data_end/data_meta become 8-byte pointer loads (packet pointers to the verifier) and
 * ingress_ifindex / rx_queue_index follow `rxq` (and `rxq->dev`), two or three loads as in Linux.
 * egress_ifindex is only for BPF_XDP_DEVMAP programs (the program a DEVMAP entry runs on the device it sends to):
 * xdp_is_valid_access refuses it for every other expected attach type, and converts it to `txq->dev->ifindex`.
 * Linux checks no other expected attach type of an XDP program at load (bpf_prog_load_check_attach has no XDP
 * case), so any other loads as plain XDP (checked against Linux 6.18).
 */
import { NET_DEVICE, XDP_BUFF, XDP_RXQ_INFO, XDP_TXQ_INFO } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE, XDP_MD } from '@ebpf-sim/uapi';
import type { CtxLayout } from '@ebpf-sim/verifier';
import { POINTER, chain } from './convert.js';
import { defineProgType, type BpfProgramType } from './define.js';

const U32 = 4;

/** The XDP context: struct xdp_md as programs see it, each field converted to its xdp_buff source. */
export const XDP_CTX: CtxLayout = {
  structName: 'xdp_md',
  size: XDP_MD.size,
  fields: [
    { name: 'data', off: XDP_MD.data, size: U32, kind: 'pkt', convert: { read: chain([XDP_BUFF.data, POINTER]) } },
    { name: 'data_end', off: XDP_MD.data_end, size: U32, kind: 'pkt_end', convert: { read: chain([XDP_BUFF.data_end, POINTER]) } },
    { name: 'data_meta', off: XDP_MD.data_meta, size: U32, kind: 'pkt_meta', convert: { read: chain([XDP_BUFF.data_meta, POINTER]) } },
    {
      name: 'ingress_ifindex',
      off: XDP_MD.ingress_ifindex,
      size: U32,
      kind: 'scalar',
      convert: { read: chain([XDP_BUFF.rxq, POINTER], [XDP_RXQ_INFO.dev, POINTER], [NET_DEVICE.ifindex, U32]) },
    },
    {
      name: 'rx_queue_index',
      off: XDP_MD.rx_queue_index,
      size: U32,
      kind: 'scalar',
      convert: { read: chain([XDP_BUFF.rxq, POINTER], [XDP_RXQ_INFO.queue_index, U32]) },
    },
  ],
};

const XDP_ANY = defineProgType({ name: 'xdp', uapiId: BPF_PROG_TYPE.XDP, ctx: XDP_CTX, directPacketWrite: true }, [
  'perf_event_output',
  'get_smp_processor_id',
  'csum_diff',
  'xdp_adjust_head',
  'xdp_adjust_meta',
  'redirect',
  'redirect_map',
  'xdp_adjust_tail',
  'fib_lookup',
  'check_mtu',
  'xdp_get_buff_len',
  'xdp_load_bytes',
  'xdp_store_bytes',
]);

/** A BPF_XDP_DEVMAP program's context: xdp_md with egress_ifindex, the ifindex of the device its txq sends on. */
const XDP_DEVMAP_CTX: CtxLayout = {
  ...XDP_CTX,
  fields: [
    ...XDP_CTX.fields,
    {
      name: 'egress_ifindex',
      off: XDP_MD.egress_ifindex,
      size: U32,
      kind: 'scalar',
      convert: { read: chain([XDP_BUFF.txq, POINTER], [XDP_TXQ_INFO.dev, POINTER], [NET_DEVICE.ifindex, U32]) },
    },
  ],
};

export const XDP: BpfProgramType = {
  ...XDP_ANY,
  attach: { byAttachType: new Map([[BPF_ATTACH_TYPE.XDP_DEVMAP, { ...XDP_ANY, ctx: XDP_DEVMAP_CTX }]]), others: XDP_ANY },
};
