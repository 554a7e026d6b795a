/**
 * BPF_PROG_TYPE_PERF_EVENT (pe_prog_is_valid_access): struct bpf_perf_event_data { pt_regs regs;
 * u64 sample_period; u64 addr; }; the registers are read as whole unsigned longs.
 */
import { TRACING_COMMON, defineProgType } from './define.js';
import { PT_REGS_FIELDS, PT_REGS_SIZE } from './pt-regs.js';

export const PERF_EVENT = defineProgType(
  {
    name: 'perf_event',
    uapiId: 7,
    ctx: {
      structName: 'bpf_perf_event_data',
      size: PT_REGS_SIZE + 16,
      fields: [
        ...PT_REGS_FIELDS.map((f) => ({ ...f, narrowLoads: false })),
        { name: 'sample_period', off: PT_REGS_SIZE, size: 8, kind: 'scalar', narrowLoads: true },
        { name: 'addr', off: PT_REGS_SIZE + 8, size: 8, kind: 'scalar', narrowLoads: true },
      ],
    },
  },
  [...TRACING_COMMON, 25, 27, 67, 56, 174],
);
