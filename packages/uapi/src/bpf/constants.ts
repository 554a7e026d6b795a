/**
 * The bpf(2) ABI constants of include/uapi/linux/bpf.h (Linux 6.x): commands, map and program types,
 * attach types and flags. Checked against the header installed with libbpf-dev.
 */

/** enum bpf_cmd. */
export const BPF_CMD = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
} as const;
export type BpfCmdName = keyof typeof BPF_CMD;

/** enum bpf_map_type. */
export const BPF_MAP_TYPE = {
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
} as const;
export type BpfMapTypeName = keyof typeof BPF_MAP_TYPE;

/** enum bpf_prog_type. */
export const BPF_PROG_TYPE = {
  UNSPEC: 0,
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20,
  SK_REUSEPORT: 21,
  FLOW_DISSECTOR: 22,
  CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  STRUCT_OPS: 27,
  EXT: 28,
  LSM: 29,
  SK_LOOKUP: 30,
  SYSCALL: 31,
} as const;
export type BpfProgTypeName = keyof typeof BPF_PROG_TYPE;

/** enum bpf_attach_type (the values this model can meet; the enum continues in newer kernels). */
export const BPF_ATTACH_TYPE = {
  CGROUP_INET_INGRESS: 0,
  CGROUP_INET_EGRESS: 1,
  CGROUP_INET_SOCK_CREATE: 2,
  CGROUP_SOCK_OPS: 3,
  SK_SKB_STREAM_PARSER: 4,
  SK_SKB_STREAM_VERDICT: 5,
  CGROUP_DEVICE: 6,
  SK_MSG_VERDICT: 7,
  CGROUP_INET4_BIND: 8,
  CGROUP_INET6_BIND: 9,
  CGROUP_INET4_CONNECT: 10,
  CGROUP_INET6_CONNECT: 11,
  CGROUP_INET4_POST_BIND: 12,
  CGROUP_INET6_POST_BIND: 13,
  CGROUP_UDP4_SENDMSG: 14,
  CGROUP_UDP6_SENDMSG: 15,
  LIRC_MODE2: 16,
  FLOW_DISSECTOR: 17,
  CGROUP_SYSCTL: 18,
  CGROUP_UDP4_RECVMSG: 19,
  CGROUP_UDP6_RECVMSG: 20,
  CGROUP_GETSOCKOPT: 21,
  CGROUP_SETSOCKOPT: 22,
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  CGROUP_INET4_GETPEERNAME: 29,
  CGROUP_INET6_GETPEERNAME: 30,
  CGROUP_INET4_GETSOCKNAME: 31,
  CGROUP_INET6_GETSOCKNAME: 32,
  XDP_DEVMAP: 33,
  CGROUP_INET_SOCK_RELEASE: 34,
  XDP_CPUMAP: 35,
  SK_LOOKUP: 36,
  XDP: 37,
  SK_SKB_VERDICT: 38,
  SK_REUSEPORT_SELECT: 39,
  SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  LSM_CGROUP: 43,
  STRUCT_OPS: 44,
  NETFILTER: 45,
  /** tcx (Linux 6.6): libbpf's SEC("tc/ingress") and SEC("tcx/ingress") ask for these. */
  TCX_INGRESS: 46,
  TCX_EGRESS: 47,
  TRACE_UPROBE_MULTI: 48,
  /** The unix-socket cgroup hooks (Linux 6.7): CGROUP_SOCK_ADDR programs for AF_UNIX connect/sendmsg/recvmsg/getpeername/getsockname. */
  CGROUP_UNIX_CONNECT: 49,
  CGROUP_UNIX_SENDMSG: 50,
  CGROUP_UNIX_RECVMSG: 51,
  CGROUP_UNIX_GETPEERNAME: 52,
  CGROUP_UNIX_GETSOCKNAME: 53,
} as const;
export type BpfAttachTypeName = keyof typeof BPF_ATTACH_TYPE;

/** Map update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK). */
export const BPF_UPDATE = { ANY: 0, NOEXIST: 1, EXIST: 2, F_LOCK: 4 } as const;

/** map_flags of BPF_MAP_CREATE. */
export const BPF_MAP_F = {
  NO_PREALLOC: 1,
  NO_COMMON_LRU: 2,
  NUMA_NODE: 4,
  RDONLY: 8,
  WRONLY: 16,
  STACK_BUILD_ID: 32,
  ZERO_SEED: 64,
  RDONLY_PROG: 128,
  WRONLY_PROG: 256,
  CLONE: 512,
  MMAPABLE: 1024,
  PRESERVE_ELEMS: 2048,
  INNER_MAP: 4096,
} as const;

