import { Errno, O, S_IFREG } from '@ebpf-sim/uapi';
import type { File, FileOperations } from './file.js';
import { Inode } from './inode.js';
import { genericLlseek, ramfsFileOps } from './ramfs.js';
import type { Vfs } from './vfs.js';

/**
 * A sysfs binary attribute with a read callback and no write (kernfs): reads give the bytes, an open for
 * writing is refused with EACCES whatever the opener's credentials (kernfs_fop_open: the attribute has no
 * ->write), as `echo x > /sys/kernel/btf/vmlinux` is refused even to root.
 */
const readOnlyAttributeOps: FileOperations = {
  name: 'sysfs',
  open(file: File): number {
    return (file.flags & O.ACCMODE) === O.RDONLY ? 0 : -Errno.EACCES;
  },
  read: (io, file, buffer, count) => ramfsFileOps.read?.(io, file, buffer, count) ?? -Errno.EINVAL,
  llseek: (file, offset, whence) => genericLlseek(file, offset, whence, file.inode.size),
};

/** Files subsystems publish under /sys (sysfs attributes), e.g. the bpf subsystem's /sys/kernel/btf/vmlinux. */
export interface SysfsFiles {
  /** Publish `bytes` at `path` (under /sys) as a read-only file of mode `mode` (root's); publishing again replaces them. */
  addReadOnly(path: string, bytes: Uint8Array, mode?: number): void;
}

/** The sysfs files: inodes bound into the tree at their paths. */
export class Sysfs implements SysfsFiles {
  private ino = 1;

  constructor(
    private readonly vfs: Vfs,
    private readonly dev: number,
  ) {}

  addReadOnly(path: string, bytes: Uint8Array, mode = 0o444): void {
    if (!path.startsWith('/sys/')) throw new Error(`sysfs: '${path}' is not under /sys`);
    const inode = new Inode(this.ino++, S_IFREG | mode, 0, 0, this.dev, readOnlyAttributeOps);
    inode.data = bytes.slice();
    inode.size = bytes.length;
    this.vfs.bind(path, inode);
  }
}
