/**
 * KPROBE programs from a clang object (fixtures/attach/src/kprobe_vfs.bpf.c: BPF_KPROBE and BPF_KRETPROBE on
 * vfs_read) attached as libbpf attaches them: the kprobe PMU's type and retprobe bit from sysfs,
 * perf_event_open with config1 = the function's name, then BPF_LINK_CREATE(BPF_PERF_EVENT) with a cookie, or
 * SET_BPF + ENABLE. A workload reads a file; the entry sees read(2)'s count in rsi→rdx, the return sees rax.
 */
import { BPF_LINK_INFO_PERF_EVENT, BPF_PERF_EVENT_TYPE, Errno, KSYM_NAME_LEN, O, PERF_EVENT_IOC, PERF_TYPE, Libc } from '@ebpf-sim/uapi';
import { registerBpf } from '@ebpf-sim/bpf';
import { createKernel } from '@ebpf-sim/kernel';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject, mapU64, perfLinkCreate, perfLinkInfo, perfOpen, perfOpenKprobe, perfSetBpf, progFd, readText } from './perf-attach.js';

/** Read a 10-byte file in reads of `chunk` bytes until EOF: the read(2) calls' returns. */
function* readFile(libc: Libc, chunk: number): Generator<number, number[], number> {
  const fd = yield* libc.open('/tmp/ten', O.RDONLY);
  if (fd < 0) throw new Error(`open: ${fd}`);
  const returns: number[] = [];
  for (;;) {
    const { ret } = yield* libc.read(fd, chunk);
    returns.push(ret);
    if (ret <= 0) break;
  }
  yield* libc.close(fd);
  return returns;
}

function* makeFile(libc: Libc): Generator<number, void, number> {
  const fd = yield* libc.open('/tmp/ten', O.WRONLY | O.CREAT | O.TRUNC);
  yield* libc.write(fd, '0123456789');
  yield* libc.close(fd);
}

