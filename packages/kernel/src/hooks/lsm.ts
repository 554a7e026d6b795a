import { Errno, O, isErrorReturn } from '@ebpf-sim/uapi';
import type { File } from '../fs/file.js';
import type { KernelInternals } from '../services.js';
import { DENTRY_STRUCT, FILE_STRUCT, INODE_STRUCT, PATH_STRUCT, QSTR_STRUCT } from '../task/layout.js';
import type { Task } from '../task/task.js';
import type { HookPoint } from './hook.js';
import { LSM_CTX_SIZE } from './kernel-objects.js';
import { LSM_HOOK_ARGS, lsmSlot } from './lsm-hooks.js';

export { LSM_HOOKS, LSM_HOOK_ARGS, lsmSlot, type LsmHookName } from './lsm-hooks.js';

const align8 = (n: number): number => (n + 7) & ~7;
const FILE_AT = 0;
const INODE_AT = align8(FILE_AT + FILE_STRUCT.size);
const DENTRY_AT = align8(INODE_AT + INODE_STRUCT.size);
const NAME_AT = align8(DENTRY_AT + DENTRY_STRUCT.size);
const NAME_MAX = 256;
const PATH_AT = NAME_AT + NAME_MAX;
const PATH_MAX_BYTES = 256;

/**
 * file_open(struct file *file): args[0] points at a struct file laid out as the vmlinux BTF describes it
 * (task/layout.ts: f_mode, f_flags, f_path.dentry, f_inode), with its inode (i_mode, i_uid, i_gid, i_ino,
 * i_nlink, i_size) and dentry (d_name: the last path component; d_inode; d_parent NULL, the dentry tree is not
 * modelled) after it, and the whole path after those (for the kernel's own readers); args[1] = ret. A program
 * reads `file->f_inode->i_ino` or `file->f_path.dentry->d_name.name` as on Linux.
 */
export const LSM_FILE_VIEW = {
  file: FILE_AT,
  inode: INODE_AT,
  dentry: DENTRY_AT,
  name: NAME_AT,
  nameMax: NAME_MAX,
  path: PATH_AT,
  pathMax: PATH_MAX_BYTES,
  size: PATH_AT + PATH_MAX_BYTES,
} as const;
/** FMODE_READ and FMODE_WRITE (include/linux/fs.h), what f_mode says of an open's access mode. */
const FMODE_READ = 0x1;
const FMODE_WRITE = 0x2;
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
const BPF_CMD = lsmSlot(0);
const BPF_ATTR = lsmSlot(1);
const BPF_SIZE = lsmSlot(2);
const BPF_KERNEL = lsmSlot(3);
const BPF_RET = lsmSlot(LSM_HOOK_ARGS.bpf.length);

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
  private readonly bpfHook: HookPoint;

  constructor(private readonly k: SecurityServices) {
    this.fileOpenHook = k.hooks.require('lsm:file_open');
    this.bprmCheckHook = k.hooks.require('lsm:bprm_check_security');
    this.taskKillHook = k.hooks.require('lsm:task_kill');
    this.bpfHook = k.hooks.require('lsm:bpf');
  }

  /** security_file_open: 0 to allow, or the negative errno a program returned. */
  fileOpen(task: Task, file: File): number {
    const hook = this.fileOpenHook;
    if (hook.programs.length === 0) return 0;
    const w = this.k.hookArena.write;
    const ctx = this.start(LSM_FILE_VIEW.size);
    const view = ctx + LSM_CTX_SIZE;
    w.u64(ctx + FILE_OPEN_RET, 0);
    const inode = file.inode;
    const accmode = file.flags & O.ACCMODE;
    const fileAt = view + LSM_FILE_VIEW.file;
    const inodeAt = view + LSM_FILE_VIEW.inode;
    const dentryAt = view + LSM_FILE_VIEW.dentry;
    const nameAt = view + LSM_FILE_VIEW.name;
    w.u32(fileAt + FILE_STRUCT.f_mode, (accmode !== O.WRONLY ? FMODE_READ : 0) | (accmode !== O.RDONLY ? FMODE_WRITE : 0));
    w.u32(fileAt + FILE_STRUCT.f_flags, file.flags);
    w.u64(fileAt + FILE_STRUCT.f_path + PATH_STRUCT.dentry, dentryAt);
    w.u64(fileAt + FILE_STRUCT.f_inode, inodeAt);
    w.u16(inodeAt + INODE_STRUCT.i_mode, inode.mode);
    w.u32(inodeAt + INODE_STRUCT.i_uid, inode.uid);
    w.u32(inodeAt + INODE_STRUCT.i_gid, inode.gid);
    w.u64(inodeAt + INODE_STRUCT.i_ino, inode.ino);
    w.u32(inodeAt + INODE_STRUCT.i_nlink, inode.nlink);
    w.u64(inodeAt + INODE_STRUCT.i_size, inode.size);
    const slash = file.path.lastIndexOf('/');
    const nameLength = w.cString(nameAt, slash < 0 ? file.path : file.path.slice(slash + 1), LSM_FILE_VIEW.nameMax);
    w.u32(dentryAt + DENTRY_STRUCT.d_name + QSTR_STRUCT.len, Math.max(0, nameLength - 1));
    w.u64(dentryAt + DENTRY_STRUCT.d_name + QSTR_STRUCT.name, nameAt);
    w.u64(dentryAt + DENTRY_STRUCT.d_inode, inodeAt);
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

  /**
   * security_bpf (kernel/bpf/syscall.c __sys_bpf, Linux 6.18): called once the attr block is copied in and before
   * the command runs, so a denial (even of a command this kernel does not know) is the program's errno. args[1]
   * points at the kernel's copy of the attr (`attr[0, size)`, zero-extended to `attr.length`), args[3] says
   * whether it came from kernel memory (a SYSCALL program's bpf_sys_bpf). 0 to allow, or -errno.
   */
  bpf(task: Task, cmd: number, attr: Uint8Array, size: number, kernel: boolean): number {
    const hook = this.bpfHook;
    if (hook.programs.length === 0) return 0;
    const w = this.k.hookArena.write;
    const ctx = this.start(attr.length);
    w.u64(ctx + BPF_CMD, cmd | 0);
    w.u64(ctx + BPF_SIZE, size >>> 0);
    w.u64(ctx + BPF_KERNEL, kernel ? 1 : 0);
    w.u64(ctx + BPF_RET, 0);
    // args[0] points at the view by start(); the attr is the view here, so the pointer goes to args[1].
    w.u64(ctx + BPF_ATTR, ctx + LSM_CTX_SIZE);
    w.copy(ctx + LSM_CTX_SIZE, attr);
    return this.decide(hook, ctx, attr.length, task);
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
