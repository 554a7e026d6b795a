import { defaultSignalAction, SIG, SIG_IGN } from '@ebpf-sim/uapi';
import type { KernelInternals, Signals } from '../services.js';
import { TaskState, type Task, type ThreadGroup } from './task.js';

/** What signal delivery uses: the scheduler (to wake or interrupt the target), the clock and the trace. */
export type SignalServices = Pick<KernelInternals, 'sched' | 'clock' | 'trace'>;

/**
 * Signal delivery (send_signal, complete_signal). Only default actions and SIG_IGN are modelled (user
 * handlers are not): an ignored signal is discarded; a fatal one marks the task to die before its next step
 * and wakes it if it sleeps; SIGCHLD by default only wakes waiters.
 */
export class SignalDelivery implements Signals {
  constructor(private readonly k: SignalServices) {}

  send(task: Task, sig: number): void {
    if (task.state === TaskState.ZOMBIE || task.state === TaskState.DEAD || sig === 0) return;
    const k = this.k;
    const group = task.group;
    const ignored = sig !== SIG.SIGKILL && sig !== SIG.SIGSTOP && (group.sigactions[sig] === SIG_IGN || defaultSignalAction(sig) === 'ignore');
    if (k.trace.enabled) k.trace.emit(k.clock.now, k.sched.currentCpu, `signal ${sig} -> ${task.comm}:${task.pid}${ignored ? ' (ignored)' : ''}`);
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

  sendToGroup(group: ThreadGroup, sig: number): void {
    const target = group.threads.find((t) => t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD);
    if (target !== undefined) this.send(target, sig);
  }
}
