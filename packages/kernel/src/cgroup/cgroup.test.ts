import { AT_REMOVEDIR, Errno, Libc, O, TRACE_CGROUP, TRACE_CGROUP_ATTACH_TASK, type UserProgram } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { HookProgram } from '../hooks/hook.js';
import { runProgram } from '../testing/run-program.js';
import { CGROUP_STRUCT } from './layout.js';

/** Read a whole file as text (or the errno). */
function* readText(libc: Libc, path: string): Generator<number, string | number, number> {
  const fd = yield* libc.open(path, O.RDONLY);
  if (fd < 0) return fd;
  const all = yield* libc.readAll(fd);
  yield* libc.close(fd);
  return all.ok ? libc.decode(all.value) : all.errno;
}

/** Write text to a file: the write's result (or the open's errno). */
function* writeText(libc: Libc, path: string, text: string): Generator<number, number, number> {
  const fd = yield* libc.open(path, O.WRONLY);
  if (fd < 0) return fd;
  const ret = yield* libc.write(fd, text);
  yield* libc.close(fd);
  return ret;
}

describe('cgroup v2 at /sys/fs/cgroup', () => {
  it('numbers cgroups as Linux does (directory inode numbers: root 1, first child 15, its child 34) and lists the interface files', () => {
    const r: Record<string, unknown> = {};
    const { status, kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      r.mkdirA = yield* libc.mkdir('/sys/fs/cgroup/a');
      r.mkdirB = yield* libc.mkdir('/sys/fs/cgroup/a/b');
      r.again = yield* libc.mkdir('/sys/fs/cgroup/a');
      const root = yield* libc.stat('/sys/fs/cgroup');
      const a = yield* libc.stat('/sys/fs/cgroup/a');
      const b = yield* libc.stat('/sys/fs/cgroup/a/b');
      r.inos = [root, a, b].map((s) => (s.ok ? s.value.ino : s.errno));
      const dir = yield* libc.open('/sys/fs/cgroup/a', O.RDONLY | O.DIRECTORY);
      const listing = yield* libc.readdir(dir);
      r.files = listing.ok ? listing.value.map((e) => e.name).filter((n) => !n.startsWith('.')) : listing.errno;
      r.type = yield* readText(libc, '/sys/fs/cgroup/a/cgroup.type');
      r.events = yield* readText(libc, '/sys/fs/cgroup/a/cgroup.events');
      r.rootEvents = yield* readText(libc, '/sys/fs/cgroup/cgroup.events');
      r.stat = yield* readText(libc, '/sys/fs/cgroup/cgroup.stat');
      r.createFile = yield* libc.open('/sys/fs/cgroup/a/x', O.WRONLY | O.CREAT);
      return 0;
    });
    expect(status).toBe(0);
    expect([r.mkdirA, r.mkdirB, r.again]).toEqual([0, 0, -Errno.EEXIST]);
    expect(r.inos).toEqual([1, 15, 34]);
    expect(kernel.cgroups.get(34)?.path).toBe('/a/b');
    expect(r.files).toEqual([
      'cgroup.type',
      'cgroup.procs',
      'cgroup.threads',
      'cgroup.controllers',
      'cgroup.subtree_control',
      'cgroup.events',
      'cgroup.max.descendants',
      'cgroup.max.depth',
      'cgroup.stat',
      'b',
    ]);
    expect(r.type).toBe('domain\n');
    expect(r.events).toBe('populated 0\nfrozen 0\n');
    // cgroup.events is CFTYPE_NOT_ON_ROOT.
    expect(r.rootEvents).toBe(-Errno.ENOENT);
    expect(r.stat).toBe('nr_descendants 2\nnr_dying_descendants 0\n');
    expect(r.createFile).toBe(-Errno.EACCES);
  });

  it('keeps every task in one cgroup: init in the root, fork inherits, cgroup.procs moves a process; rmdir is EBUSY while populated', () => {
    const r: Record<string, unknown> = {};
    const child: UserProgram = function* (ctx) {
      const libc = new Libc(ctx);
      r.childCgroup = yield* readText(libc, '/proc/self/cgroup');
      return 0;
    };
    const { status } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      r.initial = yield* readText(libc, '/proc/self/cgroup');
      yield* libc.mkdir('/sys/fs/cgroup/work');
      const pid = yield* libc.getpid();
      r.move = yield* writeText(libc, '/sys/fs/cgroup/work/cgroup.procs', `${pid}\n`);
      r.moved = yield* readText(libc, '/proc/self/cgroup');
      r.procs = yield* readText(libc, '/sys/fs/cgroup/work/cgroup.procs');
      r.rootProcs = yield* readText(libc, '/sys/fs/cgroup/cgroup.procs');
      r.populated = yield* readText(libc, '/sys/fs/cgroup/work/cgroup.events');
      r.busy = yield* libc.unlink('/sys/fs/cgroup/work', AT_REMOVEDIR);
      yield* libc.fork(child);
      yield* libc.wait4();
      r.noSuch = yield* writeText(libc, '/sys/fs/cgroup/cgroup.procs', '999999\n');
      r.notNumber = yield* writeText(libc, '/sys/fs/cgroup/cgroup.procs', 'abc\n');
      r.back = yield* writeText(libc, '/sys/fs/cgroup/cgroup.procs', '0\n');
      r.empty = yield* readText(libc, '/sys/fs/cgroup/work/cgroup.procs');
      r.removed = yield* libc.unlink('/sys/fs/cgroup/work', AT_REMOVEDIR);
      r.gone = yield* libc.stat('/sys/fs/cgroup/work');
      return 0;
    });
    expect(status).toBe(0);
    expect(r.initial).toBe('0::/\n');
    expect(r.move).toBe(String(r.procs).length);
    expect(r.moved).toBe('0::/work\n');
    expect(r.procs).toMatch(/^[0-9]+\n$/);
    expect(r.rootProcs).toBe('');
    expect(r.populated).toBe('populated 1\nfrozen 0\n');
    expect(r.busy).toBe(-Errno.EBUSY);
    expect(r.childCgroup).toBe('0::/work\n');
    expect(r.noSuch).toBe(-Errno.ESRCH);
    expect(r.notNumber).toBe(-Errno.EINVAL);
    expect(r.back).toBe(2);
    expect(r.empty).toBe('');
    expect(r.removed).toBe(0);
    expect(r.gone).toEqual({ ok: false, errno: Errno.ENOENT });
  });

  it('fires cgroup:cgroup_mkdir with root, level, id and path, and its raw tracepoint with the struct cgroup', () => {
    const seen: Array<{ root: number; level: number; id: bigint; path: string }> = [];
    const raw: Array<{ level: number; path: string }> = [];
    const { status } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        yield* libc.mkdir('/sys/fs/cgroup/t');
        yield* libc.mkdir('/sys/fs/cgroup/t/u');
        return 0;
      },
      {},
      (kernel) => {
        const view = kernel.phys.view;
        const bytes = kernel.phys.bytes;
        const cString = (at: number): string => {
          let end = at;
          while (bytes[end] !== 0) end++;
          return new TextDecoder().decode(bytes.subarray(at, end));
        };
        kernel.hooks.require('cgroup:cgroup_mkdir').attach(
          new HookProgram((inv) => {
            const loc = view.getUint32(inv.ctx + TRACE_CGROUP.path, true);
            seen.push({
              root: view.getInt32(inv.ctx + TRACE_CGROUP.root, true),
              level: view.getInt32(inv.ctx + TRACE_CGROUP.level, true),
              id: view.getBigUint64(inv.ctx + TRACE_CGROUP.id, true),
              path: cString(inv.ctx + (loc & 0xffff)),
            });
            return 0;
          }),
        );
        kernel.hooks.require('raw_tp:cgroup_mkdir').attach((inv) => {
          const cgrp = Number(view.getBigUint64(inv.ctx, true));
          raw.push({ level: view.getInt32(cgrp + CGROUP_STRUCT.level, true), path: cString(Number(view.getBigUint64(inv.ctx + 8, true))) });
          return 0;
        });
      },
    );
    expect(status).toBe(0);
    expect(seen).toEqual([
      { root: 0, level: 1, id: 15n, path: '/t' },
      { root: 0, level: 2, id: 34n, path: '/t/u' },
    ]);
    expect(raw).toEqual([
      { level: 1, path: '/t' },
      { level: 2, path: '/t/u' },
    ]);
  });

  it('fires cgroup:cgroup_attach_task per moved thread (dst_id, dst_level, pid, dst_path, comm) and cgroup:cgroup_rmdir', () => {
    const moves: string[] = [];
    const removed: string[] = [];
    const { status, pid } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        yield* libc.mkdir('/sys/fs/cgroup/m');
        yield* writeText(libc, '/sys/fs/cgroup/m/cgroup.procs', '0');
        // Moving into the cgroup it is in moves nothing.
        yield* writeText(libc, '/sys/fs/cgroup/m/cgroup.procs', '0');
        yield* writeText(libc, '/sys/fs/cgroup/cgroup.procs', '0');
        yield* libc.unlink('/sys/fs/cgroup/m', AT_REMOVEDIR);
        return 0;
      },
      {},
      (kernel) => {
        const view = kernel.phys.view;
        const bytes = kernel.phys.bytes;
        const str = (ctx: number, locAt: number): string => {
          const loc = view.getUint32(ctx + locAt, true);
          return new TextDecoder().decode(bytes.subarray(ctx + (loc & 0xffff), ctx + (loc & 0xffff) + (loc >>> 16) - 1));
        };
        const A = TRACE_CGROUP_ATTACH_TASK;
        kernel.hooks.require('cgroup:cgroup_attach_task').attach((inv) => {
          const c = inv.ctx;
          moves.push(
            `id=${view.getBigUint64(c + A.dst_id, true)} level=${view.getInt32(c + A.dst_level, true)} pid=${view.getInt32(c + A.pid, true)} path=${str(c, A.dst_path)} comm=${str(c, A.comm)}`,
          );
          return 0;
        });
        kernel.hooks.require('cgroup:cgroup_rmdir').attach((inv) => {
          removed.push(`id=${view.getBigUint64(inv.ctx + TRACE_CGROUP.id, true)} path=${str(inv.ctx, TRACE_CGROUP.path)}`);
          return 0;
        });
      },
    );
    expect(status).toBe(0);
    expect(moves).toEqual([`id=15 level=1 pid=${pid} path=/m comm=test`, `id=1 level=0 pid=${pid} path=/ comm=test`]);
    expect(removed).toEqual(['id=15 path=/m']);
  });
});
