/**
 * Kernel-internal objects that hooks build and BPF context rewrites read. Programs never see these layouts:
 * they read the uapi structs (`xdp_md`, `bpf_perf_event_data`, `__sk_buff` in @ebpf-sim/uapi), and the
 * verifier's context rewrite (Linux convert_ctx_access) turns each uapi field access into loads from these
 * objects. The field order follows Linux 6.x; the offsets are the simulated kernel's own (as Linux's are its
 * own: they are not ABI). Pointers are 8-byte physical addresses.
 */
import { MAX_BPF_FUNC_ARGS } from '@ebpf-sim/uapi';

/** struct xdp_buff (include/net/xdp.h): what the XDP receive path hands a program as `struct xdp_md *`. */
export const XDP_BUFF = { size: 56, data: 0, data_end: 8, data_meta: 16, data_hard_start: 24, rxq: 32, txq: 40, frame_sz: 48, flags: 52 } as const;

/** struct xdp_rxq_info: the receive queue a frame arrived on (`xdp_md.ingress_ifindex`, `rx_queue_index`). */
export const XDP_RXQ_INFO = { size: 16, dev: 0, queue_index: 8, reg_state: 12 } as const;

/** struct xdp_txq_info: the transmit queue of a devmap program (`xdp_md.egress_ifindex`). */
export const XDP_TXQ_INFO = { size: 8, dev: 0 } as const;

/** struct net_device, the fields BPF context rewrites and helpers read (one per interface, kmalloc'd at probe). */
export const NET_DEVICE = { size: 32, ifindex: 0, mtu: 4, flags: 8, name: 16, nameMax: 16 } as const;

/**
 * struct bpf_perf_event_data_kern (include/linux/perf_event.h): what a perf-event program's `ctx` really
 * points to. `regs` points at the sampled pt_regs, `data` at the sample.
 */
export const BPF_PERF_EVENT_DATA_KERN = { size: 24, regs: 0, data: 8, event: 16 } as const;

/** struct perf_sample_data, the fields `bpf_perf_event_data.sample_period` and `.addr` are rewritten to. */
export const PERF_SAMPLE_DATA = { size: 16, addr: 0, period: 8 } as const;

/** enum xdp_rxq_info_state: REG_STATE_REGISTERED, the state of every RX queue of a probed device. */
export const XDP_RXQ_REG_STATE_REGISTERED = 1;

/**
 * The context of BPF LSM programs (and fentry/fexit): the BPF trampoline's array of u64 slots, one per
 * argument of the hooked function, with the hook's `int ret` in the slot after the last argument (x86
 * arch_prepare_bpf_trampoline keeps the return value right above the saved arguments). Pointer arguments
 * point at the kernel objects, outside this array.
 */
export const LSM_CTX_SIZE = MAX_BPF_FUNC_ARGS * 8;

/**
 * struct sk_buff (include/linux/skbuff.h), the fields `__sk_buff` is rewritten to (Linux bpf_convert_ctx_access,
 * tc_cls_act_convert_ctx_access). Field order and offsets are Linux 6.18's on x86_64 (vmlinux BTF) up to
 * `mac_header`; after it the simulated kernel keeps `tail` and `end` as pointers, Linux's layout without
 * NET_SKBUFF_DATA_USES_OFFSET, so `skb_shinfo(skb)` is the single load `skb->end` (with offsets Linux needs the
 * hidden BPF_REG_AX, which the VM does not have). Bit fields: `cloned` is bit 0 of the byte at `cloned_byte`,
 * `pkt_type` the low 3 bits of the byte at `pkt_type_byte`. `vlan_all` overlays vlan_proto and vlan_tci.
 */
export const SK_BUFF = {
  size: 232,
  next: 0,
  prev: 8,
  dev: 16,
  sk: 24,
  tstamp: 32,
  cb: 40,
  cbSize: 48,
  _skb_refdst: 88,
  destructor: 96,
  _nfct: 104,
  len: 112,
  data_len: 116,
  mac_len: 120,
  hdr_len: 122,
  queue_mapping: 124,
  cloned_byte: 126,
  pkt_type_byte: 128,
  tc_index: 132,
  alloc_cpu: 134,
  csum: 136,
  priority: 140,
  skb_iif: 144,
  hash: 148,
  vlan_all: 152,
  vlan_proto: 152,
  vlan_tci: 154,
  napi_id: 156,
  secmark: 160,
  mark: 164,
  inner_protocol: 168,
  protocol: 176,
  transport_header: 178,
  network_header: 180,
  mac_header: 182,
  tail: 184,
  end: 192,
  head: 200,
  data: 208,
  truesize: 216,
  users: 220,
  extensions: 224,
} as const;
/** The `cloned:1` bit in SK_BUFF.cloned_byte (CLONED_MASK). */
export const SKB_CLONED_MASK = 1;
/** The `pkt_type:3` bits in SK_BUFF.pkt_type_byte (PKT_TYPE_MAX, little-endian bit fields). */
export const SKB_PKT_TYPE_MAX = 7;
/** skb->queue_mapping value meaning "none" (NO_QUEUE_MAPPING = USHRT_MAX); a program's store of it is ignored. */
export const NO_QUEUE_MAPPING = 0xffff;
/**
 * Smallest NAPI id (MIN_NAPI_ID = NR_CPUS + 1; NR_CPUS 256 as in the Linux 6.18 kernel the bpf package's xlated
 * fixtures were recorded on): a smaller skb->napi_id is a sender CPU number, and `__sk_buff.napi_id` reads 0.
 */
