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

  add(sleeper: Sleeper): void {
    if (!this.sleepers.includes(sleeper)) this.sleepers.push(sleeper);
  }

  get length(): number {
    return this.sleepers.length;
  }

  wakeAll(): void {
    if (this.sleepers.length === 0) return;
    const sleepers = this.sleepers;
    this.sleepers = [];
    for (const sleeper of sleepers) sleeper.wake();
  }
}
