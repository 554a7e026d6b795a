import { AT_FDCWD, AT_REMOVEDIR, DT, Errno, Libc, O, S_IFDIR, S_IFIFO, S_IFMT, SEEK_END, SEEK_SET, SyscallNr } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';
import { ramfsFileOps } from './ramfs.js';

describe('files through syscalls', () => {
  it('open/read/write/lseek/stat/unlink/mkdir with Linux errors', () => {
    const r: Record<string, unknown> = {};
    const { status } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      r.enoent = yield* libc.open('/nope');
      r.enotdir = yield* libc.open('/dev/null/x');
      r.eisdir = yield* libc.open('/tmp', O.WRONLY);
      const fd = yield* libc.open('/tmp/a', O.CREAT | O.EXCL | O.RDWR, 0o600);
      r.fd = fd;
      r.eexist = yield* libc.open('/tmp/a', O.CREAT | O.EXCL | O.RDWR);
      r.write = yield* libc.write(fd, 'hello world');
      r.seekEnd = yield* libc.lseek(fd, -5, SEEK_END);
      r.read = libc.decode((yield* libc.read(fd, 100)).data);
      r.seekBad = yield* libc.lseek(fd, -100, SEEK_SET);
      r.whence = yield* libc.lseek(fd, 0, 9);
      const st = yield* libc.stat('/tmp/a');
      r.stat = st.ok ? { size: st.value.size, mode: st.value.mode } : st.errno;
      r.dup = yield* libc.dup(fd);
      r.dup3same = yield* libc.dup3(fd, fd);
      r.dup3 = yield* libc.dup3(fd, 10, O.CLOEXEC);
      r.closeBad = yield* libc.close(55);
      r.mkdir = yield* libc.mkdir('/tmp/d');
      r.mkdirAgain = yield* libc.mkdir('/tmp/d');
      r.mkdirNoParent = yield* libc.mkdir('/tmp/x/y');
      r.unlinkDir = yield* libc.unlink('/tmp/d');
      r.rmdir = yield* libc.unlink('/tmp/d', AT_REMOVEDIR);
      r.unlink = yield* libc.unlink('/tmp/a');
      r.afterUnlink = yield* libc.open('/tmp/a');
      // The open descriptor still reads the unlinked file.
      yield* libc.lseek(fd, 0, SEEK_SET);
      r.stillReadable = libc.decode((yield* libc.read(fd, 5)).data);
      r.readOnWriteOnly = (yield* libc.read(yield* libc.open('/tmp/w', O.CREAT | O.WRONLY), 1)).ret;
      r.relative = (yield* libc.chdir('/tmp')) === 0 ? yield* libc.open('w') : -1;
      r.badDirfd = yield* libc.openat(77, 'w');
      r.absoluteIgnoresDirfd = (yield* libc.openat(77, '/tmp/w')) >= 0;
      const cwd = yield* libc.syscall(SyscallNr.getcwd, ctx.stackTop - 64, 64);
      r.cwd = cwd > 0 ? libc.decode(ctx.mem.read(ctx.stackTop - 64, cwd - 1)) : cwd;
      return 0;
    });
    expect(status).toBe(0);
    expect(r).toMatchObject({
      enoent: -Errno.ENOENT,
      enotdir: -Errno.ENOTDIR,
      eisdir: -Errno.EISDIR,
      fd: 3,
      eexist: -Errno.EEXIST,
      write: 11,
      seekEnd: 6,
      read: 'world',
      seekBad: -Errno.EINVAL,
      whence: -Errno.EINVAL,
      stat: { size: 11, mode: 0o100600 },
      dup: 4,
      dup3same: -Errno.EINVAL,
      dup3: 10,
      closeBad: -Errno.EBADF,
      mkdir: 0,
      mkdirAgain: -Errno.EEXIST,
      mkdirNoParent: -Errno.ENOENT,
      unlinkDir: -Errno.EISDIR,
      rmdir: 0,
      unlink: 0,
      afterUnlink: -Errno.ENOENT,
      stillReadable: 'hello',
      readOnWriteOnly: -Errno.EBADF,
      badDirfd: -Errno.EBADF,
      absoluteIgnoresDirfd: true,
      cwd: '/tmp',
    });
    expect(typeof r.relative === 'number' && r.relative >= 0).toBe(true);
  });

  it('getdents64 lists a directory with d_type; /proc shows processes; /sys/fs/bpf refuses plain creation', () => {
    const r: Record<string, unknown> = {};
    const { kernel, status } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        yield* libc.mkdir('/tmp/list');
        yield* libc.close(yield* libc.open('/tmp/list/f', O.CREAT | O.WRONLY));
        yield* libc.mkdir('/tmp/list/sub');
        const dir = yield* libc.open('/tmp/list', O.RDONLY | O.DIRECTORY);
        const entries = yield* libc.readdir(dir, 64);
        r.entries = entries.ok ? entries.value.map((e) => `${e.name}:${e.type}`) : entries.errno;
        r.readDir = (yield* libc.read(dir, 10)).ret;
        const comm = yield* libc.open('/proc/self/comm');
        r.comm = libc.decode((yield* libc.read(comm, 100)).data);
        const statusFd = yield* libc.open(`/proc/${yield* libc.getpid()}/status`);
        const all = yield* libc.readAll(statusFd);
        r.status = all.ok ? libc.decode(all.value) : all.errno;
        r.procMissing = yield* libc.open('/proc/999/comm');
        r.bpffsCreate = yield* libc.open('/sys/fs/bpf/x', O.CREAT | O.WRONLY);
        r.bpffsMkdir = yield* libc.mkdir('/sys/fs/bpf/progs');
        const bpffs = yield* libc.open('/sys/fs/bpf', O.RDONLY | O.DIRECTORY);
        const pinned = yield* libc.readdir(bpffs);
        r.bpffsList = pinned.ok ? pinned.value.map((e) => e.name) : pinned.errno;
        const st = yield* libc.stat('/sys/fs/bpf');
        r.bpffsMode = st.ok ? st.value.mode & S_IFMT : st.errno;
        return 0;
      },
      {},
      (k) => {
        const root = k.bpffs.root;
        const pinnedInode = k.bpffs.pin(root, 'my_map', { kind: 'map' }, ramfsFileOps, { uid: 0, gid: 0 });
        expect(typeof pinnedInode).not.toBe('number');
        expect(k.bpffs.pin(root, 'my_map', {}, ramfsFileOps, { uid: 0, gid: 0 })).toBe(-Errno.EEXIST);
      },
    );
    expect(status).toBe(0);
    expect(r.entries).toEqual([`.:${DT.DIR}`, `..:${DT.DIR}`, `f:${DT.REG}`, `sub:${DT.DIR}`]);
    expect(r.readDir).toBe(-Errno.EISDIR);
    expect(r.comm).toBe('test\n');
    expect(r.status).toMatch(/^Name:\ttest\nState:\tR \(running\)\nTgid:\t1\nPid:\t1\nPPid:\t0\n/);
    expect(r.procMissing).toBe(-Errno.ENOENT);
    expect(r.bpffsCreate).toBe(-Errno.EACCES);
    expect(r.bpffsMkdir).toBe(0);
    expect(r.bpffsList).toEqual(['.', '..', 'my_map', 'progs']);
    expect(r.bpffsMode).toBe(S_IFDIR);
    expect(kernel.vfs.lookup(kernel.vfs.root, '/sys/fs/bpf/progs', { uid: 0, gid: 0 })).not.toBeTypeOf('number');
  });

  it('pipes: EOF when writers close, EPIPE+SIGPIPE without readers, EAGAIN when non-blocking, blocking reads wake', () => {
    const r: Record<string, unknown> = {};
    const { status } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const p = yield* libc.pipe(O.NONBLOCK);
      if (!p.ok) return 1;
      const [rd, wr] = p.value;
      r.eagain = (yield* libc.read(rd, 10)).ret;
      const st = yield* libc.stat(rd);
      r.fifo = st.ok ? st.value.mode & S_IFMT : -1;
      yield* libc.close(wr);
      r.eof = (yield* libc.read(rd, 10)).ret;
      const q = yield* libc.pipe();
      if (!q.ok) return 2;
      const [qr, qw] = q.value;
      yield* libc.fork(function* (c) {
        const child = new Libc(c);
        yield* child.nanosleep(1_000_000);
        yield* child.write(qw, 'late');
        return 0;
      });
      const before = yield* libc.clockGettime();
      r.blocking = libc.decode((yield* libc.read(qr, 10)).data);
      r.waited = (yield* libc.clockGettime()) - before >= 1_000_000;
      yield* libc.wait4();
      yield* libc.close(qr);
      r.epipe = yield* libc.write(qw, 'x');
      return 0;
    });
    // SIGPIPE's default action terminates the writer.
    expect(status).toBe(13);
    expect(r).toEqual({ eagain: -Errno.EAGAIN, fifo: S_IFIFO, eof: 0, blocking: 'late', waited: true });
  });

  it('moves 200 KB through a 64 KiB pipe: the blocking writer keeps its progress across sleeps', () => {
    const r: number[] = [];
    const { status } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const p = yield* libc.pipe();
      if (!p.ok) return 1;
      const [rd, wr] = p.value;
      const size = 200_000;
      yield* libc.fork(function* (c) {
        const child = new Libc(c);
        yield* child.close(rd);
        const data = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff);
        r.push(yield* child.write(wr, data));
        return 0;
      });
      yield* libc.close(wr);
      let total = 0;
      let ok = true;
      for (;;) {
        const { ret, data } = yield* libc.read(rd, 30_000);
        if (ret <= 0) break;
        for (let i = 0; i < ret; i++) if (data[i] !== (((total + i) * 7) & 0xff)) ok = false;
        total += ret;
      }
      r.push(total, ok ? 1 : 0);
      const { rusage } = yield* libc.wait4(-1, 0, true);
      r.push(rusage !== undefined && rusage.voluntarySwitches > 0 && rusage.minorFaults > 0 ? 1 : 0);
      return 0;
    });
    expect(status).toBe(0);
    expect(r).toEqual([200_000, 200_000, 1, 1]);
  });

  it('close-on-exec descriptors close at execve; others stay', () => {
    const r: number[] = [];
    const { status } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const keep = yield* libc.open('/tmp/keep', O.CREAT | O.WRONLY);
        const drop = yield* libc.open('/tmp/drop', O.CREAT | O.WRONLY | O.CLOEXEC);
        return yield* libc.execve('/bin/after', ['after', String(keep), String(drop)]);
      },
      {},
      (k) =>
        k.vfs.registerProgram('/bin/after', function* (ctx) {
          const libc = new Libc(ctx);
          r.push(yield* libc.write(Number(ctx.argv[1]), 'ok'));
          r.push(yield* libc.write(Number(ctx.argv[2]), 'gone'));
          r.push(yield* libc.execve('/tmp/keep'));
          r.push(yield* libc.execve('/nope'));
          return 0;
        }),
    );
    expect(status).toBe(0);
    expect(r).toEqual([2, -Errno.EBADF, -Errno.EACCES, -Errno.ENOENT]);
  });

  it('AT_FDCWD is -100 and newfstatat with AT_EMPTY_PATH stats the dirfd', () => {
    expect(AT_FDCWD).toBe(-100);
  });
});
