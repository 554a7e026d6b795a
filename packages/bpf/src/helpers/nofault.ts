/**
 * Reading memory a program names without trusting it, as Linux's mm/maccess.c and lib/strncpy_from_user.c:
 * the probe_read helpers and bpf_trace_printk's %s go through these. Nothing here throws or faults: a bad
 * address is an errno.
 *
 * Kernel addresses are the kernel's physical memory (what the VM runs against: map values, contexts, the
 * program's stack). Linux's copy_from_kernel_nofault refuses user-range addresses with ERANGE before touching
 * them (x86 copy_from_kernel_nofault_allowed: below TASK_SIZE_MAX + PAGE_SIZE, NULL included); the
 * simulation's kernel addresses share numbers with user ones, so the one range it refuses that way is the NULL
 * page (physical frame 0, never allocated). An address past the end of physical memory is an unmapped
 * kernel address: EFAULT.
 */
import type { KernelMemory, UserCopy } from '@ebpf-sim/kernel';
import { Errno, PAGE_SIZE } from '@ebpf-sim/uapi';

/**
 * copy_from_kernel_nofault_allowed: the NULL page is user range (ERANGE), not a fault. `address` is a helper
 * argument as HelperContext.argNumber gives it, negative from 2^63 up (the kernel half, where the
 * simulation has no memory: a fault).
 */
function kernelRangeAllowed(address: number): boolean {
  return address < 0 || address >= PAGE_SIZE;
}

/** Whether `size` bytes at `address` are in physical memory. */
function inMemory(mem: KernelMemory, address: number, size: number): boolean {
  return address >= 0 && address + size <= mem.bytes.length;
}

/**
 * copy_from_kernel_nofault(dst, src, size) into `out` at `outOff`: 0, -ERANGE or -EFAULT. On failure `out`
 * is left as it was; the helpers zero it (bpf_probe_read_kernel_common's memset).
 */
export function copyFromKernelNofault(mem: KernelMemory, out: Uint8Array, outOff: number, src: number, size: number): number {
  // The range check comes first, as in Linux: even 0 bytes from the NULL page are ERANGE.
  if (!kernelRangeAllowed(src)) return -Errno.ERANGE;
  if (size === 0) return 0;
  if (!inMemory(mem, src, size)) return -Errno.EFAULT;
  if (out === mem.bytes) out.copyWithin(outOff, src, src + size);
  else out.set(mem.bytes.subarray(src, src + size), outOff);
  return 0;
}

/**
 * strncpy_from_kernel_nofault(dst, src, count): copies bytes up to and including the NUL, at most `count`;
 * the last byte copied is made NUL. Returns the bytes copied including the NUL (`count` when truncated), 0 for
 * a count of 0, -ERANGE for the NULL page, or -EFAULT (with dst[0] = NUL) when the string runs off memory.
 */
export function strncpyFromKernelNofault(mem: KernelMemory, out: Uint8Array, outOff: number, src: number, count: number): number {
  if (count <= 0) return 0;
  if (!kernelRangeAllowed(src)) return -Errno.ERANGE;
  const bytes = mem.bytes;
  let n = 0;
  do {
    if (!inMemory(mem, src + n, 1)) {
      out[outOff] = 0;
      return -Errno.EFAULT;
    }
    out[outOff + n] = bytes[src + n]!;
    n++;
  } while (out[outOff + n - 1] !== 0 && n < count);
  out[outOff + n - 1] = 0;
  return n;
}

/** copy_from_user_nofault: 0, or -EFAULT when any byte is unmapped (no address space: a kernel thread or an idle CPU). */
export function copyFromUserNofault(user: UserCopy | undefined, out: Uint8Array, outOff: number, src: number, size: number): number {
  if (size === 0) return 0;
  if (user === undefined) return -Errno.EFAULT;
  return user.copyFromUser(src, out, outOff, size) ? 0 : -Errno.EFAULT;
}

/**
 * strncpy_from_user_nofault(dst, src, count): strncpy_from_user, then the count fix-up: a string that fills
 * `count` bytes is cut with a NUL in the last one and gives `count`; a shorter one gives its length plus the
 * NUL. Bytes after the NUL are left as they were. -EFAULT when a byte before the NUL is unmapped.
 */
export function strncpyFromUserNofault(user: UserCopy | undefined, out: Uint8Array, outOff: number, src: number, count: number): number {
  if (count <= 0) return 0;
  if (user === undefined) return -Errno.EFAULT;
  for (let n = 0; n < count; n++) {
    if (!user.copyFromUser(src + n, out, outOff + n, 1)) return -Errno.EFAULT;
    if (out[outOff + n] === 0) return n + 1;
  }
  out[outOff + count - 1] = 0;
  return count;
}
