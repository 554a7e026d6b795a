import { AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, DIRENT64, dirent64RecordLength, Errno, O, PATH_MAX, S_IFIFO, STAT } from '@ebpf-sim/uapi';
import { Inode } from '../fs/inode.js';
import { Pipe, pipeFileOps } from '../fs/pipe.js';
import { fillStat } from '../fs/stat.js';
import { MAY_EXEC, MAY_WRITE, permission, type ParentLookup } from '../fs/vfs.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import type { SyscallTable } from './table.js';

const statBuffer = new Uint8Array(STAT.size);
const encoder = new TextEncoder();

/** strncpy_from_user of a path: the string, or -EFAULT / -ENAMETOOLONG. */
function userPath(task: Task, address: number): string | number {
  return task.group.mm.readCString(address, PATH_MAX);
}

/** openat(2) and open(2). */
export function sysOpenat(k: Kernel, task: Task, dfd: number, filename: number, flags: number, mode: number): number {
  k.fireKprobe('do_sys_openat2', task, dfd, filename, 0);
  const path = userPath(task, filename);
  if (typeof path === 'number') return path;
  const start = k.dirFor(task, dfd, path);
  if (typeof start === 'number') return start;
  const group = task.group;
  const file = k.vfs.open(start, path, flags, mode, group.cred, (opened) => k.lsm.fileOpenCheck(task, opened));
  if (typeof file === 'number') {
    k.fireKretprobe('do_sys_openat2', task, file);
    return file;
  }
  const fd = group.files.install(file, (flags & O.CLOEXEC) !== 0);
  if (fd < 0) k.releaseFile(file);
  k.fireKretprobe('do_sys_openat2', task, fd);
  return fd;
}

function statInto(task: Task, inode: Inode, statbuf: number): number {
  fillStat(inode, statBuffer);
  return task.group.mm.copyToUser(statbuf, statBuffer, 0, STAT.size) ? 0 : -Errno.EFAULT;
}

function sysNewfstatat(k: Kernel, task: Task, dfd: number, filename: number, statbuf: number, flag: number): number {
  const path = userPath(task, filename);
  if (typeof path === 'number') return path;
  if (path === '') {
    if ((flag & AT_EMPTY_PATH) === 0) return -Errno.ENOENT;
    if (dfd === AT_FDCWD) return statInto(task, task.group.cwd, statbuf);
    const file = task.group.files.get(dfd);
    return file === undefined ? -Errno.EBADF : statInto(task, file.inode, statbuf);
  }
  const start = k.dirFor(task, dfd, path);
  if (typeof start === 'number') return start;
  const inode = k.vfs.lookup(start, path, task.group.cred);
  if (typeof inode === 'number') return inode;
  if (path.endsWith('/') && !inode.isDir) return -Errno.ENOTDIR;
  return statInto(task, inode, statbuf);
}

function sysGetdents64(task: Task, fd: number, dirent: number, count: number): number {
  const file = task.group.files.get(fd);
  if (file === undefined) return -Errno.EBADF;
  const ops = file.ops;
  if (ops.readdir === undefined) return -Errno.ENOTDIR;
  const entries = ops.readdir(file);
  const out = new Uint8Array(Math.min(count, 65536));
  const view = new DataView(out.buffer);
  let used = 0;
  let index = file.pos;
  for (; index < entries.length; index++) {
    const entry = entries[index];
    if (entry === undefined) break;
    const name = encoder.encode(entry.name);
    const reclen = dirent64RecordLength(name.length);
    if (used + reclen > out.length) {
      if (used === 0) return -Errno.EINVAL;
      break;
    }
    view.setUint32(used + DIRENT64.d_ino, entry.inode.ino >>> 0, true);
    view.setUint32(used + DIRENT64.d_ino + 4, Math.floor(entry.inode.ino / 0x1_0000_0000), true);
    view.setUint32(used + DIRENT64.d_off, index + 1, true);
    view.setUint16(used + DIRENT64.d_reclen, reclen, true);
    view.setUint8(used + DIRENT64.d_type, entry.inode.direntType);
    out.set(name, used + DIRENT64.d_name);
    used += reclen;
  }
  if (used > 0 && !task.group.mm.copyToUser(dirent, out, 0, used)) return -Errno.EFAULT;
  file.pos = index;
  return used;
}

