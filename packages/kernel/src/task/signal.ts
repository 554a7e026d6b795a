import { defaultSignalAction, SIG, SIG_IGN } from '@ebpf-sim/uapi';
import type { Kernel } from '../kernel.js';
import { TaskState, type Task, type ThreadGroup } from './task.js';

/**
 * Deliver `sig` to a task (send_signal). Only default actions and SIG_IGN are modelled (user handlers are
 * not): an ignored signal is discarded; a fatal one marks the task to die before its next step and wakes
 * it if it sleeps; SIGCHLD by default only wakes waiters.
 */
export function sendSignalToTask(k: Kernel, task: Task, sig: number): void {
  if (task.state === TaskState.ZOMBIE || task.state === TaskState.DEAD || sig === 0) return;
  const group = task.group;
  const ignored = sig !== SIG.SIGKILL && sig !== SIG.SIGSTOP && (group.sigactions[sig] === SIG_IGN || defaultSignalAction(sig) === 'ignore');
  if (k.trace.enabled) k.trace.emit(k.clock.now, k.currentCpu, `signal ${sig} -> ${task.comm}:${task.pid}${ignored ? ' (ignored)' : ''}`);
  if (ignored) return;
  task.pendingSignals[sig] = 1;
  if (task.fatalSignal === 0) task.fatalSignal = sig;
  if (task.state === TaskState.SLEEPING) {
    k.sched.wakeUp(task);
  } else if (task.state === TaskState.RUNNING) {
    const cpu = k.sched.cpus[task.cpu];
    if (cpu !== undefined) {
      cpu.needResched = true;
      k.sched.kick(cpu);
    }
  }
}

/** A process-directed signal goes to the group leader, or another live thread (complete_signal). */
export function sendSignalToGroup(k: Kernel, group: ThreadGroup, sig: number): void {
  const target = group.threads.find((t) => t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD);
  if (target !== undefined) sendSignalToTask(k, target, sig);
}
