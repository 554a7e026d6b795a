import { Errno, O, S_IFDIR, S_IFREG, SEEK_CUR, SEEK_END, SEEK_SET } from '@ebpf-sim/uapi';
import type { DirEntry, File, FileOperations, IoContext } from './file.js';
import { Inode, InodeAllocator, type Credentials, type DirectoryOperations } from './inode.js';

/** The largest regular file ramfs holds (a simulation limit: 64 MiB). */
export const RAMFS_MAX_FILE = 64 * 1024 * 1024;

/** Generic lseek over a file of `size` bytes (SEEK_DATA/SEEK_HOLE treat the file as all data). */
export function genericLlseek(file: File, offset: number, whence: number, size: number): number {
  let position: number;
  switch (whence) {
    case SEEK_SET:
      position = offset;
      break;
    case SEEK_CUR:
      position = file.pos + offset;
      break;
    case SEEK_END:
      position = size + offset;
      break;
    case 3: // SEEK_DATA
      if (offset >= size) return -Errno.ENXIO;
      position = offset;
      break;
    case 4: // SEEK_HOLE
      if (offset >= size) return -Errno.ENXIO;
      position = size;
      break;
    default:
      return -Errno.EINVAL;
  }
  if (position < 0) return -Errno.EINVAL;
  file.pos = position;
  return position;
}

/** Regular files held in memory. */
export const ramfsFileOps: FileOperations = {
  name: 'ramfs',
  read(_io: IoContext, file: File, buffer: Uint8Array, count: number): number {
    const inode = file.inode;
    if (file.pos >= inode.size) return 0;
    const n = Math.min(count, inode.size - file.pos);
    buffer.set(inode.data.subarray(file.pos, file.pos + n));
    file.pos += n;
    return n;
  },
  write(io: IoContext, file: File, data: Uint8Array, count: number): number {
    const inode = file.inode;
    if ((file.flags & O.APPEND) !== 0) file.pos = inode.size;
    const end = file.pos + count;
    if (end > RAMFS_MAX_FILE) return -Errno.EFBIG;
    if (end > inode.data.length) {
      const grown = new Uint8Array(Math.max(end, inode.data.length * 2, 256));
      grown.set(inode.data.subarray(0, inode.size));
      inode.data = grown;
    }
    inode.data.set(data.subarray(0, count), file.pos);
    file.pos = end;
    if (end > inode.size) inode.size = end;
    inode.mtime = io.now;
    return count;
  },
  llseek(file: File, offset: number, whence: number): number {
    return genericLlseek(file, offset, whence, file.inode.size);
  },
};

/** Directories: getdents64 lists '.', '..' and the entries. */
export const directoryFileOps: FileOperations = {
  name: 'dir',
  readdir(file: File): readonly DirEntry[] {
    const dir = file.inode;
    const entries: DirEntry[] = [
      { name: '.', inode: dir },
      { name: '..', inode: dir.parent ?? dir },
    ];
    for (const [name, inode] of dir.dirOps?.list(dir) ?? []) entries.push({ name, inode });
    return entries;
  },
  llseek(file: File, offset: number, whence: number): number {
    return whence === SEEK_SET && offset >= 0 ? (file.pos = offset) : -Errno.EINVAL;
  },
};

/** An in-memory file system: the root file system and /tmp-like trees. */
export class Ramfs implements DirectoryOperations {
  private readonly inodes: InodeAllocator;

  constructor(
    readonly dev: number,
    private readonly clock: { readonly now: number },
  ) {
    this.inodes = new InodeAllocator(dev);
  }

  /** A new root directory of this file system. */
  makeRoot(mode = 0o755): Inode {
    const root = new Inode(1, S_IFDIR | mode, 0, 0, this.dev, directoryFileOps);
    root.dirOps = this;
    root.parent = root;
    root.nlink = 2;
    return root;
  }

  lookup(dir: Inode, name: string): Inode | undefined {
    return dir.entries.get(name);
  }

  list(dir: Inode): Array<[string, Inode]> {
    return [...dir.entries];
  }

  create(dir: Inode, name: string, mode: number, cred: Credentials): Inode {
    const inode = new Inode(this.inodes.allocate(), S_IFREG | (mode & 0o7777), cred.uid, cred.gid, this.dev, ramfsFileOps);
    inode.mtime = this.clock.now;
    dir.entries.set(name, inode);
    dir.mtime = this.clock.now;
    return inode;
  }

  mkdir(dir: Inode, name: string, mode: number, cred: Credentials): Inode {
    const inode = new Inode(this.inodes.allocate(), S_IFDIR | (mode & 0o7777), cred.uid, cred.gid, this.dev, directoryFileOps);
    inode.dirOps = this;
    inode.parent = dir;
    inode.nlink = 2;
    inode.mtime = this.clock.now;
    dir.entries.set(name, inode);
    dir.nlink++;
    return inode;
  }

  /** Add any inode (a device node, a mount point) under `name`. */
  link(dir: Inode, name: string, inode: Inode): void {
    dir.entries.set(name, inode);
    if (inode.isDir && inode.parent === undefined) inode.parent = dir;
  }

  /** A fresh inode number on this file system (for device nodes created by drivers). */
  allocateIno(): number {
    return this.inodes.allocate();
  }

  unlink(dir: Inode, name: string): number {
    const inode = dir.entries.get(name);
    if (inode === undefined) return -Errno.ENOENT;
    if (inode.isDir) return -Errno.EISDIR;
    dir.entries.delete(name);
    inode.nlink--;
    return 0;
  }

  rmdir(dir: Inode, name: string): number {
    const inode = dir.entries.get(name);
    if (inode === undefined) return -Errno.ENOENT;
    if (!inode.isDir) return -Errno.ENOTDIR;
    if ((inode.dirOps?.list(inode).length ?? 0) > 0) return -Errno.ENOTEMPTY;
    dir.entries.delete(name);
    dir.nlink--;
    return 0;
  }
}
