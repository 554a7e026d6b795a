/**
 * Helpers every program type reaches through bpf_base_func_proto (kernel/bpf/helpers.c): time, randomness,
 * CPU ids, and the privileged ones (trace_printk, probe reads, current task).
 */
import type { HelperProto } from '@ebpf-sim/verifier';

export const BASE_HELPERS: readonly HelperProto[] = [
  { id: 5, name: 'bpf_ktime_get_ns', ret: 'integer', args: [] },
  { id: 125, name: 'bpf_ktime_get_boot_ns', ret: 'integer', args: [] },
  { id: 160, name: 'bpf_ktime_get_coarse_ns', ret: 'integer', args: [] },
  { id: 208, name: 'bpf_ktime_get_tai_ns', ret: 'integer', args: [] },
  { id: 118, name: 'bpf_jiffies64', ret: 'integer', args: [] },
  { id: 7, name: 'bpf_get_prandom_u32', ret: 'integer', args: [] },
  { id: 14, name: 'bpf_get_current_pid_tgid', ret: 'integer', args: [] },
  { id: 8, name: 'bpf_get_smp_processor_id', ret: 'integer', args: [] },
  { id: 42, name: 'bpf_get_numa_node_id', ret: 'integer', args: [] },
  { id: 6, name: 'bpf_trace_printk', ret: 'integer', args: ['ptr_to_mem', 'const_size'], gplOnly: true },
  { id: 35, name: 'bpf_get_current_task', ret: 'integer', args: [], gplOnly: true },
  { id: 158, name: 'bpf_get_current_task_btf', ret: 'ptr_to_btf_id', args: [], gplOnly: true, retBtfName: 'task_struct' },
  { id: 4, name: 'bpf_probe_read', ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true },
  { id: 45, name: 'bpf_probe_read_str', ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true },
  { id: 112, name: 'bpf_probe_read_user', ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true },
  { id: 113, name: 'bpf_probe_read_kernel', ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true },
  { id: 114, name: 'bpf_probe_read_user_str', ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true },
  { id: 115, name: 'bpf_probe_read_kernel_str', ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true },
];

/** Helpers of bpf_base_func_proto any program may call without CAP_BPF (the first switch in Linux). */
export const UNPRIVILEGED_BASE = [1, 2, 3, 87, 88, 89, 195, 7, 8, 42, 12, 5, 125, 208, 130, 131, 132, 133, 134] as const;
/**
 * Base helpers behind CAP_BPF (spin locks, jiffies, get_current_pid_tgid: Linux 6.18 lets XDP call it) and
 * CAP_PERFMON (printk, probe reads, current task).
 */
export const PRIVILEGED_BASE = [93, 94, 118, 14, 6, 35, 158, 112, 113, 114, 115] as const;
