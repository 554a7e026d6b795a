import { Errno, O, PROT, SEEK_MAX } from '@ebpf-sim/uapi';
import { BLOCKED } from '../sched/wait.js';
import type { KernelInternals } from '../services.js';
import type { Task } from '../task/task.js';
import type { SyscallTable } from './table.js';
import { bounceBuffer, MAX_TRANSFER } from './user-buffer.js';

/** What read and write use besides the task: the vfs_read / vfs_write kprobes. */
export type IoSyscallServices = Pick<KernelInternals, 'kprobes'>;

/** read(2): fd checks, then the file's read into the bounce buffer, then copy_to_user. */
export function sysRead(k: IoSyscallServices, task: Task, fd: number, buf: number, count: number): number {
  const file = task.group.files.get(fd);
  if (file === undefined || (file.flags & O.ACCMODE) === O.WRONLY) return -Errno.EBADF;
  if (file.inode.isDir) return -Errno.EISDIR;
  const ops = file.ops;
  if (ops.read === undefined) return -Errno.EINVAL;
  const n = Math.min(count, MAX_TRANSFER);
  if (n === 0) return 0;
  const mm = task.group.mm;
  if (!mm.accessOk(buf, n, PROT.WRITE)) return -Errno.EFAULT;
  const kprobes = k.kprobes;
  const site = kprobes.sites.vfs_read;
  if (!task.restarting) kprobes.enter(site, task, file.id, buf, count, 0);
  const buffer = bounceBuffer(n);
  const ret = ops.read(task.io, file, buffer, n);
  if (ret === BLOCKED) return ret;
  if (ret > 0 && !mm.copyToUser(buf, buffer, 0, ret)) return -Errno.EFAULT;
  kprobes.exit(site, task, ret, file.id, buf, count, 0);
  return ret;
}

/** write(2): copy_from_user into the bounce buffer, then the file's write. */
export function sysWrite(k: IoSyscallServices, task: Task, fd: number, buf: number, count: number): number {
  const file = task.group.files.get(fd);
  if (file === undefined || (file.flags & O.ACCMODE) === O.RDONLY) return -Errno.EBADF;
  const ops = file.ops;
  if (ops.write === undefined) return -Errno.EINVAL;
  const n = Math.min(count, MAX_TRANSFER);
  if (n === 0) return 0;
  const mm = task.group.mm;
  if (!mm.accessOk(buf, n, PROT.READ)) return -Errno.EFAULT;
  const buffer = bounceBuffer(n);
  if (!mm.copyFromUser(buf, buffer, 0, n)) return -Errno.EFAULT;
  const kprobes = k.kprobes;
  const site = kprobes.sites.vfs_write;
  if (!task.restarting) kprobes.enter(site, task, file.id, buf, count, 0);
  const ret = ops.write(task.io, file, buffer, n);
  if (ret === BLOCKED) return ret;
  kprobes.exit(site, task, ret, file.id, buf, count, 0);
  return ret;
}

export function registerIoSyscalls(table: SyscallTable, k: IoSyscallServices): void {
  table.register('read', (t, fd, buf, count) => sysRead(k, t, fd, buf, count));
  table.register('write', (t, fd, buf, count) => sysWrite(k, t, fd, buf, count));
  table.register('close', (t, fd) => t.group.files.close(fd));
  // ioctl(2): the generic FIONCLEX/FIOCLEX/FIONBIO/FIOASYNC commands are not modelled; every cmd goes to the file.
  table.register('ioctl', (t, fd, cmd, arg) => {
    const file = t.group.files.get(fd);
    if (file === undefined) return -Errno.EBADF;
    const ops = file.ops;
    return ops.ioctl === undefined ? -Errno.ENOTTY : ops.ioctl(t, file, cmd, arg);
  });
  table.register('lseek', (t, fd, offset, whence) => {
    const file = t.group.files.get(fd);
    if (file === undefined) return -Errno.EBADF;
    if (whence > SEEK_MAX) return -Errno.EINVAL;
    const ops = file.ops;
    return ops.llseek === undefined ? -Errno.ESPIPE : ops.llseek(file, offset, whence);
  });
}
