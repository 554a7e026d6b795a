import type { Prng } from '../../time/prng.js';
import type { PcapFile } from './pcap.js';

/** One frame arriving on the wire at virtual time `timeNs`. */
export interface ArrivingFrame {
  timeNs: number;
  data: Uint8Array;
}

/** A workload driving a NIC: frames in non-decreasing time order. */
export type PacketSource = Iterable<ArrivingFrame>;

/** Replay a pcap capture starting at virtual time `startNs`, keeping the gaps between records. */
export function* pcapSource(file: PcapFile, startNs = 0): Generator<ArrivingFrame> {
  const first = file.records[0];
  for (const record of file.records) {
    const offset = first === undefined ? 0 : (record.seconds - first.seconds) * 1e9 + (record.nanoseconds - first.nanoseconds);
    yield { timeNs: startNs + Math.max(0, offset), data: record.data };
  }
}

export interface UdpFlowOptions {
  /** Frames to send. */
  count: number;
  /** Mean gap between frames, ns (exponentially distributed when `poisson`). */
  intervalNs: number;
  poisson?: boolean;
  /** UDP payload bytes. */
  payloadBytes?: number;
  /** Number of distinct source ports (flows). */
  flows?: number;
  startNs?: number;
  dstPort?: number;
}

/** Ethernet + IPv4 + UDP frames from 10.0.0.x to 10.0.1.1, generated from the kernel PRNG (deterministic). */
export function* udpFlowSource(random: Prng, options: UdpFlowOptions): Generator<ArrivingFrame> {
  const payload = options.payloadBytes ?? 64;
  const flows = Math.max(1, options.flows ?? 4);
  let time = options.startNs ?? 0;
  for (let index = 0; index < options.count; index++) {
    const flow = random.nextInt(0, flows - 1);
    yield {
      timeNs: Math.round(time),
      data: buildUdpFrame((10 << 24) | (flow + 2), (10 << 24) | (1 << 8) | 1, 10000 + flow, options.dstPort ?? 4789, payload, index),
    };
    const gap = options.poisson === true ? -Math.log(1 - random.nextFloat()) * options.intervalNs : options.intervalNs;
    time += gap;
  }
}

/** Build an Ethernet II / IPv4 / UDP frame with a valid IPv4 header checksum. */
export function buildUdpFrame(srcIp: number, dstIp: number, srcPort: number, dstPort: number, payloadBytes: number, sequence: number): Uint8Array {
  const frame = new Uint8Array(14 + 20 + 8 + payloadBytes);
  const view = new DataView(frame.buffer);
  frame.set([0x02, 0, 0, 0, 0, 0x01], 0); // destination MAC
  frame.set([0x02, 0, 0, 0, 0, 0x02], 6); // source MAC
  view.setUint16(12, 0x0800);
  const ip = 14;
  view.setUint8(ip, 0x45);
  view.setUint16(ip + 2, 20 + 8 + payloadBytes);
  view.setUint16(ip + 4, sequence & 0xffff);
  view.setUint8(ip + 8, 64);
  view.setUint8(ip + 9, 17);
  view.setUint32(ip + 12, srcIp >>> 0);
  view.setUint32(ip + 16, dstIp >>> 0);
  let sum = 0;
  for (let offset = 0; offset < 20; offset += 2) sum += view.getUint16(ip + offset);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  view.setUint16(ip + 10, ~sum & 0xffff);
  const udp = ip + 20;
  view.setUint16(udp, srcPort);
  view.setUint16(udp + 2, dstPort);
  view.setUint16(udp + 4, 8 + payloadBytes);
  for (let index = 0; index < payloadBytes; index++) frame[udp + 8 + index] = (sequence + index) & 0xff;
  return frame;
}
