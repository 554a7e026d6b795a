/**
 * BPF_PROG_TYPE_KPROBE (kprobe_prog_is_valid_access, kprobe_prog_func_proto): the context is the probed
 * task's struct pt_regs, read-only, any aligned load inside it. Linux has no conversion for it: the hook
 * hands the program the pt_regs itself.
 */
import { BPF_PROG_TYPE, PT_REGS } from '@ebpf-sim/uapi';
import { TRACING_COMMON, defineProgType } from './define.js';
import { PT_REGS_FIELDS } from './pt-regs.js';

export const KPROBE = defineProgType(
  {
    name: 'kprobe',
    uapiId: BPF_PROG_TYPE.KPROBE,
    tracingProg: true,
    ctx: { structName: 'pt_regs', size: PT_REGS.size, fields: PT_REGS_FIELDS, anyAlignedRead: true },
  },
  [...TRACING_COMMON, 'perf_event_output', 'get_stackid', 'get_stack', 'override_return', 'get_func_ip', 'get_attach_cookie'],
);
