import { PAGE_SIZE } from '@ebpf-sim/uapi';
import type { PhysicalMemory } from '../mm/physmem.js';
import type { Task } from '../task/task.js';
import { ContextWriter } from './context-writer.js';
import type { HookInvocation, HookPoint } from './hook.js';

/** Bytes of context scratch per CPU (contexts nest at most a few deep: tracepoint inside a kprobe, ...). */
export const HOOK_ARENA_PER_CPU = 2 * PAGE_SIZE;

/**
 * Hooks fired inside hooks on one CPU, at most (a helper that fires a tracepoint inside a kprobe program
 * inside a syscall's test run is three). Recursion guards keep a program from nesting in itself, so only
 * distinct programs stack up; deeper nesting is a kernel error, not a silent overwrite.
 */
export const HOOK_MAX_NESTING = 8;

/** Contexts up to this size are zeroed by {@link HookArena.begin} with inline stores, larger ones with fill. */
const INLINE_ZERO_BYTES = 256;

/** An invocation record as the arena fills it (handlers see it read-only, but for redirectIfindex). */
type InvocationRecord = { -readonly [K in keyof HookInvocation]: HookInvocation[K] };

/**
 * Where hook contexts are built and hooks are fired. Each CPU has a scratch area in physical memory
 * (charged to 'hook-ctx'), used as a stack so nested contexts do not clobber each other, and one
 * preallocated invocation record per nesting level, so a hook fired from inside a handler does not
 * overwrite the record of the handler that fired it. Firing allocates nothing.
 */
export class HookArena {
  readonly write: ContextWriter;
  /**
   * bpf_prog_active: per CPU, how many programs with the `cpu` recursion guard are running there. The bpf
   * subsystem also raises it around map updates from syscalls (bpf_disable_instrumentation), as Linux does.
   */
  readonly bpfProgActive: Int32Array;
  private readonly base: number;
  /** phys.view (the memory does not grow, so the view stays valid). */
  private readonly view: DataView;
  private readonly top: Int32Array;
  private readonly depth: Int32Array;
  private readonly records: InvocationRecord[];
  /** The idle task's comm per CPU (interrupt context runs as swapper/N). */
  private readonly idleComm: string[];

  constructor(
    private readonly phys: PhysicalMemory,
    readonly nrCpus: number,
    private readonly clock: { readonly now: number },
  ) {
    const base = phys.kmalloc(HOOK_ARENA_PER_CPU * nrCpus, 'hook-ctx');
    if (base < 0) throw new Error('kernel: no memory for the hook context arena');
    this.base = base;
    this.view = phys.view;
    this.top = new Int32Array(nrCpus);
    this.depth = new Int32Array(nrCpus);
    this.bpfProgActive = new Int32Array(nrCpus);
    this.write = new ContextWriter(phys.view, phys.bytes);
    this.records = [];
    this.idleComm = Array.from({ length: nrCpus }, (_, cpu) => `swapper/${cpu}`);
    for (let cpu = 0; cpu < nrCpus; cpu++) {
      for (let level = 0; level < HOOK_MAX_NESTING; level++) {
        this.records.push({
          hook: undefined as unknown as HookPoint,
          ctx: 0,
          ctxSize: 0,
          cpu,
          level,
          pid: 0,
          tgid: 0,
          comm: '',
          uid: 0,
          now: 0,
          memory: phys,
          mm: undefined,
          redirectIfindex: 0,
        });
      }
    }
  }

  /** Reserve `size` zeroed bytes on `cpu`'s context stack; returns the physical address (8-aligned). */
  begin(cpu: number, size: number): number {
    const address = this.reserve(cpu, size);
    const end = address + ((size + 7) & ~7);
    if (end - address > INLINE_ZERO_BYTES) {
      this.phys.bytes.fill(0, address, end);
      return address;
    }
    // A small context (most are: a tracepoint record, pt_regs, xdp_buff) is zeroed with 8-byte stores that
    // TurboFan inlines: TypedArray.prototype.fill is a builtin call costing more than the stores themselves.
    // (+0.0 is eight zero bytes.)
    const view = this.view;
    for (let at = address; at < end; at += 8) view.setFloat64(at, 0, true);
    return address;
  }

  /**
   * Reserve `size` bytes on `cpu`'s context stack WITHOUT zeroing them, for a builder that writes every byte
   * of its context itself (the hot syscall-entry record); returns the physical address (8-aligned).
   */
  reserve(cpu: number, size: number): number {
    if (!(cpu >= 0 && cpu < this.nrCpus)) throw new RangeError(`hook context arena: no CPU ${cpu} (the kernel has ${this.nrCpus})`);
    const used = this.top[cpu] as number;
    const aligned = (size + 7) & ~7;
    if (used + aligned > HOOK_ARENA_PER_CPU) throw new Error(`hook context arena of CPU ${cpu} overflowed (${used + aligned} bytes)`);
    this.top[cpu] = used + aligned;
    return this.base + cpu * HOOK_ARENA_PER_CPU + used;
  }

