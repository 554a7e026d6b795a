import { XDP_ACTION } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { ContextWriter, readU64 } from '../../hooks/context-writer.js';
import { NET_DEVICE, XDP_BUFF, XDP_RXQ_INFO } from '../../hooks/kernel-objects.js';
import { createKernel } from '../../kernel.js';
import { Prng } from '../../time/prng.js';
import { defaultNicModels, SimpleNic } from './model.js';
import { buildUdpFrame, pcapSource, udpFlowSource } from './packet-source.js';
import { readPcap, writePcap } from './pcap.js';

const frame = (n: number): Uint8Array => buildUdpFrame(0x0a000002, 0x0a000101, 1000 + n, 53, 32, n);

describe('NIC receive path and XDP', () => {
  it('delivers to the stack when no program is attached, after the interrupt latency', () => {
    const k = createKernel({ devices: { nics: [{}] } });
    const nic = k.devices.nics[0]!;
    expect(nic).toMatchObject({ name: 'eth0', ifindex: 2, model: 'simple' });
    nic.attachSource([{ timeNs: 1000, data: frame(1) }]);
    k.run();
    expect(nic.delivered).toHaveLength(1);
    expect(k.clock.now).toBe(1000 + 2000);
  });

  it('honours XDP_PASS, DROP, TX, REDIRECT and ABORTED and gives the program an xdp_buff with its rxq and device', () => {
    const k = createKernel({ devices: { nics: [{ name: 'eth0' }, { name: 'eth1' }] } });
    const [eth0, eth1] = k.devices.nics as [SimpleNic, SimpleNic];
    const contexts: string[] = [];
    const actions = [XDP_ACTION.PASS, XDP_ACTION.DROP, XDP_ACTION.TX, XDP_ACTION.REDIRECT, XDP_ACTION.ABORTED, 77];
    let call = 0;
    eth0.xdp.attach((inv) => {
      const v = inv.memory.view;
      // What xdp_md's data, data_end, ingress_ifindex and rx_queue_index are rewritten to read.
      const data = readU64(v, inv.ctx + XDP_BUFF.data);
      const end = readU64(v, inv.ctx + XDP_BUFF.data_end);
      const rxq = readU64(v, inv.ctx + XDP_BUFF.rxq);
      const dev = readU64(v, rxq + XDP_RXQ_INFO.dev);
      contexts.push(
        `len=${end - data} ifindex=${v.getUint32(dev + NET_DEVICE.ifindex, true)} q=${v.getUint32(rxq + XDP_RXQ_INFO.queue_index, true)} proto=${inv.memory.bytes[data + 23]}`,
      );
      const action = actions[call++] ?? XDP_ACTION.PASS;
      if (action === XDP_ACTION.REDIRECT) inv.redirectIfindex = eth1.ifindex;
      return action;
    });
    eth0.attachSource(actions.map((_, i) => ({ timeNs: i * 10_000, data: frame(i) })));
    k.run();
    expect(contexts[0]).toBe('len=74 ifindex=2 q=0 proto=17');
    expect(eth0.stats).toMatchObject({ rxPackets: 6, xdpPass: 1, xdpDrop: 1, xdpTx: 1, xdpRedirect: 1, xdpAborted: 2, txPackets: 1 });
    expect(eth0.delivered).toHaveLength(1);
    expect(eth0.wire).toHaveLength(1);
    expect(eth1.wire).toHaveLength(1);
    expect(eth1.wire[0]!.data).toEqual(frame(3));
  });

  it('lets the program move data (bpf_xdp_adjust_head) and passes the trimmed frame up', () => {
    const k = createKernel({ devices: { nics: [{}] } });
    const nic = k.devices.nics[0]!;
    nic.xdp.attach((inv) => {
      const v = inv.memory.view;
      new ContextWriter(v, inv.memory.bytes).u64(inv.ctx + XDP_BUFF.data, readU64(v, inv.ctx + XDP_BUFF.data) + 14);
      return XDP_ACTION.PASS;
    });
    nic.receive(frame(0));
    k.run();
    expect(nic.delivered[0]).toEqual(frame(0).subarray(14));
  });

  it('drops frames when the RX ring is full', () => {
    const k = createKernel({ devices: { nics: [{ rxRingSize: 4 }] } });
    const nic = k.devices.nics[0]!;
    for (let i = 0; i < 10; i++) nic.receive(frame(i));
    k.run();
    expect(nic.stats.rxRingFull).toBe(6);
    expect(nic.delivered).toHaveLength(4);
  });

  it('swaps the NIC model through the registry (configuration names the model)', () => {
    class CountingNic extends SimpleNic {
      override readonly model = 'counting';
      received = 0;
      override receive(data: Uint8Array, queue = 0): void {
        this.received++;
        super.receive(data, queue);
      }
    }
    const models = defaultNicModels();
    models.register('counting', (k, config, ifindex, name) => new CountingNic(k, config, ifindex, name));
    const k = createKernel({ devices: { nics: [{ model: 'counting' }, { model: 'loopback', name: 'lo0' }] } }, { nicModels: models });
    const counting = k.devices.nics[0] as CountingNic;
    counting.receive(frame(1));
    const loop = k.devices.net('lo0')!;
    loop.transmit(frame(2));
    k.run();
    expect(counting.model).toBe('counting');
    expect(counting.received).toBe(1);
    expect(loop.delivered).toEqual([frame(2)]);
    expect(() => createKernel({ devices: { nics: [{ model: 'nope' }] } })).toThrow(/unknown NIC model 'nope'/);
  });
});

