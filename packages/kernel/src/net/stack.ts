/**
 * The network stack: devices (lo and the NICs) with their addresses, the routing table, the receive path
 * (netif_receive_skb → packet taps → tc ingress → ip_rcv → the protocol's handler) and the transmit path
 * (ip_queue_xmit → route → packet taps → tc egress → the device), and socket creation by (family, type).
 *
 * Every frame that enters or leaves is an sk_buff in kernel memory while the hooks look at it (see skb.ts);
 * once the protocols have copied what they keep (a datagram, stream bytes), the skb is freed.
 */
import { AF, Errno, ETH_HLEN, ETH_P, IPPROTO, PACKET_TYPE, SOCK, TCP_STATE, TCX_ACTION, TRACE_NETIF_RECEIVE_SKB, ipv4 } from '@ebpf-sim/uapi';
import type { NetDevice } from '../drivers/net/model.js';
import { HookPoint } from '../hooks/hook.js';
import { NET_DEVICE, SK_BUFF, SOCK as SOCK_LAYOUT } from '../hooks/kernel-objects.js';
import { KmemCache } from '../mm/slab.js';
import type { KernelInternals } from '../services.js';
import type { Task } from '../task/task.js';
import { buildFrame, l4ChecksumOk, parseIpv4, type Ipv4Packet, type ParsedIpv4 } from './headers.js';
import { BROADCAST_MAC, nicMac, type NetInterface } from './interface.js';
import { LoopbackDevice } from './loopback.js';
import { PacketProtocol } from './packet.js';
import { RouteTable } from './route.js';
import { SkbAllocator } from './skb.js';
import { Socket, writeSockFields, type AttachedFilter, type ProtoOps } from './socket.js';
import { TcpProtocol } from './tcp.js';
import { TCP_SOCK, TcpCongestionControl } from './tcp-cong.js';
import { NET_XMIT_DROP, cgroupInetEgress, cgroupInetIngress } from '../cgroup/net-hooks.js';
import { UdpProtocol } from './udp.js';

/** What the stack uses: memory, hooks and the arena to fire them, the clock, the CPU, the NICs, the kprobe sites, randomness. */
export type NetServices = Pick<KernelInternals, 'phys' | 'hooks' | 'hookArena' | 'clock' | 'current' | 'devices' | 'kprobes' | 'random' | 'config' | 'cgroups'>;

/**
 * SO_ATTACH_BPF's way to the bpf subsystem (the kernel knows nothing of eBPF): the bpf subsystem registers a
 * provider at boot that turns a program fd into something the stack can run on an skb.
 */
export interface SocketFilterProvider {
  /** The SOCKET_FILTER program behind `progFd` of `task`, holding a reference until `release`; or -errno (EBADF, EINVAL). */
  attach(task: Task, progFd: number): { program: AttachedFilter['program']; release: () => void } | number;
}

/** A protocol's receive handler (struct net_protocol): the skb's data is at its transport header. */
export interface InetProtocol {
  receive(skb: number, ip: ParsedIpv4, dev: NetInterface): void;
}

/** Counters of the stack (what /proc/net/snmp would show). */
export interface NetStats {
  ipInReceives: number;
  ipInDiscards: number;
  ipOutRequests: number;
  ipOutNoRoutes: number;
  tcIngressDrops: number;
  tcEgressDrops: number;
}

/** A NIC of the driver model as the stack sees it. */
class NicInterface implements NetInterface {
  readonly hatype = 1;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly addresses: NetInterface['addresses'] = [];
  readonly name: string;
  readonly ifindex: number;
  readonly netdev: number;
  readonly tcIngress: HookPoint;
  readonly tcEgress: HookPoint;

  constructor(
    readonly nic: NetDevice,
    view: DataView,
  ) {
    this.name = nic.name;
    this.ifindex = nic.ifindex;
    this.netdev = nic.netdev;
    this.tcIngress = nic.tcIngress;
    this.tcEgress = nic.tcEgress;
    this.mac = nicMac(nic.ifindex);
    this.mtu = view.getUint32(nic.netdev + NET_DEVICE.mtu, true);
  }

  xmit(frame: Uint8Array): boolean {
    return this.nic.transmit(frame);
  }
}

