import type { BpfFuncName } from '@ebpf-sim/uapi';
import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { funcIds } from '../helpers/define.js';
import { PRIVILEGED_BASE, UNPRIVILEGED_BASE } from '../helpers/index.js';

/** Helpers every tracing program type adds (Linux bpf_tracing_func_proto). */
export const TRACING_COMMON: readonly BpfFuncName[] = [
  'get_current_uid_gid',
  'get_current_comm',
  'get_current_cgroup_id',
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

/** The description a program is verified against and the expected attach type it keeps. */
export interface AttachedProgType {
  readonly desc: ProgramTypeDesc;
  readonly expectedAttachType: number;
}

/**
 * bpf_prog_load_fixup_attach_type, then bpf_prog_load_check_attach: an expected_attach_type of 0 stands for the
 * type's default one, a type with a list of attach types takes only those (undefined: PROG_LOAD answers EINVAL),
 * and the attach type's variant replaces what it changes in the description.
 */
export function progTypeForAttach(desc: ProgramTypeDesc, expectedAttachType: number): AttachedProgType | undefined {
  const attachType = expectedAttachType === 0 && desc.defaultAttachType !== undefined ? desc.defaultAttachType : expectedAttachType;
  if (desc.attachTypes === undefined) return { desc, expectedAttachType: attachType };
  const variant = desc.attachTypes.get(attachType);
  if (variant === undefined) return undefined;
  return { desc: { ...desc, ...variant }, expectedAttachType: attachType };
}
