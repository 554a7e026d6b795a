/**
 * LSM hooks. A BPF LSM program's context is what the BPF trampoline hands it: the hook's arguments as an
 * array of u64 slots (LSM_CTX_SIZE bytes), with the hook's `int ret` (the previous program's verdict, 0 for
 * the first) in the slot after the last argument. It may deny the operation by returning a negative errno.
 * Pointer arguments point at the kernel object built right after the slots in the context arena: file_open's
 * struct file (with its inode and dentry) as the vmlinux BTF lays it out; bprm_check_security's and task_kill's
 * small views (hooks/lsm.ts), because no linux_binprm is built and the task view predates the task_struct layout.
 */
export const LSM_HOOKS = ['file_open', 'bprm_check_security', 'task_kill', 'bpf'] as const;
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
  // security_bpf (Linux 6.18: the `kernel` flag says the attr came from kernel memory, a SYSCALL program's bpf_sys_bpf).
  bpf: [
    { name: 'cmd', ctype: 'int' },
    { name: 'attr', ctype: 'union bpf_attr *' },
    { name: 'size', ctype: 'unsigned int' },
    { name: 'kernel', ctype: 'bool' },
  ],
};

/** The byte offset of argument slot `index` in an LSM context. */
export const lsmSlot = (index: number): number => 8 * index;
