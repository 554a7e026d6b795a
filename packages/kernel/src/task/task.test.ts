import {
  BPF_ATTR_SCHEMAS,
  BPF_CMD,
  CLONE,
  decodeBpfAttr,
  encodeBpfAttr,
  Errno,
  Libc,
  O,
  SIG,
  SIG_IGN,
  SyscallNr,
  WEXITSTATUS,
  WIFEXITED,
  WIFSIGNALED,
  WTERMSIG,
} from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import type { FileOperations } from '../fs/file.js';
import { runProgram } from '../testing/run-program.js';

describe('processes and threads', () => {
  it('identity syscalls: getpid/getppid/gettid/getuid, and a non-root user', () => {
    const r: number[] = [];
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        r.push(yield* libc.getpid(), yield* libc.getppid(), yield* libc.gettid(), yield* libc.getuid());
        yield* libc.fork(function* (c) {
          const child = new Libc(c);
          r.push(yield* child.getpid(), yield* child.getppid());
          return 0;
        });
        yield* libc.wait4();
        r.push(yield* libc.open('/proc/1/status', O.WRONLY));
        return 0;
      },
      {},
      undefined,
      { uid: 1000, gid: 1000 },
    );
    expect(r).toEqual([1, 0, 1, 1000, 2, 1, -Errno.EACCES]);
  });

  it('threads share the address space and descriptors; gettid differs; exit_group ends them all', () => {
    const r: number[] = [];
    const { status, kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const shared = yield* libc.mmapAnonymous(4096);
      const flags = CLONE.VM | CLONE.FS | CLONE.FILES | CLONE.SIGHAND | CLONE.THREAD;
      const tid = yield* libc.clone(flags, function* (c) {
        const thread = new Libc(c);
        c.mem.write(shared, Uint8Array.of(42));
        r.push(yield* thread.getpid(), yield* thread.gettid());
        yield* thread.open('/tmp/from-thread', O.CREAT | O.WRONLY);
        yield* thread.nanosleep(1e9);
        r.push(-1);
        return 0;
      });
      yield* libc.nanosleep(1_000_000);
      r.push(tid, ctx.mem.read(shared, 1)[0] ?? 0, yield* libc.write(3, 'x'));
      return 5;
    });
    expect(r).toEqual([1, 2, 2, 42, 1]);
    expect(WEXITSTATUS(status ?? -1)).toBe(5);
    expect(kernel.alive).toBe(0);
  });

  it('signals: SIGTERM kills, SIG_IGN ignores, SIGKILL cannot be ignored, SIGCHLD wakes wait4', () => {
    const statuses: number[] = [];
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const sleeper = (): ReturnType<typeof libc.fork> =>
        libc.fork(function* (c) {
          yield* new Libc(c).nanosleep(5_000_000);
          return 9;
        });
      const a = yield* sleeper();
      yield* libc.kill(a, SIG.SIGTERM);
      statuses.push((yield* libc.wait4(a)).status);
      const b = yield* libc.fork(function* (c) {
        const child = new Libc(c);
        const act = child.stack.pushBytes(new Uint8Array(32).fill(0).map((_, i) => (i === 0 ? SIG_IGN : 0)));
        yield* child.syscall(SyscallNr.rt_sigaction, SIG.SIGTERM, act, 0, 8);
        yield* child.nanosleep(5_000_000);
        return 9;
      });
      // Give the child time to install SIG_IGN (it runs after a 1 us context switch).
      yield* libc.nanosleep(1_000_000);
      yield* libc.kill(b, SIG.SIGTERM);
      statuses.push((yield* libc.wait4(b)).status);
      const c = yield* sleeper();
      yield* libc.kill(c, SIG.SIGKILL);
      statuses.push((yield* libc.wait4(c)).status);
      return 0;
    });
    expect(WIFSIGNALED(statuses[0]!) && WTERMSIG(statuses[0]!)).toBe(SIG.SIGTERM);
    expect(WIFEXITED(statuses[1]!) && WEXITSTATUS(statuses[1]!)).toBe(9);
    expect(WTERMSIG(statuses[2]!)).toBe(SIG.SIGKILL);
  });

  it('orphans are adopted by init (pid 1), which can reap them', () => {
    const reaped: number[] = [];
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      yield* libc.fork(function* (c) {
        const middle = new Libc(c);
        yield* middle.fork(function* (g) {
          const grandchild = new Libc(g);
          yield* grandchild.nanosleep(2_000_000);
          return (yield* grandchild.getppid()) === 1 ? 0 : 1;
        });
        return 0;
      });
      for (;;) {
        const { pid, status } = yield* libc.wait4();
        if (pid < 0) break;
        reaped.push(pid, status);
      }
      return 0;
    });
    expect(reaped).toEqual([2, 0, 3, 0]);
  });

  it('wait4 WNOHANG returns 0 while children run; kill(0) signals the process group', () => {
    const r: number[] = [];
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const child = yield* libc.fork(function* (c) {
        yield* new Libc(c).nanosleep(1e9);
        return 0;
      });
      r.push((yield* libc.wait4(child, 1)).pid);
      // Ignore SIGUSR1 only now, so the child keeps the default action (dispositions are inherited at fork).
      const act = libc.stack.pushBytes(new Uint8Array(32).fill(0).map((_, i) => (i === 0 ? SIG_IGN : 0)));
      yield* libc.syscall(SyscallNr.rt_sigaction, SIG.SIGUSR1, act, 0, 8);
      // SIGUSR1 to the whole process group: the parent ignores it, the child dies of it.
      r.push(yield* libc.kill(0, SIG.SIGUSR1));
      const { status } = yield* libc.wait4(child);
      r.push(WTERMSIG(status));
      return 0;
    });
    expect(r).toEqual([0, 0, SIG.SIGUSR1]);
  });

  it('a bpf() handler registered from outside decodes bpf_attr and installs an anon-inode fd that closes through its ops', () => {
    let released = 0;
    const ops: FileOperations = { name: 'bpf-map', release: () => void released++ };
    const r: number[] = [];
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const { ret: fd } = yield* libc.bpf(BPF_CMD.MAP_CREATE, encodeBpfAttr('MAP_CREATE', { map_type: 2, key_size: 4, value_size: 8, max_entries: 1 }));
        const st = yield* libc.stat(fd);
        r.push(fd, st.ok ? st.value.mode : -1, (yield* libc.read(fd, 4)).ret, yield* libc.close(fd));
        return 0;
      },
      {},
      (k) =>
        k.syscalls.register('bpf', (task, cmd, uattr, size) => {
          const bytes = new Uint8Array(size);
          if (!task.group.mm.copyFromUser(uattr, bytes, 0, size)) return -Errno.EFAULT;
          const attr = BPF_ATTR_SCHEMAS.MAP_CREATE.safeParse(decodeBpfAttr('MAP_CREATE', bytes));
          if (cmd !== BPF_CMD.MAP_CREATE || !attr.success || attr.data.max_entries === 0) return -Errno.EINVAL;
          return k.fds.installFd(task, 'bpf-map', ops, attr.data);
        }),
    );
    expect(r).toEqual([3, 0o600, -Errno.EINVAL, 0]);
    expect(released).toBe(1);
  });
});

describe('execve from a multi-threaded process', () => {
  it('kills the other threads (de_thread) and runs the new image alone', () => {
    const r: number[] = [];
    const { status, kernel } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const flags = CLONE.VM | CLONE.FILES | CLONE.SIGHAND | CLONE.THREAD;
        for (let i = 0; i < 3; i++) {
          yield* libc.clone(flags, function* (c) {
            const thread = new Libc(c);
            for (;;) {
              yield* thread.compute(100_000);
              yield* thread.getpid();
            }
          });
        }
        yield* libc.compute(1_000_000);
        return yield* libc.execve('/bin/next');
      },
      { cpus: 2 },
      (k) =>
        k.vfs.registerProgram('/bin/next', function* (ctx) {
          const libc = new Libc(ctx);
          yield* libc.nanosleep(1_000_000);
          r.push(yield* libc.getpid());
          return 4;
        }),
    );
    expect(r).toEqual([1]);
    expect(WEXITSTATUS(status ?? -1)).toBe(4);
    expect(kernel.alive).toBe(0);
    expect(kernel.crashes).toEqual([]);
  });
});
