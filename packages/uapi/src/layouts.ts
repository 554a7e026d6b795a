/**
 * Byte layouts of the structures that cross the user/kernel boundary or that eBPF programs read as their
 * context, as on x86_64 Linux 6.x. Offsets are in bytes; every struct is little-endian.
 */

/** struct timespec / __kernel_timespec: { s64 tv_sec; s64 tv_nsec; }. */
export const TIMESPEC = { size: 16, tv_sec: 0, tv_nsec: 8 } as const;

/** struct stat as returned by newfstatat/fstat on x86_64 (arch/x86/include/uapi/asm/stat.h), 144 bytes. */
export const STAT = {
  size: 144,
  st_dev: 0,
  st_ino: 8,
  st_nlink: 16,
  st_mode: 24,
  st_uid: 28,
  st_gid: 32,
  st_rdev: 40,
  st_size: 48,
  st_blksize: 56,
  st_blocks: 64,
  st_atime: 72,
  st_atime_nsec: 80,
  st_mtime: 88,
  st_mtime_nsec: 96,
  st_ctime: 104,
  st_ctime_nsec: 112,
} as const;

/** struct rusage (x86_64): two struct timeval (16 bytes each) then 14 longs; 144 bytes. */
export const RUSAGE = { size: 144, ru_utime: 0, ru_stime: 16, ru_maxrss: 32, ru_minflt: 56, ru_nvcsw: 128, ru_nivcsw: 136 } as const;

/** struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }, records 8-aligned. */
export const DIRENT64 = { d_ino: 0, d_off: 8, d_reclen: 16, d_type: 18, d_name: 19 } as const;
/** Size of one getdents64 record for a name of `nameLength` bytes (NUL included, padded to 8). */
export const dirent64RecordLength = (nameLength: number): number => (DIRENT64.d_name + nameLength + 1 + 7) & ~7;

/** struct pt_regs on x86_64 (arch/x86/include/asm/ptrace.h), 168 bytes: the kprobe and perf-event context. */
export const PT_REGS = {
  size: 168,
  r15: 0,
  r14: 8,
  r13: 16,
  r12: 24,
  bp: 32,
  bx: 40,
  r11: 48,
  r10: 56,
  r9: 64,
  r8: 72,
  ax: 80,
  cx: 88,
  dx: 96,
  si: 104,
  di: 112,
  orig_ax: 120,
  ip: 128,
  cs: 136,
  flags: 144,
  sp: 152,
  ss: 160,
} as const;
/** Registers holding the arguments of a C function call, in order (System V AMD64 ABI). */
export const PT_REGS_FUNC_ARGS = [PT_REGS.di, PT_REGS.si, PT_REGS.dx, PT_REGS.cx, PT_REGS.r8, PT_REGS.r9] as const;
/** Registers holding the arguments of a syscall as saved at entry (the 4th is r10, not rcx). */
export const PT_REGS_SYSCALL_ARGS = [PT_REGS.di, PT_REGS.si, PT_REGS.dx, PT_REGS.r10, PT_REGS.r8, PT_REGS.r9] as const;

/** struct bpf_perf_event_data { bpf_user_pt_regs_t regs; __u64 sample_period; __u64 addr; }. */
export const BPF_PERF_EVENT_DATA = { size: 184, regs: 0, sample_period: 168, addr: 176 } as const;

/** struct xdp_md, the XDP program's context (include/uapi/linux/bpf.h): six u32 fields. */
export const XDP_MD = { size: 24, data: 0, data_end: 4, data_meta: 8, ingress_ifindex: 12, rx_queue_index: 16, egress_ifindex: 20 } as const;
/**
 * struct __sk_buff (include/uapi/linux/bpf.h), the context of socket filters and tc programs: a view of the
 * kernel's struct sk_buff, which the verifier's context rewrite reads instead. 192 bytes.
 */
