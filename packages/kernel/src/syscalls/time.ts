import { CLOCK, Errno, GRND, TIMESPEC } from '@ebpf-sim/uapi';
import { BLOCKED } from '../sched/wait.js';
import type { KernelInternals } from '../services.js';
import type { Task } from '../task/task.js';
import type { SyscallTable } from './table.js';

/** What the time syscalls use: the clock, the scheduler (sleeping, CPU-time accounting) and the PRNG. */
export type TimeSyscallServices = Pick<KernelInternals, 'clock' | 'sched' | 'random'>;

const timespec = new Uint8Array(TIMESPEC.size);
const timespecView = new DataView(timespec.buffer);

/** nanosleep: validate the timespec, sleep until the deadline (kept in `progress` across the restart). */
function sysNanosleep(k: TimeSyscallServices, task: Task, rqtp: number): number {
  if (task.progress !== 0) {
    if (k.clock.now >= task.progress - 1) return 0;
    k.sched.sleepUntil(task, task.progress - 1);
    return BLOCKED;
  }
  if (!task.group.mm.copyFromUser(rqtp, timespec, 0, TIMESPEC.size)) return -Errno.EFAULT;
  const seconds = timespecView.getInt32(TIMESPEC.tv_sec + 4, true) * 0x1_0000_0000 + timespecView.getUint32(TIMESPEC.tv_sec, true);
  const nanos = timespecView.getInt32(TIMESPEC.tv_nsec + 4, true) * 0x1_0000_0000 + timespecView.getUint32(TIMESPEC.tv_nsec, true);
  if (seconds < 0 || nanos < 0 || nanos > 999_999_999) return -Errno.EINVAL;
  const duration = seconds * 1e9 + nanos;
  if (duration === 0) return 0;
  const deadline = k.clock.now + duration;
  // progress holds deadline + 1 so that a deadline of 0 is distinguishable from "not started".
  task.progress = deadline + 1;
  k.sched.sleepUntil(task, deadline);
  return BLOCKED;
}

function writeTimespec(task: Task, address: number, ns: number): number {
  timespecView.setUint32(TIMESPEC.tv_sec, Math.floor(ns / 1e9) >>> 0, true);
  timespecView.setUint32(TIMESPEC.tv_sec + 4, Math.floor(ns / 1e9 / 0x1_0000_0000), true);
  timespecView.setUint32(TIMESPEC.tv_nsec, ns % 1e9, true);
  timespecView.setUint32(TIMESPEC.tv_nsec + 4, 0, true);
  return task.group.mm.copyToUser(address, timespec, 0, TIMESPEC.size) ? 0 : -Errno.EFAULT;
}

function sysClockGettime(k: TimeSyscallServices, task: Task, which: number, tp: number): number {
  const cpu = k.sched.cpus[task.cpu];
  if (cpu !== undefined && cpu.curr === task) k.sched.updateCurr(cpu);
  switch (which) {
    case CLOCK.REALTIME:
    case CLOCK.MONOTONIC:
    case CLOCK.MONOTONIC_RAW:
    case CLOCK.BOOTTIME:
      // Virtual time starts at 0 at boot; the realtime clock is the same (the epoch is the boot).
      return writeTimespec(task, tp, k.clock.now);
    case CLOCK.PROCESS_CPUTIME_ID:
      return writeTimespec(task, tp, task.group.deadThreadsCpuNs + task.group.threads.reduce((n, t) => n + (t.state === 4 ? 0 : t.se.sumExec), 0));
    case CLOCK.THREAD_CPUTIME_ID:
      return writeTimespec(task, tp, task.se.sumExec);
    default:
      return -Errno.EINVAL;
  }
}

function sysGetrandom(k: TimeSyscallServices, task: Task, buf: number, count: number, flags: number): number {
  if ((flags & (GRND.INSECURE | GRND.RANDOM)) === (GRND.INSECURE | GRND.RANDOM)) return -Errno.EINVAL;
  // Linux caps one call at 32 MiB - 1 (the entropy pool is never blocking here: seeded PRNG).
  const n = Math.min(count, 33554431);
  if (n === 0) return 0;
  const bytes = new Uint8Array(n);
  k.random.fill(bytes);
  return task.group.mm.copyToUser(buf, bytes, 0, n) ? n : -Errno.EFAULT;
}

export function registerTimeSyscalls(table: SyscallTable, k: TimeSyscallServices): void {
  table.register('nanosleep', (t, rqtp) => sysNanosleep(k, t, rqtp));
  table.register('clock_gettime', (t, which, tp) => sysClockGettime(k, t, which, tp));
  table.register('getrandom', (t, buf, count, flags) => sysGetrandom(k, t, buf, count, flags));
}
