import { PAGE_SIZE, XDP_ACTION, XDP_PACKET_HEADROOM } from '@ebpf-sim/uapi';
import type { NicConfig } from '../../config.js';
import type { HookPoint } from '../../hooks/hook.js';
import { NET_DEVICE, SK_BUFF, XDP_BUFF, XDP_RXQ_INFO, XDP_RXQ_REG_STATE_REGISTERED, XDP_TXQ_INFO } from '../../hooks/kernel-objects.js';
import { XDP_BUFF_FIELDS } from '../../hooks/registry.js';
import type { KernelInternals } from '../../services.js';
import type { TimerEvent } from '../../time/clock.js';
import type { PacketSource } from './packet-source.js';

/**
 * What a NIC uses: physical memory (rings, its net_device), the clock, its XDP hook and the context arena,
 * the current CPU (NAPI polls on the queue's CPU), the CPU count, and the other devices (XDP_REDIRECT).
 */
export type NicServices = Pick<KernelInternals, 'phys' | 'clock' | 'hooks' | 'hookArena' | 'current' | 'config' | 'devices'>;

/** Counters of one NIC (what `ip -s link` and the XDP stats show). */
export interface NicStats {
  rxPackets: number;
  rxBytes: number;
  /** Frames lost because the RX ring was full. */
  rxRingFull: number;
  xdpPass: number;
  xdpDrop: number;
  xdpTx: number;
  xdpRedirect: number;
  xdpAborted: number;
  txPackets: number;
  txBytes: number;
  /** Frames lost because the TX ring was full. */
  txRingFull: number;
}

/** A frame that left the machine, with the virtual time its last bit went out. */
export interface WireFrame {
  timeNs: number;
  data: Uint8Array;
}

/**
 * A network device as the kernel sees it (net_device + its driver). Frames come in with `receive` (from a
 * packet source), pass the XDP hook, and go to the stack (`delivered`), back out (`XDP_TX`), to another
 * device (`XDP_REDIRECT`) or nowhere. `transmit` queues a frame on the TX ring.
 */
export interface NetDevice {
  readonly name: string;
  readonly ifindex: number;
  readonly model: string;
  readonly xdp: HookPoint;
  /**
   * tcx ingress and egress (`tc:ingress:<name>`, `tc:egress:<name>`): the programs the stack runs on each
   * sk_buff it receives from the device (in __netif_receive_skb_core, after XDP) and hands it to transmit
   * (in __dev_queue_xmit), with the tcx_run result rule (the first verdict other than TCX_NEXT).
   */
  readonly tcIngress: HookPoint;
  readonly tcEgress: HookPoint;
  /** Physical address of its struct net_device (NET_DEVICE), which each RX queue's xdp_rxq_info points to. */
  readonly netdev: number;
  /** RX queues (real_num_rx_queues). */
  readonly rxQueues: number;
  /** Physical address of RX queue `queue`'s struct xdp_rxq_info (BPF_PROG_TEST_RUN runs a frame "on" it). */
  rxqInfoOf(queue: number): number;
  /**
   * The driver implements ndo_bpf (native XDP): XDP attaches in driver mode by default and XDP_FLAGS_DRV_MODE
   * works; without it only generic (SKB) mode does, as Linux's dev_xdp_mode / dev_xdp_bpf_op decide.
   */
  readonly ndoBpf?: boolean;
  /** Physical address of the device's struct xdp_txq_info (ctx->txq of a DEVMAP program sending to it), if any. */
  readonly txqInfo?: number;
  readonly stats: NicStats;
  /** Frames handed to the network stack (XDP_PASS), oldest first. */
  readonly delivered: Uint8Array[];
  /** Frames transmitted on the wire. */
  readonly wire: WireFrame[];
  /** A frame arrives now on RX queue `queue`. */
  receive(frame: Uint8Array, queue?: number): void;
  /** Queue a frame for transmission; false when the TX ring is full. */
  transmit(frame: Uint8Array): boolean;
  /** Feed frames from `source` at their arrival times. */
  attachSource(source: PacketSource): void;
}

/** Builds a NIC of one model. */
export type NicFactory = (k: NicServices, config: NicConfig, ifindex: number, name: string) => NetDevice;

/** NIC models by name: a researcher registers a model and names it in the configuration's `devices.nics`. */
export class NicModelRegistry {
  private readonly factories = new Map<string, NicFactory>();
  register(model: string, factory: NicFactory): void {
    this.factories.set(model, factory);
  }
  names(): string[] {
    return [...this.factories.keys()];
  }
  create(model: string, k: NicServices, config: NicConfig, ifindex: number, name: string): NetDevice {
    const factory = this.factories.get(model);
    if (factory === undefined) throw new Error(`unknown NIC model '${model}': registered models are ${this.names().join(', ')}`);
    return factory(k, config, ifindex, name);
  }
}

