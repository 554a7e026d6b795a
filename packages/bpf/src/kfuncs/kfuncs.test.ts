import { BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import type { HelperContext } from '@ebpf-sim/vm';
import { describe, expect, it } from 'vitest';
import { helperRig } from '../testing/helper-rig.js';
import { KFUNCS, kfuncAllowed, kfuncByName, type BpfKfunc } from './index.js';

function named(name: string): BpfKfunc {
  const k = kfuncByName(name);
  if (k === undefined) throw new Error(`no kfunc ${name}`);
  return k;
}

/** Call kfunc `name`'s implementation with `args` on a booted kernel's memory. */
/** The rig's kernel runs no task: the task kfuncs see `tasks`, pid 7's task_struct at 0x1000. */
const TASKS = new Map([[7, { kernelAddress: 0x1000 }]]);

function caller(): { call(name: string, ...args: number[]): bigint; alloc(size: number): number; view(): DataView } {
  const rig = helperRig();
  const env = { ...rig.env, tasks: TASKS };
  return {
    call(name, ...args) {
      const arg = (n: number): bigint => BigInt.asUintN(64, BigInt(args[n - 1] ?? 0));
      const ctx: HelperContext = {
        mem: rig.vm.mem,
        pc: 0,
        arg,
        argNumber: (n) => Number(arg(n)),
        argU32: (n) => Number(arg(n) & 0xffffffffn),
        requestExit: () => undefined,
      };
      return BigInt.asIntN(64, BigInt(named(name).impl(env)(ctx) ?? 0));
    },
    alloc: (size) => rig.alloc(size),
    view: () => rig.vm.mem.dataView,
  };
}

describe('kfuncs as data', () => {
  it('derives the verifier prototype from the C declaration', () => {
    expect(named('bpf_task_from_pid')).toMatchObject({ args: [{ kind: 'scalar', name: 'pid' }], ret: { kind: 'btf_id', btfName: 'task_struct' } });
    expect(named('bpf_task_release').args).toEqual([{ kind: 'btf_id', name: 'p', btfName: 'task_struct' }]);
    expect(named('bpf_iter_num_next')).toMatchObject({ args: [{ kind: 'iter', name: 'it', iter: 'num' }], ret: { kind: 'mem', size: 4 } });
    expect(named('bpf_iter_num_destroy').ret).toEqual({ kind: 'void' });
    expect(new Set(KFUNCS.map((k) => k.name)).size).toBe(KFUNCS.length);
  });

  it('allows the generic set to the types helpers.c registers it for, the common set to every type', () => {
    expect(kfuncAllowed(named('bpf_task_from_pid'), BPF_PROG_TYPE.TRACING)).toBe(true);
    expect(kfuncAllowed(named('bpf_task_from_pid'), BPF_PROG_TYPE.KPROBE)).toBe(false);
    expect(kfuncAllowed(named('bpf_iter_num_new'), BPF_PROG_TYPE.KPROBE)).toBe(true);
    expect(kfuncAllowed(named('bpf_iter_num_new'), BPF_PROG_TYPE.SOCKET_FILTER)).toBe(true);
  });
});

describe('kfunc implementations', () => {
  it('bpf_iter_num_new/next/destroy hand out [start, end) as bpf_iter.c does', () => {
    const k = caller();
    const it = k.alloc(8);
    expect(k.call('bpf_iter_num_new', it, 2, 5)).toBe(0n);
    const seen: number[] = [];
    for (;;) {
      const p = Number(k.call('bpf_iter_num_next', it));
      if (p === 0) break;
      expect(p).toBe(it);
      seen.push(k.view().getInt32(p, true));
    }
    expect(seen).toEqual([2, 3, 4]);
    // Drained stays drained.
    expect(k.call('bpf_iter_num_next', it)).toBe(0n);
    // An empty range is fine; start > end is -EINVAL, more than BPF_MAX_LOOPS numbers -E2BIG, and both leave it drained.
    expect(k.call('bpf_iter_num_new', it, 7, 7)).toBe(0n);
    expect(k.call('bpf_iter_num_next', it)).toBe(0n);
    expect(k.call('bpf_iter_num_new', it, 5, 2)).toBe(-22n);
    expect(k.call('bpf_iter_num_next', it)).toBe(0n);
    expect(k.call('bpf_iter_num_new', it, 0, 8 * 1024 * 1024 + 1)).toBe(-7n);
    expect(k.call('bpf_iter_num_new', it, -3, -1)).toBe(0n);
    expect(k.view().getInt32(it, true)).toBe(-4);
    k.call('bpf_iter_num_destroy', it);
    expect([k.view().getInt32(it, true), k.view().getInt32(it + 4, true)]).toEqual([0, 0]);
  });

  it('bpf_task_from_pid finds a live task by pid, or NULL', () => {
    const k = caller();
    expect(k.call('bpf_task_from_pid', 7)).toBe(0x1000n);
    expect(k.call('bpf_task_from_pid', 4242)).toBe(0n);
    expect(k.call('bpf_task_from_pid', -7)).toBe(0n);
    expect(k.call('bpf_task_acquire', 0x1000)).toBe(0x1000n);
  });
});
