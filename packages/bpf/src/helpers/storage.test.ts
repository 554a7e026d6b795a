/**
 * The storage helpers' implementations, called as the VM calls them (a HelperContext with the program's
 * arguments) with a hand-made HelperEnv whose mapAt knows the maps and whose current task is a test task:
 * bpf_task_storage_get/delete on the current task's task_struct, the owners this kernel has no object for
 * (inode, socket, cgroup) as NULL, bpf_get_local_storage on the run's cgroup storages, and the prototypes'
 * map types (check_map_func_compatibility's helper side) beside the maps' own lists.
 */
import type { Task } from '@ebpf-sim/kernel';
import type { HelperContext, HelperFn } from '@ebpf-sim/vm';
import { BPF_FUNC, BPF_MAP_F, BPF_MAP_TYPE, Errno, type BpfFuncName } from '@ebpf-sim/uapi';
import { describe, expect, it } from 'vitest';
import { mapDesc } from '../maps.js';
import { BPF_LOCAL_STORAGE_GET_F_CREATE } from '../maps/bpf_local_storage.js';
import type { CgroupStorageMap } from '../maps/local_storage.js';
import type { BpfMap, MapAttr } from '../maps/map.js';
import { createMap } from '../maps/registry.js';
import { idleRunState, type HelperEnv } from '../runtime/env.js';
import { mapTestEnv, u32le } from '../testing/map-env.js';
import { HELPERS } from './index.js';

const TASK_STRUCT = 0x2000_0000;

function setup(attrs: Readonly<Record<number, MapAttr>>) {
  const menv = mapTestEnv({ nrCpus: 2 });
  const task = { pid: 7, kernelAddress: TASK_STRUCT } as unknown as Task;
  const maps = new Map<number, BpfMap>();
  for (const [address, attr] of Object.entries(attrs)) {
    const map = createMap(attr, { ...menv, taskOfUserKey: (pid) => (pid === 7 ? task : -Errno.ESRCH) });
    if (typeof map === 'number') throw new Error(`map at ${address}: ${map}`);
    maps.set(Number(address), map);
  }
  const run = idleRunState();
  const env = {
    k: { phys: menv.phys, current: { currentTask: () => task } },
    run,
    trace: { printk: () => undefined },
    mapAt: (address: number) => maps.get(address),
  } as unknown as HelperEnv;
  const call = (name: BpfFuncName, ...args: number[]): number => {
    const impl = HELPERS.get(BPF_FUNC[name])?.impl;
    if (impl === undefined) throw new Error(`${name} has no implementation`);
    const fn: HelperFn = impl(env);
    const ctx = {
      arg: (n: number) => BigInt(args[n - 1] ?? 0),
      argNumber: (n: number) => args[n - 1] ?? 0,
      argU32: (n: number) => (args[n - 1] ?? 0) >>> 0,
    } as unknown as HelperContext;
    return Number(fn(ctx) ?? 0);
  };
  return { menv, maps, run, call };
}

const LOCAL = { keySize: 4, valueSize: 8, maxEntries: 0, mapFlags: BPF_MAP_F.NO_PREALLOC, btfKeyTypeId: 1, btfValueTypeId: 2 } as const;

