import { SIG, TRAP_COMPUTE, TRAP_SYSCALL } from '@ebpf-sim/uapi';
import { UserFault } from '../mm/user-memory.js';
import type { Cpu } from '../sched/cpu.js';
import { BLOCKED, NO_RETURN } from '../sched/wait.js';
import type { KernelInternals } from '../services.js';
import { doExit, doExitGroup, type ExitServices } from './exit.js';
import type { Task } from './task.js';

/** What running a task's program uses: the syscall table, exit, the crash log and the syscall cost. */
export type StepServices = ExitServices & Pick<KernelInternals, 'syscalls' | 'crashes' | 'config'>;

/**
 * Run the task on `cpu` until its next trap and handle it: resume a blocked syscall, or resume the program
 * with the last result and dispatch the syscall it makes, or take the CPU time it asks to compute.
 */
export function stepTask(k: StepServices, cpu: Cpu, task: Task): void {
  let ret: number;
  if (task.restarting) {
    ret = k.syscalls.restart(cpu, task);
  } else {
    const program = task.program;
    if (program === undefined) {
      doExit(k, task, { code: 0 });
      return;
    }
    let step: IteratorResult<number, number | void>;
    try {
      step = program.next(task.result);
    } catch (error) {
      // A fault in user code (or any exception the program throws) kills it like a hardware fault would.
      const sig = error instanceof UserFault ? SIG.SIGSEGV : SIG.SIGABRT;
      k.crashes.push({ pid: task.pid, comm: task.comm, signal: sig, message: error instanceof Error ? error.message : String(error) });
      doExit(k, task, { signal: sig });
      return;
    }
    if (step.done === true) {
      // Returning from main is exit_group(status).
      doExitGroup(k, task, typeof step.value === 'number' ? step.value : 0);
      return;
    }
    if (step.value === TRAP_COMPUTE) {
      const ns = task.regs[0] ?? 0;
      task.computeLeft = ns > 0 && Number.isFinite(ns) ? Math.floor(ns) : 0;
      return;
    }
    if (step.value !== TRAP_SYSCALL) {
      k.crashes.push({ pid: task.pid, comm: task.comm, signal: SIG.SIGILL, message: `unknown trap ${String(step.value)}` });
      doExit(k, task, { signal: SIG.SIGILL });
      return;
    }
    ret = k.syscalls.enter(cpu, task);
  }
  if (ret === BLOCKED) {
    task.restarting = true;
    cpu.needResched = true;
    return;
  }
  task.restarting = false;
  task.progress = 0;
  if (ret === NO_RETURN) return;
  task.result = ret;
  task.computeLeft += k.config.syscallNs;
}
