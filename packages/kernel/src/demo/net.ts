import type { KernelConfigInput } from '../config.js';
import { createKernel, type Kernel, type KernelOptions } from '../kernel.js';
import { NET_PROGRAMS, netClient, netLoad, netServer } from '../user/net-workload.js';

/** What the client/server workload runs: clients, requests per client, the port and the protocol. */
export interface NetWorkloadOptions {
  clients?: number;
  requests?: number;
  port?: number;
  proto?: 'tcp' | 'udp';
}

/** The outcome of one run of the client/server workload. */
export interface NetRun {
  kernel: Kernel;
  /** Exit status of /bin/netload (wait4 status word): 0 when every process succeeded. */
  status: number | undefined;
  console: string;
}

/** Register the workload's programs in `kernel` (so a caller can attach programs before starting it). */
export function registerNetWorkload(kernel: Kernel): void {
  kernel.vfs.registerProgram(NET_PROGRAMS.load, netLoad);
  kernel.vfs.registerProgram(NET_PROGRAMS.server, netServer);
  kernel.vfs.registerProgram(NET_PROGRAMS.client, netClient);
}

/** Start /bin/netload in `kernel` (its programs registered); returns its pid. */
export function startNetWorkload(kernel: Kernel, options: NetWorkloadOptions = {}): number {
  const argv = ['netload', String(options.clients ?? 4), String(options.requests ?? 4), String(options.port ?? 8080), options.proto ?? 'tcp'];
  return kernel.spawn(NET_PROGRAMS.load, { argv });
}

/** Build a kernel from `config`, run the client/server workload to completion (or `limitNs` of virtual time). */
export function runNetWorkload(config: KernelConfigInput, options: NetWorkloadOptions = {}, kernelOptions: KernelOptions = {}, limitNs = 60e9): NetRun {
  const kernel = createKernel(config, kernelOptions);
  registerNetWorkload(kernel);
  const pid = startNetWorkload(kernel, options);
  kernel.run({ untilNs: limitNs });
  return { kernel, status: kernel.exited.get(pid)?.status, console: kernel.devices.console.output };
}
