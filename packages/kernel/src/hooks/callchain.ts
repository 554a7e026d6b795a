/**
 * The kernel call chain at each hook site, as data: which functions are on the stack when the hook's programs
 * run, innermost first, as Linux 6.x's unwinder reports them to perf_callchain / bpf_get_stack. Each chain is
 * turned once per hook into the ip[] array of a struct perf_callchain_entry (u64 little-endian kernel
 * addresses from /proc/kallsyms), so a helper reads it without allocating.
 *
 * A frame is a return address inside the calling function (a call site at a stable offset in it). The
 * innermost frame of a kprobe is the probed function's entry + 1: kprobe_ftrace_handler leaves regs->ip one
 * int3 past the probe address, as the unwinder then reports it. A kretprobe's chain starts in the caller,
 * at the return address the rethook trampoline restores. A tracepoint's starts in the function that fires it
 * (perf_fetch_caller_regs takes the caller of the perf_trace_* glue).
 *
 * The sites model one caller each (vfs_read is reached through ksys_read from read(2)); where Linux has
 * several callers the chain is the one of the site's principal path, a deliberate simplification.
 */
import { KALLSYMS, KERNEL_ADDRESS_HI, nameHash, type KernelSymbol } from '../kallsyms.js';
import type { HookPoint } from './hook.js';

