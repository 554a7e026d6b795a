/**
 * The user-space side of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF), as libbpf's ring_buffer__add and
 * ring_buffer__consume read it: the consumer page mapped read-write at `consumer`, the producer page and the
 * data area (mapped twice in a row by the kernel) read-only at `producer`.
 *
 * consume: load consumer_pos and producer_pos (acquire), and from the consumer to the producer read each
 * 8-byte header: a BUSY record stops the walk (not committed yet), a DISCARD record is skipped, any other is
 * handed to the callback; consumer_pos is stored (release) after each record so the kernel may reuse the
 * space. A record that wraps around the end reads contiguously thanks to the double mapping.
 */
import type { UserMemory } from '../abi.js';
import { PAGE_SIZE } from '../mman.js';
import { BPF_RINGBUF } from './constants.js';

const EMPTY: Uint8Array = new Uint8Array(0);
const EMPTY_VIEW: DataView = new DataView(new ArrayBuffer(0));

const u64 = (view: DataView, offset: number): number => view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;

/** roundup_len: the record's length without its busy/discard bits, plus the header, rounded up to 8. */
const roundupLen = (len: number): number => (((len & ~(BPF_RINGBUF.BUSY_BIT | BPF_RINGBUF.DISCARD_BIT)) >>> 0) + BPF_RINGBUF.HDR_SZ + 7) & ~7;

/** The two mappings libbpf makes of a ring buffer map fd of `ringSize` data bytes: their lengths, offsets and protections. */
export const RINGBUF_MMAP = {
  /** consumer_pos: one page at offset 0, PROT_READ | PROT_WRITE. */
  consumer: { offset: 0, length: PAGE_SIZE },
  /** producer_pos and the data area twice: from page 1, PROT_READ only. */
  producer: (ringSize: number) => ({ offset: PAGE_SIZE, length: PAGE_SIZE + 2 * ringSize }),
} as const;

export class RingBufferReader {
  constructor(
    private readonly mem: UserMemory,
    /** Where the consumer page is mapped (read-write). */
    readonly consumer: number,
    /** Where the producer page is mapped, the data area following it (read-only). */
    readonly producer: number,
    /** The ring's max_entries: its data bytes (a power of 2). */
    readonly ringSize: number,
  ) {}

  private readonly posBytes = new Uint8Array(8);
  private readonly posView = new DataView(this.posBytes.buffer);

  /** smp_load_acquire of a position (u64) from the consumer or producer page. */
  private load(address: number): number {
    this.mem.readInto(address, this.posBytes, 0, 8);
    return u64(this.posView, 0);
  }

  private storeConsumer(pos: number): void {
    this.posView.setUint32(0, pos % 2 ** 32, true);
    this.posView.setUint32(4, Math.floor(pos / 2 ** 32), true);
    this.mem.write(this.consumer, this.posBytes);
  }

  /** Bytes published and not consumed (producer_pos - consumer_pos). */
  available(): number {
    return this.load(this.producer) - this.load(this.consumer);
  }

  /**
   * ring_buffer__consume for this ring: hand every committed, not discarded sample to `onSample` and advance
   * consumer_pos past it; stop at a record still BUSY. A negative `onSample` result stops early, with
   * consumer_pos past that record, and is returned. Otherwise: the number of samples.
   *
   * Records are read from one copy of what was published (up to the end of the data area: past it, the
   * kernel's mirror holds only the tails of records that wrap, which are read on their own), and each sample
   * is a view of that copy: it stays valid after the callback (it is not the ring's memory, which the producer
   * reuses), and it keeps the copy alive, so slice what you keep.
   */
  consume(onSample: (sample: Uint8Array) => number | void): number {
    const data = this.producer + PAGE_SIZE;
    let consPos = this.load(this.consumer);
    let count = 0;
    for (let gotNewData = true; gotNewData;) {
      gotNewData = false;
      const prodPos = this.load(this.producer);
      let batch = EMPTY;
      let view = EMPTY_VIEW;
      /** The position the copy starts at, and its offset in the data area. */
      let batchPos = consPos;
      let batchOffset = 0;
      while (consPos < prodPos) {
        if (consPos - batchPos >= batch.length) {
          batchPos = consPos;
          // Positions are u64 counters: `%` keeps them exact past 2^32, where `&` would not.
          batchOffset = consPos % this.ringSize;
          batch = this.mem.read(data + batchOffset, Math.min(prodPos - consPos, this.ringSize - batchOffset));
          view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
        }
        const at = consPos - batchPos;
        const hdr = data + batchOffset + at;
        // Records tile [consumer_pos, producer_pos), so a header lies inside the copy unless user space moved
        // consumer_pos into the middle of a record: then its bytes are read from the ring as they are.
        const len = at + BPF_RINGBUF.HDR_SZ <= batch.length ? view.getUint32(at, true) : this.header(hdr);
        if ((len & BPF_RINGBUF.BUSY_BIT) !== 0) {
          this.storeConsumer(consPos);
          return count;
        }
        gotNewData = true;
        consPos += roundupLen(len);
        if ((len & BPF_RINGBUF.DISCARD_BIT) === 0) {
          const size = (len & ~(BPF_RINGBUF.BUSY_BIT | BPF_RINGBUF.DISCARD_BIT)) >>> 0;
          const start = at + BPF_RINGBUF.HDR_SZ;
          // A sample that wraps goes on in the mirror: read it from the ring, contiguous there.
          const sample = start + size <= batch.length ? batch.subarray(start, start + size) : this.mem.read(hdr + BPF_RINGBUF.HDR_SZ, size);
          const err = onSample(sample);
          if (typeof err === 'number' && err < 0) {
            this.storeConsumer(consPos);
            return err;
          }
          count++;
        }
      }
      // libbpf stores consumer_pos after each record so a producer on another CPU can reuse the space at once.
      // Here nothing runs in the kernel while this loop does (the callback cannot make a syscall), so one store
      // per batch is the same to every observer, and saves a user-memory write per record.
      this.storeConsumer(consPos);
    }
    return count;
  }

  /** A record header's len word read from the ring itself. */
  private header(address: number): number {
    this.mem.readInto(address, this.posBytes, 0, 4);
    return this.posView.getUint32(0, true);
  }
}
