/**
 * BPF_MAP_TYPE_TASK_STORAGE, as Linux's kernel/bpf/bpf_task_storage.c over bpf_local_storage.c (see
 * bpf_local_storage.ts): one value per task, freed with the task.
 *
 * User space names a task by a pidfd in Linux (pidfd_get_pid: EBADF for any other fd). This kernel has no
 * pidfd_open yet, so the key goes through `MapEnv.taskOfUserKey`, which the syscall provides when the kernel
 * has pidfds; without a resolver every user-space key is EBADF, which is what Linux answers for an fd that is
 * not a pidfd (fixtures/storage: /dev/null and a closed fd both EBADF).
 */
import type { Task } from '@ebpf-sim/kernel';
import { BPF_MAP_TYPE, Errno } from '@ebpf-sim/uapi';
import { defineMapOps, type MapAttr, type MapEnv, type MapOps } from './map.js';
import { LocalStorageMap, keyFd, localStorageAllocCheck } from './bpf_local_storage.js';

export { BPF_LOCAL_STORAGE_GET_F_CREATE, LOCAL_STORAGE_MAX_VALUE_SIZE } from './bpf_local_storage.js';

export class TaskStorageMap extends LocalStorageMap<Task> {
  private readonly taskOfUserKey: MapEnv['taskOfUserKey'];

  constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string) {
    super(ops, attr, env, owner);
    this.taskOfUserKey = env.taskOfUserKey;
  }

  protected ownerOfUserKey(key: Uint8Array, keyOff: number): Task | number {
    const resolve = this.taskOfUserKey;
    return resolve === undefined ? -Errno.EBADF : resolve(keyFd(key, keyOff));
  }

  /** bpf_task_storage_free for this map: the task is gone, and its value with it. */
  taskExited(task: Task): void {
    this.ownerGone(task);
  }
}

export const TASK_STORAGE_OPS = defineMapOps(
  BPF_MAP_TYPE.TASK_STORAGE,
  'task_storage',
  true,
  localStorageAllocCheck,
  (ops, attr, env, owner) => new TaskStorageMap(ops, attr, env, owner),
);
