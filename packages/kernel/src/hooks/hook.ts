import { TCX_ACTION } from '@ebpf-sim/uapi';
import { NR_CPUS } from '../config.js';
import type { PhysicalMemory } from '../mm/physmem.js';
import type { UserCopy } from '../mm/user-memory.js';

/** Kinds of hook points, as bpf attach types see them. */
export type HookKind =
  | 'tracepoint'
  | 'kprobe'
  | 'kretprobe'
  | 'xdp'
  | 'tc'
  | 'lsm'
  | 'perf_event'
  | 'raw_tracepoint'
  | 'fentry'
  | 'fexit'
  // A trampoline's fmod_ret programs (BPF_MODIFY_RETURN): between fentry and the function, able to skip it.
  | 'fmod_ret';

/**
 * The kernel object a hook's `ctx` address points to. Programs read the uapi struct of their program type;
 * the verifier's context rewrite turns those reads into loads from this object (see hooks/kernel-objects.ts):
 * - `trace_event_raw`: the tracepoint record (struct trace_event_raw_<name>, the layout of the `format` file);
 * - `pt_regs`: struct pt_regs (kprobe, kretprobe);
 * - `xdp_buff`: struct xdp_buff (XDP_BUFF), whose rxq points to the device's xdp_rxq_info;
 * - `sk_buff`: struct sk_buff (SK_BUFF), the packet at a device's tc ingress or egress (tcx);
 * - `bpf_perf_event_data_kern`: BPF_PERF_EVENT_DATA_KERN, pointing to the sampled pt_regs and perf_sample_data;
 * - `u64_args`: the BPF trampoline's array of u64 argument slots (LSM_CTX_SIZE bytes, the return slot after
 *   the last argument).
 */
export type HookCtxObject = 'trace_event_raw' | 'pt_regs' | 'xdp_buff' | 'sk_buff' | 'bpf_perf_event_data_kern' | 'u64_args';

/** Which kernel object each kind of hook hands its programs (data, so the bpf side can tie hooks to program types). */
export const HOOK_CTX_OBJECTS: Readonly<Record<HookKind, HookCtxObject>> = {
  tracepoint: 'trace_event_raw',
  kprobe: 'pt_regs',
  kretprobe: 'pt_regs',
  xdp: 'xdp_buff',
  tc: 'sk_buff',
  lsm: 'u64_args',
  perf_event: 'bpf_perf_event_data_kern',
  // A raw tracepoint's TP_PROTO arguments as u64 slots (include/trace/bpf_probe.h: __bpf_trace_run's args[]).
  raw_tracepoint: 'u64_args',
  // The BPF trampoline's slots: the function's arguments, and for fexit its return value after them.
  fentry: 'u64_args',
  fexit: 'u64_args',
  // The function's arguments, then the return slot (0 while no fmod_ret program returned non-zero).
  fmod_ret: 'u64_args',
};

/**
 * How the results of several programs on one hook combine: `first` is the first program's result (an XDP
 * device runs one program; tracing results are ignored by the caller); `first-nonzero` stops at the first
 * program that returns non-zero (BPF LSM programs run as fmod_ret: a denial ends the chain); `first-not-next`
 * stops at the first program that returns anything but TCX_NEXT (-1), as tcx_run does, and that verdict (or
 * TCX_NEXT when every program said so) is the result.
 */
export type HookResultRule = 'first' | 'first-nonzero' | 'first-not-next';

/** The result that lets the next program run, for the rules that stop early. */
const CONTINUE_VALUES: Readonly<Record<HookResultRule, number | undefined>> = {
  first: undefined,
  'first-nonzero': 0,
  'first-not-next': TCX_ACTION.NEXT,
};

export const HOOK_RESULT_RULES: Readonly<Record<HookKind, HookResultRule>> = {
  tracepoint: 'first',
  kprobe: 'first',
  kretprobe: 'first',
  xdp: 'first',
  tc: 'first-not-next',
  lsm: 'first-nonzero',
  perf_event: 'first',
  // Every program on a raw tracepoint or a trampoline runs; tracing results are ignored.
  raw_tracepoint: 'first',
  fentry: 'first',
  fexit: 'first',
  // invoke_bpf_mod_ret (arch/x86/net/bpf_jit_comp.c): after each program, a non-zero return skips the rest and the function.
  fmod_ret: 'first-nonzero',
};

/**
 * Whether the kernel acts on what a hook's programs return. Tracing hooks discard it: Linux's __bpf_trace_run
 * and the BPF trampoline's fentry/fexit calls drop bpf_prog_run's value, and trace_call_bpf's (kprobes,
 * tracepoints) and bpf_overflow_handler's only decide whether perf records the event itself, which the
 * simulation does not model. A runner may skip reading the verdict of a program at such a hook.
 */
export const HOOK_RESULT_USED: Readonly<Record<HookKind, boolean>> = {
  tracepoint: false,
  kprobe: false,
  kretprobe: false,
  xdp: true,
  tc: true,
  lsm: true,
  perf_event: false,
  raw_tracepoint: false,
  fentry: false,
  fexit: false,
  fmod_ret: true,
};

/** One field of a hook's context (the tracepoint `format` file, or the kernel object at ctx). */
export interface ContextField {
  readonly name: string;
  readonly ctype: string;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
}

