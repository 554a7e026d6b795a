/**
 * bpf_prog_test_run_syscall (net/bpf/test_run.c, Linux 6.18): the program runs once, on the calling CPU, on a
 * kernel copy of ctx_in (at least the program's max_ctx_offset, at most U16_MAX bytes; none at all is a NULL
 * context), and the copy goes back to ctx_in: a SYSCALL program's context is its in/out argument block. Only
 * retval is reported; data, ctx_out, duration, repeat, flags and batch_size are refused.
 */
import { Errno } from '@ebpf-sim/uapi';
import { TestRunAllocations, ctxCopyIn } from './common.js';
import type { TestRunOp } from './types.js';

const U16_MAX = 0xffff;

export const testRunSyscall: TestRunOp = (prog, attr, env, out) => {
  if (
    attr.data_in !== 0 ||
    attr.data_out !== 0 ||
    attr.ctx_out !== 0 ||
    attr.duration !== 0 ||
    attr.repeat !== 0 ||
    attr.flags !== 0 ||
    attr.batch_size !== 0
  ) {
    return -Errno.EINVAL;
  }
  const size = attr.ctx_size_in;
  if (size < prog.maxCtxOffset || size > U16_MAX) return -Errno.EINVAL;
  const allocs = new TestRunAllocations(env);
  try {
    const ctx = ctxCopyIn(env, allocs, attr.ctx_in, size);
    if (ctx < 0) return ctx;
    const retval = prog.runRepeat(ctx, 1, env.currentCpu);
    if (typeof retval === 'string') return -Errno.EFAULT;
    out.retval = retval >>> 0;
    if (size > 0 && !env.user.copyToUser(attr.ctx_in, env.phys.bytes, ctx, size)) return -Errno.EFAULT;
    return 0;
  } finally {
    allocs.freeAll();
  }
};
