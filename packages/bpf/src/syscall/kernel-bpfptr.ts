/**
 * KERNEL_BPFPTR (include/linux/bpfptr.h): bpf() called by kernel code (bpf_sys_bpf from a SYSCALL program) reads
 * its attr and every pointer in it (keys, values, instructions, licence, log buffer) from kernel memory, not from
 * the calling process. Linux copies with a plain memcpy there, trusting the caller; this kernel answers EFAULT for
 * an address outside physical memory or in the NULL page rather than crash (deliberately unlike Linux).
 */
import type { KernelMemory, UserCopy } from '@ebpf-sim/kernel';
import { Errno, PAGE_SIZE } from '@ebpf-sim/uapi';

const UTF8 = new TextDecoder();

/** Whether `length` bytes at `address` are kernel memory (the NULL page is not). */
function inKernel(mem: Pick<KernelMemory, 'bytes'>, address: number, length: number): boolean {
  return address >= PAGE_SIZE && length >= 0 && address + length <= mem.bytes.length;
}

/** The copy operations of a kernel bpfptr over physical memory, shaped as the user copies the commands take. */
export function kernelBpfptr(mem: Pick<KernelMemory, 'bytes'>): UserCopy {
  return {
    copyFromUser(address, dst, dstOffset, length) {
      if (length === 0) return true;
      if (!inKernel(mem, address, length)) return false;
      dst.set(mem.bytes.subarray(address, address + length), dstOffset);
      return true;
    },
    copyToUser(address, src, srcOffset, length) {
      if (length === 0) return true;
      if (!inKernel(mem, address, length)) return false;
      mem.bytes.set(src.subarray(srcOffset, srcOffset + length), address);
      return true;
    },
    readCString(address, max) {
      for (let i = 0; i < max; i++) {
        if (!inKernel(mem, address + i, 1)) return -Errno.EFAULT;
        if (mem.bytes[address + i] === 0) return UTF8.decode(mem.bytes.subarray(address, address + i));
      }
      return -Errno.ENAMETOOLONG;
    },
  };
}
