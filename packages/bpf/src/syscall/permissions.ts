/**
 * Who may load what (kernel/bpf/syscall.c): bpf_capable, the capabilities each program type needs
 * (is_net_admin_prog_type, is_perfmon_prog_type), the map types an unprivileged user may create (map_create's
 * switch), and the sysctl kernel.unprivileged_bpf_disabled. Tables keyed by uapi numbers, as data.
 */
import { hasCapability, type Task } from '@ebpf-sim/kernel';
import { BPF_MAP_TYPE, BPF_PROG_TYPE, CAP, Errno, type BpfMapTypeName, type BpfProgTypeName } from '@ebpf-sim/uapi';

/** bpf_capable(): CAP_BPF, or CAP_SYS_ADMIN which implies it. */
export function bpfCapable(task: Task): boolean {
  return hasCapability(task.group.cred, CAP.BPF) || hasCapability(task.group.cred, CAP.SYS_ADMIN);
}

/**
 * bpf_dump_raw_ok (kallsyms_show_value): may the caller see kernel addresses and JIT images? With Linux's
 * defaults (kernel.kptr_restrict 0, kernel.perf_event_paranoid 2, as Debian ships them; the simulator models
 * neither knob for this check) that is CAP_SYSLOG.
 */
export function dumpRawOk(task: Task): boolean {
  return hasCapability(task.group.cred, CAP.SYSLOG);
}

/** perfmon_capable(): CAP_PERFMON, or CAP_SYS_ADMIN. */
export function perfmonCapable(task: Task): boolean {
  return hasCapability(task.group.cred, CAP.PERFMON) || hasCapability(task.group.cred, CAP.SYS_ADMIN);
}

/** is_net_admin_prog_type: program types that also need CAP_NET_ADMIN. */
const NET_ADMIN_PROG_TYPES: readonly BpfProgTypeName[] = [
  'SCHED_CLS',
  'SCHED_ACT',
  'XDP',
  'LWT_IN',
  'LWT_OUT',
  'LWT_XMIT',
  'LWT_SEG6LOCAL',
  'SK_SKB',
  'SK_MSG',
  'FLOW_DISSECTOR',
  'CGROUP_DEVICE',
  'CGROUP_SOCK',
  'CGROUP_SOCK_ADDR',
  'CGROUP_SOCKOPT',
  'CGROUP_SYSCTL',
  'SOCK_OPS',
  'EXT',
];

/** is_perfmon_prog_type: program types that also need CAP_PERFMON (they read kernel memory). */
const PERFMON_PROG_TYPES: readonly BpfProgTypeName[] = [
  'KPROBE',
  'TRACEPOINT',
  'PERF_EVENT',
  'RAW_TRACEPOINT',
  'RAW_TRACEPOINT_WRITABLE',
  'TRACING',
  'LSM',
  'STRUCT_OPS',
  'EXT',
];

/** The only program types a loader without CAP_BPF may load (when kernel.unprivileged_bpf_disabled is 0). */
const UNPRIVILEGED_PROG_TYPES: readonly BpfProgTypeName[] = ['SOCKET_FILTER', 'CGROUP_SKB'];

const NET_ADMIN = new Set<number>(NET_ADMIN_PROG_TYPES.map((name) => BPF_PROG_TYPE[name]));
const PERFMON = new Set<number>(PERFMON_PROG_TYPES.map((name) => BPF_PROG_TYPE[name]));
const UNPRIVILEGED = new Set<number>(UNPRIVILEGED_PROG_TYPES.map((name) => BPF_PROG_TYPE[name]));

/**
 * bpf_prog_load's capability checks, in Linux's order: 0, or -EPERM. `unprivDisabled` is
 * kernel.unprivileged_bpf_disabled. (E2BIG for a bad insn_cnt comes between the first check and the type
 * checks; the caller makes it.)
 */
