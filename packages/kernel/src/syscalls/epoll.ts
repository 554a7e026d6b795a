import {
  EPOLL,
  EPOLL_CLOEXEC,
  EPOLL_CTL,
  EPOLL_EVENT,
  EPOLLEXCLUSIVE_OK_BITS,
  EP_MAX_EVENTS,
  EP_MAX_NESTS,
  Errno,
  KERNEL_SIGSET_SIZE,
  O,
  PROT,
} from '@ebpf-sim/uapi';
import { EventPoll, epollOf, eventpollFileOps } from '../fs/eventpoll.js';
import { BLOCKED } from '../sched/wait.js';
import type { KernelInternals } from '../services.js';
import type { Task } from '../task/task.js';
import type { SyscallTable } from './table.js';

/** What the epoll syscalls use: anon-inode fds, the scheduler (sleeping), the clock (timeouts). */
export type EpollSyscallServices = Pick<KernelInternals, 'fds' | 'sched' | 'clock'>;

const eventBytes = new Uint8Array(EPOLL_EVENT.size);
const eventView = new DataView(eventBytes.buffer);
const sigset = new Uint8Array(KERNEL_SIGSET_SIZE);

/** do_epoll_create: a new `anon_inode:[eventpoll]` fd; EINVAL for flags other than EPOLL_CLOEXEC (the entry checks them). */
function epollCreate(k: EpollSyscallServices, task: Task, flags: number): number {
  const ep = new EventPoll();
  const fd = k.fds.installFd(task, '[eventpoll]', eventpollFileOps, ep, O.RDWR | ((flags & EPOLL_CLOEXEC) !== 0 ? O.CLOEXEC : 0));
  if (fd >= 0) ep.file = k.fds.fdget(task, fd);
  return fd;
}

/** do_epoll_ctl, with its checks in Linux's order. */
function epollCtl(task: Task, epfd: number, op: number, fd: number, event: number): number {
  const hasEvent = op !== EPOLL_CTL.DEL;
  let events = 0;
  let dataLo = 0;
  let dataHi = 0;
  if (hasEvent) {
    if (!task.group.mm.copyFromUser(event, eventBytes, 0, EPOLL_EVENT.size)) return -Errno.EFAULT;
    events = eventView.getUint32(EPOLL_EVENT.events, true);
    dataLo = eventView.getUint32(EPOLL_EVENT.data, true);
    dataHi = eventView.getUint32(EPOLL_EVENT.data + 4, true);
  }
  const files = task.group.files;
  const file = files.get(epfd);
  if (file === undefined) return -Errno.EBADF;
  const target = files.get(fd);
  if (target === undefined) return -Errno.EBADF;
  if (target.ops.poll === undefined) return -Errno.EPERM;
  // ep_take_care_of_epollwakeup: without suspend (CONFIG_PM_SLEEP) EPOLLWAKEUP is dropped silently.
  if (hasEvent) events = (events & ~EPOLL.WAKEUP) >>> 0;
  const ep = epollOf(file);
  if (file === target || ep === undefined) return -Errno.EINVAL;
  const targetEp = epollOf(target);
  if (hasEvent && (events & EPOLL.EXCLUSIVE) !== 0) {
    if (op === EPOLL_CTL.MOD) return -Errno.EINVAL;
    if (op === EPOLL_CTL.ADD && (targetEp !== undefined || (events & ~EPOLLEXCLUSIVE_OK_BITS) !== 0)) return -Errno.EINVAL;
  }
  // ep_loop_check: adding an epoll instance must not close a loop nor nest deeper than EP_MAX_NESTS.
  if (op === EPOLL_CTL.ADD && targetEp !== undefined) {
    const below = targetEp.depthBelow(ep);
    if (below > EP_MAX_NESTS || below + 1 + ep.depthAbove() > EP_MAX_NESTS) return -Errno.ELOOP;
  }
  const item = ep.find(target, fd);
  const always = EPOLL.ERR | EPOLL.HUP;
  switch (op) {
    case EPOLL_CTL.ADD:
      return item === undefined ? ep.insert(target, fd, (events | always) >>> 0, dataLo, dataHi) : -Errno.EEXIST;
    case EPOLL_CTL.DEL:
      if (item === undefined) return -Errno.ENOENT;
      ep.remove(item);
      return 0;
    case EPOLL_CTL.MOD:
      if (item === undefined) return -Errno.ENOENT;
      // An EPOLLEXCLUSIVE item cannot be modified (the error stays EINVAL).
      return (item.events & EPOLL.EXCLUSIVE) !== 0 ? -Errno.EINVAL : ep.modify(item, (events | always) >>> 0, dataLo, dataHi);
    default:
      return -Errno.EINVAL;
  }
}

