/** struct pt_regs on x86_64 (arch/x86/include/uapi/asm/ptrace.h): 21 unsigned longs. */
import type { CtxField } from '@ebpf-sim/verifier';

const NAMES = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss'];

export const PT_REGS_SIZE = NAMES.length * 8;

export const PT_REGS_FIELDS: readonly CtxField[] = NAMES.map((name, i) => ({ name, off: i * 8, size: 8, kind: 'scalar' as const, narrowLoads: true }));
