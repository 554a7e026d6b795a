import { describe, expect, it } from 'vitest';
import type { UserMemory } from '../abi.js';
import { PERF_EVENT_MMAP_PAGE, PERF_RECORD, PERF_RECORD_MISC } from '../perf.js';
import { PerfRingReader, type PerfRecord } from './perf-ring.js';

const PAGE = 4096;
const BASE = 0x10000;

/** One header page and one data page in a flat user memory. */
function ring(): { mem: UserMemory; view: DataView } {
  const bytes = new Uint8Array(2 * PAGE);
  const view = new DataView(bytes.buffer);
  view.setUint32(PERF_EVENT_MMAP_PAGE.data_offset, PAGE, true);
  view.setUint32(PERF_EVENT_MMAP_PAGE.data_size, PAGE, true);
  const mem: UserMemory = {
    read: (address, length) => bytes.slice(address - BASE, address - BASE + length),
    readInto: (address, dst, dstOffset, length) => dst.set(bytes.subarray(address - BASE, address - BASE + length), dstOffset),
    write: (address, data) => bytes.set(data, address - BASE),
    writeFrom: (address, src, srcOffset, length) => bytes.set(src.subarray(srcOffset, srcOffset + length), address - BASE),
  };
  return { mem, view };
}

describe('PerfRingReader', () => {
  it('reads records from data_tail to data_head, joins one that wraps, and publishes data_tail', () => {
    const { mem, view } = ring();
    // The reader has consumed up to 4088; a LOST record (24 bytes) wraps: 8 bytes at the end, 16 at the start.
    const tail = PAGE - 8;
    view.setUint32(PERF_EVENT_MMAP_PAGE.data_tail, tail, true);
    const at = (offset: number): number => PAGE + (offset % PAGE);
    view.setUint32(at(tail), PERF_RECORD.LOST, true);
    view.setUint16(at(tail) + 6, 24, true);
    view.setUint32(at(tail + 8), 3, true); // id
    view.setUint32(at(tail + 16), 5, true); // lost
    const sample = tail + 24;
    view.setUint32(at(sample), PERF_RECORD.SAMPLE, true);
    view.setUint16(at(sample) + 4, PERF_RECORD_MISC.KERNEL, true);
    view.setUint16(at(sample) + 6, 24, true);
    view.setUint32(at(sample + 8), 12, true);
    for (let index = 0; index < 12; index++) view.setUint8(at(sample + 12 + index), index + 1);
    view.setUint32(PERF_EVENT_MMAP_PAGE.data_head, sample + 24, true);
    const reader = new PerfRingReader(mem, BASE);
    expect([reader.dataOffset, reader.dataSize]).toEqual([PAGE, PAGE]);
    const records: PerfRecord[] = [];
    expect(reader.consume((record) => records.push(record))).toBe(2);
    expect(records).toEqual([
      { type: PERF_RECORD.LOST, misc: 0, id: 3, lost: 5 },
      { type: PERF_RECORD.SAMPLE, misc: PERF_RECORD_MISC.KERNEL, raw: Uint8Array.from({ length: 12 }, (_, index) => index + 1) },
    ]);
    expect(view.getUint32(PERF_EVENT_MMAP_PAGE.data_tail, true)).toBe(sample + 24);
    expect(reader.consume(() => undefined)).toBe(0);
  });
});
