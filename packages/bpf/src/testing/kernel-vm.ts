/**
 * Test support: a kernel and a VM over the same physical memory (one WebAssembly.Memory), as the runtime
 * runs programs: kernel objects, map values and the program's stack all have physical addresses the program
 * uses directly. The VM may touch all of memory but page 0 and its own stack.
 */
import { createKernel, type Kernel, type KernelConfigInput } from '@ebpf-sim/kernel';
import type { HelperTable, Vm } from '@ebpf-sim/vm';
import { VM_STACK_BYTES, kernelVm } from '../runtime/runtime.js';

export const MEMORY_BYTES = 32 * 1024 * 1024;

/** A kernel and a VM over the same physical memory; the VM may touch all of it but its own stack. */
export function bootKernelVm(config: KernelConfigInput = {}, helpers?: (kernel: Kernel) => HelperTable): { kernel: Kernel; vm: Vm } {
  const pages = MEMORY_BYTES / 65536;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const kernel = createKernel({ memoryBytes: MEMORY_BYTES, ...config }, { memory });
  const stack = kernel.phys.kmalloc(VM_STACK_BYTES, 'bpf-stack');
  return { kernel, vm: kernelVm(kernel.phys, stack, helpers ? { helpers: helpers(kernel) } : {}) };
}
