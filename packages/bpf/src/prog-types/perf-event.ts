/**
 * BPF_PROG_TYPE_PERF_EVENT (pe_prog_is_valid_access, pe_prog_convert_ctx_access): the program sees struct
 * bpf_perf_event_data { pt_regs regs; u64 sample_period; u64 addr; }, the registers read as whole unsigned
 * longs. The hook hands it struct bpf_perf_event_data_kern: a register is read through `regs`, the sample's
 * period and address through `data` (struct perf_sample_data).
 */
import { BPF_PERF_EVENT_DATA_KERN, PERF_SAMPLE_DATA } from '@ebpf-sim/kernel';
import { BPF_PERF_EVENT_DATA, BPF_PROG_TYPE, PT_REGS } from '@ebpf-sim/uapi';
import { POINTER, chain } from './convert.js';
import { TRACING_COMMON, defineProgType } from './define.js';
import { PT_REGS_NAMES } from './pt-regs.js';

const U64 = 8;

export const PERF_EVENT = defineProgType(
  {
    name: 'perf_event',
    uapiId: BPF_PROG_TYPE.PERF_EVENT,
    // is_tracing_prog_type: no maps holding a bpf_timer (check_map_prog_compatibility).
    tracingProg: true,
    ctx: {
      structName: 'bpf_perf_event_data',
      size: BPF_PERF_EVENT_DATA.size,
      fields: [
        ...PT_REGS_NAMES.map((name) => ({
          name,
          off: BPF_PERF_EVENT_DATA.regs + PT_REGS[name],
          size: U64,
          kind: 'scalar' as const,
          narrowLoads: false,
          convert: { read: chain([BPF_PERF_EVENT_DATA_KERN.regs, POINTER], [PT_REGS[name], U64]) },
        })),
        {
          name: 'sample_period',
          off: BPF_PERF_EVENT_DATA.sample_period,
          size: U64,
          kind: 'scalar',
          narrowLoads: true,
          convert: { read: chain([BPF_PERF_EVENT_DATA_KERN.data, POINTER], [PERF_SAMPLE_DATA.period, U64]) },
        },
        {
          name: 'addr',
          off: BPF_PERF_EVENT_DATA.addr,
          size: U64,
          kind: 'scalar',
          narrowLoads: true,
          convert: { read: chain([BPF_PERF_EVENT_DATA_KERN.data, POINTER], [PERF_SAMPLE_DATA.addr, U64]) },
        },
      ],
    },
  },
  [...TRACING_COMMON, 'perf_event_output', 'get_stackid', 'get_stack', 'perf_prog_read_value', 'get_attach_cookie'],
);
