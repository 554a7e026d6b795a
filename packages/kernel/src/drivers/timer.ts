import type { HookPoint } from '../hooks/hook.js';
import { firePerfSample } from '../perf/sample.js';
import type { Cpu } from '../sched/cpu.js';
import type { KernelInternals } from '../services.js';

/** What the perf timer uses: the CPUs and what runs on them, the clock, its period and its hook. */
export type PerfTimerServices = Pick<KernelInternals, 'sched' | 'clock' | 'config' | 'hooks' | 'hookArena'>;

/**
 * The per-CPU timer used for perf-event sampling (the cpu-clock software event driven by an hrtimer). While
 * a handler is attached to `perf_event:cpu-clock`, every CPU samples the task running on it each period,
 * idle included (pid 0). The context is what bpf_overflow_handler hands a program: a
 * bpf_perf_event_data_kern whose `regs` points to the sampled pt_regs and `data` to the perf_sample_data
 * (period, addr). Nothing is scheduled while nothing is attached.
 */
export class PerfTimer {
  samples = 0;
  private readonly hook: HookPoint;

  constructor(private readonly k: PerfTimerServices) {
    this.hook = k.hooks.require('perf_event:cpu-clock');
  }

  setSampling(enabled: boolean): void {
    for (const cpu of this.k.sched.cpus) {
      if (enabled && cpu.perfTimer === undefined) this.arm(cpu);
      if (!enabled && cpu.perfTimer !== undefined) {
        this.k.clock.cancel(cpu.perfTimer);
        cpu.perfTimer = undefined;
      }
    }
  }

  private arm(cpu: Cpu): void {
    const period = this.k.config.perfSamplePeriodNs;
    cpu.perfTimer = this.k.clock.after(period, () => {
      cpu.perfTimer = undefined;
      if (this.hook.programs.length === 0) return;
      this.sample(cpu, period);
      this.arm(cpu);
    });
  }

  private sample(cpu: Cpu, period: number): void {
    firePerfSample(this.k, this.hook, cpu, period);
    this.samples++;
  }
}
