/**
 * A BPF ring buffer consumer, as libbpf's ring_buffer__new / __add / __poll / __consume / __free
 * (tools/lib/bpf/ringbuf.c), over the bpf() and epoll ABI only:
 *
 * - add: BPF_OBJ_GET_INFO_BY_FD (the map must be a RINGBUF: EINVAL otherwise), mmap of the consumer page
 *   PROT_READ|PROT_WRITE at offset 0, mmap of the producer page and the data area twice PROT_READ at offset
 *   one page, then EPOLL_CTL_ADD of the map fd for EPOLLIN with the ring's index as the event data;
 * - poll: epoll_wait for up to the ring count, then consume each ring that was reported; returns the
 *   records handed to callbacks, or the first negative callback result / -errno;
 * - consume: every ring, without waiting.
 *
 * Records are walked by uapi's RingBufferReader (busy bit stops, discard bit skips, 8-byte alignment).
 */
import { EPOLL, EPOLL_CLOEXEC, EPOLL_CTL, BPF_MAP_TYPE, Errno, MAP, PAGE_SIZE, PROT, RINGBUF_MMAP, RingBufferReader } from '@ebpf-sim/uapi';
import type { Libc, Sys, UserMemory } from '@ebpf-sim/uapi';

/** What the reader asks of libc: map info, mmap, epoll and close, plus the process's memory to read the rings. */
export type RingBufferLibc = Pick<Libc, 'bpfMapGetInfo' | 'mmapFile' | 'munmap' | 'epollCreate1' | 'epollCtl' | 'epollWait' | 'close'> & {
  readonly ctx: { readonly mem: UserMemory };
};

/** ring_buffer_sample_fn: the sample's bytes; a negative return stops the consumption and is returned. */
export type RingBufferSampleFn = (data: Uint8Array) => number | void;

interface Ring {
  readonly mapFd: number;
  readonly callback: RingBufferSampleFn;
  readonly reader: RingBufferReader;
  readonly consumer: number;
  readonly producer: number;
  readonly producerLength: number;
}

/** A set of ring buffers and the epoll instance that waits on them (struct ring_buffer). */
export class RingBuffer {
  private readonly rings: Ring[] = [];

  private constructor(
    private readonly libc: RingBufferLibc,
    /** ring_buffer__epoll_fd. */
    readonly epollFd: number,
  ) {}

  /** ring_buffer__new: an epoll instance and the first ring. The RingBuffer, or -errno. */
  static *create(libc: RingBufferLibc, mapFd: number, callback: RingBufferSampleFn): Sys<RingBuffer | number> {
    const epollFd = yield* libc.epollCreate1(EPOLL_CLOEXEC);
    if (epollFd < 0) return epollFd;
    const rb = new RingBuffer(libc, epollFd);
    const err = yield* rb.add(mapFd, callback);
    if (err < 0) {
      yield* rb.free();
      return err;
    }
    return rb;
  }

  /** ring_buffer__add: 0 or -errno (EINVAL for a map that is not a RINGBUF). */
  *add(mapFd: number, callback: RingBufferSampleFn): Sys<number> {
    const libc = this.libc;
    const info = yield* libc.bpfMapGetInfo(mapFd);
    if (!info.ok) return -info.errno;
    if (info.value.type !== BPF_MAP_TYPE.RINGBUF) return -Errno.EINVAL;
    const ringSize = info.value.maxEntries;
    const consumer = yield* libc.mmapFile(mapFd, RINGBUF_MMAP.consumer.length, PROT.READ | PROT.WRITE, MAP.SHARED, RINGBUF_MMAP.consumer.offset);
    if (consumer < 0) return consumer;
    const layout = RINGBUF_MMAP.producer(ringSize);
    const producer = yield* libc.mmapFile(mapFd, layout.length, PROT.READ, MAP.SHARED, layout.offset);
    if (producer < 0) {
      yield* libc.munmap(consumer, PAGE_SIZE);
      return producer;
    }
    const index = this.rings.length;
    const err = yield* libc.epollCtl(this.epollFd, EPOLL_CTL.ADD, mapFd, { events: EPOLL.IN, data: BigInt(index) });
    if (err < 0) {
      yield* libc.munmap(consumer, PAGE_SIZE);
      yield* libc.munmap(producer, layout.length);
      return err;
    }
    this.rings.push({
      mapFd,
      callback,
      reader: new RingBufferReader(libc.ctx.mem, consumer, producer, ringSize),
      consumer,
      producer,
      producerLength: layout.length,
    });
    return 0;
  }

  /**
   * ring_buffer__poll: wait up to `timeoutMs` (virtual time; -1 forever, 0 not at all) for a ring to be
   * readable, then consume the rings reported. The records consumed, or a negative callback result / -errno.
   */
  *poll(timeoutMs: number): Sys<number> {
    const { ret, events } = yield* this.libc.epollWait(this.epollFd, Math.max(1, this.rings.length), timeoutMs);
    if (ret < 0) return ret;
    let total = 0;
    for (const event of events) {
      const ring = this.rings[Number(event.data)];
      if (ring === undefined) continue;
      const count = ring.reader.consume(ring.callback);
      if (count < 0) return count;
      total += count;
    }
    return Math.min(total, 0x7fffffff);
  }

  /** ring_buffer__consume: every ring, no waiting. The records consumed, or a negative callback result. */
  consume(): number {
    let total = 0;
    for (const ring of this.rings) {
      const count = ring.reader.consume(ring.callback);
      if (count < 0) return count;
      total += count;
    }
    return Math.min(total, 0x7fffffff);
  }

  /** Bytes not yet consumed in ring `index` (ring__avail_data_size). */
  available(index = 0): number {
    return this.rings[index]?.reader.available() ?? 0;
  }

  /** ring_buffer__free: unmap every ring and close the epoll instance. */
  *free(): Sys<void> {
    for (const ring of this.rings) {
      yield* this.libc.munmap(ring.consumer, PAGE_SIZE);
      yield* this.libc.munmap(ring.producer, ring.producerLength);
    }
    this.rings.length = 0;
    yield* this.libc.close(this.epollFd);
  }
}
