import { DT, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, type UserProgram } from '@ebpf-sim/uapi';
import type { FileOperations } from './file.js';

/** Who is asking: the credentials a directory operation checks. */
export interface Credentials {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Directory behaviour (struct inode_operations for directories). ramfs keeps entries in a map; procfs
 * computes them; bpffs refuses plain file creation. Mutating operations return 0 or -errno.
 */
export interface DirectoryOperations {
  lookup(dir: Inode, name: string): Inode | undefined;
  list(dir: Inode): Array<[string, Inode]>;
  /** Create a regular file; absent means EACCES (Linux: no ->create). */
  create?(dir: Inode, name: string, mode: number, cred: Credentials): Inode | number;
  mkdir?(dir: Inode, name: string, mode: number, cred: Credentials): Inode | number;
  unlink?(dir: Inode, name: string): number;
  rmdir?(dir: Inode, name: string): number;
}

/** An inode: one file-system object. Fields used depend on the type in `mode`. */
export class Inode {
  nlink = 1;
  mtime = 0;
  /** Regular-file contents (size may be less than data.length). */
  data: Uint8Array = new Uint8Array(0);
  size = 0;
  /** Directory entries of ramfs-style directories. */
  readonly entries = new Map<string, Inode>();
  /** The directory containing this one ('..'); the root points to itself. */
  parent: Inode | undefined;
  dirOps: DirectoryOperations | undefined;
  /** A program registered at this path: execve runs it. */
  program: UserProgram | undefined;
  /** Device number for character/block devices (st_rdev). */
  rdev = 0;
  /** Subsystem data (a pipe, a pinned BPF object, a device). */
  privateData: unknown;

  constructor(
    readonly ino: number,
    public mode: number,
    public uid: number,
    public gid: number,
    /** Device number of the file system holding it (st_dev). */
    readonly dev: number,
    /** How files opened on this inode behave. */
    public fops: FileOperations,
  ) {}

  get type(): number {
    return this.mode & S_IFMT;
  }
  get isDir(): boolean {
    return this.type === S_IFDIR;
  }
  get isReg(): boolean {
    return this.type === S_IFREG;
  }

  /** The d_type getdents64 reports. */
  get direntType(): number {
    switch (this.type) {
      case S_IFDIR:
        return DT.DIR;
      case S_IFREG:
        return DT.REG;
      case S_IFIFO:
        return DT.FIFO;
      case S_IFCHR:
        return DT.CHR;
      case S_IFBLK:
        return DT.BLK;
      default:
        return DT.UNKNOWN;
    }
  }
}

/** Allocates inode numbers per file system, deterministically. */
export class InodeAllocator {
  private next = 2;
  constructor(readonly dev: number) {}
  allocate(): number {
    return this.next++;
  }
}
