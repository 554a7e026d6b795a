/**
 * Linux's check_map_prog_compatibility (kernel/bpf/verifier.c), the part this kernel's maps can trip: run for each
 * map a program names as resolve_pseudo_ldimm64 adds it to the program's used maps, before the verifier walks
 * any instruction (so the refusal is the log's only line, with EINVAL).
 */
import { BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import type { BpfMap } from '../maps/map.js';

/** is_tracing_prog_type: the program types that run in tracing context (any lock may be held around them). */
const TRACING_PROG_TYPES: ReadonlySet<number> = new Set([
  BPF_PROG_TYPE.KPROBE,
  BPF_PROG_TYPE.TRACEPOINT,
  BPF_PROG_TYPE.PERF_EVENT,
  BPF_PROG_TYPE.RAW_TRACEPOINT,
]);

/**
 * The verifier's line refusing `map` for a program of type `progType`, or undefined when they go together. A map
 * whose value holds a struct bpf_spin_lock is refused to socket filters and to tracing programs, as Linux does
 * (recorded on Linux 6.18: apps/cli/fixtures/verifier-corpus, lock_in_socket and lock_in_raw_tp).
 */
export function mapProgIncompatibility(progType: number, map: Pick<BpfMap, 'spinLockOff'>): string | undefined {
  if (map.spinLockOff < 0) return undefined;
  if (progType === BPF_PROG_TYPE.SOCKET_FILTER) return 'socket filter progs cannot use bpf_spin_lock yet';
  if (TRACING_PROG_TYPES.has(progType)) return 'tracing progs cannot use bpf_spin_lock yet';
  return undefined;
}
