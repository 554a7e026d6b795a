import { formatTable } from '@ebpf-sim/kernel/demo';
import { defineCommand, opt } from '../../args.js';
import { CliError } from '../../command.js';
import { HookBenchFailure, runHookBench, type HookBenchReport, type HookBenchRow } from './hook-bench-sim.js';

/** The targets: the counted syscall rate against the bare one, XDP_DROP and ringbuf events per second. */
const TARGETS = { countedVsBare: 0.5, xdpDrop: 10e6, ringbuf: 5e6 } as const;

const millions = (perSecond: number): string => (perSecond / 1e6).toFixed(2);
const verdict = (met: boolean): string => (met ? 'met' : 'MISSED');

function table(report: HookBenchReport): string {
  const { syscallsBare, syscallsCounted, xdpDrop, ringbuf } = report;
  const ratio = syscallsCounted.perSecond / syscallsBare.perSecond;
  const line = (row: HookBenchRow, target: string): string[] => [row.name, String(row.operations), row.ms.toFixed(1), millions(row.perSecond), target];
  return formatTable(
    ['benchmark', 'operations', 'best ms', 'M/s', 'target'],
    [
      line(syscallsBare, '-'),
      line(syscallsCounted, `>= 50% of bare: ${(ratio * 100).toFixed(0)}% ${verdict(ratio >= TARGETS.countedVsBare)}`),
      line(xdpDrop, `>= 10 M/s ${verdict(xdpDrop.perSecond >= TARGETS.xdpDrop)}`),
      line(ringbuf, `>= 5 M/s ${verdict(ringbuf.perSecond >= TARGETS.ringbuf)}`),
    ],
  );
}

export const hookBenchCommand = defineCommand(
  {
    name: 'hook-bench',
    summary: 'Benchmark BPF programs at kernel hook points: syscall tracing, XDP_DROP, ring buffer to epoll',
    description: `Time, in host time, JIT-compiled programs of the clang object rb_bench.bpf.o running at the simulated
kernel's hook points, as the kernel's bench tool does for its benchmarks:
- simulated syscalls per second, bare and with a counting program on raw_syscalls:sys_enter
  (target: at least 50% of the bare rate);
- frames per second dropped by an XDP program through a NIC model (target: 10 M/s);
- ring buffer records per second from a syscall tracepoint program (64 per call) to a reader
  process in epoll_wait using the loader's RingBuffer (target: 5 M/s).
Each figure is the best of --rounds runs after a warm-up run. The programs are attached with
the BpfAttachment every attach path uses. Measure on a quiet machine.`,
    options: {
      syscalls: opt.int({ value: 'N', min: 1, max: 100_000_000, default: 200_000, help: 'getpid(2) calls per run' }),
      packets: opt.int({ value: 'N', min: 1, max: 100_000_000, default: 1_000_000, help: 'frames per run' }),
      events: opt.int({ value: 'N', min: 1, max: 100_000_000, default: 1_000_000, help: 'ring buffer records per run (rounded up to 64)' }),
      rounds: opt.int({ value: 'N', min: 1, max: 100, default: 3, help: 'timed runs per benchmark (the fastest counts)' }),
      json: opt.flag('print the results as JSON'),
    },
  },
  ({ options }, io) => {
    let report: HookBenchReport;
    try {
      report = runHookBench({ syscalls: options.syscalls, packets: options.packets, events: options.events, rounds: options.rounds });
    } catch (error) {
      if (error instanceof HookBenchFailure) throw new CliError(error.message);
      throw error;
    }
    if (options.json) {
      io.out(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    io.out(`BPF programs at kernel hook points (JIT), host time, best of ${options.rounds}\n\n${table(report)}`);
    return 0;
  },
);
