/**
 * bpf() entered from kernel code (bpf_sys_bpf, bpf_sys_close: a SYSCALL program's calls, Linux's
 * `__sys_bpf(cmd, KERNEL_BPFPTR(attr), size)`): the command runs for the current task with its attr and every
 * pointer in it read from kernel memory. The command that ran the program, BPF_PROG_TEST_RUN, read its whole attr
 * before the run (prog-test-run.ts) and writes its outputs by address, so the nested command may reuse the
 * syscall's one attr block.
 */
import type { Task, UserCopy } from '@ebpf-sim/kernel';
import { Errno } from '@ebpf-sim/uapi';
import type { KernelBpfCalls } from '../runtime/env.js';
import type { BpfServices } from './bpf-syscall.js';
import { kernelBpfptr } from './kernel-bpfptr.js';

/** The nested __sys_bpf: the task, the command, the attr address and size, and the copy operations to use. */
export type SysBpf = (task: Task, cmd: number, attr: number, size: number, mm: UserCopy) => number;

/** The kernel entry points of bpf() for the runtime's helpers. */
export function kernelBpfCalls(k: Pick<BpfServices, 'current' | 'phys' | 'fds'>, sys: SysBpf): KernelBpfCalls {
  const kernel = kernelBpfptr(k.phys);
  return {
    sysBpf(cmd, attr, size) {
      const task = k.current.currentTask();
      // A program runs in a task's context (the one that ran BPF_PROG_TEST_RUN); with none there is no fd table.
      return task === undefined ? -Errno.EINVAL : sys(task, cmd, attr, size, kernel);
    },
    closeFd(fd) {
      const task = k.current.currentTask();
      return task === undefined ? -Errno.EBADF : k.fds.closeFd(task, fd);
    },
  };
}
