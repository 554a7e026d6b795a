import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultSchedulers, type KernelMetrics } from '@ebpf-sim/kernel';
import { formatHookTour, formatMetricsTable, formatTaskTable, runHookTour, runShellWorkload } from '@ebpf-sim/kernel/demo';
import { CliError, type CliIo, type Command } from '../../command.js';
import { intOption, parseWith } from '../../args.js';

const USAGE = `usage: ebpf-sim sim hooks [--seed N] [--jobs N]
       ebpf-sim sim workload [--cpus N] [--sched POLICY|all] [--seed N] [--jobs N] [--rr-slice-ms N] [--trace] [--trace-out FILE] [--tasks] [--console]

Run the shell-like workload in the simulated kernel: /bin/sh starts N pipelines (producer | consumer, each
forked and exec'ed; they write and read files, stream through a pipe, compute and sleep), then reaps them.
Prints the scheduling metrics per policy; the same seed always gives the same numbers.
'sim hooks' tours the hook points with TypeScript handlers in place of eBPF programs: syscall counting on
raw_syscalls:sys_enter, perf sampling, an lsm:file_open denial and an XDP filter on a generated UDP flow.
  --cpus N         simulated CPUs (default 4)
  --sched POLICY   fifo, rr, cfs, or all (default all)
  --seed N         PRNG seed (default 1)
  --jobs N         pipelines (default 8)
  --rr-slice-ms N  the rr policy's time slice (default 100, Linux's RR_TIMESLICE)
  --trace          record the event trace and print its digest
  --trace-out FILE write the event trace (every switch, wake-up, fork, exec, exit, syscall) to FILE,
                   one file per policy (FILE.<policy>) when several run
  --tasks          print the CPU time of every task under each policy
  --console        print what the programs wrote to /dev/console`;

export const simCommand: Command = {
  name: 'sim',
  summary: 'Run a workload in the simulated kernel and print per-policy metrics, or tour the hook points',
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
          'trace-out': { type: 'string' },
          console: { type: 'boolean' },
          tasks: { type: 'boolean' },
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    const what = positionals[0];
    if (positionals.length !== 1 || (what !== 'workload' && what !== 'hooks')) throw new CliError(`expected 'workload' or 'hooks'\n${USAGE}`, 2);
    const cpus = intOption('cpus', values.cpus, 4, 1, 64);
    const seed = intOption('seed', values.seed, 1, 0, 2 ** 32 - 1);
    const jobs = intOption('jobs', values.jobs, 8, 1, 200);
    const rrSliceMs = intOption('rr-slice-ms', values['rr-slice-ms'], 100, 1, 10_000);
    if (what === 'hooks') {
      io.out(formatHookTour(runHookTour(seed, jobs)));
      return Promise.resolve(0);
    }
    const known = defaultSchedulers().names();
    const policies = values.sched === undefined || values.sched === 'all' ? known : [values.sched];
    for (const policy of policies) if (!known.includes(policy)) throw new CliError(`unknown scheduling policy '${policy}' (have: ${known.join(', ')}, all)`, 2);
    const runs: Array<{ label: string; metrics: KernelMetrics }> = [];
    let failed = false;
    for (const policy of policies) {
      const options: Record<string, number> = policy === 'rr' ? { sliceNs: rrSliceMs * 1e6 } : {};
      const traceOut = values['trace-out'];
      const tracing = values.trace === true || traceOut !== undefined;
      const result = runShellWorkload({ cpus, seed, sched: { policy, options }, trace: { enabled: tracing, syscalls: traceOut !== undefined } }, jobs);
      if (traceOut !== undefined) {
        const path = policies.length > 1 ? `${traceOut}.${policy}` : traceOut;
        try {
          writeFileSync(path, result.kernel.trace.text());
        } catch (error) {
          throw new CliError(`cannot write the trace to ${path}: ${error instanceof Error ? error.message : String(error)}`);
        }
        io.out(`${policy}: ${result.kernel.trace.lines.length} trace lines written to ${path}\n`);
      }
      runs.push({ label: `${policy} x${cpus}`, metrics: result.metrics });
      if (values.console === true) io.out(`--- ${policy}: console ---\n${result.console}`);
      if (values.tasks === true) io.out(`--- ${policy}: CPU time per task ---\n${formatTaskTable(result.metrics)}`);
      if (tracing) io.out(`${policy}: trace digest ${result.traceDigest} (${result.kernel.trace.lines.length} events)\n`);
      if (result.shellStatus !== 0 || result.kernel.crashes.length > 0) {
        failed = true;
        io.err(
          `${policy}: /bin/sh exited with status ${String(result.shellStatus)}; crashes: ${result.kernel.crashes.map((c) => `${c.comm}:${c.pid} ${c.message}`).join('; ') || 'none'}\n`,
        );
      }
    }
    io.out(`shell workload: ${jobs} pipelines, seed ${seed}\n${formatMetricsTable(runs)}`);
    return Promise.resolve(failed ? 1 : 0);
  },
};
