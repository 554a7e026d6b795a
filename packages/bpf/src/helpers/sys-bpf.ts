/**
 * The helpers of BPF_PROG_TYPE_SYSCALL programs that reach bpf() itself (kernel/bpf/syscall.c, Linux 6.18):
 * bpf_sys_bpf runs a few commands with a kernel attr (KERNEL_BPFPTR: every pointer in it is kernel memory, the
 * program's stack or a map value), as light skeletons load their objects; bpf_sys_close closes an fd of the
 * calling process.
 */
import { BPF_CMD, Errno, type BpfAttrCmd } from '@ebpf-sim/uapi';
import type { HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/**
 * The commands bpf_sys_bpf takes; any other is EINVAL. BPF_PROG_TEST_RUN is not among them (a program could
 * otherwise run itself): kern_sys_bpf, which light skeletons use from kernel modules, adds it.
 */
const SYS_BPF_CMDS: ReadonlySet<number> = new Set(
  (
    [
      'MAP_CREATE',
      'MAP_DELETE_ELEM',
      'MAP_UPDATE_ELEM',
      'MAP_FREEZE',
      'MAP_GET_FD_BY_ID',
      'PROG_LOAD',
      'BTF_LOAD',
      'LINK_CREATE',
      'RAW_TRACEPOINT_OPEN',
    ] satisfies BpfAttrCmd[]
  ).map((name) => BPF_CMD[name]),
);

/** bpf_sys_bpf(cmd, attr, attr_size): __sys_bpf with a kernel attr for the allowed commands. */
const sysBpf: HelperImpl = (env) => (ctx) => {
  const cmd = ctx.argU32(1) | 0;
  const calls = env.kernelBpf;
  if (!SYS_BPF_CMDS.has(cmd) || calls === undefined) return -Errno.EINVAL;
  return calls.sysBpf(cmd, ctx.argNumber(2), ctx.argU32(3));
};

/** bpf_sys_close(fd): close_fd in the calling process; -EBADF for an fd it does not have. */
const sysClose: HelperImpl = (env) => (ctx) => env.kernelBpf?.closeFd(ctx.argU32(1)) ?? -Errno.EBADF;

export const SYS_BPF_HELPERS: readonly BpfHelper[] = [
  // bpf_sys_bpf_proto: the attr read only (ARG_PTR_TO_MEM | MEM_RDONLY) with its constant size.
  helper('sys_bpf', { ret: 'integer', args: ['anything', 'ptr_to_mem', 'const_size'] }, sysBpf),
  helper('sys_close', { ret: 'integer', args: ['anything'] }, sysClose),
];
