/**
 * A PERF_EVENT_ARRAY consumer, as libbpf's perf_buffer__new / __poll / __consume / __free
 * (tools/lib/bpf/libbpf.c), over the perf_event_open, bpf() and epoll ABI only. For each CPU (up to the map's
 * max_entries): perf_event_open of a PERF_TYPE_SOFTWARE / PERF_COUNT_SW_BPF_OUTPUT event with sample_type
 * PERF_SAMPLE_RAW, sample_period 1 and wakeup_events 1 on that CPU (pid -1, PERF_FLAG_FD_CLOEXEC), mmap of
 * 1 + page_cnt pages read-write, PERF_EVENT_IOC_ENABLE, the map's slot for the CPU set to the event fd, and
 * EPOLL_CTL_ADD of the event fd for EPOLLIN. poll: epoll_wait, then read each reported CPU's ring from
 * data_tail to data_head (uapi's PerfRingReader) calling the sample callback for PERF_RECORD_SAMPLE and the
 * lost callback for PERF_RECORD_LOST.
 */
import {
  BPF_MAP_TYPE,
  EPOLL,
  EPOLL_CLOEXEC,
  EPOLL_CTL,
  Errno,
  MAP,
  PAGE_SIZE,
  PERF_COUNT_SW,
  PERF_EVENT_IOC,
  PERF_FLAG,
  PERF_RECORD,
  PERF_SAMPLE,
  PERF_TYPE,
  PROT,
  PerfRingReader,
} from '@ebpf-sim/uapi';
import type { Libc, PerfRecord, Sys, UserMemory } from '@ebpf-sim/uapi';

/** What the reader asks of libc, plus the process's memory to read the rings. */
export type PerfBufferLibc = Pick<
  Libc,
  'bpfMapGetInfo' | 'bpfMapUpdate' | 'perfEventOpen' | 'mmapFile' | 'munmap' | 'ioctl' | 'epollCreate1' | 'epollCtl' | 'epollWait' | 'close'
> & { readonly ctx: { readonly mem: UserMemory } };

/** perf_buffer_sample_fn: the CPU and the sample's raw bytes (with the padding perf adds to 8 bytes). */
export type PerfBufferSampleFn = (cpu: number, data: Uint8Array) => void;
/** perf_buffer_lost_fn: the CPU and how many samples were dropped. */
export type PerfBufferLostFn = (cpu: number, lost: number) => void;

export interface PerfBufferOptions {
  /** Data pages per CPU (page_cnt): a power of two. */
  readonly pageCount: number;
  readonly onSample: PerfBufferSampleFn;
  readonly onLost?: PerfBufferLostFn;
  /** libbpf_num_possible_cpus (libbpf reads /sys/devices/system/cpu/possible). */
  readonly possibleCpus: number;
}

interface CpuBuffer {
  readonly cpu: number;
  readonly fd: number;
  readonly base: number;
  readonly reader: PerfRingReader;
}

/** One perf event and ring per CPU, and the epoll instance over them (struct perf_buffer). */
export class PerfBuffer {
  private readonly buffers: CpuBuffer[] = [];
  private readonly mmapSize: number;
  private readonly dispatch: (cpu: number, record: PerfRecord) => void;

  private constructor(
    private readonly libc: PerfBufferLibc,
    /** perf_buffer__epoll_fd. */
    readonly epollFd: number,
    options: PerfBufferOptions,
  ) {
    this.mmapSize = (options.pageCount + 1) * PAGE_SIZE;
    const { onSample, onLost } = options;
    this.dispatch = (cpu, record) => {
      if (record.type === PERF_RECORD.SAMPLE && 'raw' in record) onSample(cpu, record.raw);
      else if (record.type === PERF_RECORD.LOST && 'lost' in record) onLost?.(cpu, record.lost);
    };
  }

