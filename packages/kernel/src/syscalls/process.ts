import { CAP, Errno, RUSAGE, SIG, SIG_DFL, SIG_IGN, WAIT4_VALID_OPTIONS, WNOHANG } from '@ebpf-sim/uapi';
import { BLOCKED, NO_RETURN } from '../sched/wait.js';
import type { KernelInternals } from '../services.js';
import { doExecve, type ExecServices } from '../task/exec.js';
import { doExit, doExitGroup, reap, type ExitServices } from '../task/exit.js';
import { doFork, type ForkServices } from '../task/fork.js';
import { hasCapability, TaskState, type Task, type ThreadGroup } from '../task/task.js';
import type { SyscallTable } from './table.js';

/** What the process syscalls use: fork, execve, exit, wait4, signals and the LSM task_kill hook. */
export type ProcessSyscallServices = ForkServices & ExecServices & ExitServices & Pick<KernelInternals, 'tasks' | 'groups'>;

/** What kill and tgkill use. */
type KillServices = Pick<KernelInternals, 'tasks' | 'groups' | 'security' | 'signals'>;

/** Fill struct rusage for a reaped child: CPU time as user time, page faults, context switches. */
function writeRusage(task: Task, address: number, child: ThreadGroup): boolean {
  const out = new Uint8Array(RUSAGE.size);
  const view = new DataView(out.buffer);
  const u64 = (offset: number, value: number): void => {
    view.setUint32(offset, value % 0x1_0000_0000, true);
    view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
  };
  const cpuNs = child.deadThreadsCpuNs;
  u64(RUSAGE.ru_utime, Math.floor(cpuNs / 1e9));
  u64(RUSAGE.ru_utime + 8, Math.floor((cpuNs % 1e9) / 1000));
  u64(RUSAGE.ru_maxrss, child.peakRssPages * 4);
  u64(RUSAGE.ru_minflt, child.minorFaults);
  u64(RUSAGE.ru_nvcsw, child.voluntarySwitches);
  u64(RUSAGE.ru_nivcsw, child.involuntarySwitches);
  return task.group.mm.copyToUser(address, out, 0, RUSAGE.size);
}

/** wait4: reap a zombie child matching `upid`, or sleep until one exits. */
function sysWait4(k: ExitServices, task: Task, upid: number, statAddr: number, options: number, ru: number): number {
  if ((options & ~WAIT4_VALID_OPTIONS) !== 0) return -Errno.EINVAL;
  const group = task.group;
  const matches = (child: ThreadGroup): boolean =>
    upid === -1 ? true : upid > 0 ? child.tgid === upid : upid === 0 ? child.pgid === group.pgid : child.pgid === -upid;
  const candidates = group.children.filter(matches);
  if (candidates.length === 0) return -Errno.ECHILD;
  const zombie = candidates.find((child) => child.zombie);
  if (zombie === undefined) {
    if ((options & WNOHANG) !== 0) return 0;
    k.sched.sleepOn(task, group.childWait);
    return BLOCKED;
  }
  if (statAddr !== 0) {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setInt32(0, zombie.exitStatus, true);
    if (!group.mm.copyToUser(statAddr, out, 0, 4)) return -Errno.EFAULT;
  }
  if (ru !== 0 && !writeRusage(task, ru, zombie)) return -Errno.EFAULT;
  reap(k, zombie);
  return zombie.tgid;
}

/** kill_ok: root/CAP_KILL, or matching real/effective uids. */
function mayKill(sender: Task, target: Task): boolean {
  const s = sender.group.cred;
  const t = target.group.cred;
  return hasCapability(s, CAP.KILL) || s.euid === t.uid || s.uid === t.uid;
}

function signalGroup(k: KillServices, sender: Task, group: ThreadGroup, sig: number): number {
  const target = group.threads.find((t) => t.state !== TaskState.DEAD) ?? group.threads[0];
  if (target === undefined) return -Errno.ESRCH;
  if (!mayKill(sender, target)) return -Errno.EPERM;
  const denied = k.security.taskKill(sender, target, sig);
  if (denied !== 0) return denied;
  if (sig !== 0 && !group.zombie) k.signals.sendToGroup(group, sig);
  return 0;
}

