import { EPOLL, Errno, O, PIPE_BUF, PIPE_BUF_CAPACITY, SIG } from '@ebpf-sim/uapi';
import { BLOCKED, WaitQueue } from '../sched/wait.js';
import type { File, FileOperations, IoContext, PollTable } from './file.js';

/** A pipe's ring buffer and its two ends (struct pipe_inode_info). */
export class Pipe {
  private readonly ring = new Uint8Array(PIPE_BUF_CAPACITY);
  private head = 0;
  length = 0;
  readers = 0;
  writers = 0;
  readonly readWait = new WaitQueue();
  readonly writeWait = new WaitQueue();

  get space(): number {
    return PIPE_BUF_CAPACITY - this.length;
  }

  take(buffer: Uint8Array, count: number): number {
    const n = Math.min(count, this.length);
    for (let copied = 0; copied < n;) {
      const chunk = Math.min(n - copied, PIPE_BUF_CAPACITY - this.head);
      buffer.set(this.ring.subarray(this.head, this.head + chunk), copied);
      this.head = (this.head + chunk) % PIPE_BUF_CAPACITY;
      copied += chunk;
    }
    this.length -= n;
    return n;
  }

  put(data: Uint8Array, offset: number, count: number): number {
    const n = Math.min(count, this.space);
    for (let copied = 0; copied < n;) {
      const tail = (this.head + this.length) % PIPE_BUF_CAPACITY;
      const chunk = Math.min(n - copied, PIPE_BUF_CAPACITY - tail);
      this.ring.set(data.subarray(offset + copied, offset + copied + chunk), tail);
      this.length += chunk;
      copied += chunk;
    }
    return n;
  }
}

const pipeOf = (file: File): Pipe => file.privateData as Pipe;

/**
 * Pipe ends. read blocks while the pipe is empty and a writer exists, returns 0 at end of file; write blocks
 * while full, fails with EPIPE (and SIGPIPE) without readers; writes up to PIPE_BUF are atomic; a larger
 * blocking write keeps its progress across sleeps and returns when everything is written (pipe(7)).
 */
export const pipeFileOps: FileOperations = {
  name: 'pipe',
  read(io: IoContext, file: File, buffer: Uint8Array, count: number): number {
    const pipe = pipeOf(file);
    if (count === 0) return 0;
    if (pipe.length === 0) {
      if (pipe.writers === 0) return 0;
      if ((file.flags & O.NONBLOCK) !== 0) return -Errno.EAGAIN;
      io.sleepOn(pipe.readWait);
      return BLOCKED;
    }
    const n = pipe.take(buffer, count);
    pipe.writeWait.wakeAll();
    return n;
  },
  write(io: IoContext, file: File, data: Uint8Array, count: number): number {
    const pipe = pipeOf(file);
    if (pipe.readers === 0) {
      io.signalSelf(SIG.SIGPIPE);
      return io.progress > 0 ? io.progress : -Errno.EPIPE;
    }
    const nonblocking = (file.flags & O.NONBLOCK) !== 0;
    let done = io.progress;
    const remaining = count - done;
    if (remaining <= PIPE_BUF && pipe.space < remaining) {
      // Atomic write: all or nothing.
      if (nonblocking) return done > 0 ? done : -Errno.EAGAIN;
      io.sleepOn(pipe.writeWait);
      return BLOCKED;
    }
    done += pipe.put(data, done, remaining);
    if (done > io.progress) pipe.readWait.wakeAll();
    if (done < count) {
      if (nonblocking) return done > 0 ? done : -Errno.EAGAIN;
      io.progress = done;
      io.sleepOn(pipe.writeWait);
      return BLOCKED;
    }
    return done;
  },
  /**
   * pipe_poll: the read end is readable with data and hangs up without writers; the write end is writable with
   * room and in error without readers. Linux's "not full" means a free page slot, which always takes PIPE_BUF
   * bytes: here, room for PIPE_BUF bytes.
   */
  poll(file: File, table: PollTable | null): number {
    const pipe = pipeOf(file);
    const reader = (file.flags & O.ACCMODE) === O.RDONLY;
    table?.wait(reader ? pipe.readWait : pipe.writeWait);
    if (reader) return (pipe.length > 0 ? EPOLL.IN | EPOLL.RDNORM : 0) | (pipe.writers === 0 ? EPOLL.HUP : 0);
    return (pipe.space >= PIPE_BUF ? EPOLL.OUT | EPOLL.WRNORM : 0) | (pipe.readers === 0 ? EPOLL.ERR : 0);
  },
  release(file: File): void {
    const pipe = pipeOf(file);
    if ((file.flags & O.ACCMODE) === O.RDONLY) pipe.readers--;
    else pipe.writers--;
    pipe.readWait.wakeAll();
    pipe.writeWait.wakeAll();
  },
};