  /** perf_buffer__new: the buffer, or -errno (EINVAL for a page count that is not a power of two or a map of another type). */
  static *create(libc: PerfBufferLibc, mapFd: number, options: PerfBufferOptions): Sys<PerfBuffer | number> {
    const pages = options.pageCount;
    if (pages <= 0 || (pages & (pages - 1)) !== 0) return -Errno.EINVAL;
    const info = yield* libc.bpfMapGetInfo(mapFd);
    if (!info.ok) return -info.errno;
    if (info.value.type !== BPF_MAP_TYPE.PERF_EVENT_ARRAY) return -Errno.EINVAL;
    const epollFd = yield* libc.epollCreate1(EPOLL_CLOEXEC);
    if (epollFd < 0) return epollFd;
    const pb = new PerfBuffer(libc, epollFd, options);
    const maxEntries = info.value.maxEntries;
    const cpus = maxEntries !== 0 && maxEntries < options.possibleCpus ? maxEntries : options.possibleCpus;
    for (let cpu = 0; cpu < cpus; cpu++) {
      const err = yield* pb.openCpu(mapFd, cpu);
      if (err < 0) {
        yield* pb.free();
        return err;
      }
    }
    return pb;
  }

  /** perf_buffer__open_cpu_buf, then the map slot and the epoll item: 0 or -errno. */
  private *openCpu(mapFd: number, cpu: number): Sys<number> {
    const libc = this.libc;
    const fd = yield* libc.perfEventOpen(
      { type: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.BPF_OUTPUT, sampleType: PERF_SAMPLE.RAW, samplePeriod: 1, wakeupEvents: 1 },
      -1,
      cpu,
      -1,
      PERF_FLAG.FD_CLOEXEC,
    );
    if (fd < 0) return fd;
    const base = yield* libc.mmapFile(fd, this.mmapSize, PROT.READ | PROT.WRITE, MAP.SHARED, 0);
    if (base < 0) {
      yield* libc.close(fd);
      return base;
    }
    const fail = function* (this: PerfBuffer, err: number): Sys<number> {
      yield* libc.munmap(base, this.mmapSize);
      yield* libc.close(fd);
      return err;
    }.bind(this);
    const enabled = yield* libc.ioctl(fd, PERF_EVENT_IOC.ENABLE, 0);
    if (enabled < 0) return yield* fail(enabled);
    const key = new Uint8Array(4);
    const value = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, cpu, true);
    new DataView(value.buffer).setUint32(0, fd, true);
    const updated = yield* libc.bpfMapUpdate(mapFd, key, value, 0);
    if (updated < 0) return yield* fail(updated);
    const added = yield* libc.epollCtl(this.epollFd, EPOLL_CTL.ADD, fd, { events: EPOLL.IN, data: BigInt(this.buffers.length) });
    if (added < 0) return yield* fail(added);
    this.buffers.push({ cpu, fd, base, reader: new PerfRingReader(libc.ctx.mem, base) });
    return 0;
  }

  /** CPUs with a ring (perf_buffer__buffer_cnt). */
  get bufferCount(): number {
    return this.buffers.length;
  }

  /**
   * perf_buffer__poll: wait up to `timeoutMs` (virtual time; -1 forever, 0 not at all), then read the rings
   * epoll reported. The number of rings reported, or -errno.
   */
  *poll(timeoutMs: number): Sys<number> {
    const { ret, events } = yield* this.libc.epollWait(this.epollFd, Math.max(1, this.buffers.length), timeoutMs);
    if (ret < 0) return ret;
    for (const event of events) {
      const buffer = this.buffers[Number(event.data)];
      if (buffer !== undefined) this.read(buffer);
    }
    return ret;
  }

  /** perf_buffer__consume: read every ring without waiting. */
  consume(): number {
    let records = 0;
    for (const buffer of this.buffers) records += this.read(buffer);
    return records;
  }

  private read(buffer: CpuBuffer): number {
    const cpu = buffer.cpu;
    return buffer.reader.consume((record) => this.dispatch(cpu, record));
  }

  /** perf_buffer__free: unmap and close every CPU's event, close the epoll instance. */
  *free(): Sys<void> {
    for (const buffer of this.buffers) {
      yield* this.libc.munmap(buffer.base, this.mmapSize);
      yield* this.libc.close(buffer.fd);
    }
    this.buffers.length = 0;
    yield* this.libc.close(this.epollFd);
  }
}
