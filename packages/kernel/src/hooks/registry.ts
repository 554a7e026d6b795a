import {
  PT_REGS,
  SYSCALL_SPECS,
  TRACE_RAW_SYS_ENTER,
  TRACE_RAW_SYS_EXIT,
  TRACE_SCHED_PROCESS_EXEC,
  TRACE_SCHED_PROCESS_EXIT,
  TRACE_SCHED_PROCESS_FORK,
  TRACE_SCHED_SWITCH,
  TRACE_SCHED_WAKEUP,
  TRACE_SYSCALL_ENTER,
  TRACE_SYSCALL_EXIT,
  TRACE_INET_SOCK_SET_STATE,
  TRACE_NETIF_RECEIVE_SKB,
  TRACE_CGROUP,
  TRACE_CGROUP_ATTACH_TASK,
} from '@ebpf-sim/uapi';
import { HookPoint, type ContextField, type HookKind } from './hook.js';
import { BPF_PERF_EVENT_DATA_KERN, LSM_CTX_SIZE, XDP_BUFF } from './kernel-objects.js';
import { LSM_HOOK_ARGS, LSM_HOOKS, lsmSlot } from './lsm-hooks.js';

const field = (name: string, ctype: string, offset: number, size: number, signed: boolean): ContextField => ({ name, ctype, offset, size, signed });

/** struct trace_entry, the 8-byte header of every tracepoint record. */
const COMMON_FIELDS: readonly ContextField[] = [
  field('common_type', 'unsigned short', 0, 2, false),
  field('common_flags', 'unsigned char', 2, 1, false),
  field('common_preempt_count', 'unsigned char', 3, 1, false),
  field('common_pid', 'int', 4, 4, true),
];

/** Kernel functions (besides each syscall's __x64_sys_<name>) with kprobe/kretprobe sites. */
export const KPROBE_FUNCTIONS = [
  'do_sys_openat2',
  'vfs_read',
  'vfs_write',
  'do_exit',
  'wake_up_new_task',
  'do_unlinkat',
  'tcp_v4_connect',
  'inet_csk_accept',
  'tcp_sendmsg',
] as const;
export type KprobeFunction = (typeof KPROBE_FUNCTIONS)[number];

/** A kernel function's C prototype: its return type and its arguments in order (C spellings). */
export interface KernelFunctionProto {
  readonly ret: string;
  readonly args: ReadonlyArray<{ readonly name: string; readonly ctype: string }>;
}

/**
 * The prototypes of the functions with kprobe sites, as Linux 6.x declares them (the vmlinux BTF's FUNC
 * entries). The values the sites pass: `wake_up_new_task`'s `p` is the child's task_struct; `vfs_read` and
 * `vfs_write` pass the file's id as `file` (struct file is not laid out in kernel memory) and 0 as `pos`; `do_unlinkat`
 * passes NULL as `name` (no struct filename is built).
 */
