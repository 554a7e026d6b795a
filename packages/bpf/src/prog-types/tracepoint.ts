/**
 * BPF_PROG_TYPE_TRACEPOINT (tp_prog_is_valid_access): the context is the tracepoint's raw record, read in
 * place; its common header (struct trace_entry, common_pid included) is not readable; aligned reads up to
 * PERF_MAX_TRACE_SIZE.
 */
import { BPF_PROG_TYPE, PERF_MAX_TRACE_SIZE, TRACE_ENTRY } from '@ebpf-sim/uapi';
import { TRACING_COMMON, defineProgType } from './define.js';

export const TRACEPOINT = defineProgType(
  {
    name: 'tracepoint',
    uapiId: BPF_PROG_TYPE.TRACEPOINT,
    // is_tracing_prog_type: no maps holding a bpf_timer (check_map_prog_compatibility).
    tracingProg: true,
    ctx: { structName: 'trace_event_raw', size: PERF_MAX_TRACE_SIZE, fields: [], anyAlignedRead: true, readableFrom: TRACE_ENTRY.size },
  },
  [...TRACING_COMMON, 'perf_event_output', 'get_stackid', 'get_stack', 'get_attach_cookie'],
);
