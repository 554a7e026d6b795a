/**
 * Test support: a kernel and a VM over the same physical memory (one WebAssembly.Memory), as the runtime
 * runs programs: kernel objects, map values and the program's stack all have physical addresses the program
 * uses directly. The VM may touch all of memory but page 0 and its own stack.
 */
import { STACK_FRAME_SIZE } from '@ebpf-sim/isa';
import { createKernel, type Kernel, type KernelConfigInput } from '@ebpf-sim/kernel';
import { LinearMemory, MAX_CALL_FRAMES, NULL_GUARD, Perm, Vm, type HelperTable } from '@ebpf-sim/vm';

export const MEMORY_BYTES = 32 * 1024 * 1024;
const VM_STACK_BYTES = MAX_CALL_FRAMES * STACK_FRAME_SIZE;

/** A kernel and a VM over the same physical memory; the VM may touch all of it but its own stack. */
export function bootKernelVm(config: KernelConfigInput = {}, helpers?: (kernel: Kernel) => HelperTable): { kernel: Kernel; vm: Vm } {
  const pages = MEMORY_BYTES / 65536;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const kernel = createKernel({ memoryBytes: MEMORY_BYTES, ...config }, { memory });
  const stack = kernel.phys.kmalloc(VM_STACK_BYTES, 'bpf-stack');
  const mem = new LinearMemory({ memory });
  mem.mapRegion(NULL_GUARD, stack - NULL_GUARD, Perm.RW, 'physical memory below the bpf stack');
  mem.mapRegion(stack + VM_STACK_BYTES, MEMORY_BYTES - stack - VM_STACK_BYTES, Perm.RW, 'physical memory above the bpf stack');
  return { kernel, vm: new Vm({ memory: mem, stackAddr: stack, prime: false, ...(helpers ? { helpers: helpers(kernel) } : {}) }) };
}
