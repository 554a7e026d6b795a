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
import type { BpfKfunc, KfuncEnv, KfuncSet } from './define.js';
import { CAST_KFUNCS } from './cast.js';
import { DYNPTR_KFUNCS } from './dynptr.js';
import { ITER_NUM_KFUNCS } from './iter-num.js';
import { RCU_KFUNCS } from './rcu.js';
import { TASK_KFUNCS } from './task.js';
import { TCP_CA_KFUNCS } from '../struct-ops/tcp-kfuncs.js';

export type { BpfKfunc, KfuncEnv, KfuncImpl, KfuncSet } from './define.js';
export { BPF_ITER_NUM_SIZE, BPF_MAX_LOOPS } from './iter-num.js';

/** Every kfunc this kernel has. */
export const KFUNCS: readonly BpfKfunc[] = [...TASK_KFUNCS, ...RCU_KFUNCS, ...ITER_NUM_KFUNCS, ...CAST_KFUNCS, ...DYNPTR_KFUNCS, ...TCP_CA_KFUNCS];

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

/** net/core/filter.c's bpf_kfunc_set_skb registrations (bpf_kfunc_init). */
const SKB_SET_PROG_TYPES: ReadonlySet<number> = new Set([
  BPF_PROG_TYPE.SCHED_CLS,
  BPF_PROG_TYPE.SCHED_ACT,
  BPF_PROG_TYPE.SK_SKB,
  BPF_PROG_TYPE.SOCKET_FILTER,
  BPF_PROG_TYPE.CGROUP_SKB,
  BPF_PROG_TYPE.LWT_OUT,
  BPF_PROG_TYPE.LWT_IN,
  BPF_PROG_TYPE.LWT_XMIT,
  BPF_PROG_TYPE.LWT_SEG6LOCAL,
  // and BPF_PROG_TYPE_NETFILTER, which this kernel does not have.
]);

/** The program types each set is registered for; `common` is registered for every type. */
const SET_PROG_TYPES: Readonly<Record<Exclude<KfuncSet, 'common'>, ReadonlySet<number>>> = {
  generic: GENERIC_SET_PROG_TYPES,
  skb: SKB_SET_PROG_TYPES,
  xdp: new Set([BPF_PROG_TYPE.XDP]),
  // A set registered for BPF_PROG_TYPE_STRUCT_OPS only (bpf_tcp_ca's).
  struct_ops: new Set([BPF_PROG_TYPE.STRUCT_OPS]),
};

/** btf_kfunc_id_set_contains: whether programs of `progType` may call `k`. */
export function kfuncAllowed(k: BpfKfunc, progType: number): boolean {
  return k.set === 'common' || SET_PROG_TYPES[k.set].has(progType);
}

/**
 * bpf_types.h's kern_ctx_type per program type (what get_kern_ctx_btf_id answers for bpf_cast_to_kern_ctx): the
 * kernel struct behind the uapi context. Types whose kernel context this kernel's BTF has no struct for are absent.
 */
const KERN_CTX: ReadonlyMap<number, string> = new Map([
  [BPF_PROG_TYPE.SOCKET_FILTER, 'sk_buff'],
  [BPF_PROG_TYPE.SCHED_CLS, 'sk_buff'],
  [BPF_PROG_TYPE.SCHED_ACT, 'sk_buff'],
  [BPF_PROG_TYPE.CGROUP_SKB, 'sk_buff'],
  [BPF_PROG_TYPE.LWT_IN, 'sk_buff'],
  [BPF_PROG_TYPE.LWT_OUT, 'sk_buff'],
  [BPF_PROG_TYPE.LWT_XMIT, 'sk_buff'],
  [BPF_PROG_TYPE.LWT_SEG6LOCAL, 'sk_buff'],
  [BPF_PROG_TYPE.SK_SKB, 'sk_buff'],
  [BPF_PROG_TYPE.XDP, 'xdp_buff'],
  [BPF_PROG_TYPE.KPROBE, 'pt_regs'],
]);

/** What kernel BTF id `id` names for bpf_rdonly_cast: void, a struct (or union), or nothing it takes. */
function btfTypeOf(vmlinux: KernelBtf, id: number): { readonly kind: 'void' } | { readonly kind: 'struct'; readonly name: string } | undefined {
  if (id === 0) return { kind: 'void' };
  const t = vmlinux.btf.types[id];
  return t !== undefined && (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION) ? { kind: 'struct', name: t.name } : undefined;
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
  const kernCtxName = KERN_CTX.get(progType);
  const kernCtx = kernCtxName !== undefined && vmlinux.findByNameKind(kernCtxName, BtfKind.STRUCT) > 0 ? kernCtxName : undefined;
  const typeOf = (id: number): ReturnType<typeof btfTypeOf> => btfTypeOf(vmlinux, id);
  return (btfId, offset) => {
    if (offset !== 0) return undefined;
    const t = vmlinux.btf.types[btfId >>> 0];
    if (t?.kind !== BtfKind.FUNC || btfId === 0) return undefined;
    const k = BY_NAME.get(t.name);
    if (k === undefined) return { name: t.name, allowed: false };
    return { name: t.name, proto: k, allowed: kfuncAllowed(k, progType), typeOf, ...(kernCtx === undefined ? {} : { kernCtx }) };
  };
}

/** Bind every kfunc's implementation under the BTF id of its FUNC in `vmlinux` (what a verified call's imm holds). */
export function bindKfuncs(table: HelperTable, vmlinux: KernelBtf, env: KfuncEnv): void {
  for (const k of KFUNCS) {
    const id = vmlinux.findByNameKind(k.name, BtfKind.FUNC);
    if (id > 0) table.add({ id, name: k.name, fn: k.impl(env) });
  }
}