export const __SK_BUFF = {
  size: 192,
  len: 0,
  pkt_type: 4,
  mark: 8,
  queue_mapping: 12,
  protocol: 16,
  vlan_present: 20,
  vlan_tci: 24,
  vlan_proto: 28,
  priority: 32,
  ingress_ifindex: 36,
  ifindex: 40,
  tc_index: 44,
  cb: 48,
  hash: 68,
  tc_classid: 72,
  data: 76,
  data_end: 80,
  napi_id: 84,
  family: 88,
  remote_ip4: 92,
  local_ip4: 96,
  remote_ip6: 100,
  local_ip6: 116,
  remote_port: 132,
  local_port: 136,
  data_meta: 140,
  flow_keys: 144,
  tstamp: 152,
  wire_len: 160,
  gso_segs: 164,
  sk: 168,
  gso_size: 176,
  tstamp_type: 180,
  hwtstamp: 184,
} as const;
/** `__u32 cb[5]`: the words of __sk_buff's control block. */
export const __SK_BUFF_CB_WORDS = 5;

/**
 * struct bpf_flow_keys (include/uapi/linux/bpf.h): what a flow dissector program fills in through
 * `__sk_buff.flow_keys`. The IPv4 addresses share their offsets with the first words of the IPv6 ones (a union).
 */
export const BPF_FLOW_KEYS = {
  size: 56,
  nhoff: 0,
  thoff: 2,
  addr_proto: 4,
  is_frag: 6,
  is_first_frag: 7,
  is_encap: 8,
  ip_proto: 9,
  n_proto: 10,
  sport: 12,
  dport: 14,
  ipv4_src: 16,
  ipv4_dst: 20,
  ipv6_src: 16,
  ipv6_dst: 32,
  flags: 48,
  flow_label: 52,
} as const;

/** struct sk_reuseport_md (include/uapi/linux/bpf.h), the context of SK_REUSEPORT programs. 56 bytes. */
export const SK_REUSEPORT_MD = {
  size: 56,
  data: 0,
  data_end: 8,
  len: 16,
  eth_protocol: 20,
  ip_protocol: 24,
  bind_inany: 28,
  hash: 32,
  sk: 40,
  migrating_sk: 48,
} as const;

/** Bytes reserved in front of a received frame for bpf_xdp_adjust_head and metadata (XDP_PACKET_HEADROOM). */
export const XDP_PACKET_HEADROOM = 256;
/** XDP program results (enum xdp_action). */
export const XDP_ACTION = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;
export type XdpActionName = keyof typeof XDP_ACTION;
/** enum bpf_ret_code (include/uapi/linux/bpf.h): the results of LWT and flow dissector programs. */
export const BPF_RET_CODE = { OK: 0, DROP: 2, REDIRECT: 7, LWT_REROUTE: 128, FLOW_DISSECTOR_CONTINUE: 129 } as const;
/** tc program results (TC_ACT_*, include/uapi/linux/pkt_cls.h). */
export const TC_ACT = { UNSPEC: -1, OK: 0, RECLASSIFY: 1, SHOT: 2, PIPE: 3, STOLEN: 4, QUEUED: 5, REPEAT: 6, REDIRECT: 7, TRAP: 8 } as const;

/** tcx program results (enum tcx_action_base, include/uapi/linux/bpf.h): TCX_NEXT hands the packet to the next program. */
export const TCX_ACTION = { NEXT: -1, PASS: 0, DROP: 2, REDIRECT: 7 } as const;

/** Most arguments a BPF program or a traced kernel function passes (MAX_BPF_FUNC_ARGS, include/linux/bpf.h). */
export const MAX_BPF_FUNC_ARGS = 12;
/**
 * struct bpf_raw_tracepoint_args { __u64 args[0]; }: the raw tracepoint's arguments as u64 slots; `size` is
 * what a program may read (bpf_tracing_ctx_access: MAX_BPF_FUNC_ARGS slots).
 */
export const BPF_RAW_TRACEPOINT_ARGS = { args: 0, size: 8 * MAX_BPF_FUNC_ARGS } as const;

