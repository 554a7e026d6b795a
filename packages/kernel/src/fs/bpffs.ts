import { Errno, O, S_IFREG } from '@ebpf-sim/uapi';
import type { Pinning } from '../services.js';
import type { Task } from '../task/task.js';
import type { FileOperations } from './file.js';
import { Inode, type Credentials, type DirectoryOperations } from './inode.js';
import { Ramfs } from './ramfs.js';
import { MAY_EXEC, MAY_READ, MAY_WRITE, permission, type Vfs } from './vfs.js';

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
    const inode = dir.entries.get(name);
    const ret = this.tree.unlink(dir, name);
    // The pin held a reference on its object; the last link going drops it (bpf_free_inode).
    if (ret === 0 && inode !== undefined && inode.nlink === 0 && inode.privateData !== undefined) {
      const object = inode.privateData;
      inode.privateData = undefined;
      inode.fops.unpin?.(object);
    }
    return ret;
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

/**
 * BPF_OBJ_PIN and BPF_OBJ_GET by path, as bpf_obj_do_pin and bpf_obj_do_get do them: the path is resolved
 * from the caller's cwd with the caller's credentials; pinning creates the last component, which must not
 * exist, in a bpffs directory (EPERM elsewhere); getting checks the open's access against the mode and that
 * the inode holds a pinned object (EACCES otherwise).
 */
export class BpfPinning implements Pinning {
  constructor(
    private readonly vfs: Vfs,
    private readonly bpffs: Bpffs,
  ) {}

  pin(task: Task, path: string, object: unknown, fops: FileOperations): number {
    const group = task.group;
    const parent = this.vfs.lookupParent(group.cwd, path, group.cred);
    if (typeof parent === 'number') return parent;
    const { dir, name } = parent;
    // filename_create: '.' and '..' cannot be created; a trailing slash asks for a directory.
    if (name === '.' || name === '..' || dir.dirOps?.lookup(dir, name) !== undefined) return -Errno.EEXIST;
    if (parent.trailingSlash) return -Errno.ENOENT;
    if (dir.dirOps !== this.bpffs) return -Errno.EPERM;
    if (!permission(dir, group.cred, MAY_WRITE | MAY_EXEC)) return -Errno.EACCES;
    const inode = this.bpffs.pin(dir, name, object, fops, group.cred);
    return typeof inode === 'number' ? inode : 0;
  }

  get(task: Task, path: string, accessMode: number): Inode | number {
    const group = task.group;
    const inode = this.vfs.lookup(group.cwd, path, group.cred);
    if (typeof inode === 'number') return inode;
    const mode = accessMode & O.ACCMODE;
    const want = mode === O.RDONLY ? MAY_READ : mode === O.WRONLY ? MAY_WRITE : MAY_READ | MAY_WRITE;
    if (!permission(inode, group.cred, want)) return -Errno.EACCES;
    // bpf_inode_type: only inodes made by pin hold an object.
    if (inode.dev !== this.bpffs.dev || !inode.isReg || inode.privateData === undefined) return -Errno.EACCES;
    return inode;
  }
}
