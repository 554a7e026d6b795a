/** The program types of the simulator, by command-line name, and libbpf's section-name conventions. */
import { BPF_ATTACH_TYPE } from '@ebpf-sim/uapi';
import type { ProgramTypeDesc } from '@ebpf-sim/verifier';
import { CGROUP_SKB } from './cgroup-skb.js';
import { FLOW_DISSECTOR } from './flow-dissector.js';
import { CGROUP_DEVICE } from './cgroup-device.js';
import { CGROUP_SOCK } from './cgroup-sock.js';
import { CGROUP_SOCK_ADDR } from './cgroup-sock-addr.js';
import { CGROUP_SOCKOPT } from './cgroup-sockopt.js';
import { CGROUP_SYSCTL } from './cgroup-sysctl.js';
import { resolveAttachType, type BpfProgramType } from './define.js';
import { KPROBE } from './kprobe.js';
import { LSM } from './lsm.js';
import { LWT_IN, LWT_OUT, LWT_SEG6LOCAL, LWT_XMIT } from './lwt.js';
import { PERF_EVENT } from './perf-event.js';
import { RAW_TRACEPOINT } from './raw-tracepoint.js';
import { SCHED_ACT } from './sched-act.js';
import { SCHED_CLS } from './sched-cls.js';
import { SK_REUSEPORT } from './sk-reuseport.js';
import { SK_SKB } from './sk-skb.js';
import { SK_LOOKUP } from './sk-lookup.js';
import { SK_MSG_TYPE } from './sk-msg.js';
import { SOCK_OPS } from './sock-ops.js';
import { SOCKET_FILTER } from './socket-filter.js';
import { SYSCALL } from './syscall.js';
import { STRUCT_OPS } from './struct-ops.js';
import { TRACEPOINT } from './tracepoint.js';
import { TRACING } from './tracing.js';
import { XDP } from './xdp.js';

export const PROGRAM_TYPES: ReadonlyMap<string, BpfProgramType> = new Map(
  (
    [
      XDP,
      SOCKET_FILTER,
      KPROBE,
      TRACEPOINT,
      RAW_TRACEPOINT,
      PERF_EVENT,
      SCHED_CLS,
      LSM,
      CGROUP_SOCK,
      CGROUP_SOCK_ADDR,
      SOCK_OPS,
      CGROUP_DEVICE,
      CGROUP_SYSCTL,
      CGROUP_SOCKOPT,
      SK_MSG_TYPE,
      SK_LOOKUP,
      SYSCALL,
      SCHED_ACT,
      LWT_IN,
      LWT_OUT,
      LWT_XMIT,
      LWT_SEG6LOCAL,
      CGROUP_SKB,
      SK_SKB,
      FLOW_DISSECTOR,
      SK_REUSEPORT,
      TRACING,
      STRUCT_OPS,
    ] as readonly BpfProgramType[]
  ).map((t) => [t.name, t]),
);

/**
 * Section-name prefixes as libbpf's section_defs match them (exact name, or prefix followed by `/`), with the
 * expected attach type libbpf loads the program with where the type checks it.
 */
