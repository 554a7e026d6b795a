/**
 * The helper-call interface both engines share. The embedder (the bpf subsystem, a test, the conformance
 * plugin) hands the VM a table of helpers as data; an eBPF `call N` runs the helper whose id is N with
 * r1..r5 as arguments and puts its result in r0.
 *
 * Calling convention in this model:
 * - Arguments: r1..r5, read through {@link HelperContext} (as bigint, or as exact numbers for addresses and
 *   small values). The context object is reused for every call: do not keep it past the call.
 * - Result: the helper's return value goes to r0. A `number` must be a safe integer (negative numbers are
 *   two's complement, so `return -22` is -EINVAL); a `bigint` is taken modulo 2^64; `undefined` means 0.
 * - "Clobbered" r1..r5: in Linux the verifier marks r1..r5 unreadable after any call, so no verified program
 *   can observe them. Our deterministic choice is the kernel interpreter's: they keep the values they had
 *   before the call (a JIT'ed helper call must do the same). Callee-saved r6..r9 and r10 are never touched.
 * - A helper that throws stops the program with a `helper-error` fault carrying the error's message.
 */
import type { LinearMemory } from './memory.js';

/**
 * What a helper sees of the machine during the call: the running program's arguments, memory and position (the
 * VM's engine state of that run, see engine-state.ts). To start another program or a callback, a helper calls
 * the VM (which it closes over) directly: that run is nested and leaves this one's state alone.
 */
export interface HelperContext {
  /** The linear memory (read and write program-visible objects through it). */
  readonly mem: LinearMemory;
  /** Argument `n` (1..5) as an unsigned 64-bit value. */
  arg(n: number): bigint;
  /** Argument `n` as a number: exact when below 2^53 (addresses, sizes, flags), else rounded. */
  argNumber(n: number): number;
  /** Low 32 bits of argument `n`, unsigned. */
  argU32(n: number): number;
  /** Slot index of the call instruction in the running program. */
  readonly pc: number;
  /**
   * Stop the program after this helper returns, with r0 = `value` (uBPF's "unwind" helper, Linux's bpf_throw).
   * The helper's own return value is then ignored.
   */
  requestExit(value: number | bigint): void;
}

export type HelperFn = (ctx: HelperContext) => bigint | number | undefined;

/** One entry of a helper (or kfunc) table. */
export interface HelperSpec {
  /** Helper id (`call N`), or BTF id for kfuncs. */
  readonly id: number;
  readonly name: string;
  readonly fn: HelperFn;
}

/** The largest helper id a dense table holds; Linux's helper ids are below 256. */
const DENSE_LIMIT = 4096;

/** A helper table compiled for fast lookup: dense array by id, a map for ids beyond {@link DENSE_LIMIT}. */
export class HelperTable {
  private readonly dense: Array<HelperFn | undefined> = [];
  private readonly sparse = new Map<number, HelperFn>();
  private readonly specs = new Map<number, HelperSpec>();

  constructor(specs: readonly HelperSpec[] = []) {
    for (const spec of specs) this.add(spec);
  }

  add(spec: HelperSpec): void {
    if (!Number.isInteger(spec.id) || spec.id < 0 || spec.id > 0xffffffff) throw new RangeError(`helper '${spec.name}': id must be a u32`);
    if (this.specs.has(spec.id)) throw new Error(`helper id ${spec.id} given twice ('${this.specs.get(spec.id)?.name ?? ''}' and '${spec.name}')`);
    this.specs.set(spec.id, spec);
    if (spec.id < DENSE_LIMIT) {
      while (this.dense.length <= spec.id) this.dense.push(undefined);
      this.dense[spec.id] = spec.fn;
    } else {
      this.sparse.set(spec.id, spec.fn);
    }
  }

  /** The helper with this id (taken as unsigned), or undefined. */
  get(id: number): HelperFn | undefined {
    const u = id >>> 0;
    return u < DENSE_LIMIT ? this.dense[u] : this.sparse.get(u);
  }

  /** The spec with this id, for names in messages. */
  spec(id: number): HelperSpec | undefined {
    return this.specs.get(id >>> 0);
  }

  list(): HelperSpec[] {
    return [...this.specs.values()].sort((a, b) => a.id - b.id);
  }
}

/** The (lo, hi) words of a helper's return value; writes into `out` (no allocation for numbers in int32 range). */
export function helperResultWords(value: bigint | number | undefined, out: Int32Array): void {
  if (value === undefined) {
    out[0] = 0;
    out[1] = 0;
  } else if (typeof value === 'number') {
    // The common results (0, -errno, addresses below 4 GiB) without a floating-point modulo.
    if (value >= 0 && value <= 0xffffffff && value === Math.floor(value)) {
      out[0] = value | 0;
      out[1] = 0;
      return;
    }
    if (value < 0 && value >= -0x80000000 && value === Math.floor(value)) {
      out[0] = value;
      out[1] = -1;
      return;
    }
    if (!Number.isSafeInteger(value)) throw new RangeError(`helper returned ${value}, which is not a safe integer; return a bigint for 64-bit values`);
    out[0] = value % 4294967296;
    out[1] = Math.floor(value / 4294967296);
  } else {
    const u = BigInt.asUintN(64, value);
    out[0] = Number(u & 0xffffffffn);
    out[1] = Number(u >> 32n);
  }
}
