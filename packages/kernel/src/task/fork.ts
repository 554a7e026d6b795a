import { CLONE, CSIGNAL, Errno, TRACE_SCHED_PROCESS_FORK, type UserProgram } from '@ebpf-sim/uapi';
import type { KernelInternals } from '../services.js';
import { WaitQueue } from '../sched/wait.js';
import { createTask, startProgram, type CreateTaskServices } from './create.js';
import { ThreadGroup, type Task } from './task.js';
import { fireRawTracepoint } from '../hooks/raw-tracepoints.js';

/** What fork uses. */
export type ForkServices = CreateTaskServices &
  Pick<KernelInternals, 'limits' | 'allocatePid' | 'groups' | 'kprobes' | 'trace' | 'tracepoints' | 'hookArena' | 'cgroups'>;

/** clone flags this model implements; others are rejected with EINVAL rather than silently ignored. */
const SUPPORTED_CLONE_FLAGS =
  CSIGNAL |
  CLONE.VM |
  CLONE.FS |
  CLONE.FILES |
  CLONE.SIGHAND |
  CLONE.THREAD |
  CLONE.SYSVSEM |
  CLONE.VFORK |
  CLONE.PARENT_SETTID |
  CLONE.CHILD_SETTID |
  CLONE.CHILD_CLEARTID |
  CLONE.SETTLS |
  CLONE.DETACHED;

/**
 * copy_process + wake_up_new_task for fork/clone: the new task runs `entry` (user space's stand-in for
 * "continue at the same instruction pointer"). Returns the child's pid or -errno, with Linux's flag rules.
 */
export function doFork(k: ForkServices, parent: Task, flags: number, entry: UserProgram | undefined): number {
  // The 64-bit flag word: only the low 32 bits hold flags this model knows (clone3-only bits are higher).
  if (flags > 0xffffffff || ((flags >>> 0) & ~SUPPORTED_CLONE_FLAGS) !== 0) return -Errno.EINVAL;
  // copy_process's rules: a thread shares signal handlers, and shared handlers need a shared VM.
  if ((flags & CLONE.THREAD) !== 0 && (flags & CLONE.SIGHAND) === 0) return -Errno.EINVAL;
  if ((flags & CLONE.SIGHAND) !== 0 && (flags & CLONE.VM) === 0) return -Errno.EINVAL;
  // The child needs code to run: a generator cannot be duplicated (see UserContext.cloneEntry).
  if (entry === undefined) return -Errno.EINVAL;
  if (k.tasks.size >= k.limits.maxTasks) return -Errno.EAGAIN;
  if (!k.taskStructs.roomForTask) return -Errno.ENOMEM;
  const thread = (flags & CLONE.THREAD) !== 0;
  const pid = k.allocatePid();
  let group: ThreadGroup;
  if (thread) {
    group = parent.group;
  } else {
    const pgroup = parent.group;
    const mm = (flags & CLONE.VM) !== 0 ? pgroup.mm : pgroup.mm.duplicate(`mm:${pid}`);
    if (mm === undefined) return -Errno.ENOMEM;
    // The copy may have taken the pages the child's task_struct needs.
    if (!k.taskStructs.roomForTask) {
      if (mm !== pgroup.mm) mm.release();
      return -Errno.ENOMEM;
    }
    if ((flags & CLONE.VM) !== 0) mm.users++;
    const files = (flags & CLONE.FILES) !== 0 ? pgroup.files : pgroup.files.duplicate();
    if ((flags & CLONE.FILES) !== 0) files.users++;
    group = new ThreadGroup(pid, pgroup, mm, files, pgroup.cwd, { ...pgroup.cred }, new WaitQueue());
    group.sigactions.set(pgroup.sigactions);
    const exitSignal = flags & CSIGNAL;
    group.exitSignal = exitSignal === 0 ? 0 : exitSignal;
    pgroup.children.push(group);
    k.groups.set(pid, group);
  }
  const child = createTask(k, pid, group, parent.comm, parent.nice);
  // cgroup_post_fork: the child starts in its parent's cgroup.
  k.cgroups.enter(child, parent.cgroup ?? k.cgroups.root);
  child.se.vruntime = parent.se.vruntime;
  startProgram(child, entry, parent.ctx?.argv ?? [], parent.ctx?.envp ?? []);
  traceFork(k, parent, child);
  k.kprobes.enter(k.kprobes.sites.wake_up_new_task, parent, child.kernelAddress);
  k.sched.wakeUpNew(child, parent);
  return pid;
}

function traceFork(k: ForkServices, parent: Task, child: Task): void {
  const cpu = k.sched.currentCpu;
  if (k.trace.enabled) k.trace.emit(k.clock.now, cpu, `sched_process_fork ${parent.comm}:${parent.pid} -> ${child.pid}`);
  const raw = k.tracepoints.rawProcessFork;
  if (raw.programs.length !== 0) fireRawTracepoint(k.hookArena, raw, cpu, parent, parent.kernelAddress, child.kernelAddress);
  const hook = k.tracepoints.processFork;
  if (hook.programs.length === 0) return;
  const F = TRACE_SCHED_PROCESS_FORK;
  const arena = k.hookArena;
  const ctx = arena.begin(cpu, hook.ctxSize);
  const w = arena.write;
  w.traceEntry(ctx, hook.id, parent.pid);
  // __data_loc: low 16 bits offset of the string in the record, high 16 bits its length (NUL included).
  const parentLength = w.cString(ctx + F.fixedSize, parent.comm, 16);
  const childLength = w.cString(ctx + F.fixedSize + parentLength, child.comm, 16);
  w.u32(ctx + F.parent_comm, F.fixedSize | (parentLength << 16));
  w.i32(ctx + F.parent_pid, parent.pid);
  w.u32(ctx + F.child_comm, (F.fixedSize + parentLength) | (childLength << 16));
  w.i32(ctx + F.child_pid, child.pid);
  arena.fire(hook, ctx, cpu, parent);
  arena.end(cpu, hook.ctxSize);
}