export const MIN_NAPI_ID = 257;

/**
 * struct qdisc_skb_cb (include/net/sch_generic.h), laid over `sk_buff.cb`: `__sk_buff.wire_len`, `tc_classid`
 * and `cb[0..4]` (the 20 bytes of `data`) are rewritten to it.
 */
export const QDISC_SKB_CB = { size: 28, pkt_len: 0, slave_dev_queue_mapping: 4, tc_classid: 6, data: 8, dataSize: 20 } as const;

/**
 * struct bpf_skb_data_end (include/linux/filter.h), also laid over `sk_buff.cb`: the packet bounds the
 * kernel stores before running a tc program (bpf_compute_data_pointers), read by `__sk_buff.data_meta` and
 * `data_end`.
 */
export const BPF_SKB_DATA_END = { size: 48, qdisc_cb: 0, data_meta: 32, data_end: 40 } as const;

/**
 * struct skb_shared_info (include/linux/skbuff.h) at `skb->end` (and at the end of an XDP frame), the fields
 * `__sk_buff.gso_segs`, `gso_size` and `hwtstamp` read, and the page fragments of a multi-buffer XDP frame
 * (`xdp_frags_size`, `frags[MAX_SKB_FRAGS]` of SKB_FRAG). Offsets are Linux 6.18's; size is
 * SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), the tailroom Linux reserves for it.
 */
export const SKB_SHARED_INFO = {
  size: 320,
  flags: 0,
  meta_len: 1,
  nr_frags: 2,
  tx_flags: 3,
  gso_size: 4,
  gso_segs: 6,
  gso_type: 8,
  tskey: 12,
  hwtstamps: 16,
  xdp_frags_size: 40,
  frags: 48,
} as const;
/** skb_frag_t (struct skb_frag): a page fragment: its page's address (netmem), length and offset in the page. */
export const SKB_FRAG = { size: 16, netmem: 0, len: 8, offset: 12 } as const;
/** MAX_SKB_FRAGS (CONFIG_MAX_SKB_FRAGS default): the fragments one skb_shared_info holds. */
export const MAX_SKB_FRAGS = 17;
/** xdp_buff.flags: XDP_FLAGS_HAS_FRAGS, the frame has fragments after its linear part. */
export const XDP_FLAGS_HAS_FRAGS = 1;

/**
 * struct bpf_flow_dissector (include/linux/bpf.h): what the flow dissector hands its program as `struct __sk_buff *`;
 * the program's `data`, `data_end` and `flow_keys` read these pointers (flow_dissector_convert_ctx_access).
 */
export const BPF_FLOW_DISSECTOR = { size: 32, flow_keys: 0, skb: 8, data: 16, data_end: 24 } as const;

/**
 * struct sk_reuseport_kern (include/linux/filter.h): what reuseport selection hands an SK_REUSEPORT program as
 * `struct sk_reuseport_md *` (sk_reuseport_convert_ctx_access reads it and the skb it points to).
 */
export const SK_REUSEPORT_KERN = {
  size: 56,
  skb: 0,
  sk: 8,
  selected_sk: 16,
  migrating_sk: 24,
  data_end: 32,
  hash: 40,
  reuseport_id: 44,
  bind_inany: 48,
} as const;

/**
 * struct sock (include/net/sock.h, with struct sock_common first), the fields the socket program types'
 * contexts are rewritten to, followed by the struct tcp_sock fields bpf_sock_ops reads (a tcp_sock begins with
 * its struct sock, so one pointer reaches both). Past struct sock_common the offsets are the simulated kernel's own. `skc_dport` is
 * network order, `skc_num` host order (as Linux); `rtt_min` is the current minimum of tcp_sock.rtt_min.
 */
