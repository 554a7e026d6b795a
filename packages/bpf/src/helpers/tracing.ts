/**
 * Tracing helpers (kernel/trace/bpf_trace.c): current task facts, stacks, perf counters, kprobe overrides.
 */
import type { HelperProto } from '@ebpf-sim/verifier';

export const TRACING_HELPERS: readonly HelperProto[] = [
  { id: 15, name: 'bpf_get_current_uid_gid', ret: 'integer', args: [] },
  { id: 16, name: 'bpf_get_current_comm', ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size'] },
  { id: 80, name: 'bpf_get_current_cgroup_id', ret: 'integer', args: [] },
  { id: 120, name: 'bpf_get_ns_current_pid_tgid', ret: 'integer', args: ['anything', 'anything', 'ptr_to_uninit_mem', 'const_size'] },
  { id: 22, name: 'bpf_perf_event_read', ret: 'integer', args: ['const_map_ptr', 'anything'], mapTypes: ['perf_event_array'] },
  {
    id: 55,
    name: 'bpf_perf_event_read_value',
    ret: 'integer',
    args: ['const_map_ptr', 'anything', 'ptr_to_uninit_mem', 'const_size'],
    gplOnly: true,
    mapTypes: ['perf_event_array'],
  },
  { id: 56, name: 'bpf_perf_prog_read_value', ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size'] },
  { id: 27, name: 'bpf_get_stackid', ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'anything'], gplOnly: true, mapTypes: ['stack_trace'] },
  { id: 67, name: 'bpf_get_stack', ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true },
  { id: 58, name: 'bpf_override_return', ret: 'integer', args: ['ptr_to_ctx', 'anything'], gplOnly: true },
  { id: 109, name: 'bpf_send_signal', ret: 'integer', args: ['anything'] },
  { id: 173, name: 'bpf_get_func_ip', ret: 'integer', args: ['ptr_to_ctx'] },
  { id: 174, name: 'bpf_get_attach_cookie', ret: 'integer', args: ['ptr_to_ctx'] },
];