describe('pcap and packet sources', () => {
  it('round-trips records through the writer and reader, and replays them with their gaps', () => {
    const records = [
      { timeNs: 3_000_000_123, data: frame(1) },
      { timeNs: 3_000_500_000, data: frame(2) },
    ];
    const bytes = writePcap(records);
    const file = readPcap(bytes);
    expect(file.linkType).toBe(1);
    expect(file.nanosecond).toBe(true);
    expect(file.records.map((r) => r.data)).toEqual([frame(1), frame(2)]);
    expect(file.records.map((r) => [r.seconds, r.nanoseconds])).toEqual([
      [3, 123],
      [3, 500_000],
    ]);
    const k = createKernel({ devices: { nics: [{}] } });
    k.devices.nics[0]!.attachSource(pcapSource(file, 1000));
    k.run();
    expect(k.devices.nics[0]!.delivered).toHaveLength(2);
  });

  it('reads big-endian microsecond files and reports bad input with its offset', () => {
    const bytes = new Uint8Array(24 + 16 + 4);
    const v = new DataView(bytes.buffer);
    v.setUint32(0, 0xa1b2c3d4, false);
    v.setUint32(20, 1, false);
    v.setUint32(24, 10, false);
    v.setUint32(28, 5, false);
    v.setUint32(32, 4, false);
    v.setUint32(36, 60, false);
    const file = readPcap(bytes);
    expect(file.nanosecond).toBe(false);
    expect(file.records[0]).toMatchObject({ seconds: 10, nanoseconds: 5000, originalLength: 60 });
    expect(() => readPcap(bytes.subarray(0, 10))).toThrow(/shorter than the 24-byte header/);
    expect(() => readPcap(new Uint8Array(24))).toThrow(/bad magic .* at offset 0/);
    expect(() => readPcap(bytes.subarray(0, 42))).toThrow(/record at offset 24 claims 4 bytes/);
  });

  it('generates the same UDP flows from the same seed, with valid IPv4 checksums', () => {
    const a = [...udpFlowSource(new Prng(9), { count: 20, intervalNs: 1000, poisson: true })];
    const b = [...udpFlowSource(new Prng(9), { count: 20, intervalNs: 1000, poisson: true })];
    expect(a).toEqual(b);
    const header = new DataView(a[0]!.data.buffer, 14, 20);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += header.getUint16(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    expect(sum).toBe(0xffff);
  });
});
