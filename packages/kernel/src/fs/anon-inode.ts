import { O } from '@ebpf-sim/uapi';
import type { FileDescriptors } from '../services.js';
import type { Task } from '../task/task.js';
import type { File, FileOperations } from './file.js';
import { Inode } from './inode.js';
import type { Vfs } from './vfs.js';

/**
 * anon_inode: files with no path (bpf-map, bpf-prog, bpf-link, ...). One shared inode per kind name, like
 * Linux's single anon inode; the object lives in the File's privateData. Also the descriptor service the
 * bpf subsystem uses to hand such files to user space.
 */
export class AnonInodes implements FileDescriptors {
  private readonly inodes = new Map<string, Inode>();
  private nextIno = 1;

  constructor(
    private readonly vfs: Vfs,
    readonly dev: number,
  ) {}

  /** A new open file `anon_inode:<name>` with `ops` and `privateData`. */
  file(name: string, ops: FileOperations, privateData: unknown, flags: number): File {
    let inode = this.inodes.get(name);
    if (inode === undefined) {
      // Mode 0600 with no file-type bits, as Linux's anon inode reports.
      inode = new Inode(this.nextIno++, 0o600, 0, 0, this.dev, ops);
      this.inodes.set(name, inode);
    }
    const file = this.vfs.newFile(inode, flags, `anon_inode:${name}`, privateData);
    file.ops = ops;
    return file;
  }

  /** anon_inode_getfd: a new anonymous file installed at the lowest free descriptor of `task`: the fd or -EMFILE. */
  installFd(task: Task, name: string, ops: FileOperations, privateData: unknown, flags: number = O.RDWR | O.CLOEXEC): number {
    const file = this.file(name, ops, privateData, flags);
    return task.group.files.install(file, (flags & O.CLOEXEC) !== 0);
  }

  fdget(task: Task, fd: number): File | undefined {
    return task.group.files.get(fd);
  }

  closeFd(task: Task, fd: number): number {
    return task.group.files.close(fd);
  }
}