function sysPipe2(k: Kernel, task: Task, fildes: number, flags: number): number {
  const pipe = new Pipe();
  const inode = new Inode(k.vfs.rootfs.allocateIno(), S_IFIFO | 0o600, task.group.cred.uid, task.group.cred.gid, 5, pipeFileOps);
  const extra = flags & O.NONBLOCK;
  const reader = k.vfs.newFile(inode, O.RDONLY | extra, 'pipe:', pipe);
  const writer = k.vfs.newFile(inode, O.WRONLY | extra, 'pipe:', pipe);
  pipe.readers = 1;
  pipe.writers = 1;
  const files = task.group.files;
  const cloexec = (flags & O.CLOEXEC) !== 0;
  const rfd = files.install(reader, cloexec);
  if (rfd < 0) {
    k.releaseFile(reader);
    k.releaseFile(writer);
    return rfd;
  }
  const wfd = files.install(writer, cloexec);
  if (wfd < 0) {
    files.close(rfd);
    k.releaseFile(writer);
    return wfd;
  }
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setInt32(0, rfd, true);
  view.setInt32(4, wfd, true);
  if (!task.group.mm.copyToUser(fildes, out, 0, 8)) {
    files.close(rfd);
    files.close(wfd);
    return -Errno.EFAULT;
  }
  return 0;
}

/** The parent directory and last component of the path at user address `pathname`, relative to `dfd`. */
function parentAt(k: Kernel, task: Task, dfd: number, pathname: number): ParentLookup | number {
  const path = userPath(task, pathname);
  if (typeof path === 'number') return path;
  const start = k.dirFor(task, dfd, path);
  if (typeof start === 'number') return start;
  return k.vfs.lookupParent(start, path, task.group.cred);
}

function sysMkdirat(k: Kernel, task: Task, dfd: number, pathname: number, mode: number): number {
  const parent = parentAt(k, task, dfd, pathname);
  if (typeof parent === 'number') return parent;
  const { dir, name } = parent;
  if (name === '.' || name === '..' || dir.dirOps?.lookup(dir, name) !== undefined) return -Errno.EEXIST;
  if (!permission(dir, task.group.cred, MAY_WRITE | MAY_EXEC)) return -Errno.EACCES;
  const dirOps = dir.dirOps;
  if (dirOps?.mkdir === undefined) return -Errno.EPERM;
  const created = dirOps.mkdir(dir, name, mode & 0o7777, task.group.cred);
  return typeof created === 'number' ? created : 0;
}

function sysUnlinkat(k: Kernel, task: Task, dfd: number, pathname: number, flag: number): number {
  const parent = parentAt(k, task, dfd, pathname);
  if (typeof parent === 'number') return parent;
  const { dir, name } = parent;
  const removeDir = (flag & AT_REMOVEDIR) !== 0;
  if (name === '.') return removeDir ? -Errno.EINVAL : -Errno.EISDIR;
  if (name === '..') return removeDir ? -Errno.ENOTEMPTY : -Errno.EISDIR;
  const target = dir.dirOps?.lookup(dir, name);
  if (target === undefined) return -Errno.ENOENT;
  if (!permission(dir, task.group.cred, MAY_WRITE | MAY_EXEC)) return -Errno.EACCES;
  if (removeDir) {
    if (!target.isDir) return -Errno.ENOTDIR;
    if (target.parent === undefined || target.parent !== dir || target === k.vfs.root) return -Errno.EBUSY;
    const dirOps = dir.dirOps;
    return dirOps?.rmdir === undefined ? -Errno.EPERM : dirOps.rmdir(dir, name);
  }
  if (target.isDir) return -Errno.EISDIR;
  if (parent.trailingSlash) return -Errno.ENOTDIR;
  const dirOps = dir.dirOps;
  return dirOps?.unlink === undefined ? -Errno.EPERM : dirOps.unlink(dir, name);
}

