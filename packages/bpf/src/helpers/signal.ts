/**
 * bpf_send_signal and bpf_send_signal_thread (kernel/trace/bpf_trace.c bpf_send_signal_common): a signal to
 * the current task's process (PIDTYPE_TGID) or to the current thread (PIDTYPE_PID).
 *
 * Linux refuses kernel threads and exiting tasks (the idle task is a kernel thread) and the global init
 * (tgid 1) with EPERM. Tracing programs run with preemption disabled, so Linux checks valid_signal early
 * (EINVAL) and sends from irq_work when interrupts are back on; this kernel runs the program inside the
 * event, between two steps of the task, so the signal is sent directly: the task sees it at the same point
 * (on its way back to user mode). Signal 0 sends nothing, as group_send_sig_info does.
 */
import { Errno, SIGRTMAX } from '@ebpf-sim/uapi';
import type { HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/** is_global_init: the first process (tgid 1). */
const INIT_TGID = 1;

/** bpf_send_signal_common(sig, type): 0 or -errno. */
function sendSignal(thread: boolean): HelperImpl {
  return (env) => (ctx) => {
    const task = env.k.current.currentTask();
    if (task === undefined || task.group.exiting) return -Errno.EPERM;
    if (task.group.tgid === INIT_TGID) return -Errno.EPERM;
    const sig = ctx.argU32(1);
    // valid_signal(sig): sig <= _NSIG (64); the u32 argument is compared whole.
    if (sig > SIGRTMAX) return -Errno.EINVAL;
    if (thread) env.k.signals.send(task, sig);
    else env.k.signals.sendToGroup(task.group, sig);
    return 0;
  };
}

/** bpf_send_signal: to the current process. */
export const sendSignalProcess = sendSignal(false);

/** The prototypes this file adds (bpf_send_signal's is in tracing.ts with the other tracing helpers). */
export const SIGNAL_HELPERS: readonly BpfHelper[] = [helper('send_signal_thread', { ret: 'integer', args: ['anything'] }, sendSignal(true))];
