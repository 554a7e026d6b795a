import type { KernelBenchRow } from './bench.js';
import type { KernelMetrics } from '../metrics.js';
import type { HookTour } from './hook-tour.js';

/** A plain-text table: a header, a rule, the rows; the first `leftColumns` columns left-aligned, the rest right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, leftColumns = 1): string {
  const widths = header.map((h, column) => Math.max(h.length, ...rows.map((r) => (r[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column < leftColumns ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`;
}

const us = (ns: number): string => (ns / 1000).toFixed(1);
const ms = (ns: number): string => (ns / 1e6).toFixed(3);

/** The kernel benchmark as a table. */
export function formatKernelBenchTable(rows: readonly KernelBenchRow[]): string {
  return table(
    ['benchmark', 'operations', 'wall ms', 'per second', 'virtual ms'],
    rows.map((r) => [
      r.name,
      String(r.operations),
      r.wallMs.toFixed(1),
      `${Math.round(r.perSecond).toLocaleString('en-US')} ${r.unit}/s`,
      r.virtualNs === 0 ? '-' : ms(r.virtualNs),
    ]),
  );
}

/** Scheduling metrics of several runs side by side (one row per run). */
export function formatMetricsTable(runs: ReadonlyArray<{ label: string; metrics: KernelMetrics }>): string {
  return table(
    ['run', 'makespan ms', 'ctx switches', 'syscalls', 'tasks', 'rq latency mean us', 'rq latency max us', 'utilisation', 'migrations'],
    runs.map(({ label, metrics: m }) => [
      label,
      ms(m.nowNs),
      String(m.contextSwitches),
      String(m.syscalls),
      String(m.tasks),
      us(m.runQueueLatencyMeanNs),
      us(m.runQueueLatencyMaxNs),
      `${(m.utilisation * 100).toFixed(1)}%`,
      String(m.migrations),
    ]),
  );
}

/** CPU time per task of one run, busiest first (ties by name). */
export function formatTaskTable(metrics: KernelMetrics): string {
  const rows = Object.entries(metrics.perTaskCpuNs).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return table(
    ['task', 'cpu ms', 'share'],
    rows.map(([task, ns]) => [task, ms(ns), `${((ns / Math.max(1, metrics.cpuTimeNs)) * 100).toFixed(1)}%`]),
  );
}

/** The hook tour's findings as text. */
export function formatHookTour(tour: HookTour): string {
  const counts = (title: string, rows: ReadonlyArray<[string, number]>, limit = 10): string =>
    `${title}\n${table(
      ['name', 'count'],
      rows.slice(0, limit).map(([name, count]) => [name, String(count)]),
    )}`;
  const n = tour.nic;
  return [
    counts('syscalls seen by a handler on raw_syscalls:sys_enter, by syscall', tour.syscallsByName),
    counts('... by command', tour.syscallsByComm),
    counts('perf_event:cpu-clock samples by command', tour.samplesByComm),
    `lsm:file_open denied: ${tour.deniedOpens.join(', ') || 'nothing'}; /bin/sh exit status ${tour.shellStatusWithDenial === undefined ? 'none' : `${tour.shellStatusWithDenial >> 8} (failed children)`}\n`,
    `xdp:eth0 saw ${tour.xdpFrames} frames: ${n.xdpPass} XDP_PASS, ${n.xdpDrop} XDP_DROP (odd UDP source port), ${n.rxRingFull} lost to a full RX ring\n`,
    counts('hook points that fired', tour.fired, 20),
  ].join('\n');
}
