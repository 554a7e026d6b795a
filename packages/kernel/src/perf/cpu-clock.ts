/**
 * The cpu-clock software event as a sampling event (kernel/events/core.c: perf_swevent_init_hrtimer,
 * perf_swevent_hrtimer): an hrtimer on the event's CPU that fires every sample period of virtual time and,
 * when it overflows, hands the sample to the event's program (bpf_overflow_handler) with a
 * bpf_perf_event_data_kern context: `regs` points to the sampled task's pt_regs, `data` to the
 * perf_sample_data (period, addr).
 *
 * Each event has its own hook point (its program is event->prog, not a list shared with other events), which
 * is not in the kernel's hook registry: the registry's `perf_event:cpu-clock` is the kernel-wide sampling hook
 * of drivers/timer.ts, which every CPU fires while something is attached to it.
 */
import { HookPoint, type ContextField } from '../hooks/hook.js';
import { BPF_PERF_EVENT_DATA_KERN } from '../hooks/kernel-objects.js';
import { firePerfSample } from './sample.js';
import type { KernelInternals } from '../services.js';
import type { TimerEvent } from '../time/clock.js';

/** What a cpu-clock event's timer uses: the CPUs and what runs on them, the clock, the context arena. */
export type CpuClockServices = Pick<KernelInternals, 'sched' | 'clock' | 'hookArena'>;

/** perf_swevent_start_hrtimer: the timer never fires more often than every 10 µs, whatever the period asked. */
export const CPU_CLOCK_MIN_PERIOD_NS = 10_000;
const NSEC_PER_SEC = 1_000_000_000;

/**
 * The sample period of a cpu-clock event in ns (cpu-clock counts nanoseconds): `sample_period`, or with
 * attr.freq NSEC_PER_SEC / sample_freq, as perf_swevent_init_hrtimer turns a frequency into a fixed period.
 * 0 is a counting event, which takes no samples.
 */
export function cpuClockPeriod(samplePeriodOrFreq: number, freq: boolean): number {
  if (!freq) return samplePeriodOrFreq;
  return samplePeriodOrFreq === 0 ? 0 : Math.floor(NSEC_PER_SEC / samplePeriodOrFreq);
}

/**
 * The hrtimer of one cpu-clock event on one CPU. It runs while the event is enabled and a program is set on
 * it: a sample nobody reads changes nothing a program or user space can see here (counts and the ring's
 * sample records of cpu-clock events are not modelled), and an idle timer would keep virtual time busy.
 */
export class CpuClockTimer {
  /** The event's own hook: its program (event->prog) is the one attached here. */
  readonly hook: HookPoint;
  /** Samples taken. */
  samples = 0;
  private timer: TimerEvent | undefined = undefined;
  private enabled = false;
  /** The timer callback, made once so arming allocates no closure. */
  private readonly expire = (): void => this.tick();

  constructor(
    private readonly k: CpuClockServices,
    readonly cpu: number,
    /** Nanoseconds between samples (0: a counting event, never armed). */
    readonly period: number,
    fields: readonly ContextField[],
  ) {
    this.hook = new HookPoint('perf_event:cpu-clock', 'perf_event', 0, BPF_PERF_EVENT_DATA_KERN.size, fields, () => this.update());
  }

  /** PERF_EVENT_IOC_ENABLE / DISABLE (and the attr's `disabled` at open). */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.update();
  }

  /** The event's file went: the timer stops for good. */
  stop(): void {
    this.enabled = false;
    this.update();
  }

  private update(): void {
    const run = this.enabled && this.period > 0 && this.hook.programs.length > 0;
    if (run && this.timer === undefined) this.timer = this.k.clock.after(Math.max(CPU_CLOCK_MIN_PERIOD_NS, this.period), this.expire);
    else if (!run && this.timer !== undefined) {
      this.k.clock.cancel(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.enabled || this.hook.programs.length === 0) return;
    this.sample();
    this.update();
  }

  /** perf_swevent_hrtimer → __perf_event_overflow → bpf_overflow_handler, on the event's CPU, as the task running there. */
  private sample(): void {
    const cpu = this.k.sched.cpus[this.cpu];
    if (cpu === undefined) return;
    firePerfSample(this.k, this.hook, cpu, this.period);
    this.samples++;
  }
}