/** NAPI budget: frames processed per poll. */
export const NAPI_POLL_WEIGHT = 64;

/**
 * A simple multi-purpose NIC: an RX ring in physical memory (one buffer per descriptor with XDP headroom),
 * interrupt-then-poll (NAPI) receive with a per-frame cost, XDP on every frame, and a TX ring drained at
 * link speed. Subclass it to change one behaviour (see LoopbackNic).
 *
 * At probe it allocates its struct net_device followed by one xdp_rxq_info per RX queue (as
 * alloc_netdev_mqs and xdp_rxq_info_reg do), charged to `nic:<name>`. Each frame's XDP context is a struct
 * xdp_buff built on the polling CPU's context stack (where a driver keeps it on its NAPI poll's stack).
 */
export class SimpleNic implements NetDevice {
  readonly model: string = 'simple';
  readonly xdp: HookPoint;
  readonly tcIngress: HookPoint;
  readonly tcEgress: HookPoint;
  readonly stats: NicStats = {
    rxPackets: 0,
    rxBytes: 0,
    rxRingFull: 0,
    xdpPass: 0,
    xdpDrop: 0,
    xdpTx: 0,
    xdpRedirect: 0,
    xdpAborted: 0,
    txPackets: 0,
    txBytes: 0,
    txRingFull: 0,
  };
  readonly delivered: Uint8Array[] = [];
  readonly wire: WireFrame[] = [];
  /** This driver runs XDP in its receive path (ndo_bpf). */
  readonly ndoBpf: boolean = true;
  readonly txqInfo: number;
  /**
   * The RX ring: frames and their queues in preallocated circular arrays (`rxHead` the oldest, `rxCount` in
   * use), so receiving a frame allocates nothing.
   */
  protected readonly rxFrames: Array<Uint8Array | undefined>;
  protected readonly rxFrameQueues: Int32Array;
  protected rxHead = 0;
  protected rxCount = 0;
  /** The NAPI poll callback, made once (a timer per poll, not a closure per frame). */
  private readonly pollCallback = (): void => this.napiPoll();
  protected txQueued = 0;
  protected linkBusyUntil = 0;
  private poll: TimerEvent | undefined;
  /** Physical buffer for the frame being processed: headroom + the largest frame. */
  private readonly bufferSize: number;
  private readonly buffer: number;
  readonly netdev: number;
  /** RX queues; queue q is polled on CPU q mod cpus. */
  readonly rxQueues: number;
  /** Physical address of the xdp_rxq_info array (one per RX queue). */
  private readonly rxqInfo: number;

  constructor(
    protected readonly k: NicServices,
    protected readonly config: NicConfig,
    readonly ifindex: number,
    readonly name: string,
  ) {
    this.xdp = k.hooks.define(`xdp:${name}`, 'xdp', XDP_BUFF.size, XDP_BUFF_FIELDS);
    this.tcIngress = k.hooks.define(`tc:ingress:${name}`, 'tc', SK_BUFF.size, []);
    this.tcEgress = k.hooks.define(`tc:egress:${name}`, 'tc', SK_BUFF.size, []);
    this.bufferSize = Math.ceil((XDP_PACKET_HEADROOM + config.mtu + 14 + 4) / PAGE_SIZE) * PAGE_SIZE;
    const buffer = k.phys.kmalloc(this.bufferSize, `nic:${name}`);
    if (buffer < 0) throw new Error(`${name}: no memory for the receive buffer`);
    this.buffer = buffer;
    this.rxQueues = config.rxQueues ?? k.config.cpus;
    const rxqOffset = (NET_DEVICE.size + 7) & ~7;
    const txqOffset = rxqOffset + this.rxQueues * XDP_RXQ_INFO.size;
    const netdev = k.phys.kmalloc(txqOffset + XDP_TXQ_INFO.size, `nic:${name}`);
    if (netdev < 0) throw new Error(`${name}: no memory for its net_device`);
    this.netdev = netdev;
    this.rxqInfo = netdev + rxqOffset;
    this.txqInfo = netdev + txqOffset;
    this.rxFrames = new Array<Uint8Array | undefined>(config.rxRingSize).fill(undefined);
    this.rxFrameQueues = new Int32Array(config.rxRingSize);
    const w = k.hookArena.write;
    w.u32(netdev + NET_DEVICE.ifindex, ifindex);
    w.u32(netdev + NET_DEVICE.mtu, config.mtu);
    // Interface flags (IFF_UP, ...) are not modelled: the field stays 0.
    w.cString(netdev + NET_DEVICE.name, name, NET_DEVICE.nameMax);
    for (let queue = 0; queue < this.rxQueues; queue++) {
      const rxq = this.rxqInfoOf(queue);
      w.u64(rxq + XDP_RXQ_INFO.dev, netdev);
      w.u32(rxq + XDP_RXQ_INFO.queue_index, queue);
      w.u32(rxq + XDP_RXQ_INFO.reg_state, XDP_RXQ_REG_STATE_REGISTERED);
    }
    // The device's xdp_txq_info (what a DEVMAP program sending here sees as ctx->txq).
    w.u64(this.txqInfo + XDP_TXQ_INFO.dev, netdev);
  }

