/**
 * BPF_PROG_TYPE_TRACING (tracing_prog_is_valid_access, tracing_prog_func_proto): fentry, fexit, fmod_ret and
 * tp_btf programs. The context is the BPF trampoline's array of u64 argument slots (MAX_BPF_FUNC_ARGS), read in
 * place; what each slot holds comes from the attach target's BTF (btf_ctx_access), which PROG_LOAD gives this
 * descriptor per program (`btfCtxAccess`, see vmlinux/btf-attach.ts). Linux checks no return value for
 * fentry/fexit/tp_btf; fmod_ret's is the traced function's.
 */
import { BPF_PROG_TYPE, MAX_BPF_FUNC_ARGS } from '@ebpf-sim/uapi';
import { TRACING_COMMON, defineProgType } from './define.js';

export const TRACING = defineProgType(
  {
    name: 'tracing',
    uapiId: BPF_PROG_TYPE.TRACING,
    ctx: { structName: 'u64_args', size: 8 * MAX_BPF_FUNC_ARGS, fields: [] },
  },
  [...TRACING_COMMON, 'perf_event_output', 'get_stackid', 'get_stack', 'get_func_ip', 'get_attach_cookie'],
);
