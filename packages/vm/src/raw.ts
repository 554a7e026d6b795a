/**
 * Running a raw program the uBPF / bpf_conformance way: r1 = a writable copy of the input memory, r2 = its
 * length. Shared by the conformance suite, the conformance plugin, `ebpf-sim run` and the bench.
 */
import { fromHex } from '@ebpf-sim/isa';
import type { HelperSpec } from './helpers.js';
import { Arena, LinearMemory, Perm } from './memory.js';
import { loadProgram, type Program } from './program.js';
import { Vm, type EngineName } from './vm.js';

/**
 * The helpers the bpf_conformance corpus calls: only helper 5 (`call_unwind_fail`, and `callx` with r2 = 5).
 * uBPF registers it as its "unwind" function: it returns r1, and a zero result stops the program with r0 = 0.
 */
export const CONFORMANCE_HELPERS: readonly HelperSpec[] = [
  {
    id: 5,
    name: 'unwind',
    fn: (ctx) => {
      const value = ctx.arg(1);
      if (value === 0n && ctx instanceof Vm) ctx.requestExit(0);
      return value;
    },
  },
];

export interface RawRunnerOptions {
  readonly helpers?: readonly HelperSpec[];
  readonly engine?: EngineName;
  readonly budget?: number;
}

/** One VM plus an arena for input copies, reused across runs. */
export class RawRunner {
  readonly vm: Vm;
  private readonly arena: Arena;
  private readonly mark: number;

  constructor(options: RawRunnerOptions = {}) {
    const mem = new LinearMemory();
    this.arena = new Arena(mem);
    this.vm = new Vm({
      arena: this.arena,
      helpers: options.helpers ?? CONFORMANCE_HELPERS,
      ...(options.engine === undefined ? {} : { engine: options.engine }),
      ...(options.budget === undefined ? {} : { budget: options.budget }),
    });
    this.mark = this.arena.top;
  }

  /**
   * Copy `input` into a fresh read-write region and return its address (0 for an empty input, so r1 is NULL
   * like uBPF's). The previous input region is unmapped.
   */
  placeInput(input: Uint8Array): number {
    this.arena.reset(this.mark);
    if (input.length === 0) return 0;
    return this.arena.allocBytes(input, Perm.RW, 'input').start;
  }

  /** Run once with r1 = the input copy, r2 = its length. */
  run(prog: Program, input: Uint8Array): boolean {
    const addr = this.placeInput(input);
    return this.vm.run(prog, addr, input.length);
  }
}

/**
 * Parse a program given as hex text: one 8-byte slot per line (as in the bench's `hex/` files; `#` comments
 * allowed), or one continuous string, or the plugin's "b4  00  ..." byte-per-token form.
 */
export function programFromHex(text: string): Uint8Array {
  const clean = text.replace(/#.*$/gm, '');
  const bytes = fromHex(clean);
  if (bytes.length % 8 !== 0) throw new Error(`program is ${bytes.length} bytes, not a multiple of 8 (one instruction slot is 8 bytes)`);
  return bytes;
}

/** Load a raw program from bytes, with a readable name. */
export function loadRaw(bytes: Uint8Array, name = 'prog'): Program {
  return loadProgram(bytes, { name });
}
