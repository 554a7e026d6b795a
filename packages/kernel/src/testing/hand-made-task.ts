import { CAP_FULL_SET } from '@ebpf-sim/uapi';
import { FdTable } from '../fs/fdtable.js';
import { releaseFile } from '../fs/file.js';
import type { Vfs } from '../fs/vfs.js';
import { AddressSpace } from '../mm/address-space.js';
import type { PhysicalMemory } from '../mm/physmem.js';
import { WaitQueue } from '../sched/wait.js';
import { Task, ThreadGroup, type Cred } from '../task/task.js';

/**
 * Test helper: one process (pid 1) with a stack, its own descriptor table and root credentials (or `cred`),
 * built on `phys` and `vfs` with no kernel around it, for code that takes a task and a few services.
 */
export function handMadeTask(phys: PhysicalMemory, vfs: Vfs, cred: Cred = { uid: 0, gid: 0, euid: 0, egid: 0, capEffective: CAP_FULL_SET }): Task {
  const mm = new AddressSpace(phys, 'mm:1');
  mm.setupImage();
  const group = new ThreadGroup(1, undefined, mm, new FdTable(releaseFile), vfs.root, cred, new WaitQueue());
  const task = new Task(1, group, 'loader', 0, 0, () => undefined);
  group.threads.push(task);
  return task;
}