export class NetStack {
  readonly skbs: SkbAllocator;
  readonly lo: LoopbackDevice;
  readonly interfaces: NetInterface[] = [];
  readonly routes = new RouteTable();
  readonly udp: UdpProtocol;
  readonly tcp: TcpProtocol;
  readonly packet: PacketProtocol;
  /** Set by the bpf subsystem at boot (registerBpf); without it SO_ATTACH_BPF answers EINVAL, as a kernel whose bpf_prog_get fails. */
  socketFilters: SocketFilterProvider | undefined;
  /** Static neighbour table (no ARP): IPv4 address (host order) → MAC; unknown neighbours get the broadcast MAC. */
  readonly neighbours = new Map<number, Uint8Array>();
  readonly stats: NetStats = { ipInReceives: 0, ipInDiscards: 0, ipOutRequests: 0, ipOutNoRoutes: 0, tcIngressDrops: 0, tcEgressDrops: 0 };
  private readonly protocols: ReadonlyMap<number, InetProtocol>;
  private readonly netifReceiveSkb: HookPoint;
  private nextIno = 1;
  /** struct sock objects (one cache for every family here; Linux has one per protocol). */
  private readonly sockCache: KmemCache;
  private readonly sockets = new Set<Socket>();
  /** Live sockets by their struct sock's address (what a BPF program's socket pointer names). */
  private readonly socketsBySk = new Map<number, Socket>();
  private ipId = 1;
  /** The TCP congestion controls (tcp_cong_list): reno built in, BPF ones registered through struct_ops. */
  readonly congestion: TcpCongestionControl;

  constructor(readonly k: NetServices) {
    this.skbs = new SkbAllocator(k.phys);
    // Every sock is allocated as big as a tcp_sock (Linux has a cache per protocol; one here).
    this.sockCache = new KmemCache(k.phys, 'sock', Math.max(SOCK_LAYOUT.size, TCP_SOCK.size));
    this.congestion = new TcpCongestionControl(k.phys.view);
    this.lo = new LoopbackDevice(k, (dev, frame) => this.receive(dev, frame));
    this.addInterface(this.lo);
    k.devices.nics.forEach((nic, index) => {
      this.addInterface(new NicInterface(nic, k.phys.view));
      const cidr = k.config.devices.nics[index]?.ipv4;
      if (cidr !== undefined) this.addAddress(nic.name, cidr);
    });
    k.devices.stackReceive = (nic, frame) => {
      const iface = this.interfaces.find((candidate) => candidate.ifindex === nic.ifindex);
      if (iface !== undefined) this.receive(iface, frame);
    };
    this.udp = new UdpProtocol(this);
    this.tcp = new TcpProtocol(this);
    this.packet = new PacketProtocol(this);
    this.protocols = new Map<number, InetProtocol>([
      [IPPROTO.UDP, this.udp],
      [IPPROTO.TCP, this.tcp],
    ]);
    this.netifReceiveSkb = k.hooks.require('net:netif_receive_skb');
  }

  private addInterface(iface: NetInterface): void {
    this.interfaces.push(iface);
    for (const address of iface.addresses) this.routes.add({ dst: address.addr, prefix: address.prefix, iface, src: address.addr });
  }

  /** `ip addr add ADDR/PREFIX dev NAME`: the address and its connected route. 0, or -ENODEV / -EEXIST / -EINVAL. */
  addAddress(device: string, cidr: string): number {
    const iface = this.interfaces.find((candidate) => candidate.name === device);
    if (iface === undefined) return -Errno.ENODEV;
    const [text, prefixText] = cidr.split('/');
    const prefix = prefixText === undefined ? 32 : Number(prefixText);
    if (text === undefined || !(Number.isInteger(prefix) && prefix >= 0 && prefix <= 32)) return -Errno.EINVAL;
    const addr = ipv4(text);
    if (iface.addresses.some((a) => a.addr === addr)) return -Errno.EEXIST;
    iface.addresses.push({ addr, prefix });
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    this.routes.add({ dst: (addr & mask) >>> 0, prefix, iface, src: addr });
    return 0;
  }

  /** Whether `addr` (host order) is one of this host's addresses (the local table). */
  isLocal(addr: number): boolean {
    if (addr >>> 24 === 127) return true;
    for (const iface of this.interfaces) for (const a of iface.addresses) if (a.addr === addr) return true;
    return false;
  }

  /** The device with `ifindex`. */
  byIndex(ifindex: number): NetInterface | undefined {
    return this.interfaces.find((iface) => iface.ifindex === ifindex);
  }

