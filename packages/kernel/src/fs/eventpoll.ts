/**
 * epoll (fs/eventpoll.c): an epoll instance is an anon-inode file `[eventpoll]` holding an interest set of
 * (file, fd) items and a ready list.
 *
 * As Linux does it: EPOLL_CTL_ADD calls the target's poll once with a poll table whose callback queues a
 * persistent entry on each wait queue the file announces readiness on (ep_ptable_queue_proc); a wake-up on
 * one of them runs the item's callback (ep_poll_callback), which puts the item on the ready list and wakes
 * the tasks in epoll_wait. epoll_wait then re-polls each ready item without a table (ep_item_poll) and
 * reports the events it asked for: a level-triggered item goes back on the ready list after being reported
 * (so the next epoll_wait polls it again), an edge-triggered one waits for the next wake-up, a one-shot one
 * is disabled until EPOLL_CTL_MOD. The last close of a watched file removes its items (eventpoll_release).
 *
 * Differences: wake-ups carry no key, so an item is queued on every wake-up of its queues and dropped at
 * epoll_wait when the poll shows none of its events (Linux filters by key first: same reports). Waiters are
 * all woken, not one exclusively: each re-checks, so the results are the same. EPOLLWAKEUP holds no wakeup
 * source (there is no suspend). max_user_watches is not enforced.
 */
import { EPOLL, EPOLL_EVENT, EP_MAX_NESTS, EP_PRIVATE_BITS, Errno } from '@ebpf-sim/uapi';
import { WaitQueue, type Sleeper } from '../sched/wait.js';
import type { UserCopy } from '../mm/user-memory.js';
import type { File, FileOperations, FileReleaseWatch, PollTable } from './file.js';

/** One watched (file, fd) pair (struct epitem). */
export class EpItem implements Sleeper, PollTable {
  /** On the ready list (ep_is_linked). */
  ready = false;
  /** The wait queues this item's entry is on (its eppoll_entry list). */
  private readonly queues: WaitQueue[] = [];

  constructor(
    readonly ep: EventPoll,
    readonly file: File,
    readonly fd: number,
    /** The requested events and flags (epi->event.events); only EP_PRIVATE_BITS once a one-shot fired. */
    public events: number,
    /** epoll_event.data, the low and high 32 bits. */
    public dataLo: number,
    public dataHi: number,
  ) {}

  /** ep_ptable_queue_proc: the file's poll names a queue; stay on it until the item goes. */
  wait(queue: WaitQueue): void {
    if (this.queues.includes(queue)) return;
    queue.watch(this);
    this.queues.push(queue);
  }

  /** ep_poll_callback. */
  wake(): void {
    this.ep.itemReady(this);
  }

  /** ep_item_poll without a table: the file's mask restricted to what the item asked for (ERR and HUP always). */
  poll(): number {
    const ops = this.file.ops;
    return ops.poll === undefined ? 0 : ops.poll(this.file, null) & this.events;
  }

  /** ep_unregister_pollwait. */
  unregister(): void {
    for (const queue of this.queues) queue.unwatch(this);
    this.queues.length = 0;
  }
}

/** The epoll instance (struct eventpoll). */
export class EventPoll implements FileReleaseWatch {
  /** The interest set, by file then fd (Linux's rbtree keyed by (file, fd)). */
  private readonly items = new Map<File, Map<number, EpItem>>();
  /** rdllist: items with events maybe ready, in the order they became so. */
  private readyList: EpItem[] = [];
  /** The other array of the pair ep_send_events swaps with the ready list (no allocation per wait). */
  private spareList: EpItem[] = [];
  /** Tasks in epoll_wait (ep->wq). */
  readonly wq = new WaitQueue();
  /** Pollers of the epoll file itself (ep->poll_wait): an epoll instance watching this one. */
  readonly pollWait = new WaitQueue();
  /** The epoll file (for the nesting depth check); set when installed. */
  file: File | undefined = undefined;
  private readonly event = new Uint8Array(EPOLL_EVENT.size);
  private readonly eventView = new DataView(this.event.buffer);

  /** ep_find. */
  find(file: File, fd: number): EpItem | undefined {
    return this.items.get(file)?.get(fd);
  }

  /** Items in the interest set. */
  get size(): number {
    let count = 0;
    for (const byFd of this.items.values()) count += byFd.size;
    return count;
  }

  /** ep_poll_callback's work: a disabled (fired one-shot) item stays quiet; otherwise queue it and wake waiters. */
  itemReady(item: EpItem): void {
    if ((item.events & ~EP_PRIVATE_BITS) === 0) return;
    if (!item.ready) {
      item.ready = true;
      this.readyList.push(item);
    }
    this.wq.wakeAll();
    this.pollWait.wakeAll();
  }

  /** ep_insert: register on the file's queues through its poll; ready at once if it already is. 0 or -errno. */
  insert(file: File, fd: number, events: number, dataLo: number, dataHi: number): number {
    const ops = file.ops;
    if (ops.poll === undefined) return -Errno.EPERM;
    const item = new EpItem(this, file, fd, events, dataLo, dataHi);
    let byFd = this.items.get(file);
    if (byFd === undefined) {
      byFd = new Map();
      this.items.set(file, byFd);
      (file.releaseWatches ??= []).push(this);
    }
    byFd.set(fd, item);
    const revents = ops.poll(file, item) & events;
    if (revents !== 0) this.itemReady(item);
    return 0;
  }

  /** ep_modify: new events and data, then a poll: ready now means queued now. */
  modify(item: EpItem, events: number, dataLo: number, dataHi: number): number {
    item.events = events;
    item.dataLo = dataLo;
    item.dataHi = dataHi;
    if (item.poll() !== 0) this.itemReady(item);
    return 0;
  }

