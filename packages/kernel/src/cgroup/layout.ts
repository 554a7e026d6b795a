/**
 * The cgroup structs programs read through BTF (include/linux/kernfs.h, include/linux/cgroup-defs.h): Linux's
 * names and C types for the members tracing programs use (`cgrp->kn->id`, `cgrp->level`, `cgrp->self.cgroup`),
 * this kernel's layouts (see task/layout.ts: offsets are not ABI). Each cgroup has both objects in kernel
 * memory, kept current by cgroup.ts, so tp_btf/cgroup_mkdir programs and bpf_cgrp_storage_get see them.
 */
import { KERNEL_TYPES } from '../task/layout.js';

const T = KERNEL_TYPES;

/** struct kernfs_node: the directory of a cgroup in cgroupfs; `id` is its inode number (kernfs_ino on 64-bit). */
export const KERNFS_NODE = T.struct('kernfs_node', [
  ['count', 'atomic_t'],
  ['active', 'atomic_t'],
  ['parent', 'struct kernfs_node *'],
  ['name', 'const char *'],
  ['id', 'u64'],
  ['flags', 'unsigned short'],
  ['mode', 'umode_t'],
]);

/** struct cgroup_subsys_state: the css every controller (and the cgroup itself, `self`) embeds. */
export const CGROUP_SUBSYS_STATE = T.struct('cgroup_subsys_state', [
  ['cgroup', 'struct cgroup *'],
  ['parent', 'struct cgroup_subsys_state *'],
  ['id', 'int'],
  ['flags', 'unsigned int'],
]);

/** struct cgroup (the fields this model keeps; `level` is the depth, the root's 0). */
export const CGROUP_STRUCT = T.struct('cgroup', [
  ['self', 'struct cgroup_subsys_state'],
  ['flags', 'unsigned long'],
  ['level', 'int'],
  ['max_depth', 'int'],
  ['nr_descendants', 'int'],
  ['nr_dying_descendants', 'int'],
  ['max_descendants', 'int'],
  ['nr_populated_csets', 'int'],
  ['kn', 'struct kernfs_node *'],
]);