  /** The outgoing device and source address towards `dst` (local destinations through lo), or undefined (ENETUNREACH). */
  route(dst: number): { iface: NetInterface; src: number } | undefined {
    if (this.isLocal(dst)) return { iface: this.lo, src: dst };
    const route = this.routes.lookup(dst);
    return route === undefined ? undefined : { iface: route.iface, src: route.src };
  }

  /**
   * sock_create: a new socket of (family, type, protocol) with its struct sock in kernel memory, or -errno
   * (EAFNOSUPPORT, ESOCKTNOSUPPORT, EPROTONOSUPPORT, ENOMEM).
   */
  newSock(family: number, type: number, protocol: number): Socket | number {
    const entry = SOCKET_TYPES.get(`${family}/${type}`);
    if (entry === undefined) return SOCKET_FAMILIES.has(family) ? -Errno.ESOCKTNOSUPPORT : -Errno.EAFNOSUPPORT;
    const proto = entry.protocol(protocol);
    if (proto < 0) return -Errno.EPROTONOSUPPORT;
    const sk = this.sockCache.alloc();
    if (sk < 0) return -Errno.ENOMEM;
    const sock = new Socket(family, type, proto, entry.ops(this), sk, this.nextIno++);
    // A TCP socket starts CLOSE (sk_state's initial value for every inet socket; only TCP reports it).
    if (proto === IPPROTO.TCP) sock.state = TCP_STATE.CLOSE;
    // A UDP socket too (sock_init_data: sk_state = TCP_CLOSE), which bpf_sock.state shows; connect makes it ESTABLISHED.
    if (proto === IPPROTO.UDP) sock.state = TCP_STATE.CLOSE;
    writeSockFields(this.k.phys.view, sock);
    // cgroup_sk_alloc: the socket belongs to the creating task's cgroup.
    sock.cgroup = this.k.current.currentTask()?.cgroup;
    writeSockFields(this.k.phys.view, sock);
    if (family === AF.PACKET) this.packet.created(sock);
    this.sockets.add(sock);
    this.socketsBySk.set(sk, sock);
    return sock;
  }

  /** sk_free: the filter's program reference dropped, the struct sock freed. */
  freeSock(sock: Socket): void {
    if (!this.sockets.delete(sock)) return;
    this.socketsBySk.delete(sock.sk);
    this.detachFilter(sock);
    this.sockCache.release(sock.sk);
  }

  /**
   * SO_ATTACH_BPF (sk_attach_bpf): the SOCKET_FILTER program behind `progFd` becomes the socket's filter,
   * replacing any previous one. 0, or -errno from the bpf subsystem (EBADF, EINVAL for another program type).
   */
  attachFilter(task: Task, sock: Socket, progFd: number): number {
    const provider = this.socketFilters;
    if (provider === undefined) return -Errno.EINVAL;
    const attached = provider.attach(task, progFd);
    if (typeof attached === 'number') return attached;
    // The filter's own hook point, outside the registry: kind 'tc' because its context is the same sk_buff, and
    // with sk_filter's single program the tcx result rule yields exactly that program's return value.
    const hook = new HookPoint(`socket_filter:${sock.ino}`, 'tc', 0, SK_BUFF.size, [], () => undefined);
    const detach = hook.attach(attached.program);
    this.detachFilter(sock);
    sock.filter = {
      hook,
      program: attached.program,
      release: () => {
        detach();
        attached.release();
      },
    };
    return 0;
  }

  /** SO_DETACH_BPF / sk_free: the socket's filter goes. False when it had none. */
  detachFilter(sock: Socket): boolean {
    const filter = sock.filter;
    if (filter === undefined) return false;
    sock.filter = undefined;
    filter.release();
    return true;
  }

  /** The live socket whose struct sock is at `sk`, or undefined. */
  socketAt(sk: number): Socket | undefined {
    return this.socketsBySk.get(sk);
  }

  /** Live sockets (open or still finishing their protocol's work). */
  get socketCount(): number {
    return this.sockets.size;
  }

  /** ip_select_ident: the IP id of the next packet. */
  nextIpId(): number {
    const id = this.ipId;
    this.ipId = (this.ipId + 1) & 0xffff;
    return id;
  }

