import type { AddressSpace } from '../mm/address-space.js';
import type { PhysicalMemory } from '../mm/physmem.js';

/** Kinds of hook points, as bpf attach types see them. */
export type HookKind = 'tracepoint' | 'kprobe' | 'kretprobe' | 'xdp' | 'lsm' | 'perf_event';

/** One field of a hook's context (the tracepoint `format` file, or the struct the program reads). */
export interface ContextField {
  readonly name: string;
  readonly ctype: string;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
}

/**
 * What an attached handler receives. `ctx` is the physical address where the kernel built the context
 * (in `memory.memory`, the WebAssembly.Memory the VM runs on); the object is reused between calls, so copy
 * what must outlive the call.
 */
export interface HookInvocation {
  readonly hook: HookPoint;
  ctx: number;
  ctxSize: number;
  cpu: number;
  /** Current task (0 for the idle task / interrupt context). */
  pid: number;
  tgid: number;
  comm: string;
  uid: number;
  /** Virtual time, ns (bpf_ktime_get_ns). */
  now: number;
  readonly memory: PhysicalMemory;
  /** The current task's address space, for bpf_probe_read_user; undefined in interrupt context. */
  mm: AddressSpace | undefined;
  /** XDP: the ifindex an XDP_REDIRECT goes to (set by the redirect helper); 0 if none. */
  redirectIfindex: number;
}

/** An attached program: returns the program's result (XDP action, LSM errno as a negative number, ignored for tracing). */
export type HookHandler = (invocation: HookInvocation) => number;

/**
 * A named place in the kernel where handlers run: a tracepoint, kprobe, XDP receive path, LSM hook or
 * perf-event timer. A hook with nothing attached costs one array-length check at its site.
 */
export class HookPoint {
  readonly handlers: HookHandler[] = [];
  /** Invocations so far (only counted when something is attached). */
  fired = 0;

  constructor(
    readonly name: string,
    readonly kind: HookKind,
    /** The tracepoint ID (common_type) or 0. */
    readonly id: number,
    readonly ctxSize: number,
    readonly fields: readonly ContextField[],
    private readonly onChange: (hook: HookPoint, delta: number) => void,
  ) {}

  get attached(): boolean {
    return this.handlers.length !== 0;
  }

  /** Attach `handler`; returns the function that detaches it. */
  attach(handler: HookHandler): () => void {
    this.handlers.push(handler);
    this.onChange(this, +1);
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      const index = this.handlers.indexOf(handler);
      if (index >= 0) this.handlers.splice(index, 1);
      this.onChange(this, -1);
    };
  }

  /** The tracefs `format` text of this hook's context. */
  format(): string {
    const lines = this.fields.map((f) => `\tfield:${f.ctype} ${f.name};\toffset:${f.offset};\tsize:${f.size};\tsigned:${f.signed ? 1 : 0};`);
    return `name: ${this.name.split(':').pop() ?? this.name}\nID: ${this.id}\nformat:\n${lines.join('\n')}\n`;
  }
}
