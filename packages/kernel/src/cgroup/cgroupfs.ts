/**
 * cgroupfs (cgroup2), mounted at /sys/fs/cgroup: one directory per cgroup with its interface files, mkdir to
 * create a child cgroup, rmdir to remove an empty one (EBUSY with tasks or children, as cgroup_destroy_locked).
 *
 * Interface files are kernfs nodes: a directory and its files take inode numbers in Linux's order
 * (cgroup_base_files, then the cpu.stat and PSI files), the root skipping the CFTYPE_NOT_ON_ROOT ones. Files this
 * model does not have (freeze, kill, the statistics and pressure files) still take their numbers, so cgroup ids
 * (directory inode numbers) are the ones Linux 6.18 gives on a machine that just booted: the root 1, its first
 * child 15, that child's first child 34 (recorded on this machine: a child of the root got inode N and its files
 * N+1..N+18, root files 2..14).
 */
import { Errno, O, S_IFDIR, S_IFREG } from '@ebpf-sim/uapi';
import type { File, FileOperations, IoContext } from '../fs/file.js';
import { Inode, type Credentials, type DirectoryOperations } from '../fs/inode.js';
import { snapshotFileOps } from '../fs/procfs.js';
import { directoryFileOps } from '../fs/ramfs.js';
import type { Task, ThreadGroup } from '../task/task.js';
import { TaskState } from '../task/task.js';
import type { Cgroup, CgroupHierarchy } from './cgroup.js';

/** What cgroupfs needs of the kernel: the processes by tgid, and the task writing. */
export interface CgroupfsSource {
  readonly groups: ReadonlyMap<number, ThreadGroup>;
  currentTask(): Task | undefined;
}

/** One interface file: its text, and what a write does (0 or -errno); `notOnRoot`: CFTYPE_NOT_ON_ROOT. */
interface CgroupFileType {
  readonly name: string;
  readonly mode: number;
  readonly notOnRoot?: boolean;
  /** Absent: the file exists in Linux but not in this model (its inode number is still taken). */
  readonly show?: (cgroup: Cgroup, source: CgroupfsSource) => string;
  readonly write?: (cgroup: Cgroup, text: string, fs: Cgroupfs) => number;
}

/** Live processes with a thread in `cgroup`, ascending (Linux lists them in css_set order). */
function procs(cgroup: Cgroup): number[] {
  const tgids = new Set<number>();
  for (const task of cgroup.tasks) tgids.add(task.tgid);
  return [...tgids].sort((a, b) => a - b);
}

/** cgroup_base_files and the files after them, in Linux 6.18's creation order. */
const CGROUP_FILES: readonly CgroupFileType[] = [
  { name: 'cgroup.type', mode: 0o644, notOnRoot: true, show: () => 'domain\n' },
  {
    name: 'cgroup.procs',
    mode: 0o644,
    show: (cgroup) =>
      procs(cgroup)
        .map((pid) => `${pid}\n`)
        .join(''),
    write: (cgroup, text, fs) => fs.writeProcs(cgroup, text),
  },
  {
    name: 'cgroup.threads',
    mode: 0o644,
    show: (cgroup) =>
      [...cgroup.tasks]
        .map((task) => task.pid)
        .sort((a, b) => a - b)
        .map((pid) => `${pid}\n`)
        .join(''),
  },
  // No controllers are modelled: both lists are empty (an empty file, as Linux prints an empty mask).
  { name: 'cgroup.controllers', mode: 0o444, show: () => '' },
  { name: 'cgroup.subtree_control', mode: 0o644, show: () => '' },
  { name: 'cgroup.events', mode: 0o444, notOnRoot: true, show: (cgroup) => `populated ${cgroup.populated ? 1 : 0}\nfrozen 0\n` },
  { name: 'cgroup.max.descendants', mode: 0o644, show: () => 'max\n' },
  { name: 'cgroup.max.depth', mode: 0o644, show: () => 'max\n' },
  { name: 'cgroup.stat', mode: 0o444, show: (cgroup) => `nr_descendants ${[...cgroup.descendantsPre()].length - 1}\nnr_dying_descendants 0\n` },
  { name: 'cgroup.stat.local', mode: 0o444, notOnRoot: true },
  { name: 'cgroup.freeze', mode: 0o644, notOnRoot: true },
  { name: 'cgroup.kill', mode: 0o200, notOnRoot: true },
  { name: 'cpu.stat', mode: 0o444 },
  { name: 'cpu.stat.local', mode: 0o444 },
  { name: 'io.pressure', mode: 0o644 },
  { name: 'memory.pressure', mode: 0o644 },
  { name: 'cpu.pressure', mode: 0o644 },
  { name: 'cgroup.pressure', mode: 0o644 },
];

/** An open interface file: its text snapshotted at open (seq_file), writes handed to the file type. */
const cgroupFileOps: FileOperations = {
  ...snapshotFileOps,
  name: 'cgroup',
  open(file: File): number {
    const { type, cgroup, fs } = file.inode.privateData as CgroupFileData;
    if ((file.flags & O.ACCMODE) !== O.WRONLY) file.privateData = new TextEncoder().encode(type.show?.(cgroup, fs.source) ?? '');
    else file.privateData = new Uint8Array(0);
    return 0;
  },
  write(_io: IoContext, file: File, data: Uint8Array, count: number): number {
    const { type, cgroup, fs } = file.inode.privateData as CgroupFileData;
    if (type.write === undefined) return -Errno.EINVAL;
    const ret = type.write(cgroup, new TextDecoder().decode(data.subarray(0, count)), fs);
    return ret < 0 ? ret : count;
  },
};