  rxqInfoOf(queue: number): number {
    return this.rxqInfo + queue * XDP_RXQ_INFO.size;
  }

  receive(frame: Uint8Array, queue = 0): void {
    if (!(Number.isInteger(queue) && queue >= 0 && queue < this.rxQueues)) {
      throw new RangeError(`${this.name}: no RX queue ${queue} (the device has ${this.rxQueues})`);
    }
    const size = this.rxFrames.length;
    if (this.rxCount >= size) {
      this.stats.rxRingFull++;
      return;
    }
    let slot = this.rxHead + this.rxCount;
    if (slot >= size) slot -= size;
    this.rxFrames[slot] = frame;
    this.rxFrameQueues[slot] = queue;
    this.rxCount++;
    if (this.poll === undefined) this.poll = this.k.clock.after(this.config.irqLatencyNs, this.pollCallback);
  }

  /** Process up to NAPI_POLL_WEIGHT frames, then poll again if more are waiting. */
  protected napiPoll(): void {
    this.poll = undefined;
    const count = Math.min(NAPI_POLL_WEIGHT, this.rxCount);
    const size = this.rxFrames.length;
    for (let index = 0; index < count; index++) {
      const slot = this.rxHead;
      const frame = this.rxFrames[slot];
      this.rxFrames[slot] = undefined;
      this.rxHead = slot + 1 === size ? 0 : slot + 1;
      this.rxCount--;
      if (frame !== undefined) this.receiveOne(frame, this.rxFrameQueues[slot] ?? 0);
    }
    if (this.rxCount > 0) this.poll = this.k.clock.after(Math.max(1, count * this.config.perPacketNs), this.pollCallback);
  }

  /** The receive path of one frame: XDP, then the verdict. */
  protected receiveOne(frame: Uint8Array, queue: number): void {
    this.stats.rxPackets++;
    this.stats.rxBytes += frame.length;
    if (this.xdp.programs.length === 0) {
      this.deliver(frame);
      return;
    }
    const length = Math.min(frame.length, this.bufferSize - XDP_PACKET_HEADROOM);
    const data = this.buffer + XDP_PACKET_HEADROOM;
    const phys = this.k.phys;
    // The DMA into the ring buffer (a frame longer than the buffer is cut, through a view only then).
    phys.bytes.set(length === frame.length ? frame : frame.subarray(0, length), data);
    const arena = this.k.hookArena;
    const cpus = this.k.config.cpus;
    // The queue's CPU (queue mod cpus) without a division in the common case of a queue per CPU.
    const cpu = queue < cpus ? queue : queue % cpus;
    // xdp_init_buff + xdp_prepare_buff (with metadata support: data_meta starts at data), every field written:
    // physical addresses fit in 32 bits (the memory is a WebAssembly.Memory), so each pointer is its low word
    // and a zero high word; txq and flags are 0. Word stores, with no zeroing pass first (XDP_DROP's hot path).
    const ctx = arena.reserve(cpu, XDP_BUFF.size);
    const words = arena.write.words;
    const at = ctx >>> 2;
    words[at + (XDP_BUFF.data >> 2)] = data;
    words[at + (XDP_BUFF.data >> 2) + 1] = 0;
    words[at + (XDP_BUFF.data_end >> 2)] = data + length;
    words[at + (XDP_BUFF.data_end >> 2) + 1] = 0;
    words[at + (XDP_BUFF.data_meta >> 2)] = data;
    words[at + (XDP_BUFF.data_meta >> 2) + 1] = 0;
    words[at + (XDP_BUFF.data_hard_start >> 2)] = this.buffer;
    words[at + (XDP_BUFF.data_hard_start >> 2) + 1] = 0;
    words[at + (XDP_BUFF.rxq >> 2)] = this.rxqInfo + queue * XDP_RXQ_INFO.size;
    words[at + (XDP_BUFF.rxq >> 2) + 1] = 0;
    words[at + (XDP_BUFF.txq >> 2)] = 0;
    words[at + (XDP_BUFF.txq >> 2) + 1] = 0;
    words[at + (XDP_BUFF.frame_sz >> 2)] = this.bufferSize;
    words[at + (XDP_BUFF.flags >> 2)] = 0;
    const current = this.k.current;
    const saved = current.currentCpu;
    current.currentCpu = cpu;
    const action = arena.fire(this.xdp, ctx, cpu, undefined);
    current.currentCpu = saved;
    const redirect = arena.completed(cpu).redirectIfindex;
    // Helpers such as bpf_xdp_adjust_head move data/data_end inside the buffer; read the result back.
    const start = ((words[at + (XDP_BUFF.data >> 2)] as number) >>> 0) + ((words[at + (XDP_BUFF.data >> 2) + 1] as number) >>> 0) * 0x1_0000_0000;
    const end = ((words[at + (XDP_BUFF.data_end >> 2)] as number) >>> 0) + ((words[at + (XDP_BUFF.data_end >> 2) + 1] as number) >>> 0) * 0x1_0000_0000;
    arena.end(cpu, XDP_BUFF.size);
    const valid = start >= this.buffer && end <= this.buffer + this.bufferSize && start <= end;
    this.verdict(valid ? action : XDP_ACTION.ABORTED, start, end, redirect);
  }

