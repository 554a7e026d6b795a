import { CFS_DEFAULTS, CfsScheduler } from './cfs.js';
import { FifoScheduler } from './fifo.js';
import { RoundRobinScheduler, RR_TIMESLICE_NS } from './rr.js';
import { SchedulerRegistry } from './scheduler.js';

/** A registry holding the shipped policies: fifo, rr (option sliceNs) and cfs (latencyNs, minGranularityNs, wakeupGranularityNs). */
export function defaultSchedulers(): SchedulerRegistry {
  const registry = new SchedulerRegistry();
  registry.register('fifo', () => new FifoScheduler());
  registry.register('rr', (options) => new RoundRobinScheduler(options.sliceNs ?? RR_TIMESLICE_NS));
  registry.register('cfs', (options) => new CfsScheduler({ ...CFS_DEFAULTS, ...options }));
  return registry;
}
