import { PT_REGS, PT_REGS_SYSCALL_ARGS } from '@ebpf-sim/uapi';
import type { HookPoint } from '../hooks/hook.js';
import { BPF_PERF_EVENT_DATA_KERN, PERF_SAMPLE_DATA } from '../hooks/kernel-objects.js';
import type { Cpu } from '../sched/cpu.js';
import type { KernelInternals } from '../services.js';

/** Bytes a sample's context takes in the arena: bpf_perf_event_data_kern, then the pt_regs and perf_sample_data it points to. */
const SAMPLE_CONTEXT_SIZE = BPF_PERF_EVENT_DATA_KERN.size + PT_REGS.size + PERF_SAMPLE_DATA.size;

/** What firing a sample uses: the scheduler (the task on the CPU, its runtime brought up to date) and the arena. */
export type PerfSampleServices = Pick<KernelInternals, 'sched' | 'hookArena'>;

/**
 * One cpu-clock overflow on `cpu` (perf_swevent_hrtimer → __perf_event_overflow → bpf_overflow_handler): the
 * bpf_perf_event_data_kern with the sampled pt_regs (the running task's user registers as of its last trap) and
 * perf_sample_data (the period), built in the arena, and `hook`'s programs run as the task on that CPU.
 */
export function firePerfSample(k: PerfSampleServices, hook: HookPoint, cpu: Cpu, period: number): void {
  const sched = k.sched;
  const task = cpu.curr;
  sched.updateCurr(cpu);
  const arena = k.hookArena;
  const w = arena.write;
  const ctx = arena.begin(cpu.id, SAMPLE_CONTEXT_SIZE);
  const regs = ctx + BPF_PERF_EVENT_DATA_KERN.size;
  const data = regs + PT_REGS.size;
  w.u64(ctx + BPF_PERF_EVENT_DATA_KERN.regs, regs);
  w.u64(ctx + BPF_PERF_EVENT_DATA_KERN.data, data);
  // No struct perf_event is laid out in kernel memory: bpf_perf_prog_read_value has nothing to read.
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
  try {
    arena.fire(hook, ctx, cpu.id, task);
  } finally {
    sched.currentCpu = saved;
    arena.end(cpu.id, SAMPLE_CONTEXT_SIZE);
  }
}
