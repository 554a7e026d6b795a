/**
 * bpf_prog_test_run_raw_tp (net/bpf/test_run.c, Linux 6.18): the program runs once on a copy of ctx_in (up to
 * MAX_BPF_FUNC_ARGS u64 arguments, at least what it reads), on the calling CPU or, with BPF_F_TEST_RUN_ON_CPU,
 * on `cpu`. Only retval is reported: no data, no ctx_out, no repeat, no duration.
 */
import { BPF_TEST_RUN_F, Errno, MAX_BPF_FUNC_ARGS } from '@ebpf-sim/uapi';
import { TestRunAllocations, ctxCopyIn } from './common.js';
import type { TestRunOp } from './types.js';

export const testRunRawTp: TestRunOp = (prog, attr, env, out) => {
  if (attr.data_in !== 0 || attr.data_out !== 0 || attr.ctx_out !== 0 || attr.duration !== 0 || attr.repeat !== 0 || attr.batch_size !== 0) {
    return -Errno.EINVAL;
  }
  const size = attr.ctx_size_in;
  if (size < prog.maxCtxOffset || size > MAX_BPF_FUNC_ARGS * 8) return -Errno.EINVAL;
  const onCpu = (attr.flags & BPF_TEST_RUN_F.RUN_ON_CPU) !== 0;
  if (!onCpu && attr.cpu !== 0) return -Errno.EINVAL;
  const allocs = new TestRunAllocations(env);
  try {
    const ctx = ctxCopyIn(env, allocs, attr.ctx_in, size);
    if (ctx < 0) return ctx;
    let cpu = env.currentCpu;
    if (onCpu && attr.cpu !== env.currentCpu) {
      // smp_call_function_single on another CPU: it must exist (all simulated CPUs are online).
      if (attr.cpu >= env.nrCpus) return -Errno.ENXIO;
      cpu = attr.cpu;
    }
    const retval = prog.runRepeat(ctx, 1, cpu);
    if (typeof retval === 'string') return -Errno.EFAULT;
    out.retval = retval >>> 0;
    return 0;
  } finally {
    allocs.freeAll();
  }
};