/** Largest trace event record a tracepoint program may read (PERF_MAX_TRACE_SIZE, include/linux/trace_events.h). */
export const PERF_MAX_TRACE_SIZE = 8192;
/** The common header of every trace event record (struct trace_entry), 8 bytes. */
export const TRACE_ENTRY = { size: 8, common_type: 0, common_flags: 2, common_preempt_count: 3, common_pid: 4 } as const;
/** raw_syscalls:sys_enter (struct trace_event_raw_sys_enter): long id at 8, unsigned long args[6] at 16. */
export const TRACE_RAW_SYS_ENTER = { size: 64, id: 8, args: 16 } as const;
/** raw_syscalls:sys_exit (struct trace_event_raw_sys_exit): long id at 8, long ret at 16. */
export const TRACE_RAW_SYS_EXIT = { size: 24, id: 8, ret: 16 } as const;
/** syscalls:sys_enter_<name>: int __syscall_nr at 8, then each argument as 8 bytes from 16. */
export const TRACE_SYSCALL_ENTER = { __syscall_nr: 8, args: 16, size: (argCount: number): number => 16 + 8 * argCount } as const;
/** syscalls:sys_exit_<name>: int __syscall_nr at 8, long ret at 16. */
export const TRACE_SYSCALL_EXIT = { size: 24, __syscall_nr: 8, ret: 16 } as const;
/** sched:sched_switch. */
export const TRACE_SCHED_SWITCH = { size: 64, prev_comm: 8, prev_pid: 24, prev_prio: 28, prev_state: 32, next_comm: 40, next_pid: 56, next_prio: 60 } as const;
/** sched:sched_wakeup. */
export const TRACE_SCHED_WAKEUP = { size: 36, comm: 8, pid: 24, prio: 28, target_cpu: 32 } as const;
/** sched:sched_process_fork: the comms are __data_loc (u16 offset | u16 length << 16) into the record's tail. */
export const TRACE_SCHED_PROCESS_FORK = { fixedSize: 24, parent_comm: 8, parent_pid: 12, child_comm: 16, child_pid: 20 } as const;
/** sched:sched_process_exec: filename is __data_loc. */
export const TRACE_SCHED_PROCESS_EXEC = { fixedSize: 20, filename: 8, pid: 12, old_pid: 16 } as const;
/** sched:sched_process_exit. */
export const TRACE_SCHED_PROCESS_EXIT = { size: 36, comm: 8, pid: 24, prio: 28, group_dead: 32 } as const;
/** cgroup:cgroup_mkdir, cgroup_rmdir, ... (event class `cgroup`): path is __data_loc (Linux 6.18's format file). */
export const TRACE_CGROUP = { fixedSize: 28, root: 8, level: 12, id: 16, path: 24 } as const;
/** cgroup:cgroup_attach_task (event class `cgroup_migrate`): dst_path and comm are __data_loc. */
export const TRACE_CGROUP_ATTACH_TASK = { fixedSize: 36, dst_root: 8, dst_level: 12, dst_id: 16, pid: 24, dst_path: 28, comm: 32 } as const;
/** Length of task_struct.comm (TASK_COMM_LEN). */
export const TASK_COMM_LEN = 16;

/** prev_state values reported by sched_switch (TASK_* bits). */
export const TASK_STATE = { RUNNING: 0, INTERRUPTIBLE: 0x1, UNINTERRUPTIBLE: 0x2, DEAD: 0x80 } as const;

/**
 * The contexts of the socket and cgroup program types (include/uapi/linux/bpf.h, offsets as Linux 6.18's BTF
 * gives them). `*_ip6` are `__u32[4]`; `__bpf_md_ptr` members are 8 bytes.
 */
/** struct bpf_sock: CGROUP_SOCK's context (and what PTR_TO_SOCKET points at). */
export const BPF_SOCK = {
  size: 80,
  bound_dev_if: 0,
  family: 4,
  type: 8,
  protocol: 12,
  mark: 16,
  priority: 20,
  src_ip4: 24,
  src_ip6: 28,
  src_port: 44,
  dst_port: 48,
  dst_ip4: 52,
  dst_ip6: 56,
  state: 72,
  rx_queue_mapping: 76,
} as const;
/**
 * struct bpf_tcp_sock (include/uapi/linux/bpf.h): what PTR_TO_TCP_SOCK points at (bpf_tcp_sock's result); u32
 * counters, then bytes_received and bytes_acked as u64, then four more u32s.
 */
