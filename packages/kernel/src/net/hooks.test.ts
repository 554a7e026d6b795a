import { AF, Errno, ETH_HLEN, Libc, PT_REGS, SOCK, TCX_ACTION, TRACE_NETIF_RECEIVE_SKB, ipv4, parseSockaddrIn, sockaddrIn } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { buildUdpFrame } from '../drivers/net/packet-source.js';
import { readU64 } from '../hooks/context-writer.js';
import { SK_BUFF, SOCK as SOCK_LAYOUT } from '../hooks/kernel-objects.js';
import { runProgram } from '../testing/run-program.js';

describe('the stack fires the hooks connection and packet tools use', () => {
  it('kprobes tcp_v4_connect, tcp_sendmsg and the inet_csk_accept kretprobe get the struct sock', () => {
    const seen: Record<string, number[]> = { connect: [], send: [], accept: [], family: [] };
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const l = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
        yield* libc.bind(l, sockaddrIn('127.0.0.1', 80));
        yield* libc.listen(l, 4);
        const c = yield* libc.socket(AF.INET, SOCK.STREAM, 0);
        yield* libc.connect(c, sockaddrIn('127.0.0.1', 80));
        yield* libc.write(c, 'GET /');
        yield* libc.accept(l);
        return 0;
      },
      {},
      (k) => {
        const arg = (inv: { memory: { view: DataView }; ctx: number }, offset: number): number => readU64(inv.memory.view, inv.ctx + offset);
        k.hooks.require('kprobe:tcp_v4_connect').attach((inv) => {
          const sk = arg(inv, PT_REGS.di);
          seen.connect?.push(sk, arg(inv, PT_REGS.dx));
          seen.family?.push(inv.memory.view.getUint16(sk + SOCK_LAYOUT.skc_family, true));
          return 0;
        });
        k.hooks.require('kprobe:tcp_sendmsg').attach((inv) => {
          seen.send?.push(arg(inv, PT_REGS.di), arg(inv, PT_REGS.dx));
          return 0;
        });
        k.hooks.require('kretprobe:inet_csk_accept').attach((inv) => {
          const sk = arg(inv, PT_REGS.ax);
          // The accepted socket's ports: skc_num host order, skc_dport network order.
          seen.accept?.push(inv.memory.view.getUint16(sk + SOCK_LAYOUT.skc_num, true), sk === 0 ? 0 : 1);
          return 0;
        });
      },
    );
    const [sk, addrlen] = seen.connect as [number, number];
    expect(sk).toBeGreaterThan(0);
    expect(addrlen).toBe(16);
    expect(seen.family).toEqual([AF.INET]);
    expect(seen.send).toEqual([sk, 5]);
    expect(seen.accept).toEqual([80, 1]);
  });

  it('net:netif_receive_skb reports each received skb (len from the network header, the device name); tc ingress DROP drops it', () => {
    const records: string[] = [];
    const got: number[] = [];
    runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const u = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
        yield* libc.bind(u, sockaddrIn('127.0.0.1', 53));
        yield* libc.sendto(u, 'keep', 0, sockaddrIn('127.0.0.1', 53));
        yield* libc.sendto(u, 'drop me', 0, sockaddrIn('127.0.0.1', 53));
        yield* libc.sendto(u, 'keep2', 0, sockaddrIn('127.0.0.1', 53));
        for (let i = 0; i < 3; i++) got.push((yield* libc.recvfrom(u, 100, 0x40 /* MSG_DONTWAIT */)).ret);
        return 0;
      },
      {},
      (k) => {
        k.hooks.require('net:netif_receive_skb').attach((inv) => {
          const view = inv.memory.view;
          const T = TRACE_NETIF_RECEIVE_SKB;
          const loc = view.getUint32(inv.ctx + T.name, true);
          const name = new TextDecoder().decode(inv.memory.bytes.subarray(inv.ctx + (loc & 0xffff), inv.ctx + (loc & 0xffff) + (loc >>> 16) - 1));
          const skb = readU64(view, inv.ctx + T.skbaddr);
          records.push(`${name} len=${view.getUint32(inv.ctx + T.len, true)} skb.len=${view.getUint32(skb + SK_BUFF.len, true)}`);
          return 0;
        });
        // A tc ingress program dropping the 7-byte datagram: it sees the frame from the Ethernet header.
        k.hooks.require('tc:ingress:lo').attach((inv) => {
          const view = inv.memory.view;
          const len = view.getUint32(inv.ctx + SK_BUFF.len, true);
          return len === ETH_HLEN + 20 + 8 + 7 ? TCX_ACTION.DROP : TCX_ACTION.NEXT;
        });
      },
    );
    expect(records).toEqual(['lo len=32 skb.len=32', 'lo len=35 skb.len=35', 'lo len=33 skb.len=33']);
    expect(got).toEqual([4, 5, -11]);
  });

  it('a NIC with an address: frames for it reach a UDP socket; replies leave on its wire with its MAC and address', () => {
    const got: string[] = [];
    const peerMac = new Uint8Array([0x02, 0xaa, 0, 0, 0, 0x99]);
    const { kernel } = runProgram(
      function* (ctx) {
        const libc = new Libc(ctx);
        const u = yield* libc.socket(AF.INET, SOCK.DGRAM, 0);
        yield* libc.bind(u, sockaddrIn('0.0.0.0', 53));
        const query = yield* libc.recvfrom(u, 100);
        const from = parseSockaddrIn(query.addr);
        got.push(`${query.ret} bytes from ${from?.addr.toString(16)}:${from?.port}`);
        got.push(`answer ${yield* libc.sendto(u, 'answer', 0, query.addr)}`);
        got.push(`unrouted ${yield* libc.sendto(u, 'x', 0, sockaddrIn('192.168.9.9', 53))}`);
        return 0;
      },
      { devices: { nics: [{ name: 'eth0', ipv4: '10.0.1.1/24' }] } },
      (k) => {
        k.net.neighbours.set(ipv4('10.0.1.2'), peerMac);
        k.devices.nics[0]?.attachSource([{ timeNs: 5000, data: buildUdpFrame(ipv4('10.0.1.2'), ipv4('10.0.1.1'), 1234, 53, 32, 1) }]);
      },
    );
    expect(got).toEqual(['32 bytes from a000102:1234', 'answer 6', `unrouted ${-Errno.ENETUNREACH}`]);
    const wire = kernel.devices.nics[0]?.wire ?? [];
    expect(wire).toHaveLength(1);
    const frame = wire[0]?.data ?? new Uint8Array(0);
    const view = new DataView(frame.buffer, frame.byteOffset);
    expect([...frame.subarray(0, 12)]).toEqual([...peerMac, 0x02, 0, 0, 0, 0, 2]);
    expect([view.getUint32(26, false), view.getUint32(30, false), view.getUint16(34, false), view.getUint16(36, false)]).toEqual([
      ipv4('10.0.1.1'),
      ipv4('10.0.1.2'),
      53,
      1234,
    ]);
  });
});
