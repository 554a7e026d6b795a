/**
 * resolve_pseudo_ldimm64's part for kernel symbols (kernel/bpf/verifier.c check_pseudo_btf_id): every LD imm64 with
 * src BPF_PSEUDO_BTF_ID (a libbpf `__ksym` extern: a typed kernel variable, or a function's address) names a VAR or
 * FUNC of the vmlinux BTF by id. Its immediate becomes the symbol's kallsyms address, as Linux patches it (the log
 * and the xlated program print the address), and the verifier learns the type it loads (Linux insn_aux_data.btf_var).
 */
import type { KsymDesc } from '@ebpf-sim/verifier';
import { Errno } from '@ebpf-sim/uapi';
import type { KernelBtf } from './btf-attach.js';

/** BPF_LD | BPF_IMM | BPF_DW. */
const LD_IMM64 = 0x18;
/** BPF_PSEUDO_BTF_ID: the LD imm64's source register field. */
const PSEUDO_BTF_ID = 3;
const INSN_SIZE = 8;

/** The program with its kernel-symbol loads resolved, and what each (by slot) loads. */
export interface ResolvedKsyms {
  readonly insns: Uint8Array;
  readonly ksyms: ReadonlyMap<number, KsymDesc>;
}

/**
 * check_pseudo_btf_id for each BPF_PSEUDO_BTF_ID load of `insns` (the bytes are not changed when there is none):
 * the program with the addresses put in, or Linux's refusal (log line, -errno). A non-zero insn[1].imm names a
 * module's BTF by fd; this kernel has no modules, so every such fd is refused as an invalid one.
 */
export function resolveKsyms(insns: Uint8Array, vmlinux: KernelBtf | undefined): ResolvedKsyms | { readonly log: string; readonly program: number } {
  const ksyms = new Map<number, KsymDesc>();
  let out = insns;
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  for (let slot = 0; (slot + 2) * INSN_SIZE <= insns.length; slot++) {
    const at = slot * INSN_SIZE;
    if (view.getUint8(at) !== LD_IMM64) continue;
    if (view.getUint8(at + 1) >> 4 !== PSEUDO_BTF_ID) {
      slot++;
      continue;
    }
    const id = view.getInt32(at + 4, true);
    const btfFd = view.getInt32(at + INSN_SIZE + 4, true);
    if (btfFd !== 0) return { log: 'invalid module BTF object FD specified.\n', program: -Errno.EINVAL };
    if (vmlinux === undefined) return { log: 'kernel is missing BTF, make sure CONFIG_DEBUG_INFO_BTF=y is specified in Kconfig.\n', program: -Errno.EINVAL };
    const resolved = vmlinux.pseudoBtfId(id);
    if ('errno' in resolved) return { log: resolved.log, program: resolved.errno };
    if (out === insns) out = insns.slice();
    const patch = new DataView(out.buffer, out.byteOffset, out.byteLength);
    patch.setUint32(at + 4, resolved.lo, true);
    patch.setUint32(at + INSN_SIZE + 4, resolved.hi, true);
    ksyms.set(slot, resolved.desc);
    slot++;
  }
  return { insns: out, ksyms };
}
