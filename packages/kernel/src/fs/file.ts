import type { WaitQueue } from '../sched/wait.js';
import type { Task } from '../task/task.js';
import type { Inode } from './inode.js';

/** Who is doing the I/O: lets an operation block the caller (see sched/wait.ts) or read the clock. */
export interface IoContext {
  /** Put the calling task to sleep on `queue`; the operation then returns BLOCKED. */
  sleepOn(queue: WaitQueue): void;
  /** Send a signal to the calling task (SIGPIPE on a broken pipe). */
  signalSelf(sig: number): void;
  /** Sleep until virtual time `time` (device latency); returns BLOCKED's companion: the caller returns BLOCKED. */
  sleepUntil(time: number): void;
  /** Virtual time now, ns. */
  readonly now: number;
  /** Per-call progress the operation may keep across restarts (bytes already transferred, a deadline). */
  progress: number;
}

/**
 * poll_table: what a file's poll hands its wait queues to (poll_wait). epoll registers a persistent entry on
 * each queue at EPOLL_CTL_ADD; a poll that only asks for the mask passes none.
 */
export interface PollTable {
  wait(queue: WaitQueue): void;
}

/** Something to tell when a file's last reference goes (eventpoll_release: epoll drops the items watching it). */
export interface FileReleaseWatch {
  fileReleased(file: File): void;
}

/** One directory entry as getdents64 reports it. */
export interface DirEntry {
  readonly name: string;
  readonly inode: Inode;
}

/**
 * What a file does (struct file_operations). Every handle user space holds is a File with these ops: regular
 * files, directories, pipes, devices, procfs entries and the anonymous inodes the bpf subsystem installs.
 * Each method returns a byte count or offset, or -errno, or BLOCKED after `io.sleepOn`.
 */
export interface FileOperations {
  /** Short name shown in /proc and used to recognise a file's kind (e.g. 'pipe', 'bpf-map'). */
  readonly name: string;
  /** Called when the file is opened (procfs snapshots its text here); 0 or -errno. */
  open?(file: File): number;
  read?(io: IoContext, file: File, buffer: Uint8Array, count: number): number;
  write?(io: IoContext, file: File, data: Uint8Array, count: number): number;
  /** Seek; absent means ESPIPE. */
  llseek?(file: File, offset: number, whence: number): number;
  /**
   * ioctl(2) on the file (f_op->unlocked_ioctl): `cmd` and its argument register `arg` (often a user pointer,
   * read through `task`'s memory); the result or -errno. Absent: ENOTTY, as vfs_ioctl answers.
   */
  ioctl?(task: Task, file: File, cmd: number, arg: number): number;
  /**
   * f_op->poll: the file's ready mask (EPOLL* bits), handing the wait queues its readiness changes are
   * announced on to `table` when there is one. Absent: the file cannot be polled (epoll_ctl: EPERM).
   */
  poll?(file: File, table: PollTable | null): number;
  /** The directory's entries (getdents64); absent means ENOTDIR. */
  readdir?(file: File): readonly DirEntry[];
  /** The last reference was closed. */
  release?(file: File): void;
  /**
   * mmap of the file (f_op->mmap): the physical address of each page backing `pages` pages from page offset
   * `pgoff`, or -errno (EINVAL for a range the object does not have, EACCES/EPERM for a protection it refuses).
   * The pages stay the object's (munmap and exit do not free them); the mapping holds a reference on the file
   * until it is unmapped. A page may appear twice (a ring buffer maps its data area twice).
   */
  mmap?(file: File, pgoff: number, pages: number, prot: number, flags: number): readonly number[] | number;
  /**
   * The object's lines of /proc/<pid>/fdinfo/<fd> after the file's own `pos`, `flags`, `mnt_id` and `ino`
   * (f_op->show_fdinfo), each ending in a newline.
   */
  showFdinfo?(file: File): string;
  /**
   * bpffs: the last link to an inode pinning `object` went (Linux's bpf_free_inode → bpf_any_put), so the
   * pin's reference on the object is dropped.
   */
  unpin?(object: unknown): void;
}

/** An open file description (struct file): shared by dup'ed descriptors and across fork. */
export class File {
  /** Descriptors referring to this file. */
  refs = 0;
  pos = 0;

  constructor(
    readonly id: number,
    readonly inode: Inode,
    public ops: FileOperations,
    /** O_* flags given at open (access mode, O_APPEND, O_NONBLOCK). */
    public flags: number,
    /** The path it was opened by, or the anon-inode name like 'anon_inode:bpf-map'. */
    readonly path: string,
    /** The owning subsystem's object (a pipe, a BPF map). */
    public privateData: unknown = undefined,
  ) {}

  /** The epoll instances watching this file (f_ep), told when it is released; undefined while there are none. */
  releaseWatches: FileReleaseWatch[] | undefined = undefined;
}

/** The last reference to an open file went (fput's final __fput): its kind's release runs. */
export function releaseFile(file: File): void {
  const watches = file.releaseWatches;
  if (watches !== undefined) for (const watch of [...watches]) watch.fileReleased(file);
  file.ops.release?.(file);
}
