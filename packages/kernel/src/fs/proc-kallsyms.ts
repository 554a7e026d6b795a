/**
 * /proc/kallsyms (kernel/kallsyms.c kallsyms_open + s_show) and the kernel.kptr_restrict sysctl that decides,
 * with perf_event_paranoid and CAP_SYSLOG, whether a reader sees the addresses or zeros.
 */
import { CAP, Errno, S_IFREG } from '@ebpf-sim/uapi';
import { KALLSYMS, kallsymsShowValue } from '../kallsyms.js';
import type { SysctlEntry, Sysctls } from '../services.js';
import { hasCapability, type Task } from '../task/task.js';
import type { File, FileOperations } from './file.js';
import { Inode } from './inode.js';
import { snapshotFileOps } from './procfs.js';

/** The inode number of /proc/kallsyms (outside the per-process ranges procfs uses). */
const KALLSYMS_INO = 0x7000_0001;

/**
 * kallsyms_show_value(cred) for a task: whether it sees kernel addresses (in /proc/kallsyms, in a kprobe link's
 * info, in BPF_TASK_FD_QUERY's probe_addr), from kernel.kptr_restrict, kernel.perf_event_paranoid and CAP_SYSLOG.
 */
export class KernelAddressVisibility {
  constructor(
    private readonly kptrRestrict: SysctlEntry,
    /** kernel.perf_event_paranoid's value (2, Linux's default, while the perf subsystem has not registered it). */
    private readonly perfEventParanoid: () => number,
  ) {}

  /** No task is the kernel itself (an open made during boot or by a test harness): full credentials. */
  shownTo(task: Task | undefined): boolean {
    const syslog = task === undefined || hasCapability(task.group.cred, CAP.SYSLOG);
    return kallsymsShowValue(this.kptrRestrict.value, this.perfEventParanoid(), syslog);
  }
}

/** What the file needs: the opener (current at open) and who may see addresses. */
export interface ProcKallsymsSource {
  currentTask(): Task | undefined;
  readonly addresses: KernelAddressVisibility;
}

/**
 * kernel.kptr_restrict (proc_dointvec_minmax_sysadmin): 0..2, written only with CAP_SYS_ADMIN. 0 is Linux's
 * default (Debian ships the same).
 */
export function registerKptrRestrict(sysctl: Sysctls): SysctlEntry {
  return sysctl.register('kernel.kptr_restrict', 0, (task, value) => {
    if (!hasCapability(task.group.cred, CAP.SYS_ADMIN)) return -Errno.EPERM;
    return value >= 0 && value <= 2 ? 0 : -Errno.EINVAL;
  });
}

/**
 * The /proc/kallsyms inode. kallsyms_open decides once, from the opener's credentials, whether addresses are
 * shown (kallsyms_show_value(file->f_cred)), and the text is a snapshot from then on, as seq_file reads it.
 */
export function procKallsymsInode(dev: number, source: ProcKallsymsSource): Inode {
  const ops: FileOperations = {
    ...snapshotFileOps,
    name: 'proc',
    open(file: File): number {
      file.privateData = new TextEncoder().encode(KALLSYMS.render(source.addresses.shownTo(source.currentTask())));
      return 0;
    },
  };
  return new Inode(KALLSYMS_INO, S_IFREG | 0o444, 0, 0, dev, ops);
}
