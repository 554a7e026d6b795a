import { PT_REGS, PT_REGS_SYSCALL_ARGS } from '@ebpf-sim/uapi';
import type { HookPoint } from '../hooks/hook.js';
import { BPF_PERF_EVENT_DATA_KERN, PERF_SAMPLE_DATA } from '../hooks/kernel-objects.js';
import type { Cpu } from '../sched/cpu.js';
import type { KernelInternals } from '../services.js';

/** What the perf timer uses: the CPUs and what runs on them, the clock, its period and its hook. */
export type PerfTimerServices = Pick<KernelInternals, 'sched' | 'clock' | 'config' | 'hooks' | 'hookArena'>;

/** Bytes a sample's context takes in the arena: bpf_perf_event_data_kern, then the pt_regs and perf_sample_data it points to. */
const SAMPLE_CONTEXT_SIZE = BPF_PERF_EVENT_DATA_KERN.size + PT_REGS.size + PERF_SAMPLE_DATA.size;

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
    const k = this.k;
    const task = cpu.curr;
    const sched = k.sched;
    sched.updateCurr(cpu);
    const arena = k.hookArena;
    const w = arena.write;
    const ctx = arena.begin(cpu.id, SAMPLE_CONTEXT_SIZE);
    const regs = ctx + BPF_PERF_EVENT_DATA_KERN.size;
    const data = regs + PT_REGS.size;
    w.u64(ctx + BPF_PERF_EVENT_DATA_KERN.regs, regs);
    w.u64(ctx + BPF_PERF_EVENT_DATA_KERN.data, data);
    // No struct perf_event is modelled: bpf_perf_prog_read_value has nothing to read.
    w.u64(ctx + BPF_PERF_EVENT_DATA_KERN.event, 0);
    if (task !== undefined) {
      // The user registers as of the task's last trap (the simulation has no instruction pointer).
      w.u64(regs + PT_REGS.orig_ax, task.regs[0] ?? 0);
      for (let index = 0; index < PT_REGS_SYSCALL_ARGS.length; index++) w.u64(regs + (PT_REGS_SYSCALL_ARGS[index] as number), task.regs[index + 1] ?? 0);
      w.u64(regs + PT_REGS.sp, task.ctx?.stackTop ?? 0);
    }
    w.u64(data + PERF_SAMPLE_DATA.period, period);
    // A cpu-clock sample has no data address (PERF_SAMPLE_ADDR is for memory events).
    w.u64(data + PERF_SAMPLE_DATA.addr, 0);
    const saved = sched.currentCpu;
    sched.currentCpu = cpu.id;
    arena.fire(this.hook, ctx, cpu.id, task);
    sched.currentCpu = saved;
    arena.end(cpu.id, SAMPLE_CONTEXT_SIZE);
    this.samples++;
  }
}
