import { checkArgsWithSchema, Libc, syscallSpec, type UserProgram } from '@ebpf-sim/uapi';
import type { KernelConfigInput } from '../config.js';
import { createKernel } from '../kernel.js';
import { SyscallTable } from '../syscalls/table.js';
import { runShellWorkload } from './shell.js';

/** One line of the kernel benchmark table. */
export interface KernelBenchRow {
  name: string;
  /** Operations simulated (syscalls, context switches, ...). */
  operations: number;
  unit: string;
  wallMs: number;
  perSecond: number;
  /** Virtual time simulated, ns. */
  virtualNs: number;
}

function time(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

function row(name: string, operations: number, unit: string, wallMs: number, virtualNs: number): KernelBenchRow {
  return { name, operations, unit, wallMs, perSecond: (operations / wallMs) * 1000, virtualNs };
}

/** A task calling getpid() `count` times. */
const getpidLoop = (count: number): UserProgram =>
  function* (ctx) {
    const libc = new Libc(ctx);
    for (let index = 0; index < count; index++) yield* libc.getpid();
    return 0;
  };

/** A task calling sched_yield() `count` times (two of them switch on every call). */
const yieldLoop = (count: number): UserProgram =>
  function* (ctx) {
    const libc = new Libc(ctx);
    for (let index = 0; index < count; index++) yield* libc.schedYield();
    return 0;
  };

function benchGetpid(count: number, config: KernelConfigInput, attachHook: boolean): KernelBenchRow {
  const kernel = createKernel(config);
  kernel.vfs.registerProgram('/bin/getpid', getpidLoop(count));
  let seen = 0;
  if (attachHook) kernel.hooks.require('raw_syscalls:sys_enter').attach(() => ++seen);
  kernel.spawn('/bin/getpid');
  const wallMs = time(() => kernel.run());
  if (kernel.stats.syscalls < count) throw new Error(`bench: only ${kernel.stats.syscalls} of ${count} syscalls ran`);
  return row(
    attachHook ? 'getpid loop, handler on raw_syscalls:sys_enter' : 'getpid loop, nothing attached',
    kernel.stats.syscalls,
    'syscalls',
    wallMs,
    kernel.clock.now,
  );
}

function benchYield(count: number, config: KernelConfigInput): KernelBenchRow {
  const kernel = createKernel({ ...config, cpus: 1 });
  kernel.vfs.registerProgram('/bin/yield', yieldLoop(count));
  kernel.spawn('/bin/yield');
  kernel.spawn('/bin/yield');
  const wallMs = time(() => kernel.run());
  return row(`sched_yield ping-pong (${kernel.sched.policy.name})`, kernel.stats.contextSwitches, 'context switches', wallMs, kernel.clock.now);
}

/**
 * The syscall entry's argument check for read(fd, buf, count): the fast checks derived from the schema
 * against validating with the zod schema itself, to show why the entry uses the former.
 */
function benchArgChecks(count: number): KernelBenchRow[] {
  const table = createKernel().syscalls;
  const spec = syscallSpec('read');
  const entry = table.get(spec.nr);
  if (entry === undefined) throw new Error('bench: read is not registered');
  const regs = Float64Array.of(0, 3, 0x7ffe00000000, 4096, 0, 0, 0);
  const values = [3, 0x7ffe00000000, 4096];
  let sink = 0;
  const fast = time(() => {
    for (let index = 0; index < count; index++) sink += SyscallTable.checkArgs(entry, regs);
  });
  const zodCount = Math.max(1, Math.round(count / 20));
  const slow = time(() => {
    for (let index = 0; index < zodCount; index++) sink += checkArgsWithSchema(spec, values);
  });
  if (sink !== 0) throw new Error('bench: valid read arguments were rejected');
  return [
    row('read() argument check, schema-derived fast path', count, 'checks', fast, 0),
    row('read() argument check, zod safeParse', zodCount, 'checks', slow, 0),
  ];
}

/** Run the kernel benchmarks; `scale` multiplies the iteration counts. */
export function benchKernel(scale = 1, policy = 'cfs'): KernelBenchRow[] {
  const syscalls = Math.max(1000, Math.round(2_000_000 * scale));
  const switches = Math.max(1000, Math.round(200_000 * scale));
  const config: KernelConfigInput = { sched: { policy, options: {} } };
  // Warm the JIT so the first row is not a cold-start measurement.
  benchGetpid(Math.min(syscalls, 100_000), config, false);
  const rows = [
    benchGetpid(syscalls, config, false),
    benchGetpid(Math.round(syscalls / 4), config, true),
    benchYield(switches, config),
    ...benchArgChecks(Math.max(1000, Math.round(5_000_000 * scale))),
  ];
  const jobs = Math.max(2, Math.round(16 * scale));
  let shell: ReturnType<typeof runShellWorkload> | undefined;
  const wallMs = time(() => {
    shell = runShellWorkload({ cpus: 4, sched: { policy, options: {} } }, jobs);
  });
  if (shell !== undefined)
    rows.push(row(`shell workload, ${jobs} pipelines on 4 CPUs (with boot)`, shell.metrics.syscalls, 'syscalls', wallMs, shell.metrics.nowNs));
  return rows;
}
