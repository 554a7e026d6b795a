/**
 * LSM hooks. A BPF LSM program's context is the hook's arguments as an array of u64 (plus the return value
 * of the previous program as the last slot), and it may deny the operation by returning a negative errno.
 * Pointer arguments point at small views of the kernel object built in the same context buffer, because the
 * simulated kernel has no BTF-described task_struct/file in memory (a documented simplification).
 */
export const LSM_HOOKS = ['file_open', 'bprm_check_security', 'task_kill'] as const;
export type LsmHookName = (typeof LSM_HOOKS)[number];

/** Where the object views start inside an LSM context (after up to 8 u64 argument slots). */
export const LSM_VIEW_OFFSET = 64;
/** Total bytes reserved for an LSM context. */
export const LSM_CONTEXT_SIZE = LSM_VIEW_OFFSET + 16 + 256;

/** file_open(struct file *file): args[0] → { u64 ino; u32 mode; u32 f_flags; char path[256]; }, args[1] = ret. */
export const LSM_FILE_VIEW = { ino: 0, mode: 8, f_flags: 12, path: 16, pathMax: 256 } as const;
/** bprm_check_security(struct linux_binprm *bprm): args[0] → { char filename[256]; }, args[1] = ret. */
export const LSM_BPRM_VIEW = { filename: 0, filenameMax: 256 } as const;
/** task_kill(p, info, sig, cred): args[0] → { s32 pid; s32 tgid; u32 uid; char comm[16]; }, args[2] = sig, args[4] = ret. */
export const LSM_TASK_VIEW = { pid: 0, tgid: 4, uid: 8, comm: 12 } as const;
