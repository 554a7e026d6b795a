import { parseArgs } from 'node:util';
import { defaultSchedulers, formatMetricsTable, runShellWorkload, type KernelMetrics } from '@ebpf-sim/kernel';
import { CliError, type CliIo, type Command } from '../../command.js';
import { intOption, parseWith } from './args.js';

const USAGE = `usage: ebpf-sim sim workload [--cpus N] [--sched POLICY|all] [--seed N] [--jobs N] [--rr-slice-ms N] [--trace] [--console]

Run the shell-like workload in the simulated kernel: /bin/sh starts N pipelines (producer | consumer, each
forked and exec'ed; they write and read files, stream through a pipe, compute and sleep), then reaps them.
Prints the scheduling metrics per policy; the same seed always gives the same numbers.
  --cpus N         simulated CPUs (default 4)
  --sched POLICY   fifo, rr, cfs, or all (default all)
  --seed N         PRNG seed (default 1)
  --jobs N         pipelines (default 8)
  --rr-slice-ms N  the rr policy's time slice (default 100, Linux's RR_TIMESLICE)
  --trace          record the event trace and print its digest
  --console        print what the programs wrote to /dev/console`;

export const simCommand: Command = {
  name: 'sim',
  summary: 'Run a workload in the simulated kernel and print per-policy metrics',
  usage: USAGE,
  run(args: readonly string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseWith(USAGE, () =>
      parseArgs({
        args: [...args],
        options: {
          cpus: { type: 'string' },
          sched: { type: 'string' },
          seed: { type: 'string' },
          jobs: { type: 'string' },
          'rr-slice-ms': { type: 'string' },
          trace: { type: 'boolean' },
          console: { type: 'boolean' },
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (positionals.length !== 1 || positionals[0] !== 'workload') throw new CliError(`expected the workload name 'workload'\n${USAGE}`, 2);
    const cpus = intOption('cpus', values.cpus, 4, 1, 64);
    const seed = intOption('seed', values.seed, 1, 0, 2 ** 32 - 1);
    const jobs = intOption('jobs', values.jobs, 8, 1, 200);
    const rrSliceMs = intOption('rr-slice-ms', values['rr-slice-ms'], 100, 1, 10_000);
    const known = defaultSchedulers().names();
    const policies = values.sched === undefined || values.sched === 'all' ? known : [values.sched];
    for (const policy of policies) if (!known.includes(policy)) throw new CliError(`unknown scheduling policy '${policy}' (have: ${known.join(', ')}, all)`, 2);
    const runs: Array<{ label: string; metrics: KernelMetrics }> = [];
    let failed = false;
    for (const policy of policies) {
      const options: Record<string, number> = policy === 'rr' ? { sliceNs: rrSliceMs * 1e6 } : {};
      const result = runShellWorkload({ cpus, seed, sched: { policy, options }, trace: { enabled: values.trace === true } }, jobs);
      runs.push({ label: `${policy} x${cpus}`, metrics: result.metrics });
      if (values.console === true) io.out(`--- ${policy}: console ---\n${result.console}`);
      if (values.trace === true) io.out(`${policy}: trace digest ${result.traceDigest} (${result.kernel.trace.lines.length} events)\n`);
      if (result.shellStatus !== 0 || result.kernel.crashes.length > 0) {
        failed = true;
        io.err(`${policy}: /bin/sh exited with status ${String(result.shellStatus)}; crashes: ${result.kernel.crashes.map((c) => `${c.comm}:${c.pid} ${c.message}`).join('; ') || 'none'}\n`);
      }
    }
    io.out(`shell workload: ${jobs} pipelines, seed ${seed}\n${formatMetricsTable(runs)}`);
    return Promise.resolve(failed ? 1 : 0);
  },
};
