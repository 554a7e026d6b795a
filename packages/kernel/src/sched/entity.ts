import type { HeapItem } from '../lib/heap.js';

/**
 * The scheduling state of one task (Linux's sched_entity plus the statistics the kernel measures). Policies
 * may use any field; the kernel maintains the statistics.
 */
export interface SchedEntity extends HeapItem {
  /** Weighted virtual runtime (fair policies), ns. */
  vruntime: number;
  /** Load weight from sched_prio_to_weight[nice + 20]. */
  weight: number;
  /** Runtime since the task was last picked, ns (time-slice policies). */
  sliceUsed: number;
  /** Total CPU time, ns (sum_exec_runtime). */
  sumExec: number;
  /** Virtual time the task last became runnable (for run-queue latency). */
  enqueuedAt: number;
  /** Sum and maximum of run-queue latency (runnable to running), ns. */
  waitSum: number;
  waitMax: number;
  /** Times the task was switched in. */
  runCount: number;
  /** Switches out while still runnable (preempted) and while blocking. */
  involuntarySwitches: number;
  voluntarySwitches: number;
  /** Tie-breaker assigned at enqueue so equal keys order by arrival, deterministically. */
  seq: number;
}

export function newSchedEntity(weight: number): SchedEntity {
  return {
    heapIndex: -1,
    vruntime: 0,
    weight,
    sliceUsed: 0,
    sumExec: 0,
    enqueuedAt: 0,
    waitSum: 0,
    waitMax: 0,
    runCount: 0,
    involuntarySwitches: 0,
    voluntarySwitches: 0,
    seq: 0,
  };
}
