/**
 * The context rewrite against the real kernel: C programs (fixtures/xlated/*.c) that read every field of
 * xdp_md, __sk_buff and bpf_perf_event_data (and one that writes packet data, for tc's prologue), compiled, loaded into Linux 6.18 and dumped with `bpftool prog
 * dump xlated` (fixtures/xlated/rebuild.sh; the lwt, cgroup_skb, sk_skb, flow_dissector and sk_reuseport ones by
 * rebuild-skb.sh). The same bytecode, verified and rewritten here, must print the
 * same instructions, except where the simulated kernel's internal objects differ from Linux's, each listed
 * below with its reason. Linux's offsets in those lists come from its BTF (linux-offsets.json), so a listed
 * difference is exactly "this field lives elsewhere", nothing more.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatXlated, fromHex, lookupForm } from '@ebpf-sim/isa';
import { NET_DEVICE, PERF_SAMPLE_DATA, SK_BUFF } from '@ebpf-sim/kernel';
import { convertCtxAccesses, verify, type ProgramTypeDesc } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry } from './maps.js';
import { progTypeForAttach } from './prog-types/define.js';
import { CGROUP_SKB, FLOW_DISSECTOR, LWT_XMIT, PERF_EVENT, SCHED_CLS, SK_REUSEPORT, SK_SKB, XDP } from './prog-types/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'xlated');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/** Offsets of the kernel-internal fields in the Linux 6.18 build the dumps came from (its vmlinux BTF). */
const LINUX = JSON.parse(fixture('linux-offsets.json')) as {
  readonly net_device: { readonly ifindex: number };
  readonly perf_sample_data: { readonly addr: number };
  readonly sk_buff: Readonly<Record<'data' | 'end' | 'head' | 'tstamp' | '__mono_tc_offset', number>>;
  readonly skb_shared_info: Readonly<Record<'gso_segs' | 'gso_size' | 'hwtstamps', number>>;
};

/** One documented difference: Linux's instructions (a run of them) and what the simulator emits instead. */
interface Difference {
  readonly linux: readonly string[];
  readonly ours: readonly string[];
  readonly why: string;
}

/**
 * The instructions of a dump, without slot numbers, source lines or the function header. A helper call is
 * kept by name: in Linux's xlated program its immediate is the helper's address (do_misc_fixups, which the
 * simulator does not do), in ours the helper's number.
 */
