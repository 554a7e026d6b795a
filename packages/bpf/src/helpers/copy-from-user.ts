/**
 * bpf_copy_from_user (#148, kernel/bpf/helpers.c): copy_from_user from the current task's address space, which may
 * fault pages in and so sleep (bpf_func_proto.might_sleep): only sleepable programs call it (the verifier's
 * sleepable.ts). The simulated user memory is resident, so the copy is the same as the nofault one: what is mapped
 * is copied, and a range with an unmapped byte zeroes the destination and gives -EFAULT.
 */
import type { Task } from '@ebpf-sim/kernel';
import type { HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';
import { copyFromUserNofault } from './nofault.js';

/** bpf_copy_from_user(dst, size, user_ptr): 0, or -EFAULT with `dst` zeroed (a kernel thread has no user memory). */
const copyFromUser: HelperImpl = (env) => (ctx) => {
  const dst = ctx.argNumber(1);
  const size = ctx.argU32(2);
  const task: Task | undefined = env.k.current.currentTask();
  const ret = copyFromUserNofault(task === undefined ? undefined : env.k.userMemory.of(task), env.k.phys.bytes, dst, ctx.argNumber(3), size);
  if (ret < 0) env.k.phys.bytes.fill(0, dst, dst + size);
  return ret;
};

export const COPY_FROM_USER_HELPERS: readonly BpfHelper[] = [
  helper('copy_from_user', { ret: 'integer', args: ['ptr_to_uninit_mem', 'const_size_or_zero', 'anything'], mightSleep: true }, copyFromUser),
];
