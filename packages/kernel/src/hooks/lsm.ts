import { Errno, isErrorReturn } from '@ebpf-sim/uapi';
import type { File } from '../fs/file.js';
import type { KernelInternals } from '../services.js';
import type { Task } from '../task/task.js';
import type { HookPoint } from './hook.js';
import { LSM_CTX_SIZE } from './kernel-objects.js';

/**
 * LSM hooks. A BPF LSM program's context is what the BPF trampoline hands it: the hook's arguments as an
 * array of u64 slots (LSM_CTX_SIZE bytes), with the hook's `int ret` (the previous program's verdict, 0 for
 * the first) in the slot after the last argument. It may deny the operation by returning a negative errno.
 * Pointer arguments point at small views of the kernel object, built right after the slots in the context
 * arena, because the simulated kernel has no BTF-described task_struct/file in memory (a documented
 * simplification).
 */
export const LSM_HOOKS = ['file_open', 'bprm_check_security', 'task_kill'] as const;
export type LsmHookName = (typeof LSM_HOOKS)[number];

/** Each hook's C arguments in slot order (the `ret` slot follows them). */
export const LSM_HOOK_ARGS: Readonly<Record<LsmHookName, ReadonlyArray<{ readonly name: string; readonly ctype: string }>>> = {
  file_open: [{ name: 'file', ctype: 'struct file *' }],
  bprm_check_security: [{ name: 'bprm', ctype: 'struct linux_binprm *' }],
  task_kill: [
    { name: 'p', ctype: 'struct task_struct *' },
    { name: 'info', ctype: 'struct kernel_siginfo *' },
    { name: 'sig', ctype: 'int' },
    { name: 'cred', ctype: 'const struct cred *' },
  ],
};

/** The byte offset of argument slot `index` in an LSM context. */
export const lsmSlot = (index: number): number => 8 * index;

/** file_open(struct file *file): args[0] → { u64 ino; u32 mode; u32 f_flags; char path[256]; }, args[1] = ret. */
export const LSM_FILE_VIEW = { ino: 0, mode: 8, f_flags: 12, path: 16, pathMax: 256, size: 272 } as const;
/** bprm_check_security(struct linux_binprm *bprm): args[0] → { char filename[256]; }, args[1] = ret. */
export const LSM_BPRM_VIEW = { filename: 0, filenameMax: 256, size: 256 } as const;
/**
 * task_kill(p, info, sig, cred): args[0] → { s32 pid; s32 tgid; u32 uid; char comm[16]; }, args[1] = info
 * (NULL: kernel_siginfo is not modelled), args[2] = sig, args[3] = cred (NULL, as for kill(2)), args[4] = ret.
 */
export const LSM_TASK_VIEW = { pid: 0, tgid: 4, uid: 8, comm: 12, size: 28 } as const;

const FILE_OPEN_RET = lsmSlot(LSM_HOOK_ARGS.file_open.length);
const BPRM_CHECK_RET = lsmSlot(LSM_HOOK_ARGS.bprm_check_security.length);
const TASK_KILL_SIG = lsmSlot(2);
const TASK_KILL_RET = lsmSlot(LSM_HOOK_ARGS.task_kill.length);

/** What the LSM call sites use: the hook points, the context arena and the current CPU. */
export type SecurityServices = Pick<KernelInternals, 'hooks' | 'hookArena' | 'current'>;

/**
 * The security_* call sites of the LSM hooks (security/security.c), each running the BPF LSM programs
 * attached to it. Each returns 0 to allow or a negative errno, and costs one array-length check when
 * nothing is attached.
 */
export class SecurityHooks {
  private readonly fileOpenHook: HookPoint;
  private readonly bprmCheckHook: HookPoint;
  private readonly taskKillHook: HookPoint;

  constructor(private readonly k: SecurityServices) {
    this.fileOpenHook = k.hooks.require('lsm:file_open');
    this.bprmCheckHook = k.hooks.require('lsm:bprm_check_security');
    this.taskKillHook = k.hooks.require('lsm:task_kill');
  }

  /** security_file_open: 0 to allow, or the negative errno a program returned. */
  fileOpen(task: Task, file: File): number {
    const hook = this.fileOpenHook;
    if (hook.programs.length === 0) return 0;
    const w = this.k.hookArena.write;
    const ctx = this.start(LSM_FILE_VIEW.size);
    const view = ctx + LSM_CTX_SIZE;
    w.u64(ctx + FILE_OPEN_RET, 0);
    w.u64(view + LSM_FILE_VIEW.ino, file.inode.ino);
    w.u32(view + LSM_FILE_VIEW.mode, file.inode.mode);
    w.u32(view + LSM_FILE_VIEW.f_flags, file.flags);
    w.cString(view + LSM_FILE_VIEW.path, file.path, LSM_FILE_VIEW.pathMax);
    return this.decide(hook, ctx, LSM_FILE_VIEW.size, task);
  }

  /** security_bprm_check: 0 to allow execve of `path`, or -errno. */
  bprmCheck(task: Task, path: string): number {
    const hook = this.bprmCheckHook;
    if (hook.programs.length === 0) return 0;
    const w = this.k.hookArena.write;
    const ctx = this.start(LSM_BPRM_VIEW.size);
    w.u64(ctx + BPRM_CHECK_RET, 0);
    w.cString(ctx + LSM_CTX_SIZE + LSM_BPRM_VIEW.filename, path, LSM_BPRM_VIEW.filenameMax);
    return this.decide(hook, ctx, LSM_BPRM_VIEW.size, task);
  }

  /** security_task_kill: 0 to allow `sender` to signal `target`, or -errno. */
  taskKill(sender: Task, target: Task, sig: number): number {
    const hook = this.taskKillHook;
    if (hook.programs.length === 0) return 0;
    const w = this.k.hookArena.write;
    const ctx = this.start(LSM_TASK_VIEW.size);
    const view = ctx + LSM_CTX_SIZE;
    w.u64(ctx + TASK_KILL_SIG, sig);
    w.u64(ctx + TASK_KILL_RET, 0);
    w.i32(view + LSM_TASK_VIEW.pid, target.pid);
    w.i32(view + LSM_TASK_VIEW.tgid, target.tgid);
    w.u32(view + LSM_TASK_VIEW.uid, target.group.cred.uid);
    w.comm(view + LSM_TASK_VIEW.comm, target.comm);
    return this.decide(hook, ctx, LSM_TASK_VIEW.size, sender);
  }

  /** Reserve the argument slots with the object view right after them, and point args[0] at the view; returns the context address. */
  private start(viewSize: number): number {
    const arena = this.k.hookArena;
    const ctx = arena.begin(this.k.current.currentCpu, LSM_CTX_SIZE + viewSize);
    arena.write.u64(ctx + lsmSlot(0), ctx + LSM_CTX_SIZE);
    return ctx;
  }

  /** Run the programs and release the context; an LSM program returns 0 or a negative errno, anything else denies with EPERM. */
  private decide(hook: HookPoint, ctx: number, viewSize: number, task: Task): number {
    const arena = this.k.hookArena;
    const cpu = this.k.current.currentCpu;
    const result = arena.fire(hook, ctx, cpu, task);
    arena.end(cpu, LSM_CTX_SIZE + viewSize);
    if (result === 0) return 0;
    return isErrorReturn(result) ? result : -Errno.EPERM;
  }
}
