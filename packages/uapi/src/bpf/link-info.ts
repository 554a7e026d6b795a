/**
 * The per-type parts of struct bpf_link_info (include/uapi/linux/bpf.h, Linux 6.18): offsets from the start of
 * the struct (the union begins at BPF_LINK_INFO.union = 16). Names that the kernel fills through a user buffer
 * (`tp_name`, `func_name`) are in/out: user space passes a pointer and its length, the kernel copies the name
 * there, as bpftool's do_show_link asks a second time with a buffer.
 */

/** bpf_link_info.raw_tracepoint: { aligned_u64 tp_name; u32 tp_name_len; u32 :32; u64 cookie; }. */
export const BPF_LINK_INFO_RAW_TRACEPOINT = { tp_name: 16, tp_name_len: 24, cookie: 32 } as const;
/** bpf_link_info.tracing: { u32 attach_type; u32 target_obj_id; u32 target_btf_id; u32 :32; u64 cookie; }. */
export const BPF_LINK_INFO_TRACING = { attach_type: 16, target_obj_id: 20, target_btf_id: 24, cookie: 32 } as const;
/** bpf_link_info.xdp: { u32 ifindex; }. */
export const BPF_LINK_INFO_XDP = { ifindex: 16 } as const;
/** bpf_link_info.tcx: { u32 ifindex; u32 attach_type; }. */
export const BPF_LINK_INFO_TCX = { ifindex: 16, attach_type: 20 } as const;
/** bpf_link_info.cgroup: the cgroup id and the attach type (struct bpf_link_info's union at 16). */
export const BPF_LINK_INFO_CGROUP = { cgroup_id: 16, attach_type: 24 } as const;
/**
 * bpf_link_info.perf_event: { u32 type; u32 :32; union { kprobe, tracepoint, event, uprobe } } — the inner
 * union at 24. kprobe: { aligned_u64 func_name; u32 name_len; u32 offset; u64 addr; u64 missed; u64 cookie; };
 * tracepoint: { aligned_u64 tp_name; u32 name_len; u32 :32; u64 cookie; }; event: { u64 config; u32 type; u32 :32; u64 cookie; }.
 */
export const BPF_LINK_INFO_PERF_EVENT = {
  type: 16,
  kprobe: { func_name: 24, name_len: 32, offset: 36, addr: 40, missed: 48, cookie: 56 },
  tracepoint: { tp_name: 24, name_len: 32, cookie: 40 },
  event: { config: 24, type: 32, cookie: 40 },
} as const;

/** enum bpf_task_fd_type: what BPF_TASK_FD_QUERY says an fd is. */
export const BPF_FD_TYPE = { RAW_TRACEPOINT: 0, TRACEPOINT: 1, KPROBE: 2, KRETPROBE: 3, UPROBE: 4, URETPROBE: 5 } as const;
