/**
 * A TRACEPOINT program from a clang object (fixtures/attach/src/tp_count.bpf.c) on syscalls:sys_enter_openat,
 * attached as libbpf attaches it: the id from tracefs, perf_event_open(PERF_TYPE_TRACEPOINT) with pid -1 on
 * CPU 0, then PERF_EVENT_IOC_SET_BPF + ENABLE, or BPF_LINK_CREATE(BPF_PERF_EVENT) with a bpf_cookie. The program
 * runs on every openat on every CPU (it is on the tracepoint's program list, not the CPU 0 event's), reads the
 * record's `flags`, and user space reads the counts back.
 */
import { BPF_LINK_INFO_PERF_EVENT, BPF_LINK_TYPE, BPF_PERF_EVENT_TYPE, Errno, O, PERF_EVENT_IOC, PERF_SAMPLE, PERF_TYPE, Libc } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { attachProgram } from '@ebpf-sim/loader';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject, mapU64, perfLinkCreate, perfLinkInfo, perfOpen, perfSetBpf, progFd, readText, tracepointId } from './perf-attach.js';

/** openat `count` times from the calling process (each open closed again); returns the flags used. */
function* openMany(libc: Libc, count: number): Generator<number, number, number> {
  const flags = O.RDONLY | O.CLOEXEC;
  for (let index = 0; index < count; index++) {
    const fd = yield* libc.open('/bin', flags);
    if (fd < 0) throw new Error(`open: ${fd}`);
    yield* libc.close(fd);
  }
  return flags;
}

describe('tracefs event files, as Linux lays them out', () => {
  it('gives each tracepoint events/CAT/NAME/{id,format,enable}, and lists available_events and available_filter_functions', () => {
    const seen: Record<string, string> = {};
    const bpf = inCorpusKernel(function* (libc) {
      seen.id = yield* readText(libc, '/sys/kernel/tracing/events/syscalls/sys_enter_openat/id');
      seen.format = yield* readText(libc, '/sys/kernel/tracing/events/syscalls/sys_enter_openat/format');
      seen.enable = yield* readText(libc, '/sys/kernel/tracing/events/syscalls/sys_enter_openat/enable');
      seen.events = yield* readText(libc, '/sys/kernel/tracing/available_events');
      seen.functions = yield* readText(libc, '/sys/kernel/tracing/available_filter_functions');
      const fd = yield* libc.open('/sys/kernel/tracing/events/syscalls/sys_enter_openat/enable', O.WRONLY);
      seen.enableWrite = String(yield* libc.write(fd, '1\n'));
      const dir = yield* libc.open('/sys/kernel/tracing/events/sched', O.RDONLY | O.DIRECTORY);
      seen.schedDir = String(dir >= 0);
    });
    expect(bpf).toBeDefined();
    expect(seen.format).toMatch(/^name: sys_enter_openat\nID: \d+\nformat:\n/);
    expect(seen.format).toContain(`ID: ${Number(seen.id)}\n`);
    expect(seen.format).toContain('\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;');
    expect(seen.enable).toBe('0\n');
    expect(seen.enableWrite).toBe(String(-Errno.EINVAL));
    expect(seen.events?.split('\n')).toEqual(expect.arrayContaining(['syscalls:sys_enter_openat', 'raw_syscalls:sys_enter', 'sched:sched_switch']));
    expect(seen.functions?.split('\n')).toEqual(expect.arrayContaining(['vfs_read', 'do_sys_openat2', '__x64_sys_openat']));
    expect(seen.schedDir).toBe('true');
  });
});

