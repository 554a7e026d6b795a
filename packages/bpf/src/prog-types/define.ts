import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { PRIVILEGED_BASE, UNPRIVILEGED_BASE } from '../helpers/index.js';

/** Helper numbers every tracing program type adds (Linux bpf_tracing_func_proto). */
export const TRACING_COMMON = [15, 16, 80, 120, 22, 55, 109, 4, 45] as const;

/**
 * A program type whose helpers are its own `*_func_proto` list plus bpf_base_func_proto: the unprivileged
 * base helpers, and the CAP_BPF/CAP_PERFMON ones flagged as privileged.
 */
export function defineProgType(desc: Omit<ProgramTypeDesc, 'helpers' | 'privilegedHelpers'>, own: readonly number[]): ProgramTypeDesc {
  return {
    ...desc,
    helpers: new Set<number>([...own, ...UNPRIVILEGED_BASE, ...PRIVILEGED_BASE]),
    privilegedHelpers: new Set<number>(PRIVILEGED_BASE),
  };
}
