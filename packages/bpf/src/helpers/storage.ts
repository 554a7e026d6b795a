/**
 * The storage helpers, as Linux 6.18 defines them: bpf_get_local_storage (kernel/bpf/helpers.c, the cgroup
 * storages of local_storage.c), bpf_sk_storage_get/delete (net/core/bpf_sk_storage.c),
 * bpf_inode_storage_get/delete (bpf_inode_storage.c), bpf_task_storage_get/delete (bpf_task_storage.c),
 * bpf_cgrp_storage_get/delete (bpf_cgrp_storage.c).
 * Each prototype names the map types it takes (`mapTypes`, the helper side of check_map_func_compatibility;
 * maps.ts has the map side).
 *
 * Owners: a program names a task, inode, socket or cgroup by a BTF pointer. This kernel keeps a task_struct in
 * memory for every task, so a task pointer that is the current task's resolves to it (the storage helpers'
 * usual argument, bpf_get_current_task_btf); a struct cgroup pointer names its cgroup (the CGRP_STORAGE map
 * resolves it); it has no struct inode or sock a program could point at (the LSM hooks hand views), so any other
 * pointer names no owner and is what Linux does with NULL: the get returns NULL, the delete -EINVAL.
 *
 * bpf_user_ringbuf_drain (its ring side is UserRingBufMap.drain) runs a callback: it is in callbacks.ts.
 */
import { BPF_MAP_TYPE } from '@ebpf-sim/uapi';
import type { Task } from '@ebpf-sim/kernel';
import type { HelperContext } from '@ebpf-sim/vm';
import type { LocalStorageMap } from '../maps/bpf_local_storage.js';
import type { CgroupStorageMap } from '../maps/local_storage.js';
import type { CgrpStorageMap } from '../maps/bpf_cgrp_storage.js';
import type { HelperEnv, HelperImpl } from '../runtime/env.js';
import { helper, type BpfHelper } from './define.js';
import { SK_STORAGE_DELETE, SK_STORAGE_GET } from './sock.js';

/** The local storage map types (bpf_local_storage.ts), which the *_storage_get/delete helpers take. */
const LOCAL_STORAGE_TYPES: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE.SK_STORAGE,
  BPF_MAP_TYPE.INODE_STORAGE,
  BPF_MAP_TYPE.TASK_STORAGE,
  BPF_MAP_TYPE.CGRP_STORAGE,
]);

/**
 * The storage map a program names in r1 (the verifier allows only the helper's map types there), or undefined.
 * By type number, not instanceof: the helpers do not import the map classes (maps import the helper tables).
 */
function storageMapArg(env: HelperEnv, ctx: HelperContext): LocalStorageMap<unknown> | undefined {
  const map = env.mapAt(ctx.argNumber(1));
  return map !== undefined && LOCAL_STORAGE_TYPES.has(map.type) ? (map as LocalStorageMap<unknown>) : undefined;
}

/** The u64 flags as the map takes them: the low 32 bits, or all ones (an unknown flag) when the high half is set. */
const flagsArg = (ctx: HelperContext, n: number): number => (ctx.argNumber(n) > 0xffffffff ? 0xffffffff : ctx.argU32(n));

/** The task a program's task_struct pointer names: the current task's (see the file comment), else none. */
function taskAt(env: HelperEnv, address: number): Task | undefined {
  const task = env.k.current.currentTask();
  return task !== undefined && address !== 0 && task.kernelAddress === address ? task : undefined;
}

/** bpf_*_storage_get(map, owner, value, flags) for an owner resolved by `ownerAt`. */
const storageGet =
  (ownerAt: (env: HelperEnv, address: number) => unknown): HelperImpl =>
  (env) =>
  (ctx) =>
    storageMapArg(env, ctx)?.storageGet(ownerAt(env, ctx.argNumber(2)), ctx.argNumber(3), flagsArg(ctx, 4)) ?? 0;

/** bpf_*_storage_delete(map, owner): 0, -ENOENT, or -EINVAL for no owner. */
const storageDelete =
  (ownerAt: (env: HelperEnv, address: number) => unknown): HelperImpl =>
  (env) =>
  (ctx) =>
    storageMapArg(env, ctx)?.storageDelete(ownerAt(env, ctx.argNumber(2))) ?? 0;

