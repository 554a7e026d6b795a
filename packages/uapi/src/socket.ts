/** Address families (include/linux/socket.h AF_*): the ones the socket program types meet and the socket maps check. */
export const AF = { UNSPEC: 0, UNIX: 1, INET: 2, INET6: 10, PACKET: 17, XDP: 44 } as const;
/** Bytes of an IPv6 address (struct in6_addr). */
export const IN6_ADDR_SIZE = 16;

/**
 * Socket types and the flags socket(2) and accept4(2) accept in `type` (include/linux/net.h): the low 4 bits
 * are the type (SOCK_TYPE_MASK), SOCK_NONBLOCK is O_NONBLOCK and SOCK_CLOEXEC is O_CLOEXEC.
 */
export const SOCK = { STREAM: 1, DGRAM: 2, RAW: 3, TYPE_MASK: 0xf, NONBLOCK: 0o4000, CLOEXEC: 0o2000000 } as const;

/** CAP_NET_RAW (include/uapi/linux/capability.h): packet sockets need it. */
export const CAP_NET_RAW = 13;

/** IP protocol numbers (include/uapi/linux/in.h IPPROTO_*). */
export const IPPROTO = { IP: 0, ICMP: 1, TCP: 6, UDP: 17 } as const;

/** setsockopt/getsockopt levels (SOL_SOCKET is 1 on x86_64; the others are the protocol numbers, SOL_PACKET 263). */
export const SOL = { IP: 0, SOCKET: 1, TCP: 6, UDP: 17, PACKET: 263 } as const;

/**
 * SOL_SOCKET option names (include/uapi/asm-generic/socket.h). SO_DETACH_BPF is SO_DETACH_FILTER: one call
 * removes whichever filter is attached.
 */
export const SO = {
  REUSEADDR: 2,
  TYPE: 3,
  ERROR: 4,
  BROADCAST: 6,
  SNDBUF: 7,
  RCVBUF: 8,
  KEEPALIVE: 9,
  REUSEPORT: 15,
  ATTACH_FILTER: 26,
  DETACH_FILTER: 27,
  DETACH_BPF: 27,
  ACCEPTCONN: 30,
  PROTOCOL: 38,
  DOMAIN: 39,
  ATTACH_BPF: 50,
  COOKIE: 57,
} as const;

/** send/recv flags (include/linux/socket.h MSG_*). */
export const MSG = { PEEK: 0x2, TRUNC: 0x20, DONTWAIT: 0x40, WAITALL: 0x100, NOSIGNAL: 0x4000 } as const;

/** shutdown(2)'s `how`. */
export const SHUT = { RD: 0, WR: 1, RDWR: 2 } as const;

/** SOMAXCONN (net.core.somaxconn's default since Linux 5.4): listen's backlog is capped at it. */
export const SOMAXCONN = 4096;

/** Ethernet protocol ids (include/uapi/linux/if_ether.h): ETH_P_ALL for packet sockets that see every frame. */
export const ETH_P = { ALL: 0x0003, IP: 0x0800, ARP: 0x0806, IPV6: 0x86dd } as const;
/** ETH_HLEN and ETH_ALEN: an Ethernet header and a MAC address. */
export const ETH_HLEN = 14;
export const ETH_ALEN = 6;

/** INADDR_ANY and INADDR_LOOPBACK (host order). */
export const INADDR_ANY = 0;
export const INADDR_LOOPBACK = 0x7f000001;

/** struct sockaddr_in (16 bytes): family, port (network order), address (network order), 8 bytes of zero. */
export const SOCKADDR_IN_LAYOUT = { size: 16, sin_family: 0, sin_port: 2, sin_addr: 4 } as const;

/** struct sockaddr_ll (include/uapi/linux/if_packet.h, 20 bytes): a packet socket's address. `sll_protocol` is network order. */
export const SOCKADDR_LL = { size: 20, sll_family: 0, sll_protocol: 2, sll_ifindex: 4, sll_hatype: 8, sll_pkttype: 10, sll_halen: 11, sll_addr: 12 } as const;

/** skb->pkt_type / sockaddr_ll.sll_pkttype values (PACKET_HOST ... PACKET_OUTGOING). */
export const PACKET_TYPE = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3, OUTGOING: 4 } as const;

