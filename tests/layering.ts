/**
 * The dependency rules of ARCHITECTURE.md as data: which workspace packages each package may depend on.
 * `tests/layering.test.ts` checks every package.json against it; eslint's no-restricted-imports enforces the
 * same rule on import statements.
 */
export const ALLOWED_WORKSPACE_DEPS: Readonly<Record<string, readonly string[]>> = {
  '@ebpf-sim/isa': [],
  '@ebpf-sim/elf': [],
  '@ebpf-sim/uapi': [],
  '@ebpf-sim/vm': ['@ebpf-sim/isa'],
  '@ebpf-sim/verifier': ['@ebpf-sim/isa'],
  '@ebpf-sim/kernel': ['@ebpf-sim/uapi'],
  '@ebpf-sim/bpf': ['@ebpf-sim/isa', '@ebpf-sim/vm', '@ebpf-sim/verifier', '@ebpf-sim/kernel', '@ebpf-sim/uapi'],
  // User space: the ABI and the pure file-format/ISA libraries, never the kernel side.
  '@ebpf-sim/loader': ['@ebpf-sim/uapi', '@ebpf-sim/isa', '@ebpf-sim/elf'],
};

/** Apps compose both sides and may depend on any package. */
export const APP_PREFIX = 'apps/';
