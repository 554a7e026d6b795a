import type { BpfFuncName } from '@ebpf-sim/uapi';
import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { funcIds } from '../helpers/define.js';
import { PRIVILEGED_BASE, UNPRIVILEGED_BASE } from '../helpers/index.js';

/** Helpers every tracing program type adds (Linux bpf_tracing_func_proto). */
export const TRACING_COMMON: readonly BpfFuncName[] = [
  'get_current_uid_gid',
  'get_current_comm',
  'get_current_cgroup_id',
  'current_task_under_cgroup',
  'get_ns_current_pid_tgid',
  'perf_event_read',
  'perf_event_read_value',
  'send_signal',
  'probe_read',
  'probe_read_str',
];

/**
 * A program type whose helpers are its own `*_func_proto` list plus bpf_base_func_proto: the unprivileged
 * base helpers, and the CAP_BPF/CAP_PERFMON ones flagged as privileged.
 */
export function defineProgType(desc: Omit<ProgramTypeDesc, 'helpers' | 'privilegedHelpers'>, own: readonly BpfFuncName[]): ProgramTypeDesc {
  return {
    ...desc,
    helpers: new Set<number>(funcIds([...own, ...UNPRIVILEGED_BASE, ...PRIVILEGED_BASE])),
    privilegedHelpers: new Set<number>(funcIds(PRIVILEGED_BASE)),
  };
}
