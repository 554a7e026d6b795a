import { EPOLL, EPOLL_CLOEXEC, EPOLL_CTL, Errno, Libc, MAP, O, PAGE_SIZE, PERF_COUNT_SW, PERF_SAMPLE, PERF_TYPE, PROT } from '@ebpf-sim/uapi';
import type { Kernel } from '../kernel.js';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../testing/run-program.js';

const MS = 1e6;

describe('epoll on pipes', () => {
  it('blocks in virtual time until a writer makes the pipe readable, and is level-triggered by default', () => {
    const log: unknown[] = [];
    const { kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const fds = yield* libc.pipe();
      if (!fds.ok) return 1;
      const [rd, wr] = fds.value;
      const child = yield* libc.fork(function* (childCtx) {
        const childLibc = new Libc(childCtx);
        yield* childLibc.nanosleep(3 * MS);
        yield* childLibc.write(wr, new Uint8Array([1, 2, 3]));
        yield* childLibc.nanosleep(20 * MS);
        return 0;
      });
      yield* libc.close(wr);
      const ep = yield* libc.epollCreate1(EPOLL_CLOEXEC);
      log.push(yield* libc.epollCtl(ep, EPOLL_CTL.ADD, rd, { events: EPOLL.IN, data: 0x1_0000_0007n }));
      log.push((yield* libc.epollWait(ep, 4, 0)).ret);
      const start = yield* libc.clockGettime();
      const first = yield* libc.epollWait(ep, 4, -1);
      log.push(first.events, (yield* libc.clockGettime()) - start >= 3 * MS);
      // Level-triggered: still readable, so reported again.
      log.push((yield* libc.epollWait(ep, 4, 0)).ret);
      log.push((yield* libc.read(rd, 16)).ret);
      const before = yield* libc.clockGettime();
      log.push((yield* libc.epollWait(ep, 4, 5)).ret, (yield* libc.clockGettime()) - before >= 5 * MS);
      yield* libc.wait4(child);
      // The writer is gone: the read end hangs up (EPOLLHUP is always reported).
      log.push((yield* libc.epollWait(ep, 4, 0)).events);
      return 0;
    });
    expect(kernel.crashes).toEqual([]);
    expect(log).toEqual([0, 0, [{ events: EPOLL.IN, data: 0x1_0000_0007n }], true, 1, 3, 0, true, [{ events: EPOLL.HUP, data: 0x1_0000_0007n }]]);
  });

  it('reports an edge-triggered item once per wake-up and a one-shot item once until EPOLL_CTL_MOD', () => {
    const log: number[] = [];
    const { kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const fds = yield* libc.pipe();
      if (!fds.ok) return 1;
      const [rd, wr] = fds.value;
      const et = yield* libc.epollCreate1();
      const once = yield* libc.epollCreate1();
      yield* libc.epollCtl(et, EPOLL_CTL.ADD, rd, { events: EPOLL.IN | EPOLL.ET, data: 1n });
      yield* libc.epollCtl(once, EPOLL_CTL.ADD, rd, { events: EPOLL.IN | EPOLL.ONESHOT, data: 2n });
      yield* libc.write(wr, new Uint8Array([1]));
      log.push((yield* libc.epollWait(et, 4, 0)).ret, (yield* libc.epollWait(et, 4, 0)).ret);
      yield* libc.write(wr, new Uint8Array([2]));
      log.push((yield* libc.epollWait(et, 4, 0)).ret);
      log.push((yield* libc.epollWait(once, 4, 0)).ret, (yield* libc.epollWait(once, 4, 0)).ret);
      yield* libc.write(wr, new Uint8Array([3]));
      log.push((yield* libc.epollWait(once, 4, 0)).ret);
      log.push(yield* libc.epollCtl(once, EPOLL_CTL.MOD, rd, { events: EPOLL.IN | EPOLL.ONESHOT, data: 3n }));
      log.push((yield* libc.epollWait(once, 4, 0)).ret);
      return 0;
    });
    expect(kernel.crashes).toEqual([]);
    expect(log).toEqual([1, 0, 1, 1, 0, 0, 0, 1]);
  });

  it('reports the write end writable, and in error once the readers are gone', () => {
    const log: unknown[] = [];
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const fds = yield* libc.pipe();
      if (!fds.ok) return 1;
      const [rd, wr] = fds.value;
      const ep = yield* libc.epollCreate1();
      yield* libc.epollCtl(ep, EPOLL_CTL.ADD, wr, { events: EPOLL.OUT, data: 9n });
      log.push((yield* libc.epollWait(ep, 4, 0)).events);
      yield* libc.close(rd);
      log.push((yield* libc.epollWait(ep, 4, 0)).events);
      return 0;
    });
    expect(log).toEqual([[{ events: EPOLL.OUT, data: 9n }], [{ events: EPOLL.OUT | EPOLL.ERR, data: 9n }]]);
  });

  it('drops the items of a file whose last descriptor closed (eventpoll_release)', () => {
    const log: number[] = [];
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const fds = yield* libc.pipe();
      if (!fds.ok) return 1;
      const [rd, wr] = fds.value;
      const ep = yield* libc.epollCreate1();
      yield* libc.epollCtl(ep, EPOLL_CTL.ADD, rd, { events: EPOLL.IN, data: 1n });
      yield* libc.write(wr, new Uint8Array([1]));
      yield* libc.close(rd);
      log.push((yield* libc.epollWait(ep, 4, 0)).ret);
      // The same fd number on a new file is a new item.
      const again = yield* libc.pipe();
      if (!again.ok) return 1;
      log.push(again.value[0] === rd ? 1 : 0, yield* libc.epollCtl(ep, EPOLL_CTL.ADD, again.value[0], { events: EPOLL.IN, data: 2n }));
      return 0;
    });
    expect(log).toEqual([0, 1, 0]);
  });

  it('nests: an epoll fd in another is readable when its items are', () => {
    const log: unknown[] = [];
    runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const fds = yield* libc.pipe();
      if (!fds.ok) return 1;
      const inner = yield* libc.epollCreate1();
      const outer = yield* libc.epollCreate1();
      yield* libc.epollCtl(inner, EPOLL_CTL.ADD, fds.value[0], { events: EPOLL.IN, data: 1n });
      yield* libc.epollCtl(outer, EPOLL_CTL.ADD, inner, { events: EPOLL.IN, data: 2n });
      log.push((yield* libc.epollWait(outer, 4, 0)).ret);
      yield* libc.write(fds.value[1], new Uint8Array([1]));
      log.push((yield* libc.epollWait(outer, 4, 0)).events);
      return 0;
    });
    expect(log).toEqual([0, [{ events: EPOLL.IN, data: 2n }]]);
  });
});

