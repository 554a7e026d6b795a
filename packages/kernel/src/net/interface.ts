/**
 * The stack's view of a network device (struct net_device as the IP layer uses it): its name, ifindex, MAC,
 * MTU, IPv4 addresses, tc hooks and how a frame leaves it. NICs of the driver model and the loopback device
 * are both seen through this.
 */
import type { HookPoint } from '../hooks/hook.js';

/** One IPv4 address of an interface (`ip addr add ADDR/PREFIX dev IF`). */
export interface InterfaceAddress {
  /** Host order. */
  readonly addr: number;
  readonly prefix: number;
}

export interface NetInterface {
  readonly name: string;
  readonly ifindex: number;
  /** Its struct net_device in kernel memory (skb->dev). */
  readonly netdev: number;
  readonly mac: Uint8Array;
  readonly mtu: number;
  /** ARPHRD_ETHER or ARPHRD_LOOPBACK (sockaddr_ll.sll_hatype). */
  readonly hatype: number;
  readonly tcIngress: HookPoint;
  readonly tcEgress: HookPoint;
  readonly addresses: InterfaceAddress[];
  /** The device's ndo_start_xmit: the frame leaves (after tc egress). False when the device's queue is full. */
  xmit(frame: Uint8Array): boolean;
}

/** The all-zero MAC of lo and the broadcast address. */
export const ZERO_MAC = new Uint8Array(6);
export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** A NIC's MAC: locally administered 02:00:00:00:00:<ifindex> (the simulated NICs have no burned-in address). */
export function nicMac(ifindex: number): Uint8Array {
  return new Uint8Array([0x02, 0, 0, 0, (ifindex >>> 8) & 0xff, ifindex & 0xff]);
}

/** Whether `addr` is in `prefix`/`length` (host order). */
export function inPrefix(addr: number, prefix: number, length: number): boolean {
  if (length === 0) return true;
  const shift = 32 - length;
  return addr >>> shift === prefix >>> shift;
}
