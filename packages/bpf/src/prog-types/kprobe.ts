/**
 * BPF_PROG_TYPE_KPROBE (kprobe_prog_is_valid_access, kprobe_prog_func_proto): the context is the probed
 * task's struct pt_regs, read-only, any aligned load inside it.
 */
import { TRACING_COMMON, defineProgType } from './define.js';
import { PT_REGS_FIELDS, PT_REGS_SIZE } from './pt-regs.js';

export const KPROBE = defineProgType(
  { name: 'kprobe', uapiId: 2, ctx: { structName: 'pt_regs', size: PT_REGS_SIZE, fields: PT_REGS_FIELDS, anyAlignedRead: true } },
  [...TRACING_COMMON, 25, 27, 67, 58, 173, 174],
);