describe('/proc/PID/fdinfo of an epoll fd', () => {
  it("lists each item as Linux's ep_show_fdinfo does (format checked on Linux 6.18 with a pipe in an epoll set)", () => {
    let text = '';
    const { kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const fds = yield* libc.pipe();
      if (!fds.ok) return 1;
      const ep = yield* libc.epollCreate1(EPOLL_CLOEXEC);
      yield* libc.epollCtl(ep, EPOLL_CTL.ADD, fds.value[0], { events: EPOLL.IN | EPOLL.ET, data: BigInt(fds.value[0]) });
      const fd = yield* libc.open(`/proc/self/fdinfo/${ep}`, O.RDONLY);
      const read = yield* libc.readAll(fd, 4096);
      if (read.ok) text = new TextDecoder().decode(read.value);
      return 0;
    });
    expect(kernel.crashes).toEqual([]);
    // Linux 6.18: "tfd:        3 events: 80000019 data:                3  pos:0 ino:2357f sdev:f".
    expect(text).toMatch(/^flags:\t02000002$/m);
    expect(text).toMatch(/^tfd: {8}3 events: 80000019 data: {16}3 {2}pos:0 ino:[0-9a-f]+ sdev:[0-9a-f]+$/m);
  });
});

describe('epoll on perf event fds (perf_poll, perf_output_wakeup)', () => {
  it('hangs up without a ring, then reports EPOLLIN once per wakeup_events samples, woken through irq_work', () => {
    const log: unknown[] = [];
    let kernel: Kernel | undefined;
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const attr = { type: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.BPF_OUTPUT, sampleType: PERF_SAMPLE.RAW, samplePeriod: 1, wakeupEvents: 2 };
        const fd = yield* libc.perfEventOpen(attr, -1, 0);
        const ep = yield* libc.epollCreate1();
        yield* libc.epollCtl(ep, EPOLL_CTL.ADD, fd, { events: EPOLL.IN, data: 5n });
        // No ring mapped yet: EPOLLHUP, which epoll always reports.
        log.push((yield* libc.epollWait(ep, 4, 0)).events);
        yield* libc.epollCtl(ep, EPOLL_CTL.DEL, fd, null);
        const ring = yield* libc.mmapFile(fd, 2 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED);
        log.push(ring > 0);
        yield* libc.epollCtl(ep, EPOLL_CTL.ADD, fd, { events: EPOLL.IN, data: 5n });
        const task = kernel?.tasks.get(yield* libc.getpid());
        const file = task === undefined ? undefined : kernel?.fds.fdget(task, fd);
        const event = file === undefined ? undefined : kernel?.perfEvents.eventOf(file);
        if (event === undefined) return 1;
        const sample = new Uint8Array(8);
        event.outputSample(sample, 0, 8);
        // One sample of wakeup_events = 2: no wake-up.
        log.push(event.wakeups, (yield* libc.epollWait(ep, 4, 1)).ret);
        event.outputSample(sample, 0, 8);
        // The second wakes the waiters once the output is over (irq_work): the wait below sleeps, then sees it.
        log.push(event.wakeups, (yield* libc.epollWait(ep, 4, 10)).events);
        // rb->poll was taken by that report: level-triggered or not, nothing more until the next wake-up.
        log.push((yield* libc.epollWait(ep, 4, 0)).ret);
        return 0;
      },
      {},
      (k) => {
        kernel = k;
      },
      { uid: 0 },
    );
    expect(log).toEqual([[{ events: EPOLL.HUP, data: 5n }], true, 0, 0, 1, [{ events: EPOLL.IN, data: 5n }], 0]);
  });
});

