/** The program types of the simulator, by command-line name, and libbpf's section-name conventions. */
import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { KPROBE } from './kprobe.js';
import { LSM } from './lsm.js';
import { PERF_EVENT } from './perf-event.js';
import { RAW_TRACEPOINT } from './raw-tracepoint.js';
import { SCHED_CLS } from './sched-cls.js';
import { SOCKET_FILTER } from './socket-filter.js';
import { TRACEPOINT } from './tracepoint.js';
import { TRACING } from './tracing.js';
import { XDP } from './xdp.js';

export const PROGRAM_TYPES: ReadonlyMap<string, ProgramTypeDesc> = new Map(
  [XDP, SOCKET_FILTER, KPROBE, TRACEPOINT, RAW_TRACEPOINT, PERF_EVENT, SCHED_CLS, LSM, TRACING].map((t) => [t.name, t]),
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
  ['fentry', 'tracing'],
  ['fexit', 'tracing'],
  ['fmod_ret', 'tracing'],
  ['tp_btf', 'tracing'],
  ['tc', 'sched_cls'],
  ['classifier', 'sched_cls'],
  ['tcx/ingress', 'sched_cls'],
  ['tcx/egress', 'sched_cls'],
];

/** The program type libbpf infers from an ELF section name, or undefined. */
export function progTypeForSection(section: string): ProgramTypeDesc | undefined {
  for (const [prefix, type] of SECTION_RULES) {
    if (section === prefix || section.startsWith(`${prefix}/`) || (prefix === 'xdp' && section.startsWith('xdp.'))) return PROGRAM_TYPES.get(type);
  }
  return undefined;
}

export { KPROBE, LSM, PERF_EVENT, RAW_TRACEPOINT, SCHED_CLS, SOCKET_FILTER, TRACEPOINT, TRACING, XDP };
