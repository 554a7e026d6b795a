/**
 * The loopback device `lo` (drivers/net/loopback.c): ifindex 1, 127.0.0.1/8, MTU 65536, an all-zero MAC. A
 * transmitted frame goes back up the stack: loopback_xmit hands it to netif_rx, which queues it on the CPU's
 * backlog and raises the receive softirq; here the backlog is drained by a virtual-time event right after the
 * transmitting code returns, so receive never runs inside the sender's call chain.
 */
import { ARPHRD, ipv4 } from '@ebpf-sim/uapi';
import type { HookPoint } from '../hooks/hook.js';
import { NET_DEVICE, SK_BUFF } from '../hooks/kernel-objects.js';
import type { KernelInternals } from '../services.js';
import type { TimerEvent } from '../time/clock.js';
import { ZERO_MAC, type InterfaceAddress, type NetInterface } from './interface.js';

/** lo's MTU (LOOPBACK_MTU since Linux 4.18... 64 KiB: 65536). */
export const LOOPBACK_MTU = 65536;

/** What lo uses: memory for its net_device, its tc hooks, the clock for the backlog softirq. */
export type LoopbackServices = Pick<KernelInternals, 'phys' | 'hooks' | 'hookArena' | 'clock'>;

export class LoopbackDevice implements NetInterface {
  readonly name = 'lo';
  readonly ifindex = 1;
  readonly netdev: number;
  readonly mac = ZERO_MAC;
  readonly mtu = LOOPBACK_MTU;
  readonly hatype = ARPHRD.LOOPBACK;
  readonly tcIngress: HookPoint;
  readonly tcEgress: HookPoint;
  readonly addresses: InterfaceAddress[] = [{ addr: ipv4('127.0.0.1'), prefix: 8 }];
  /** Frames transmitted and received (lo counts both the same). */
  packets = 0;
  private readonly backlog: Uint8Array[] = [];
  private softirq: TimerEvent | undefined;

  constructor(
    private readonly k: LoopbackServices,
    /** netif_receive_skb: where drained frames go (the stack's receive path). */
    private readonly receive: (dev: NetInterface, frame: Uint8Array) => void,
  ) {
    this.tcIngress = k.hooks.define('tc:ingress:lo', 'tc', SK_BUFF.size, []);
    this.tcEgress = k.hooks.define('tc:egress:lo', 'tc', SK_BUFF.size, []);
    const netdev = k.phys.kmalloc(NET_DEVICE.size, 'netdev:lo');
    if (netdev < 0) throw new Error('lo: no memory for its net_device');
    this.netdev = netdev;
    const w = k.hookArena.write;
    w.u32(netdev + NET_DEVICE.ifindex, this.ifindex);
    w.u32(netdev + NET_DEVICE.mtu, this.mtu);
    w.cString(netdev + NET_DEVICE.name, this.name, NET_DEVICE.nameMax);
  }

  xmit(frame: Uint8Array): boolean {
    this.packets++;
    this.backlog.push(frame);
    this.softirq ??= this.k.clock.after(0, () => this.drain());
    return true;
  }

  /** process_backlog: every queued frame goes up the stack, in order (frames queued meanwhile included). */
  private drain(): void {
    this.softirq = undefined;
    for (let frame = this.backlog.shift(); frame !== undefined; frame = this.backlog.shift()) this.receive(this, frame);
  }
}
