/**
 * BPF_PROG_TYPE_STRUCT_OPS (bpf_struct_ops_verifier_ops): a program implementing one member of a kernel ops
 * struct. Its context is the trampoline's u64 argument slots, typed by the member's FUNC_PROTO; PROG_LOAD gives
 * each program its view (check_struct_ops_btf_id: the member's arguments, the helpers and the write access the
 * struct_ops type allows, see ../struct-ops/prog.ts). This base view has no helpers: a type lists its own.
 */
import { BPF_PROG_TYPE, MAX_BPF_FUNC_ARGS } from '@ebpf-sim/uapi';
import { defineProgType } from './define.js';

export const STRUCT_OPS = defineProgType(
  {
    name: 'struct_ops',
    uapiId: BPF_PROG_TYPE.STRUCT_OPS,
    ctx: { structName: 'u64_args', size: 8 * MAX_BPF_FUNC_ARGS, fields: [] },
  },
  [],
);
