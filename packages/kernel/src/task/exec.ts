import { Errno, SIG, TRACE_SCHED_PROCESS_EXEC } from '@ebpf-sim/uapi';
import { AddressSpace } from '../mm/address-space.js';
import { MAY_EXEC, permission } from '../fs/vfs.js';
import type { KernelInternals } from '../services.js';
import { startProgram } from './create.js';
import { TaskState, type Task } from './task.js';
import { fireRawTracepoint } from '../hooks/raw-tracepoints.js';

/** What execve uses. */
export type ExecServices = Pick<
  KernelInternals,
  'vfs' | 'security' | 'signals' | 'phys' | 'sched' | 'clock' | 'trace' | 'tracepoints' | 'hookArena' | 'taskStructs'
>;

/** Most argv/envp strings execve copies (a simulation limit in the spirit of MAX_ARG_STRINGS). */
const MAX_ARG_STRINGS = 1024;
const MAX_ARG_STRLEN = 131072;

/** Read a NULL-terminated array of user string pointers: the strings or -errno. */
function readStringArray(mm: AddressSpace, address: number): string[] | number {
  const strings: string[] = [];
  if (address === 0) return strings;
  for (let index = 0; ; index++) {
    if (index >= MAX_ARG_STRINGS) return -Errno.E2BIG;
    const pointer = mm.readU64(address + 8 * index);
    if (pointer === null) return -Errno.EFAULT;
    if (pointer === 0) return strings;
    const text = mm.readCString(pointer, MAX_ARG_STRLEN);
    if (typeof text === 'number') return text === -Errno.ENAMETOOLONG ? -Errno.E2BIG : text;
    strings.push(text);
  }
}

/**
 * execve: look the path up, check it is an executable registered program (ENOEXEC otherwise), ask the LSM
 * bprm_check_security hook, then replace the image: new address space, close-on-exec descriptors closed,
 * other threads killed, the new program started. Returns -errno, or NO_RETURN's caller value on success.
 */
export function doExecve(k: ExecServices, task: Task, pathAddress: number, argvAddress: number, envpAddress: number): number {
  const group = task.group;
  const path = group.mm.readCString(pathAddress, 4096);
  if (typeof path === 'number') return path;
  const argv = readStringArray(group.mm, argvAddress);
  if (typeof argv === 'number') return argv;
  const envp = readStringArray(group.mm, envpAddress);
  if (typeof envp === 'number') return envp;
  const inode = k.vfs.lookup(group.cwd, path, group.cred);
  if (typeof inode === 'number') return inode;
  if (inode.isDir) return -Errno.EACCES;
  if (!inode.isReg || !permission(inode, group.cred, MAY_EXEC)) return -Errno.EACCES;
  if (inode.program === undefined) return -Errno.ENOEXEC;
  const denied = k.security.bprmCheck(task, path);
  if (denied !== 0) return denied;
  // Point of no return.
  // de_thread: every other thread gets SIGKILL and dies before it runs again (it never sees the new image).
  for (const thread of group.threads) {
    if (thread !== task && thread.state !== TaskState.ZOMBIE && thread.state !== TaskState.DEAD) k.signals.send(thread, SIG.SIGKILL);
  }
  const mm = new AddressSpace(k.phys, `mm:${group.tgid}`);
  mm.setupImage();
  group.mm.users--;
  if (group.mm.users === 0) group.mm.release();
  group.mm = mm;
  if (group.files.users > 1) {
    group.files.users--;
    group.files = group.files.duplicate();
  }
  group.files.closeOnExec();
  const oldComm = task.comm;
  task.comm = path.slice(path.lastIndexOf('/') + 1).slice(0, 15);
  k.taskStructs.exec(task);
  startProgram(task, inode.program, argv.length > 0 ? argv : [path], envp);
  traceExec(k, task, path, oldComm);
  return 0;
}

function traceExec(k: ExecServices, task: Task, path: string, oldComm: string): void {
  if (k.trace.enabled) k.trace.emit(k.clock.now, task.cpu, `sched_process_exec ${oldComm}:${task.pid} -> ${path}`);
  const cpu = k.sched.currentCpu;
  // sched_process_exec(p, old_pid, bprm): struct linux_binprm is not built in kernel memory, so bprm is NULL.
  const raw = k.tracepoints.rawProcessExec;
  if (raw.programs.length !== 0) fireRawTracepoint(k.hookArena, raw, cpu, task, task.kernelAddress, task.pid, 0);
  const hook = k.tracepoints.processExec;
  if (hook.programs.length === 0) return;
  const E = TRACE_SCHED_PROCESS_EXEC;
  const arena = k.hookArena;
  const ctx = arena.begin(cpu, hook.ctxSize);
  const w = arena.write;
  w.traceEntry(ctx, hook.id, task.pid);
  const length = w.cString(ctx + E.fixedSize, path, 256);
  w.u32(ctx + E.filename, E.fixedSize | (length << 16));
  w.i32(ctx + E.pid, task.pid);
  w.i32(ctx + E.old_pid, task.pid);
  arena.fire(hook, ctx, cpu, task);
  arena.end(cpu, hook.ctxSize);
}
