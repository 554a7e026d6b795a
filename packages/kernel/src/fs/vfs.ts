import { Errno, NAME_MAX, O, S_IFREG, type UserProgram } from '@ebpf-sim/uapi';
import { File } from './file.js';
import type { Credentials, Inode } from './inode.js';
import { Ramfs } from './ramfs.js';

/** Permission bits asked for (MAY_READ etc.). */
export const MAY_EXEC = 1;
export const MAY_WRITE = 2;
export const MAY_READ = 4;

/** generic_permission: root passes read/write always and exec when any x bit is set; others use the mode bits. */
export function permission(inode: Inode, cred: Credentials, mask: number): boolean {
  if (cred.uid === 0) return (mask & MAY_EXEC) === 0 || inode.isDir || (inode.mode & 0o111) !== 0;
  const shift = cred.uid === inode.uid ? 6 : cred.gid === inode.gid ? 3 : 0;
  return ((inode.mode >> shift) & 7 & mask) === mask;
}

/** Where a path resolves: the parent directory and the last component. */
export interface ParentLookup {
  readonly dir: Inode;
  readonly name: string;
  /** The path ended with '/' (the last component must be a directory). */
  readonly trailingSlash: boolean;
}

/**
 * The virtual file system: the mount tree (grafted roots of ramfs, procfs, bpffs), path resolution with
 * Linux's errors, and opening files. Symbolic links are not modelled.
 */
export class Vfs {
  readonly rootfs: Ramfs;
  readonly root: Inode;
  private nextFileId = 1;

  constructor(private readonly clock: { readonly now: number }) {
    this.rootfs = new Ramfs(1, clock);
    this.root = this.rootfs.makeRoot();
  }

  /** Resolve `path` from `cwd` (relative) or the root (absolute): the inode or -errno. */
  lookup(cwd: Inode, path: string, cred: Credentials): Inode | number {
    if (path.length === 0) return -Errno.ENOENT;
    let inode = path.startsWith('/') ? this.root : cwd;
    const parts = path.split('/');
    for (let index = 0; index < parts.length; index++) {
      const part = parts[index] as string;
      if (part === '' || part === '.') {
        if (!inode.isDir) return -Errno.ENOTDIR;
        continue;
      }
      if (part.length > NAME_MAX) return -Errno.ENAMETOOLONG;
      if (!inode.isDir) return -Errno.ENOTDIR;
      if (!permission(inode, cred, MAY_EXEC)) return -Errno.EACCES;
      const next = part === '..' ? (inode.parent ?? inode) : inode.dirOps?.lookup(inode, part);
      if (next === undefined) return -Errno.ENOENT;
      inode = next;
    }
    return inode;
  }

  /** Resolve everything but the last component. */
  lookupParent(cwd: Inode, path: string, cred: Credentials): ParentLookup | number {
    if (path.length === 0) return -Errno.ENOENT;
    const trailingSlash = path.length > 1 && path.endsWith('/');
    const trimmed = path.replace(/\/+$/, '');
    if (trimmed === '') return { dir: this.root, name: '.', trailingSlash: true };
    const slash = trimmed.lastIndexOf('/');
    const dirPath = slash < 0 ? '.' : slash === 0 ? '/' : trimmed.slice(0, slash);
    const name = trimmed.slice(slash + 1);
    if (name.length > NAME_MAX) return -Errno.ENAMETOOLONG;
    const dir = this.lookup(cwd, dirPath, cred);
    if (typeof dir === 'number') return dir;
    if (!dir.isDir) return -Errno.ENOTDIR;
    return { dir, name, trailingSlash };
  }

  /** A new open file description on `inode`. */
  newFile(inode: Inode, flags: number, path: string, privateData?: unknown): File {
    return new File(this.nextFileId++, inode, inode.fops, flags, path, privateData);
  }

