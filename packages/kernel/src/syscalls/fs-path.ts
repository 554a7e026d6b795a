import { AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, DIRENT64, dirent64RecordLength, Errno, O, PATH_MAX, S_IFIFO, STAT } from '@ebpf-sim/uapi';
import { releaseFile } from '../fs/file.js';
import { Inode } from '../fs/inode.js';
import { Pipe, pipeFileOps } from '../fs/pipe.js';
import { fillStat } from '../fs/stat.js';
import { MAY_EXEC, MAY_WRITE, permission, type ParentLookup, type Vfs } from '../fs/vfs.js';
import type { KernelInternals } from '../services.js';
import type { Task } from '../task/task.js';
import type { SyscallTable } from './table.js';

/** What the path syscalls use: the VFS, and for open the do_sys_openat2 kprobes and the LSM file_open hook. */
export type PathSyscallServices = Pick<KernelInternals, 'vfs' | 'kprobes' | 'security'>;

const statBuffer = new Uint8Array(STAT.size);
const encoder = new TextEncoder();

/** strncpy_from_user of a path: the string, or -EFAULT / -ENAMETOOLONG. */
function userPath(task: Task, address: number): string | number {
  return task.group.mm.readCString(address, PATH_MAX);
}

/** Resolve the dirfd of an *at call to the directory a relative path starts from: the inode or -errno. */
function dirFor(vfs: Vfs, task: Task, dirfd: number, path: string): Inode | number {
  if (path.startsWith('/')) return vfs.root;
  if (dirfd === AT_FDCWD) return task.group.cwd;
  if (dirfd < 0) return -Errno.EBADF;
  const file = task.group.files.get(dirfd);
  if (file === undefined) return -Errno.EBADF;
  if (!file.inode.isDir) return -Errno.ENOTDIR;
  return file.inode;
}

/** openat(2) and open(2). */
export function sysOpenat(k: PathSyscallServices, task: Task, dfd: number, filename: number, flags: number, mode: number): number {
  const kprobes = k.kprobes;
  const site = kprobes.sites.do_sys_openat2;
  kprobes.enter(site, task, dfd, filename, 0);
  const path = userPath(task, filename);
  if (typeof path === 'number') return path;
  const start = dirFor(k.vfs, task, dfd, path);
  if (typeof start === 'number') return start;
  const group = task.group;
  const security = k.security;
  const file = k.vfs.open(start, path, flags, mode, group.cred, (opened) => security.fileOpen(task, opened));
  if (typeof file === 'number') {
    kprobes.exit(site, task, file, dfd, filename, 0);
    return file;
  }
  const fd = group.files.install(file, (flags & O.CLOEXEC) !== 0);
  if (fd < 0) releaseFile(file);
  kprobes.exit(site, task, fd, dfd, filename, 0);
  return fd;
}

function statInto(task: Task, inode: Inode, statbuf: number): number {
  fillStat(inode, statBuffer);
  return task.group.mm.copyToUser(statbuf, statBuffer, 0, STAT.size) ? 0 : -Errno.EFAULT;
}

