/**
 * libbpf's find_attach_btf_id / btf_get_kernel_prefix_kind: the kernel BTF type a program that attaches by BTF id
 * names in its SEC() (fentry/fexit/fmod_ret: the FUNC itself, lsm: `bpf_lsm_<hook>`, tp_btf: the typedef
 * `btf_trace_<tracepoint>`, iter: `bpf_iter_<target>`), found in the running kernel's vmlinux BTF.
 */
import { BtfKind, type Btf } from '@ebpf-sim/btf';
import { BPF_ATTACH_TYPE, Errno } from '@ebpf-sim/uapi';

/** btf_get_kernel_prefix_kind: the name prefix and BTF kind of the type an attach type's target is. */
export function attachBtfPrefixKind(attachType: number): { readonly prefix: string; readonly kind: number } {
  switch (attachType) {
    case BPF_ATTACH_TYPE.TRACE_RAW_TP:
      return { prefix: 'btf_trace_', kind: BtfKind.TYPEDEF };
    case BPF_ATTACH_TYPE.LSM_MAC:
    case BPF_ATTACH_TYPE.LSM_CGROUP:
      return { prefix: 'bpf_lsm_', kind: BtfKind.FUNC };
    case BPF_ATTACH_TYPE.TRACE_ITER:
      return { prefix: 'bpf_iter_', kind: BtfKind.FUNC };
    default:
      return { prefix: '', kind: BtfKind.FUNC };
  }
}

/** find_btf_by_prefix_kind: the id of the type `prefix + name` of the attach type's kind, or -ESRCH (find_kernel_btf_id: no module has it either). */
export function findAttachBtfId(btf: Btf, name: string, attachType: number): number {
  const { prefix, kind } = attachBtfPrefixKind(attachType);
  const full = `${prefix}${name}`;
  for (const t of btf.types) if (t.kind === kind && t.name === full) return t.id;
  return -Errno.ESRCH;
}
