/**
 * The layouts of the kernel structs programs may read (bpf_get_current_task, probe_read_kernel, the objects
 * hooks build), as data: `KERNEL_TYPES` holds each struct with its fields' C types and offsets, and the
 * offset tables the kernel writes through (`TASK_STRUCT.pid`, ...) come from the same definitions. The field
 * names and types are Linux 6.x's, so a program written against Linux's vmlinux.h finds them by name (CO-RE);
 * the offsets are the simulated kernel's own, laid out by the C rules from the field order (Linux's are its own
 * too: they are not ABI). The bpf subsystem describes this table to programs as the vmlinux BTF.
 */
import { PT_REGS } from '@ebpf-sim/uapi';
import { XDP_BUFF_FIELDS } from '../hooks/registry.js';
import { BPF_PERF_EVENT_DATA_KERN, NET_DEVICE, PERF_SAMPLE_DATA, SK_BUFF, XDP_RXQ_INFO, XDP_TXQ_INFO } from '../hooks/kernel-objects.js';
import { KernelTypeTable } from '../lib/ctype.js';

/** The kernel's C types: typedefs and the layouts of its structs. */
export const KERNEL_TYPES = new KernelTypeTable();
const T = KERNEL_TYPES;

// include/uapi/asm-generic/int-ll64.h, include/asm-generic/int-ll64.h, include/linux/types.h.
for (const [name, ctype] of [
  ['__s8', 'signed char'],
  ['__u8', 'unsigned char'],
  ['__s16', 'short'],
  ['__u16', 'unsigned short'],
  ['__s32', 'int'],
  ['__u32', 'unsigned int'],
  ['__s64', 'long long'],
  ['__u64', 'unsigned long long'],
  ['s8', '__s8'],
  ['u8', '__u8'],
  ['s16', '__s16'],
  ['u16', '__u16'],
  ['s32', '__s32'],
  ['u32', '__u32'],
  ['s64', '__s64'],
  ['u64', '__u64'],
  ['bool', '_Bool'],
  ['__kernel_long_t', 'long'],
  ['__kernel_ulong_t', 'unsigned long'],
  ['__kernel_pid_t', 'int'],
  ['pid_t', '__kernel_pid_t'],
  ['__kernel_uid32_t', 'unsigned int'],
  ['__kernel_gid32_t', 'unsigned int'],
  ['uid_t', '__kernel_uid32_t'],
  ['gid_t', '__kernel_gid32_t'],
  ['__kernel_size_t', '__kernel_ulong_t'],
  ['size_t', '__kernel_size_t'],
  ['__kernel_ssize_t', '__kernel_long_t'],
  ['ssize_t', '__kernel_ssize_t'],
  ['__kernel_off_t', '__kernel_long_t'],
  ['off_t', '__kernel_off_t'],
  ['__kernel_loff_t', 'long long'],
  ['loff_t', '__kernel_loff_t'],
  ['__kernel_clockid_t', 'int'],
  ['clockid_t', '__kernel_clockid_t'],
  ['umode_t', 'unsigned short'],
  ['fmode_t', 'unsigned int'],
] as const)
  T.typedef(name, ctype);

/** kuid_t / kgid_t (include/linux/uidgid_types.h): a uid wrapped so it cannot be mixed up with a raw one. */
export const KUID = T.typedefStruct('kuid_t', [['val', 'uid_t']]);
T.typedefStruct('kgid_t', [['val', 'gid_t']]);
/** atomic_t (include/linux/types.h). */
export const ATOMIC = T.typedefStruct('atomic_t', [['counter', 'int']]);
/** kernel_cap_t (include/linux/capability.h, 6.3+): the capability bits in one u64. */
T.typedefStruct('kernel_cap_t', [['val', 'u64']]);

/** struct cred (include/linux/cred.h): a process's ids and capabilities, one object shared by its threads. */
export const CRED = T.struct('cred', [
  ['usage', 'atomic_t'],
  ['uid', 'kuid_t'],
  ['gid', 'kgid_t'],
  ['suid', 'kuid_t'],
  ['sgid', 'kgid_t'],
  ['euid', 'kuid_t'],
  ['egid', 'kgid_t'],
  ['fsuid', 'kuid_t'],
  ['fsgid', 'kgid_t'],
  ['securebits', 'unsigned int'],
  ['cap_inheritable', 'kernel_cap_t'],
  ['cap_permitted', 'kernel_cap_t'],
  ['cap_effective', 'kernel_cap_t'],
  ['cap_bounding', 'kernel_cap_t'],
  ['cap_ambient', 'kernel_cap_t'],
]);

