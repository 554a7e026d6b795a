/**
 * Kernel-internal objects that hooks build and BPF context rewrites read. Programs never see these layouts:
 * they read the uapi structs (`xdp_md`, `bpf_perf_event_data`, `__sk_buff` in @ebpf-sim/uapi), and the
 * verifier's context rewrite (Linux convert_ctx_access) turns each uapi field access into loads from these
 * objects. The field order follows Linux 6.x; the offsets are the simulated kernel's own (as Linux's are its
 * own: they are not ABI). Pointers are 8-byte physical addresses.
 */

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

/** MAX_BPF_FUNC_ARGS (include/linux/bpf.h): the most u64 argument slots a BPF trampoline hands its programs. */
export const MAX_BPF_FUNC_ARGS = 12;

/**
 * The context of BPF LSM programs (and fentry/fexit): the BPF trampoline's array of u64 slots, one per
 * argument of the hooked function, with the hook's `int ret` in the slot after the last argument (x86
 * arch_prepare_bpf_trampoline keeps the return value right above the saved arguments). Pointer arguments
 * point at the kernel objects, outside this array.
 */
export const LSM_CTX_SIZE = MAX_BPF_FUNC_ARGS * 8;
