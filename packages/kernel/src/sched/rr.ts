import { FifoScheduler } from './fifo.js';
import type { SchedTask } from './scheduler.js';

/** Linux's RR_TIMESLICE: 100 ms. */
export const RR_TIMESLICE_NS = 100_000_000;

/**
 * SCHED_RR-like: FIFO order with a time slice; a task that used its slice goes to the tail at the next tick.
 * Option `sliceNs` sets the slice.
 */
export class RoundRobinScheduler extends FifoScheduler {
  override readonly name: string = 'rr';

  constructor(private readonly sliceNs = RR_TIMESLICE_NS) {
    super();
  }

  override tick(cpu: number, curr: SchedTask): boolean {
    return curr.se.sliceUsed >= this.sliceNs && this.queued(cpu) > 0;
  }
}
