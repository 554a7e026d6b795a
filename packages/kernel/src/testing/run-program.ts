import type { UserProgram } from '@ebpf-sim/uapi';
import type { KernelConfigInput } from '../config.js';
import { createKernel, type Kernel, type KernelOptions, type SpawnOptions } from '../kernel.js';

/**
 * Test helper: build a kernel, register `program` at /bin/test, spawn it, run to completion. `setup` runs
 * before the spawn (register more programs, attach hooks, write files).
 */
export function runProgram(
  program: UserProgram,
  config: KernelConfigInput = {},
  setup?: (kernel: Kernel) => void,
  spawn: SpawnOptions = {},
  options: KernelOptions = {},
): { kernel: Kernel; pid: number; status: number | undefined } {
  const kernel = createKernel(config, options);
  kernel.vfs.registerProgram('/bin/test', program);
  setup?.(kernel);
  const pid = kernel.spawn('/bin/test', spawn);
  kernel.run({ untilNs: 100e9 });
  return { kernel, pid, status: kernel.exited.get(pid)?.status };
}
