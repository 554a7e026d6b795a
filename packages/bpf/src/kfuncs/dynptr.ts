/**
 * The packet dynptr kfuncs (net/core/filter.c, kernel/bpf/helpers.c): bpf_dynptr_from_skb (filter.c's skb kfunc
 * set: tc, socket filters, cgroup_skb, lwt, sk_skb, netfilter) and bpf_dynptr_from_xdp (the xdp set) make a
 * dynptr over the program's packet; bpf_dynptr_slice / bpf_dynptr_slice_rdwr (common set) hand out a pointer to
 * `buffer__szk` bytes of any dynptr, or NULL. The verifier types them (kfunc.ts: the `__uninit` dynptr's type, the
 * slice's size from the constant); the helpers' runtime (helpers/dynptr.ts) reads and writes through the packet.
 */
import { KF } from '@ebpf-sim/verifier';
import { SK_BUFF } from '@ebpf-sim/kernel';
import { BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import { dynptrInit, dynptrIsRdonly, dynptrSetNull, dynptrSlice } from '../helpers/dynptr.js';
import { DYNPTR_KERN } from '../maps/ringbuf-records.js';
import { xdpBuffLen } from '../net/xdp.js';
import { kfunc, type BpfKfunc, type KfuncImpl } from './define.js';

/**
 * The program types whose skb dynptr is writable (may_access_direct_pkt_data for BPF_WRITE); the others get
 * bpf_dynptr_from_skb_rdonly, which specialize_kfunc substitutes in Linux: a read-only dynptr.
 */
const SKB_WRITABLE: ReadonlySet<number> = new Set([BPF_PROG_TYPE.SCHED_CLS, BPF_PROG_TYPE.SCHED_ACT, BPF_PROG_TYPE.LWT_XMIT, BPF_PROG_TYPE.SK_SKB]);

/** bpf_dynptr_from_skb(s, flags, ptr__uninit): any flag is -EINVAL (the dynptr NULL); else the whole packet (skb->len). */
const fromSkb: KfuncImpl = (env) => (ctx) => {
  const { view, bytes } = env.k.phys;
  const skb = ctx.argNumber(1);
  const ptr = ctx.argNumber(3);
  if (ctx.argNumber(2) !== 0) {
    dynptrSetNull(bytes, ptr);
    return -Errno.EINVAL;
  }
  dynptrInit(view, ptr, skb, DYNPTR_KERN.TYPE_SKB, view.getUint32(skb + SK_BUFF.len, true), !SKB_WRITABLE.has(env.run.progType));
  return 0;
};

/** bpf_dynptr_from_xdp(x, flags, ptr__uninit): any flag is -EINVAL (the dynptr NULL); else the frame (xdp_get_buff_len). */
const fromXdp: KfuncImpl = (env) => (ctx) => {
  const { view, bytes } = env.k.phys;
  const xdp = ctx.argNumber(1);
  const ptr = ctx.argNumber(3);
  if (ctx.argNumber(2) !== 0) {
    dynptrSetNull(bytes, ptr);
    return -Errno.EINVAL;
  }
  dynptrInit(view, ptr, xdp, DYNPTR_KERN.TYPE_XDP, xdpBuffLen(view, xdp));
  return 0;
};

const SLICE_PROTO = {
  ret: 'void *',
  args: [
    { name: 'p', ctype: 'const struct bpf_dynptr *' },
    { name: 'offset', ctype: 'u32' },
    { name: 'buffer__opt', ctype: 'void *' },
    { name: 'buffer__szk', ctype: 'u32' },
  ],
};

export const DYNPTR_KFUNCS: readonly BpfKfunc[] = [
  kfunc(
    'bpf_dynptr_from_skb',
    {
      ret: 'int',
      args: [
        { name: 's', ctype: 'struct __sk_buff *' },
        { name: 'flags', ctype: 'u64' },
        { name: 'ptr__uninit', ctype: 'struct bpf_dynptr *' },
      ],
    },
    0,
    'skb',
    fromSkb,
    undefined,
    { dynptrType: 'skb' },
  ),
  kfunc(
    'bpf_dynptr_from_xdp',
    {
      ret: 'int',
      args: [
        { name: 'x', ctype: 'struct xdp_md *' },
        { name: 'flags', ctype: 'u64' },
        { name: 'ptr__uninit', ctype: 'struct bpf_dynptr *' },
      ],
    },
    0,
    'xdp',
    fromXdp,
    undefined,
    { dynptrType: 'xdp' },
  ),
  kfunc(
    'bpf_dynptr_slice',
    SLICE_PROTO,
    KF.RET_NULL,
    'common',
    (env) => (ctx) => dynptrSlice(env, ctx.argNumber(1), ctx.argU32(2), ctx.argNumber(3), ctx.argU32(4)),
    undefined,
    {
      ret: { kind: 'dynptr_slice', rdwr: false },
    },
  ),
  kfunc(
    'bpf_dynptr_slice_rdwr',
    SLICE_PROTO,
    KF.RET_NULL,
    'common',
    // A read-only dynptr gives no writable slice.
    (env) => (ctx) => (dynptrIsRdonly(env, ctx.argNumber(1)) ? 0 : dynptrSlice(env, ctx.argNumber(1), ctx.argU32(2), ctx.argNumber(3), ctx.argU32(4))),
    undefined,
    { ret: { kind: 'dynptr_slice', rdwr: true } },
  ),
];
