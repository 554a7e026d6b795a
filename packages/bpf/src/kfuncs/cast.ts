/**
 * The casting kfuncs of kernel/bpf/helpers.c's common set: bpf_cast_to_kern_ctx turns the program's uapi context
 * into a trusted pointer to the kernel's (`struct __sk_buff *` -> `struct sk_buff *`), bpf_rdonly_cast makes any
 * pointer an untrusted, read-only pointer to the kernel struct whose BTF id is its constant argument. Linux
 * inlines both as `r0 = r1` (fixup_kfunc_call): the address does not change, only the verifier's view of it,
 * and so do these implementations (the context a program runs with is the kernel's object here too).
 */
import { kfunc, type BpfKfunc } from './define.js';

export const CAST_KFUNCS: readonly BpfKfunc[] = [
  kfunc('bpf_cast_to_kern_ctx', { ret: 'void *', args: [{ name: 'obj', ctype: 'void *' }] }, 0, 'common', () => (ctx) => ctx.arg(1), undefined, {
    // special_kfunc_list: its `void *` is the program's context (KF_ARG_PTR_TO_CTX), R0 the kernel context type.
    args: { 0: { kind: 'ctx', name: 'obj' } },
    ret: { kind: 'kern_ctx' },
  }),
  kfunc(
    'bpf_rdonly_cast',
    {
      ret: 'void *',
      args: [
        { name: 'obj__ign', ctype: 'const void *' },
        { name: 'btf_id__k', ctype: 'u32' },
      ],
    },
    0,
    'common',
    () => (ctx) => ctx.arg(1),
    undefined,
    { ret: { kind: 'rdonly_cast' } },
  ),
];