  /**
   * open(2)'s path walk and checks (O_CREAT, O_EXCL, O_DIRECTORY, O_TRUNC, access modes): the file or
   * -errno. `securityCheck` (the LSM file_open hook) may refuse the open with -errno before O_TRUNC
   * truncates. The caller installs the descriptor.
   */
  open(cwd: Inode, path: string, flags: number, mode: number, cred: Credentials, securityCheck?: (file: File) => number): File | number {
    const accmode = flags & O.ACCMODE;
    let inode: Inode | number;
    if ((flags & O.CREAT) !== 0) {
      const parent = this.lookupParent(cwd, path, cred);
      if (typeof parent === 'number') return parent;
      const { dir, name } = parent;
      const existing = name === '.' || name === '..' ? this.lookup(cwd, path, cred) : dir.dirOps?.lookup(dir, name);
      if (existing !== undefined && typeof existing !== 'number') {
        if ((flags & O.EXCL) !== 0) return -Errno.EEXIST;
        if (existing.isDir) return -Errno.EISDIR;
        inode = existing;
      } else {
        if (parent.trailingSlash) return -Errno.EISDIR;
        if (!permission(dir, cred, MAY_WRITE | MAY_EXEC)) return -Errno.EACCES;
        const dirOps = dir.dirOps;
        if (dirOps?.create === undefined) return -Errno.EACCES;
        inode = dirOps.create(dir, name, mode & 0o7777, cred);
        if (typeof inode === 'number') return inode;
      }
    } else {
      inode = this.lookup(cwd, path, cred);
      if (typeof inode === 'number') return inode;
      if (path.endsWith('/') && !inode.isDir) return -Errno.ENOTDIR;
    }
    if ((flags & O.DIRECTORY) !== 0 && !inode.isDir) return -Errno.ENOTDIR;
    if (inode.isDir && (accmode !== O.RDONLY || (flags & O.TRUNC) !== 0)) return -Errno.EISDIR;
    // Access mode 3 is Linux's "ioctl only" mode; it is checked like O_RDWR.
    const want = accmode === O.RDONLY ? MAY_READ : accmode === O.WRONLY ? MAY_WRITE : MAY_READ | MAY_WRITE;
    if (!permission(inode, cred, want)) return -Errno.EACCES;
    const file = this.newFile(inode, flags, path);
    // The security check runs before O_TRUNC takes effect, as in do_open (vfs_open, then handle_truncate).
    const denied = securityCheck?.(file) ?? 0;
    if (denied !== 0) return denied;
    const opened = inode.fops.open?.(file) ?? 0;
    if (opened < 0) return opened;
    // do_dentry_open drops the open-time flags after ->open, which may look at them (tracefs's O_TRUNC).
    file.flags &= ~(O.CREAT | O.EXCL | O.TRUNC | O.NOCTTY);
    if ((flags & O.TRUNC) !== 0 && inode.isReg && accmode !== O.RDONLY) {
      inode.size = 0;
      inode.mtime = this.clock.now;
    }
    return file;
  }

  // ---- set-up helpers used by the kernel and drivers at boot --------------------------------------------
  /** mkdir -p for the kernel (as root). */
  mkdirp(path: string): Inode {
    let dir = this.root;
    for (const part of path.split('/').filter((p) => p !== '')) {
      const next = dir.dirOps?.lookup(dir, part);
      if (next !== undefined) {
        dir = next;
        continue;
      }
      const created = dir.dirOps?.mkdir?.(dir, part, 0o755, { uid: 0, gid: 0 });
      if (created === undefined || typeof created === 'number') throw new Error(`vfs: cannot create directory '${part}' in '${path}'`);
      dir = created;
    }
    return dir;
  }

  /** Graft a file system root at `path` (the directory named by its last component is created or replaced). */
  mount(path: string, fsRoot: Inode): void {
    const slash = path.lastIndexOf('/');
    const parent = this.mkdirp(path.slice(0, slash));
    fsRoot.parent = parent;
    parent.entries.set(path.slice(slash + 1), fsRoot);
  }

  /** Put `inode` at `path` (device nodes). */
  bind(path: string, inode: Inode): void {
    const slash = path.lastIndexOf('/');
    const parent = this.mkdirp(path.slice(0, slash));
    this.rootfs.link(parent, path.slice(slash + 1), inode);
  }

  /** Create or replace a regular file with `content` (kernel set-up: /etc files, fixtures). */
  writeFile(path: string, content: Uint8Array | string, mode = 0o644): Inode {
    const slash = path.lastIndexOf('/');
    const parent = this.mkdirp(path.slice(0, slash));
    const name = path.slice(slash + 1);
    const inode = parent.dirOps?.lookup(parent, name) ?? this.rootfs.create(parent, name, mode, { uid: 0, gid: 0 });
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    inode.data = bytes.slice();
    inode.size = bytes.length;
    inode.mode = S_IFREG | mode;
    return inode;
  }

  /** Register a user program as an executable file at `path` (what execve runs). */
  registerProgram(path: string, program: UserProgram, mode = 0o755): Inode {
    const inode = this.writeFile(path, `#!sim ${path}\n`, mode);
    inode.program = program;
    return inode;
  }
}