export const KPROBE_FUNCTION_PROTOS: Readonly<Record<KprobeFunction, KernelFunctionProto>> = {
  do_sys_openat2: {
    ret: 'long',
    args: [
      { name: 'dfd', ctype: 'int' },
      { name: 'filename', ctype: 'const char *' },
      { name: 'how', ctype: 'struct open_how *' },
    ],
  },
  vfs_read: {
    ret: 'ssize_t',
    args: [
      { name: 'file', ctype: 'struct file *' },
      { name: 'buf', ctype: 'char *' },
      { name: 'count', ctype: 'size_t' },
      { name: 'pos', ctype: 'loff_t *' },
    ],
  },
  vfs_write: {
    ret: 'ssize_t',
    args: [
      { name: 'file', ctype: 'struct file *' },
      { name: 'buf', ctype: 'const char *' },
      { name: 'count', ctype: 'size_t' },
      { name: 'pos', ctype: 'loff_t *' },
    ],
  },
  do_exit: { ret: 'void', args: [{ name: 'code', ctype: 'long' }] },
  wake_up_new_task: { ret: 'void', args: [{ name: 'p', ctype: 'struct task_struct *' }] },
  // unlinkat(2) without AT_REMOVEDIR and unlink(2). getname() is not modelled: the site passes `name` as NULL.
  do_unlinkat: {
    ret: 'int',
    args: [
      { name: 'dfd', ctype: 'int' },
      { name: 'name', ctype: 'struct filename *' },
    ],
  },
  // The network stack's sites (net/): `sk` is the socket's struct sock (SOCK); tcp_v4_connect's `uaddr` and
  // tcp_sendmsg's `msg` are passed as NULL (the sockaddr and msghdr are not copied into kernel memory).
  tcp_v4_connect: {
    ret: 'int',
    args: [
      { name: 'sk', ctype: 'struct sock *' },
      { name: 'uaddr', ctype: 'struct sockaddr *' },
      { name: 'addr_len', ctype: 'int' },
    ],
  },
  // Linux 6.10+: inet_csk_accept(sk, arg); `arg` (struct proto_accept_arg *) is passed as NULL. Returns the new sock (NULL on error).
  inet_csk_accept: {
    ret: 'struct sock *',
    args: [
      { name: 'sk', ctype: 'struct sock *' },
      { name: 'arg', ctype: 'struct proto_accept_arg *' },
    ],
  },
  tcp_sendmsg: {
    ret: 'int',
    args: [
      { name: 'sk', ctype: 'struct sock *' },
      { name: 'msg', ctype: 'struct msghdr *' },
      { name: 'size', ctype: 'size_t' },
    ],
  },
};

/** The prototype of every `__x64_sys_<name>` wrapper on x86_64: the syscall's arguments stay in the saved user registers. */
export const SYSCALL_WRAPPER_PROTO: KernelFunctionProto = { ret: 'long', args: [{ name: 'regs', ctype: 'const struct pt_regs *' }] };

const SYSCALL_WRAPPERS: ReadonlySet<string> = new Set([...SYSCALL_SPECS.values()].map((spec) => `__x64_sys_${spec.name}`));

/** The prototype of a function kprobes can attach to (`vfs_read`, `__x64_sys_getpid`), or undefined for one without a site. */
export function kprobeFunctionProto(fn: string): KernelFunctionProto | undefined {
  if (SYSCALL_WRAPPERS.has(fn)) return SYSCALL_WRAPPER_PROTO;
  return (KPROBE_FUNCTION_PROTOS as Readonly<Record<string, KernelFunctionProto>>)[fn];
}

/**
 * A raw tracepoint's TP_PROTO (include/trace/events/*.h) and its event class: BPF programs run through
 * `__bpf_trace_<template>` (include/trace/bpf_probe.h), whose prototype is `(void *__data, TP_PROTO...)`. The
 * vmlinux BTF describes each as a `btf_trace_<name>` typedef and that function.
 */
export interface RawTracepointProto {
  readonly template: string;
  readonly args: KernelFunctionProto['args'];
}

