/**
 * The sysctl table (kernel/sysctl.c): integer knobs by dotted name (`kernel.bpf_stats_enabled`), registered
 * by the subsystem that owns them and shown under /proc/sys with dots as slashes. A subsystem keeps the
 * returned entry and reads `entry.value` in place on its hot paths.
 */
import { CAP, Errno } from '@ebpf-sim/uapi';
import type { SysctlEntry, Sysctls } from '../services.js';
import { hasCapability, type Task } from '../task/task.js';

/** One registered sysctl: its value and the owner's write check. */
export interface SysctlSlot extends SysctlEntry {
  readonly name: string;
  readonly write: (task: Task, value: number, old: number) => number;
}

/** Without an owner's check, writing a sysctl needs CAP_SYS_ADMIN (proc_dointvec's 0644 files are root's). */
const adminOnly = (task: Task): number => (hasCapability(task.group.cred, CAP.SYS_ADMIN) ? 0 : -Errno.EPERM);

export class SysctlTable implements Sysctls {
  private readonly slots = new Map<string, SysctlSlot>();

  register(name: string, initial: number, write: (task: Task, value: number, old: number) => number = adminOnly): SysctlEntry {
    if (!/^[a-z0-9_]+(\.[a-z0-9_]+)+$/.test(name)) throw new Error(`sysctl '${name}': a name is dotted lower-case words, e.g. kernel.bpf_stats_enabled`);
    if (this.slots.has(name)) throw new Error(`sysctl '${name}' is registered twice`);
    const slot: SysctlSlot = { name, value: initial, write };
    this.slots.set(name, slot);
    return slot;
  }

  /** The sysctl named `name` (dotted), or undefined. */
  get(name: string): SysctlSlot | undefined {
    return this.slots.get(name);
  }

  /** Every registered sysctl, by name. */
  list(): SysctlSlot[] {
    return [...this.slots.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A write from `task` (as a write to the /proc/sys file does): 0, or the owner's -errno. */
  set(task: Task, name: string, value: number): number {
    const slot = this.slots.get(name);
    if (slot === undefined) return -Errno.ENOENT;
    const ret = slot.write(task, value, slot.value);
    if (ret === 0) slot.value = value;
    return ret;
  }
}