/** struct mm_struct (include/linux/mm_types.h): an address space, the fields fixed when it is set up and its user count. */
export const MM_STRUCT = T.struct('mm_struct', [
  ['mmap_base', 'unsigned long'],
  ['task_size', 'unsigned long'],
  ['mm_users', 'atomic_t'],
  ['mm_count', 'atomic_t'],
  ['start_brk', 'unsigned long'],
  ['start_stack', 'unsigned long'],
]);

/** struct task_struct (include/linux/sched.h): one per task, and one idle task (swapper/N) per CPU. */
export const TASK_STRUCT = T.struct('task_struct', [
  ['__state', 'unsigned int'],
  ['flags', 'unsigned int'],
  ['prio', 'int'],
  ['static_prio', 'int'],
  ['normal_prio', 'int'],
  ['policy', 'unsigned int'],
  ['exit_state', 'int'],
  ['exit_code', 'int'],
  ['exit_signal', 'int'],
  ['pid', 'pid_t'],
  ['tgid', 'pid_t'],
  ['real_parent', 'struct task_struct *'],
  ['parent', 'struct task_struct *'],
  ['group_leader', 'struct task_struct *'],
  ['start_time', 'u64'],
  ['start_boottime', 'u64'],
  ['real_cred', 'const struct cred *'],
  ['cred', 'const struct cred *'],
  ['comm', 'char[16]'],
  ['mm', 'struct mm_struct *'],
  ['active_mm', 'struct mm_struct *'],
  // Scheduler bits: SCHED_RESET_ON_FORK is not modelled, so it stays 0 (what programs read through CO-RE bitfield relocations).
  ['sched_reset_on_fork', 'unsigned int:1'],
]);
/**
 * The VFS objects BPF LSM and tracing programs read through BTF (include/linux/fs.h, dcache.h, path.h): Linux's
 * names and C types, this kernel's layouts. struct qstr keeps Linux's members (`hash`, `len`, `name`; Linux
 * overlays hash and len with `u64 hash_len` in an anonymous union), struct filename is getname()'s result.
 */
export const QSTR_STRUCT = T.struct('qstr', [
  ['hash', 'u32'],
  ['len', 'u32'],
  ['name', 'const unsigned char *'],
]);
export const INODE_STRUCT = T.struct('inode', [
  ['i_mode', 'umode_t'],
  ['i_opflags', 'unsigned short'],
  ['i_uid', 'kuid_t'],
  ['i_gid', 'kgid_t'],
  ['i_flags', 'unsigned int'],
  ['i_ino', 'unsigned long'],
  ['i_nlink', 'unsigned int'],
  ['i_size', 'loff_t'],
]);
export const DENTRY_STRUCT = T.struct('dentry', [
  ['d_flags', 'unsigned int'],
  ['d_parent', 'struct dentry *'],
  ['d_name', 'struct qstr'],
  ['d_inode', 'struct inode *'],
]);
export const PATH_STRUCT = T.struct('path', [
  ['mnt', 'struct vfsmount *'],
  ['dentry', 'struct dentry *'],
]);
export const FILE_STRUCT = T.struct('file', [
  ['f_mode', 'fmode_t'],
  ['f_flags', 'unsigned int'],
  ['f_path', 'struct path'],
  ['f_inode', 'struct inode *'],
  ['f_pos', 'loff_t'],
]);
T.struct('filename', [
  ['name', 'const char *'],
  ['uptr', 'const char *'],
  ['refcnt', 'atomic_t'],
  ['aname', 'struct audit_names *'],
]);

/** TASK_COMM_LEN. */
export const TASK_COMM_LEN = 16;

/** task_struct.__state values (include/linux/sched.h). */
export const TASK_RUNNING = 0;
export const TASK_INTERRUPTIBLE = 0x1;
export const TASK_DEAD = 0x80;
/** task_struct.exit_state values. */
export const EXIT_DEAD = 0x10;
export const EXIT_ZOMBIE = 0x20;
/** task_struct.flags: PF_IDLE (the idle task), PF_EXITING (do_exit has begun), PF_KTHREAD. */
export const PF_IDLE = 0x2;
export const PF_EXITING = 0x4;
export const PF_KTHREAD = 0x00200000;
/** SCHED_NORMAL, the policy of every task (task_struct.policy). */
export const SCHED_NORMAL = 0;

