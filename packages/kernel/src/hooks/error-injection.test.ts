import { PT_REGS } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { createKernel } from '../kernel.js';
import { ERROR_INJECTION_LIST, errorInjectionType, overriddenReturn, renderErrorInjectionList, requestOverride } from './error-injection.js';

describe('function error injection', () => {
  it('lists every syscall wrapper as ERRNO, and no ordinary function', () => {
    expect(errorInjectionType('__x64_sys_openat')).toBe('ERRNO');
    expect(errorInjectionType('vfs_read')).toBeUndefined();
    expect(ERROR_INJECTION_LIST.length).toBeGreaterThan(10);
    expect(renderErrorInjectionList().split('\n')).toContain('__x64_sys_getpid\tERRNO');
  });

  it('publishes the list at /sys/kernel/debug/error_injection/list', () => {
    const kernel = createKernel({ cpus: 1 });
    const inode = kernel.vfs.lookup(kernel.vfs.root, '/sys/kernel/debug/error_injection/list', { uid: 0, gid: 0 });
    expect(typeof inode).not.toBe('number');
  });

  it('carries an override through the probe pt_regs: ax = the value, ip = just_return_func', () => {
    const bytes = new Uint8Array(PT_REGS.size);
    const view = new DataView(bytes.buffer);
    expect(overriddenReturn(view, 0)).toBeUndefined();
    requestOverride(view, 0, -12 >>> 0, 0xffffffff);
    expect(overriddenReturn(view, 0)).toBe(-12);
  });
});
