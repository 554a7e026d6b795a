/**
 * Tracing helpers (kernel/trace/bpf_trace.c): current task facts, stacks, perf counters, kprobe overrides.
 */
import { helper, type BpfHelper } from './define.js';

export const TRACING_HELPERS: readonly BpfHelper[] = [
  helper('get_current_uid_gid', { ret: 'integer', args: [] }),
  helper('get_current_comm', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size'] }),
  helper('get_current_cgroup_id', { ret: 'integer', args: [] }),
  helper('get_ns_current_pid_tgid', { ret: 'integer', args: ['anything', 'anything', 'ptr_to_uninit_mem', 'const_size'] }),
  helper('perf_event_read', { ret: 'integer', args: ['const_map_ptr', 'anything'], mapTypes: ['perf_event_array'] }),
  helper('perf_event_read_value', {
    ret: 'integer',
    args: ['const_map_ptr', 'anything', 'ptr_to_uninit_mem', 'const_size'],
    gplOnly: true,
    mapTypes: ['perf_event_array'],
  }),
  helper('perf_prog_read_value', { ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size'] }),
  helper('get_stackid', { ret: 'integer', args: ['ptr_to_ctx', 'const_map_ptr', 'anything'], gplOnly: true, mapTypes: ['stack_trace'] }),
  helper('get_stack', { ret: 'integer', args: ['ptr_to_ctx', 'ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], gplOnly: true }),
  helper('override_return', { ret: 'integer', args: ['ptr_to_ctx', 'anything'], gplOnly: true }),
  helper('send_signal', { ret: 'integer', args: ['anything'] }),
  helper('get_func_ip', { ret: 'integer', args: ['ptr_to_ctx'] }),
  helper('get_attach_cookie', { ret: 'integer', args: ['ptr_to_ctx'] }),
];
