import type { KernelInternals } from '../services.js';
import { BlockDevice } from './block.js';
import { createCharDevice, makedev, nullOps, urandomOps, zeroOps } from './chardev.js';
import { Console } from './console.js';
import type { NetDevice, NicModelRegistry, NicServices } from './net/model.js';
import { PerfTimer, type PerfTimerServices } from './timer.js';

/** What probing devices uses: the VFS for /dev nodes, the PRNG for urandom, the configuration, and what the devices themselves use. */
export type DeviceServices = NicServices & PerfTimerServices & Pick<KernelInternals, 'vfs' | 'random'>;

/**
 * Device probing and lookup: creates /dev nodes (console, null, zero, urandom, block devices), the NICs named
 * in the configuration through the NIC model registry, and the perf timer.
 */
export class DeviceManager {
  readonly console: Console;
  readonly timer: PerfTimer;
  readonly nics: NetDevice[] = [];
  readonly block: BlockDevice[] = [];
  /** The network stack's receive entry (netif_receive_skb), set when the stack starts: NICs hand it what XDP passed. */
  stackReceive: ((nic: NetDevice, frame: Uint8Array) => void) | undefined = undefined;

  constructor(
    private readonly k: DeviceServices,
    private readonly nicModels: NicModelRegistry,
    onConsole?: (text: string) => void,
  ) {
    this.console = new Console(k.clock, onConsole);
    this.timer = new PerfTimer(k);
  }

  probe(): void {
    const k = this.k;
    createCharDevice(k.vfs, '/dev/console', makedev(5, 1), this.console.ops, 0o620);
    createCharDevice(k.vfs, '/dev/null', makedev(1, 3), nullOps);
    createCharDevice(k.vfs, '/dev/zero', makedev(1, 5), zeroOps);
    createCharDevice(k.vfs, '/dev/urandom', makedev(1, 9), urandomOps(k.random));
    k.config.devices.block.forEach((config, minor) => {
      const device = new BlockDevice(config, minor * 16, k.vfs.rootfs.dev, k.vfs.rootfs.allocateIno());
      k.vfs.bind(`/dev/${config.name}`, device.inode);
      this.block.push(device);
    });
    k.config.devices.nics.forEach((config, index) => {
      // ifindex 1 is lo in Linux; NICs start at 2.
      const name = config.name ?? `eth${index}`;
      this.nics.push(this.nicModels.create(config.model, k, config, index + 2, name));
    });
  }

  /** The NIC with `ifindex`, for XDP_REDIRECT. */
  netByIndex(ifindex: number): NetDevice | undefined {
    return this.nics.find((nic) => nic.ifindex === ifindex);
  }

  net(name: string): NetDevice | undefined {
    return this.nics.find((nic) => nic.name === name);
  }
}
