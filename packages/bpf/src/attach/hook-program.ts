/**
 * A loaded program as a hook point runs it: Linux's place of a program in a tracepoint's, kprobe's or device's
 * program list, and bpf_prog_run on the context the hook built. Every attach path (perf-event links, raw
 * tracepoints, trampolines, XDP and tcx, socket filters) attaches a {@link BpfAttachment} to a kernel
 * `HookPoint`; the kernel fires it without knowing it is BPF.
 *
 * One attachment per link or perf event, each with its own bpf_cookie, sharing the program's per-CPU
 * `active` counter (prog->active) through {@link progActive}.
 */
import { HookProgram, NR_CPUS, type HookInvocation, type RecursionGuard } from '@ebpf-sim/kernel';
import { BPF_PROG_TYPE } from '@ebpf-sim/uapi';
import type { BpfRuntime, RunnableProgram } from '../runtime/runtime.js';

/**
 * The recursion guard a program type runs under at its hooks (see the kernel's RecursionGuard), as Linux's
 * run paths check it:
 * - kprobe and tracepoint programs go through trace_call_bpf, perf-event programs through
 *   bpf_overflow_handler: both test the per-CPU bpf_prog_active counter (`cpu`);
 * - raw tracepoints go through __bpf_trace_run and TRACING programs through __bpf_prog_enter_recur: both
 *   test prog->active (`program`);
 * - BPF LSM programs (bpf_prog_check_recur is false for LSM), XDP, TC and the other networking types run
 *   unguarded (`none`).
 */
const HOOK_RECURSION_GUARDS: ReadonlyMap<number, RecursionGuard> = new Map<number, RecursionGuard>([
  [BPF_PROG_TYPE.KPROBE, 'cpu'],
  [BPF_PROG_TYPE.TRACEPOINT, 'cpu'],
  [BPF_PROG_TYPE.PERF_EVENT, 'cpu'],
  [BPF_PROG_TYPE.RAW_TRACEPOINT, 'program'],
  [BPF_PROG_TYPE.RAW_TRACEPOINT_WRITABLE, 'program'],
  [BPF_PROG_TYPE.TRACING, 'program'],
]);

/** The guard `progType` runs under at a hook (`none` for the types Linux runs unguarded). */
export function hookRecursionGuard(progType: number): RecursionGuard {
  return HOOK_RECURSION_GUARDS.get(progType) ?? 'none';
}

/** A program that can be attached: what the runtime runs, and its name for the hook's program list. */
export interface AttachableProgram extends RunnableProgram {
  readonly name: string;
}

const activeOf = new WeakMap<AttachableProgram, Int32Array>();

/** prog->active of `prog`: one counter per CPU, the same array for every attachment of the program. */
export function progActive(prog: AttachableProgram): Int32Array {
  let active = activeOf.get(prog);
  if (active === undefined) {
    active = new Int32Array(NR_CPUS);
    activeOf.set(prog, active);
  }
  return active;
}

/**
 * One attachment of a program to hook points: its handler runs the program on the hook's context with the
 * attachment's cookie. The result is r0's low 32 bits, signed (the XDP or TC action, an LSM errno). A fault
 * stops the program with r0 = 0, as the kernel's exception tables leave it, and is counted in `faults`.
 */
export class BpfAttachment extends HookProgram {
  /** Runs that ended in a fault (the VM's fault says why): the program stopped, the hook went on. */
  faults = 0;

  constructor(
    readonly runtime: BpfRuntime,
    readonly prog: AttachableProgram,
    /** The attachment's bpf_cookie (0n when the attach path sets none). */
    public cookie: bigint = 0n,
  ) {
    // bpf_prog_run at the hook: the running hook goes in the RunState for the stack helpers (runAtHook restores
    // the outer one: a hook may fire inside a program).
    const run = (invocation: HookInvocation): number => {
      const result = runtime.runAtHook(prog, invocation.ctx, invocation.cpu, this.cookie, invocation.hook);
      if (runtime.lastRunFaulted) this.faults++;
      return result;
    };
    super(run, hookRecursionGuard(prog.progType), prog.name === '' ? 'bpf_prog' : prog.name, progActive(prog));
  }
}