describe('epoll errnos, in the order Linux checks', () => {
  it('epoll_create1, epoll_create, epoll_ctl, epoll_wait and epoll_pwait reject bad input', () => {
    const results: Record<string, number> = {};
    const { kernel } = runProgram(function* (ctx) {
      const libc = new Libc(ctx);
      const fds = yield* libc.pipe();
      if (!fds.ok) return 1;
      const [rd] = fds.value;
      results.create1Flags = yield* libc.epollCreate1(O.NONBLOCK);
      results.createZero = yield* libc.epollCreate(0);
      results.createOld = (yield* libc.epollCreate(1)) >= 0 ? 0 : -1;
      const ep = yield* libc.epollCreate1();
      const ev = { events: EPOLL.IN, data: 0n };
      results.badEpfd = yield* libc.epollCtl(77, EPOLL_CTL.ADD, rd, ev);
      results.badFd = yield* libc.epollCtl(ep, EPOLL_CTL.ADD, 77, ev);
      results.notEpoll = yield* libc.epollCtl(rd, EPOLL_CTL.ADD, fds.value[1], ev);
      results.self = yield* libc.epollCtl(ep, EPOLL_CTL.ADD, ep, ev);
      const dir = yield* libc.open('/', O.RDONLY);
      results.noPoll = yield* libc.epollCtl(ep, EPOLL_CTL.ADD, dir, ev);
      results.badOp = yield* libc.epollCtl(ep, 9, rd, ev);
      results.delMissing = yield* libc.epollCtl(ep, EPOLL_CTL.DEL, rd, null);
      results.modMissing = yield* libc.epollCtl(ep, EPOLL_CTL.MOD, rd, ev);
      results.faultEvent = yield* libc.syscall(233, ep, EPOLL_CTL.ADD, rd, 16);
      results.add = yield* libc.epollCtl(ep, EPOLL_CTL.ADD, rd, ev);
      results.exists = yield* libc.epollCtl(ep, EPOLL_CTL.ADD, rd, ev);
      results.exclusiveMod = yield* libc.epollCtl(ep, EPOLL_CTL.MOD, rd, { events: EPOLL.IN | EPOLL.EXCLUSIVE, data: 0n });
      results.exclusiveBits = yield* libc.epollCtl(ep, EPOLL_CTL.ADD, fds.value[1], { events: EPOLL.EXCLUSIVE | EPOLL.ONESHOT, data: 0n });
      results.del = yield* libc.epollCtl(ep, EPOLL_CTL.DEL, rd, null);
      const other = yield* libc.epollCreate1();
      results.nest = yield* libc.epollCtl(other, EPOLL_CTL.ADD, ep, ev);
      results.loop = yield* libc.epollCtl(ep, EPOLL_CTL.ADD, other, ev);
      results.waitZero = (yield* libc.epollWait(ep, 0, 0)).ret;
      results.waitNotEpoll = (yield* libc.epollWait(rd, 1, 0)).ret;
      results.waitBadFd = (yield* libc.epollWait(77, 1, 0)).ret;
      results.waitFault = yield* libc.syscall(232, ep, 16, 1, 0);
      results.pwaitSize = yield* libc.syscall(281, ep, 0, 1, 0, 8, 4);
      results.pwait = (yield* libc.epollWait(ep, 1, 0, 0n)).ret;
      return 0;
    });
    expect(kernel.crashes).toEqual([]);
    expect(results).toEqual({
      create1Flags: -Errno.EINVAL,
      createZero: -Errno.EINVAL,
      createOld: 0,
      badEpfd: -Errno.EBADF,
      badFd: -Errno.EBADF,
      notEpoll: -Errno.EINVAL,
      self: -Errno.EINVAL,
      noPoll: -Errno.EPERM,
      badOp: -Errno.EINVAL,
      delMissing: -Errno.ENOENT,
      modMissing: -Errno.ENOENT,
      faultEvent: -Errno.EFAULT,
      add: 0,
      exists: -Errno.EEXIST,
      exclusiveMod: -Errno.EINVAL,
      exclusiveBits: -Errno.EINVAL,
      del: 0,
      nest: 0,
      loop: -Errno.ELOOP,
      waitZero: -Errno.EINVAL,
      waitNotEpoll: -Errno.EINVAL,
      waitBadFd: -Errno.EBADF,
      waitFault: -Errno.EFAULT,
      pwaitSize: -Errno.EINVAL,
      pwait: 0,
    });
  });
});