interface CgroupFileData {
  readonly type: CgroupFileType;
  readonly cgroup: Cgroup;
  readonly fs: Cgroupfs;
}

/** The cgroup2 file system. */
export class Cgroupfs implements DirectoryOperations {
  readonly root: Inode;
  private nextIno = 1;
  /** Each cgroup's directory, and each directory's cgroup. */
  private readonly dirs = new Map<Cgroup, Inode>();

  constructor(
    readonly dev: number,
    readonly hierarchy: (fs: Cgroupfs, rootIno: number) => CgroupHierarchy,
    readonly source: CgroupfsSource,
    private readonly clock: { readonly now: number },
  ) {
    const rootIno = this.nextIno++;
    this.cgroups = hierarchy(this, rootIno);
    this.cgroups.fromFile = (file) => this.cgroupOfInode(file.inode);
    this.root = this.makeDir(this.cgroups.root, rootIno, { uid: 0, gid: 0 }, 0o755);
    this.root.parent = this.root;
  }

  /** The hierarchy this file system shows. */
  readonly cgroups: CgroupHierarchy;

  /** The directory of `cgroup`, while it is online. */
  dirOf(cgroup: Cgroup): Inode | undefined {
    return this.dirs.get(cgroup);
  }

  /** The cgroup a directory of this file system is (cgroup_v1v2_get_from_file's kernfs check), else undefined. */
  cgroupOfInode(inode: Inode): Cgroup | undefined {
    if (inode.dev !== this.dev || !inode.isDir) return undefined;
    const cgroup = inode.privateData as Cgroup | undefined;
    return cgroup?.online === true ? cgroup : undefined;
  }

  lookup(dir: Inode, name: string): Inode | undefined {
    return dir.entries.get(name);
  }

  list(dir: Inode): Array<[string, Inode]> {
    return [...dir.entries];
  }

  /** cgroup_mkdir: EEXIST for a taken name; the new cgroup's id is its directory's inode number. */
  mkdir(dir: Inode, name: string, mode: number, cred: Credentials): Inode | number {
    const parent = this.cgroupOfInode(dir);
    if (parent === undefined) return -Errno.ENOENT;
    if (dir.entries.has(name)) return -Errno.EEXIST;
    const ino = this.nextIno++;
    const cgroup = this.cgroups.mkdir(parent, name, ino);
    const inode = this.makeDir(cgroup, ino, cred, mode & 0o7777);
    inode.parent = dir;
    dir.entries.set(name, inode);
    dir.nlink++;
    dir.mtime = this.clock.now;
    return inode;
  }

  /** cgroup_rmdir: only cgroup directories; EBUSY while populated or with children; its files go with it. */
  rmdir(dir: Inode, name: string): number {
    const inode = dir.entries.get(name);
    if (inode === undefined) return -Errno.ENOENT;
    const cgroup = this.cgroupOfInode(inode);
    if (cgroup === undefined) return -Errno.ENOTDIR;
    const ret = this.cgroups.rmdir(cgroup);
    if (ret !== 0) return ret;
    dir.entries.delete(name);
    dir.nlink--;
    this.dirs.delete(cgroup);
    return 0;
  }

  /** Interface files cannot be removed or created (kernfs has no ->unlink / ->create for them). */
  unlink(dir: Inode, name: string): number {
    return dir.entries.has(name) ? -Errno.EPERM : -Errno.ENOENT;
  }

  /**
   * cgroup_procs_write: a decimal pid (0: the writer's process), its whole thread group moved to `cgroup`.
   * EINVAL for text that is not a number, ESRCH for no such process.
   */
  writeProcs(cgroup: Cgroup, text: string): number {
    const trimmed = text.trim();
    if (!/^[0-9]+$/.test(trimmed)) return -Errno.EINVAL;
    const pid = Number(trimmed);
    const writer = this.source.currentTask();
    const group = pid === 0 ? writer?.group : this.source.groups.get(pid);
    if (group === undefined || group.zombie || group.threads.every((t) => t.state === TaskState.ZOMBIE || t.state === TaskState.DEAD)) return -Errno.ESRCH;
    return this.cgroups.attachProcess(group, cgroup);
  }

  private makeDir(cgroup: Cgroup, ino: number, cred: Credentials, mode: number): Inode {
    const dir = new Inode(ino, S_IFDIR | mode, cred.uid, cred.gid, this.dev, directoryFileOps);
    dir.dirOps = this;
    dir.nlink = 2;
    dir.mtime = this.clock.now;
    dir.privateData = cgroup;
    const isRoot = cgroup.parent === undefined;
    for (const type of CGROUP_FILES) {
      if (isRoot && type.notOnRoot === true) continue;
      const fileIno = this.nextIno++;
      if (type.show === undefined) continue;
      const file = new Inode(fileIno, S_IFREG | type.mode, cred.uid, cred.gid, this.dev, cgroupFileOps);
      file.privateData = { type, cgroup, fs: this } satisfies CgroupFileData;
      file.mtime = this.clock.now;
      dir.entries.set(type.name, file);
    }
    this.dirs.set(cgroup, dir);
    return dir;
  }
}
