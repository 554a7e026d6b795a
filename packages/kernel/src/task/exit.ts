import { niceToPrio, SIG, TRACE_SCHED_PROCESS_EXIT, wExitStatus, wTermSig, defaultSignalAction } from '@ebpf-sim/uapi';
import type { KernelInternals } from '../services.js';
import { TaskState, type ExitReason, type Task, type ThreadGroup } from './task.js';
import { fireRawTracepoint } from '../hooks/raw-tracepoints.js';

/** What reaping uses: the process table and the clock (the exit record's end time). */
export type ReapServices = Pick<KernelInternals, 'groups' | 'exited' | 'forgetTask' | 'clock'>;

/** What do_exit uses. */
export type ExitServices = ReapServices &
  Pick<KernelInternals, 'sched' | 'kprobes' | 'trace' | 'tracepoints' | 'hookArena' | 'signals' | 'taskStructs' | 'cgroups'>;

/**
 * do_exit: the task stops running. When it was the last thread of its process, the process releases its
 * memory and files, its children go to init, and it becomes a zombie for its parent's wait4 (SIGCHLD), or
 * is reaped at once when the kernel itself spawned it.
 */
export function doExit(k: ExitServices, task: Task, reason: ExitReason): void {
  if (task.state === TaskState.ZOMBIE || task.state === TaskState.DEAD) return;
  const group = task.group;
  const cpu = k.sched.cpus[task.cpu];
  if (cpu !== undefined && cpu.curr === task) {
    k.sched.updateCurr(cpu);
    cpu.needResched = true;
  } else if (task.state === TaskState.RUNNABLE) {
    // Not running: take it off its run queue so it is never picked.
    k.sched.policy.dequeue(task.cpu, task);
  }
  if (task.sleepTimer !== undefined) {
    k.clock.cancel(task.sleepTimer);
    task.sleepTimer = undefined;
  }
  const kprobes = k.kprobes;
  kprobes.enter(kprobes.sites.do_exit, task, 'code' in reason ? reason.code : reason.signal);
  const groupDead = group.threads.every((t) => t === task || t.state === TaskState.ZOMBIE || t.state === TaskState.DEAD);
  if (!group.exiting || groupDead) {
    group.exitStatus = 'code' in reason ? wExitStatus(reason.code) : wTermSig(reason.signal, defaultSignalAction(reason.signal) === 'core');
  }
  task.exitCode = group.exitStatus;
  traceExit(k, task, groupDead);
  // cgroup_exit: the task no longer counts in its cgroup (cgroup.procs, populated).
  k.cgroups.exit(task);
  k.taskStructs.exit(task);
  group.deadThreadsCpuNs += task.se.sumExec;
  group.voluntarySwitches += task.se.voluntarySwitches;
  group.involuntarySwitches += task.se.involuntarySwitches;
  group.minorFaults = group.mm.faults.minor;
  group.peakRssPages = Math.max(group.peakRssPages, group.mm.rss);
  // A thread that is not the last one just disappears; the last one takes the process with it.
  if (!groupDead) {
    task.state = TaskState.DEAD;
    k.forgetTask(task);
    return;
  }
  task.state = TaskState.ZOMBIE;
  for (const thread of group.threads) if (thread !== task) k.forgetTask(thread);
  releaseProcess(group);
  reparentChildren(k, group);
  group.zombie = true;
  const parent = group.parent;
  if (parent === undefined || parent.sigactions[SIG.SIGCHLD] === 1) {
    // Nobody will wait (spawned by the kernel, or the parent ignores SIGCHLD: auto-reap, as POSIX says).
    reap(k, group);
    return;
  }
  k.signals.sendToGroup(parent, group.exitSignal);
  parent.childWait.wakeAll();
}

/** exit_group: every thread of the process exits with `code`. */
export function doExitGroup(k: ExitServices, task: Task, code: number): void {
  const group = task.group;
  group.exiting = true;
  group.exitStatus = (code & 0xff) << 8;
  for (const thread of group.threads) {
    if (thread === task) continue;
    if (thread.state === TaskState.SLEEPING) k.sched.wakeUp(thread);
    const cpu = k.sched.cpus[thread.cpu];
    if (thread.state === TaskState.RUNNING && cpu !== undefined) {
      // Interrupt a thread computing on another CPU (the IPI of zap_other_threads).
      cpu.needResched = true;
      k.sched.kick(cpu);
    }
  }
  doExit(k, task, { code });
}

function traceExit(k: ExitServices, task: Task, groupDead: boolean): void {
  if (k.trace.enabled) k.trace.emit(k.clock.now, task.cpu, `sched_process_exit ${task.comm}:${task.pid} status=0x${task.group.exitStatus.toString(16)}`);
  const cpu = k.sched.currentCpu;
  const raw = k.tracepoints.rawProcessExit;
  if (raw.programs.length !== 0) fireRawTracepoint(k.hookArena, raw, cpu, task, task.kernelAddress, groupDead ? 1 : 0);
  const hook = k.tracepoints.processExit;
  if (hook.programs.length === 0) return;
  const X = TRACE_SCHED_PROCESS_EXIT;
  const arena = k.hookArena;
  const ctx = arena.begin(cpu, X.size);
  const w = arena.write;
  w.traceEntry(ctx, hook.id, task.pid);
  w.comm(ctx + X.comm, task.comm);
  w.i32(ctx + X.pid, task.pid);
  w.i32(ctx + X.prio, niceToPrio(task.nice));
  w.u8(ctx + X.group_dead, groupDead ? 1 : 0);
  arena.fire(hook, ctx, cpu, task);
  arena.end(cpu, X.size);
}

function releaseProcess(group: ThreadGroup): void {
  group.files.users--;
  if (group.files.users === 0) group.files.closeAll();
  group.mm.users--;
  if (group.mm.users === 0) group.mm.release();
}

/** Orphans are adopted by init (pid 1) if it lives, else reaped by the kernel when they exit. */
function reparentChildren(k: ExitServices, group: ThreadGroup): void {
  const init = k.groups.get(1);
  for (const child of group.children) {
    child.parent = init !== undefined && init !== group && !init.zombie ? init : undefined;
    k.taskStructs.relink(child);
    if (child.parent !== undefined) child.parent.children.push(child);
    else if (child.zombie) reap(k, child);
  }
  if (init !== undefined && init !== group) init.childWait.wakeAll();
  group.children.length = 0;
}

/** Remove a zombie process for good; its status goes to the kernel's exit record. */
export function reap(k: ReapServices, group: ThreadGroup): void {
  const parent = group.parent;
  if (parent !== undefined) {
    const index = parent.children.indexOf(group);
    if (index >= 0) parent.children.splice(index, 1);
  }
  for (const thread of group.threads) {
    thread.state = TaskState.DEAD;
    k.forgetTask(thread);
  }
  k.groups.delete(group.tgid);
  const leader = group.threads[0];
  k.exited.set(group.tgid, {
    pid: group.tgid,
    comm: leader?.comm ?? '',
    status: group.exitStatus,
    cpuNs: group.deadThreadsCpuNs,
    endTime: k.clock.now,
    startTime: leader?.startTime ?? 0,
  });
}
