/**
 * BPF_PROG_TYPE_RAW_TRACEPOINT (raw_tp_prog_is_valid_access): struct bpf_raw_tracepoint_args, up to
 * MAX_BPF_FUNC_ARGS u64 arguments, read-only, read in place.
 */
import { BPF_PROG_TYPE, BPF_RAW_TRACEPOINT_ARGS } from '@ebpf-sim/uapi';
import { TRACING_COMMON, defineProgType } from './define.js';

export const RAW_TRACEPOINT = defineProgType(
  {
    name: 'raw_tracepoint',
    uapiId: BPF_PROG_TYPE.RAW_TRACEPOINT,
    // is_tracing_prog_type: no maps holding a bpf_timer (check_map_prog_compatibility).
    tracingProg: true,
    ctx: { structName: 'bpf_raw_tracepoint_args', size: BPF_RAW_TRACEPOINT_ARGS.size, fields: [], anyAlignedRead: true },
  },
  // raw_tp_prog_func_proto: get_attach_cookie since Linux 6.10 (the raw tracepoint link's cookie).
  [...TRACING_COMMON, 'perf_event_output', 'get_stackid', 'get_stack', 'get_attach_cookie'],
);
