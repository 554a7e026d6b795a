/**
 * BPF_PROG_TYPE_SYSCALL (kernel/bpf/syscall.c syscall_prog_is_valid_access, syscall_prog_func_proto; Linux
 * 6.18). The context is a copy of user memory (BPF_PROG_TEST_RUN's ctx_in), read and written in place at any
 * aligned offset below U16_MAX; the program loads only as sleepable (check_attach_btf_id: "Syscall programs can
 * only be sleepable") and with no expected attach type. Linux checks no return range.
 */
import { BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { GET_SOCKET_PTR_COOKIE } from '../helpers/sock.js';
import { TRACING_COMMON, defineProgType, withAttachTypes, type BpfProgramType } from './define.js';

/** U16_MAX: the context offsets syscall_prog_is_valid_access allows are below it (ctx_size_in at most this). */
export const SYSCALL_CTX_MAX = 0xffff;

/** The type's helpers, with tracing_prog_func_proto's bpf_get_socket_cookie (syscall_prog_func_proto falls back to it). */
function withSocketPtrCookie(desc: ProgramTypeDesc): ProgramTypeDesc {
  return {
    ...desc,
    helpers: new Set([...desc.helpers, GET_SOCKET_PTR_COOKIE.id]),
    helperProtos: new Map([[GET_SOCKET_PTR_COOKIE.id, GET_SOCKET_PTR_COOKIE]]),
  };
}

const SYSCALL_TYPE = withAttachTypes(
  withSocketPtrCookie(
    defineProgType(
      {
        name: 'syscall',
        uapiId: BPF_PROG_TYPE.SYSCALL,
        ctx: { structName: 'syscall_ctx', size: SYSCALL_CTX_MAX + 1, fields: [], anyAlignedRead: true, anyAlignedWrite: true },
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
    ),
  ),
  // bpf_prog_load_check_attach: a SYSCALL program takes no expected attach type.
  [0],
  () => ({}),
);

export const SYSCALL: BpfProgramType = { ...SYSCALL_TYPE, onlySleepable: 'Syscall programs can only be sleepable' };
