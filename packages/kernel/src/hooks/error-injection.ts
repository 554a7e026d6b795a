/**
 * Function error injection (lib/error-inject.c, arch/x86/lib/error-inject.c): the functions marked
 * ALLOW_ERROR_INJECTION, which a kprobe program may make return early with bpf_override_return, and the
 * mechanism a kprobe site uses to honour it.
 *
 * As Linux does, the helper leaves its request in the probe's pt_regs: regs->ax = the value, regs->ip =
 * just_return_func (override_function_with_return). The kprobe handler sees that the ip moved away from
 * the probe address and skips the function, returning ax. A site honours it with {@link overriddenReturn}.
 */
import { PT_REGS } from '@ebpf-sim/uapi';
import { KALLSYMS, KERNEL_ADDRESS_HI } from '../kallsyms.js';

/** enum { EI_ETYPE_NULL, ERRNO, ERRNO_NULL, TRUE } as error_type_string names them. */
export type ErrorInjectionType = 'NULL' | 'ERRNO' | 'ERRNO_NULL' | 'TRUE';

export interface ErrorInjectionEntry {
  readonly fn: string;
  readonly type: ErrorInjectionType;
}

/**
 * The whitelist: every syscall wrapper, which x86's __SYSCALL_DEFINEx marks
 * ALLOW_ERROR_INJECTION(__x64_sys<name>, ERRNO). (Linux's list also names allocator and file-system internals
 * such as should_failslab and open_ctree, which this kernel does not model.) In kallsyms order, as the
 * _error_injection_whitelist section is laid out in link order.
 */
export const ERROR_INJECTION_LIST: readonly ErrorInjectionEntry[] = KALLSYMS.symbols
  .filter((sym) => sym.type === 'T' && sym.name.startsWith('__x64_sys_'))
  .map((sym) => ({ fn: sym.name, type: 'ERRNO' as const }));

const injectable = new Map<string, ErrorInjectionType>(ERROR_INJECTION_LIST.map((entry) => [entry.fn, entry.type]));

/** within_error_injection_list / get_injectable_error_type by function name: the type, or undefined when not listed. */
export function errorInjectionType(fn: string): ErrorInjectionType | undefined {
  return injectable.get(fn);
}

/** The text of /sys/kernel/debug/error_injection/list (ei_seq_show: `%ps\t%s\n` per entry). */
export function renderErrorInjectionList(): string {
  return ERROR_INJECTION_LIST.map((entry) => `${entry.fn}\t${entry.type}\n`).join('');
}

/** The low 32 bits of just_return_func's address (its high ones are KERNEL_ADDRESS_HI). */
export const JUST_RETURN_FUNC_LO = (KALLSYMS.get('just_return_func')?.lo ?? 0) >>> 0;

/**
 * bpf_override_return's effect on a probe's pt_regs at `ctx` (regs_set_return_value +
 * override_function_with_return): ax = `rcLo`/`rcHi` (the u64 value's halves), ip = just_return_func.
 */
export function requestOverride(view: DataView, ctx: number, rcLo: number, rcHi: number): void {
  view.setUint32(ctx + PT_REGS.ax, rcLo >>> 0, true);
  view.setUint32(ctx + PT_REGS.ax + 4, rcHi >>> 0, true);
  view.setUint32(ctx + PT_REGS.ip, JUST_RETURN_FUNC_LO, true);
  view.setUint32(ctx + PT_REGS.ip + 4, KERNEL_ADDRESS_HI, true);
}

/**
 * After a kprobe site's programs ran on the pt_regs at `ctx`: the value the probed function must return
 * instead of running (regs->ax as a signed long), or undefined when no program overrode it (the ip is
 * still not just_return_func). The site calls this only for a function on the list (the attach check).
 */
export function overriddenReturn(view: DataView, ctx: number): number | undefined {
  if (view.getUint32(ctx + PT_REGS.ip, true) !== JUST_RETURN_FUNC_LO || view.getUint32(ctx + PT_REGS.ip + 4, true) !== KERNEL_ADDRESS_HI) return undefined;
  const lo = view.getUint32(ctx + PT_REGS.ax, true);
  const hi = view.getInt32(ctx + PT_REGS.ax + 4, true);
  return hi * 2 ** 32 + lo;
}
