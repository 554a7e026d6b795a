/**
 * A protocol's bound ports (udp_table / the TCP bind hash): which sockets hold each local port, the
 * conflict rule of inet_csk_bind_conflict / udp_lib_lport_inuse (same port, overlapping addresses — equal or
 * either INADDR_ANY — unless both set SO_REUSEADDR and, for TCP, neither listens), and ephemeral port
 * selection in ip_local_port_range, deterministic from the kernel's seeded PRNG.
 */
import { TCP_STATE } from '@ebpf-sim/uapi';
import type { Socket } from './socket.js';
import { EPHEMERAL_COUNT, EPHEMERAL_FIRST } from './constants.js';

export class PortTable {
  private readonly byPort = new Map<number, Socket[]>();

  constructor(
    /** TCP: a listening socket's port is never shared through SO_REUSEADDR. */
    private readonly stream: boolean,
    private readonly random: { nextU32(): number },
  ) {}

  /** The sockets bound to `port`. */
  at(port: number): readonly Socket[] {
    return this.byPort.get(port) ?? [];
  }

  private conflicts(sock: Socket, addr: number, port: number): boolean {
    for (const other of this.at(port)) {
      if (other === sock) continue;
      const overlap = other.localAddr === 0 || addr === 0 || other.localAddr === addr;
      if (!overlap) continue;
      const reuse = sock.reuseAddr && other.reuseAddr && !(this.stream && (other.state === TCP_STATE.LISTEN || sock.state === TCP_STATE.LISTEN));
      if (!reuse) return true;
    }
    return false;
  }

  /** Bind `sock` to `addr`:`port` (port 0: an ephemeral one). The port, or -1 (EADDRINUSE; EAGAIN for no free ephemeral port is -2). */
  bind(sock: Socket, addr: number, port: number): number {
    let chosen = port;
    if (chosen === 0) {
      const start = this.random.nextU32() % EPHEMERAL_COUNT;
      chosen = -2;
      for (let i = 0; i < EPHEMERAL_COUNT; i++) {
        const candidate = EPHEMERAL_FIRST + ((start + i) % EPHEMERAL_COUNT);
        if (this.at(candidate).length === 0) {
          chosen = candidate;
          break;
        }
      }
      if (chosen < 0) return chosen;
    } else if (this.conflicts(sock, addr, chosen)) {
      return -1;
    }
    const list = this.byPort.get(chosen) ?? [];
    list.push(sock);
    this.byPort.set(chosen, list);
    sock.localAddr = addr;
    sock.localPort = chosen;
    return chosen;
  }

  /** Unbind (close, or a failed connect's autobind). */
  unbind(sock: Socket): void {
    const list = this.byPort.get(sock.localPort);
    if (list === undefined) return;
    const index = list.indexOf(sock);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.byPort.delete(sock.localPort);
  }

  /** Bound sockets (for tests and /proc/net-like listings). */
  all(): Socket[] {
    return [...this.byPort.values()].flat();
  }
}
