import type { ProcFileName } from '../fs/procfs.js';
import { O } from '@ebpf-sim/uapi';
import { TASK_STATE_NAMES, type ThreadGroup } from './task.js';

/** The text of /proc/<pid>/comm and /proc/<pid>/status (the fields this model has, in Linux's format). */
export function renderProcFile(groups: ReadonlyMap<number, ThreadGroup>, pid: number, name: ProcFileName): string | undefined {
  const group = groups.get(pid);
  const task = group?.threads.find((t) => t.pid === pid) ?? group?.threads[0];
  if (group === undefined || task === undefined) return undefined;
  if (name === 'comm') return `${task.comm}\n`;
  // proc_cgroup_show with only the v2 hierarchy: "0::PATH" (hierarchy id 0, no controller names).
  if (name === 'cgroup') return `0::${task.cgroup?.path ?? '/'}\n`;
  const cred = group.cred;
  const caps = cred.capEffective.toString(16).padStart(16, '0');
  const live = group.threads.filter((t) => t.state !== 4).length;
  return [
    `Name:\t${task.comm}`,
    `State:\t${TASK_STATE_NAMES[task.state]}`,
    `Tgid:\t${group.tgid}`,
    `Pid:\t${pid}`,
    `PPid:\t${group.parent?.tgid ?? 0}`,
    `Uid:\t${cred.uid}\t${cred.euid}\t${cred.euid}\t${cred.euid}`,
    `Gid:\t${cred.gid}\t${cred.egid}\t${cred.egid}\t${cred.egid}`,
    `FDSize:\t${group.files.limit}`,
    `VmRSS:\t${(group.mm.rss * 4).toString().padStart(8)} kB`,
    `Threads:\t${live}`,
    `CapEff:\t${caps}`,
    `voluntary_ctxt_switches:\t${task.se.voluntarySwitches}`,
    `nonvoluntary_ctxt_switches:\t${task.se.involuntarySwitches}`,
    '',
  ].join('\n');
}

/**
 * /proc/<pid>/fdinfo/<fd> (fs/proc/fd.c seq_show): the position, the open flags in octal with O_CLOEXEC when the
 * descriptor has it, the mount (this kernel numbers a mount by its file system's device) and the inode number,
 * then what the file's own show_fdinfo adds.
 */
export function renderFdinfo(groups: ReadonlyMap<number, ThreadGroup>, pid: number, fd: number): string | undefined {
  const files = groups.get(pid)?.files;
  const file = files?.get(fd);
  if (files === undefined || file === undefined) return undefined;
  const flags = file.flags | (files.isCloseOnExec(fd) ? O.CLOEXEC : 0);
  const own = file.ops.showFdinfo?.(file) ?? '';
  return `pos:\t${file.pos}\nflags:\t0${flags.toString(8)}\nmnt_id:\t${file.inode.dev}\nino:\t${file.inode.ino}\n${own}`;
}
