import { Errno, S_IFREG } from '@ebpf-sim/uapi';
import type { FileOperations } from './file.js';
import { Inode, type Credentials, type DirectoryOperations } from './inode.js';
import { Ramfs } from './ramfs.js';

/**
 * The BPF file system mounted at /sys/fs/bpf. Directories can be made and entries unlinked as in Linux, but
 * a plain open(O_CREAT) fails with EACCES (bpffs has no ->create): objects appear only through `pin`, which
 * the bpf subsystem calls for BPF_OBJ_PIN.
 */
export class Bpffs implements DirectoryOperations {
  readonly root: Inode;
  private readonly tree: Ramfs;

  constructor(
    readonly dev: number,
    clock: { readonly now: number },
  ) {
    this.tree = new Ramfs(dev, clock);
    this.root = this.tree.makeRoot(0o700);
    this.root.dirOps = this;
  }

  lookup(dir: Inode, name: string): Inode | undefined {
    return dir.entries.get(name);
  }

  list(dir: Inode): Array<[string, Inode]> {
    return [...dir.entries];
  }

  mkdir(dir: Inode, name: string, mode: number, cred: Credentials): Inode | number {
    if (dir.entries.has(name)) return -Errno.EEXIST;
    const created = this.tree.mkdir(dir, name, mode, cred);
    created.dirOps = this;
    return created;
  }

  unlink(dir: Inode, name: string): number {
    return this.tree.unlink(dir, name);
  }

  rmdir(dir: Inode, name: string): number {
    return this.tree.rmdir(dir, name);
  }

  /**
   * Pin an object under `dir` as `name`: the inode carries `object` (the map, program or link) in
   * privateData and opens with `fops`. Returns the inode or -EEXIST.
   */
  pin(dir: Inode, name: string, object: unknown, fops: FileOperations, cred: Credentials, mode = 0o600): Inode | number {
    if (!dir.isDir) return -Errno.ENOTDIR;
    if (dir.entries.has(name)) return -Errno.EEXIST;
    const inode = new Inode(this.tree.allocateIno(), S_IFREG | mode, cred.uid, cred.gid, this.dev, fops);
    inode.privateData = object;
    dir.entries.set(name, inode);
    return inode;
  }
}
