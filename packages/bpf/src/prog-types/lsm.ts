/**
 * BPF_PROG_TYPE_LSM (bpf_lsm_func_proto, btf_ctx_access): the context is the hook's arguments as u64 slots,
 * read in place; a pointer argument points at the kernel object, outside the context. An LSM program returns
 * 0 or a negative errno (check_return_code: [-MAX_ERRNO, 0]). Linux takes the argument count from the hook's
 * BTF; the simulator allows the 12 slots of MAX_BPF_FUNC_ARGS.
 */
import { LSM_CTX_SIZE } from '@ebpf-sim/kernel';
import { BPF_PROG_TYPE, MAX_ERRNO } from '@ebpf-sim/uapi';
import { TRACING_COMMON, defineProgType } from './define.js';

export const LSM = defineProgType(
  {
    name: 'lsm',
    uapiId: BPF_PROG_TYPE.LSM,
    // The context the kernel's LSM hooks build (MAX_BPF_FUNC_ARGS u64 slots), one size on both sides.
    ctx: { structName: 'lsm_hook_args', size: LSM_CTX_SIZE, fields: [], anyAlignedRead: true, readWidths: [8] },
    retRange: { min: -MAX_ERRNO, max: 0, return32: true },
  },
  // bpf_lsm_func_proto: inode and socket storage, then tracing_prog_func_proto.
  [
    ...TRACING_COMMON,
    'inode_storage_get',
    'inode_storage_delete',
    'sk_storage_get',
    'sk_storage_delete',
    'perf_event_output',
    'get_stack',
    'get_attach_cookie',
  ],
);