  /** Release the most recent `size` bytes of `cpu`'s context stack. */
  end(cpu: number, size: number): void {
    this.top[cpu] = (this.top[cpu] ?? 0) - ((size + 7) & ~7);
  }

  /** Bytes of `cpu`'s context stack in use (0 when no hook is being built or run there). */
  used(cpu: number): number {
    return this.top[cpu] ?? 0;
  }

  /** How many hooks are running on `cpu` right now, one inside the other. */
  nesting(cpu: number): number {
    return this.depth[cpu] ?? 0;
  }

  /** The hook whose programs run on `cpu` now (the innermost when nested), or undefined when none does. */
  running(cpu: number): HookPoint | undefined {
    const level = this.depth[cpu] ?? 0;
    return level === 0 ? undefined : this.records[cpu * HOOK_MAX_NESTING + level - 1]?.hook;
  }

  /**
   * Run `hook`'s programs with the context at `ctx`, as `task` (undefined: idle or interrupt context) on
   * `cpu`. The result: for LSM the first non-zero (a denial), for tc the first verdict other than TCX_NEXT
   * (TCX_NEXT when none), otherwise the first program's. A program that
   * is already running on this CPU (its recursion guard is up) is not started again: its miss is counted.
   */
  fire(hook: HookPoint, ctx: number, cpu: number, task: Task | undefined): number {
    if (!(cpu >= 0 && cpu < this.nrCpus)) throw new RangeError(`cannot fire ${hook.name}: no CPU ${cpu} (the kernel has ${this.nrCpus})`);
    const level = this.depth[cpu] as number;
    if (level >= HOOK_MAX_NESTING) {
      throw new Error(`hooks nested ${HOOK_MAX_NESTING} deep on CPU ${cpu}: cannot fire ${hook.name} (a handler keeps firing hooks from inside itself)`);
    }
    const invocation = this.records[cpu * HOOK_MAX_NESTING + level] as InvocationRecord;
    // The object fields are stored only when they change (a hook firing again and again for one task, the hot
    // case, then writes none): a store of a heap object into this long-lived record goes through V8's write
    // barrier, a compare does not.
    if (invocation.hook !== hook) invocation.hook = hook;
    invocation.ctx = ctx;
    invocation.ctxSize = hook.ctxSize;
    invocation.redirectIfindex = 0;
    if (task === undefined) {
      invocation.pid = 0;
      invocation.tgid = 0;
      const comm = this.idleComm[cpu] as string;
      if (invocation.comm !== comm) invocation.comm = comm;
      invocation.uid = 0;
      if (invocation.mm !== undefined) invocation.mm = undefined;
    } else {
      const group = task.group;
      invocation.pid = task.pid;
      invocation.tgid = group.tgid;
      if (invocation.comm !== task.comm) invocation.comm = task.comm;
      invocation.uid = group.cred.uid;
      if (invocation.mm !== group.mm) invocation.mm = group.mm;
    }
    invocation.now = this.clock.now;
    this.depth[cpu] = level + 1;
    try {
      return this.runPrograms(hook, invocation, cpu);
    } finally {
      this.depth[cpu] = level;
    }
  }

  /**
   * The record of the firing that last finished on `cpu` at the current nesting level, with its outputs
   * (XDP's redirectIfindex). Valid until the next firing on that CPU.
   */
  completed(cpu: number): HookInvocation {
    return this.records[cpu * HOOK_MAX_NESTING + (this.depth[cpu] as number)] as HookInvocation;
  }

  private runPrograms(hook: HookPoint, invocation: HookInvocation, cpu: number): number {
    hook.fired++;
    const programs = hook.programs;
    const shared = this.bpfProgActive;
    const continueValue = hook.continueValue;
    let result = continueValue ?? 0;
    // The length is read on every pass: a program may detach itself (or another) while it runs.
    for (let index = 0; index < programs.length; index++) {
      const program = programs[index];
      if (program === undefined) break;
      const guard = program.guard === 'program' ? program.active : program.guard === 'cpu' ? shared : undefined;
      if (guard !== undefined) {
        if (guard[cpu] !== 0) {
          program.recursionMisses++;
          continue;
        }
        guard[cpu] = 1;
      }
      let value: number;
      try {
        value = program.run(invocation);
      } finally {
        if (guard !== undefined) guard[cpu] = 0;
      }
      program.runs++;
      if (continueValue === undefined) {
        if (index === 0) result = value;
      } else if (value !== continueValue) return value;
    }
    return result;
  }
}
