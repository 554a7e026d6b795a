import type { KernelTime } from '../services.js';

/**
 * irq_work: a callback queued from a context that cannot do the work itself (a BPF program committing a ring
 * buffer record must not take the wait-queue lock), run once the current work is over. Here: an event at the
 * current virtual time, after the one running, so a program's wake-up happens after the program returns.
 * Queueing again before it ran does nothing (irq_work_queue's claim), so a burst of records costs one event.
 */
export class IrqWork {
  private pending = false;
  private readonly run = (): void => {
    this.pending = false;
    this.work();
  };

  constructor(
    private readonly clock: Pick<KernelTime, 'now' | 'at'>,
    private readonly work: () => void,
  ) {}

  /** irq_work_queue: false when it was already queued. */
  queue(): boolean {
    if (this.pending) return false;
    this.pending = true;
    this.clock.at(this.clock.now, this.run);
    return true;
  }

  get isPending(): boolean {
    return this.pending;
  }
}
