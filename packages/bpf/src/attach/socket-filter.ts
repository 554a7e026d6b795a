/**
 * SO_ATTACH_BPF (net/core/filter.c sk_attach_bpf): the kernel's socket layer asks the bpf subsystem for the
 * program behind a fd; only BPF_PROG_TYPE_SOCKET_FILTER programs qualify (bpf_prog_get_type: EINVAL for any
 * other type or a file that is not a program, EBADF for a closed fd). The socket holds a program reference
 * until SO_DETACH_BPF, a replacing attach, or the socket's end. The stack runs the program on the skb through
 * a {@link BpfAttachment} (sk_filter_trim_cap: 0 drops, a smaller result trims the packet).
 */
import type { SocketFilterProvider, SocketFilterSlot, Task } from '@ebpf-sim/kernel';
import { BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import { BpfAttachment } from './hook-program.js';

/** The provider the stack calls for SO_ATTACH_BPF. */
export function socketFilterProvider(bpf: BpfSyscall): SocketFilterProvider {
  return {
    attach(task: Task, progFd: number) {
      const prog = bpf.progFromFd(task, progFd);
      if (typeof prog === 'number') return prog;
      if (prog.progType !== BPF_PROG_TYPE.SOCKET_FILTER) return -Errno.EINVAL;
      prog.refs++;
      let held = true;
      return {
        program: new BpfAttachment(bpf.runtime, prog),
        release: () => {
          if (!held) return;
          held = false;
          bpf.progs.put(prog);
        },
      };
    },
  };
}

/** Register the provider with the kernel's network stack (registerBpf calls this when the kernel has one). */
export function registerSocketFilters(bpf: BpfSyscall, net: SocketFilterSlot): void {
  net.socketFilters = socketFilterProvider(bpf);
}
