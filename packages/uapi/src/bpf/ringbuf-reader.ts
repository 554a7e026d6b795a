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
  private readonly mask: number;

  constructor(
    private readonly mem: UserMemory,
    /** Where the consumer page is mapped (read-write). */
    readonly consumer: number,
    /** Where the producer page is mapped, the data area following it (read-only). */
    readonly producer: number,
    /** The ring's max_entries: its data bytes (a power of 2). */
    readonly ringSize: number,
  ) {
    this.mask = ringSize - 1;
  }

  private load(address: number): number {
    const bytes = this.mem.read(address, 8);
    return u64(new DataView(bytes.buffer, bytes.byteOffset, 8), 0);
  }

  private storeConsumer(pos: number): void {
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, pos % 2 ** 32, true);
    view.setUint32(4, Math.floor(pos / 2 ** 32), true);
    this.mem.write(this.consumer, bytes);
  }

  /** Bytes published and not consumed (producer_pos - consumer_pos). */
  available(): number {
    return this.load(this.producer) - this.load(this.consumer);
  }

  /**
   * ring_buffer__consume for this ring: hand every committed, not discarded sample to `onSample` (a copy of
   * its bytes) and advance consumer_pos past it; stop at a record still BUSY. A negative `onSample` result
   * stops early, with consumer_pos past that record, and is returned. Otherwise: the number of samples.
   */
  consume(onSample: (sample: Uint8Array) => number | void): number {
    const data = this.producer + PAGE_SIZE;
    let consPos = this.load(this.consumer);
    let count = 0;
    for (let gotNewData = true; gotNewData;) {
      gotNewData = false;
      const prodPos = this.load(this.producer);
      while (consPos < prodPos) {
        const hdr = data + (consPos & this.mask);
        const header = this.mem.read(hdr, BPF_RINGBUF.HDR_SZ);
        const len = new DataView(header.buffer, header.byteOffset, 8).getUint32(0, true);
        if ((len & BPF_RINGBUF.BUSY_BIT) !== 0) return count;
        gotNewData = true;
        consPos += roundupLen(len);
        if ((len & BPF_RINGBUF.DISCARD_BIT) === 0) {
          const size = (len & ~(BPF_RINGBUF.BUSY_BIT | BPF_RINGBUF.DISCARD_BIT)) >>> 0;
          const err = onSample(this.mem.read(hdr + BPF_RINGBUF.HDR_SZ, size));
          if (typeof err === 'number' && err < 0) {
            this.storeConsumer(consPos);
            return err;
          }
          count++;
        }
        this.storeConsumer(consPos);
      }
    }
    return count;
  }
}