describe('storage helpers', () => {
  it("task_storage_get creates the current task's value (zeroed or from the initial value), user space sees it by the task", () => {
    const { menv, maps, call } = setup({ 0x100: { ...LOCAL, mapType: BPF_MAP_TYPE.TASK_STORAGE } });
    expect(call('task_storage_get', 0x100, TASK_STRUCT, 0, 0)).toBe(0);
    const init = menv.put(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const value = call('task_storage_get', 0x100, TASK_STRUCT, init, BPF_LOCAL_STORAGE_GET_F_CREATE);
    expect(value).not.toBe(0);
    expect(call('task_storage_get', 0x100, TASK_STRUCT, 0, 0)).toBe(value);
    // Unknown flags, and a task_struct that is not the current task's, give NULL.
    expect(call('task_storage_get', 0x100, TASK_STRUCT, 0, 2)).toBe(0);
    expect(call('task_storage_get', 0x100, TASK_STRUCT + 64, 0, BPF_LOCAL_STORAGE_GET_F_CREATE)).toBe(0);
    const out = new Uint8Array(8);
    expect(maps.get(0x100)!.lookupSys(u32le(7), out, 0)).toBe(0);
    expect([...out]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(call('task_storage_delete', 0x100, TASK_STRUCT)).toBe(0);
    expect(call('task_storage_delete', 0x100, TASK_STRUCT)).toBe(-Errno.ENOENT);
    expect(call('task_storage_delete', 0x100, 0)).toBe(-Errno.EINVAL);
  });

  it('inode, socket and cgroup owners are no object of this kernel: get is NULL, delete EINVAL', () => {
    const { call } = setup({
      0x100: { ...LOCAL, mapType: BPF_MAP_TYPE.INODE_STORAGE },
      0x200: { ...LOCAL, mapType: BPF_MAP_TYPE.SK_STORAGE },
      0x300: { ...LOCAL, mapType: BPF_MAP_TYPE.CGRP_STORAGE },
    });
    expect(call('inode_storage_get', 0x100, 0x5000, 0, BPF_LOCAL_STORAGE_GET_F_CREATE)).toBe(0);
    expect(call('sk_storage_get', 0x200, 0x5000, 0, BPF_LOCAL_STORAGE_GET_F_CREATE)).toBe(0);
    expect(call('cgrp_storage_get', 0x300, 0x5000, 0, BPF_LOCAL_STORAGE_GET_F_CREATE)).toBe(0);
    expect(call('inode_storage_delete', 0x100, 0x5000)).toBe(-Errno.EINVAL);
    expect(call('sk_storage_delete', 0x200, 0x5000)).toBe(-Errno.EINVAL);
    expect(call('cgrp_storage_delete', 0x300, 0x5000)).toBe(-Errno.EINVAL);
  });

  it("get_local_storage gives the run's storage: the buffer, or this CPU's slot of a per-CPU one", () => {
    const cg = { keySize: 16, valueSize: 12, maxEntries: 0, mapFlags: 0 } as const;
    const { maps, run, call } = setup({
      0x100: { ...cg, mapType: BPF_MAP_TYPE.CGROUP_STORAGE },
      0x200: { ...cg, mapType: BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE },
    });
    const shared = maps.get(0x100) as CgroupStorageMap;
    const percpu = maps.get(0x200) as CgroupStorageMap;
    expect(call('get_local_storage', 0x100, 0)).toBe(0);
    const a = shared.allocStorage()!;
    const b = percpu.allocStorage()!;
    run.cgroupStorages[0] = a;
    run.cgroupStorages[1] = b;
    expect(call('get_local_storage', 0x100, 0)).toBe(a.address);
    expect(call('get_local_storage', 0x200, 0)).toBe(b.address);
    run.cpu = 1;
    expect(call('get_local_storage', 0x200, 0)).toBe(b.address + 16);
    expect(call('get_local_storage', 0x100, 0)).toBe(a.address);
    shared.freeStorage(a);
    percpu.freeStorage(b);
  });

  it('each storage map type and its helpers name each other (both sides of check_map_func_compatibility)', () => {
    const pairs: ReadonlyArray<[string, readonly BpfFuncName[]]> = [
      ['sk_storage', ['sk_storage_get', 'sk_storage_delete']],
      ['inode_storage', ['inode_storage_get', 'inode_storage_delete']],
      ['task_storage', ['task_storage_get', 'task_storage_delete']],
      ['cgrp_storage', ['cgrp_storage_get', 'cgrp_storage_delete']],
      ['cgroup_storage', ['get_local_storage']],
      ['percpu_cgroup_storage', ['get_local_storage']],
      ['user_ringbuf', ['user_ringbuf_drain']],
    ];
    for (const [type, helpers] of pairs) {
      const desc = mapDesc({ name: 'm', type, keySize: 4, valueSize: 8, maxEntries: 0 });
      expect(desc.allowedHelpers).toEqual(helpers.map((name) => BPF_FUNC[name]));
      for (const name of helpers) expect(HELPERS.get(BPF_FUNC[name])?.mapTypes, name).toContain(type);
    }
  });
});
