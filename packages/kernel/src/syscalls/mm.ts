import { Errno, MAP, MAP_TYPE, O, PAGE_SHIFT, PAGE_SIZE, PROT } from '@ebpf-sim/uapi';
import type { Task } from '../task/task.js';
import type { SyscallTable } from './table.js';

/** The largest descriptor number: an fd register beyond it names no file (fget of an unsigned int). */
const FD_MAX = 0x7fff_ffff;

/**
 * mmap(2) of a file, as do_mmap checks it before the file's ->mmap: the file must be readable; a shared
 * mapping with PROT_WRITE needs a file opened for writing (EACCES), and a shared mapping of a file not open
 * for writing is not VM_SHARED (Linux clears VM_SHARED | VM_MAYWRITE), so the file's mmap sees it as private;
 * a file without ->mmap is ENODEV. The file's mmap gets MAP_SHARED exactly when the mapping is VM_SHARED.
 */
function mmapFile(task: Task, addr: number, len: number, prot: number, flags: number, fd: number, off: number): number {
  const file = fd <= FD_MAX ? task.group.files.get(fd) : undefined;
  if (file === undefined) return -Errno.EBADF;
  const accmode = file.flags & O.ACCMODE;
  const readable = accmode === O.RDONLY || accmode === O.RDWR;
  const writable = accmode === O.WRONLY || accmode === O.RDWR;
  // MAP_SHARED_VALIDATE's check of unknown flag bits (EOPNOTSUPP) is not modelled: it maps like MAP_SHARED.
  let shared = (flags & MAP_TYPE) !== MAP.PRIVATE;
  if (shared) {
    if ((prot & PROT.WRITE) !== 0 && !writable) return -Errno.EACCES;
    if (!writable) shared = false;
  }
  if (!readable) return -Errno.EACCES;
  if (file.ops.mmap === undefined) return -Errno.ENODEV;
  const pgoff = off / PAGE_SIZE;
  if (len === 0) return -Errno.EINVAL;
  // do_mmap: the page range must not wrap (EOVERFLOW).
  if (pgoff + Math.ceil(len / PAGE_SIZE) > 2 ** (64 - PAGE_SHIFT)) return -Errno.EOVERFLOW;
  const vmFlags = (flags & ~MAP_TYPE) | (shared ? MAP.SHARED : MAP.PRIVATE);
  return task.group.mm.mmapFile(addr, len, prot, vmFlags, file, (pages) => file.ops.mmap?.(file, pgoff, pages, prot, vmFlags) ?? -Errno.ENODEV);
}

export function registerMmSyscalls(table: SyscallTable): void {
  table.register('mmap', (t, addr, len, prot, flags, fd, off) => {
    // Flags and prot are unsigned longs that may exceed 2^32: take the low bits without 32-bit operators first.
    const low = flags % 2 ** 31;
    const type = low & MAP_TYPE;
    if (type !== MAP.SHARED && type !== MAP.PRIVATE && type !== MAP.SHARED_VALIDATE) return -Errno.EINVAL;
    if (off % PAGE_SIZE !== 0) return -Errno.EINVAL;
    if ((low & MAP.ANONYMOUS) === 0) return mmapFile(t, addr, len, prot % 8, low, fd, off);
    return t.group.mm.mmap(addr, len, prot % 8, low);
  });
  table.register('munmap', (t, addr, len) => t.group.mm.munmap(addr, len));
  table.register('brk', (t, brk) => t.group.mm.setBrk(brk));
}
