import { describe, expect, it } from 'vitest';
import { createKernel } from '../kernel.js';
import { KALLSYMS, KERNEL_ADDRESS_HI } from '../kallsyms.js';
import { chainSpec, hookStack, userCallchain } from './callchain.js';

/** The function names of a chain's ip[] (symbolised through the table). */
function names(ips: Uint8Array): string[] {
  const view = new DataView(ips.buffer, ips.byteOffset, ips.byteLength);
  return Array.from({ length: ips.length / 8 }, (_, i) => {
    expect(view.getUint32(i * 8 + 4, true)).toBe(KERNEL_ADDRESS_HI);
    return KALLSYMS.lookup(view.getUint32(i * 8, true))?.symbol.name ?? '?';
  });
}

describe('kernel call chains per hook site', () => {
  const kernel = createKernel({ cpus: 1 });

  it('gives a kprobe its function (entry + 1), then the callers down to the syscall entry', () => {
    const stack = hookStack(kernel.hooks.require('kprobe:vfs_read'));
    expect(names(stack.kernel)).toEqual(['vfs_read', 'ksys_read', '__x64_sys_read', 'x64_sys_call', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
    const first = new DataView(stack.kernel.buffer).getUint32(0, true);
    expect(first).toBe((KALLSYMS.get('vfs_read')?.lo ?? 0) + 1);
    expect(stack.funcIp).toBe((BigInt(KERNEL_ADDRESS_HI) << 32n) | BigInt(KALLSYMS.get('vfs_read')?.lo ?? 0));
  });

  it('starts a kretprobe in the caller, with the probed function as its func ip', () => {
    const stack = hookStack(kernel.hooks.require('kretprobe:__x64_sys_getpid'));
    expect(names(stack.kernel)).toEqual(['x64_sys_call', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
    expect(stack.funcIp).toBe((BigInt(KERNEL_ADDRESS_HI) << 32n) | BigInt(KALLSYMS.get('__x64_sys_getpid')?.lo ?? 0));
  });

  it('gives tracepoints the function that fires them and no func ip', () => {
    const enter = hookStack(kernel.hooks.require('syscalls:sys_enter_openat'));
    expect(names(enter.kernel)).toEqual(['perf_syscall_enter', 'syscall_trace_enter', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
    expect(enter.funcIp).toBe(0n);
    expect(names(hookStack(kernel.hooks.require('sched:sched_switch')).kernel)).toEqual(['__traceiter_sched_switch', '__schedule', 'schedule']);
    expect(names(hookStack(kernel.hooks.require('lsm:file_open')).kernel).slice(0, 3)).toEqual(['security_file_open', 'do_dentry_open', 'vfs_open']);
  });

  it('keeps one chain per hook (no allocation after the first call) and leaves unmodelled sites empty', () => {
    const hook = kernel.hooks.require('kprobe:vfs_write');
    expect(hookStack(hook)).toBe(hookStack(hook));
    expect(chainSpec('nosuch:thing').frames).toEqual([]);
    expect(chainSpec('fentry:vfs_read').frames[0]).toBe('vfs_read');
  });

  it('gives a program a stable user call chain of user addresses', () => {
    const chain = userCallchain('cat');
    expect(userCallchain('cat')).toBe(chain);
    expect(chain.length).toBe(32);
    const view = new DataView(chain.buffer);
    for (let i = 0; i < 4; i++) expect(view.getUint32(i * 8 + 4, true)).toBeLessThan(0x8000);
    expect(userCallchain('ls')).not.toEqual(chain);
  });
});
