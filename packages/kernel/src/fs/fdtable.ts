import { Errno, NR_OPEN_DEFAULT } from '@ebpf-sim/uapi';
import type { File } from './file.js';

/**
 * A process's descriptor table (struct files_struct): descriptor numbers to open files, with the
 * close-on-exec bit. New descriptors take the lowest free number, as POSIX requires.
 */
export class FdTable {
  private readonly files: Array<File | undefined> = [];
  private readonly cloexec: boolean[] = [];
  /** Tasks sharing the table (CLONE_FILES). */
  users = 1;

  constructor(
    private readonly release: (file: File) => void,
    readonly limit = NR_OPEN_DEFAULT,
  ) {}

  get(fd: number): File | undefined {
    return this.files[fd];
  }

  /** Install `file` at the lowest free descriptor ≥ `minimum`: the descriptor, or -EMFILE. */
  install(file: File, closeOnExec: boolean, minimum = 0): number {
    let fd = minimum;
    while (fd < this.files.length && this.files[fd] !== undefined) fd++;
    if (fd >= this.limit) return -Errno.EMFILE;
    this.files[fd] = file;
    this.cloexec[fd] = closeOnExec;
    file.refs++;
    return fd;
  }

  /** dup2/dup3: put `file` at `fd`, closing what was there. */
  installAt(fd: number, file: File, closeOnExec: boolean): number {
    if (fd >= this.limit) return -Errno.EBADF;
    file.refs++;
    const old = this.files[fd];
    this.files[fd] = file;
    this.cloexec[fd] = closeOnExec;
    if (old !== undefined) this.drop(old);
    return fd;
  }

  close(fd: number): number {
    const file = this.files[fd];
    if (file === undefined) return -Errno.EBADF;
    this.files[fd] = undefined;
    this.cloexec[fd] = false;
    this.drop(file);
    return 0;
  }

  /** Whether `fd` is closed on execve (FD_CLOEXEC). */
  isCloseOnExec(fd: number): boolean {
    return this.cloexec[fd] === true;
  }

  /** Open descriptors in increasing order. */
  entries(): Array<[number, File]> {
    const result: Array<[number, File]> = [];
    this.files.forEach((file, fd) => {
      if (file !== undefined) result.push([fd, file]);
    });
    return result;
  }

  get openCount(): number {
    return this.files.reduce((n, file) => n + (file === undefined ? 0 : 1), 0);
  }

  /** fork: a copy sharing the open files (each gains a reference). */
  duplicate(): FdTable {
    const copy = new FdTable(this.release, this.limit);
    this.files.forEach((file, fd) => {
      if (file !== undefined) copy.installAt(fd, file, this.cloexec[fd] === true);
    });
    return copy;
  }

  /** execve: close the O_CLOEXEC descriptors. */
  closeOnExec(): void {
    this.files.forEach((file, fd) => {
      if (file !== undefined && this.cloexec[fd] === true) this.close(fd);
    });
  }

  closeAll(): void {
    this.files.forEach((file, fd) => {
      if (file !== undefined) this.close(fd);
    });
  }

  private drop(file: File): void {
    file.refs--;
    if (file.refs === 0) this.release(file);
  }
}
