/**
 * A PERF_EVENT program from a clang object (fixtures/attach/src/perf_clock.bpf.c) on cpu-clock sampling
 * events: perf_event_open(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK) on one CPU with a sample period (or a
 * frequency), the program set with SET_BPF + ENABLE or a perf link with a cookie. The event's timer fires
 * every period of virtual time on its CPU while it is enabled; the program counts samples per CPU.
 */
import { BPF_LINK_INFO_PERF_EVENT, BPF_PERF_EVENT_TYPE, Errno, PERF_ATTR_FLAG, PERF_COUNT_SW, PERF_EVENT_IOC, PERF_TYPE } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { inCorpusKernel } from '../loader/corpus.js';
import { loadAttachObject, mapU64, perfLinkCreate, perfLinkInfo, perfOpen, perfSetBpf, progFd, readText, tracepointId } from './perf-attach.js';

const MS = 1_000_000;
const cpuClock = (samplePeriod: number, flags = 0n) => ({ type: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.CPU_CLOCK, samplePeriod, flags });

describe('a perf_event program on cpu-clock sampling', () => {
  it('runs once per sample period on the event’s CPU while enabled, with SET_BPF and with a perf link', () => {
    const r: Record<string, number | string> = {};
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'perf_clock');
      const prog = progFd(loaded, 'on_sample');
      // CPU 0, every 1 ms, attached with SET_BPF + ENABLE: 10 samples in 10.5 ms, none once disabled.
      const pfd = yield* perfOpen(libc, cpuClock(MS), -1, 0);
      r.set = yield* perfSetBpf(libc, pfd, prog);
      yield* libc.nanosleep(10.5 * MS);
      r.disable = yield* libc.ioctl(pfd, PERF_EVENT_IOC.DISABLE, 0);
      yield* libc.nanosleep(5 * MS);
      r.cpu0 = yield* mapU64(loaded, 'samples', 0);
      r.cpu1 = yield* mapU64(loaded, 'samples', 1);
      r.period = yield* mapU64(loaded, 'info', 0);
      r.cookie = yield* mapU64(loaded, 'info', 1);
      yield* libc.close(pfd);
      // CPU 1 at 1000 Hz (attr.freq), opened disabled: nothing until ENABLE; then 5 samples in 5.5 ms.
      const freq = yield* perfOpen(libc, cpuClock(1000, (1n << BigInt(PERF_ATTR_FLAG.FREQ)) | (1n << BigInt(PERF_ATTR_FLAG.DISABLED))), -1, 1);
      const link = yield* perfLinkCreate(libc, prog, freq, 0x5eed);
      r.link = link >= 0 ? 0 : link;
      yield* libc.nanosleep(3 * MS);
      r.cpu1Disabled = yield* mapU64(loaded, 'samples', 1);
      yield* libc.ioctl(freq, PERF_EVENT_IOC.ENABLE, 0);
      yield* libc.nanosleep(5.5 * MS);
      r.cpu1Enabled = yield* mapU64(loaded, 'samples', 1);
      r.linkCookie = yield* mapU64(loaded, 'info', 1);
      r.freqPeriod = yield* mapU64(loaded, 'info', 0);
      const P = BPF_LINK_INFO_PERF_EVENT;
      const info = yield* perfLinkInfo(libc, link, P.event.config, P.event.type, 0);
      r.infoRet = info.ret;
      r.infoKind = info.info.getUint32(P.type, true) === BPF_PERF_EVENT_TYPE.EVENT ? 1 : 0;
      r.infoType = info.info.getUint32(P.event.type, true);
      r.infoConfig = Number(info.info.getBigUint64(P.event.config, true));
      r.infoCookie = Number(info.info.getBigUint64(P.event.cookie, true));
      const fdinfo = yield* readText(libc, `/proc/${yield* libc.getpid()}/fdinfo/${link}`);
      r.fdinfoTail = fdinfo.slice(fdinfo.indexOf('type:\t1'));
      // Closing the perf fd keeps the event while the link holds it; closing the link stops the samples.
      yield* libc.close(freq);
      yield* libc.nanosleep(2.2 * MS);
      r.cpu1LinkOnly = yield* mapU64(loaded, 'samples', 1);
      yield* libc.close(link);
      yield* libc.nanosleep(3 * MS);
      r.cpu1Closed = yield* mapU64(loaded, 'samples', 1);
      yield* loaded.close();
    });
    expect(r).toEqual({
      set: 0,
      disable: 0,
      cpu0: 10,
      cpu1: 0,
      period: MS,
      cookie: 0,
      link: 0,
      cpu1Disabled: 0,
      cpu1Enabled: 5,
      linkCookie: 0x5eed,
      freqPeriod: MS,
      infoRet: 0,
      infoKind: 1,
      infoType: PERF_TYPE.SOFTWARE,
      infoConfig: PERF_COUNT_SW.CPU_CLOCK,
      infoCookie: 0x5eed,
      fdinfoTail: 'type:\t1\nconfig:\t0\nevent_type:\tevent\ncookie:\t24301\n',
      cpu1LinkOnly: 7,
      cpu1Closed: 7,
    });
  });

  it("gives Linux's errnos for mismatched programs and unmodelled events", () => {
    const r: Record<string, number> = {};
    inCorpusKernel(function* (libc) {
      const loaded = yield* loadAttachObject(libc, 'perf_clock');
      const tp = yield* loadAttachObject(libc, 'tp_count');
      const prog = progFd(loaded, 'on_sample');
      const clock = yield* perfOpen(libc, cpuClock(MS));
      r.tracepointProg = yield* libc.ioctl(clock, PERF_EVENT_IOC.SET_BPF, progFd(tp, 'count_openat'));
      r.set = yield* libc.ioctl(clock, PERF_EVENT_IOC.SET_BPF, prog);
      r.again = yield* libc.ioctl(clock, PERF_EVENT_IOC.SET_BPF, prog);
      const id = yield* tracepointId(libc, 'syscalls', 'sys_enter_openat');
      const tpEvent = yield* perfOpen(libc, { type: PERF_TYPE.TRACEPOINT, config: id });
      r.perfProgOnTracepoint = yield* libc.ioctl(tpEvent, PERF_EVENT_IOC.SET_BPF, prog);
      r.perfLinkOnTracepoint = yield* perfLinkCreate(libc, prog, tpEvent);
      r.taskBound = yield* perfOpen(libc, cpuClock(MS), 0, -1);
      r.taskClock = yield* perfOpen(libc, { type: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.TASK_CLOCK, samplePeriod: MS });
      r.noSuchCpu = yield* perfOpen(libc, cpuClock(MS), -1, 64);
      r.freqTooHigh = yield* perfOpen(libc, cpuClock(1_000_000, 1n << BigInt(PERF_ATTR_FLAG.FREQ)));
      yield* libc.close(clock);
      yield* loaded.close();
      yield* tp.close();
    });
    expect(r).toEqual({
      tracepointProg: -Errno.EINVAL,
      set: 0,
      again: -Errno.EEXIST,
      perfProgOnTracepoint: -Errno.EINVAL,
      perfLinkOnTracepoint: -Errno.EINVAL,
      taskBound: -Errno.EOPNOTSUPP,
      taskClock: -Errno.EOPNOTSUPP,
      noSuchCpu: -Errno.EINVAL,
      freqTooHigh: -Errno.EINVAL,
    });
  });
});
