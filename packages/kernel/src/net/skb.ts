/**
 * struct sk_buff in kernel memory, as the receive and transmit paths build one for the hooks that read it
 * (tc ingress/egress, socket filters, net:netif_receive_skb): a linear skb (data_len 0) whose head is a
 * kmalloc'd (zeroed) buffer with NET_SKB_PAD of headroom and the skb_shared_info at its end, the sk_buff itself from a
 * kmem_cache (skbuff_head_cache). Every skb is freed by the path that built it (kfree_skb / consume_skb).
 */
import { ETH_HLEN } from '@ebpf-sim/uapi';
import { BPF_SKB_DATA_END, QDISC_SKB_CB, SKB_PKT_TYPE_MAX, SKB_SHARED_INFO, SK_BUFF } from '../hooks/kernel-objects.js';
import type { PhysicalMemory } from '../mm/physmem.js';
import { KmemCache } from '../mm/slab.js';

/** NET_SKB_PAD: headroom before the frame (max(32, L1_CACHE_BYTES) = 64 on x86_64). */
export const NET_SKB_PAD = 64;
/** SKB_DATA_ALIGN: the data area is rounded to the cache line. */
const SMP_CACHE_BYTES = 64;

const readPtr = (view: DataView, at: number): number => view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
const writePtr = (view: DataView, at: number, value: number): void => {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
};

/** Allocating, reading and freeing skbs (the sk_buff cache and the data buffers, charged to `skb`). */
export class SkbAllocator {
  private readonly cache: KmemCache;

  constructor(private readonly phys: PhysicalMemory) {
    this.cache = new KmemCache(phys, 'skbuff_head_cache', SK_BUFF.size);
  }

  /** skbs allocated and not freed. */
  get live(): number {
    return this.cache.live;
  }

  /**
   * __netdev_alloc_skb + skb_put_data of `frame`: an skb whose data starts at the Ethernet header, with the mac,
   * network and transport header offsets set (`l4` is the transport header's offset in the frame, 0 if none),
   * on device `netdev` (a struct net_device address) with `pktType`, `protocol` (network order, as skb->protocol)
   * and qdisc_skb_cb's pkt_len; or -1 when memory is exhausted.
   */
  alloc(frame: Uint8Array, netdev: number, ifindex: number, pktType: number, l4: number): number {
    const phys = this.phys;
    const dataArea = Math.ceil(frame.length / SMP_CACHE_BYTES) * SMP_CACHE_BYTES;
    const headSize = NET_SKB_PAD + dataArea + SKB_SHARED_INFO.size;
    const head = phys.kmalloc(Math.max(headSize, 1), 'skb');
    if (head < 0) return -1;
    const skb = this.cache.alloc();
    if (skb < 0) {
      phys.kfree(head);
      return -1;
    }
    const view = phys.view;
    phys.bytes.set(frame, head + NET_SKB_PAD);
    writePtr(view, skb + SK_BUFF.head, head);
    writePtr(view, skb + SK_BUFF.data, head + NET_SKB_PAD);
    writePtr(view, skb + SK_BUFF.tail, head + NET_SKB_PAD + frame.length);
    writePtr(view, skb + SK_BUFF.end, head + NET_SKB_PAD + dataArea);
    writePtr(view, skb + SK_BUFF.dev, netdev);
    view.setUint32(skb + SK_BUFF.len, frame.length, true);
    view.setUint16(skb + SK_BUFF.mac_len, ETH_HLEN, true);
    view.setUint32(skb + SK_BUFF.users, 1, true);
    view.setUint32(skb + SK_BUFF.truesize, SK_BUFF.size + headSize, true);
    view.setUint32(skb + SK_BUFF.skb_iif, ifindex, true);
    view.setUint8(skb + SK_BUFF.pkt_type_byte, pktType & SKB_PKT_TYPE_MAX);
    view.setUint16(skb + SK_BUFF.protocol, frame.length >= ETH_HLEN ? ((frame[12] ?? 0) << 8) | (frame[13] ?? 0) : 0, false);
    view.setUint16(skb + SK_BUFF.mac_header, NET_SKB_PAD, true);
    view.setUint16(skb + SK_BUFF.network_header, NET_SKB_PAD + ETH_HLEN, true);
    view.setUint16(skb + SK_BUFF.transport_header, l4 === 0 ? 0xffff : NET_SKB_PAD + l4, true);
    view.setUint32(skb + SK_BUFF.cb + QDISC_SKB_CB.pkt_len, frame.length, true);
    return skb;
  }

  /** kfree_skb: the data buffer and the sk_buff. */
  free(skb: number): void {
    this.phys.kfree(readPtr(this.phys.view, skb + SK_BUFF.head));
    this.cache.release(skb);
  }

  /** skb->len. */
  len(skb: number): number {
    return this.phys.view.getUint32(skb + SK_BUFF.len, true);
  }

  /** skb->data. */
  data(skb: number): number {
    return readPtr(this.phys.view, skb + SK_BUFF.data);
  }

  /** __skb_pull (negative `n`: __skb_push): move skb->data by `n` bytes and shorten skb->len. */
  pull(skb: number, n: number): void {
    const view = this.phys.view;
    writePtr(view, skb + SK_BUFF.data, this.data(skb) + n);
    view.setUint32(skb + SK_BUFF.len, this.len(skb) - n, true);
  }

  /** pskb_trim of a linear skb: keep the first `len` bytes. */
  trim(skb: number, len: number): void {
    const view = this.phys.view;
    view.setUint32(skb + SK_BUFF.len, len, true);
    writePtr(view, skb + SK_BUFF.tail, this.data(skb) + len);
  }

  /** bpf_compute_data_pointers: data_meta and data_end in skb->cb, before a tc program runs. */
  computeDataPointers(skb: number): void {
    const view = this.phys.view;
    const data = this.data(skb);
    const metaLen = view.getUint8(readPtr(view, skb + SK_BUFF.end) + SKB_SHARED_INFO.meta_len);
    writePtr(view, skb + SK_BUFF.cb + BPF_SKB_DATA_END.data_meta, data - metaLen);
    writePtr(view, skb + SK_BUFF.cb + BPF_SKB_DATA_END.data_end, data + this.len(skb));
  }

  /** The bytes from skb->data to its end (a view into kernel memory: copy what must outlive the skb). */
  bytes(skb: number): Uint8Array {
    const data = this.data(skb);
    return this.phys.bytes.subarray(data, data + this.len(skb));
  }
}
