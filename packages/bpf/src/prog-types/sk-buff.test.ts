/**
 * The __sk_buff rewrite on a struct sk_buff built as the simulated kernel lays it out (kernel-objects.ts): no
 * hook builds one yet (the bpf() test run will), so this test builds it, runs rewritten programs on it with
 * @ebpf-sim/vm and checks that every field a socket filter or tc program reads is the kernel's value, and that
 * stores land in the kernel's fields. The instruction sequences themselves are checked against Linux's in
 * ctx-xlated.test.ts.
 */
import { asm } from '@ebpf-sim/isa';
import { BPF_SKB_DATA_END, MIN_NAPI_ID, NET_DEVICE, NO_QUEUE_MAPPING, QDISC_SKB_CB, SKB_CLONED_MASK, SKB_SHARED_INFO, SK_BUFF, SOCK } from '@ebpf-sim/kernel';
import { AF, BPF_FUNC, Errno, TC_ACT, __SK_BUFF } from '@ebpf-sim/uapi';
import { convertCtxAccesses, verify } from '@ebpf-sim/verifier';
import { Arena, LinearMemory, Perm, Vm, loadProgram, type HelperSpec } from '@ebpf-sim/vm';
import { beforeEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../maps.js';
import { byName, ctxProbe, expectedReads, fieldReads } from '../testing/ctx-probe.js';
import { CGROUP_SKB } from './cgroup-skb.js';
import { SCHED_CLS } from './sched-cls.js';
import { SOCKET_FILTER } from './socket-filter.js';

const CB = SK_BUFF.cb + QDISC_SKB_CB.data;
const CB_WORDS = [0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x55555555];
const IP6_WORDS = [0x20010db8, 0x00000000, 0x00000000, 0x00000010];

interface Skb {
  readonly vm: Vm;
  readonly view: DataView;
  readonly skb: number;
  /** Where skb->data points. */
  readonly data: number;
  /** What each __sk_buff field must read, by field name. */
  readonly expected: Record<string, bigint>;
}

/** Build a struct sk_buff with a device, shared info and a packet, as a receive path would. */
function buildSkb(helpers: readonly HelperSpec[] = []): Skb {
  const mem = new LinearMemory();
  const arena = new Arena(mem);
  const vm = new Vm({ arena, prime: false, helpers });
  const skb = arena.alloc(SK_BUFF.size, Perm.RW, 'sk_buff').start;
  const dev = arena.alloc(NET_DEVICE.size, Perm.RW, 'net_device').start;
  const shinfo = arena.alloc(SKB_SHARED_INFO.size, Perm.RW, 'skb_shared_info').start;
  const packet = arena.alloc(128, Perm.RW, 'packet').start;
  const sock = arena.alloc(SOCK.size, Perm.RW, 'sock').start;
  const view = mem.dataView;
  const u64 = (at: number, value: number): void => view.setBigUint64(at, BigInt(value), true);
  view.setUint32(skb + SK_BUFF.len, 1514, true);
  // pkt_type is the low 3 bits; the neighbouring bit fields are set to show the mask.
  view.setUint8(skb + SK_BUFF.pkt_type_byte, 0xf8 | 3);
  view.setUint32(skb + SK_BUFF.mark, 0xdeadbeef, true);
  view.setUint16(skb + SK_BUFF.queue_mapping, 7, true);
  view.setUint8(skb + SK_BUFF.cloned_byte, 0xff);
  view.setUint16(skb + SK_BUFF.protocol, 0x0008, true);
  view.setUint16(skb + SK_BUFF.vlan_proto, 0x0081, true);
  view.setUint16(skb + SK_BUFF.vlan_tci, 0x0123, true);
  view.setUint32(skb + SK_BUFF.priority, 6, true);
  view.setUint32(skb + SK_BUFF.skb_iif, 2, true);
  u64(skb + SK_BUFF.dev, dev);
  view.setUint32(dev + NET_DEVICE.ifindex, 3, true);
  view.setUint16(skb + SK_BUFF.tc_index, 9, true);
  CB_WORDS.forEach((word, i) => view.setUint32(skb + CB + 4 * i, word, true));
  view.setUint32(skb + SK_BUFF.hash, 0xabcdef01, true);
  view.setUint16(skb + SK_BUFF.cb + QDISC_SKB_CB.tc_classid, 0x0002, true);
  view.setUint32(skb + SK_BUFF.napi_id, MIN_NAPI_ID + 43, true);
  view.setUint32(skb + SK_BUFF.cb + QDISC_SKB_CB.pkt_len, 1518, true);
  u64(skb + SK_BUFF.end, shinfo);
  view.setUint16(shinfo + SKB_SHARED_INFO.gso_segs, 4, true);
  view.setUint16(shinfo + SKB_SHARED_INFO.gso_size, 1448, true);
  view.setBigUint64(shinfo + SKB_SHARED_INFO.hwtstamps, 0x1122_3344_5566_7788n, true);
  u64(skb + SK_BUFF.data, packet + 16);
  u64(skb + SK_BUFF.cb + BPF_SKB_DATA_END.data_end, packet + 80);
  u64(skb + SK_BUFF.cb + BPF_SKB_DATA_END.data_meta, packet + 8);
  view.setBigUint64(skb + SK_BUFF.tstamp, 0x0123_4567_89ab_cdefn, true);
  // The skb's socket: 10.0.0.1:40000 -> 10.0.0.2:80 (addresses and the remote port in network order).
  u64(skb + SK_BUFF.sk, sock);
  view.setUint16(sock + SOCK.skc_family, AF.INET, true);
  view.setUint32(sock + SOCK.skc_rcv_saddr, 0x0a000001, false);
  view.setUint32(sock + SOCK.skc_daddr, 0x0a000002, false);
  view.setUint16(sock + SOCK.skc_dport, 80, false);
  view.setUint16(sock + SOCK.skc_num, 40000, true);
  IP6_WORDS.forEach((word, i) => {
    view.setUint32(sock + SOCK.skc_v6_rcv_saddr + 4 * i, word, true);
    view.setUint32(sock + SOCK.skc_v6_daddr + 4 * i, word + 1, true);
  });
  const expected: Record<string, bigint> = {
    len: 1514n,
    pkt_type: 3n,
    mark: 0xdeadbeefn,
    queue_mapping: 7n,
    protocol: 0x0008n,
    vlan_present: 1n,
    vlan_tci: 0x0123n,
    vlan_proto: 0x0081n,
    priority: 6n,
    ingress_ifindex: 2n,
    ifindex: 3n,
    tc_index: 9n,
    hash: 0xabcdef01n,
    tc_classid: 2n,
    napi_id: BigInt(MIN_NAPI_ID + 43),
    wire_len: 1518n,
    gso_segs: 4n,
    gso_size: 1448n,
    data: BigInt(packet + 16),
    data_end: BigInt(packet + 80),
    data_meta: BigInt(packet + 8),
    tstamp: 0x0123_4567_89ab_cdefn,
    hwtstamp: 0x1122_3344_5566_7788n,
    ...Object.fromEntries(CB_WORDS.map((word, i) => [`cb[${i}]`, BigInt(word)])),
    sk: BigInt(sock),
    family: BigInt(AF.INET),
    local_ip4: 0x0100000an,
    remote_ip4: 0x0200000an,
    // skc_dport in the upper half of the u32 (bpf_convert_ctx_access's shift on a little-endian machine).
    remote_port: 0x5000_0000n,
    local_port: 40000n,
    ...Object.fromEntries(IP6_WORDS.map((word, i) => [`local_ip6[${i}]`, BigInt(word)])),
    ...Object.fromEntries(IP6_WORDS.map((word, i) => [`remote_ip6[${i}]`, BigInt(word + 1)])),
  };
  return { vm, view, skb, data: packet + 16, expected };
}

function readAll(progType: typeof SCHED_CLS, s: Skb): { got: Record<string, bigint>; want: Record<string, bigint> } {
  const reads = fieldReads(progType.ctx);
  return { got: byName(reads, ctxProbe(progType, reads, s.vm).run(s.skb)), want: expectedReads(reads, s.expected) };
}

describe('__sk_buff reads on the simulated struct sk_buff', () => {
  let s: Skb;
  beforeEach(() => {
    s = buildSkb();
  });

  it('tc: every readable field, whole and narrow, is the kernel value', () => {
    const { got, want } = readAll(SCHED_CLS, s);
    expect(Object.keys(got)).toContain('data_meta');
    expect(got).toEqual(want);
  });

  it('socket filter: every readable field, whole and narrow, is the kernel value', () => {
    const { got, want } = readAll(SOCKET_FILTER, s);
    expect(Object.keys(got)).not.toContain('tc_classid');
    expect(got).toEqual(want);
  });

  it('cgroup skb: every readable field, the socket ones (family .. local_port, sk) included, is the kernel value', () => {
    const { got, want } = readAll(CGROUP_SKB, s);
    expect(Object.keys(got)).toEqual(expect.arrayContaining(['sk', 'family', 'remote_port', 'local_port', 'remote_ip6[3]', 'local_ip4']));
    expect(got).toEqual(want);
  });

  it('socket filter: ifindex of an skb without a device reads 0 (the NULL check Linux emits)', () => {
    s.view.setBigUint64(s.skb + SK_BUFF.dev, 0n, true);
    expect(ctxProbe(SOCKET_FILTER, [{ name: 'ifindex', off: __SK_BUFF.ifindex, size: 4 }], s.vm).run(s.skb)).toEqual([0n]);
  });

  it('napi_id reads 0 when skb->napi_id holds a sender CPU (below MIN_NAPI_ID)', () => {
    s.view.setUint32(s.skb + SK_BUFF.napi_id, MIN_NAPI_ID - 1, true);
    expect(ctxProbe(SCHED_CLS, [{ name: 'napi_id', off: __SK_BUFF.napi_id, size: 4 }], s.vm).run(s.skb)).toEqual([0n]);
  });

  it('narrow loads of a u16-backed field as Linux makes them: the upper half reads the u16 itself, its second byte shifts', () => {
    const probe = ctxProbe(
      SCHED_CLS,
      [
        { name: 'queue_mapping high half', off: __SK_BUFF.queue_mapping + 2, size: 2 },
        { name: 'vlan_tci second byte', off: __SK_BUFF.vlan_tci + 1, size: 1 },
        { name: 'cb[2] last byte', off: __SK_BUFF.cb + 8 + 3, size: 1 },
      ],
      s.vm,
    );
    expect(probe.run(s.skb)).toEqual([7n, 0x01n, 0x33n]);
  });
});

describe('__sk_buff stores on the simulated struct sk_buff', () => {
  const { Exit, Ldx, Mov, St, Stx, program, R0, R1, R2 } = asm;
  const store = (...insns: ReturnType<typeof Mov.imm>[]) => {
    const s = buildSkb();
    const insnList = program(...insns, Mov.imm(R0, 0), Exit());
    const result = verify(insnList, { progType: SCHED_CLS, registry: createRegistry() });
    expect(result.accepted, result.log).toBe(true);
    expect(s.vm.run(loadProgram(convertCtxAccesses(insnList, result.facts, SCHED_CLS).insns), s.skb)).toBe(true);
    return s;
  };

  it('tc: mark, priority, tc_index, tc_classid, queue_mapping, cb[] and tstamp go to their sk_buff fields', () => {
    const s = store(
      Mov.imm(R2, 0x4321),
      Stx.w(R1, __SK_BUFF.mark, R2),
      Stx.w(R1, __SK_BUFF.priority, R2),
      Stx.w(R1, __SK_BUFF.tc_index, R2),
      Stx.w(R1, __SK_BUFF.tc_classid, R2),
      Stx.w(R1, __SK_BUFF.queue_mapping, R2),
      St.w(R1, __SK_BUFF.cb + 12, 77),
      Stx.dw(R1, __SK_BUFF.tstamp, R2),
    );
    const v = s.view;
    expect({
      mark: v.getUint32(s.skb + SK_BUFF.mark, true),
      priority: v.getUint32(s.skb + SK_BUFF.priority, true),
      tc_index: v.getUint16(s.skb + SK_BUFF.tc_index, true),
      tc_classid: v.getUint16(s.skb + SK_BUFF.cb + QDISC_SKB_CB.tc_classid, true),
      queue_mapping: v.getUint16(s.skb + SK_BUFF.queue_mapping, true),
      cloned: v.getUint8(s.skb + SK_BUFF.cloned_byte),
      cb3: v.getUint32(s.skb + CB + 12, true),
      tstamp: v.getBigUint64(s.skb + SK_BUFF.tstamp, true),
    }).toEqual({ mark: 0x4321, priority: 0x4321, tc_index: 0x4321, tc_classid: 0x4321, queue_mapping: 0x4321, cloned: 0xff, cb3: 77, tstamp: 0x4321n });
  });

  it('tc: a store of NO_QUEUE_MAPPING (register or immediate) leaves queue_mapping as it was', () => {
    const fromRegister = store(Mov.imm(R2, NO_QUEUE_MAPPING), Stx.w(R1, __SK_BUFF.queue_mapping, R2));
    expect(fromRegister.view.getUint16(fromRegister.skb + SK_BUFF.queue_mapping, true)).toBe(7);
    const immediate = store(St.w(R1, __SK_BUFF.queue_mapping, NO_QUEUE_MAPPING));
    expect(immediate.view.getUint16(immediate.skb + SK_BUFF.queue_mapping, true)).toBe(7);
    // A read after the store in the same program sees the kernel field.
    const readBack = store(Mov.imm(R2, 12), Stx.w(R1, __SK_BUFF.queue_mapping, R2), Ldx.w(R2, R1, __SK_BUFF.queue_mapping), Stx.w(R1, __SK_BUFF.mark, R2));
    expect(readBack.view.getUint32(readBack.skb + SK_BUFF.mark, true)).toBe(12);
  });
});

describe('the tc prologue before a program that writes the packet', () => {
  const { Add, Exit, JGt, Ldx, Mov, St, label, program, R0, R1, R2, R3, R4 } = asm;
  const WRITE_PACKET = program(
    Ldx.w(R2, R1, __SK_BUFF.data),
    Ldx.w(R3, R1, __SK_BUFF.data_end),
    Mov.reg(R4, R2),
    Add.imm(R4, 1),
    Mov.imm(R0, TC_ACT.OK),
    JGt.reg(R4, R3, 'out'),
    St.b(R2, 0, 0x42),
    label('out'),
    Exit(),
  );

  /** Run WRITE_PACKET on an skb, cloned or not, with a bpf_skb_pull_data that answers `pull`. */
  function run(cloned: boolean, pull: number): { r0: bigint; written: number; pulls: Array<[number, number]> } {
    const pulls: Array<[number, number]> = [];
    const s = buildSkb([{ id: BPF_FUNC.skb_pull_data, name: 'skb_pull_data', fn: (ctx) => (pulls.push([ctx.argNumber(1), ctx.argNumber(2)]), pull) }]);
    s.view.setUint8(s.skb + SK_BUFF.cloned_byte, cloned ? SKB_CLONED_MASK : 0);
    const result = verify(WRITE_PACKET, { progType: SCHED_CLS, registry: createRegistry() });
    expect(result.facts.seenDirectWrite).toBe(true);
    expect(s.vm.run(loadProgram(convertCtxAccesses(WRITE_PACKET, result.facts, SCHED_CLS).insns), s.skb)).toBe(true);
    return { r0: s.vm.r0, written: s.view.getUint8(s.data), pulls: pulls.map(([skb, len]) => [skb - s.skb, len]) };
  }

  it('an skb nobody else shares is written directly', () => {
    expect(run(false, 0)).toEqual({ r0: 0n, written: 0x42, pulls: [] });
  });

  it('a cloned skb is first made private with bpf_skb_pull_data(skb, 0)', () => {
    expect(run(true, 0)).toEqual({ r0: 0n, written: 0x42, pulls: [[0, 0]] });
  });

  it('a cloned skb that cannot be made private is dropped (TC_ACT_SHOT) before the program runs', () => {
    expect(run(true, -Errno.ENOMEM)).toEqual({ r0: BigInt(TC_ACT.SHOT), written: 0, pulls: [[0, 0]] });
  });
});