describe('a tracepoint program on syscalls:sys_enter_openat', () => {
  it('runs on every openat once attached with SET_BPF + ENABLE, on every CPU, and stops when the perf fd closes', () => {
    const r: Record<string, number> = {};
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'tp_count');
      const id = yield* tracepointId(libc, 'syscalls', 'sys_enter_openat');
      const pfd = yield* perfOpen(libc, { type: PERF_TYPE.TRACEPOINT, config: id });
      r.set = yield* perfSetBpf(libc, pfd, progFd(loaded, 'count_openat'));
      r.again = yield* libc.ioctl(pfd, PERF_EVENT_IOC.SET_BPF, progFd(loaded, 'count_openat'));
      const flags = yield* openMany(libc, 5);
      const me = yield* libc.getpid();
      // A child on whichever CPU it lands: the program is on the tracepoint, not on the CPU 0 event.
      const child = yield* libc.fork(function* (ctx) {
        yield* openMany(new Libc(ctx), 3);
        return 0;
      });
      yield* libc.wait4(child);
      r.mine = yield* mapU64(loaded, 'counts', me);
      r.child = yield* mapU64(loaded, 'counts', child);
      r.flags = (yield* mapU64(loaded, 'last', 0)) - flags;
      r.cookie = yield* mapU64(loaded, 'last', 1);
      yield* libc.close(pfd);
      yield* openMany(libc, 4);
      r.afterClose = yield* mapU64(loaded, 'counts', me);
      yield* loaded.close();
    });
    expect(r).toEqual({ set: 0, again: -Errno.EEXIST, mine: 5, child: 3, flags: 0, cookie: 0, afterClose: 5 });
  });

  it('runs with the cookie of a perf link, whose info names the tracepoint; the link keeps the event after the perf fd closes', () => {
    const r: Record<string, number | string> = {};
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'tp_count');
      const id = yield* tracepointId(libc, 'syscalls', 'sys_enter_openat');
      const pfd = yield* perfOpen(libc, { type: PERF_TYPE.TRACEPOINT, config: id });
      const link = yield* perfLinkCreate(libc, progFd(loaded, 'count_openat'), pfd, 0xabcdef);
      r.link = link >= 0 ? 'ok' : link;
      r.enable = yield* libc.ioctl(pfd, PERF_EVENT_IOC.ENABLE, 0);
      // The event has its program: a second link or SET_BPF on it is EEXIST.
      r.second = yield* perfLinkCreate(libc, progFd(loaded, 'count_openat'), pfd, 1);
      yield* libc.close(pfd);
      yield* openMany(libc, 6);
      const me = yield* libc.getpid();
      r.count = yield* mapU64(loaded, 'counts', me);
      r.cookie = yield* mapU64(loaded, 'last', 1);
      const P = BPF_LINK_INFO_PERF_EVENT;
      const info = yield* perfLinkInfo(libc, link, P.tracepoint.tp_name, P.tracepoint.name_len, 64);
      r.infoRet = info.ret;
      r.linkType = info.info.getUint32(0, true) === BPF_LINK_TYPE.PERF_EVENT ? 'perf_event' : info.info.getUint32(0, true);
      r.perfType = info.info.getUint32(P.type, true) === BPF_PERF_EVENT_TYPE.TRACEPOINT ? 'tracepoint' : info.info.getUint32(P.type, true);
      r.name = info.name;
      r.nameLen = info.info.getUint32(P.tracepoint.name_len, true);
      r.infoCookie = Number(info.info.getBigUint64(P.tracepoint.cookie, true));
      const short = yield* perfLinkInfo(libc, link, P.tracepoint.tp_name, P.tracepoint.name_len, 8);
      r.shortRet = short.ret;
      r.shortName = short.name;
      const unbalanced = yield* perfLinkInfo(libc, link, P.tracepoint.tp_name, P.tracepoint.name_len, 0, 16);
      r.noBuffer = unbalanced.ret;
      const fdinfo = yield* readText(libc, `/proc/${me}/fdinfo/${link}`);
      r.fdinfoTail = fdinfo.slice(fdinfo.indexOf('link_type:'), fdinfo.indexOf('link_id:')) + fdinfo.slice(fdinfo.indexOf('tp_name:'));
      r.detach = yield* libc.bpfLinkDetach(link);
      r.update = yield* libc.bpfLinkUpdate(link, progFd(loaded, 'count_openat'));
      yield* libc.close(link);
      yield* openMany(libc, 2);
      r.afterLink = yield* mapU64(loaded, 'counts', me);
      yield* loaded.close();
    });
    expect(r).toEqual({
      link: 'ok',
      enable: 0,
      second: -Errno.EEXIST,
      count: 6,
      cookie: 0xabcdef,
      infoRet: 0,
      linkType: 'perf_event',
      perfType: 'tracepoint',
      name: 'sys_enter_openat',
      nameLen: 'sys_enter_openat'.length + 1,
      infoCookie: 0xabcdef,
      shortRet: -Errno.ENOSPC,
      shortName: 'sys_ent',
      noBuffer: -Errno.EINVAL,
      // Linux 6.18's lines for this link (measured), the cookie 0xabcdef in decimal.
      // As Linux 6.18 prints it: bpf_types.h names a perf-event link `perf` (libbpf and bpftool say perf_event).
      fdinfoTail: 'link_type:\tperf\ntp_name:\tsys_enter_openat\nevent_type:\ttracepoint\ncookie:\t11259375\n',
      detach: -Errno.EOPNOTSUPP,
      update: -Errno.EINVAL,
      // One more: the openat of the fdinfo file, while the link still held the program.
      afterLink: 7,
    });
  });

  it("gives Linux's errnos for bad tracepoint events and mismatched programs", () => {
    const r: Record<string, number> = {};
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'tp_count');
      const kprobes = yield* loadAttachObject(libc, 'kprobe_vfs');
      const id = yield* tracepointId(libc, 'syscalls', 'sys_enter_openat');
      r.unknownId = yield* perfOpen(libc, { type: PERF_TYPE.TRACEPOINT, config: 999_999 });
      r.anyCpuAnyPid = yield* perfOpen(libc, { type: PERF_TYPE.TRACEPOINT, config: id }, -1, -1);
      const own = yield* perfOpen(libc, { type: PERF_TYPE.TRACEPOINT, config: id }, 0, -1);
      r.ownTask = own >= 0 ? 0 : own;
      r.rawSamples = yield* perfOpen(libc, { type: PERF_TYPE.TRACEPOINT, config: id, sampleType: PERF_SAMPLE.RAW });
      const pfd = yield* perfOpen(libc, { type: PERF_TYPE.TRACEPOINT, config: id });
      r.kprobeProg = yield* libc.ioctl(pfd, PERF_EVENT_IOC.SET_BPF, progFd(kprobes, 'vfs_read_entry'));
      r.kprobeLink = yield* perfLinkCreate(libc, progFd(kprobes, 'vfs_read_entry'), pfd);
      r.badFd = yield* libc.ioctl(pfd, PERF_EVENT_IOC.SET_BPF, 999);
      r.notProg = yield* libc.ioctl(pfd, PERF_EVENT_IOC.SET_BPF, 0);
      r.unknownIoctl = yield* libc.ioctl(pfd, 0x2463, 0);
      r.linkNotPerf = yield* perfLinkCreate(libc, progFd(loaded, 'count_openat'), 0);
      r.linkFlags = yield* perfLinkCreate(libc, progFd(loaded, 'count_openat'), pfd, 0, 1);
      const mark = libc.stack.mark();
      const idAddress = libc.stack.pushBytes(new Uint8Array(8));
      r.idIoctl = yield* libc.ioctl(pfd, PERF_EVENT_IOC.ID, idAddress);
      r.idNonZero = new DataView(libc.stack.readBytes(idAddress, 8).buffer).getUint32(0, true) > 0 ? 1 : 0;
      libc.stack.release(mark);
      yield* loaded.close();
      yield* kprobes.close();
    });
    expect(r).toEqual({
      unknownId: -Errno.EINVAL,
      anyCpuAnyPid: -Errno.EINVAL,
      ownTask: 0,
      rawSamples: -Errno.EOPNOTSUPP,
      kprobeProg: -Errno.EINVAL,
      kprobeLink: -Errno.EINVAL,
      badFd: -Errno.EBADF,
      notProg: -Errno.EINVAL,
      unknownIoctl: -Errno.ENOTTY,
      linkNotPerf: -Errno.EBADF,
      linkFlags: -Errno.EINVAL,
      idIoctl: 0,
      idNonZero: 1,
    });
  });

  it('gets every bit of a 64-bit cookie given to the loader as a bigint (libbpf __u64 bpf_cookie)', () => {
    const cookie = 0xfedcba9876543210n;
    let seen: unknown;
    let infoCookie = 0n;
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'tp_count');
      const prog = loaded.programs.get('count_openat');
      if (prog === undefined) throw new Error('missing program');
      const link = yield* attachProgram(libc, prog, { cookie });
      yield* openMany(libc, 1);
      const key = new Uint8Array(4);
      key[0] = 1;
      const last = loaded.maps.get('last');
      if (last === undefined) throw new Error('missing map');
      seen = yield* last.lookup(key);
      const P = BPF_LINK_INFO_PERF_EVENT;
      infoCookie = (yield* perfLinkInfo(libc, link.fd, P.tracepoint.tp_name, P.tracepoint.name_len, 64)).info.getBigUint64(P.tracepoint.cookie, true);
      yield* link.destroy();
      yield* loaded.close();
    });
    const asU64 = (value: unknown): bigint =>
      typeof value === 'bigint'
        ? BigInt.asUintN(64, value)
        : value instanceof Uint8Array
          ? new DataView(value.buffer, value.byteOffset).getBigUint64(0, true)
          : -1n;
    expect(asU64(seen).toString(16)).toBe(cookie.toString(16));
    expect(infoCookie.toString(16)).toBe(cookie.toString(16));
  });
});