  /**
   * Act on an XDP result for the packet now at [start, end) of physical memory (Linux treats an unknown action
   * like XDP_ABORTED). Only a packet that goes on is copied out of the ring buffer: a drop costs no allocation.
   */
  protected verdict(action: number, start: number, end: number, redirectIfindex: number): void {
    switch (action) {
      case XDP_ACTION.DROP:
        this.stats.xdpDrop++;
        return;
      case XDP_ACTION.PASS:
        this.stats.xdpPass++;
        this.deliver(this.k.phys.bytes.slice(start, end));
        return;
      case XDP_ACTION.TX:
        this.stats.xdpTx++;
        this.transmit(this.k.phys.bytes.slice(start, end));
        return;
      case XDP_ACTION.REDIRECT: {
        const target = redirectIfindex === 0 ? undefined : this.k.devices.netByIndex(redirectIfindex);
        if (target === undefined) {
          // xdp_do_redirect failed (no such device): the frame is dropped, counted as an exception.
          this.stats.xdpAborted++;
          return;
        }
        this.stats.xdpRedirect++;
        target.transmit(this.k.phys.bytes.slice(start, end));
        return;
      }
      default:
        this.stats.xdpAborted++;
    }
  }

  /**
   * Hand a frame to the network stack (netif_receive_skb, in NAPI's softirq on the polling CPU). It is also
   * kept in `delivered` for tools and tests that read what the device passed up.
   */
  protected deliver(frame: Uint8Array): void {
    this.delivered.push(frame);
    this.k.devices.stackReceive?.(this, frame);
  }

  transmit(frame: Uint8Array): boolean {
    if (this.txQueued >= this.config.txRingSize) {
      this.stats.txRingFull++;
      return false;
    }
    this.txQueued++;
    const clock = this.k.clock;
    const start = Math.max(clock.now, this.linkBusyUntil);
    const done = start + Math.ceil(((frame.length + 24) * 8 * 1e9) / this.config.linkBps);
    this.linkBusyUntil = done;
    clock.at(done, () => {
      this.txQueued--;
      this.stats.txPackets++;
      this.stats.txBytes += frame.length;
      this.onWire(frame, done);
    });
    return true;
  }

  /** A transmitted frame left the device. */
  protected onWire(frame: Uint8Array, timeNs: number): void {
    this.wire.push({ timeNs, data: frame });
  }

  attachSource(source: PacketSource): void {
    const iterator = source[Symbol.iterator]();
    const next = (): void => {
      const item = iterator.next();
      if (item.done === true) return;
      const frame = item.value;
      this.k.clock.at(frame.timeNs, () => {
        this.receive(frame.data);
        next();
      });
    };
    next();
  }
}

/** A NIC whose wire loops back: every transmitted frame is received again (a second model, for swapping). */
export class LoopbackNic extends SimpleNic {
  override readonly model = 'loopback';
  protected override onWire(frame: Uint8Array, timeNs: number): void {
    super.onWire(frame, timeNs);
    this.receive(frame);
  }
}

/** The shipped models: 'simple' and 'loopback'. */
export function defaultNicModels(): NicModelRegistry {
  const registry = new NicModelRegistry();
  registry.register('simple', (k, config, ifindex, name) => new SimpleNic(k, config, ifindex, name));
  registry.register('loopback', (k, config, ifindex, name) => new LoopbackNic(k, config, ifindex, name));
  return registry;
}