/** prog_flags of BPF_PROG_LOAD. */
export const BPF_PROG_F = {
  STRICT_ALIGNMENT: 1,
  ANY_ALIGNMENT: 2,
  TEST_RND_HI32: 4,
  TEST_STATE_FREQ: 8,
  SLEEPABLE: 16,
  XDP_HAS_FRAGS: 32,
  XDP_DEV_BOUND_ONLY: 64,
  TEST_REG_INVARIANTS: 128,
  TOKEN_FD: 1 << 16,
} as const;

/** log_level bits of BPF_PROG_LOAD (BPF_LOG_LEVEL1, BPF_LOG_LEVEL2, BPF_LOG_STATS, BPF_LOG_FIXED; BPF_LOG_MASK is all four). */
export const BPF_LOG = { LEVEL1: 1, LEVEL2: 2, STATS: 4, FIXED: 8, MASK: 15 } as const;

/** enum bpf_stats_type (BPF_ENABLE_STATS). */
export const BPF_STATS = { RUN_TIME: 0 } as const;

/** enum bpf_link_type (include/uapi/linux/bpf.h, 6.18): bpf_link_info.type and fdinfo's link_type. */
export const BPF_LINK_TYPE = {
  UNSPEC: 0,
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  CGROUP: 3,
  ITER: 4,
  NETNS: 5,
  XDP: 6,
  PERF_EVENT: 7,
  KPROBE_MULTI: 8,
  STRUCT_OPS: 9,
  NETFILTER: 10,
  TCX: 11,
  UPROBE_MULTI: 12,
  NETKIT: 13,
  SOCKMAP: 14,
} as const;

/** The names of the link types (kernel/bpf/syscall.c bpf_link_type_strs, libbpf's link_type_name): fdinfo's link_type, bpftool's output. */
export const BPF_LINK_TYPE_NAMES: Readonly<Record<number, string>> = {
  [BPF_LINK_TYPE.UNSPEC]: 'unspec',
  [BPF_LINK_TYPE.RAW_TRACEPOINT]: 'raw_tracepoint',
  [BPF_LINK_TYPE.TRACING]: 'tracing',
  [BPF_LINK_TYPE.CGROUP]: 'cgroup',
  [BPF_LINK_TYPE.ITER]: 'iter',
  [BPF_LINK_TYPE.NETNS]: 'netns',
  [BPF_LINK_TYPE.XDP]: 'xdp',
  [BPF_LINK_TYPE.PERF_EVENT]: 'perf_event',
  [BPF_LINK_TYPE.KPROBE_MULTI]: 'kprobe_multi',
  [BPF_LINK_TYPE.STRUCT_OPS]: 'struct_ops',
  [BPF_LINK_TYPE.NETFILTER]: 'netfilter',
  [BPF_LINK_TYPE.TCX]: 'tcx',
  [BPF_LINK_TYPE.UPROBE_MULTI]: 'uprobe_multi',
  [BPF_LINK_TYPE.NETKIT]: 'netkit',
  [BPF_LINK_TYPE.SOCKMAP]: 'sockmap',
};

/** BPF_F_REPLACE (BPF_LINK_UPDATE's flags, and BPF_PROG_ATTACH's): replace only if `old_prog_fd` is the program attached. */
export const BPF_F_REPLACE = 1 << 2;

/**
 * Attach flags of BPF_PROG_ATTACH / BPF_PROG_DETACH / BPF_LINK_CREATE (include/uapi/linux/bpf.h): the cgroup
 * ones (ALLOW_OVERRIDE, ALLOW_MULTI), REPLACE, and bpf_mprog's placement (BEFORE / AFTER a relative program or
 * link, named by fd or, with ID, by id; LINK: the relative object is a link). PREORDER is cgroup-only.
 */
export const BPF_F_ATTACH = {
  ALLOW_OVERRIDE: 1 << 0,
  ALLOW_MULTI: 1 << 1,
  REPLACE: 1 << 2,
  BEFORE: 1 << 3,
  AFTER: 1 << 4,
  ID: 1 << 5,
  PREORDER: 1 << 6,
  LINK: 1 << 13,
} as const;

/** BPF_PROG_QUERY's query_flags: BPF_F_QUERY_EFFECTIVE (cgroups: the effective programs). */
export const BPF_F_QUERY_EFFECTIVE = 1 << 0;

/** XDP attach flags (include/uapi/linux/if_link.h XDP_FLAGS_*): link_create.flags of BPF_XDP links and netlink's IFLA_XDP_FLAGS. */
export const XDP_FLAGS = {
  UPDATE_IF_NOEXIST: 1 << 0,
  SKB_MODE: 1 << 1,
  DRV_MODE: 1 << 2,
  HW_MODE: 1 << 3,
  REPLACE: 1 << 4,
  MODES: (1 << 1) | (1 << 2) | (1 << 3),
  MASK: (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4),
} as const;