/** The raw tracepoints of this kernel's tracepoints (raw_syscalls:*, sched:*), by raw tracepoint name, as Linux 6.18 declares them. */
export const RAW_TRACEPOINT_PROTOS: Readonly<Record<string, RawTracepointProto>> = {
  sys_enter: {
    template: 'sys_enter',
    args: [
      { name: 'regs', ctype: 'struct pt_regs *' },
      { name: 'id', ctype: 'long' },
    ],
  },
  sys_exit: {
    template: 'sys_exit',
    args: [
      { name: 'regs', ctype: 'struct pt_regs *' },
      { name: 'ret', ctype: 'long' },
    ],
  },
  sched_switch: {
    template: 'sched_switch',
    args: [
      { name: 'preempt', ctype: 'bool' },
      { name: 'prev', ctype: 'struct task_struct *' },
      { name: 'next', ctype: 'struct task_struct *' },
      { name: 'prev_state', ctype: 'unsigned int' },
    ],
  },
  sched_wakeup: { template: 'sched_wakeup_template', args: [{ name: 'p', ctype: 'struct task_struct *' }] },
  sched_process_fork: {
    template: 'sched_process_fork',
    args: [
      { name: 'parent', ctype: 'struct task_struct *' },
      { name: 'child', ctype: 'struct task_struct *' },
    ],
  },
  sched_process_exec: {
    template: 'sched_process_exec',
    args: [
      { name: 'p', ctype: 'struct task_struct *' },
      { name: 'old_pid', ctype: 'pid_t' },
      { name: 'bprm', ctype: 'struct linux_binprm *' },
    ],
  },
  sched_process_exit: {
    template: 'sched_process_exit',
    args: [
      { name: 'p', ctype: 'struct task_struct *' },
      { name: 'group_dead', ctype: 'bool' },
    ],
  },
  // include/trace/events/cgroup.h (cgroup/cgroup.ts fires them).
  cgroup_mkdir: {
    template: 'cgroup',
    args: [
      { name: 'cgrp', ctype: 'struct cgroup *' },
      { name: 'path', ctype: 'const char *' },
    ],
  },
  cgroup_rmdir: {
    template: 'cgroup',
    args: [
      { name: 'cgrp', ctype: 'struct cgroup *' },
      { name: 'path', ctype: 'const char *' },
    ],
  },
  cgroup_attach_task: {
    template: 'cgroup_migrate',
    args: [
      { name: 'dst_cgrp', ctype: 'struct cgroup *' },
      { name: 'path', ctype: 'const char *' },
      { name: 'task', ctype: 'struct task_struct *' },
      { name: 'threadgroup', ctype: 'bool' },
    ],
  },
};

/** The hook name of a raw tracepoint (`raw_tp:sched_switch`): BPF_RAW_TRACEPOINT_OPEN's name with a prefix. */
export const rawTracepointHookName = (name: string): string => `raw_tp:${name}`;

/** The raw tracepoints on the syscall path (the syscall entry's "anything to do?" check counts them). */
const SYSCALL_RAW_TRACEPOINTS: ReadonlySet<string> = new Set([rawTracepointHookName('sys_enter'), rawTracepointHookName('sys_exit')]);

/** The hook names of a function's BPF trampoline: `fentry:vfs_read` (arguments) and `fexit:vfs_read` (arguments, then the return value). */
export const fentryHookName = (fn: string): string => `fentry:${fn}`;
export const fexitHookName = (fn: string): string => `fexit:${fn}`;
/** The hook of a function's fmod_ret programs (`fmod_ret:__x64_sys_getppid`): arguments, then the return slot. */
export const fmodRetHookName = (fn: string): string => `fmod_ret:${fn}`;

/** u64 argument slots named after a C prototype's arguments (pointers and unsigned types unsigned). */
function slotFields(args: KernelFunctionProto['args']): ContextField[] {
  return args.map((arg, index) =>
    field(arg.name, arg.ctype, 8 * index, 8, !arg.ctype.endsWith('*') && !arg.ctype.startsWith('unsigned') && arg.ctype !== 'bool' && arg.ctype !== 'size_t'),
  );
}

const PT_REGS_FIELDS: readonly ContextField[] = Object.entries(PT_REGS)
  .filter(([name]) => name !== 'size')
  .map(([name, offset]) => field(name, 'unsigned long', offset, 8, false));

/**
 * The registry of hook points. Every hook the kernel model offers is defined at boot with its Linux name and
 * context layout; drivers add theirs (`xdp:<ifname>`). The bpf subsystem looks hooks up by name and attaches.
 */
export class HookRegistry {
  private readonly hooks = new Map<string, HookPoint>();
  private nextTracepointId = 1;
  /** Handlers attached to any syscall-path hook: the syscall entry's single "anything to do?" check. */
  syscallHandlers = 0;
  /**
   * Of those, the handlers on the syscall exit's hooks (raw_syscalls:sys_exit, syscalls:sys_exit_*, kretprobes
   * and fexit of __x64_sys_*, the sys_exit raw tracepoint): the exit's own check, so a program on the entry
   * alone costs the exit nothing.
   */
  syscallExitHandlers = 0;
  private readonly listeners = new Map<string, Array<(hook: HookPoint) => void>>();

