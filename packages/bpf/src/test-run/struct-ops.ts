/**
 * bpf_struct_ops_test_run (net/bpf/bpf_dummy_struct_ops.c, Linux 6.18): the test_run op of every STRUCT_OPS
 * program. Only the struct_ops type that has a test run (bpf_dummy_ops) answers; a program of another is
 * EOPNOTSUPP. The type runs the program through its trampoline frame (struct-ops/dummy-ops.ts).
 */
import { Errno } from '@ebpf-sim/uapi';
import type { TestRunOp } from './types.js';

export const testRunStructOps: TestRunOp = (prog, attr, env, out) => {
  const info = prog.structOps;
  const member = info?.desc.type.members[info.member];
  const testRun = info?.desc.type.testRun;
  if (member?.kind !== 'func' || testRun === undefined) return -Errno.EOPNOTSUPP;
  const result = testRun(
    { ctxIn: attr.ctx_in, ctxSizeIn: attr.ctx_size_in, params: member.params },
    {
      copyFromUser: (address, dst, off, length) => env.user.copyFromUser(address, dst, off, length),
      copyToUser: (address, src, off, length) => env.user.copyToUser(address, src, off, length),
      kmalloc: (size) => env.phys.kmalloc(size, 'bpf-test-run'),
      kfree: (address) => env.phys.kfree(address),
      bytes: env.phys.bytes,
      run: (ctx) => prog.runRepeat(ctx, 1, env.currentCpu),
    },
  );
  if (result.errno !== 0) return result.errno;
  out.retval = result.retval >>> 0;
  return 0;
};
