/** The program types of the simulator, by command-line name, and libbpf's section-name conventions. */
import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { CGROUP_SKB } from './cgroup-skb.js';
import { FLOW_DISSECTOR } from './flow-dissector.js';
import { KPROBE } from './kprobe.js';
import { LSM } from './lsm.js';
import { LWT_IN, LWT_OUT, LWT_SEG6LOCAL, LWT_XMIT } from './lwt.js';
import { PERF_EVENT } from './perf-event.js';
import { RAW_TRACEPOINT } from './raw-tracepoint.js';
import { SCHED_ACT } from './sched-act.js';
import { SCHED_CLS } from './sched-cls.js';
import { SK_REUSEPORT } from './sk-reuseport.js';
import { SK_SKB } from './sk-skb.js';
import { SOCKET_FILTER } from './socket-filter.js';
import { TRACEPOINT } from './tracepoint.js';
import { XDP } from './xdp.js';

export const PROGRAM_TYPES: ReadonlyMap<string, ProgramTypeDesc> = new Map(
  [
    XDP,
    SOCKET_FILTER,
    KPROBE,
    TRACEPOINT,
    RAW_TRACEPOINT,
    PERF_EVENT,
    SCHED_CLS,
    LSM,
    SCHED_ACT,
    LWT_IN,
    LWT_OUT,
    LWT_XMIT,
    LWT_SEG6LOCAL,
    CGROUP_SKB,
    SK_SKB,
    FLOW_DISSECTOR,
    SK_REUSEPORT,
  ].map((t) => [t.name, t]),
);

/** Section-name prefixes as libbpf's section_defs match them (exact name, or prefix followed by `/`). */
const SECTION_RULES: ReadonlyArray<readonly [string, string]> = [
  ['xdp', 'xdp'],
  ['socket', 'socket_filter'],
  ['kprobe', 'kprobe'],
  ['kretprobe', 'kprobe'],
  ['uprobe', 'kprobe'],
  ['uretprobe', 'kprobe'],
  ['tracepoint', 'tracepoint'],
  ['tp', 'tracepoint'],
  ['raw_tracepoint', 'raw_tracepoint'],
  ['raw_tp', 'raw_tracepoint'],
  ['perf_event', 'perf_event'],
  ['lsm', 'lsm'],
  ['tc', 'sched_cls'],
  ['classifier', 'sched_cls'],
  ['tcx/ingress', 'sched_cls'],
  ['tcx/egress', 'sched_cls'],
  ['action', 'sched_act'],
  ['lwt_in', 'lwt_in'],
  ['lwt_out', 'lwt_out'],
  ['lwt_xmit', 'lwt_xmit'],
  ['lwt_seg6local', 'lwt_seg6local'],
  ['cgroup_skb/ingress', 'cgroup_skb'],
  ['cgroup_skb/egress', 'cgroup_skb'],
  ['cgroup/skb', 'cgroup_skb'],
  ['sk_skb', 'sk_skb'],
  ['flow_dissector', 'flow_dissector'],
  ['sk_reuseport', 'sk_reuseport'],
];

/** The program type libbpf infers from an ELF section name, or undefined. */
export function progTypeForSection(section: string): ProgramTypeDesc | undefined {
  for (const [prefix, type] of SECTION_RULES) {
    if (section === prefix || section.startsWith(`${prefix}/`) || (prefix === 'xdp' && section.startsWith('xdp.'))) return PROGRAM_TYPES.get(type);
  }
  return undefined;
}

export { KPROBE, LSM, PERF_EVENT, RAW_TRACEPOINT, SCHED_CLS, SOCKET_FILTER, TRACEPOINT, XDP };
export { CGROUP_SKB, FLOW_DISSECTOR, LWT_IN, LWT_OUT, LWT_SEG6LOCAL, LWT_XMIT, SCHED_ACT, SK_REUSEPORT, SK_SKB };
