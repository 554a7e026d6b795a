/**
 * The trust flags of PTR_TO_BTF_ID pointers (Linux 6.18 check_ptr_to_btf_access, type_is_trusted, type_is_rcu):
 * what a pointer read through a BTF-typed pointer is, from the pointer it was read through and from what the
 * kernel says of the field (its BTF_TYPE_SAFE_* list, handed over as data in {@link BtfAccess}).
 */
import { markPointer, RegFlag, RegType, regTypeName, type Reg } from './reg.js';
import { Reject } from './reject.js';
import type { BtfAccess, KsymDesc } from './registry.js';

/**
 * The flags of a pointer loaded from a field of a struct that a register with `parentFlags` points to, as Linux
 * 6.18 sets them (recorded on Linux 6.18 in packages/bpf/fixtures/btf-ptr: task->real_parent and ->group_leader
 * from a trusted task are `rcu_ptr_`, task->parent and task->mm `untrusted_ptr_`, a walk from an untrusted pointer
 * stays untrusted):
 *
 * - from an untrusted pointer: untrusted;
 * - from a trusted or RCU pointer: trusted (or trusted, maybe NULL) for a BTF_TYPE_SAFE_TRUSTED(_OR_NULL) field;
 *   inside an RCU read-side section (Linux in_rcu_cs: always, for a non-sleepable program) MEM_RCU for a
 *   BTF_TYPE_SAFE_RCU field and MEM_RCU, maybe NULL, for a BTF_TYPE_SAFE_RCU_OR_NULL one; untrusted otherwise;
 * - from a plain pointer (fentry/fexit arguments, Linux's deprecated compat case): plain.
 *
 * Linux also gives MEM_RCU to fields whose BTF carries the `__rcu` type tag; this kernel's BTF has no type tags.
 */
export function walkedPtrFlags(parentFlags: number, access: Extract<BtfAccess, { kind: 'ptr' }>, inRcu: boolean): number {
  if (parentFlags & RegFlag.UNTRUSTED) return RegFlag.UNTRUSTED;
  if ((parentFlags & (RegFlag.TRUSTED | RegFlag.RCU)) === 0) return 0;
  const safe = access.safe ?? (access.trusted ? 'trusted' : undefined);
  if (safe === 'trusted') return RegFlag.TRUSTED;
  if (safe === 'trusted_or_null') return RegFlag.TRUSTED | RegFlag.MAYBE_NULL;
  if (!inRcu || parentFlags & RegFlag.MAYBE_NULL) return RegFlag.UNTRUSTED;
  if (safe === 'rcu') return RegFlag.RCU;
  if (safe === 'rcu_or_null') return RegFlag.RCU | RegFlag.MAYBE_NULL;
  return RegFlag.UNTRUSTED;
}

/**
 * check_ld_imm64 for BPF_PSEUDO_BTF_ID: the register holds the kernel symbol's address, typed as
 * check_pseudo_btf_id said (recorded on Linux 6.18: a FUNC ksym is `rdonly_mem(sz=0)`).
 */
export function markKsym(dst: Reg, ksym: KsymDesc): void {
  if (ksym.kind === 'mem') {
    markPointer(dst, RegType.PTR_TO_MEM, RegFlag.RDONLY);
    dst.memSize = ksym.size;
    return;
  }
  markPointer(dst, RegType.PTR_TO_BTF_ID, ksym.percpu ? RegFlag.PERCPU : 0);
  dst.btfName = ksym.btfName;
}

/** Linux's btf_ptr_types: what an ARG_PTR_TO_BTF_ID argument may be, as check_reg_type lists them. */
const BTF_ARG_EXPECTED = 'ptr_, trusted_ptr_, rcu_ptr_';

/**
 * check_reg_type for a helper's ARG_PTR_TO_BTF_ID(_OR_NULL) argument: a BTF pointer, plain, trusted or RCU, never
 * untrusted (recorded on Linux 6.18: bpf_task_storage_get of task->parent is refused with
 * `R2 type=untrusted_ptr_ expected=ptr_, trusted_ptr_, rcu_ptr_`; reg_type_str names no struct).
 */
export function checkBtfArg(regno: number, reg: Reg): void {
  if (reg.type === RegType.PTR_TO_BTF_ID && (reg.flags & RegFlag.UNTRUSTED) === 0) return;
  const name = reg.type === RegType.PTR_TO_BTF_ID ? regTypeName(reg).replace(`ptr_${reg.btfName}`, 'ptr_') : regTypeName(reg);
  throw new Reject(`R${regno} type=${name} expected=${BTF_ARG_EXPECTED}`, 'helper-arg');
}
