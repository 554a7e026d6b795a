/**
 * Classic libpcap files (https://www.tcpdump.org/manpages/pcap-savefile.5.txt): a 24-byte global header and
 * a 16-byte header per record. Both byte orders and both the microsecond (0xa1b2c3d4) and nanosecond
 * (0xa1b23c4d) magics are read; files are written little-endian with nanosecond timestamps.
 */
export interface PcapRecord {
  /** Timestamp: seconds and nanoseconds (kept apart: epoch nanoseconds exceed 2^53). */
  seconds: number;
  nanoseconds: number;
  /** Length on the wire (may exceed data.length when the capture was truncated by the snap length). */
  originalLength: number;
  data: Uint8Array;
}

export interface PcapFile {
  linkType: number;
  snapLength: number;
  nanosecond: boolean;
  records: PcapRecord[];
}

export const LINKTYPE_ETHERNET = 1;
const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;

/** Parse a pcap file; throws an Error saying what is wrong and at which byte offset. */
export function readPcap(bytes: Uint8Array): PcapFile {
  if (bytes.length < 24) throw new Error(`pcap: file is ${bytes.length} bytes, shorter than the 24-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = view.getUint32(0, true);
  const magicBe = view.getUint32(0, false);
  let little: boolean;
  let nanosecond: boolean;
  if (magicLe === MAGIC_US || magicLe === MAGIC_NS) {
    little = true;
    nanosecond = magicLe === MAGIC_NS;
  } else if (magicBe === MAGIC_US || magicBe === MAGIC_NS) {
    little = false;
    nanosecond = magicBe === MAGIC_NS;
  } else {
    throw new Error(`pcap: bad magic 0x${magicLe.toString(16)} at offset 0 (pcapng is not supported; convert with 'editcap -F pcap')`);
  }
  const snapLength = view.getUint32(16, little);
  const linkType = view.getUint32(20, little) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let offset = 24;
  while (offset < bytes.length) {
    if (offset + 16 > bytes.length) throw new Error(`pcap: truncated record header at offset ${offset}`);
    const seconds = view.getUint32(offset, little);
    const fraction = view.getUint32(offset + 4, little);
    const included = view.getUint32(offset + 8, little);
    const originalLength = view.getUint32(offset + 12, little);
    if (offset + 16 + included > bytes.length)
      throw new Error(`pcap: record at offset ${offset} claims ${included} bytes but only ${bytes.length - offset - 16} remain`);
    records.push({
      seconds,
      nanoseconds: nanosecond ? fraction : fraction * 1000,
      originalLength,
      data: bytes.slice(offset + 16, offset + 16 + included),
    });
    offset += 16 + included;
  }
  return { linkType, snapLength, nanosecond, records };
}

/** Write records as a little-endian, nanosecond-resolution pcap file. */
export function writePcap(records: ReadonlyArray<{ timeNs: number; data: Uint8Array }>, linkType = LINKTYPE_ETHERNET, snapLength = 262144): Uint8Array {
  const total = 24 + records.reduce((n, r) => n + 16 + r.data.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC_NS, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, snapLength, true);
  view.setUint32(20, linkType, true);
  let offset = 24;
  for (const record of records) {
    view.setUint32(offset, Math.floor(record.timeNs / 1e9), true);
    view.setUint32(offset + 4, record.timeNs % 1e9, true);
    view.setUint32(offset + 8, record.data.length, true);
    view.setUint32(offset + 12, record.data.length, true);
    out.set(record.data, offset + 16);
    offset += 16 + record.data.length;
  }
  return out;
}
