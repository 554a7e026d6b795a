/**
 * The kernel's symbol table (kernel/kallsyms.c): every modelled kernel function at a stable address in the
 * kernel text, what /proc/kallsyms lists and what stack traces and bpf_get_func_ip are symbolised with.
 *
 * Addresses are x86_64 kernel text addresses, `ffffffff81000000` (_text, as Linux links it without KASLR) and
 * up. They do not fit a JS number exactly, so a symbol keeps the low 32 bits (`lo`); the high 32 bits are
 * always KERNEL_ADDRESS_HI. The layout is computed once from fixed lists, so it is the same in every kernel
 * and every run (what "stable" means here: there is no KASLR).
 */
import { SYSCALL_SPECS } from '@ebpf-sim/uapi';
import { LSM_HOOKS } from './hooks/lsm.js';
import { KPROBE_FUNCTIONS } from './hooks/registry.js';

/** The high 32 bits of every kernel text address (the top 2 GiB, where x86_64 links the kernel). */
export const KERNEL_ADDRESS_HI = 0xffffffff;
/** The low 32 bits of _text: 0xffffffff81000000, as Linux links x86_64 (CONFIG_PHYSICAL_START 0x1000000). */
export const KERNEL_TEXT_LO = 0x81000000;

/**
 * A symbol's type letter, as `nm` prints it and /proc/kallsyms shows it: T/t text (global/static), D/d data,
 * R/r read-only data, B/b bss.
 */
export type SymbolType = 'T' | 't' | 'D' | 'd' | 'R' | 'r' | 'B' | 'b';

export interface KernelSymbol {
  readonly name: string;
  readonly type: SymbolType;
  /** Low 32 bits of the address (the high ones are KERNEL_ADDRESS_HI). */
  readonly lo: number;
  /** Bytes from this symbol to the next one (kallsyms_lookup_size_offset's size). */
  readonly size: number;
}

/**
 * Functions that call chains pass through besides the kprobe sites, syscall wrappers and LSM hooks: the
 * syscall entry, the tracepoint and perf glue, the scheduler, exec, exit and the network receive/transmit
 * paths. `t` marks the ones Linux 6.x defines `static` (kallsyms shows them lower-case).
 */
const CORE_TEXT: ReadonlyArray<readonly [string, SymbolType]> = [
  ['entry_SYSCALL_64', 'T'],
  ['entry_SYSCALL_64_after_hwframe', 'T'],
  ['do_syscall_64', 'T'],
  ['x64_sys_call', 'T'],
  ['syscall_trace_enter', 't'],
  ['syscall_exit_work', 't'],
  ['syscall_exit_to_user_mode', 'T'],
  ['perf_syscall_enter', 't'],
  ['perf_syscall_exit', 't'],
  ['perf_trace_sys_enter', 't'],
  ['perf_trace_sys_exit', 't'],
  ['trace_call_bpf', 'T'],
  ['ksys_read', 'T'],
  ['ksys_write', 'T'],
  ['do_filp_open', 'T'],
  ['path_openat', 't'],
  ['vfs_open', 'T'],
  ['do_dentry_open', 't'],
  ['kernel_clone', 'T'],
  ['do_group_exit', 'T'],
  ['bprm_execve', 't'],
  ['do_execveat_common', 't'],
  ['kill_something_info', 't'],
  ['__schedule', 't'],
  ['schedule', 'T'],
  ['try_to_wake_up', 'T'],
  ['ttwu_do_activate', 't'],
  ['__traceiter_sched_switch', 'T'],
  ['__traceiter_sched_wakeup', 'T'],
  ['__traceiter_sched_process_fork', 'T'],
  ['__traceiter_sched_process_exec', 'T'],
  ['__traceiter_sched_process_exit', 'T'],
  ['default_idle', 'T'],
  ['default_idle_call', 'T'],
  ['do_idle', 't'],
  ['cpu_startup_entry', 'T'],
  ['handle_softirqs', 't'],
  ['net_rx_action', 't'],
  ['__napi_poll', 't'],
  ['process_backlog', 't'],
  ['__netif_receive_skb_one_core', 't'],
  ['__netif_receive_skb_core', 't'],
  ['do_xdp_generic', 'T'],
  ['netif_receive_generic_xdp', 't'],
  ['__dev_queue_xmit', 'T'],
  ['ip_finish_output2', 't'],
  ['ip_output', 'T'],
  ['ip_send_skb', 'T'],
  ['udp_send_skb', 't'],
  ['udp_sendmsg', 'T'],
  ['__sys_sendto', 'T'],
  // arch/x86/lib/error-inject.c: where bpf_override_return sends a probed function (a bare `ret`).
  ['just_return_func', 'T'],
];

/** Data symbols after the text (what /proc/kallsyms shows of .data and .bss besides functions). */
const DATA_SYMBOLS: ReadonlyArray<readonly [string, SymbolType, number]> = [
  ['_sdata', 'D', 0],
  ['init_task', 'D', 0x2c00],
  ['jiffies', 'D', 8],
  ['_edata', 'D', 0],
  ['__bss_start', 'B', 0],
  ['_end', 'B', 0],
];