export const SOCK = {
  size: 248,
  // struct sock_common at Linux 6.18's offsets (x86_64 vmlinux BTF), so the socket fields read as in Linux.
  skc_daddr: 0,
  skc_rcv_saddr: 4,
  skc_dport: 12,
  skc_num: 14,
  skc_family: 16,
  skc_state: 18,
  skc_bound_dev_if: 20,
  skc_v6_daddr: 56,
  skc_v6_rcv_saddr: 72,
  // The simulated kernel's own layout from here.
  sk_rx_queue_mapping: 88,
  sk_type: 90,
  sk_protocol: 92,
  sk_mark: 96,
  sk_priority: 100,
  sk_txhash: 104,
  snd_cwnd: 108,
  srtt_us: 112,
  rtt_min: 116,
  snd_ssthresh: 120,
  rcv_nxt: 124,
  snd_nxt: 128,
  snd_una: 132,
  mss_cache: 136,
  ecn_flags: 140,
  rate_delivered: 144,
  rate_interval_us: 148,
  packets_out: 152,
  retrans_out: 156,
  total_retrans: 160,
  segs_in: 164,
  data_segs_in: 168,
  segs_out: 172,
  data_segs_out: 176,
  lost_out: 180,
  sacked_out: 184,
  bytes_received: 192,
  bytes_acked: 200,
  bpf_sock_ops_cb_flags: 208,
  // sk->sk_cgrp_data: the struct cgroup the socket was created in (cgroup_sk_alloc; bpf_skb_cgroup_id reads it).
  sk_cgrp_data: 216,
  // sk->sk_cookie: 0 until bpf_get_socket_cookie (sock_gen_cookie) gives the socket one.
  sk_cookie: 224,
  // The last tcp_sock / inet_connection_sock fields of struct bpf_tcp_sock.
  dsack_dups: 232,
  delivered: 236,
  delivered_ce: 240,
  icsk_retransmits: 244,
} as const;
/** sk_rx_queue_mapping when no queue was recorded (NO_QUEUE_MAPPING); bpf_sock.rx_queue_mapping then reads -1. */
export const SK_NO_QUEUE_MAPPING = 0xffff;

/**
 * struct bpf_sock_addr_kern (include/linux/filter.h): what a CGROUP_SOCK_ADDR hook hands its programs. Linux
 * keeps pointers to the syscall's sockaddr and to sendmsg's source address; the simulated hook keeps copies of
 * both inside the object (`uaddr`: a struct sockaddr_in or sockaddr_in6, `msg_src`: an in_addr or in6_addr)
 * and copies a program's changes back, so every field is one load or store from the context.
 */
export const BPF_SOCK_ADDR_KERN = { size: 64, sk: 0, uaddrlen: 8, uaddr: 16, uaddrSize: 28, msg_src: 44 } as const;
/** struct sockaddr_in / sockaddr_in6 member offsets (uapi, the same in both for family and port). */
export const SOCKADDR_IN = { sin_family: 0, sin_port: 2, sin_addr: 4, sin6_addr: 8 } as const;

/**
 * struct bpf_sock_ops_kern (include/linux/filter.h): `args`/`reply`/`replylong` in place, the socket, the skb
 * of the segment being handled (NULL outside the header-option callbacks) and its end.
 */
export const BPF_SOCK_OPS_KERN = {
  size: 64,
  sk: 0,
  args: 8,
  syn_skb: 24,
  skb: 32,
  skb_data_end: 40,
  op: 48,
  is_fullsock: 49,
  remaining_opt_len: 50,
  temp: 56,
} as const;
/** Offset of tcp_skb_cb.tcp_flags in skb->cb (TCP_SKB_CB(skb)->tcp_flags, bpf_sock_ops.skb_tcp_flags). */
export const TCP_SKB_CB_TCP_FLAGS = 12;

/**
 * struct bpf_sysctl_kern (include/linux/filter.h): Linux points `ppos` at the file position; the simulated
 * hook keeps it in `file_pos` and writes a program's change back. The value buffers serve the sysctl helpers.
 */
export const BPF_SYSCTL_KERN = {
  size: 64,
  write: 0,
  file_pos: 8,
  head: 16,
  table: 24,
  cur_val: 32,
  cur_len: 40,
  new_val: 48,
  new_len: 56,
  new_updated: 60,
} as const;

/**
 * struct bpf_sockopt_kern (include/linux/filter.h). `retval` lives in the object (Linux keeps it in
 * current->bpf_ctx, the run context of the cgroup program array).
 */
export const BPF_SOCKOPT_KERN = { size: 48, sk: 0, optval: 8, optval_end: 16, level: 24, optname: 28, optlen: 32, retval: 36, current_task: 40 } as const;

/** struct sk_msg (include/linux/skmsg.h), the fields sk_msg_md reads: the data bounds, the message size and the socket. */
export const SK_MSG = { size: 40, data: 0, data_end: 8, msg_size: 16, sk: 24, apply_bytes: 32, cork_bytes: 36 } as const;

/**
 * struct bpf_sk_lookup_kern (include/linux/filter.h): the 4-tuple being looked up (`sport` network order,
 * `dport` host order), IPv6 addresses through pointers as Linux, and the socket a program selected.
 */
export const BPF_SK_LOOKUP_KERN = {
  size: 56,
  family: 0,
  protocol: 2,
  sport: 4,
  dport: 6,
  v4_saddr: 8,
  v4_daddr: 12,
  v6_saddr: 16,
  v6_daddr: 24,
  selected_sk: 32,
  ingress_ifindex: 40,
  no_reuseport: 44,
} as const;
