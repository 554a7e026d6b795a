/**
 * BPF_PROG_TYPE_LSM (bpf_lsm_func_proto, btf_ctx_access): the context is the hook's arguments as u64 slots;
 * an LSM program returns 0 or a negative errno (check_return_code: [-MAX_ERRNO, 0]). Linux takes the
 * argument count from the hook's BTF; the simulator allows the 12 slots of MAX_BPF_FUNC_ARGS.
 */
import { TRACING_COMMON, defineProgType } from './define.js';

export const LSM = defineProgType(
  {
    name: 'lsm',
    uapiId: 29,
    ctx: { structName: 'lsm_hook_args', size: 96, fields: [], anyAlignedRead: true, readWidths: [8] },
    retRange: { min: -4095, max: 0 },
  },
  [...TRACING_COMMON, 25, 67, 174],
);
