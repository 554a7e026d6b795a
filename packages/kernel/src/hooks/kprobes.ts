import { PT_REGS, PT_REGS_FUNC_ARGS } from '@ebpf-sim/uapi';
import type { KernelInternals } from '../services.js';
import type { Task } from '../task/task.js';
import type { HookPoint } from './hook.js';
import { KPROBE_FUNCTIONS, type KprobeFunction } from './registry.js';

/** The entry and return probes of one modelled kernel function. */
export interface KprobeSite {
  readonly entry: HookPoint;
  readonly ret: HookPoint;
}

/** What kprobe sites use: the hook points, the context arena and the current CPU. */
export type KprobeServices = Pick<KernelInternals, 'hooks' | 'hookArena' | 'current'>;

const [ARG0, ARG1, ARG2, ARG3, ARG4, ARG5] = PT_REGS_FUNC_ARGS;

/**
 * The kprobe and kretprobe call sites in modelled kernel functions (KPROBE_FUNCTIONS; the syscall table has
 * its own for `__x64_sys_<name>`). Hook points are resolved once at boot, so a site with nothing attached
 * costs one array-length check.
 */
export class KprobeSites {
  /** The sites by function name. */
  readonly sites: Readonly<Record<KprobeFunction, KprobeSite>>;

  constructor(private readonly k: KprobeServices) {
    const sites = {} as Record<KprobeFunction, KprobeSite>;
    for (const fn of KPROBE_FUNCTIONS) sites[fn] = { entry: k.hooks.require(`kprobe:${fn}`), ret: k.hooks.require(`kretprobe:${fn}`) };
    this.sites = sites;
  }

  /** kprobe at the entry of `site`'s function: pt_regs with the C arguments in di, si, dx, cx, r8, r9. */
  enter(site: KprobeSite, task: Task | undefined, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0): void {
    const hook = site.entry;
    if (hook.programs.length === 0) return;
    const arena = this.k.hookArena;
    const w = arena.write;
    const cpu = this.k.current.currentCpu;
    const ctx = arena.begin(cpu, PT_REGS.size);
    w.u64(ctx + ARG0, a0);
    w.u64(ctx + ARG1, a1);
    w.u64(ctx + ARG2, a2);
    w.u64(ctx + ARG3, a3);
    w.u64(ctx + ARG4, a4);
    w.u64(ctx + ARG5, a5);
    arena.fire(hook, ctx, cpu, task);
    arena.end(cpu, PT_REGS.size);
  }

  /** kretprobe at the return of `site`'s function: pt_regs with the return value in ax. */
  exit(site: KprobeSite, task: Task | undefined, ret: number): void {
    const hook = site.ret;
    if (hook.programs.length === 0) return;
    const arena = this.k.hookArena;
    const cpu = this.k.current.currentCpu;
    const ctx = arena.begin(cpu, PT_REGS.size);
    arena.write.u64(ctx + PT_REGS.ax, ret);
    arena.fire(hook, ctx, cpu, task);
    arena.end(cpu, PT_REGS.size);
  }
}
