/**
 * `@ebpf-sim/kernel/demo`: workloads and reports built on the kernel's public API, for the CLI and the
 * playground — the shell workload, the hook tour, the kernel benchmark and their tables. Not part of the
 * kernel's API.
 */
export { runShellWorkload, type ShellRun } from './shell.js';
export { shell, producer, consumer, SHELL_PROGRAMS } from '../user/shell-workload.js';
export { benchKernel, type KernelBenchRow } from './bench.js';
export { formatKernelBenchTable, formatMetricsTable, formatTaskTable, formatHookTour, table as formatTable } from './report.js';
export { runHookTour, type HookTour } from './hook-tour.js';
export { runNetWorkload, registerNetWorkload, startNetWorkload, type NetRun, type NetWorkloadOptions } from './net.js';
export { netLoad, netServer, netClient, NET_PROGRAMS } from '../user/net-workload.js';
