import { CAP, Errno } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import type { Task } from '../task/task.js';
import { SysctlTable } from './sysctl.js';

const taskWithCaps = (capEffective: number): Task => ({ group: { cred: { uid: 0, gid: 0, euid: 0, egid: 0, capEffective } } }) as unknown as Task;
const root = taskWithCaps(2 ** CAP.SYS_ADMIN);
const nobody = taskWithCaps(0);

describe('SysctlTable', () => {
  it('keeps a value the owner reads in place, and refuses writes without CAP_SYS_ADMIN by default', () => {
    const table = new SysctlTable();
    const entry = table.register('kernel.bpf_stats_enabled', 0);
    expect(table.set(nobody, 'kernel.bpf_stats_enabled', 1)).toBe(-Errno.EPERM);
    expect(entry.value).toBe(0);
    expect(table.set(root, 'kernel.bpf_stats_enabled', 1)).toBe(0);
    expect(entry.value).toBe(1);
  });

  it("lets the owner's check refuse a value, and answers ENOENT for an unknown name", () => {
    const table = new SysctlTable();
    const entry = table.register('kernel.unprivileged_bpf_disabled', 2, (_task, value, old) => (old === 1 && value !== 1 ? -Errno.EPERM : 0));
    expect(table.set(root, 'kernel.unprivileged_bpf_disabled', 1)).toBe(0);
    expect(table.set(root, 'kernel.unprivileged_bpf_disabled', 0)).toBe(-Errno.EPERM);
    expect(entry.value).toBe(1);
    expect(table.set(root, 'kernel.nope', 1)).toBe(-Errno.ENOENT);
    expect(table.list().map((slot) => slot.name)).toEqual(['kernel.unprivileged_bpf_disabled']);
  });

  it('refuses a malformed or duplicate name', () => {
    const table = new SysctlTable();
    table.register('net.core.bpf_jit_enable', 1);
    expect(() => table.register('net.core.bpf_jit_enable', 1)).toThrow(/twice/);
    expect(() => table.register('Bad Name', 0)).toThrow(/dotted/);
  });
});
