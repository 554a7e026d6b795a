/**
 * Returned by a syscall handler that put the calling task to sleep. The kernel re-runs the handler with the
 * same arguments when the task is woken (like -ERESTARTSYS restarts), so a handler blocks by checking its
 * condition, queueing the task and returning BLOCKED; user space never sees this value.
 */
export const BLOCKED = -(2 ** 40);
/** Returned by exit and a successful execve: there is no result to deliver to the old program. */
export const NO_RETURN = -(2 ** 41);

/** Something a task can sleep on; `wakeAll` makes every sleeper runnable (they re-check their condition). */
export interface Sleeper {
  wake(): void;
}

/** A wait queue (wait_queue_head_t): tasks sleeping until an event, such as data arriving in a pipe. */
export class WaitQueue {
  private sleepers: Sleeper[] = [];
  /**
   * Persistent entries (a wait_queue_entry with a callback, as epoll's ep_poll_callback): each wake-up calls
   * them and they stay queued until removed with `unwatch`, unlike sleepers, which a wake-up dequeues.
   */
  private watchers: Sleeper[] = [];

  add(sleeper: Sleeper): void {
    if (!this.sleepers.includes(sleeper)) this.sleepers.push(sleeper);
  }

  get length(): number {
    return this.sleepers.length;
  }

  /** Add a persistent entry (add_wait_queue with a wake function): called on every wake-up until unwatched. */
  watch(watcher: Sleeper): void {
    if (!this.watchers.includes(watcher)) this.watchers.push(watcher);
  }

  /** Remove a persistent entry (remove_wait_queue). */
  unwatch(watcher: Sleeper): void {
    const index = this.watchers.indexOf(watcher);
    if (index >= 0) this.watchers.splice(index, 1);
  }

  /** Persistent entries queued (epoll items watching). */
  get watching(): number {
    return this.watchers.length;
  }

  wakeAll(): void {
    // Indexed loop, no copy: a watcher's callback only marks its item ready, it never unwatches during the call.
    for (let index = 0; index < this.watchers.length; index++) (this.watchers[index] as Sleeper).wake();
    if (this.sleepers.length === 0) return;
    const sleepers = this.sleepers;
    this.sleepers = [];
    for (const sleeper of sleepers) sleeper.wake();
  }
}
