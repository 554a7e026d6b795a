import { BPF_PERF_EVENT_DATA, PT_REGS, PT_REGS_SYSCALL_ARGS } from '@ebpf-sim/uapi';
import type { Kernel } from '../kernel.js';
import type { Cpu } from '../sched/cpu.js';

/**
 * The per-CPU timer used for perf-event sampling (the cpu-clock software event driven by an hrtimer). While
 * a handler is attached to `perf_event:cpu-clock`, every CPU samples the task running on it each period,
 * idle included (pid 0), with a bpf_perf_event_data context. Nothing is scheduled while nothing is attached.
 */
export class PerfTimer {
  samples = 0;

  constructor(private readonly k: Kernel) {}

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
      const hook = this.k.hooks.require('perf_event:cpu-clock');
      if (hook.handlers.length === 0) return;
      this.sample(cpu, period);
      this.arm(cpu);
    });
  }

  private sample(cpu: Cpu, period: number): void {
    const k = this.k;
    const hook = k.hooks.require('perf_event:cpu-clock');
    const task = cpu.curr;
    k.sched.updateCurr(cpu);
    const arena = k.hookArena;
    const w = arena.write;
    const ctx = arena.begin(cpu.id, BPF_PERF_EVENT_DATA.size);
    if (task !== undefined) {
      // The user registers as of the task's last trap (the simulation has no instruction pointer).
      w.u64(ctx + PT_REGS.orig_ax, task.regs[0] ?? 0);
      PT_REGS_SYSCALL_ARGS.forEach((offset, index) => w.u64(ctx + offset, task.regs[index + 1] ?? 0));
      w.u64(ctx + PT_REGS.sp, task.ctx?.stackTop ?? 0);
    }
    w.u64(ctx + BPF_PERF_EVENT_DATA.sample_period, period);
    const saved = k.currentCpu;
    k.currentCpu = cpu.id;
    k.runHook(hook, ctx, cpu.id, task);
    k.currentCpu = saved;
    arena.end(cpu.id, BPF_PERF_EVENT_DATA.size);
    this.samples++;
  }
}
