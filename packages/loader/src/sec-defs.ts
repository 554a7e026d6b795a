import { BPF_ATTACH_TYPE, BPF_PROG_F, BPF_PROG_TYPE, type BpfAttachTypeName, type BpfProgTypeName } from '@ebpf-sim/uapi';

/**
 * libbpf's SEC_* flags of a section definition: `attachable` (SEC_ATTACHABLE: BPF_PROG_LOAD must carry the
 * expected attach type), `attachableOpt` (SEC_ATTACHABLE_OPT: it may, where the kernel takes it), `attachBtf`
 * (SEC_ATTACH_BTF: the part after the `/` names a kernel BTF function or type, resolved to attach_btf_id when
 * loading), `sleepable` (SEC_SLEEPABLE: BPF_F_SLEEPABLE), `xdpFrags` (SEC_XDP_FRAGS: BPF_F_XDP_HAS_FRAGS).
 */
export type SecFlag = 'attachable' | 'attachableOpt' | 'attachBtf' | 'sleepable' | 'xdpFrags';

/**
 * One row of libbpf's section_defs[] (libbpf 1.5, src/libbpf.c). `sec` ends in `+` when both `SEC("type")` and
 * `SEC("type/extras")` match, in `/` when only the second does, and is matched exactly otherwise.
 */
export interface SecDef {
  readonly sec: string;
  readonly progType: BpfProgTypeName;
  readonly expectedAttachType?: BpfAttachTypeName;
  readonly flags: readonly SecFlag[];
}

const def = (sec: string, progType: BpfProgTypeName, expectedAttachType: BpfAttachTypeName | undefined, ...flags: SecFlag[]): SecDef =>
  expectedAttachType === undefined ? { sec, progType, flags } : { sec, progType, expectedAttachType, flags };

/**
 * libbpf's section_defs[], in its order (the first match wins, so longer names come before their prefixes).
 * Rows whose attach types this model's uapi does not define (netkit, the unix-socket cgroup hooks,
 * kprobe.session, uprobe.multi, netfilter, usdt) are left out: their programs open with no type, as an
 * unknown section does in libbpf, and fail at load with libbpf's message.
 */