/**
 * What an attached handler receives. `ctx` is the physical address where the kernel built the context
 * (in `memory.memory`, the WebAssembly.Memory the VM runs on). The record belongs to one CPU and nesting
 * level and is reused by the next firing there, so copy what must outlive the call. A hook fired from inside
 * a handler gets the next level's record: this one stays intact.
 */
export interface HookInvocation {
  readonly hook: HookPoint;
  readonly ctx: number;
  readonly ctxSize: number;
  readonly cpu: number;
  /** Nesting level on this CPU: 0 for a hook fired by the kernel, 1 for one fired inside a level-0 handler, ... */
  readonly level: number;
  /** Current task (0 for the idle task / interrupt context). */
  readonly pid: number;
  readonly tgid: number;
  readonly comm: string;
  readonly uid: number;
  /** Virtual time, ns (bpf_ktime_get_ns). */
  readonly now: number;
  readonly memory: PhysicalMemory;
  /** The current task's user memory, for bpf_probe_read_user; undefined in interrupt context. */
  readonly mm: UserCopy | undefined;
  /** XDP: the ifindex an XDP_REDIRECT goes to (set by the redirect helper); 0 if none. */
  redirectIfindex: number;
}

/** A handler's code: returns the program's result (XDP action, LSM errno as a negative number, ignored for tracing). */
export type HookHandler = (invocation: HookInvocation) => number;

/**
 * How a program is kept from running inside itself on one CPU, as Linux does it:
 * - `program`: the program's own per-CPU counter (prog->active), checked by __bpf_trace_run (raw and BTF
 *   tracepoints) and the trampoline's __bpf_prog_enter_recur (fentry/fexit);
 * - `cpu`: the per-CPU bpf_prog_active counter shared by every program with this guard, checked by
 *   trace_call_bpf (kprobes, tracepoints) and the perf-event overflow handler: while any of them runs on a
 *   CPU, none of them starts there;
 * - `none`: no check (XDP and TC run in softirq and are not re-entered by hooks; BPF LSM programs).
 * A run that is not started counts one recursion miss (bpf_prog_inc_misses_counter).
 */
export type RecursionGuard = 'program' | 'cpu' | 'none';

/**
 * Something attached to hook points: its code, its per-CPU recursion guard and its statistics. The bpf
 * subsystem wraps each BPF program in one (one per program, however many hooks it is attached to, since
 * prog->active is per program) and reads `recursionMisses` for bpf_prog_info.recursion_misses.
 */
export class HookProgram {
  /** Runs not started because the program (or, for the `cpu` guard, any guarded program) was running on that CPU. */
  recursionMisses = 0;
  /** Runs completed. */
  runs = 0;

  constructor(
    readonly run: HookHandler,
    readonly guard: RecursionGuard = 'program',
    readonly name: string = run.name === '' ? 'anonymous' : run.name,
    /**
     * prog->active: 1 while the program runs on that CPU (`program` guard). Attachments of one program (two
     * links, each with its own bpf_cookie) pass the same array, since Linux's counter is the program's.
     */
    readonly active: Int32Array = new Int32Array(NR_CPUS),
  ) {}
}

/**
 * A named place in the kernel where programs run: a tracepoint, kprobe, XDP receive path, LSM hook or
 * perf-event timer. A hook with nothing attached costs one array-length check at its site
 * (`hook.programs.length`).
 */
export class HookPoint {
  readonly programs: HookProgram[] = [];
  /** Invocations so far (only counted when something is attached). */
  fired = 0;
  /** The kernel object at `ctx` (HOOK_CTX_OBJECTS by kind). */
  readonly ctxObject: HookCtxObject;
  /**
   * The result that lets the next program run (HOOK_RESULT_RULES by kind): any other ends the run and is its
   * result; undefined when every program runs and the first one's result counts.
   */
  readonly continueValue: number | undefined;
  /** The hook's site acts on its programs' results (HOOK_RESULT_USED by kind). */
  readonly resultUsed: boolean;

  constructor(
    readonly name: string,
    readonly kind: HookKind,
    /** The tracepoint ID (common_type) or 0. */
    readonly id: number,
    /** Bytes of the object at ctx that programs may read. */
    readonly ctxSize: number,
    readonly fields: readonly ContextField[],
    private readonly onChange: (hook: HookPoint, delta: number) => void,
  ) {
    this.ctxObject = HOOK_CTX_OBJECTS[kind];
    this.continueValue = CONTINUE_VALUES[HOOK_RESULT_RULES[kind]];
    this.resultUsed = HOOK_RESULT_USED[kind];
  }

  get attached(): boolean {
    return this.programs.length !== 0;
  }

  /**
   * Attach a program (or a bare handler, which gets its own `program` guard); returns the function that
   * detaches it. Programs run in attach order.
   */
  attach(program: HookProgram | HookHandler): () => void {
    const attached = program instanceof HookProgram ? program : new HookProgram(program);
    this.programs.push(attached);
    this.onChange(this, +1);
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      const index = this.programs.indexOf(attached);
      if (index >= 0) this.programs.splice(index, 1);
      this.onChange(this, -1);
    };
  }

  /** The tracefs `format` text of this hook's context. */
  format(): string {
    const lines = this.fields.map((f) => `\tfield:${f.ctype} ${f.name};\toffset:${f.offset};\tsize:${f.size};\tsigned:${f.signed ? 1 : 0};`);
    return `name: ${this.name.split(':').pop() ?? this.name}\nID: ${this.id}\nformat:\n${lines.join('\n')}\n`;
  }
}