  constructor() {
    this.defineTracepoints();
    this.defineKprobes();
    this.defineRawTracepoints();
    this.defineTrampolines();
    for (const name of LSM_HOOKS) {
      const args = LSM_HOOK_ARGS[name];
      this.define(`lsm:${name}`, 'lsm', LSM_CTX_SIZE, [
        ...args.map((arg, index) => field(arg.name, arg.ctype, lsmSlot(index), 8, !arg.ctype.endsWith('*'))),
        field('ret', 'int', lsmSlot(args.length), 8, true),
      ]);
    }
    const K = BPF_PERF_EVENT_DATA_KERN;
    this.define('perf_event:cpu-clock', 'perf_event', K.size, [
      field('regs', 'struct pt_regs *', K.regs, 8, false),
      field('data', 'struct perf_sample_data *', K.data, 8, false),
      field('event', 'struct perf_event *', K.event, 8, false),
    ]);
  }

  /** Define a hook point (drivers call this for their XDP hook). Redefining a name is an error. */
  define(name: string, kind: HookKind, ctxSize: number, fields: readonly ContextField[]): HookPoint {
    if (this.hooks.has(name)) throw new Error(`hook point '${name}' is already defined`);
    const id = kind === 'tracepoint' ? this.nextTracepointId++ : 0;
    const syscallPath = name.startsWith('raw_syscalls:') || name.startsWith('syscalls:') || name.includes(':__x64_sys_') || SYSCALL_RAW_TRACEPOINTS.has(name);
    const exitPath =
      syscallPath &&
      (name === 'raw_syscalls:sys_exit' ||
        name.startsWith('syscalls:sys_exit_') ||
        kind === 'kretprobe' ||
        kind === 'fexit' ||
        name === rawTracepointHookName('sys_exit'));
    const hook = new HookPoint(name, kind, id, ctxSize, fields, (changed, delta) => {
      if (syscallPath) this.syscallHandlers += delta;
      if (exitPath) this.syscallExitHandlers += delta;
      for (const listener of this.listeners.get(changed.name) ?? []) listener(changed);
    });
    this.hooks.set(name, hook);
    return hook;
  }

  /** The hook named `name` (e.g. 'syscalls:sys_enter_openat', 'kprobe:vfs_read', 'xdp:eth0'). */
  get(name: string): HookPoint | undefined {
    return this.hooks.get(name);
  }

  /** Like get, but throws a clear error for an unknown name. */
  require(name: string): HookPoint {
    const hook = this.hooks.get(name);
    if (hook === undefined) throw new Error(`unknown hook point '${name}' (list them with kernel.hooks.list())`);
    return hook;
  }

  list(kind?: HookKind): HookPoint[] {
    return [...this.hooks.values()].filter((hook) => kind === undefined || hook.kind === kind);
  }

  /** Be told when handlers are attached to or detached from `name` (the perf timer starts on first attach). */
  onChange(name: string, listener: (hook: HookPoint) => void): void {
    const list = this.listeners.get(name) ?? [];
    list.push(listener);
    this.listeners.set(name, list);
  }

