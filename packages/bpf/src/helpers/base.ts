/**
 * Helpers every program type reaches through bpf_base_func_proto (kernel/bpf/helpers.c): time, randomness,
 * CPU ids, and the privileged ones (trace_printk, probe reads, current task).
 */
import type { BpfFuncName } from '@ebpf-sim/uapi';
import { helper, type BpfHelper } from './define.js';

export const BASE_HELPERS: readonly BpfHelper[] = [
  helper('ktime_get_ns', { ret: 'integer', args: [] }),
  helper('ktime_get_boot_ns', { ret: 'integer', args: [] }),
  helper('ktime_get_coarse_ns', { ret: 'integer', args: [] }),
  helper('ktime_get_tai_ns', { ret: 'integer', args: [] }),
  helper('jiffies64', { ret: 'integer', args: [] }),
  helper('get_prandom_u32', { ret: 'integer', args: [] }),
  helper('get_current_pid_tgid', { ret: 'integer', args: [] }),
  helper('get_smp_processor_id', { ret: 'integer', args: [] }),
  helper('get_numa_node_id', { ret: 'integer', args: [] }),
  helper('trace_printk', { ret: 'integer', args: ['ptr_to_mem', 'const_size'], gplOnly: true }),
  helper('get_current_task', { ret: 'integer', args: [], gplOnly: true }),
  helper('get_current_task_btf', { ret: 'ptr_to_btf_id', args: [], gplOnly: true, retBtfName: 'task_struct' }),
  helper('probe_read', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }),
  helper('probe_read_str', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }),
  helper('probe_read_user', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }),
  helper('probe_read_kernel', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }),
  helper('probe_read_user_str', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }),
  helper('probe_read_kernel_str', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }),
];

/** Helpers of bpf_base_func_proto any program may call without CAP_BPF (the first switch in Linux). */
export const UNPRIVILEGED_BASE: readonly BpfFuncName[] = [
  'map_lookup_elem',
  'map_update_elem',
  'map_delete_elem',
  'map_push_elem',
  'map_pop_elem',
  'map_peek_elem',
  'map_lookup_percpu_elem',
  'get_prandom_u32',
  'get_smp_processor_id',
  'get_numa_node_id',
  'tail_call',
  'ktime_get_ns',
  'ktime_get_boot_ns',
  'ktime_get_tai_ns',
  'ringbuf_output',
  'ringbuf_reserve',
  'ringbuf_submit',
  'ringbuf_discard',
  'ringbuf_query',
];
/**
 * Base helpers behind CAP_BPF (spin locks, jiffies, get_current_pid_tgid: Linux 6.18 lets XDP call it) and
 * CAP_PERFMON (printk, probe reads, current task).
 */
export const PRIVILEGED_BASE: readonly BpfFuncName[] = [
  'spin_lock',
  'spin_unlock',
  'jiffies64',
  'get_current_pid_tgid',
  'trace_printk',
  'get_current_task',
  'get_current_task_btf',
  'probe_read_user',
  'probe_read_kernel',
  'probe_read_user_str',
  'probe_read_kernel_str',
];
