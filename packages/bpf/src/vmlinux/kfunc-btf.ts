/**
 * The kfuncs' part of the kernel's BTF: a FUNC (with its FUNC_PROTO) per kfunc, so a loader resolves an
 * `extern ... __ksym` kfunc by name and the verifier reads what a call's BTF id names, and the open-coded
 * iterators' and dynptrs' opaque structs (`struct bpf_iter_num { __u64 __opaque[1]; }`, include/uapi/linux/bpf.h).
 */
import type { KernelFunctionProto, KernelTypeTable } from '@ebpf-sim/kernel';
import { BPF_ITER_NUM_SIZE, KFUNCS } from '../kfuncs/index.js';
import { DYNPTR_KERN } from '../maps/ringbuf-records.js';

/** Add the iterator structs to `table` and a FUNC per kfunc through `func`. */
export function addKfuncBtf(table: KernelTypeTable, func: (name: string, proto: KernelFunctionProto) => void): void {
  if (!table.structs.has('bpf_iter_num')) table.fixedStruct('bpf_iter_num', BPF_ITER_NUM_SIZE, [['__opaque', 0, `__u64[${BPF_ITER_NUM_SIZE / 8}]`]]);
  // include/uapi/linux/bpf.h: `struct bpf_dynptr { __u64 __opaque[2]; }`, what the dynptr kfuncs take.
  if (!table.structs.has('bpf_dynptr')) table.fixedStruct('bpf_dynptr', DYNPTR_KERN.SIZE, [['__opaque', 0, `__u64[${DYNPTR_KERN.SIZE / 8}]`]]);
  for (const k of KFUNCS) func(k.name, k.c);
}
