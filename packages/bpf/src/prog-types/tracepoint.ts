/**
 * BPF_PROG_TYPE_TRACEPOINT (tp_prog_is_valid_access): the context is the tracepoint's raw record; its first
 * 8 bytes (the common header) are not readable; aligned reads up to PERF_MAX_TRACE_SIZE (8192).
 */
import { TRACING_COMMON, defineProgType } from './define.js';

export const TRACEPOINT = defineProgType(
  { name: 'tracepoint', uapiId: 5, ctx: { structName: 'trace_event_raw', size: 8192, fields: [], anyAlignedRead: true, readableFrom: 8 } },
  [...TRACING_COMMON, 25, 27, 67, 174],
);