const SECTION_RULES: ReadonlyArray<readonly [string, string, number?]> = [
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
  ['cgroup/sock_create', 'cgroup_sock', BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE],
  ['cgroup/sock_release', 'cgroup_sock', BPF_ATTACH_TYPE.CGROUP_INET_SOCK_RELEASE],
  ['cgroup/sock', 'cgroup_sock', BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE],
  ['cgroup/post_bind4', 'cgroup_sock', BPF_ATTACH_TYPE.CGROUP_INET4_POST_BIND],
  ['cgroup/post_bind6', 'cgroup_sock', BPF_ATTACH_TYPE.CGROUP_INET6_POST_BIND],
  ['cgroup/bind4', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_INET4_BIND],
  ['cgroup/bind6', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_INET6_BIND],
  ['cgroup/connect4', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_INET4_CONNECT],
  ['cgroup/connect6', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_INET6_CONNECT],
  ['cgroup/connect_unix', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_UNIX_CONNECT],
  ['cgroup/sendmsg4', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_UDP4_SENDMSG],
  ['cgroup/sendmsg6', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_UDP6_SENDMSG],
  ['cgroup/sendmsg_unix', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_UNIX_SENDMSG],
  ['cgroup/recvmsg4', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_UDP4_RECVMSG],
  ['cgroup/recvmsg6', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_UDP6_RECVMSG],
  ['cgroup/recvmsg_unix', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_UNIX_RECVMSG],
  ['cgroup/getpeername4', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_INET4_GETPEERNAME],
  ['cgroup/getpeername6', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_INET6_GETPEERNAME],
  ['cgroup/getpeername_unix', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_UNIX_GETPEERNAME],
  ['cgroup/getsockname4', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_INET4_GETSOCKNAME],
  ['cgroup/getsockname6', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_INET6_GETSOCKNAME],
  ['cgroup/getsockname_unix', 'cgroup_sock_addr', BPF_ATTACH_TYPE.CGROUP_UNIX_GETSOCKNAME],
  ['cgroup/getsockopt', 'cgroup_sockopt', BPF_ATTACH_TYPE.CGROUP_GETSOCKOPT],
  ['cgroup/setsockopt', 'cgroup_sockopt', BPF_ATTACH_TYPE.CGROUP_SETSOCKOPT],
  ['cgroup/dev', 'cgroup_device'],
  ['cgroup/sysctl', 'cgroup_sysctl'],
  ['sockops', 'sock_ops'],
  ['sk_msg', 'sk_msg'],
  ['sk_lookup', 'sk_lookup'],
  ['syscall', 'syscall'],
  ['action', 'sched_act'],
  ['lwt_in', 'lwt_in'],
  ['lwt_out', 'lwt_out'],
  ['lwt_xmit', 'lwt_xmit'],
  ['lwt_seg6local', 'lwt_seg6local'],
  ['cgroup_skb/ingress', 'cgroup_skb', BPF_ATTACH_TYPE.CGROUP_INET_INGRESS],
  ['cgroup_skb/egress', 'cgroup_skb', BPF_ATTACH_TYPE.CGROUP_INET_EGRESS],
  ['cgroup/skb', 'cgroup_skb'],
  ['sk_skb', 'sk_skb'],
  ['flow_dissector', 'flow_dissector'],
  ['sk_reuseport/migrate', 'sk_reuseport', BPF_ATTACH_TYPE.SK_REUSEPORT_SELECT_OR_MIGRATE],
  ['sk_reuseport', 'sk_reuseport', BPF_ATTACH_TYPE.SK_REUSEPORT_SELECT],
];

/** The program type libbpf infers from an ELF section name, or undefined. */
export function progTypeForSection(section: string): ProgramTypeDesc | undefined {
  for (const [prefix, type, attachType] of SECTION_RULES) {
    if (section === prefix || section.startsWith(`${prefix}/`) || (prefix === 'xdp' && section.startsWith('xdp.'))) {
      const desc = PROGRAM_TYPES.get(type);
      return desc === undefined ? undefined : resolveAttachType(desc, attachType ?? 0)?.desc;
    }
  }
  return undefined;
}

export { KPROBE, LSM, PERF_EVENT, RAW_TRACEPOINT, SCHED_CLS, SOCKET_FILTER, TRACEPOINT, TRACING, XDP };
export { CGROUP_SKB, FLOW_DISSECTOR, LWT_IN, LWT_OUT, LWT_SEG6LOCAL, LWT_XMIT, SCHED_ACT, SK_REUSEPORT, SK_SKB };
export { CGROUP_DEVICE, CGROUP_SOCK, CGROUP_SOCK_ADDR, CGROUP_SOCKOPT, CGROUP_SYSCTL, SK_LOOKUP, SK_MSG_TYPE, SOCK_OPS, SYSCALL };
export { resolveAttachType, type AttachRule, type BpfProgramType } from './define.js';
