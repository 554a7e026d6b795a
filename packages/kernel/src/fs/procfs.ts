import { Errno, S_IFDIR, S_IFREG } from '@ebpf-sim/uapi';
import type { File, FileOperations, IoContext } from './file.js';
import { Inode, type DirectoryOperations } from './inode.js';
import { directoryFileOps, genericLlseek } from './ramfs.js';

/** What procfs needs from the task table. */
export interface ProcSource {
  /** Thread-group ids of live (and zombie) processes, ascending. */
  tgids(): number[];
  /** The text of /proc/<pid>/<name>, or undefined when that process or file does not exist. */
  render(pid: number, name: ProcFileName): string | undefined;
  /** tgid of the task doing the lookup ("/proc/self"). */
  currentTgid(): number;
  /** The open descriptors of process `pid` in increasing order, or undefined when it does not exist. */
  fds(pid: number): readonly number[] | undefined;
  /** The text of /proc/<pid>/fdinfo/<fd>, or undefined when that process or descriptor does not exist. */
  fdinfo(pid: number, fd: number): string | undefined;
}

export const PROC_FILES = ['comm', 'status', 'cgroup'] as const;
export type ProcFileName = (typeof PROC_FILES)[number];

/** Reading and seeking a file whose text its `open` put in `file.privateData` (a Uint8Array). */
export const snapshotFileOps = {
  read(_io: IoContext, file: File, buffer: Uint8Array, count: number): number {
    const text = file.privateData as Uint8Array;
    if (file.pos >= text.length) return 0;
    const n = Math.min(count, text.length - file.pos);
    buffer.set(text.subarray(file.pos, file.pos + n));
    file.pos += n;
    return n;
  },
  llseek(file: File, offset: number, whence: number): number {
    return genericLlseek(file, offset, whence, (file.privateData as Uint8Array).length);
  },
} satisfies Partial<FileOperations>;

/**
 * A procfs file whose text `render` generates when it is opened (a snapshot, like seq_file at open) from the
 * inode's private data; `gone` is the errno when there is nothing to render any more.
 */
function renderedFileOps<T>(render: (data: T) => string | undefined, gone: number): FileOperations {
  return {
    ...snapshotFileOps,
    name: 'proc',
    open(file: File): number {
      const text = render(file.inode.privateData as T);
      if (text === undefined) return -gone;
      file.privateData = new TextEncoder().encode(text);
      return 0;
    },
  };
}

/** /proc/<pid>/<name>. */
const procFileOps = renderedFileOps<{ source: ProcSource; pid: number; name: ProcFileName }>(({ source, pid, name }) => source.render(pid, name), Errno.ESRCH);

/** The name of the per-process directory of descriptor information (one file per open fd). */
const FDINFO_DIR = 'fdinfo';

/** /proc/<pid>/fdinfo/<fd> (fs/proc/fd.c seq_show). */
const fdinfoFileOps = renderedFileOps<{ source: ProcSource; pid: number; fd: number }>(({ source, pid, fd }) => source.fdinfo(pid, fd), Errno.ENOENT);

/**
 * /proc: one directory per process with `comm`, `status` and `fdinfo/`, plus `self`, and the subtrees added
 * with `add` (`sys`).
 */
export class Procfs implements DirectoryOperations {
  readonly root: Inode;
  /** Entries of the root that are not processes (`sys`), by name. */
  private readonly fixed = new Map<string, Inode>();

  constructor(
    readonly dev: number,
    private readonly source: ProcSource,
  ) {
    this.root = new Inode(1, S_IFDIR | 0o555, 0, 0, dev, directoryFileOps);
    this.root.dirOps = this;
  }

  /** Add a subtree under /proc (the root of another file system's tree, e.g. /proc/sys). */
  add(name: string, inode: Inode): void {
    inode.parent = this.root;
    this.fixed.set(name, inode);
  }

  lookup(dir: Inode, name: string): Inode | undefined {
    if (dir === this.root) {
      const fixed = this.fixed.get(name);
      if (fixed !== undefined) return fixed;
      const pid = name === 'self' ? this.source.currentTgid() : /^[1-9][0-9]*$/.test(name) ? Number(name) : -1;
      if (pid < 0 || !this.source.tgids().includes(pid)) return undefined;
      return this.pidDir(pid);
    }
    if (dir.dirOps === this.fdinfoDirOps) return this.fdinfoFile(dir, name);
    const pid = dir.privateData as number;
    if (name === FDINFO_DIR) return this.fdinfoDir(dir, pid);
    if (!(PROC_FILES as readonly string[]).includes(name)) return undefined;
    const inode = new Inode(pid * 16 + 2 + PROC_FILES.indexOf(name as ProcFileName), S_IFREG | 0o444, 0, 0, this.dev, procFileOps);
    inode.privateData = { source: this.source, pid, name };
    inode.parent = dir;
    return inode;
  }

  list(dir: Inode): Array<[string, Inode]> {
    if (dir === this.root) return [...this.fixed, ...this.source.tgids().map((pid): [string, Inode] => [String(pid), this.pidDir(pid)])];
    if (dir.dirOps === this.fdinfoDirOps) {
      const pid = (dir.privateData as { pid: number }).pid;
      return (this.source.fds(pid) ?? []).map((fd): [string, Inode] => [String(fd), this.fdinfoFile(dir, String(fd)) as Inode]);
    }
    const entries: Array<[string, Inode]> = PROC_FILES.map((name) => [name, this.lookup(dir, name) as Inode]);
    entries.push([FDINFO_DIR, this.fdinfoDir(dir, dir.privateData as number)]);
    return entries;
  }

  /** The directory operations of every fdinfo directory (their lookups and listings come back here). */
  private readonly fdinfoDirOps: DirectoryOperations = {
    lookup: (dir, name) => this.lookup(dir, name),
    list: (dir) => this.list(dir),
  };

  private fdinfoDir(parent: Inode, pid: number): Inode {
    const dir = new Inode(pid * 16 + 2 + PROC_FILES.length, S_IFDIR | 0o500, 0, 0, this.dev, directoryFileOps);
    dir.dirOps = this.fdinfoDirOps;
    dir.parent = parent;
    dir.privateData = { pid };
    return dir;
  }

  private fdinfoFile(dir: Inode, name: string): Inode | undefined {
    const pid = (dir.privateData as { pid: number }).pid;
    const fd = /^(0|[1-9][0-9]*)$/.test(name) ? Number(name) : -1;
    if (fd < 0 || !(this.source.fds(pid) ?? []).includes(fd)) return undefined;
    // Inode numbers below 16 per process are its fixed entries; descriptors get their own range.
    const inode = new Inode(0x4000_0000 + pid * 0x1_0000 + fd, S_IFREG | 0o444, 0, 0, this.dev, fdinfoFileOps);
    inode.privateData = { source: this.source, pid, fd };
    inode.parent = dir;
    return inode;
  }

  private pidDir(pid: number): Inode {
    const dir = new Inode(pid * 16 + 1, S_IFDIR | 0o555, 0, 0, this.dev, directoryFileOps);
    dir.dirOps = this;
    dir.parent = this.root;
    dir.privateData = pid;
    return dir;
  }
}
