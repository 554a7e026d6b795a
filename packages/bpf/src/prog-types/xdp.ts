/**
 * BPF_PROG_TYPE_XDP (net/core/filter.c xdp_is_valid_access, xdp_convert_ctx_access, xdp_func_proto).
 * Context: struct xdp_md, every field a read-only __u32 loaded whole; data/data_end/data_meta become
 * packet pointers, rewritten into 8-byte loads of struct xdp_buff. egress_ifindex (offset 20) is only for
 * BPF_XDP_DEVMAP programs, which the simulator does not have yet (checked against Linux 6.18).
 */
import type { CtxLayout } from '@ebpf-sim/verifier';
import { defineProgType } from './define.js';

export const XDP_MD: CtxLayout = {
  structName: 'xdp_md',
  size: 24,
  fields: [
    { name: 'data', off: 0, size: 4, kind: 'pkt', convert: { realOff: 0, realSize: 8, note: 'xdp_buff->data' } },
    { name: 'data_end', off: 4, size: 4, kind: 'pkt_end', convert: { realOff: 8, realSize: 8, note: 'xdp_buff->data_end' } },
    { name: 'data_meta', off: 8, size: 4, kind: 'pkt_meta', convert: { realOff: 16, realSize: 8, note: 'xdp_buff->data_meta' } },
    { name: 'ingress_ifindex', off: 12, size: 4, kind: 'scalar', convert: { realOff: 32, realSize: 8, note: 'xdp_buff->rxq->dev->ifindex' } },
    { name: 'rx_queue_index', off: 16, size: 4, kind: 'scalar', convert: { realOff: 32, realSize: 8, note: 'xdp_buff->rxq->queue_index' } },
  ],
};

export const XDP = defineProgType({ name: 'xdp', uapiId: 6, ctx: XDP_MD, directPacketWrite: true }, [25, 8, 28, 44, 54, 23, 51, 65, 69, 163, 188, 189, 190]);
