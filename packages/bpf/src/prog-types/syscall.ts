/**
 * BPF_PROG_TYPE_SYSCALL (kernel/bpf/syscall.c syscall_prog_is_valid_access, syscall_prog_func_proto; Linux
 * 6.18). The context is a copy of user memory (BPF_PROG_TEST_RUN's ctx_in), read and written in place at any
 * aligned offset below U16_MAX; the program loads only as sleepable (check_attach_btf_id: "Syscall programs can
 * only be sleepable") and with no expected attach type. Linux checks no return range.
 */
import { BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import { TRACING_COMMON, defineProgType } from './define.js';

/** U16_MAX: the context offsets syscall_prog_is_valid_access allows are below it (ctx_size_in at most this). */
export const SYSCALL_CTX_MAX = 0xffff;

export const SYSCALL = defineProgType(
  {
    name: 'syscall',
    uapiId: BPF_PROG_TYPE.SYSCALL,
    ctx: { structName: 'syscall_ctx', size: SYSCALL_CTX_MAX + 1, fields: [], anyAlignedRead: true, anyAlignedWrite: true },
    // bpf_prog_load_check_attach: a SYSCALL program takes no expected attach type.
    attachTypes: new Map([[0, {}]]),
    onlySleepable: 'Syscall programs can only be sleepable',
  },
  [
    ...TRACING_COMMON,
    'sys_bpf',
    'btf_find_by_name_kind',
    'sys_close',
    'kallsyms_lookup_name',
    'copy_from_user',
    'user_ringbuf_drain',
    'loop',
    'for_each_map_elem',
  ],
);