// The objects hooks build (hooks/kernel-objects.ts), at the offsets given there.
T.fixedStruct(
  'pt_regs',
  PT_REGS.size,
  Object.entries(PT_REGS).flatMap(([name, offset]) => (name === 'size' ? [] : [[name, offset, 'unsigned long'] as const])),
);
T.fixedStruct('net_device', NET_DEVICE.size, [
  ['ifindex', NET_DEVICE.ifindex, 'int'],
  ['mtu', NET_DEVICE.mtu, 'unsigned int'],
  ['flags', NET_DEVICE.flags, 'unsigned int'],
  ['name', NET_DEVICE.name, `char[${NET_DEVICE.nameMax}]`],
]);
T.fixedStruct('xdp_rxq_info', XDP_RXQ_INFO.size, [
  ['dev', XDP_RXQ_INFO.dev, 'struct net_device *'],
  ['queue_index', XDP_RXQ_INFO.queue_index, 'u32'],
  ['reg_state', XDP_RXQ_INFO.reg_state, 'u32'],
]);
T.fixedStruct('xdp_txq_info', XDP_TXQ_INFO.size, [['dev', XDP_TXQ_INFO.dev, 'struct net_device *']]);
T.fixedStruct(
  'xdp_buff',
  XDP_BUFF_FIELDS.reduce((end, f) => Math.max(end, f.offset + f.size), 0),
  XDP_BUFF_FIELDS.map((f) => [f.name, f.offset, f.ctype] as const),
);
T.fixedStruct('sk_buff', SK_BUFF.size, [
  ['next', SK_BUFF.next, 'struct sk_buff *'],
  ['prev', SK_BUFF.prev, 'struct sk_buff *'],
  ['dev', SK_BUFF.dev, 'struct net_device *'],
  ['sk', SK_BUFF.sk, 'struct sock *'],
  ['tstamp', SK_BUFF.tstamp, 'u64'],
  ['cb', SK_BUFF.cb, `char[${SK_BUFF.cbSize}]`],
  ['_skb_refdst', SK_BUFF._skb_refdst, 'unsigned long'],
  ['destructor', SK_BUFF.destructor, 'void *'],
  ['_nfct', SK_BUFF._nfct, 'unsigned long'],
  ['len', SK_BUFF.len, 'unsigned int'],
  ['data_len', SK_BUFF.data_len, 'unsigned int'],
  ['mac_len', SK_BUFF.mac_len, 'u16'],
  ['hdr_len', SK_BUFF.hdr_len, 'u16'],
  ['queue_mapping', SK_BUFF.queue_mapping, 'u16'],
  ['tc_index', SK_BUFF.tc_index, 'u16'],
  ['alloc_cpu', SK_BUFF.alloc_cpu, 'u16'],
  ['csum', SK_BUFF.csum, 'unsigned int'],
  ['priority', SK_BUFF.priority, 'u32'],
  ['skb_iif', SK_BUFF.skb_iif, 'int'],
  ['hash', SK_BUFF.hash, 'u32'],
  ['vlan_proto', SK_BUFF.vlan_proto, 'u16'],
  ['vlan_tci', SK_BUFF.vlan_tci, 'u16'],
  ['napi_id', SK_BUFF.napi_id, 'unsigned int'],
  ['secmark', SK_BUFF.secmark, 'u32'],
  ['mark', SK_BUFF.mark, 'u32'],
  ['inner_protocol', SK_BUFF.inner_protocol, 'u16'],
  ['protocol', SK_BUFF.protocol, 'u16'],
  ['transport_header', SK_BUFF.transport_header, 'u16'],
  ['network_header', SK_BUFF.network_header, 'u16'],
  ['mac_header', SK_BUFF.mac_header, 'u16'],
  ['tail', SK_BUFF.tail, 'unsigned char *'],
  ['end', SK_BUFF.end, 'unsigned char *'],
  ['head', SK_BUFF.head, 'unsigned char *'],
  ['data', SK_BUFF.data, 'unsigned char *'],
  ['truesize', SK_BUFF.truesize, 'unsigned int'],
  ['users', SK_BUFF.users, 'atomic_t'],
  ['extensions', SK_BUFF.extensions, 'void *'],
]);
T.fixedStruct('perf_sample_data', PERF_SAMPLE_DATA.size, [
  ['addr', PERF_SAMPLE_DATA.addr, 'u64'],
  ['period', PERF_SAMPLE_DATA.period, 'u64'],
]);
T.fixedStruct('bpf_perf_event_data_kern', BPF_PERF_EVENT_DATA_KERN.size, [
  ['regs', BPF_PERF_EVENT_DATA_KERN.regs, 'struct pt_regs *'],
  ['data', BPF_PERF_EVENT_DATA_KERN.data, 'struct perf_sample_data *'],
  ['event', BPF_PERF_EVENT_DATA_KERN.event, 'struct perf_event *'],
]);
