import { defaultSchedulers } from '@ebpf-sim/kernel';
import { benchKernel, formatKernelBenchTable } from '@ebpf-sim/kernel/demo';
import { defineCommand, opt } from '../../args.js';

export const kernelBenchCommand = defineCommand(
  {
    name: 'kernel-bench',
    summary: 'Benchmark the simulated kernel: syscalls/s and context switches/s',
    description: `Measure the simulated kernel: syscalls per second (a getpid loop with nothing attached, and with a handler
on raw_syscalls:sys_enter), context switches per second (two tasks calling sched_yield on one CPU) and the
shell workload on 4 CPUs. Wall-clock rates of this machine; virtual time is shown for reference.`,
    options: {
      scale: opt.number({ value: 'X', above: 0, max: 100, default: 1, help: 'multiply the iteration counts (1: 2M getpid calls)' }),
      sched: opt.choice(defaultSchedulers().names(), { value: 'POLICY', default: 'cfs', help: 'scheduling policy' }),
      json: opt.flag('print the rows as JSON'),
    },
  },
  ({ options }, io) => {
    const rows = benchKernel(options.scale, options.sched);
    io.out(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatKernelBenchTable(rows));
    return 0;
  },
);
