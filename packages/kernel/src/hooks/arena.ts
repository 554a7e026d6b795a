import { PAGE_SIZE } from '@ebpf-sim/uapi';
import type { PhysicalMemory } from '../mm/physmem.js';
import { ContextWriter } from './context-writer.js';
import type { HookInvocation, HookPoint } from './hook.js';

/** Bytes of context scratch per CPU (contexts nest at most a few deep: tracepoint inside a kprobe, ...). */
export const HOOK_ARENA_PER_CPU = 2 * PAGE_SIZE;

/** How multiple handlers' results combine. */
const combineFirstNonZero = (kind: string): boolean => kind === 'lsm';

/**
 * Where hook contexts are built: a per-CPU scratch area in physical memory (charged to 'hook-ctx'), used
 * as a stack so nested hooks do not clobber each other. `run` calls the attached handlers with the address.
 */
export class HookArena {
  readonly write: ContextWriter;
  private readonly base: number;
  private readonly top: Int32Array;
  /** The invocation record handed to handlers (reused; holds the last call's outputs, e.g. redirectIfindex). */
  readonly invocation: HookInvocation;

  constructor(
    private readonly phys: PhysicalMemory,
    nrCpus: number,
  ) {
    const base = phys.kmalloc(HOOK_ARENA_PER_CPU * nrCpus, 'hook-ctx');
    if (base < 0) throw new Error('kernel: no memory for the hook context arena');
    this.base = base;
    this.top = new Int32Array(nrCpus);
    this.write = new ContextWriter(phys.view, phys.bytes);
    this.invocation = {
      hook: undefined as unknown as HookPoint,
      ctx: 0,
      ctxSize: 0,
      cpu: 0,
      pid: 0,
      tgid: 0,
      comm: '',
      uid: 0,
      now: 0,
      memory: phys,
      mm: undefined,
      redirectIfindex: 0,
    };
  }

  /** Reserve `size` zeroed bytes on `cpu`'s context stack; returns the physical address. */
  begin(cpu: number, size: number): number {
    const used = this.top[cpu] ?? 0;
    const aligned = (size + 7) & ~7;
    if (used + aligned > HOOK_ARENA_PER_CPU) throw new Error(`hook context arena of CPU ${cpu} overflowed (${used + aligned} bytes)`);
    const address = this.base + cpu * HOOK_ARENA_PER_CPU + used;
    this.top[cpu] = used + aligned;
    this.phys.bytes.fill(0, address, address + aligned);
    return address;
  }

  /** Release the most recent `size` bytes of `cpu`'s context stack. */
  end(cpu: number, size: number): void {
    this.top[cpu] = (this.top[cpu] ?? 0) - ((size + 7) & ~7);
  }

  /** The invocation record handlers receive; fill the identity fields, then call `run`. */
  prepare(hook: HookPoint, ctx: number, cpu: number): HookInvocation {
    const invocation = this.invocation as { -readonly [K in keyof HookInvocation]: HookInvocation[K] };
    invocation.hook = hook;
    invocation.ctx = ctx;
    invocation.ctxSize = hook.ctxSize;
    invocation.cpu = cpu;
    invocation.redirectIfindex = 0;
    return invocation;
  }

  /**
   * Call every handler attached to `hook`. The result: for LSM the first non-zero (a denial), otherwise the
   * first handler's (an XDP device runs one program; tracing results are ignored by the caller).
   */
  run(hook: HookPoint, invocation: HookInvocation): number {
    hook.fired++;
    const handlers = hook.handlers;
    let result = 0;
    for (let index = 0; index < handlers.length; index++) {
      const handler = handlers[index] as (inv: HookInvocation) => number;
      const value = handler(invocation);
      if (index === 0) result = value;
      if (combineFirstNonZero(hook.kind) && value !== 0) return value;
    }
    return result;
  }
}
