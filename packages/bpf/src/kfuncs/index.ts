/**
 * The kernel's kfuncs and the sets that allow them per program type (Linux register_btf_kfunc_id_set), as data:
 * PROG_LOAD's verifier asks `kfuncLookup` what a kfunc call's BTF id names, and the runtime binds the
 * implementations by the BTF ids the kernel's BTF gives them (`bindKfuncs`).
 *
 * sched_ext's kfuncs are not here: the simulator has no sched_ext_ops struct_ops to register them for.
 */
import { BtfKind } from '@ebpf-sim/btf';
import { BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import type { KfuncLookup } from '@ebpf-sim/verifier';
import type { HelperTable } from '@ebpf-sim/vm';
import type { KernelBtf } from '../vmlinux/btf-attach.js';
import type { BpfKfunc, KfuncEnv } from './define.js';
import { ITER_NUM_KFUNCS } from './iter-num.js';
import { RCU_KFUNCS } from './rcu.js';
import { TASK_KFUNCS } from './task.js';
import { TCP_CA_KFUNCS } from '../struct-ops/tcp-kfuncs.js';

export type { BpfKfunc, KfuncEnv, KfuncImpl, KfuncSet } from './define.js';
export { BPF_ITER_NUM_SIZE, BPF_MAX_LOOPS } from './iter-num.js';

/** Every kfunc this kernel has. */
export const KFUNCS: readonly BpfKfunc[] = [...TASK_KFUNCS, ...RCU_KFUNCS, ...ITER_NUM_KFUNCS, ...TCP_CA_KFUNCS];

const BY_NAME: ReadonlyMap<string, BpfKfunc> = new Map(KFUNCS.map((k) => [k.name, k]));

/**
 * The program types helpers.c's kfunc_init registers generic_kfunc_set for (the task, cgroup and object
 * kfuncs); common_kfunc_set (the iterators) is registered for BPF_PROG_TYPE_UNSPEC, which every type reaches.
 */
const GENERIC_SET_PROG_TYPES: ReadonlySet<number> = new Set([
  BPF_PROG_TYPE.TRACING,
  BPF_PROG_TYPE.SCHED_CLS,
  BPF_PROG_TYPE.XDP,
  BPF_PROG_TYPE.STRUCT_OPS,
  BPF_PROG_TYPE.SYSCALL,
  BPF_PROG_TYPE.CGROUP_SKB,
]);

/** btf_kfunc_id_set_contains: whether programs of `progType` may call `k`. */
export function kfuncAllowed(k: BpfKfunc, progType: number): boolean {
  if (k.set === 'struct_ops') return progType === BPF_PROG_TYPE.STRUCT_OPS;
  return k.set === 'common' || GENERIC_SET_PROG_TYPES.has(progType);
}

/** The kfunc `name`, if this kernel has it. */
export function kfuncByName(name: string): BpfKfunc | undefined {
  return BY_NAME.get(name);
}

/**
 * What a kfunc call names for a program of `progType` (the verifier's `VerifierRegistry.kfunc`): a FUNC of the
 * kernel's BTF (`offset` 0; module BTFs are not modelled), a kfunc when one of this kernel's.
 */
export function kfuncLookup(vmlinux: KernelBtf, progType: number): (btfId: number, offset: number) => KfuncLookup | undefined {
  return (btfId, offset) => {
    if (offset !== 0) return undefined;
    const t = vmlinux.btf.types[btfId >>> 0];
    if (t?.kind !== BtfKind.FUNC || btfId === 0) return undefined;
    const k = BY_NAME.get(t.name);
    return k === undefined ? { name: t.name, allowed: false } : { name: t.name, proto: k, allowed: kfuncAllowed(k, progType) };
  };
}

/** Bind every kfunc's implementation under the BTF id of its FUNC in `vmlinux` (what a verified call's imm holds). */
export function bindKfuncs(table: HelperTable, vmlinux: KernelBtf, env: KfuncEnv): void {
  for (const k of KFUNCS) {
    const id = vmlinux.findByNameKind(k.name, BtfKind.FUNC);
    if (id > 0) table.add({ id, name: k.name, fn: k.impl(env) });
  }
}
