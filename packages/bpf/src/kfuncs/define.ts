/**
 * Kfuncs as the bpf subsystem defines them: the C prototype the kernel's BTF gives each (its FUNC and FUNC_PROTO,
 * vmlinux/kfunc-btf.ts), its KF_* flags (BTF_ID_FLAGS), the program types whose kfunc sets hold it
 * (register_btf_kfunc_id_set) and its implementation, which the runtime binds by BTF id. The verifier's view
 * (KfuncProto) is derived from the C prototype, so each type is written once.
 */
import { KERNEL_TYPES, parseCType, type CType, type KernelFunctionProto } from '@ebpf-sim/kernel';
import type { KfuncArg, KfuncProto, KfuncRet } from '@ebpf-sim/verifier';
import type { HelperFn } from '@ebpf-sim/vm';
import type { HelperEnv } from '../runtime/env.js';

/** What a kfunc implementation reaches besides a helper's environment: the live tasks by pid. */
export interface KfuncEnv extends HelperEnv {
  readonly tasks: ReadonlyMap<number, { readonly kernelAddress: number }>;
}

/** A kfunc implementation: the VM function, built once per runtime from its environment. */
export type KfuncImpl = (env: KfuncEnv) => HelperFn;

/** Linux's kfunc sets by the program types they are registered for. */
export type KfuncSet = 'common' | 'generic' | 'skb' | 'xdp' | 'struct_ops';

export interface BpfKfunc extends KfuncProto {
  /** The C prototype (Linux's declaration in kernel/bpf/helpers.c and friends). */
  readonly c: KernelFunctionProto;
  /**
   * The kfunc set it is in: `common` (BPF_PROG_TYPE_UNSPEC: every type), `generic` (helpers.c's generic_kfunc_set),
   * `skb` / `xdp` (net/core/filter.c's bpf_kfunc_set_skb / bpf_kfunc_set_xdp) or `struct_ops` (a set registered for
   * BPF_PROG_TYPE_STRUCT_OPS only, e.g. bpf_tcp_ca's).
   */
  readonly set: KfuncSet;
  readonly impl: KfuncImpl;
}

/** The prefix of an open-coded iterator's struct (`struct bpf_iter_num`). */
const ITER_PREFIX = 'bpf_iter_';

function pointee(t: CType): CType | undefined {
  let p: CType = t;
  while (p.kind === 'const' || p.kind === 'volatile') p = p.of;
  return p.kind === 'ptr' ? p.to : undefined;
}

function unqualified(t: CType): CType {
  return t.kind === 'const' || t.kind === 'volatile' ? unqualified(t.of) : t;
}

/** The uapi contexts a kfunc parameter names: btf_is_prog_ctx_type makes such a pointer KF_ARG_PTR_TO_CTX. */
const UAPI_CTX_STRUCTS: ReadonlySet<string> = new Set(['__sk_buff', 'xdp_md']);

/**
 * How check_kfunc_args sees parameter `i` of a prototype, by its C type and Linux's name suffixes (`__ign`, `__k`,
 * `__uninit`, `__opt`, `__sz`/`__szk`, `__nullable`: is_kfunc_arg_* in kernel/bpf/verifier.c).
 */
function kfuncArg(c: KernelFunctionProto, i: number): KfuncArg {
  const { name, ctype } = c.args[i] ?? { name: '', ctype: 'void' };
  if (name.endsWith('__ign')) return { kind: 'ignore', name };
  const to = pointee(parseCType(ctype));
  if (to === undefined) return name.endsWith('__k') ? { kind: 'const', name } : { kind: 'scalar', name };
  const target = unqualified(to);
  const next = c.args[i + 1]?.name ?? '';
  // A buffer followed by its size (is_kfunc_arg_mem_size / is_kfunc_arg_const_mem_size).
  if (target.kind === 'void' && (next.endsWith('__sz') || next.endsWith('__szk'))) {
    return { kind: 'mem_size', name, optional: name.endsWith('__opt'), constSize: next.endsWith('__szk') };
  }
  if (target.kind !== 'struct') throw new Error(`kfunc argument '${name}': only pointers to structs or sized buffers are modelled (${ctype})`);
  if (UAPI_CTX_STRUCTS.has(target.name)) return { kind: 'ctx', name };
  if (target.name === 'bpf_dynptr') return { kind: 'dynptr', name, uninit: name.endsWith('__uninit') };
  if (target.name.startsWith(ITER_PREFIX)) return { kind: 'iter', name, iter: target.name.slice(ITER_PREFIX.length) };
  // `__nullable` parameters (Linux's name suffix) may be NULL.
  return { kind: 'btf_id', name, btfName: target.name, ...(name.endsWith('__nullable') ? { nullable: true } : {}) };
}

/** How check_kfunc_call types R0 for this C return type. */
function kfuncRet(ctype: string): KfuncRet {
  const t = unqualified(parseCType(ctype));
  if (t.kind === 'void') return { kind: 'void' };
  const to = pointee(t);
  if (to === undefined) return { kind: 'scalar' };
  const target = unqualified(to);
  if (target.kind === 'struct') return { kind: 'btf_id', btfName: target.name };
  // A pointer to a scalar: rdonly memory of its size (btf_resolve_size).
  return { kind: 'mem', size: KERNEL_TYPES.sizeOf(ctype.replace(/\s*\*\s*$/, '')) };
}

/**
 * What Linux's special_kfunc_list entries get from check_kfunc_args / check_kfunc_call beyond their C prototype:
 * the dynptr type a `__uninit` dynptr parameter makes, an argument checked as something its C type does not say
 * (bpf_cast_to_kern_ctx's `void *obj` is the context), and how R0 is typed (`void *` says nothing).
 */
export interface KfuncSpecial {
  readonly dynptrType?: string;
  readonly args?: Readonly<Record<number, KfuncArg>>;
  readonly ret?: KfuncRet;
}

/** A kfunc from its C prototype, flags, set and implementation. */
export function kfunc(
  name: string,
  c: KernelFunctionProto,
  flags: number,
  set: KfuncSet,
  impl: KfuncImpl,
  rcu?: 'lock' | 'unlock',
  special: KfuncSpecial = {},
): BpfKfunc {
  const args = c.args.map((_, i) => {
    const a = special.args?.[i] ?? kfuncArg(c, i);
    return a.kind === 'dynptr' && a.uninit && special.dynptrType !== undefined ? { ...a, dynptrType: special.dynptrType } : a;
  });
  return { name, flags, args, ret: special.ret ?? kfuncRet(c.ret), c, set, impl, ...(rcu === undefined ? {} : { rcu }) };
}
