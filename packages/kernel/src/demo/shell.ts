import type { KernelConfigInput } from '../config.js';
import { createKernel, type Kernel, type KernelOptions } from '../kernel.js';
import { kernelMetrics, type KernelMetrics } from '../metrics.js';
import { consumer, producer, shell, SHELL_PROGRAMS } from '../user/shell-workload.js';

/** The outcome of one run of the shell workload. */
export interface ShellRun {
  kernel: Kernel;
  metrics: KernelMetrics;
  /** Exit status of /bin/sh (wait4 status word). */
  shellStatus: number | undefined;
  console: string;
  /** Digest of the event trace (when tracing is enabled in the configuration). */
  traceDigest: string;
}

/**
 * Build a kernel from `config`, register the shell workload's programs, run `/bin/sh <jobs>` to completion
 * (or `limitNs` of virtual time), and collect the metrics.
 */
export function runShellWorkload(config: KernelConfigInput, jobs = 4, options: KernelOptions = {}, limitNs = 60e9): ShellRun {
  const kernel = createKernel(config, options);
  kernel.vfs.registerProgram(SHELL_PROGRAMS.sh, shell);
  kernel.vfs.registerProgram(SHELL_PROGRAMS.producer, producer);
  kernel.vfs.registerProgram(SHELL_PROGRAMS.consumer, consumer);
  const pid = kernel.spawn(SHELL_PROGRAMS.sh, { argv: ['sh', String(jobs)] });
  kernel.run({ untilNs: limitNs });
  return {
    kernel,
    metrics: kernelMetrics(kernel),
    shellStatus: kernel.exited.get(pid)?.status,
    console: kernel.devices.console.output,
    traceDigest: kernel.trace.digest(),
  };
}