export const BPF_TCP_SOCK = {
  size: 112,
  snd_cwnd: 0,
  srtt_us: 4,
  rtt_min: 8,
  snd_ssthresh: 12,
  rcv_nxt: 16,
  snd_nxt: 20,
  snd_una: 24,
  mss_cache: 28,
  ecn_flags: 32,
  rate_delivered: 36,
  rate_interval_us: 40,
  packets_out: 44,
  retrans_out: 48,
  total_retrans: 52,
  segs_in: 56,
  data_segs_in: 60,
  segs_out: 64,
  data_segs_out: 68,
  lost_out: 72,
  sacked_out: 76,
  bytes_received: 80,
  bytes_acked: 88,
  dsack_dups: 96,
  delivered: 100,
  delivered_ce: 104,
  icsk_retransmits: 108,
} as const;
/** struct bpf_sock_addr: CGROUP_SOCK_ADDR's context. */
export const BPF_SOCK_ADDR = {
  size: 72,
  user_family: 0,
  user_ip4: 4,
  user_ip6: 8,
  user_port: 24,
  family: 28,
  type: 32,
  protocol: 36,
  msg_src_ip4: 40,
  msg_src_ip6: 44,
  sk: 64,
} as const;
/** struct bpf_sock_ops: SOCK_OPS's context. `args`, `reply` and `replylong` share offset 4 (a union). */
export const BPF_SOCK_OPS = {
  size: 224,
  op: 0,
  args: 4,
  reply: 4,
  replylong: 4,
  family: 20,
  remote_ip4: 24,
  local_ip4: 28,
  remote_ip6: 32,
  local_ip6: 48,
  remote_port: 64,
  local_port: 68,
  is_fullsock: 72,
  snd_cwnd: 76,
  srtt_us: 80,
  bpf_sock_ops_cb_flags: 84,
  state: 88,
  rtt_min: 92,
  snd_ssthresh: 96,
  rcv_nxt: 100,
  snd_nxt: 104,
  snd_una: 108,
  mss_cache: 112,
  ecn_flags: 116,
  rate_delivered: 120,
  rate_interval_us: 124,
  packets_out: 128,
  retrans_out: 132,
  total_retrans: 136,
  segs_in: 140,
  data_segs_in: 144,
  segs_out: 148,
  data_segs_out: 152,
  lost_out: 156,
  sacked_out: 160,
  sk_txhash: 164,
  bytes_received: 168,
  bytes_acked: 176,
  sk: 184,
  skb_data: 192,
  skb_data_end: 200,
  skb_len: 208,
  skb_tcp_flags: 212,
  skb_hwtstamp: 216,
} as const;
/** struct bpf_cgroup_dev_ctx: CGROUP_DEVICE's context (`access_type` is BPF_DEVCG_ACC_* << 16 | BPF_DEVCG_DEV_*). */
export const BPF_CGROUP_DEV_CTX = { size: 12, access_type: 0, major: 4, minor: 8 } as const;
/** struct bpf_sysctl: CGROUP_SYSCTL's context. */
export const BPF_SYSCTL = { size: 8, write: 0, file_pos: 4 } as const;
/** struct bpf_sockopt: CGROUP_SOCKOPT's context. */
export const BPF_SOCKOPT = { size: 40, sk: 0, optval: 8, optval_end: 16, level: 24, optname: 28, optlen: 32, retval: 36 } as const;
/** struct sk_msg_md: SK_MSG's context. */
export const SK_MSG_MD = {
  size: 80,
  data: 0,
  data_end: 8,
  family: 16,
  remote_ip4: 20,
  local_ip4: 24,
  remote_ip6: 28,
  local_ip6: 44,
  remote_port: 60,
  local_port: 64,
  /** The `size` member (bytes of the message), named apart from the struct's own size. */
  msg_size: 68,
  sk: 72,
} as const;
/** struct bpf_sk_lookup: SK_LOOKUP's context (`sk` shares offset 0 with the u64 `cookie` BPF_PROG_TEST_RUN writes back). */
export const BPF_SK_LOOKUP = {
  size: 72,
  sk: 0,
  cookie: 0,
  family: 8,
  protocol: 12,
  remote_ip4: 16,
  remote_ip6: 20,
  remote_port: 36,
  local_ip4: 40,
  local_ip6: 44,
  local_port: 60,
  ingress_ifindex: 64,
} as const;