function sysNewfstatat(vfs: Vfs, task: Task, dfd: number, filename: number, statbuf: number, flag: number): number {
  const path = userPath(task, filename);
  if (typeof path === 'number') return path;
  if (path === '') {
    if ((flag & AT_EMPTY_PATH) === 0) return -Errno.ENOENT;
    if (dfd === AT_FDCWD) return statInto(task, task.group.cwd, statbuf);
    const file = task.group.files.get(dfd);
    return file === undefined ? -Errno.EBADF : statInto(task, file.inode, statbuf);
  }
  const start = dirFor(vfs, task, dfd, path);
  if (typeof start === 'number') return start;
  const inode = vfs.lookup(start, path, task.group.cred);
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

function sysPipe2(vfs: Vfs, task: Task, fildes: number, flags: number): number {
  const pipe = new Pipe();
  const inode = new Inode(vfs.rootfs.allocateIno(), S_IFIFO | 0o600, task.group.cred.uid, task.group.cred.gid, 5, pipeFileOps);
  const extra = flags & O.NONBLOCK;
  const reader = vfs.newFile(inode, O.RDONLY | extra, 'pipe:', pipe);
  const writer = vfs.newFile(inode, O.WRONLY | extra, 'pipe:', pipe);
  pipe.readers = 1;
  pipe.writers = 1;
  const files = task.group.files;
  const cloexec = (flags & O.CLOEXEC) !== 0;
  const rfd = files.install(reader, cloexec);
  if (rfd < 0) {
    releaseFile(reader);
    releaseFile(writer);
    return rfd;
  }
  const wfd = files.install(writer, cloexec);
  if (wfd < 0) {
    files.close(rfd);
    releaseFile(writer);
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
function parentAt(vfs: Vfs, task: Task, dfd: number, pathname: number): ParentLookup | number {
  const path = userPath(task, pathname);
  if (typeof path === 'number') return path;
  const start = dirFor(vfs, task, dfd, path);
  if (typeof start === 'number') return start;
  return vfs.lookupParent(start, path, task.group.cred);
}

function sysMkdirat(vfs: Vfs, task: Task, dfd: number, pathname: number, mode: number): number {
  const parent = parentAt(vfs, task, dfd, pathname);
  if (typeof parent === 'number') return parent;
  const { dir, name } = parent;
  if (name === '.' || name === '..' || dir.dirOps?.lookup(dir, name) !== undefined) return -Errno.EEXIST;
  if (!permission(dir, task.group.cred, MAY_WRITE | MAY_EXEC)) return -Errno.EACCES;
  const dirOps = dir.dirOps;
  if (dirOps?.mkdir === undefined) return -Errno.EPERM;
  const created = dirOps.mkdir(dir, name, mode & 0o7777, task.group.cred);
  return typeof created === 'number' ? created : 0;
}

/** unlinkat(2): do_rmdir with AT_REMOVEDIR, else do_unlinkat (with its kprobe site). */
function sysUnlinkat(k: PathSyscallServices, task: Task, dfd: number, pathname: number, flag: number): number {
  if ((flag & AT_REMOVEDIR) !== 0) return doUnlinkat(k.vfs, task, dfd, pathname, flag);
  const kprobes = k.kprobes;
  const site = kprobes.sites.do_unlinkat;
  kprobes.enter(site, task, dfd, 0);
  const ret = doUnlinkat(k.vfs, task, dfd, pathname, flag);
  kprobes.exit(site, task, ret, dfd, 0);
  return ret;
}

function doUnlinkat(vfs: Vfs, task: Task, dfd: number, pathname: number, flag: number): number {
  const parent = parentAt(vfs, task, dfd, pathname);
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
    if (target.parent === undefined || target.parent !== dir || target === vfs.root) return -Errno.EBUSY;
    const dirOps = dir.dirOps;
    return dirOps?.rmdir === undefined ? -Errno.EPERM : dirOps.rmdir(dir, name);
  }
  if (target.isDir) return -Errno.EISDIR;
  if (parent.trailingSlash) return -Errno.ENOTDIR;
  const dirOps = dir.dirOps;
  return dirOps?.unlink === undefined ? -Errno.EPERM : dirOps.unlink(dir, name);
}

/** The path of `dir` from the root, found by walking '..' and searching each parent's entries. */
function pathOf(vfs: Vfs, dir: Inode): string {
  const parts: string[] = [];
  let inode = dir;
  while (inode !== vfs.root) {
    const parent = inode.parent;
    if (parent === undefined || parent === inode) break;
    const entry = parent.dirOps?.list(parent).find(([, child]) => child === inode);
    parts.unshift(entry?.[0] ?? '?');
    inode = parent;
  }
  return `/${parts.join('/')}`;
}

function sysGetcwd(vfs: Vfs, task: Task, buf: number, size: number): number {
  const path = encoder.encode(pathOf(vfs, task.group.cwd));
  if (size < path.length + 1) return -Errno.ERANGE;
  const out = new Uint8Array(path.length + 1);
  out.set(path);
  return task.group.mm.copyToUser(buf, out, 0, out.length) ? out.length : -Errno.EFAULT;
}

function sysChdir(vfs: Vfs, task: Task, filename: number): number {
  const path = userPath(task, filename);
  if (typeof path === 'number') return path;
  const inode = vfs.lookup(task.group.cwd, path, task.group.cred);
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

export function registerPathSyscalls(table: SyscallTable, k: PathSyscallServices): void {
  const vfs = k.vfs;
  table.register('openat', (t, dfd, filename, flags, mode) => sysOpenat(k, t, dfd, filename, flags, mode));
  table.register('open', (t, filename, flags, mode) => sysOpenat(k, t, AT_FDCWD, filename, flags, mode));
  table.register('newfstatat', (t, dfd, filename, statbuf, flag) => sysNewfstatat(vfs, t, dfd, filename, statbuf, flag));
  table.register('fstat', (t, fd, statbuf) => {
    const file = t.group.files.get(fd);
    return file === undefined ? -Errno.EBADF : statInto(t, file.inode, statbuf);
  });
  table.register('getdents64', (t, fd, dirent, count) => sysGetdents64(t, fd, dirent, count));
  table.register('pipe2', (t, fildes, flags) => sysPipe2(vfs, t, fildes, flags));
  table.register('pipe', (t, fildes) => sysPipe2(vfs, t, fildes, 0));
  table.register('mkdirat', (t, dfd, pathname, mode) => sysMkdirat(vfs, t, dfd, pathname, mode));
  table.register('mkdir', (t, pathname, mode) => sysMkdirat(vfs, t, AT_FDCWD, pathname, mode));
  table.register('unlinkat', (t, dfd, pathname, flag) => sysUnlinkat(k, t, dfd, pathname, flag));
  table.register('unlink', (t, pathname) => sysUnlinkat(k, t, AT_FDCWD, pathname, 0));
  table.register('getcwd', (t, buf, size) => sysGetcwd(vfs, t, buf, size));
  table.register('chdir', (t, filename) => sysChdir(vfs, t, filename));
  table.register('dup', (t, fildes) => {
    const file = t.group.files.get(fildes);
    return file === undefined ? -Errno.EBADF : t.group.files.install(file, false);
  });
  table.register('dup2', (t, oldfd, newfd) => {
    const file = t.group.files.get(oldfd);
    if (file === undefined) return -Errno.EBADF;
    return oldfd === newfd ? newfd : t.group.files.installAt(newfd, file, false);
  });
  table.register('dup3', (t, oldfd, newfd, flags) => sysDup3(t, oldfd, newfd, flags));
}
