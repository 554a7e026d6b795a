import type { BpfFuncName } from '@ebpf-sim/uapi';
import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { funcIds } from '../helpers/define.js';
import { HELPERS, PRIVILEGED_BASE, UNPRIVILEGED_BASE } from '../helpers/index.js';

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
  'send_signal_thread',
  'probe_read',
  'probe_read_str',
  // bpf_tracing_func_proto gives every tracing type task-local storage (the _recur variants where recursion is possible).
  'task_storage_get',
  'task_storage_delete',
  // bpf_tracing_func_proto offers it to every tracing type; the verifier refuses it unless the program is sleepable.
  'copy_from_user',
];

/**
 * A program type whose helpers are its own `*_func_proto` list plus bpf_base_func_proto: the unprivileged
 * base helpers, and the CAP_BPF/CAP_PERFMON ones flagged as privileged.
 */
export function defineProgType(desc: Omit<ProgramTypeDesc, 'helpers' | 'privilegedHelpers'>, own: readonly BpfFuncName[]): ProgramTypeDesc {
  return {
    ...desc,
    // Linux's func_proto lists name helpers this simulator has no prototype for yet (socket, sysctl, tunnel helpers):
    // only the known ones are offered, so a call of another one is refused as an unknown function, as it would be anyway.
    helpers: new Set<number>(funcIds([...own, ...UNPRIVILEGED_BASE, ...PRIVILEGED_BASE]).filter((id) => HELPERS.has(id))),
    privilegedHelpers: new Set<number>(funcIds(PRIVILEGED_BASE)),
  };
}

/**
 * What BPF_PROG_LOAD checks of expected_attach_type for a program type (bpf_prog_load_fixup_attach_type and
 * bpf_prog_load_check_attach), and how the attach type changes what the verifier allows: its context fields
 * and return range (is_valid_access and check_return_code read prog->expected_attach_type).
 */
export interface AttachRule {
  /** expected_attach_type 0 is taken as this one (bpf_prog_load_fixup_attach_type: CGROUP_SOCK, SK_REUSEPORT). */
  readonly defaultAttachType?: number;
  /** The attach types the type loads with, each with the descriptor the verifier checks it as; any other is EINVAL. */
  readonly byAttachType: ReadonlyMap<number, ProgramTypeDesc>;
  /**
   * The descriptor of every attach type not in `byAttachType`, for a type whose expected_attach_type Linux does not
   * check at load (XDP: bpf_prog_load_check_attach has no case for it, only xdp_is_valid_access reads it).
   */
  readonly others?: ProgramTypeDesc;
}

/** A program type of this kernel: the verifier's descriptor, with its attach-type rule where Linux has one. */
export interface BpfProgramType extends ProgramTypeDesc {
  readonly attach?: AttachRule;
  /**
   * The type loads only with BPF_F_SLEEPABLE: without it the load fails with EINVAL and this line in the log
   * (check_attach_btf_id, before the program is checked).
   */
  readonly onlySleepable?: string;
}

/**
 * A program type whose verifier view depends on the attach type: `base` (the fields, helpers and return range
 * every attach type shares) specialised by `variant(attachType)` for each attach type Linux accepts.
 */
export function withAttachTypes(
  base: ProgramTypeDesc,
  attachTypes: readonly number[],
  variant: (attachType: number) => Partial<Pick<ProgramTypeDesc, 'ctx' | 'retRange' | 'directPacketWrite'>>,
  defaultAttachType?: number,
): BpfProgramType {
  const byAttachType = new Map(attachTypes.map((type) => [type, { ...base, ...variant(type) }]));
  return { ...base, attach: defaultAttachType === undefined ? { byAttachType } : { byAttachType, defaultAttachType } };
}

/**
 * bpf_prog_load_fixup_attach_type + bpf_prog_load_check_attach: the expected attach type the program keeps and
 * the descriptor to verify it as, or undefined for an attach type the program type does not take (EINVAL).
 */
export function resolveAttachType(
  type: BpfProgramType,
  expectedAttachType: number,
): { readonly attachType: number; readonly desc: ProgramTypeDesc } | undefined {
  const rule = type.attach;
  if (rule === undefined) return { attachType: expectedAttachType, desc: type };
  const attachType = expectedAttachType === 0 && rule.defaultAttachType !== undefined ? rule.defaultAttachType : expectedAttachType;
  const desc = rule.byAttachType.get(attachType) ?? rule.others;
  return desc === undefined ? undefined : { attachType, desc };
}