  // ---- receive --------------------------------------------------------------------------------------------
  /**
   * netif_receive_skb of one frame from `dev`: the net:netif_receive_skb tracepoint, the packet taps, tc
   * ingress (tcx's verdict: DROP frees the skb), then ip_rcv and the protocol.
   */
  receive(dev: NetInterface, frame: Uint8Array): void {
    const skbs = this.skbs;
    if (frame.length < ETH_HLEN) return;
    const skb = skbs.alloc(frame, dev.netdev, dev.ifindex, PACKET_TYPE.HOST, 0);
    if (skb < 0) {
      this.stats.ipInDiscards++;
      return;
    }
    try {
      // eth_type_trans pulls the Ethernet header: the stack (and the tracepoint's len) see the network header on.
      skbs.pull(skb, ETH_HLEN);
      this.traceNetifReceiveSkb(skb, dev);
      this.packet.tap(dev, skb, PACKET_TYPE.HOST);
      if (dev.tcIngress.programs.length !== 0) {
        // tcx_run on ingress sees the frame from the MAC header (sch_handle_ingress pushes it back).
        skbs.pull(skb, -ETH_HLEN);
        const verdict = this.runTc(dev.tcIngress, skb);
        skbs.pull(skb, ETH_HLEN);
        if (verdict === TCX_ACTION.DROP) {
          this.stats.tcIngressDrops++;
          return;
        }
      }
      this.ipRcv(skb, dev);
    } finally {
      skbs.free(skb);
    }
  }

  /** tc hook on `skb` (data at the MAC header): data pointers computed, the hook fired in softirq context. */
  private runTc(hook: HookPoint, skb: number): number {
    this.skbs.computeDataPointers(skb);
    const arena = this.k.hookArena;
    const cpu = this.k.current.currentCpu;
    return arena.fire(hook, skb, cpu, this.k.current.currentTask());
  }

  private traceNetifReceiveSkb(skb: number, dev: NetInterface): void {
    const hook = this.netifReceiveSkb;
    if (hook.programs.length === 0) return;
    const T = TRACE_NETIF_RECEIVE_SKB;
    const arena = this.k.hookArena;
    const cpu = this.k.current.currentCpu;
    const task = this.k.current.currentTask();
    const size = T.fixedSize + dev.name.length + 1;
    const ctx = arena.begin(cpu, size);
    const w = arena.write;
    w.traceEntry(ctx, hook.id, task?.pid ?? 0);
    w.u64(ctx + T.skbaddr, skb);
    w.u32(ctx + T.len, this.skbs.len(skb));
    // __data_loc: the string's length in the high 16 bits, its offset in the record in the low 16.
    w.u32(ctx + T.name, ((dev.name.length + 1) << 16) | T.fixedSize);
    w.cString(ctx + T.fixedSize, dev.name, dev.name.length + 1);
    arena.fire(hook, ctx, cpu, task);
    arena.end(cpu, size);
  }

  /** ip_rcv + ip_local_deliver: header checks, only packets for this host, then the protocol's handler. */
  private ipRcv(skb: number, dev: NetInterface): void {
    const skbs = this.skbs;
    const view = this.k.phys.view;
    this.stats.ipInReceives++;
    if (view.getUint16(skbs.data(skb) - 2, false) !== ETH_P.IP) return;
    const ip = parseIpv4(view, skbs.data(skb), skbs.len(skb));
    if (ip === undefined || !(this.isLocal(ip.dst) || ip.dst === 0xffffffff)) {
      this.stats.ipInDiscards++;
      return;
    }
    const handler = this.protocols.get(ip.protocol);
    if (handler === undefined || !l4ChecksumOk(view, ip)) {
      this.stats.ipInDiscards++;
      return;
    }
    // ip_local_deliver_finish: the IP header is pulled; padding past the IP total length is trimmed.
    const ihl = ip.l4 - skbs.data(skb);
    skbs.pull(skb, ihl);
    skbs.trim(skb, ip.l4Length);
    view.setUint16(skb + SK_BUFF.transport_header, view.getUint16(skb + SK_BUFF.network_header, true) + ihl, true);
    handler.receive(skb, ip, dev);
  }

