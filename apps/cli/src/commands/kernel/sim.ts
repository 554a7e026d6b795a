import { defaultSchedulers, type KernelMetrics } from '@ebpf-sim/kernel';
import { formatHookTour, formatMetricsTable, formatTaskTable, runHookTour, runShellWorkload } from '@ebpf-sim/kernel/demo';
import { defineCommand, defineGroup, opt } from '../../args.js';
import { writeOutputFile } from '../../files.js';

/** Options both sub-commands take. */
const common = {
  seed: opt.int({ value: 'N', min: 0, max: 2 ** 32 - 1, default: 1, help: 'PRNG seed' }),
  jobs: opt.int({ value: 'N', min: 1, max: 200, default: 8, help: 'pipelines' }),
};

const WORKLOAD = `The shell-like workload: /bin/sh starts N pipelines (producer | consumer, each forked and exec'ed; they
write and read files, stream through a pipe, compute and sleep), then reaps them.`;

const hooksCommand = defineCommand(
  {
    name: 'sim hooks',
    summary: 'Tour the hook points with TypeScript handlers in place of eBPF programs',
    description: `${WORKLOAD}
'sim hooks' runs it with TypeScript handlers in place of eBPF programs on the hook points: syscall counting
on raw_syscalls:sys_enter, perf sampling, an lsm:file_open denial and an XDP filter on a generated UDP flow.`,
    options: common,
  },
  ({ options }, io) => {
    io.out(formatHookTour(runHookTour(options.seed, options.jobs)));
    return 0;
  },
);

const workloadCommand = defineCommand(
  {
    name: 'sim workload',
    summary: 'Run the workload under each scheduling policy and print the metrics',
    description: `${WORKLOAD}
Prints the scheduling metrics per policy; the same seed always gives the same numbers.`,
    options: {
      cpus: opt.int({ value: 'N', min: 1, max: 64, default: 4, help: 'simulated CPUs' }),
      sched: opt.choice([...defaultSchedulers().names(), 'all'], { value: 'POLICY', default: 'all', help: 'scheduling policy, or all of them' }),
      ...common,
      'rr-slice-ms': opt.int({ value: 'N', min: 1, max: 10_000, default: 100, help: "the rr policy's time slice (Linux's RR_TIMESLICE)" }),
      trace: opt.flag('record the event trace and print its digest'),
      'trace-out': opt.path({
        value: 'FILE',
        must: 'output',
        help: 'write the event trace (every switch, wake-up, fork, exec, exit, syscall) to FILE,\none file per policy (FILE.<policy>) when several run',
      }),
      tasks: opt.flag('print the CPU time of every task under each policy'),
      console: opt.flag('print what the programs wrote to /dev/console'),
    },
  },
  ({ options: values }, io) => {
    const { cpus, seed, jobs } = values;
    const rrSliceMs = values['rr-slice-ms'];
    const policies = values.sched === 'all' ? defaultSchedulers().names() : [values.sched];
    const runs: Array<{ label: string; metrics: KernelMetrics }> = [];
    let failed = false;
    for (const policy of policies) {
      const options: Record<string, number> = policy === 'rr' ? { sliceNs: rrSliceMs * 1e6 } : {};
      const traceOut = values['trace-out'];
      const tracing = values.trace === true || traceOut !== undefined;
      const result = runShellWorkload({ cpus, seed, sched: { policy, options }, trace: { enabled: tracing, syscalls: traceOut !== undefined } }, jobs);
      if (traceOut !== undefined) {
        const path = policies.length > 1 ? `${traceOut}.${policy}` : traceOut;
        writeOutputFile(path, result.kernel.trace.text());
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
    return failed ? 1 : 0;
  },
);

export const simCommand = defineGroup({
  name: 'sim',
  summary: 'Run a workload in the simulated kernel and print per-policy metrics, or tour the hook points',
  description: WORKLOAD,
  commands: [workloadCommand, hooksCommand],
});