/** Bytes of a program tag (BPF_TAG_SIZE): the first 8 bytes of the digest of its instructions (SHA-256 since 6.18, SHA-1 before). */
export const BPF_TAG_SIZE = 8;

/** Length of map_name / prog_name including the NUL (BPF_OBJ_NAME_LEN). */
export const BPF_OBJ_NAME_LEN = 16;
/** Bytes of one eBPF instruction (struct bpf_insn). */
export const BPF_INSN_SIZE = 8;

/** Ring buffer ABI (include/uapi/linux/bpf.h): flags of ringbuf_output/submit/discard, ringbuf_query's selectors, the record header. */
export const BPF_RB = { NO_WAKEUP: 1, FORCE_WAKEUP: 2, AVAIL_DATA: 0, RING_SIZE: 1, CONS_POS: 2, PROD_POS: 3 } as const;

/** bpf_timer_start's flags (enum { BPF_F_TIMER_ABS = 1, BPF_F_TIMER_CPU_PIN = 2 }). */
export const BPF_F_TIMER = { ABS: 1, CPU_PIN: 2 } as const;
/** struct bpf_ringbuf_hdr { u32 len; s32 pg_off; }: the length's top bits say busy (reserved, not committed) and discarded. */
export const BPF_RINGBUF = { BUSY_BIT: 0x80000000, DISCARD_BIT: 0x40000000, HDR_SZ: 8 } as const;

/** get_stackid's flags (BPF_F_SKIP_FIELD_MASK: frames to skip; user stack; compare frames on collision; replace the bucket). */
export const BPF_STACKID_F = { SKIP_FIELD_MASK: 0xff, USER_STACK: 1 << 8, FAST_STACK_CMP: 1 << 9, REUSE_STACKID: 1 << 10, USER_BUILD_ID: 1 << 11 } as const;
/** struct bpf_stack_build_id: s32 status, unsigned char build_id[20], union { u64 offset; u64 ip; } — 32 bytes. */
export const BPF_STACK_BUILD_ID = { EMPTY: 0, VALID: 1, IP: 2, SIZE: 32, BUILD_ID_SIZE: 20 } as const;

/** flags of BPF_PROG_TEST_RUN (BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES, BPF_F_TEST_SKB_CHECKSUM_COMPLETE). */
export const BPF_TEST_RUN_F = { RUN_ON_CPU: 1, XDP_LIVE_FRAMES: 2, SKB_CHECKSUM_COMPLETE: 4 } as const;

/**
 * Flags of the packet helpers (include/uapi/linux/bpf.h): bpf_skb_store_bytes (RECOMPUTE_CSUM, INVALIDATE_HASH),
 * bpf_l3/l4_csum_replace (HDR_FIELD_MASK: the field's size 0, 2 or 4; PSEUDO_HDR, MARK_MANGLED_0, MARK_ENFORCE,
 * IPV6), bpf_redirect (INGRESS) and bpf_redirect_map (BROADCAST, EXCLUDE_INGRESS).
 */
export const BPF_F = {
  RECOMPUTE_CSUM: 1,
  INVALIDATE_HASH: 2,
  HDR_FIELD_MASK: 0xf,
  PSEUDO_HDR: 0x10,
  MARK_MANGLED_0: 0x20,
  MARK_ENFORCE: 0x40,
  IPV6: 0x80,
  INGRESS: 1,
  BROADCAST: 8,
  EXCLUDE_INGRESS: 16,
} as const;

/** enum bpf_perf_event_type: what bpf_link_info.perf_event describes. */
export const BPF_PERF_EVENT_TYPE = { UNSPEC: 0, UPROBE: 1, URETPROBE: 2, KPROBE: 3, KRETPROBE: 4, TRACEPOINT: 5, EVENT: 6 } as const;

/** Flags of bpf_perf_event_output / bpf_perf_event_read (BPF_F_INDEX_MASK, BPF_F_CURRENT_CPU, BPF_F_CTXLEN_MASK's shift). */
export const BPF_F_PERF = { INDEX_MASK: 0xffffffff, CURRENT_CPU: 0xffffffff, CTXLEN_SHIFT: 32 } as const;

/** struct bpf_devmap_val: the ifindex, then the program's fd (written) or id (read). */
export const BPF_DEVMAP_VAL = { ifindex: 0, bpf_prog: 4, size: 8 } as const;

/** enum sk_action: the verdicts of sk_skb, sk_msg, sk_reuseport and sk_lookup programs and their redirect helpers. */
export const SK_ACTION = { DROP: 0, PASS: 1 } as const;

/** struct bpf_cpumap_val: the queue size, then the program's fd (written) or id (read); 4 bytes (qsize only) or 8. */
export const BPF_CPUMAP_VAL = { qsize: 0, bpf_prog: 4, size: 8 } as const;
