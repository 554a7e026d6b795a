/**
 * The current task's cgroup (kernel/bpf/helpers.c): bpf_get_current_cgroup_id and
 * bpf_get_current_ancestor_cgroup_id answer from the cgroup v2 cgroup the task is in (task_dfl_cgroup), its id
 * being its cgroupfs directory's inode number (cgroup_id). With no task on the CPU, current is the idle task,
 * which is in the root cgroup: id 1, as on Linux.
 */
import type { HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';

/** The root cgroup's id (kernfs gives the hierarchy's root directory inode 1). */
const ROOT_CGROUP_ID = 1;

/** bpf_get_current_cgroup_id: cgroup_id(task_dfl_cgroup(current)). */
const getCurrentCgroupId: HelperImpl = (env) => () => env.k.current.currentTask()?.cgroup?.id ?? ROOT_CGROUP_ID;

/** bpf_get_current_ancestor_cgroup_id(level): the id of the ancestor at `level` (0: the root), 0 below the task's cgroup (cgroup_ancestor). */
const getCurrentAncestorCgroupId: HelperImpl = (env) => (ctx) => {
  const level = ctx.argU32(1) | 0;
  const cgroup = env.k.current.currentTask()?.cgroup;
  if (cgroup === undefined) return level === 0 ? ROOT_CGROUP_ID : 0;
  return cgroup.ancestor(level)?.id ?? 0;
};

export const CGROUP_HELPERS: readonly BpfHelper[] = [
  helper('get_current_cgroup_id', { ret: 'integer', args: [] }, getCurrentCgroupId),
  helper('get_current_ancestor_cgroup_id', { ret: 'integer', args: ['anything'] }, getCurrentAncestorCgroupId),
];