export const SEC_DEFS: readonly SecDef[] = [
  def('socket', 'SOCKET_FILTER', undefined),
  def('sk_reuseport/migrate', 'SK_REUSEPORT', 'SK_REUSEPORT_SELECT_OR_MIGRATE', 'attachable'),
  def('sk_reuseport', 'SK_REUSEPORT', 'SK_REUSEPORT_SELECT', 'attachable'),
  def('kprobe+', 'KPROBE', undefined),
  def('uprobe+', 'KPROBE', undefined),
  def('uprobe.s+', 'KPROBE', undefined, 'sleepable'),
  def('kretprobe+', 'KPROBE', undefined),
  def('uretprobe+', 'KPROBE', undefined),
  def('uretprobe.s+', 'KPROBE', undefined, 'sleepable'),
  def('kprobe.multi+', 'KPROBE', 'TRACE_KPROBE_MULTI'),
  def('kretprobe.multi+', 'KPROBE', 'TRACE_KPROBE_MULTI'),
  def('ksyscall+', 'KPROBE', undefined),
  def('kretsyscall+', 'KPROBE', undefined),
  def('tc/ingress', 'SCHED_CLS', 'TCX_INGRESS'),
  def('tc/egress', 'SCHED_CLS', 'TCX_EGRESS'),
  def('tcx/ingress', 'SCHED_CLS', 'TCX_INGRESS'),
  def('tcx/egress', 'SCHED_CLS', 'TCX_EGRESS'),
  def('tc', 'SCHED_CLS', undefined),
  def('classifier', 'SCHED_CLS', undefined),
  def('action', 'SCHED_ACT', undefined),
  def('tracepoint+', 'TRACEPOINT', undefined),
  def('tp+', 'TRACEPOINT', undefined),
  def('raw_tracepoint+', 'RAW_TRACEPOINT', undefined),
  def('raw_tp+', 'RAW_TRACEPOINT', undefined),
  def('raw_tracepoint.w+', 'RAW_TRACEPOINT_WRITABLE', undefined),
  def('raw_tp.w+', 'RAW_TRACEPOINT_WRITABLE', undefined),
  def('tp_btf+', 'TRACING', 'TRACE_RAW_TP', 'attachBtf'),
  def('fentry+', 'TRACING', 'TRACE_FENTRY', 'attachBtf'),
  def('fmod_ret+', 'TRACING', 'MODIFY_RETURN', 'attachBtf'),
  def('fexit+', 'TRACING', 'TRACE_FEXIT', 'attachBtf'),
  def('fentry.s+', 'TRACING', 'TRACE_FENTRY', 'attachBtf', 'sleepable'),
  def('fmod_ret.s+', 'TRACING', 'MODIFY_RETURN', 'attachBtf', 'sleepable'),
  def('fexit.s+', 'TRACING', 'TRACE_FEXIT', 'attachBtf', 'sleepable'),
  def('freplace+', 'EXT', undefined, 'attachBtf'),
  def('lsm+', 'LSM', 'LSM_MAC', 'attachBtf'),
  def('lsm.s+', 'LSM', 'LSM_MAC', 'attachBtf', 'sleepable'),
  def('lsm_cgroup+', 'LSM', 'LSM_CGROUP', 'attachBtf'),
  def('iter+', 'TRACING', 'TRACE_ITER', 'attachBtf'),
  def('iter.s+', 'TRACING', 'TRACE_ITER', 'attachBtf', 'sleepable'),
  def('syscall', 'SYSCALL', undefined, 'sleepable'),
  def('xdp.frags/devmap', 'XDP', 'XDP_DEVMAP', 'xdpFrags'),
  def('xdp/devmap', 'XDP', 'XDP_DEVMAP', 'attachable'),
  def('xdp.frags/cpumap', 'XDP', 'XDP_CPUMAP', 'xdpFrags'),
  def('xdp/cpumap', 'XDP', 'XDP_CPUMAP', 'attachable'),
  def('xdp.frags', 'XDP', 'XDP', 'xdpFrags'),
  def('xdp', 'XDP', 'XDP', 'attachableOpt'),
  def('perf_event', 'PERF_EVENT', undefined),
  def('lwt_in', 'LWT_IN', undefined),
  def('lwt_out', 'LWT_OUT', undefined),
  def('lwt_xmit', 'LWT_XMIT', undefined),
  def('lwt_seg6local', 'LWT_SEG6LOCAL', undefined),
  def('sockops', 'SOCK_OPS', 'CGROUP_SOCK_OPS', 'attachableOpt'),
  def('sk_skb/stream_parser', 'SK_SKB', 'SK_SKB_STREAM_PARSER', 'attachableOpt'),
  def('sk_skb/stream_verdict', 'SK_SKB', 'SK_SKB_STREAM_VERDICT', 'attachableOpt'),
  def('sk_skb/verdict', 'SK_SKB', 'SK_SKB_VERDICT', 'attachableOpt'),
  def('sk_skb', 'SK_SKB', undefined),
  def('sk_msg', 'SK_MSG', 'SK_MSG_VERDICT', 'attachableOpt'),
  def('lirc_mode2', 'LIRC_MODE2', 'LIRC_MODE2', 'attachableOpt'),
  def('flow_dissector', 'FLOW_DISSECTOR', 'FLOW_DISSECTOR', 'attachableOpt'),
  def('cgroup_skb/ingress', 'CGROUP_SKB', 'CGROUP_INET_INGRESS', 'attachableOpt'),
  def('cgroup_skb/egress', 'CGROUP_SKB', 'CGROUP_INET_EGRESS', 'attachableOpt'),
  def('cgroup/skb', 'CGROUP_SKB', undefined),
  def('cgroup/sock_create', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_CREATE', 'attachable'),
  def('cgroup/sock_release', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_RELEASE', 'attachable'),
  def('cgroup/sock', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_CREATE', 'attachableOpt'),
  def('cgroup/post_bind4', 'CGROUP_SOCK', 'CGROUP_INET4_POST_BIND', 'attachable'),
  def('cgroup/post_bind6', 'CGROUP_SOCK', 'CGROUP_INET6_POST_BIND', 'attachable'),
  def('cgroup/bind4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_BIND', 'attachable'),
  def('cgroup/bind6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_BIND', 'attachable'),
  def('cgroup/connect4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT', 'attachable'),
  def('cgroup/connect6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_CONNECT', 'attachable'),
  def('cgroup/sendmsg4', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP4_SENDMSG', 'attachable'),
  def('cgroup/sendmsg6', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP6_SENDMSG', 'attachable'),
  def('cgroup/recvmsg4', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP4_RECVMSG', 'attachable'),
  def('cgroup/recvmsg6', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP6_RECVMSG', 'attachable'),
  def('cgroup/getpeername4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_GETPEERNAME', 'attachable'),
  def('cgroup/getpeername6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_GETPEERNAME', 'attachable'),
  def('cgroup/getsockname4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_GETSOCKNAME', 'attachable'),
  def('cgroup/getsockname6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_GETSOCKNAME', 'attachable'),
  def('cgroup/sysctl', 'CGROUP_SYSCTL', 'CGROUP_SYSCTL', 'attachable'),
  def('cgroup/getsockopt', 'CGROUP_SOCKOPT', 'CGROUP_GETSOCKOPT', 'attachable'),
  def('cgroup/setsockopt', 'CGROUP_SOCKOPT', 'CGROUP_SETSOCKOPT', 'attachable'),
  def('cgroup/dev', 'CGROUP_DEVICE', 'CGROUP_DEVICE', 'attachableOpt'),
  def('struct_ops+', 'STRUCT_OPS', undefined),
  def('struct_ops.s+', 'STRUCT_OPS', undefined, 'sleepable'),
  def('sk_lookup', 'SK_LOOKUP', 'SK_LOOKUP', 'attachable'),
];

/** libbpf's sec_def_matches(). */
function matches(sec: string, name: string): boolean {
  if (sec.endsWith('/')) return name.startsWith(sec);
  if (sec.endsWith('+')) {
    const prefix = sec.slice(0, -1);
    return name.startsWith(prefix) && (name.length === prefix.length || name[prefix.length] === '/');
  }
  return name === sec;
}

/** What a program's SEC() name gives it, as libbpf's find_sec_def() and bpf_object_init_progs() set it. */
export interface ProgramSection {
  /** The matching row of {@link SEC_DEFS}. */
  readonly def: SecDef;
  /** enum bpf_prog_type. */
  readonly progType: number;
  /** enum bpf_attach_type; 0 when the row gives none (as libbpf leaves expected_attach_type). */
  readonly expectedAttachType: number;
  /** prog_flags for BPF_PROG_LOAD: BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS. */
  readonly progFlags: number;
  /**
   * What follows `type/` in the section name: the kernel function of a kprobe/fentry/lsm/tp_btf, the
   * `category/name` of a tracepoint, the struct_ops member. For `attachBtf` rows the load step looks it up in
   * the kernel's BTF (attach_btf_id); undefined for `SEC("type")` without extras.
   */
  readonly attachTo: string | undefined;
}

const FLAG_BITS: Readonly<Partial<Record<SecFlag, number>>> = { sleepable: BPF_PROG_F.SLEEPABLE, xdpFrags: BPF_PROG_F.XDP_HAS_FRAGS };

/** The SEC() table's answer for a section name, or undefined for a name libbpf does not recognise. */
export function programSection(sectionName: string): ProgramSection | undefined {
  const found = SEC_DEFS.find((d) => matches(d.sec, sectionName));
  if (found === undefined) return undefined;
  const prefix = found.sec.replace(/[+/]$/, '');
  const extras = sectionName.length > prefix.length + 1 ? sectionName.slice(prefix.length + 1) : undefined;
  return {
    def: found,
    progType: BPF_PROG_TYPE[found.progType],
    expectedAttachType: found.expectedAttachType === undefined ? 0 : BPF_ATTACH_TYPE[found.expectedAttachType],
    progFlags: found.flags.reduce((bits, flag) => bits | (FLAG_BITS[flag] ?? 0), 0),
    attachTo: found.sec.endsWith('+') || found.sec.endsWith('/') ? extras : undefined,
  };
}