/** A small, stable hash of a name (FNV-1a), to give functions different sizes and call sites different offsets. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Every text symbol's name and type, in link order (duplicates after the first dropped). */
function textSymbols(): Array<readonly [string, SymbolType]> {
  const seen = new Set<string>();
  const out: Array<readonly [string, SymbolType]> = [];
  const add = (name: string, type: SymbolType): void => {
    if (seen.has(name)) return;
    seen.add(name);
    out.push([name, type]);
  };
  for (const [name, type] of CORE_TEXT) add(name, type);
  for (const fn of KPROBE_FUNCTIONS) add(fn, 'T');
  for (const spec of SYSCALL_SPECS.values()) add(`__x64_sys_${spec.name}`, 'T');
  // security_<hook> is what the kernel calls; bpf_lsm_<hook> the empty function BPF LSM programs attach to.
  for (const hook of LSM_HOOKS) add(`security_${hook === 'bprm_check_security' ? 'bprm_check' : hook}`, 'T');
  for (const hook of LSM_HOOKS) add(`bpf_lsm_${hook}`, 'T');
  return out;
}

/** The symbol table: symbols by address (sorted, as kallsyms keeps them) and by name. */
export class Kallsyms {
  readonly symbols: readonly KernelSymbol[];
  private readonly byName = new Map<string, KernelSymbol>();

  constructor() {
    const symbols: KernelSymbol[] = [
      { name: '_text', type: 'T', lo: KERNEL_TEXT_LO, size: 0 },
      { name: '_stext', type: 'T', lo: KERNEL_TEXT_LO, size: 0 },
    ];
    let lo = KERNEL_TEXT_LO;
    for (const [name, type] of textSymbols()) {
      // 16-byte aligned functions of 0x40..0x430 bytes (the size only has to be stable and leave room for call sites).
      const size = 0x40 + (nameHash(name) % 64) * 0x10;
      symbols.push({ name, type, lo, size });
      lo += size;
    }
    symbols.push({ name: '_etext', type: 'T', lo, size: 0 });
    // .rodata and .data start on a 2 MiB boundary after the text, as the x86_64 linker script aligns them.
    lo = Math.ceil(lo / 0x200000) * 0x200000;
    for (const [name, type, size] of DATA_SYMBOLS) {
      symbols.push({ name, type, lo, size });
      lo += Math.ceil(size / 0x40) * 0x40;
    }
    this.symbols = symbols;
    for (const sym of symbols) if (!this.byName.has(sym.name)) this.byName.set(sym.name, sym);
  }

  /** The symbol named `name`, or undefined. */
  get(name: string): KernelSymbol | undefined {
    return this.byName.get(name);
  }

  /**
   * kallsyms_lookup: the function containing the address whose low 32 bits are `lo` (high bits
   * KERNEL_ADDRESS_HI) and the offset into it, or undefined outside the text.
   */
  lookup(lo: number): { readonly symbol: KernelSymbol; readonly offset: number } | undefined {
    const symbols = this.symbols;
    let low = 0;
    let high = symbols.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if ((symbols[mid] as KernelSymbol).lo <= lo) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    if (found < 0) return undefined;
    const symbol = symbols[found] as KernelSymbol;
    const offset = lo - symbol.lo;
    // A marker of size 0 (_etext) matches only its own address.
    if (offset >= symbol.size && offset !== 0) return undefined;
    return { symbol, offset };
  }

  /** `%pS` of an address: `name+0xoff/0xsize`, or the hex address when it is in no symbol. */
  symbolize(lo: number): string {
    const hit = this.lookup(lo);
    if (hit === undefined) return `0x${KERNEL_ADDRESS_HI.toString(16)}${lo.toString(16).padStart(8, '0')}`;
    return `${hit.symbol.name}+0x${hit.offset.toString(16)}/0x${hit.symbol.size.toString(16)}`;
  }

  /**
   * The text of /proc/kallsyms (s_show: `%px %c %s\n`, sorted by address). `showValues` is
   * kallsyms_show_value for the opener: without it every address reads as zeros, as Linux prints them.
   */
  render(showValues: boolean): string {
    const hi = KERNEL_ADDRESS_HI.toString(16);
    const lines: string[] = [];
    for (const sym of this.symbols) {
      const address = showValues ? `${hi}${sym.lo.toString(16).padStart(8, '0')}` : '0000000000000000';
      lines.push(`${address} ${sym.type} ${sym.name}\n`);
    }
    return lines.join('');
  }
}

/** The one symbol table (the layout is fixed, so every kernel shares it). */
export const KALLSYMS = new Kallsyms();

/**
 * kallsyms_show_value: whether a reader with these credentials sees addresses. kernel.kptr_restrict 0 shows
 * them to everyone when perf_event_paranoid <= 1 (kallsyms_for_perf), else falls through to 1: CAP_SYSLOG
 * only; 2 hides them from everyone.
 */
export function kallsymsShowValue(kptrRestrict: number, perfEventParanoid: number, hasSyslog: boolean): boolean {
  if (kptrRestrict === 0 && perfEventParanoid <= 1) return true;
  if (kptrRestrict <= 1) return hasSyslog;
  return false;
}
