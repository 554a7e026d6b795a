/**
 * struct sk_buff as the packet helpers and BPF_PROG_TEST_RUN handle it (include/linux/skbuff.h): the simulated
 * kernel builds linear skbs (data_len 0, no page fragments, never cloned), with ip_summed CHECKSUM_NONE (the
 * field is not modelled: what a test run's skb has in Linux), so the checksum-complete bookkeeping of the
 * helpers has nothing to update.
 */
import { BPF_SKB_DATA_END, SKB_SHARED_INFO, SK_BUFF } from '@ebpf-sim/kernel';
import { Errno } from '@ebpf-sim/uapi';
import { readPtr, writePtr } from './xdp.js';

/** skb_headlen: the bytes in the linear part. */
export function skbHeadlen(view: DataView, skb: number): number {
  return view.getUint32(skb + SK_BUFF.len, true) - view.getUint32(skb + SK_BUFF.data_len, true);
}

/** bpf_compute_data_pointers: the packet bounds a tc program reads (`data_meta`, `data_end`) kept in skb->cb. */
export function skbComputeDataPointers(view: DataView, skb: number): void {
  const data = readPtr(view, skb + SK_BUFF.data);
  const metaLen = view.getUint8(readPtr(view, skb + SK_BUFF.end) + SKB_SHARED_INFO.meta_len);
  writePtr(view, skb + SK_BUFF.cb + BPF_SKB_DATA_END.data_meta, data - metaLen);
  writePtr(view, skb + SK_BUFF.cb + BPF_SKB_DATA_END.data_end, data + skbHeadlen(view, skb));
}

/**
 * skb_ensure_writable (bpf_try_make_writable): the first `writeLen` bytes must be in the linear part
 * (pskb_may_pull: -ENOMEM past the packet); a linear, uncloned skb is writable as it is. The data pointers
 * are recomputed as Linux does after it.
 */
export function skbEnsureWritable(view: DataView, skb: number, writeLen: number): number {
  const ok = writeLen <= skbHeadlen(view, skb);
  skbComputeDataPointers(view, skb);
  return ok ? 0 : -Errno.ENOMEM;
}

/** skb_clear_hash: the flow hash is recomputed on next use (the l4_hash/sw_hash bits are not modelled). */
export function skbClearHash(view: DataView, skb: number): void {
  view.setUint32(skb + SK_BUFF.hash, 0, true);
}