export function progLoadDenied(task: Task, progType: number, unprivDisabled: number): { early: number; late: number } {
  const bpfCap = bpfCapable(task);
  const early = unprivDisabled !== 0 && !bpfCap ? -Errno.EPERM : 0;
  let late = 0;
  if (!UNPRIVILEGED.has(progType) && !bpfCap) late = -Errno.EPERM;
  else if (NET_ADMIN.has(progType) && !hasCapability(task.group.cred, CAP.NET_ADMIN)) late = -Errno.EPERM;
  else if (PERFMON.has(progType) && !perfmonCapable(task)) late = -Errno.EPERM;
  return { early, late };
}

/** map_create's switch: the capability a map type needs beyond kernel.unprivileged_bpf_disabled (none: anyone). */
const MAP_TYPE_CAPABILITY: Partial<Record<BpfMapTypeName, 'bpf' | 'net_admin'>> = {
  SK_STORAGE: 'bpf',
  INODE_STORAGE: 'bpf',
  TASK_STORAGE: 'bpf',
  CGRP_STORAGE: 'bpf',
  BLOOM_FILTER: 'bpf',
  LPM_TRIE: 'bpf',
  REUSEPORT_SOCKARRAY: 'bpf',
  STACK_TRACE: 'bpf',
  QUEUE: 'bpf',
  STACK: 'bpf',
  LRU_HASH: 'bpf',
  LRU_PERCPU_HASH: 'bpf',
  STRUCT_OPS: 'bpf',
  CPUMAP: 'bpf',
  SOCKMAP: 'net_admin',
  SOCKHASH: 'net_admin',
  DEVMAP: 'net_admin',
  DEVMAP_HASH: 'net_admin',
  XSKMAP: 'net_admin',
};

/** The map types every user may create (map_create's first case); any type in neither list needs EPERM-free privilege. */
const UNPRIVILEGED_MAP_TYPES: readonly BpfMapTypeName[] = [
  'ARRAY',
  'PERCPU_ARRAY',
  'PROG_ARRAY',
  'PERF_EVENT_ARRAY',
  'CGROUP_ARRAY',
  'ARRAY_OF_MAPS',
  'HASH',
  'PERCPU_HASH',
  'HASH_OF_MAPS',
  'RINGBUF',
  'USER_RINGBUF',
  'CGROUP_STORAGE',
  'PERCPU_CGROUP_STORAGE',
];

const MAP_CAPABILITY = new Map<number, 'none' | 'bpf' | 'net_admin'>([
  ...UNPRIVILEGED_MAP_TYPES.map((name) => [BPF_MAP_TYPE[name], 'none'] as const),
  ...Object.entries(MAP_TYPE_CAPABILITY).map(([name, cap]) => [BPF_MAP_TYPE[name as BpfMapTypeName], cap] as const),
]);

/** map_create's permission checks: 0, or -EPERM. */
export function mapCreateDenied(task: Task, mapType: number, unprivDisabled: number): number {
  const bpfCap = bpfCapable(task);
  if (unprivDisabled !== 0 && !bpfCap) return -Errno.EPERM;
  switch (MAP_CAPABILITY.get(mapType)) {
    case 'none':
      return 0;
    case 'bpf':
      return bpfCap ? 0 : -Errno.EPERM;
    case 'net_admin':
      return hasCapability(task.group.cred, CAP.NET_ADMIN) ? 0 : -Errno.EPERM;
    default:
      // A type this kernel does not know gets EINVAL before this point; Linux WARNs and answers EPERM here.
      return -Errno.EPERM;
  }
}

/** The default of kernel.unprivileged_bpf_disabled, as distributions ship it (CONFIG_BPF_UNPRIV_DEFAULT_OFF): 2. */
export const UNPRIV_DEFAULT = 2;

/**
 * bpf_unpriv_handler's write rule (CAP_SYS_ADMIN checked by the caller): values 0..2; once 1, it stays 1.
 * 0 to store, or -errno.
 */
export function unprivWrite(value: number, old: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 2) return -Errno.EINVAL;
  if (old === 1 && value !== 1) return -Errno.EPERM;
  return 0;
}