/** The CGRP_STORAGE map in r1 (the verifier allows no other there), which resolves struct cgroup pointers. */
const cgrpMapArg = (env: HelperEnv, ctx: HelperContext): CgrpStorageMap | undefined => {
  const map = env.mapAt(ctx.argNumber(1));
  return map?.type === BPF_MAP_TYPE.CGRP_STORAGE ? (map as CgrpStorageMap) : undefined;
};

/** bpf_cgrp_storage_get(map, cgroup, value, flags): the cgroup's struct (a BTF pointer) names the owner. */
const cgrpStorageGet: HelperImpl = (env) => (ctx) => {
  const map = cgrpMapArg(env, ctx);
  return map?.storageGet(map.ownerAt(ctx.argNumber(2)), ctx.argNumber(3), flagsArg(ctx, 4)) ?? 0;
};

/** bpf_cgrp_storage_delete(map, cgroup). */
const cgrpStorageDelete: HelperImpl = (env) => (ctx) => {
  const map = cgrpMapArg(env, ctx);
  return map?.storageDelete(map.ownerAt(ctx.argNumber(2))) ?? 0;
};

/** No object of this kind lives in this kernel's memory: every pointer names no owner. */
const noOwner = (): undefined => undefined;

/**
 * bpf_get_local_storage(map, flags): the run's storage of the map's type (its buffer, or this CPU's slot of a
 * per-CPU one). Outside a cgroup hook or test run there is none and the answer is 0; Linux never runs such a
 * program elsewhere, and here its access through the pointer faults on the null page instead of passing.
 */
const getLocalStorage: HelperImpl = (env) => (ctx) => {
  const found = env.mapAt(ctx.argNumber(1));
  if (found?.type !== BPF_MAP_TYPE.CGROUP_STORAGE && found?.type !== BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE) return 0;
  const map = found as CgroupStorageMap;
  const storage = env.run.cgroupStorages[map.type === BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE ? 1 : 0];
  return storage === null ? 0 : map.valueOn(storage, env.run.cpu);
};

/** The prototype of a *_storage_get: (map, owner, value or NULL, flags) → the value or NULL. */
const getProto = (mapType: string, owner: 'ptr_to_btf_id_or_null' | 'ptr_to_btf_id_sock_common') =>
  ({ ret: 'ptr_to_map_value_or_null', args: ['const_map_ptr', owner, 'ptr_to_map_value_or_null', 'anything'], mapTypes: [mapType] }) as const;
/** The prototype of a *_storage_delete: (map, owner) → 0 or -errno. */
const deleteProto = (mapType: string, owner: 'ptr_to_btf_id_or_null' | 'ptr_to_btf_id_sock_common') =>
  ({ ret: 'integer', args: ['const_map_ptr', owner], mapTypes: [mapType] }) as const;

export const STORAGE_HELPERS: readonly BpfHelper[] = [
  helper(
    'get_local_storage',
    { ret: 'ptr_to_map_value', args: ['const_map_ptr', 'anything'], mapTypes: ['cgroup_storage', 'percpu_cgroup_storage'] },
    getLocalStorage,
  ),
  // The socket a pointer names resolves through the map (helpers/sock.ts).
  helper('sk_storage_get', getProto('sk_storage', 'ptr_to_btf_id_sock_common'), SK_STORAGE_GET),
  helper('sk_storage_delete', deleteProto('sk_storage', 'ptr_to_btf_id_sock_common'), SK_STORAGE_DELETE),
  helper('inode_storage_get', getProto('inode_storage', 'ptr_to_btf_id_or_null'), storageGet(noOwner)),
  helper('inode_storage_delete', deleteProto('inode_storage', 'ptr_to_btf_id_or_null'), storageDelete(noOwner)),
  helper('task_storage_get', getProto('task_storage', 'ptr_to_btf_id_or_null'), storageGet(taskAt)),
  helper('task_storage_delete', deleteProto('task_storage', 'ptr_to_btf_id_or_null'), storageDelete(taskAt)),
  helper('cgrp_storage_get', getProto('cgrp_storage', 'ptr_to_btf_id_or_null'), cgrpStorageGet),
  helper('cgrp_storage_delete', deleteProto('cgrp_storage', 'ptr_to_btf_id_or_null'), cgrpStorageDelete),
];