  private defineTracepoints(): void {
    this.define('raw_syscalls:sys_enter', 'tracepoint', TRACE_RAW_SYS_ENTER.size, [
      ...COMMON_FIELDS,
      field('id', 'long', TRACE_RAW_SYS_ENTER.id, 8, true),
      field('args', 'unsigned long[6]', TRACE_RAW_SYS_ENTER.args, 48, false),
    ]);
    this.define('raw_syscalls:sys_exit', 'tracepoint', TRACE_RAW_SYS_EXIT.size, [
      ...COMMON_FIELDS,
      field('id', 'long', TRACE_RAW_SYS_EXIT.id, 8, true),
      field('ret', 'long', TRACE_RAW_SYS_EXIT.ret, 8, true),
    ]);
    for (const spec of SYSCALL_SPECS.values()) {
      this.define(`syscalls:sys_enter_${spec.name}`, 'tracepoint', TRACE_SYSCALL_ENTER.size(spec.args.length), [
        ...COMMON_FIELDS,
        field('__syscall_nr', 'int', TRACE_SYSCALL_ENTER.__syscall_nr, 4, true),
        ...spec.args.map((arg, index) => field(arg.name, arg.ctype, TRACE_SYSCALL_ENTER.args + 8 * index, 8, false)),
      ]);
      this.define(`syscalls:sys_exit_${spec.name}`, 'tracepoint', TRACE_SYSCALL_EXIT.size, [
        ...COMMON_FIELDS,
        field('__syscall_nr', 'int', TRACE_SYSCALL_EXIT.__syscall_nr, 4, true),
        field('ret', 'long', TRACE_SYSCALL_EXIT.ret, 8, true),
      ]);
    }
    const S = TRACE_SCHED_SWITCH;
    this.define('sched:sched_switch', 'tracepoint', S.size, [
      ...COMMON_FIELDS,
      field('prev_comm', 'char[16]', S.prev_comm, 16, false),
      field('prev_pid', 'pid_t', S.prev_pid, 4, true),
      field('prev_prio', 'int', S.prev_prio, 4, true),
      field('prev_state', 'long', S.prev_state, 8, true),
      field('next_comm', 'char[16]', S.next_comm, 16, false),
      field('next_pid', 'pid_t', S.next_pid, 4, true),
      field('next_prio', 'int', S.next_prio, 4, true),
    ]);
    const W = TRACE_SCHED_WAKEUP;
    this.define('sched:sched_wakeup', 'tracepoint', W.size, [
      ...COMMON_FIELDS,
      field('comm', 'char[16]', W.comm, 16, false),
      field('pid', 'pid_t', W.pid, 4, true),
      field('prio', 'int', W.prio, 4, true),
      field('target_cpu', 'int', W.target_cpu, 4, true),
    ]);
    const F = TRACE_SCHED_PROCESS_FORK;
    this.define('sched:sched_process_fork', 'tracepoint', F.fixedSize + 32, [
      ...COMMON_FIELDS,
      field('parent_comm', '__data_loc char[]', F.parent_comm, 4, false),
      field('parent_pid', 'pid_t', F.parent_pid, 4, true),
      field('child_comm', '__data_loc char[]', F.child_comm, 4, false),
      field('child_pid', 'pid_t', F.child_pid, 4, true),
    ]);
    const E = TRACE_SCHED_PROCESS_EXEC;
    this.define('sched:sched_process_exec', 'tracepoint', E.fixedSize + 256, [
      ...COMMON_FIELDS,
      field('filename', '__data_loc char[]', E.filename, 4, false),
      field('pid', 'pid_t', E.pid, 4, true),
      field('old_pid', 'pid_t', E.old_pid, 4, true),
    ]);
    const X = TRACE_SCHED_PROCESS_EXIT;
    this.define('sched:sched_process_exit', 'tracepoint', X.size, [
      ...COMMON_FIELDS,
      field('comm', 'char[16]', X.comm, 16, false),
      field('pid', 'pid_t', X.pid, 4, true),
      field('prio', 'int', X.prio, 4, true),
      field('group_dead', 'bool', X.group_dead, 1, false),
    ]);
    const N = TRACE_NETIF_RECEIVE_SKB;
    this.define('net:netif_receive_skb', 'tracepoint', N.fixedSize + 16, [
      ...COMMON_FIELDS,
      field('skbaddr', 'void *', N.skbaddr, 8, false),
      field('len', 'unsigned int', N.len, 4, false),
      field('name', '__data_loc char[]', N.name, 4, false),
    ]);
    const T = TRACE_INET_SOCK_SET_STATE;
    this.define('sock:inet_sock_set_state', 'tracepoint', T.size, [
      ...COMMON_FIELDS,
      field('skaddr', 'const void *', T.skaddr, 8, false),
      field('oldstate', 'int', T.oldstate, 4, true),
      field('newstate', 'int', T.newstate, 4, true),
      field('sport', '__u16', T.sport, 2, false),
      field('dport', '__u16', T.dport, 2, false),
      field('family', '__u16', T.family, 2, false),
      field('protocol', '__u16', T.protocol, 2, false),
      field('saddr', '__u8[4]', T.saddr, 4, false),
      field('daddr', '__u8[4]', T.daddr, 4, false),
      field('saddr_v6', '__u8[16]', T.saddr_v6, 16, false),
      field('daddr_v6', '__u8[16]', T.daddr_v6, 16, false),
    ]);
    const C = TRACE_CGROUP;
    for (const name of ['cgroup_mkdir', 'cgroup_rmdir']) {
      this.define(`cgroup:${name}`, 'tracepoint', C.fixedSize + 256, [
        ...COMMON_FIELDS,
        field('root', 'int', C.root, 4, true),
        field('level', 'int', C.level, 4, true),
        field('id', 'u64', C.id, 8, false),
        field('path', '__data_loc char[]', C.path, 4, false),
      ]);
    }
    const M = TRACE_CGROUP_ATTACH_TASK;
    this.define('cgroup:cgroup_attach_task', 'tracepoint', M.fixedSize + 256 + 16, [
      ...COMMON_FIELDS,
      field('dst_root', 'int', M.dst_root, 4, true),
      field('dst_level', 'int', M.dst_level, 4, true),
      field('dst_id', 'u64', M.dst_id, 8, false),
      field('pid', 'int', M.pid, 4, true),
      field('dst_path', '__data_loc char[]', M.dst_path, 4, false),
      field('comm', '__data_loc char[]', M.comm, 4, false),
    ]);
  }