  /** ep_remove. */
  remove(item: EpItem): void {
    item.unregister();
    if (item.ready) {
      item.ready = false;
      const index = this.readyList.indexOf(item);
      if (index >= 0) this.readyList.splice(index, 1);
    }
    const byFd = this.items.get(item.file);
    if (byFd === undefined) return;
    byFd.delete(item.fd);
    if (byFd.size === 0) {
      this.items.delete(item.file);
      const watches = item.file.releaseWatches;
      if (watches !== undefined) {
        const index = watches.indexOf(this);
        if (index >= 0) watches.splice(index, 1);
        if (watches.length === 0) item.file.releaseWatches = undefined;
      }
    }
  }

  /** eventpoll_release: `file`'s last reference went; its items leave the interest set. */
  fileReleased(file: File): void {
    const byFd = this.items.get(file);
    if (byFd === undefined) return;
    for (const item of [...byFd.values()]) this.remove(item);
  }

  /** ep_free: the epoll file itself went. */
  free(): void {
    for (const byFd of [...this.items.values()]) for (const item of [...byFd.values()]) this.remove(item);
    this.readyList.length = 0;
  }

  /**
   * ep_show_fdinfo: one `tfd:` line per item. Linux walks its rbtree, ordered by the files' addresses; here the
   * items come in the order they were added.
   */
  showFdinfo(): string {
    let out = '';
    for (const [file, byFd] of this.items) {
      for (const item of byFd.values()) {
        const data = (BigInt(item.dataHi) << 32n) | BigInt(item.dataLo);
        out +=
          `tfd: ${String(item.fd).padStart(8)} events: ${(item.events >>> 0).toString(16).padStart(8)} data: ${data.toString(16).padStart(16)} ` +
          ` pos:${file.pos} ino:${file.inode.ino.toString(16)} sdev:${file.inode.dev.toString(16)}\n`;
      }
    }
    return out;
  }

  /** The epoll instances directly in this one's interest set (for the loop check). */
  private *nested(): Generator<EventPoll> {
    for (const file of this.items.keys()) if (file.ops === eventpollFileOps) yield file.privateData as EventPoll;
  }

  /** ep_loop_check_proc: how deep epoll instances nest below this one; Infinity when `target` is among them. */
  depthBelow(target: EventPoll, level = 0): number {
    if (level > EP_MAX_NESTS) return Infinity;
    let depth = 0;
    for (const child of this.nested()) {
      if (child === target) return Infinity;
      depth = Math.max(depth, 1 + child.depthBelow(target, level + 1));
    }
    return depth;
  }

  /** ep_get_upwards_depth_proc: how deep this instance sits inside others. */
  depthAbove(level = 0): number {
    if (level > EP_MAX_NESTS) return Infinity;
    let depth = 0;
    for (const watch of this.file?.releaseWatches ?? []) if (watch instanceof EventPoll) depth = Math.max(depth, 1 + watch.depthAbove(level + 1));
    return depth;
  }

  /** ep_events_available, checked the way ep_eventpoll_poll does for a nested instance: some ready item has events. */
  hasEvents(): boolean {
    for (const item of this.readyList) if (item.poll() !== 0) return true;
    return false;
  }

  /**
   * ep_send_events: report up to `maxEvents` ready items into the user array at `address`, as Linux orders
   * them: items not reached stay first on the ready list, level-triggered ones reported go back after them.
   * The count, or -EFAULT when the first copy fails.
   */
  sendEvents(mm: UserCopy, address: number, maxEvents: number): number {
    const list = this.readyList;
    if (list.length === 0) return 0;
    this.readyList = this.spareList;
    let count = 0;
    let index = 0;
    const view = this.eventView;
    for (; index < list.length && count < maxEvents; index++) {
      const item = list[index] as EpItem;
      item.ready = false;
      const revents = item.poll();
      if (revents === 0) continue;
      view.setUint32(EPOLL_EVENT.events, revents >>> 0, true);
      view.setUint32(EPOLL_EVENT.data, item.dataLo, true);
      view.setUint32(EPOLL_EVENT.data + 4, item.dataHi, true);
      if (!mm.copyToUser(address + count * EPOLL_EVENT.size, this.event, 0, EPOLL_EVENT.size)) {
        // Put back at the head (list_add to txlist): it stays ready for a call with a better buffer.
        item.ready = true;
        if (count === 0) count = -Errno.EFAULT;
        break;
      }
      count++;
      if ((item.events & EPOLL.ONESHOT) !== 0) item.events &= EP_PRIVATE_BITS;
      else if ((item.events & EPOLL.ET) === 0) {
        item.ready = true;
        this.readyList.push(item);
      }
    }
    // list_splice(&txlist, &ep->rdllist): what was not reached goes back in front.
    if (index < list.length) this.readyList = list.slice(index).concat(this.readyList);
    list.length = 0;
    this.spareList = list;
    return count;
  }
}

/** The epoll file: poll reports EPOLLIN when one of its ready items has events (an epoll inside an epoll). */
export const eventpollFileOps: FileOperations = {
  name: 'eventpoll',
  poll(file: File, table: PollTable | null): number {
    const ep = file.privateData as EventPoll;
    table?.wait(ep.pollWait);
    return ep.hasEvents() ? EPOLL.IN | EPOLL.RDNORM : 0;
  },
  release(file: File): void {
    (file.privateData as EventPoll).free();
  },
  showFdinfo(file: File): string {
    return (file.privateData as EventPoll).showFdinfo();
  },
};

/** The epoll instance behind a file, or undefined (is_file_epoll). */
export function epollOf(file: File): EventPoll | undefined {
  return file.ops === eventpollFileOps ? (file.privateData as EventPoll) : undefined;
}