  /**
   * sk_filter_trim_cap: run the socket's filter on `skb` (data where the protocol has it). The packet is kept
   * (true) with skb->len trimmed to the program's result when smaller (never below `cap`), or dropped when the
   * program returns 0.
   */
  runFilter(sock: Socket, skb: number, cap: number): boolean {
    // The cgroup's ingress programs first, as sk_filter_trim_cap runs them.
    if (cgroupInetIngress(this, sock, skb) !== 0) return false;
    const filter = sock.filter;
    if (filter === undefined) return true;
    const cpu = this.k.current.currentCpu;
    const result = this.k.hookArena.fire(filter.hook, skb, cpu, this.k.current.currentTask()) >>> 0;
    if (result === 0) return false;
    if (result < this.skbs.len(skb)) this.skbs.trim(skb, Math.max(cap, result));
    return true;
  }

  // ---- transmit -------------------------------------------------------------------------------------------
  /**
   * ip_queue_xmit / ip_send_skb of one UDP or TCP packet from `p.src` to `p.dst`: the route, the frame, then the
   * device. The number of bytes handed to the device, or -ENETUNREACH.
   */
  ipOutput(p: Omit<Ipv4Packet, 'srcMac' | 'dstMac' | 'id'>, sock?: Socket): number {
    const route = this.route(p.dst);
    if (route === undefined) {
      this.stats.ipOutNoRoutes++;
      return -Errno.ENETUNREACH;
    }
    this.stats.ipOutRequests++;
    const iface = route.iface;
    const dstMac = iface === this.lo ? this.lo.mac : (this.neighbours.get(p.dst) ?? BROADCAST_MAC);
    const frame = buildFrame({ ...p, srcMac: iface.mac, dstMac, id: this.nextIpId() });
    if (sock !== undefined) {
      // ip_finish_output: the cgroup's egress verdict. -EPERM reaches the sender; NET_XMIT_DROP is -ENOBUFS, which
      // udp_send_skb reports as success without IP_RECVERR (not modelled); NET_XMIT_CN sends.
      const verdict = cgroupInetEgress(this, sock, iface, frame);
      if (verdict < 0) return verdict;
      if (verdict === NET_XMIT_DROP) return 0;
    }
    this.devQueueXmit(iface, frame);
    return frame.length;
  }

  /**
   * __dev_queue_xmit: the packet taps see the frame (PACKET_OUTGOING), tc egress may drop it, then the
   * device transmits it. An skb is built only when a tap or a tc program is there to look at it.
   */
  devQueueXmit(iface: NetInterface, frame: Uint8Array): boolean {
    let out = frame;
    if (this.packet.listening || iface.tcEgress.programs.length !== 0) {
      const skbs = this.skbs;
      const skb = skbs.alloc(frame, iface.netdev, iface.ifindex, PACKET_TYPE.HOST, 0);
      if (skb < 0) return false;
      try {
        this.packet.tap(iface, skb, PACKET_TYPE.OUTGOING);
        if (iface.tcEgress.programs.length !== 0) {
          const verdict = this.runTc(iface.tcEgress, skb);
          if (verdict === TCX_ACTION.DROP) {
            this.stats.tcEgressDrops++;
            return false;
          }
          // A program may have rewritten or resized the frame (bpf_skb_store_bytes, change_tail).
          out = skbs.bytes(skb).slice();
        }
      } finally {
        skbs.free(skb);
      }
    }
    return iface.xmit(out);
  }
}

/** The socket types of each family, as inet_create / packet_create accept them (data, not a switch). */
interface SocketTypeEntry {
  /** The protocol a `protocol` argument selects, or -1 (EPROTONOSUPPORT). */
  protocol(requested: number): number;
  ops(stack: NetStack): ProtoOps;
}

const SOCKET_FAMILIES: ReadonlySet<number> = new Set([AF.INET, AF.PACKET]);

const SOCKET_TYPES: ReadonlyMap<string, SocketTypeEntry> = new Map<string, SocketTypeEntry>([
  [`${AF.INET}/${SOCK.DGRAM}`, { protocol: (p) => (p === 0 || p === IPPROTO.UDP ? IPPROTO.UDP : -1), ops: (s) => s.udp.ops }],
  [`${AF.INET}/${SOCK.STREAM}`, { protocol: (p) => (p === 0 || p === IPPROTO.TCP ? IPPROTO.TCP : -1), ops: (s) => s.tcp.ops }],
  // packet_create: the protocol is an ETH_P_* value in network order (0: receive nothing until bind names one).
  [`${AF.PACKET}/${SOCK.RAW}`, { protocol: (p) => (p >= 0 && p <= 0xffff ? p : -1), ops: (s) => s.packet.ops }],
]);