/**
 * do_epoll_wait + ep_poll. The handler re-runs after each wake-up (the restart model of sched/wait.ts), so
 * the deadline of a finite timeout is kept in `task.progress` (deadline + 1; -1 for no timeout).
 */
function epollWait(k: EpollSyscallServices, task: Task, epfd: number, events: number, maxEvents: number, timeoutMs: number): number {
  const file = task.group.files.get(epfd);
  if (file === undefined) return -Errno.EBADF;
  if (maxEvents <= 0 || maxEvents > EP_MAX_EVENTS) return -Errno.EINVAL;
  const mm = task.group.mm;
  if (!mm.accessOk(events, maxEvents * EPOLL_EVENT.size, PROT.WRITE)) return -Errno.EFAULT;
  const ep = epollOf(file);
  if (ep === undefined) return -Errno.EINVAL;
  const now = k.clock.now;
  if (task.progress === 0 && timeoutMs !== 0) task.progress = timeoutMs < 0 ? -1 : now + timeoutMs * 1e6 + 1;
  const sent = ep.sendEvents(mm, events, maxEvents);
  if (sent !== 0 || timeoutMs === 0) return sent;
  const deadline = task.progress - 1;
  if (task.progress > 0 && now >= deadline) return 0;
  k.sched.sleepOn(task, ep.wq);
  if (task.progress > 0) k.sched.sleepUntil(task, deadline);
  return BLOCKED;
}

/**
 * epoll_pwait: set_user_sigmask's checks (sigsetsize must be sizeof(sigset_t), the set readable), then the
 * wait. This kernel has no blocked-signal masks (signals that are not fatal are not delivered while a task
 * sleeps), so the set is checked and not applied.
 */
function epollPwait(
  k: EpollSyscallServices,
  task: Task,
  epfd: number,
  events: number,
  maxEvents: number,
  timeoutMs: number,
  sigmask: number,
  sigsetsize: number,
): number {
  if (sigmask !== 0 && task.progress === 0) {
    if (sigsetsize !== KERNEL_SIGSET_SIZE) return -Errno.EINVAL;
    if (!task.group.mm.copyFromUser(sigmask, sigset, 0, KERNEL_SIGSET_SIZE)) return -Errno.EFAULT;
  }
  return epollWait(k, task, epfd, events, maxEvents, timeoutMs);
}

export function registerEpollSyscalls(table: SyscallTable, k: EpollSyscallServices): void {
  table.register('epoll_create1', (t, flags) => epollCreate(k, t, flags));
  table.register('epoll_create', (t, size) => (size <= 0 ? -Errno.EINVAL : epollCreate(k, t, 0)));
  table.register('epoll_ctl', (t, epfd, op, fd, event) => epollCtl(t, epfd, op, fd, event));
  table.register('epoll_wait', (t, epfd, events, maxEvents, timeout) => epollWait(k, t, epfd, events, maxEvents, timeout));
  table.register('epoll_pwait', (t, epfd, events, maxEvents, timeout, sigmask, sigsetsize) =>
    epollPwait(k, t, epfd, events, maxEvents, timeout, sigmask, sigsetsize),
  );
}
