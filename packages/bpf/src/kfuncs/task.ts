/**
 * The task kfuncs of kernel/bpf/helpers.c's generic set: bpf_task_from_pid finds a task by pid and takes a
 * reference, bpf_task_acquire takes another, bpf_task_release drops one. The verifier tracks the references (every
 * one acquired must be released before the program exits). At run time a program runs to completion while the
 * task it holds cannot be reaped, so the simulator keeps no count of its own (Linux's rcu_users is not in our
 * task_struct): acquire hands the task back, as refcount_inc_not_zero does for a live task, and release does nothing.
 */
import { KF } from '@ebpf-sim/verifier';
import { kfunc, type BpfKfunc } from './define.js';

export const TASK_KFUNCS: readonly BpfKfunc[] = [
  kfunc(
    'bpf_task_from_pid',
    { ret: 'struct task_struct *', args: [{ name: 'pid', ctype: 's32' }] },
    KF.ACQUIRE | KF.RET_NULL,
    'generic',
    // find_task_by_pid_ns(pid, &init_pid_ns): any live thread by its pid; NULL (0) when there is none.
    (env) => (ctx) => env.tasks.get(ctx.argU32(1) | 0)?.kernelAddress ?? 0,
  ),
  kfunc(
    'bpf_task_acquire',
    { ret: 'struct task_struct *', args: [{ name: 'p', ctype: 'struct task_struct *' }] },
    KF.ACQUIRE | KF.RCU | KF.RET_NULL,
    'generic',
    () => (ctx) => ctx.arg(1),
  ),
  kfunc('bpf_task_release', { ret: 'void', args: [{ name: 'p', ctype: 'struct task_struct *' }] }, KF.RELEASE, 'generic', () => () => 0),
];