/** ARPHRD_ETHER and ARPHRD_LOOPBACK (include/uapi/linux/if_arp.h): sockaddr_ll.sll_hatype of a NIC and of lo. */
export const ARPHRD = { ETHER: 1, LOOPBACK: 772 } as const;

/** TCP states (include/net/tcp_states.h), as sock:inet_sock_set_state reports them. */
export const TCP_STATE = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSE: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
  NEW_SYN_RECV: 12,
} as const;

/** TCP header flags (the byte at offset 13). */
export const TCP_FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** Header sizes without options: IPv4 (IHL 5), UDP, TCP (data offset 5). */
export const IPV4_HLEN = 20;
export const UDP_HLEN = 8;
export const TCP_HLEN = 20;

/** The sock:inet_sock_set_state record (Linux 6.18 format file: skaddr, states, ports host order, family, protocol, addresses). */
export const TRACE_INET_SOCK_SET_STATE = {
  size: 72,
  skaddr: 8,
  oldstate: 16,
  newstate: 20,
  sport: 24,
  dport: 26,
  family: 28,
  protocol: 30,
  saddr: 32,
  daddr: 36,
  saddr_v6: 40,
  daddr_v6: 56,
} as const;

/** The net:netif_receive_skb record: skbaddr, len, and the device name as a __data_loc string after the fixed part. */
export const TRACE_NETIF_RECEIVE_SKB = { fixedSize: 24, skbaddr: 8, len: 16, name: 20 } as const;

/** An IPv4 address in dotted-quad notation as a host-order u32 (inet_addr's value before htonl). */
export function ipv4(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((part) => !(Number.isInteger(part) && part >= 0 && part <= 255))) throw new RangeError(`not an IPv4 address: '${text}'`);
  return ((parts[0] as number) * 0x1000000 + (parts[1] as number) * 0x10000 + (parts[2] as number) * 0x100 + (parts[3] as number)) >>> 0;
}

/** A host-order IPv4 address in dotted-quad notation (inet_ntoa). */
export function ipv4String(addr: number): string {
  return `${(addr >>> 24) & 0xff}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** struct sockaddr_in for `addr` (host order u32, or dotted quad) and `port` (host order), as user space fills it. */
export function sockaddrIn(addr: number | string, port: number): Uint8Array {
  const out = new Uint8Array(SOCKADDR_IN_LAYOUT.size);
  const view = new DataView(out.buffer);
  view.setUint16(SOCKADDR_IN_LAYOUT.sin_family, AF.INET, true);
  view.setUint16(SOCKADDR_IN_LAYOUT.sin_port, port, false);
  view.setUint32(SOCKADDR_IN_LAYOUT.sin_addr, typeof addr === 'string' ? ipv4(addr) : addr, false);
  return out;
}

/** The address and port (host order) of a struct sockaddr_in, or undefined when `bytes` is not one. */
export function parseSockaddrIn(bytes: Uint8Array): { family: number; addr: number; port: number } | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    family: view.getUint16(0, true),
    addr: view.getUint32(SOCKADDR_IN_LAYOUT.sin_addr, false),
    port: view.getUint16(SOCKADDR_IN_LAYOUT.sin_port, false),
  };
}

/** struct sockaddr_ll binding a packet socket to `ifindex` (0: every device) for `protocol` (an ETH_P_* value, host order). */
export function sockaddrLl(ifindex: number, protocol: number): Uint8Array {
  const out = new Uint8Array(SOCKADDR_LL.size);
  const view = new DataView(out.buffer);
  view.setUint16(SOCKADDR_LL.sll_family, AF.PACKET, true);
  view.setUint16(SOCKADDR_LL.sll_protocol, protocol, false);
  view.setInt32(SOCKADDR_LL.sll_ifindex, ifindex, true);
  return out;
}

/** htons: a 16-bit value in network order, as socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) passes it. */
export const htons = (value: number): number => ((value & 0xff) << 8) | ((value >>> 8) & 0xff);

/** The SOL_TCP options (include/uapi/linux/tcp.h) this kernel handles. */
export const TCP_SOCKOPT = { CONGESTION: 13 } as const;
/** TCP_CA_NAME_MAX (include/net/tcp.h): a congestion control's name, NUL included. */
export const TCP_CA_NAME_MAX = 16;