/** The common tail of every syscall-path chain (do_syscall_64 calls the wrapper through x64_sys_call since 6.9). */
const SYSCALL_TAIL = ['x64_sys_call', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe'] as const;

/** The syscall-entry tail below a syscall tracepoint (syscall_trace_enter runs before the wrapper). */
const SYS_ENTER_TAIL = ['syscall_trace_enter', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe'] as const;
const SYS_EXIT_TAIL = ['syscall_exit_work', 'syscall_exit_to_user_mode', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe'] as const;
const SOFTIRQ_RX_TAIL = ['__netif_receive_skb_one_core', 'process_backlog', '__napi_poll', 'net_rx_action', 'handle_softirqs'] as const;

/** The callers of the functions with kprobe sites (and of the LSM hooks' security_* functions), innermost first. */
const FUNCTION_CALLERS: Readonly<Record<string, readonly string[]>> = {
  vfs_read: ['ksys_read', '__x64_sys_read', ...SYSCALL_TAIL],
  vfs_write: ['ksys_write', '__x64_sys_write', ...SYSCALL_TAIL],
  do_sys_openat2: ['__x64_sys_openat', ...SYSCALL_TAIL],
  do_exit: ['do_group_exit', '__x64_sys_exit_group', ...SYSCALL_TAIL],
  wake_up_new_task: ['kernel_clone', '__x64_sys_clone', ...SYSCALL_TAIL],
  do_unlinkat: ['__x64_sys_unlinkat', ...SYSCALL_TAIL],
  security_file_open: ['do_dentry_open', 'vfs_open', 'path_openat', 'do_filp_open', 'do_sys_openat2', '__x64_sys_openat', ...SYSCALL_TAIL],
  security_bprm_check: ['bprm_execve', 'do_execveat_common', '__x64_sys_execve', ...SYSCALL_TAIL],
  security_task_kill: ['kill_something_info', '__x64_sys_kill', ...SYSCALL_TAIL],
};

/** The security_* function that calls each BPF LSM hook (bpf_lsm_<hook> is attached at its entry). */
const LSM_CALLERS: Readonly<Record<string, string>> = {
  file_open: 'security_file_open',
  bprm_check_security: 'security_bprm_check',
  task_kill: 'security_task_kill',
};

/** Tracepoints: the function that fires each one and its callers, innermost first. */
const TRACEPOINT_CHAINS: Readonly<Record<string, readonly string[]>> = {
  'raw_syscalls:sys_enter': ['perf_trace_sys_enter', ...SYS_ENTER_TAIL],
  'raw_syscalls:sys_exit': ['perf_trace_sys_exit', ...SYS_EXIT_TAIL],
  'sched:sched_switch': ['__traceiter_sched_switch', '__schedule', 'schedule'],
  'sched:sched_wakeup': ['__traceiter_sched_wakeup', 'ttwu_do_activate', 'try_to_wake_up'],
  'sched:sched_process_fork': ['__traceiter_sched_process_fork', 'kernel_clone', '__x64_sys_clone', ...SYSCALL_TAIL],
  'sched:sched_process_exec': ['__traceiter_sched_process_exec', 'bprm_execve', 'do_execveat_common', '__x64_sys_execve', ...SYSCALL_TAIL],
  'sched:sched_process_exit': ['__traceiter_sched_process_exit', 'do_exit', 'do_group_exit', '__x64_sys_exit_group', ...SYSCALL_TAIL],
};

/** A perf cpu-clock sample of an idle CPU interrupts the idle loop. */
const IDLE_CHAIN = ['default_idle', 'default_idle_call', 'do_idle', 'cpu_startup_entry'] as const;

/** How a chain's innermost frame reads: the probed function's entry (+1), or a call site inside it. */
interface ChainSpec {
  readonly frames: readonly string[];
  readonly probe: boolean;
}

const EMPTY: ChainSpec = { frames: [], probe: false };

/** The callers of `fn`: the table's, or for a syscall wrapper the syscall tail. */
function callersOf(fn: string): readonly string[] | undefined {
  const callers = FUNCTION_CALLERS[fn];
  if (callers !== undefined) return callers;
  if (fn.startsWith('__x64_sys_') && KALLSYMS.get(fn) !== undefined) return SYSCALL_TAIL;
  return undefined;
}

/** A probe at `fn`'s entry (kprobe, fentry): the function itself, then its callers. */
function probeChain(fn: string): ChainSpec | undefined {
  const callers = callersOf(fn);
  return callers === undefined ? undefined : { frames: [fn, ...callers], probe: true };
}

/** The chain of the hook named `name`, by its kind of site; empty when the site is not modelled. */
export function chainSpec(name: string): ChainSpec {
  const colon = name.indexOf(':');
  const prefix = colon < 0 ? '' : name.slice(0, colon);
  const rest = colon < 0 ? name : name.slice(colon + 1);
  if (prefix === 'kprobe') return probeChain(rest) ?? EMPTY;
  if (prefix === 'kretprobe') {
    const callers = callersOf(rest);
    return callers === undefined ? EMPTY : { frames: callers, probe: false };
  }
  if (prefix === 'syscalls') {
    if (rest.startsWith('sys_enter_')) return { frames: ['perf_syscall_enter', ...SYS_ENTER_TAIL], probe: false };
    if (rest.startsWith('sys_exit_')) return { frames: ['perf_syscall_exit', ...SYS_EXIT_TAIL], probe: false };
  }
  const tracepoint = TRACEPOINT_CHAINS[name];
  if (tracepoint !== undefined) return { frames: tracepoint, probe: false };
  if (prefix === 'lsm') {
    const caller = LSM_CALLERS[rest];
    const callers = caller === undefined ? undefined : callersOf(caller);
    return caller === undefined || callers === undefined ? EMPTY : { frames: [caller, ...callers], probe: false };
  }
  // Generic XDP runs in the receive softirq before the stack; tc ingress inside __netif_receive_skb_core.
  if (prefix === 'xdp') return { frames: ['netif_receive_generic_xdp', 'do_xdp_generic', '__netif_receive_skb_core', ...SOFTIRQ_RX_TAIL], probe: false };
  if (name.startsWith('tc:ingress:')) return { frames: ['__netif_receive_skb_core', ...SOFTIRQ_RX_TAIL], probe: false };
  if (name.startsWith('tc:egress:')) {
    return {
      frames: [
        '__dev_queue_xmit',
        'ip_finish_output2',
        'ip_output',
        'ip_send_skb',
        'udp_send_skb',
        'udp_sendmsg',
        '__sys_sendto',
        '__x64_sys_sendto',
        ...SYSCALL_TAIL,
      ],
      probe: false,
    };
  }
  if (prefix === 'perf_event') return { frames: IDLE_CHAIN, probe: false };
  // Other hooks named after a function (fentry/fexit, raw tracepoints of the same events): by the last component.
  const last = name.slice(name.lastIndexOf(':') + 1);
  const probe = probeChain(last);
  if (probe !== undefined) return probe;
  if (last === 'sys_enter' || last === 'sys_exit') return { frames: TRACEPOINT_CHAINS[`raw_syscalls:${last}`] ?? [], probe: false };
  const sched = TRACEPOINT_CHAINS[`sched:${last}`];
  return sched === undefined ? EMPTY : { frames: sched, probe: false };
}

/** The low 32 bits of the return address in `caller` of its call to `callee` (a stable call site inside it). */
export function callSite(caller: KernelSymbol, callee: string): number {
  const room = Math.max(caller.size - 0x20, 1);
  return caller.lo + 0x10 + (nameHash(`${caller.name}>${callee}`) % room);
}

/** Write a u64 kernel address (high half KERNEL_ADDRESS_HI) at `offset` of `out`, little-endian. */
function writeKernelIp(view: DataView, offset: number, lo: number): void {
  view.setUint32(offset, lo >>> 0, true);
  view.setUint32(offset + 4, KERNEL_ADDRESS_HI, true);
}

/** The ip[] of a chain: u64 little-endian addresses, innermost first (frames not in kallsyms are left out). */
export function chainIps(spec: ChainSpec): Uint8Array {
  const symbols = spec.frames.map((name) => KALLSYMS.get(name)).filter((sym): sym is KernelSymbol => sym !== undefined);
  const out = new Uint8Array(symbols.length * 8);
  const view = new DataView(out.buffer);
  symbols.forEach((sym, index) => {
    const lo = index === 0 && spec.probe ? sym.lo + 1 : callSite(sym, index === 0 ? '' : (symbols[index - 1] as KernelSymbol).name);
    writeKernelIp(view, index * 8, lo);
  });
  return out;
}

/** What stack helpers need of a hook: its kernel call chain and the address of the function it probes. */
export interface HookStack {
  /** perf_callchain_entry's ip[] at this hook (u64 little-endian, innermost first); empty when not modelled. */
  readonly kernel: Uint8Array;
  /** bpf_get_func_ip: the probed function's address for kprobes, kretprobes and function-entry hooks; 0n otherwise. */
  readonly funcIp: bigint;
}

const stacks = new WeakMap<HookPoint, HookStack>();

/** The probed function of a kprobe/kretprobe (or a function-named hook), or undefined. */
function probedFunction(name: string): KernelSymbol | undefined {
  const fn = name.slice(name.lastIndexOf(':') + 1);
  if (!(name.startsWith('kprobe:') || name.startsWith('kretprobe:') || probeChain(fn) !== undefined)) return undefined;
  return KALLSYMS.get(fn);
}

/** The stack facts of `hook`, computed on first use and kept (later calls allocate nothing). */
export function hookStack(hook: HookPoint): HookStack {
  let stack = stacks.get(hook);
  if (stack === undefined) {
    const fn = probedFunction(hook.name);
    stack = {
      kernel: chainIps(chainSpec(hook.name)),
      funcIp: fn === undefined ? 0n : (BigInt(KERNEL_ADDRESS_HI) << 32n) | BigInt(fn.lo),
    };
    stacks.set(hook, stack);
  }
  return stack;
}

/**
 * User stacks (get_perf_callchain with user = true): the simulated user programs have no frames in user
 * memory, so a task's user stack is the call chain of a C program in its main(): main, __libc_start_call_main,
 * __libc_start_main_impl, _start, at addresses of a non-PIE executable at 0x400000 and glibc mapped at
 * 0x7f0000000000 (main's address depends on the program's name, so different programs differ).
 */
export const USER_TEXT_BASE = 0x401000;
export const USER_LIBC_BASE = 0x7f0000000000;

const userChains = new Map<string, Uint8Array>();

/** The user call chain of a task running program `comm` (u64 little-endian ips, innermost first). */
export function userCallchain(comm: string): Uint8Array {
  let chain = userChains.get(comm);
  if (chain === undefined) {
    const main = USER_TEXT_BASE + 0x126 + (nameHash(comm) % 0x200) * 2;
    const ips = [main, USER_LIBC_BASE + 0x29d90, USER_LIBC_BASE + 0x29e40, USER_TEXT_BASE + 0x25];
    chain = new Uint8Array(ips.length * 8);
    const view = new DataView(chain.buffer);
    ips.forEach((ip, index) => {
      view.setUint32(index * 8, ip % 2 ** 32, true);
      view.setUint32(index * 8 + 4, Math.floor(ip / 2 ** 32), true);
    });
    userChains.set(comm, chain);
  }
  return chain;
}
