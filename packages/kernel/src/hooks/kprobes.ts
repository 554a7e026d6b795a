import { PT_REGS, PT_REGS_FUNC_ARGS } from '@ebpf-sim/uapi';
import type { KernelInternals } from '../services.js';
import type { Task } from '../task/task.js';
import type { HookPoint } from './hook.js';
import { fireTrampoline } from './raw-tracepoints.js';
import { KPROBE_FUNCTION_PROTOS, KPROBE_FUNCTIONS, fentryHookName, fexitHookName, type KprobeFunction } from './registry.js';

/** The entry and return probes of one modelled kernel function, and its BPF trampoline (fentry, fexit). */
export interface KprobeSite {
  readonly entry: HookPoint;
  readonly ret: HookPoint;
  readonly fentry: HookPoint;
  readonly fexit: HookPoint;
  /** The function's argument count (the trampoline's slots). */
  readonly nargs: number;
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
    for (const fn of KPROBE_FUNCTIONS) {
      sites[fn] = {
        entry: k.hooks.require(`kprobe:${fn}`),
        ret: k.hooks.require(`kretprobe:${fn}`),
        fentry: k.hooks.require(fentryHookName(fn)),
        fexit: k.hooks.require(fexitHookName(fn)),
        nargs: KPROBE_FUNCTION_PROTOS[fn].args.length,
      };
    }
    this.sites = sites;
  }

  /**
   * The entry of `site`'s function: its kprobe (pt_regs with the C arguments in di, si, dx, cx, r8, r9), then its
   * fentry programs (the arguments as u64 slots).
   */
  enter(site: KprobeSite, task: Task | undefined, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0): void {
    if (site.entry.programs.length !== 0) this.kprobe(site.entry, task, a0, a1, a2, a3, a4, a5);
    if (site.fentry.programs.length !== 0)
      fireTrampoline(this.k.hookArena, site.fentry, this.k.current.currentCpu, task, site.nargs, 0, a0, a1, a2, a3, a4, a5);
  }

  private kprobe(hook: HookPoint, task: Task | undefined, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number): void {
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

  /**
   * The return of `site`'s function: its kretprobe (pt_regs with the return value in ax), then its fexit
   * programs (the arguments the function was called with, then `ret`). Sites that pass no arguments give fexit
   * zeros for them.
   */
  exit(site: KprobeSite, task: Task | undefined, ret: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0): void {
    if (site.ret.programs.length !== 0) this.kretprobe(site.ret, task, ret);
    if (site.fexit.programs.length !== 0)
      fireTrampoline(this.k.hookArena, site.fexit, this.k.current.currentCpu, task, site.nargs, ret, a0, a1, a2, a3, a4, a5);
  }

  private kretprobe(hook: HookPoint, task: Task | undefined, ret: number): void {
    const arena = this.k.hookArena;
    const cpu = this.k.current.currentCpu;
    const ctx = arena.begin(cpu, PT_REGS.size);
    arena.write.u64(ctx + PT_REGS.ax, ret);
    arena.fire(hook, ctx, cpu, task);
    arena.end(cpu, PT_REGS.size);
  }
}
