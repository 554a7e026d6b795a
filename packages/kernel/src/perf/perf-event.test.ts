import {
  Errno,
  Libc,
  MAP,
  PAGE_SIZE,
  PERF_ATTR_SIZE_VER8,
  PERF_COUNT_SW,
  PERF_EVENT_MMAP_PAGE,
  PERF_FLAG,
  PERF_RECORD,
  PERF_RECORD_MISC,
  PERF_SAMPLE,
  PERF_TYPE,
  PerfRingReader,
  PROT,
  SyscallNr,
  perfRawRecordLength,
  type PerfEventAttrInput,
  type PerfRecord,
  type UserProgram,
} from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { createKernel, type Kernel } from '../kernel.js';
import type { PerfOutputEvent } from '../services.js';

const BPF_OUTPUT: PerfEventAttrInput = {
  type: PERF_TYPE.SOFTWARE,
  config: PERF_COUNT_SW.BPF_OUTPUT,
  sampleType: PERF_SAMPLE.RAW,
  samplePeriod: 1,
  wakeupEvents: 1,
};

/** Boot a 2-CPU kernel, run the program `make` builds to the end; its exit status. */
function run(make: (kernel: Kernel) => UserProgram, uid = 0): { kernel: Kernel; status: number | undefined } {
  const kernel = createKernel({ cpus: 2 });
  kernel.vfs.registerProgram('/bin/test', make(kernel));
  const pid = kernel.spawn('/bin/test', { uid });
  kernel.run({ untilNs: 10e9 });
  return { kernel, status: kernel.exited.get(pid)?.status };
}

/** The BPF output event behind `fd` of the current task, as the bpf subsystem finds it in a PERF_EVENT_ARRAY. */
function outputEvent(kernel: Kernel, fd: number): PerfOutputEvent {
  const task = kernel.sched.currentTask();
  const file = task === undefined ? undefined : kernel.fds.fdget(task, fd);
  const event = file === undefined ? undefined : kernel.perfEvents.bpfOutputOf(file);
  if (event === undefined) throw new Error(`fd ${fd} is not a BPF output perf event`);
  return event;
}

