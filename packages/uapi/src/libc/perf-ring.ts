import type { UserMemory } from '../abi.js';
import { PERF_EVENT_HEADER, PERF_EVENT_MMAP_PAGE, PERF_RECORD, PERF_RECORD_LOST_LAYOUT, PERF_SAMPLE_RAW_LAYOUT } from '../perf.js';

/** One record read from a perf event's ring: a PERF_SAMPLE_RAW sample's bytes (with their padding), or a lost count. */
export type PerfRecord =
  | { readonly type: typeof PERF_RECORD.SAMPLE; readonly misc: number; readonly raw: Uint8Array }
  | { readonly type: typeof PERF_RECORD.LOST; readonly misc: number; readonly id: number; readonly lost: number }
  | { readonly type: number; readonly misc: number; readonly bytes: Uint8Array };

const u64 = (view: DataView, offset: number): number => view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;

/**
 * A user-space reader of a perf event's mmap'ed ring, as libbpf's perf_buffer reads it: load data_head with
 * acquire ordering, read each record from data_tail (copying one that wraps around the end), then store
 * data_tail with release ordering so the kernel may reuse the space. Samples are PERF_SAMPLE_RAW only.
 */
export class PerfRingReader {
  readonly dataOffset: number;
  readonly dataSize: number;

  constructor(
    private readonly mem: UserMemory,
    /** Where the ring is mapped (the perf_event_mmap_page). */
    readonly base: number,
  ) {
    const header = this.header();
    this.dataOffset = u64(header, PERF_EVENT_MMAP_PAGE.data_offset - PERF_EVENT_MMAP_PAGE.data_head);
    this.dataSize = u64(header, PERF_EVENT_MMAP_PAGE.data_size - PERF_EVENT_MMAP_PAGE.data_head);
  }

  /** data_head, data_tail, data_offset, data_size as one view. */
  private header(): DataView {
    const bytes = this.mem.read(this.base + PERF_EVENT_MMAP_PAGE.data_head, 32);
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Call `onRecord` for every record the kernel has published, consume them, and return how many there were. */
  consume(onRecord: (record: PerfRecord) => void): number {
    const header = this.header();
    const head = u64(header, 0);
    let tail = u64(header, PERF_EVENT_MMAP_PAGE.data_tail - PERF_EVENT_MMAP_PAGE.data_head);
    let count = 0;
    while (tail < head) {
      const start = tail % this.dataSize;
      const first = this.readData(start, PERF_EVENT_HEADER.size);
      const size = first.getUint16(PERF_EVENT_HEADER.size_field, true);
      if (size < PERF_EVENT_HEADER.size) throw new Error(`perf ring at 0x${this.base.toString(16)}: a record of ${size} bytes at ${tail} (corrupt ring)`);
      const record = this.readData(start, size);
      const type = record.getUint32(PERF_EVENT_HEADER.type, true);
      const misc = record.getUint16(PERF_EVENT_HEADER.misc, true);
      const bytes = new Uint8Array(record.buffer, record.byteOffset, record.byteLength);
      if (type === PERF_RECORD.SAMPLE) {
        const rawSize = record.getUint32(PERF_SAMPLE_RAW_LAYOUT.size, true);
        onRecord({ type, misc, raw: bytes.slice(PERF_SAMPLE_RAW_LAYOUT.data, PERF_SAMPLE_RAW_LAYOUT.data + rawSize) });
      } else if (type === PERF_RECORD.LOST) {
        onRecord({ type, misc, id: u64(record, PERF_RECORD_LOST_LAYOUT.id), lost: u64(record, PERF_RECORD_LOST_LAYOUT.lost) });
      } else onRecord({ type, misc, bytes: bytes.slice() });
      tail += size;
      count++;
    }
    const published = new Uint8Array(8);
    const view = new DataView(published.buffer);
    view.setUint32(0, tail % 2 ** 32, true);
    view.setUint32(4, Math.floor(tail / 2 ** 32), true);
    this.mem.write(this.base + PERF_EVENT_MMAP_PAGE.data_tail, published);
    return count;
  }

  /** `length` bytes of the data area from `start`, wrapping around its end. */
  private readData(start: number, length: number): DataView {
    const data = this.base + this.dataOffset;
    const first = Math.min(length, this.dataSize - start);
    let bytes = this.mem.read(data + start, first);
    if (first < length) {
      const joined = new Uint8Array(length);
      joined.set(bytes);
      joined.set(this.mem.read(data, length - first), first);
      bytes = joined;
    }
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}
