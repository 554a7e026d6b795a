/**
 * BPF_PROG_TYPE_RAW_TRACEPOINT (raw_tp_prog_is_valid_access): struct bpf_raw_tracepoint_args, up to
 * MAX_BPF_FUNC_ARGS (12) u64 arguments, read-only.
 */
import { TRACING_COMMON, defineProgType } from './define.js';

export const RAW_TRACEPOINT = defineProgType(
  { name: 'raw_tracepoint', uapiId: 17, ctx: { structName: 'bpf_raw_tracepoint_args', size: 96, fields: [], anyAlignedRead: true } },
  [...TRACING_COMMON, 25, 27, 67],
);
