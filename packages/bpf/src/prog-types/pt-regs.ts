/** struct pt_regs as a context: every register an 8-byte field, at its offset in @ebpf-sim/uapi's PT_REGS. */
import { PT_REGS } from '@ebpf-sim/uapi';
import type { CtxField } from '@ebpf-sim/verifier';

/** The register names in layout order. */
export const PT_REGS_NAMES = Object.keys(PT_REGS).filter((name): name is Exclude<keyof typeof PT_REGS, 'size'> => name !== 'size');

/** The fields a kprobe reads in place (narrow loads allowed, as kprobe_prog_is_valid_access allows them). */
export const PT_REGS_FIELDS: readonly CtxField[] = PT_REGS_NAMES.map((name) => ({
  name,
  off: PT_REGS[name],
  size: 8,
  kind: 'scalar' as const,
  narrowLoads: true,
}));
