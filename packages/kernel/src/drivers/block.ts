import { Errno, S_IFBLK } from '@ebpf-sim/uapi';
import type { BlockConfig } from '../config.js';
import type { File, FileOperations, IoContext } from '../fs/file.js';
import { Inode } from '../fs/inode.js';
import { genericLlseek } from '../fs/ramfs.js';
import { BLOCKED } from '../sched/wait.js';
import { makedev } from './chardev.js';

/** Counters of a block device. */
export interface BlockStats {
  reads: number;
  writes: number;
  bytesRead: number;
  bytesWritten: number;
  /** Sum of request latencies (queueing + service), ns. */
  latencyNs: number;
}

/**
 * A RAM-backed disk with request latency: each read or write is one request served in order; it completes
 * after the fixed latency plus the transfer time, after the requests queued before it. The caller sleeps
 * until then (the data moves at completion).
 */
export class BlockDevice {
  readonly data: Uint8Array;
  readonly stats: BlockStats = { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, latencyNs: 0 };
  private busyUntil = 0;
  readonly inode: Inode;

  constructor(
    readonly config: BlockConfig,
    minor: number,
    dev: number,
    ino: number,
  ) {
    this.data = new Uint8Array(config.sizeBytes);
    this.inode = new Inode(ino, S_IFBLK | 0o660, 0, 0, dev, this.ops);
    this.inode.rdev = makedev(253, minor);
    this.inode.size = config.sizeBytes;
  }

  /** Completion time of a request of `bytes` submitted now. */
  private submit(now: number, bytes: number): number {
    const start = Math.max(now, this.busyUntil);
    const done = start + this.config.latencyNs + Math.ceil((bytes * 1e9) / this.config.bytesPerSecond);
    this.busyUntil = done;
    this.stats.latencyNs += done - now;
    return done;
  }

  /** Block until the request completes: the first call submits and sleeps; the restart finds it done. */
  private wait(io: IoContext, bytes: number): boolean {
    if (io.progress === 0) {
      io.progress = this.submit(io.now, bytes);
      io.sleepUntil(io.progress);
      return false;
    }
    if (io.now < io.progress) {
      io.sleepUntil(io.progress);
      return false;
    }
    return true;
  }

  readonly ops: FileOperations = {
    name: 'block',
    read: (io: IoContext, file: File, buffer: Uint8Array, count: number): number => {
      const n = Math.max(0, Math.min(count, this.data.length - file.pos));
      if (n === 0) return 0;
      if (!this.wait(io, n)) return BLOCKED;
      buffer.set(this.data.subarray(file.pos, file.pos + n));
      file.pos += n;
      this.stats.reads++;
      this.stats.bytesRead += n;
      return n;
    },
    write: (io: IoContext, file: File, data: Uint8Array, count: number): number => {
      if (file.pos >= this.data.length) return -Errno.ENOSPC;
      const n = Math.min(count, this.data.length - file.pos);
      if (!this.wait(io, n)) return BLOCKED;
      this.data.set(data.subarray(0, n), file.pos);
      file.pos += n;
      this.stats.writes++;
      this.stats.bytesWritten += n;
      return n;
    },
    llseek: (file: File, offset: number, whence: number): number => genericLlseek(file, offset, whence, this.data.length),
  };
}
