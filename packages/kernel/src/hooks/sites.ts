import { Errno, PT_REGS, PT_REGS_FUNC_ARGS } from '@ebpf-sim/uapi';
import type { File } from '../fs/file.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import { LSM_BPRM_VIEW, LSM_CONTEXT_SIZE, LSM_FILE_VIEW, LSM_TASK_VIEW, LSM_VIEW_OFFSET } from './lsm.js';
import type { HookPoint } from './hook.js';

/**
 * The call sites of kprobes on modelled kernel functions and of the LSM hooks. Each does nothing beyond one
 * array-length check unless a handler is attached.
 */
export class HookSites {
  private readonly fileOpen: HookPoint;
  private readonly bprmCheck: HookPoint;
  private readonly taskKillHook: HookPoint;

  constructor(private readonly k: Kernel) {
    this.fileOpen = k.hooks.require('lsm:file_open');
    this.bprmCheck = k.hooks.require('lsm:bprm_check_security');
    this.taskKillHook = k.hooks.require('lsm:task_kill');
  }

  /** kprobe:<fn> with the C arguments in di, si, dx, cx, r8, r9. */
  kprobe(fn: string, task: Task | undefined, args: readonly number[]): void {
    const hook = this.k.hooks.get(`kprobe:${fn}`);
    if (hook === undefined || hook.handlers.length === 0) return;
    const arena = this.k.hookArena;
    const cpu = this.k.currentCpu;
    const ctx = arena.begin(cpu, PT_REGS.size);
    args.slice(0, 6).forEach((value, index) => arena.write.u64(ctx + (PT_REGS_FUNC_ARGS[index] as number), value));
    this.k.runHook(hook, ctx, cpu, task);
    arena.end(cpu, PT_REGS.size);
  }

  /** kretprobe:<fn> with the return value in ax. */
  kretprobe(fn: string, task: Task | undefined, ret: number): void {
    const hook = this.k.hooks.get(`kretprobe:${fn}`);
    if (hook === undefined || hook.handlers.length === 0) return;
    const arena = this.k.hookArena;
    const cpu = this.k.currentCpu;
    const ctx = arena.begin(cpu, PT_REGS.size);
    arena.write.u64(ctx + PT_REGS.ax, ret);
    this.k.runHook(hook, ctx, cpu, task);
    arena.end(cpu, PT_REGS.size);
  }

  /** security_file_open: 0 to allow, or the negative errno a handler returned. */
  fileOpenCheck(task: Task, file: File): number {
    const hook = this.fileOpen;
    if (hook.handlers.length === 0) return 0;
    return this.runLsm(hook, task, (ctx, view) => {
      const w = this.k.hookArena.write;
      w.u64(ctx, view);
      w.u64(view + LSM_FILE_VIEW.ino, file.inode.ino);
      w.u32(view + LSM_FILE_VIEW.mode, file.inode.mode);
      w.u32(view + LSM_FILE_VIEW.f_flags, file.flags);
      w.cString(view + LSM_FILE_VIEW.path, file.path, LSM_FILE_VIEW.pathMax);
    });
  }

  /** security_bprm_check: 0 to allow execve of `path`, or -errno. */
  bprmCheckSecurity(task: Task, path: string): number {
    const hook = this.bprmCheck;
    if (hook.handlers.length === 0) return 0;
    return this.runLsm(hook, task, (ctx, view) => {
      this.k.hookArena.write.u64(ctx, view);
      this.k.hookArena.write.cString(view + LSM_BPRM_VIEW.filename, path, LSM_BPRM_VIEW.filenameMax);
    });
  }

  /** security_task_kill: 0 to allow `sender` to signal `target`, or -errno. */
  taskKill(sender: Task, target: Task, sig: number): number {
    const hook = this.taskKillHook;
    if (hook.handlers.length === 0) return 0;
    return this.runLsm(hook, sender, (ctx, view) => {
      const w = this.k.hookArena.write;
      w.u64(ctx, view);
      w.u64(ctx + 16, sig);
      w.i32(view + LSM_TASK_VIEW.pid, target.pid);
      w.i32(view + LSM_TASK_VIEW.tgid, target.tgid);
      w.u32(view + LSM_TASK_VIEW.uid, target.group.cred.uid);
      w.comm(view + LSM_TASK_VIEW.comm, target.comm);
    });
  }

  private runLsm(hook: HookPoint, task: Task, build: (ctx: number, view: number) => void): number {
    const arena = this.k.hookArena;
    const cpu = this.k.currentCpu;
    const ctx = arena.begin(cpu, LSM_CONTEXT_SIZE);
    build(ctx, ctx + LSM_VIEW_OFFSET);
    const result = this.k.runHook(hook, ctx, cpu, task);
    arena.end(cpu, LSM_CONTEXT_SIZE);
    // An LSM program returns 0 or a negative errno; anything else is treated as a denial with EPERM.
    if (result === 0) return 0;
    return result < 0 && result >= -4095 ? result : -Errno.EPERM;
  }
}