const bytesOf = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('perf_event_open', () => {
  it("answers this machine's Linux errnos (recorded with a probe on 6.18), and EOPNOTSUPP for what is not modelled", () => {
    const r: Record<string, number> = {};
    let sizeWrittenBack = 0;
    const { status } = run(
      () =>
        function* (ctx) {
          const libc = new Libc(ctx);
          const open = function* (name: string, attr: Partial<PerfEventAttrInput>, pid = -1, cpu = 0, group = -1, flags = 0) {
            const fd = yield* libc.perfEventOpen({ ...BPF_OUTPUT, ...attr }, pid, cpu, group, flags);
            r[name] = fd >= 0 ? 0 : fd;
            if (fd >= 0) yield* libc.close(fd);
          };
          yield* open('ok', {});
          yield* open('cpuAnyPidAny', {}, -1, -1);
          yield* open('cpu99', {}, -1, 99);
          yield* open('cpuMinus2', {}, -1, -2);
          yield* open('noSuchPid', {}, 999999);
          yield* open('hardware', { type: PERF_TYPE.HARDWARE, config: 0 });
          yield* open('type99', { type: 99 });
          yield* open('raw', { type: PERF_TYPE.RAW });
          yield* open('swConfig999', { config: 999 });
          yield* open('tracepointNoSuchId', { type: PERF_TYPE.TRACEPOINT, config: 999999 });
          yield* open('size0', { size: 0 });
          yield* open('size200Zero', { size: 200 });
          yield* open('badFlags', {}, -1, 0, -1, 0x100);
          yield* open('cloexec', {}, -1, 0, -1, PERF_FLAG.FD_CLOEXEC);
          yield* open('group77', {}, -1, 0, 77);
          yield* open('sampleTypeBit63', { sampleType: 2 ** 63 });
          yield* open('sampleType0', { sampleType: 0 });
          yield* open('samplePeriod0', { samplePeriod: 0 });
          yield* open('freqTooHigh', { flags: 1n << 10n, samplePeriod: 1e9 });
          yield* open('disabled', { flags: 1n });
          yield* open('reservedBit', { flags: 1n << 63n });
          // Linux accepts these; the model does not have them.
          yield* open('cpuClock', { config: PERF_COUNT_SW.CPU_CLOCK });
          yield* open('ownPid', {}, yield* libc.getpid());
          yield* open('sampleTime', { sampleType: PERF_SAMPLE.RAW | PERF_SAMPLE.TIME });
          // A size below PERF_ATTR_SIZE_VER0: E2BIG, and the kernel's size is written back into attr.size.
          const mark = libc.stack.mark();
          const attr = libc.stack.pushBytes(new Uint8Array(PERF_ATTR_SIZE_VER8).fill(0, 0));
          ctx.mem.write(attr + 4, bytesOf(10, 0, 0, 0));
          r.size10 = yield* libc.syscall(SyscallNr.perf_event_open, attr, -1, 0, -1, 0);
          sizeWrittenBack = new DataView(ctx.mem.read(attr + 4, 4).buffer).getUint32(0, true);
          // Bytes past the known struct that are not zero: E2BIG too.
          const big = new Uint8Array(200);
          const view = new DataView(big.buffer);
          view.setUint32(0, PERF_TYPE.SOFTWARE, true);
          view.setUint32(4, 200, true);
          view.setUint32(8, PERF_COUNT_SW.BPF_OUTPUT, true);
          big[150] = 1;
          r.size200NonZero = yield* libc.syscall(SyscallNr.perf_event_open, libc.stack.pushBytes(big), -1, 0, -1, 0);
          libc.stack.release(mark);
          r.badAttrPointer = yield* libc.syscall(SyscallNr.perf_event_open, 0x1000, -1, 0, -1, 0);
          return 0;
        },
    );
    expect(status).toBe(0);
    expect(r).toEqual({
      ok: 0,
      cpuAnyPidAny: -Errno.EINVAL,
      cpu99: -Errno.EINVAL,
      cpuMinus2: -Errno.EINVAL,
      noSuchPid: -Errno.ESRCH,
      hardware: -Errno.ENOENT,
      type99: -Errno.ENOENT,
      raw: -Errno.ENOENT,
      swConfig999: -Errno.ENOENT,
      tracepointNoSuchId: -Errno.EINVAL,
      size0: 0,
      size200Zero: 0,
      badFlags: -Errno.EINVAL,
      cloexec: 0,
      group77: -Errno.EBADF,
      sampleTypeBit63: -Errno.EINVAL,
      sampleType0: 0,
      samplePeriod0: 0,
      freqTooHigh: -Errno.EINVAL,
      disabled: 0,
      reservedBit: -Errno.EINVAL,
      cpuClock: -Errno.EOPNOTSUPP,
      ownPid: -Errno.EOPNOTSUPP,
      sampleTime: -Errno.EOPNOTSUPP,
      size10: -Errno.E2BIG,
      size200NonZero: -Errno.E2BIG,
      badAttrPointer: -Errno.EFAULT,
    });
    expect(sizeWrittenBack).toBe(PERF_ATTR_SIZE_VER8);
  });

  it('refuses a CPU-wide event to a task without CAP_PERFMON while kernel.perf_event_paranoid is 2 (EACCES)', () => {
    const r: number[] = [];
    run(
      () =>
        function* (ctx) {
          r.push(yield* new Libc(ctx).perfEventOpen(BPF_OUTPUT, -1, 0));
          return 0;
        },
      1000,
    );
    expect(r).toEqual([-Errno.EACCES]);
  });

  it('gives an anon-inode [perf_event] fd that only the BPF output service recognises', () => {
    const r: Record<string, unknown> = {};
    run(
      (kernel) =>
        function* (ctx) {
          const libc = new Libc(ctx);
          const fd = yield* libc.perfEventOpen(BPF_OUTPUT, -1, 1);
          const task = kernel.sched.currentTask();
          const file = task === undefined ? undefined : kernel.fds.fdget(task, fd);
          r.path = file?.path;
          r.cpu = file === undefined ? undefined : kernel.perfEvents.bpfOutputOf(file)?.cpu;
          const console = task === undefined ? undefined : kernel.fds.fdget(task, 1);
          r.console = console === undefined ? 'none' : kernel.perfEvents.bpfOutputOf(console);
          return 0;
        },
    );
    expect(r).toEqual({ path: 'anon_inode:[perf_event]', cpu: 1, console: undefined });
  });
});

