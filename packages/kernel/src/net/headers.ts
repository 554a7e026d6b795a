/**
 * Ethernet, IPv4, UDP and TCP headers as they are on the wire (network byte order, real checksums), so packet
 * programs (XDP, tc, socket filters) parse the frames the stack sends exactly as they parse Linux's.
 */
import { ETH_ALEN, ETH_HLEN, ETH_P, IPPROTO, IPV4_HLEN, TCP_HLEN, UDP_HLEN } from '@ebpf-sim/uapi';

/** The ones'-complement sum of `length` bytes from `start` (RFC 1071), not yet folded or inverted. */
export function onesSum(view: DataView, start: number, length: number, initial = 0): number {
  let sum = initial;
  let i = 0;
  for (; i + 1 < length; i += 2) sum += view.getUint16(start + i, false);
  if (i < length) sum += view.getUint8(start + i) << 8;
  return sum;
}

/** Fold a ones'-complement sum to 16 bits and invert it: the checksum field's value. */
export function foldChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** The IPv4 pseudo-header's sum (source, destination, protocol, L4 length) that UDP and TCP checksums cover. */
function pseudoSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** What one IPv4 packet carries: the addresses (host order) and the L4 header's fields. */
export interface Ipv4Packet {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  src: number;
  dst: number;
  protocol: number;
  /** IP identification (ip_select_ident). */
  id: number;
  srcPort: number;
  dstPort: number;
  /** TCP only. */
  seq: number;
  ack: number;
  flags: number;
  window: number;
  payload: Uint8Array;
}

/** The L4 header size of `protocol`. */
const l4Header = (protocol: number): number => (protocol === IPPROTO.TCP ? TCP_HLEN : UDP_HLEN);

/** Build an Ethernet frame carrying an IPv4 UDP or TCP packet, with the IP header checksum and the L4 checksum. */
export function buildFrame(p: Ipv4Packet): Uint8Array {
  const l4 = l4Header(p.protocol);
  const l4Length = l4 + p.payload.length;
  const frame = new Uint8Array(ETH_HLEN + IPV4_HLEN + l4Length);
  const view = new DataView(frame.buffer);
  frame.set(p.dstMac.subarray(0, ETH_ALEN), 0);
  frame.set(p.srcMac.subarray(0, ETH_ALEN), ETH_ALEN);
  view.setUint16(12, ETH_P.IP, false);
  const ip = ETH_HLEN;
  view.setUint8(ip, 0x45);
  view.setUint16(ip + 2, IPV4_HLEN + l4Length, false);
  view.setUint16(ip + 4, p.id & 0xffff, false);
  // Don't Fragment, as Linux sets it on TCP and on UDP with path-MTU discovery on (the default).
  view.setUint16(ip + 6, 0x4000, false);
  view.setUint8(ip + 8, 64);
  view.setUint8(ip + 9, p.protocol);
  view.setUint32(ip + 12, p.src, false);
  view.setUint32(ip + 16, p.dst, false);
  view.setUint16(ip + 10, foldChecksum(onesSum(view, ip, IPV4_HLEN)), false);
  const th = ip + IPV4_HLEN;
  view.setUint16(th, p.srcPort, false);
  view.setUint16(th + 2, p.dstPort, false);
  frame.set(p.payload, th + l4);
  let checksumAt: number;
  if (p.protocol === IPPROTO.TCP) {
    view.setUint32(th + 4, p.seq >>> 0, false);
    view.setUint32(th + 8, p.ack >>> 0, false);
    view.setUint8(th + 12, (TCP_HLEN / 4) << 4);
    view.setUint8(th + 13, p.flags);
    view.setUint16(th + 14, p.window, false);
    checksumAt = th + 16;
  } else {
    view.setUint16(th + 4, l4Length, false);
    checksumAt = th + 6;
  }
  let sum = foldChecksum(onesSum(view, th, l4Length, pseudoSum(p.src, p.dst, p.protocol, l4Length)));
  // A UDP checksum that computes to 0 is sent as 0xffff (0 means "none").
  if (sum === 0 && p.protocol === IPPROTO.UDP) sum = 0xffff;
  view.setUint16(checksumAt, sum, false);
  return frame;
}

/** The parsed headers of a received IPv4 packet (offsets into the bytes it was parsed from). */
export interface ParsedIpv4 {
  src: number;
  dst: number;
  protocol: number;
  /** Offset of the L4 header and the bytes from it to the end of the IP packet. */
  l4: number;
  l4Length: number;
}

/**
 * ip_rcv_core's checks on the IPv4 header at `at` (`length` bytes available): version 4, IHL >= 5, total
 * length within the buffer, a correct header checksum. Undefined for a packet ip_rcv drops.
 */
export function parseIpv4(view: DataView, at: number, length: number): ParsedIpv4 | undefined {
  if (length < IPV4_HLEN) return undefined;
  const vihl = view.getUint8(at);
  const ihl = (vihl & 0xf) * 4;
  if (vihl >> 4 !== 4 || ihl < IPV4_HLEN) return undefined;
  const total = view.getUint16(at + 2, false);
  if (total > length || total < ihl) return undefined;
  if (foldChecksum(onesSum(view, at, ihl)) !== 0) return undefined;
  return { src: view.getUint32(at + 12, false), dst: view.getUint32(at + 16, false), protocol: view.getUint8(at + 9), l4: at + ihl, l4Length: total - ihl };
}

/** Whether the UDP or TCP checksum of a parsed packet is right (a UDP checksum of 0 means none was sent). */
export function l4ChecksumOk(view: DataView, ip: ParsedIpv4): boolean {
  if (ip.protocol === IPPROTO.UDP && view.getUint16(ip.l4 + 6, false) === 0) return true;
  return foldChecksum(onesSum(view, ip.l4, ip.l4Length, pseudoSum(ip.src, ip.dst, ip.protocol, ip.l4Length))) === 0;
}
