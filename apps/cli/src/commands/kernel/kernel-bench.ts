import { parseArgs } from 'node:util';
import { defaultSchedulers } from '@ebpf-sim/kernel';
import { benchKernel, formatKernelBenchTable } from '@ebpf-sim/kernel/demo';
import { CliError, type CliIo, type Command } from '../../command.js';
import { parseWith } from '../../args.js';

const USAGE = `usage: ebpf-sim kernel-bench [--scale X] [--sched POLICY] [--json]

Measure the simulated kernel: syscalls per second (a getpid loop with nothing attached, and with a handler
on raw_syscalls:sys_enter), context switches per second (two tasks calling sched_yield on one CPU) and the
shell workload on 4 CPUs. Wall-clock rates of this machine; virtual time is shown for reference.
  --scale X        multiply the iteration counts (default 1: 2M getpid calls)
  --sched POLICY   scheduling policy (default cfs)
  --json           print the rows as JSON`;

export const kernelBenchCommand: Command = {
  name: 'kernel-bench',
  summary: 'Benchmark the simulated kernel: syscalls/s and context switches/s',
  usage: USAGE,
  run(args: readonly string[], io: CliIo): Promise<number> {
    const { values } = parseWith(USAGE, () =>
      parseArgs({ args: [...args], options: { scale: { type: 'string' }, sched: { type: 'string' }, json: { type: 'boolean' } }, strict: true }),
    );
    const scale = values.scale === undefined ? 1 : Number(values.scale);
    if (!(scale > 0 && scale <= 100)) throw new CliError(`--scale must be a number in (0, 100], not '${values.scale ?? ''}'`, 2);
    const policy = values.sched ?? 'cfs';
    const known = defaultSchedulers().names();
    if (!known.includes(policy)) throw new CliError(`unknown scheduling policy '${policy}' (have: ${known.join(', ')})`, 2);
    const rows = benchKernel(scale, policy);
    io.out(values.json === true ? `${JSON.stringify(rows, null, 2)}\n` : formatKernelBenchTable(rows));
    return Promise.resolve(0);
  },
};