function instructions(dump: string): string[] {
  return dump
    .split('\n')
    .map((line) => /^\s*\d+: (.*)$/.exec(line)?.[1]?.replace(/^(\(85\) call [a-z0-9_]+)#\d+$/, '$1'))
    .filter((text): text is string => text !== undefined);
}

/** Replace every occurrence of each difference's Linux run with the simulator's instructions. */
function applyDifferences(linux: readonly string[], differences: readonly Difference[]): string[] {
  let out = [...linux];
  for (const { linux: run, ours } of differences) {
    const next: string[] = [];
    let replaced = 0;
    for (let i = 0; i < out.length;) {
      if (run.every((text, k) => out[i + k] === text)) {
        next.push(...ours);
        i += run.length;
        replaced++;
      } else {
        next.push(out[i] as string);
        i++;
      }
    }
    // A difference that matches nothing would be a stale entry.
    expect(replaced, `Linux's dump has no run ${JSON.stringify(run)}`).toBeGreaterThan(0);
    out = next;
  }
  return out;
}

function ourXlated(hex: string, progType: ProgramTypeDesc): string[] {
  const bytes = fromHex(hex);
  const result = verify(bytes, { progType, registry: createRegistry(), logLevel: 1 });
  expect(result.accepted, result.log).toBe(true);
  // Printed one by one, not through the isa decoder, which refuses r11 (BPF_REG_AX, sk_skb's data_end uses it).
  const lines = convertCtxAccesses(bytes, result.facts, progType).insns.map((insn, i) => {
    const form = lookupForm(insn.code, insn.src, insn.off, insn.imm);
    if (form === null) throw new Error(`no form for opcode ${insn.code.toString(16)}`);
    return `${i}: ${formatXlated(insn, form)}`;
  });
  return instructions(lines.join('\n'));
}

const ifindexDifference = (reg: string): Difference => ({
  linux: [`(61) ${reg} = *(u32 *)(${reg} +${LINUX.net_device.ifindex})`],
  ours: [`(61) ${reg} = *(u32 *)(${reg} +${NET_DEVICE.ifindex})`],
  why: 'net_device.ifindex: the simulated struct net_device has only the fields BPF reads',
});

describe('the context rewrite prints as Linux 6.18 xlated dumps', () => {
  it('records the kernel the fixtures came from', () => {
    expect(fixture('kernel-version.txt')).toMatch(/^6\.18\./);
  });

  it('xdp_md: data/data_end/data_meta from xdp_buff, ingress_ifindex through rxq->dev, rx_queue_index through rxq', () => {
    const linux = instructions(fixture('xdp_md.xlated.txt'));
    expect(linux).toContain('(79) r1 = *(u64 *)(r1 +32)');
    expect(ourXlated(fixture('xdp_md.hex'), XDP)).toEqual(applyDifferences(linux, [ifindexDifference('r1')]));
  });

  it('bpf_perf_event_data: registers through regs, the sample through data, a narrow load shifted and masked', () => {
    const linux = instructions(fixture('perf_event.xlated.txt'));
    const differences: Difference[] = [
      {
        linux: [`(79) r2 = *(u64 *)(r2 +${LINUX.perf_sample_data.addr})`],
        ours: [`(79) r2 = *(u64 *)(r2 +${PERF_SAMPLE_DATA.addr})`],
        why: 'perf_sample_data.addr: the simulated sample has only addr and period',
      },
    ];
    expect(ourXlated(fixture('perf_event.hex'), PERF_EVENT)).toEqual(applyDifferences(linux, differences));
  });

  it('__sk_buff: a program writing the packet gets the un-clone prologue, and its data load the simulated offset', () => {
    const linux = instructions(fixture('sk_buff_write.xlated.txt'));
    expect(linux[5]).toBe('(85) call bpf_skb_pull_data');
    const differences: Difference[] = [
      {
        linux: [`(79) r1 = *(u64 *)(r1 +${LINUX.sk_buff.data})`],
        ours: [`(79) r1 = *(u64 *)(r1 +${SK_BUFF.data})`],
        why: 'sk_buff.data: after the pointer-sized tail and end of the simulated layout',
      },
    ];
    expect(ourXlated(fixture('sk_buff_write.hex'), SCHED_CLS)).toEqual(applyDifferences(linux, differences));
  });

  it('__sk_buff: every tc-readable field, narrow loads, stores, the packet pointers', () => {
    const linux = instructions(fixture('sk_buff.xlated.txt'));
    const shinfo = (field: 'gso_segs' | 'gso_size'): Difference => ({
      linux: [
        `(61) r11 = *(u32 *)(r1 +${LINUX.sk_buff.end})`,
        `(79) r3 = *(u64 *)(r1 +${LINUX.sk_buff.head})`,
        '(0f) r3 += r11',
        `(69) r3 = *(u16 *)(r3 +${LINUX.skb_shared_info[field]})`,
      ],
      ours: [`(79) r3 = *(u64 *)(r1 +${SK_BUFF.end})`, `(69) r3 = *(u16 *)(r3 +${LINUX.skb_shared_info[field]})`],
      why: 'skb_shinfo(skb): the simulated sk_buff keeps `end` as a pointer, so no head + offset through BPF_REG_AX',
    });
    const differences: Difference[] = [
      ifindexDifference('r3'),
      shinfo('gso_segs'),
      shinfo('gso_size'),
      {
        linux: [
          `(71) r11 = *(u8 *)(r1 +${LINUX.sk_buff.__mono_tc_offset})`,
          '(46) if w11 & 0x4 goto pc+1',
          '(05) goto pc+4',
          '(46) if w11 & 0x3 goto pc+1',
          '(05) goto pc+2',
          '(b7) r3 = 0',
          '(05) goto pc+1',
          `(79) r3 = *(u64 *)(r1 +${LINUX.sk_buff.tstamp})`,
        ],
        ours: [`(79) r3 = *(u64 *)(r1 +${SK_BUFF.tstamp})`],
        why: 'tstamp: the simulated kernel is built without CONFIG_NET_XGRESS (no tc ingress yet), so no delivery-time test',
      },
      {
        linux: [`(79) r2 = *(u64 *)(r1 +${LINUX.sk_buff.data})`],
        ours: [`(79) r2 = *(u64 *)(r1 +${SK_BUFF.data})`],
        why: 'sk_buff.data: after the pointer-sized tail and end of the simulated layout',
      },
    ];
    expect(ourXlated(fixture('sk_buff.hex'), SCHED_CLS)).toEqual(applyDifferences(linux, differences));
  });

  // The skb program types after tc: each against its own dump (rebuild-skb.sh).
  const dataDifference = (dst: string, src: string): Difference => ({
    linux: [`(79) ${dst} = *(u64 *)(${src} +${LINUX.sk_buff.data})`],
    ours: [`(79) ${dst} = *(u64 *)(${src} +${SK_BUFF.data})`],
    why: 'sk_buff.data: after the pointer-sized tail and end of the simulated layout',
  });
  const shinfoDifference = (reg: string, field: 'gso_segs' | 'gso_size' | 'hwtstamps', load: string): Difference => ({
    linux: [
      `(61) r11 = *(u32 *)(r1 +${LINUX.sk_buff.end})`,
      `(79) ${reg} = *(u64 *)(r1 +${LINUX.sk_buff.head})`,
      `(0f) ${reg} += r11`,
      `${load} ${reg} = *(${load === '(79)' ? 'u64' : 'u16'} *)(${reg} +${LINUX.skb_shared_info[field]})`,
    ],
    ours: [`(79) ${reg} = *(u64 *)(r1 +${SK_BUFF.end})`, `${load} ${reg} = *(${load === '(79)' ? 'u64' : 'u16'} *)(${reg} +${LINUX.skb_shared_info[field]})`],
    why: 'skb_shinfo(skb): the simulated sk_buff keeps `end` as a pointer, so no head + offset through BPF_REG_AX',
  });

  it('lwt_xmit: the lwt fields, ifindex through a possibly NULL skb->dev, cb[] at any width, the un-clone prologue', () => {
    const linux = instructions(fixture('lwt_skb.xlated.txt'));
    const differences: Difference[] = [
      ifindexDifference('r3'),
      shinfoDifference('r3', 'gso_segs', '(69)'),
      shinfoDifference('r3', 'gso_size', '(69)'),
      dataDifference('r1', 'r1'),
    ];
    expect(ourXlated(fixture('lwt_skb.hex'), LWT_XMIT)).toEqual(applyDifferences(linux, differences));
  });

  it('cgroup_skb: the cgroup skb fields, tstamp and hwtstamp, the packet read without a prologue', () => {
    const linux = instructions(fixture('cgroup_skb.xlated.txt'));
    const attached = progTypeForAttach(CGROUP_SKB, 0);
    if (attached === undefined) throw new Error('cgroup_skb refuses BPF_CGROUP_INET_INGRESS');
    const differences: Difference[] = [
      ifindexDifference('r3'),
      shinfoDifference('r3', 'gso_segs', '(69)'),
      shinfoDifference('r3', 'gso_size', '(69)'),
      shinfoDifference('r3', 'hwtstamps', '(79)'),
      dataDifference('r1', 'r1'),
      {
        linux: [
          `(71) r11 = *(u8 *)(r1 +${LINUX.sk_buff.__mono_tc_offset})`,
          '(46) if w11 & 0x4 goto pc+1',
          '(05) goto pc+4',
          '(46) if w11 & 0x3 goto pc+1',
          '(05) goto pc+2',
          '(b7) r3 = 0',
          '(05) goto pc+1',
          `(79) r3 = *(u64 *)(r1 +${LINUX.sk_buff.tstamp})`,
        ],
        ours: [`(79) r3 = *(u64 *)(r1 +${SK_BUFF.tstamp})`],
        why: 'tstamp read: the simulated kernel is built without CONFIG_NET_XGRESS (no tc ingress yet), so no delivery-time test',
      },
      {
        linux: [
          `(71) r11 = *(u8 *)(r1 +${LINUX.sk_buff.__mono_tc_offset})`,
          '(46) if w11 & 0x4 goto pc+1',
          '(05) goto pc+2',
          '(54) w11 &= -4',
          `(73) *(u8 *)(r1 +${LINUX.sk_buff.__mono_tc_offset}) = r11`,
          `(7b) *(u64 *)(r1 +${LINUX.sk_buff.tstamp}) = r2`,
        ],
        ours: [`(7b) *(u64 *)(r1 +${SK_BUFF.tstamp}) = r2`],
        why: 'tstamp store: without CONFIG_NET_XGRESS no delivery-time bits to clear',
      },
    ];
    expect(ourXlated(fixture('cgroup_skb.hex'), attached.desc)).toEqual(applyDifferences(linux, differences));
  });

  it('sk_skb: cb[] in sk_skb_cb, data_end from data + len - data_len, the prologue dropping with SK_DROP', () => {
    const linux = instructions(fixture('sk_skb.xlated.txt'));
    const differences: Difference[] = [
      ifindexDifference('r3'),
      dataDifference('r2', 'r1'),
      dataDifference('r1', 'r1'),
      {
        linux: ['(85) call sk_skb_pull_data'],
        ours: ['(85) call bpf_skb_pull_data'],
        why: 'sk_skb_func_proto gives skb_pull_data its own implementation (sk_skb_pull_data); the simulator has one helper per number and no sockmap hook to run sk_skb programs on yet',
      },
    ];
    expect(ourXlated(fixture('sk_skb.hex'), SK_SKB)).toEqual(applyDifferences(linux, differences));
  });

  it('flow_dissector: data, data_end and flow_keys from struct bpf_flow_dissector, the keys read and written', () => {
    expect(ourXlated(fixture('flow_dissector.hex'), FLOW_DISSECTOR)).toEqual(instructions(fixture('flow_dissector.xlated.txt')));
  });

  it('sk_reuseport: sk_reuseport_kern fields, and len, eth_protocol and data through its skb, narrow loads shifted and masked', () => {
    const linux = instructions(fixture('sk_reuseport.xlated.txt'));
    expect(ourXlated(fixture('sk_reuseport.hex'), SK_REUSEPORT)).toEqual(applyDifferences(linux, [dataDifference('r1', 'r1')]));
  });
});