/** The path of `dir` from the root, found by walking '..' and searching each parent's entries. */
function pathOf(k: Kernel, dir: Inode): string {
  const parts: string[] = [];
  let inode = dir;
  while (inode !== k.vfs.root) {
    const parent = inode.parent;
    if (parent === undefined || parent === inode) break;
    const entry = parent.dirOps?.list(parent).find(([, child]) => child === inode);
    parts.unshift(entry?.[0] ?? '?');
    inode = parent;
  }
  return `/${parts.join('/')}`;
}

function sysGetcwd(k: Kernel, task: Task, buf: number, size: number): number {
  const path = encoder.encode(pathOf(k, task.group.cwd));
  if (size < path.length + 1) return -Errno.ERANGE;
  const out = new Uint8Array(path.length + 1);
  out.set(path);
  return task.group.mm.copyToUser(buf, out, 0, out.length) ? out.length : -Errno.EFAULT;
}

function sysChdir(k: Kernel, task: Task, filename: number): number {
  const path = userPath(task, filename);
  if (typeof path === 'number') return path;
  const inode = k.vfs.lookup(task.group.cwd, path, task.group.cred);
  if (typeof inode === 'number') return inode;
  if (!inode.isDir) return -Errno.ENOTDIR;
  if (!permission(inode, task.group.cred, MAY_EXEC)) return -Errno.EACCES;
  task.group.cwd = inode;
  return 0;
}

function sysDup3(task: Task, oldfd: number, newfd: number, flags: number): number {
  if (oldfd === newfd) return -Errno.EINVAL;
  const files = task.group.files;
  const file = files.get(oldfd);
  if (file === undefined) return -Errno.EBADF;
  return files.installAt(newfd, file, (flags & O.CLOEXEC) !== 0);
}

export function registerPathSyscalls(table: SyscallTable): void {
  table.register('openat', (k, t, dfd, filename, flags, mode) => sysOpenat(k, t, dfd, filename, flags, mode));
  table.register('open', (k, t, filename, flags, mode) => sysOpenat(k, t, AT_FDCWD, filename, flags, mode));
  table.register('newfstatat', (k, t, dfd, filename, statbuf, flag) => sysNewfstatat(k, t, dfd, filename, statbuf, flag));
  table.register('fstat', (_k, t, fd, statbuf) => {
    const file = t.group.files.get(fd);
    return file === undefined ? -Errno.EBADF : statInto(t, file.inode, statbuf);
  });
  table.register('getdents64', (_k, t, fd, dirent, count) => sysGetdents64(t, fd, dirent, count));
  table.register('pipe2', (k, t, fildes, flags) => sysPipe2(k, t, fildes, flags));
  table.register('pipe', (k, t, fildes) => sysPipe2(k, t, fildes, 0));
  table.register('mkdirat', (k, t, dfd, pathname, mode) => sysMkdirat(k, t, dfd, pathname, mode));
  table.register('mkdir', (k, t, pathname, mode) => sysMkdirat(k, t, AT_FDCWD, pathname, mode));
  table.register('unlinkat', (k, t, dfd, pathname, flag) => sysUnlinkat(k, t, dfd, pathname, flag));
  table.register('unlink', (k, t, pathname) => sysUnlinkat(k, t, AT_FDCWD, pathname, 0));
  table.register('getcwd', (k, t, buf, size) => sysGetcwd(k, t, buf, size));
  table.register('chdir', (k, t, filename) => sysChdir(k, t, filename));
  table.register('dup', (_k, t, fildes) => {
    const file = t.group.files.get(fildes);
    return file === undefined ? -Errno.EBADF : t.group.files.install(file, false);
  });
  table.register('dup2', (_k, t, oldfd, newfd) => {
    const file = t.group.files.get(oldfd);
    if (file === undefined) return -Errno.EBADF;
    return oldfd === newfd ? newfd : t.group.files.installAt(newfd, file, false);
  });
  table.register('dup3', (_k, t, oldfd, newfd, flags) => sysDup3(t, oldfd, newfd, flags));
}