describe('kprobe and kretprobe programs on vfs_read', () => {
  it('count calls, arguments and return values with the cookies of their perf links', () => {
    const r: Record<string, number | string> = {};
    inCorpusKernel(function* (libc) {
      yield* makeFile(libc);
      // Read before the probes are attached: reading the file is vfs_read calls too.
      const kallsymsVfsRead = /^([0-9a-f]{16}) T vfs_read$/m.exec(yield* readText(libc, '/proc/kallsyms'))?.[1] ?? 'missing';
      const loaded = yield* loadAttachObject(libc, 'kprobe_vfs');
      r.type = (yield* readText(libc, '/sys/bus/event_source/devices/kprobe/type')).trim();
      const entry = yield* perfOpenKprobe(libc, 'vfs_read', false);
      const exit = yield* perfOpenKprobe(libc, 'vfs_read', true);
      const entryLink = yield* perfLinkCreate(libc, progFd(loaded, 'vfs_read_entry'), entry, 111);
      const exitLink = yield* perfLinkCreate(libc, progFd(loaded, 'vfs_read_exit'), exit, 222);
      r.links = entryLink >= 0 && exitLink >= 0 ? 'ok' : `${entryLink} ${exitLink}`;
      yield* libc.ioctl(entry, PERF_EVENT_IOC.ENABLE, 0);
      yield* libc.ioctl(exit, PERF_EVENT_IOC.ENABLE, 0);
      // 4 + 4 + 2 + 0 bytes: four vfs_read calls.
      const returns = yield* readFile(libc, 4);
      r.returns = returns.join(',');
      for (const [key, name] of ['calls', 'countSum', 'rets', 'bytes', 'lastRet', 'entryCookie', 'exitCookie'].entries())
        r[name] = yield* mapU64(loaded, 'stats', key);
      const P = BPF_LINK_INFO_PERF_EVENT;
      const info = yield* perfLinkInfo(libc, exitLink, P.kprobe.func_name, P.kprobe.name_len, 32);
      r.infoRet = info.ret;
      r.infoType = info.info.getUint32(P.type, true) === BPF_PERF_EVENT_TYPE.KRETPROBE ? 'kretprobe' : info.info.getUint32(P.type, true);
      r.infoName = info.name;
      r.infoOffset = info.info.getUint32(P.kprobe.offset, true);
      r.infoCookie = Number(info.info.getBigUint64(P.kprobe.cookie, true));
      // kp.addr: vfs_read's address in /proc/kallsyms (root sees addresses: kallsyms_show_value with CAP_SYSLOG).
      const vfsRead = kallsymsVfsRead;
      r.infoAddr =
        info.info.getBigUint64(P.kprobe.addr, true) === BigInt(`0x${vfsRead}`) ? 'vfs_read' : info.info.getBigUint64(P.kprobe.addr, true).toString(16);
      r.vfsReadAddr = vfsRead;
      const entryInfo = yield* perfLinkInfo(libc, entryLink, P.kprobe.func_name, P.kprobe.name_len, 32);
      r.entryType = entryInfo.info.getUint32(P.type, true) === BPF_PERF_EVENT_TYPE.KPROBE ? 'kprobe' : entryInfo.info.getUint32(P.type, true);
      const fdinfo = yield* readText(libc, `/proc/${yield* libc.getpid()}/fdinfo/${exitLink}`);
      r.fdinfoTail = fdinfo.slice(fdinfo.indexOf('name:')).replace(`addr:\t0x${r.vfsReadAddr}`, 'addr:\t<vfs_read>');
      // Closing both links detaches both programs: reads go uncounted.
      yield* libc.close(entryLink);
      yield* libc.close(exitLink);
      yield* readFile(libc, 10);
      r.callsAfter = yield* mapU64(loaded, 'stats', 0);
      yield* loaded.close();
    });
    expect(r).toEqual({
      type: '6',
      links: 'ok',
      returns: '4,4,2,0',
      calls: 4,
      countSum: 16,
      rets: 4,
      bytes: 10,
      lastRet: 0,
      entryCookie: 111,
      exitCookie: 222,
      infoRet: 0,
      infoType: 'kretprobe',
      infoName: 'vfs_read',
      infoOffset: 0,
      infoCookie: 222,
      infoAddr: 'vfs_read',
      vfsReadAddr: expect.stringMatching(/^ffffffff8/) as unknown,
      entryType: 'kprobe',
      fdinfoTail: 'name:\tvfs_read\noffset:\t0\nmissed:\t0\naddr:\t<vfs_read>\nevent_type:\tkretprobe\ncookie:\t222\n',
      // Two more: the reads of the fdinfo file (data, then EOF), while the links still held the programs.
      callsAfter: 6,
    });
  });

  it('runs through SET_BPF with cookie 0, and two programs on one kprobe run in attach order', () => {
    const r: Record<string, number> = {};
    inCorpusKernel(function* (libc) {
      yield* makeFile(libc);
      const first = yield* loadAttachObject(libc, 'kprobe_vfs');
      const second = yield* loadAttachObject(libc, 'kprobe_vfs');
      const a = yield* perfOpenKprobe(libc, 'vfs_read', false);
      const b = yield* perfOpenKprobe(libc, 'vfs_read', false);
      r.setA = yield* perfSetBpf(libc, a, progFd(first, 'vfs_read_entry'));
      const link = yield* perfLinkCreate(libc, progFd(second, 'vfs_read_entry'), b, 7);
      r.link = link >= 0 ? 0 : link;
      yield* readFile(libc, 8);
      r.firstCalls = yield* mapU64(first, 'stats', 0);
      r.firstCookie = yield* mapU64(first, 'stats', 5);
      r.secondCalls = yield* mapU64(second, 'stats', 0);
      r.secondCookie = yield* mapU64(second, 'stats', 5);
      yield* libc.close(a);
      yield* readFile(libc, 8);
      r.firstAfterClose = yield* mapU64(first, 'stats', 0);
      r.secondAfterClose = yield* mapU64(second, 'stats', 0);
      yield* libc.close(link);
      yield* libc.close(b);
      yield* first.close();
      yield* second.close();
    });
    expect(r).toEqual({ setA: 0, link: 0, firstCalls: 3, firstCookie: 0, secondCalls: 3, secondCookie: 7, firstAfterClose: 3, secondAfterClose: 6 });
  });

  it("gives Linux's errnos for functions without a probe site, offsets, names and program types", () => {
    const r: Record<string, number> = {};
    inCorpusKernel(function* (libc) {
      const tp = yield* loadAttachObject(libc, 'tp_count');
      r.unknownFunction = yield* perfOpenKprobe(libc, 'no_such_function', false);
      r.offset = yield* perfOpenKprobe(libc, 'vfs_read', false, 4);
      r.emptyName = yield* perfOpenKprobe(libc, '', false);
      r.tooLong = yield* perfOpenKprobe(libc, 'x'.repeat(KSYM_NAME_LEN), false);
      r.badPointer = yield* perfOpen(libc, { type: 6, config: 0, config1: 0x10 });
      r.noPmu = yield* perfOpen(libc, { type: 7, config: 0 });
      r.hardware = yield* perfOpen(libc, { type: PERF_TYPE.HARDWARE, config: 0 });
      const kp = yield* perfOpenKprobe(libc, 'vfs_read', false);
      r.tracepointProg = yield* libc.ioctl(kp, PERF_EVENT_IOC.SET_BPF, progFd(tp, 'count_openat'));
      r.tracepointLink = yield* perfLinkCreate(libc, progFd(tp, 'count_openat'), kp);
      const wrapper = yield* perfOpenKprobe(libc, '__x64_sys_getpid', true);
      r.wrapper = wrapper >= 0 ? 0 : wrapper;
      yield* tp.close();
    });
    expect(r).toEqual({
      unknownFunction: -Errno.ENOENT,
      offset: -Errno.EINVAL,
      emptyName: -Errno.EINVAL,
      tooLong: -Errno.E2BIG,
      badPointer: -Errno.EFAULT,
      noPmu: -Errno.ENOENT,
      hardware: -Errno.ENOENT,
      tracepointProg: -Errno.EINVAL,
      tracepointLink: -Errno.EINVAL,
      wrapper: 0,
    });
  });

  it('needs CAP_PERFMON for the kprobe PMU, even with perf_event_paranoid at -1', () => {
    const kernel = createKernel({ cpus: 2 });
    registerBpf(kernel);
    kernel.perfEvents.paranoid.value = -1;
    const r: Record<string, number> = {};
    kernel.vfs.registerProgram('/bin/user', function* (ctx) {
      const libc = new Libc(ctx);
      r.kprobe = yield* perfOpenKprobe(libc, 'vfs_read', false);
      const id = Number.parseInt(yield* readText(libc, '/sys/bus/event_source/devices/tracepoint/type'), 10);
      r.tracepointType = id;
      return 0;
    });
    kernel.spawn('/bin/user', { uid: 1000 });
    kernel.run({ untilNs: 1e9 });
    expect(r).toEqual({ kprobe: -Errno.EACCES, tracepointType: PERF_TYPE.TRACEPOINT });
  });
});