describe('the mmap ring of a BPF output event', () => {
  it('maps 1 + 2^n pages shared at offset 0, one size per event, with the header Linux initialises', () => {
    const r: Record<string, unknown> = {};
    const { kernel } = run(
      () =>
        function* (ctx) {
          const libc = new Libc(ctx);
          const fd = yield* libc.perfEventOpen(BPF_OUTPUT, -1, 0);
          const map = function* (pages: number, prot = PROT.READ | PROT.WRITE, flags: number = MAP.SHARED, offset = 0) {
            const address = yield* libc.mmapFile(fd, pages * PAGE_SIZE, prot, flags, offset);
            return address > 0 ? 'ok' : address;
          };
          r.private = yield* map(3, PROT.READ | PROT.WRITE, MAP.PRIVATE);
          r.fourPages = yield* map(4);
          r.pgoff1 = yield* map(3, PROT.READ | PROT.WRITE, MAP.SHARED, PAGE_SIZE);
          const address = yield* libc.mmapFile(fd, 3 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED);
          r.again = yield* map(3);
          r.otherSize = yield* map(5);
          const header = new DataView(ctx.mem.read(address, PAGE_SIZE).buffer);
          r.header = {
            dataOffset: header.getUint32(PERF_EVENT_MMAP_PAGE.data_offset, true),
            dataSize: header.getUint32(PERF_EVENT_MMAP_PAGE.data_size, true),
            dataHead: header.getUint32(PERF_EVENT_MMAP_PAGE.data_head, true),
            size: header.getUint32(PERF_EVENT_MMAP_PAGE.size, true),
          };
          // Each of 1 + 0, 1 + 1, 1 + 2 and 1 + 4 pages on a fresh event; 1 + 3 and 1 + 5 are refused.
          const sizes: Array<number | string> = [];
          for (const pages of [1, 2, 3, 4, 5, 6]) {
            const other = yield* libc.perfEventOpen(BPF_OUTPUT, -1, 0);
            const mapped = yield* libc.mmapFile(other, pages * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED);
            sizes.push(mapped > 0 ? 'ok' : mapped);
            if (mapped > 0) yield* libc.munmap(mapped, pages * PAGE_SIZE);
            yield* libc.close(other);
          }
          r.sizes = sizes;
          return 0;
        },
    );
    expect(r).toEqual({
      private: -Errno.EINVAL,
      fourPages: -Errno.EINVAL,
      pgoff1: -Errno.EINVAL,
      again: 'ok',
      otherSize: -Errno.EINVAL,
      header: { dataOffset: PAGE_SIZE, dataSize: 2 * PAGE_SIZE, dataHead: 0, size: 96 },
      sizes: ['ok', 'ok', 'ok', -Errno.EINVAL, 'ok', -Errno.EINVAL],
    });
    // Exit closed the fd and unmapped the ring: its memory is back.
    expect(kernel.phys.usage().filter((charge) => charge.owner.startsWith('perf-event:'))).toEqual([]);
  });

  it('carries PERF_RECORD_SAMPLE records (u32 size, raw data padded to 8) to a reader that consumes them; PERF_RECORD_LOST when the ring was full', () => {
    const r: Record<string, unknown> = {};
    const { kernel, status } = run(
      (k) =>
        function* (ctx) {
          const libc = new Libc(ctx);
          const fd = yield* libc.perfEventOpen(BPF_OUTPUT, -1, 0);
          const event = outputEvent(k, fd);
          r.beforeMmap = event.outputSample(bytesOf(1), 0, 1);
          const address = yield* libc.mmapFile(fd, 2 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED);
          const reader = new PerfRingReader(ctx.mem, address);
          const records: PerfRecord[] = [];
          r.outputs = [
            event.outputSample(bytesOf(9, 1, 2, 3, 4, 5), 1, 5),
            event.outputSample(bytesOf(1, 2, 3, 4, 5, 6, 7, 8), 0, 8),
            event.outputSample(new Uint8Array(12).fill(7), 0, 12),
          ];
          r.consumed = reader.consume((record) => records.push(record));
          r.records = records.map((record) => ('raw' in record ? { type: record.type, misc: record.misc, raw: [...record.raw] } : record));
          r.nothingMore = reader.consume(() => undefined);
          // Fill the 4096-byte data area with 216-byte records: one byte always stays free, so 18 fit (4095 / 216).
          const sample = new Uint8Array(200).map((_, index) => index);
          let accepted = 0;
          let refused = 0;
          for (let index = 0; index < 25; index++) {
            if (event.outputSample(sample, 0, 200) === 0) accepted++;
            else refused++;
          }
          r.fill = { accepted, refused, recordLength: perfRawRecordLength(200) };
          let samples = 0;
          reader.consume(() => samples++);
          r.drained = samples;
          // The next sample is preceded by PERF_RECORD_LOST with the count, and it wraps around the end of the ring.
          r.afterDrop = event.outputSample(sample, 0, 200);
          const after: PerfRecord[] = [];
          reader.consume((record) => after.push(record));
          r.after = after.map((record) =>
            'lost' in record
              ? { type: record.type, lost: record.lost }
              : 'raw' in record
                ? { type: record.type, intact: record.raw.subarray(0, 200).every((byte, index) => byte === index) }
                : record,
          );
          // Closing the fd keeps the ring while it is mapped.
          yield* libc.close(fd);
          r.afterClose = k.phys.usageOf('perf-event:1').pages;
          yield* libc.munmap(address, 2 * PAGE_SIZE);
          r.afterUnmap = k.phys.usageOf('perf-event:1').pages;
          return 0;
        },
    );
    expect(status).toBe(0);
    expect(r).toEqual({
      beforeMmap: -Errno.ENOSPC,
      outputs: [0, 0, 0],
      consumed: 3,
      records: [
        { type: PERF_RECORD.SAMPLE, misc: PERF_RECORD_MISC.KERNEL, raw: [1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0] },
        { type: PERF_RECORD.SAMPLE, misc: PERF_RECORD_MISC.KERNEL, raw: [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0] },
        { type: PERF_RECORD.SAMPLE, misc: PERF_RECORD_MISC.KERNEL, raw: new Array<number>(12).fill(7) },
      ],
      nothingMore: 0,
      fill: { accepted: 18, refused: 7, recordLength: 216 },
      drained: 18,
      afterDrop: 0,
      after: [
        { type: PERF_RECORD.LOST, lost: 7 },
        { type: PERF_RECORD.SAMPLE, intact: true },
      ],
      afterClose: 2,
      afterUnmap: 0,
    });
    expect(kernel.phys.usageOf('perf-event:1').allocations).toBe(0);
  });

  it('takes no output on a disabled event until it is enabled (the oncpu check gives EOPNOTSUPP)', () => {
    const r: number[] = [];
    run(
      (k) =>
        function* (ctx) {
          const libc = new Libc(ctx);
          const fd = yield* libc.perfEventOpen({ ...BPF_OUTPUT, flags: 1n }, -1, 0);
          yield* libc.mmapFile(fd, 2 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED);
          const event = outputEvent(k, fd);
          r.push(event.outputSample(bytesOf(1), 0, 1));
          const task = k.sched.currentTask();
          const file = task === undefined ? undefined : k.fds.fdget(task, fd);
          if (file !== undefined) k.perfEvents.eventOf(file)?.enable();
          r.push(event.outputSample(bytesOf(1), 0, 1));
          return 0;
        },
    );
    expect(r).toEqual([-Errno.EOPNOTSUPP, 0]);
  });
});