/** kill(2): pid > 0 one process; 0 the caller's process group; -1 every process but init and the caller; < -1 group -pid. */
function sysKill(k: KillServices, task: Task, pid: number, sig: number): number {
  if (pid > 0) {
    const group = k.groups.get(pid);
    return group === undefined ? -Errno.ESRCH : signalGroup(k, task, group, sig);
  }
  const pgid = pid === 0 ? task.group.pgid : -pid;
  const targets = [...k.groups.values()].filter((g) => (pid === -1 ? g.tgid !== 1 && g !== task.group : g.pgid === pgid));
  if (targets.length === 0) return -Errno.ESRCH;
  let result = -Errno.EPERM;
  let delivered = false;
  for (const group of targets) {
    const ret = signalGroup(k, task, group, sig);
    if (ret === 0) delivered = true;
    else result = ret;
  }
  return delivered ? 0 : result;
}

function sysTgkill(k: KillServices, task: Task, tgid: number, pid: number, sig: number): number {
  if (tgid <= 0 || pid <= 0) return -Errno.EINVAL;
  const target = k.tasks.get(pid);
  if (target === undefined || target.tgid !== tgid || target.state === TaskState.DEAD) return -Errno.ESRCH;
  if (!mayKill(task, target)) return -Errno.EPERM;
  const denied = k.security.taskKill(task, target, sig);
  if (denied !== 0) return denied;
  if (sig !== 0) k.signals.send(target, sig);
  return 0;
}

/** struct sigaction (kernel layout on x86_64): handler, flags, restorer, mask; 32 bytes. */
const SIGACTION_SIZE = 32;

function sysRtSigaction(task: Task, sig: number, act: number, oact: number, sigsetsize: number): number {
  if (sigsetsize !== 8) return -Errno.EINVAL;
  if (sig < 1 || sig > 64) return -Errno.EINVAL;
  if (act !== 0 && (sig === SIG.SIGKILL || sig === SIG.SIGSTOP)) return -Errno.EINVAL;
  const mm = task.group.mm;
  let handler = -1;
  if (act !== 0) {
    const value = mm.readU64(act);
    if (value === null) return -Errno.EFAULT;
    // Only SIG_DFL and SIG_IGN are modelled: user-space handlers cannot run in this simulation.
    if (value !== SIG_DFL && value !== SIG_IGN) return -Errno.EINVAL;
    handler = value;
  }
  if (oact !== 0) {
    const out = new Uint8Array(SIGACTION_SIZE);
    out[0] = task.group.sigactions[sig] ?? 0;
    if (!mm.copyToUser(oact, out, 0, SIGACTION_SIZE)) return -Errno.EFAULT;
  }
  if (handler >= 0) task.group.sigactions[sig] = handler;
  return 0;
}

export function registerProcessSyscalls(table: SyscallTable, k: ProcessSyscallServices): void {
  table.register('getpid', (t) => t.group.tgid);
  table.register('gettid', (t) => t.pid);
  table.register('getppid', (t) => t.group.parent?.tgid ?? 0);
  table.register('getuid', (t) => t.group.cred.uid);
  table.register('geteuid', (t) => t.group.cred.euid);
  table.register('getgid', (t) => t.group.cred.gid);
  table.register('getegid', (t) => t.group.cred.egid);
  table.register('fork', (t) => doFork(k, t, SIG.SIGCHLD, t.ctx?.cloneEntry));
  table.register('clone', (t, flags) => doFork(k, t, flags, t.ctx?.cloneEntry));
  table.register('execve', (t, filename, argv, envp) => {
    const ret = doExecve(k, t, filename, argv, envp);
    return ret === 0 ? NO_RETURN : ret;
  });
  table.register('exit', (t, code) => {
    doExit(k, t, { code: code & 0xff });
    return NO_RETURN;
  });
  table.register('exit_group', (t, code) => {
    doExitGroup(k, t, code & 0xff);
    return NO_RETURN;
  });
  table.register('wait4', (t, upid, statAddr, options, ru) => sysWait4(k, t, upid, statAddr, options, ru));
  table.register('kill', (t, pid, sig) => sysKill(k, t, pid, sig));
  table.register('tgkill', (t, tgid, pid, sig) => sysTgkill(k, t, tgid, pid, sig));
  table.register('rt_sigaction', (t, sig, act, oact, sigsetsize) => sysRtSigaction(t, sig, act, oact, sigsetsize));
  table.register('sched_yield', (t) => {
    k.sched.policy.yieldTask(t.cpu, t);
    const cpu = k.sched.cpus[t.cpu];
    if (cpu !== undefined) cpu.needResched = true;
    return 0;
  });
}