  /** A raw tracepoint (`raw_tp:<name>`) for every tracepoint with a TP_PROTO: its context is the u64 argument array. */
  private defineRawTracepoints(): void {
    for (const [name, proto] of Object.entries(RAW_TRACEPOINT_PROTOS)) {
      this.define(rawTracepointHookName(name), 'raw_tracepoint', 8 * proto.args.length, slotFields(proto.args));
    }
  }

  /**
   * A BPF trampoline (fentry, fmod_ret and fexit) at every function with a kprobe site: the u64 argument slots, and for
   * fexit the return value in the slot after the last argument (as the x86 trampoline's stack frame holds them).
   */
  private defineTrampolines(): void {
    const functions = [...[...SYSCALL_SPECS.values()].map((spec) => `__x64_sys_${spec.name}`), ...KPROBE_FUNCTIONS];
    for (const fn of functions) {
      const proto = kprobeFunctionProto(fn) ?? SYSCALL_WRAPPER_PROTO;
      const args = slotFields(proto.args);
      this.define(fentryHookName(fn), 'fentry', 8 * args.length, args);
      this.define(fexitHookName(fn), 'fexit', 8 * (args.length + 1), [...args, field('ret', proto.ret, 8 * args.length, 8, true)]);
      // The trampoline runs fmod_ret programs at any function; which may have them is decided at load
      // (check_attach_modify_return: the error-injection list and security_ functions).
      this.define(fmodRetHookName(fn), 'fmod_ret', 8 * (args.length + 1), [...args, field('ret', proto.ret, 8 * args.length, 8, true)]);
    }
  }

  private defineKprobes(): void {
    const functions = [...[...SYSCALL_SPECS.values()].map((spec) => `__x64_sys_${spec.name}`), ...KPROBE_FUNCTIONS];
    for (const fn of functions) {
      this.define(`kprobe:${fn}`, 'kprobe', PT_REGS.size, PT_REGS_FIELDS);
      this.define(`kretprobe:${fn}`, 'kretprobe', PT_REGS.size, PT_REGS_FIELDS);
    }
  }
}

/** The XDP hook's context: struct xdp_buff (the uapi xdp_md a program reads is rewritten to loads from it). */
export const XDP_BUFF_FIELDS: readonly ContextField[] = [
  field('data', 'void *', XDP_BUFF.data, 8, false),
  field('data_end', 'void *', XDP_BUFF.data_end, 8, false),
  field('data_meta', 'void *', XDP_BUFF.data_meta, 8, false),
  field('data_hard_start', 'void *', XDP_BUFF.data_hard_start, 8, false),
  field('rxq', 'struct xdp_rxq_info *', XDP_BUFF.rxq, 8, false),
  field('txq', 'struct xdp_txq_info *', XDP_BUFF.txq, 8, false),
  field('frame_sz', 'u32', XDP_BUFF.frame_sz, 4, false),
  field('flags', 'u32', XDP_BUFF.flags, 4, false),
];
