/**
 * Running a raw program the uBPF / bpf_conformance way: r1 = a writable copy of the input memory, r2 = its
 * length. Shared by the conformance suite, the conformance plugin, `ebpf-sim run` and the bench.
 */
import type { HelperSpec } from './helpers.js';
import { Arena, LinearMemory, Perm } from './memory.js';
import { type Program } from './program.js';
import { loadProgram } from './load.js';
import { Vm, type EngineName } from './vm.js';
import type { MemoryChecks } from './jit/compile.js';

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
      if (value === 0n) ctx.requestExit(0);
      return value;
    },
  },
];

export interface RawRunnerOptions {
  readonly helpers?: readonly HelperSpec[];
  readonly engine?: EngineName;
  /** JIT memory checks (default checked; see VmOptions.memoryChecks). */
  readonly memoryChecks?: MemoryChecks;
  readonly budget?: number;
  /** Prime the engine first (default true; a one-shot run in a fresh process can skip it). */
  readonly prime?: boolean;
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
      ...(options.memoryChecks === undefined ? {} : { memoryChecks: options.memoryChecks }),
      ...(options.budget === undefined ? {} : { budget: options.budget }),
      ...(options.prime === undefined ? {} : { prime: options.prime }),
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

/** Bad hex text, with the 1-based line and column of the problem. */
export class HexParseError extends Error {
  override readonly name = 'HexParseError';
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${line}:${column}: ${reason}`);
  }
}

/**
 * Parse hex bytes: whitespace anywhere, `#` comments to the end of a line, an optional `0x` before a token.
 * Covers the bench's `hex/` files (one 8-byte slot per line), one continuous string, and the conformance
 * plugin's "b4  00  ..." form.
 */
export function bytesFromHex(text: string): Uint8Array {
  const digits: number[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    const body = line.replace(/#.*$/, '');
    for (let col = 0; col < body.length; col++) {
      const ch = body[col] ?? '';
      if (ch === '0' && (body[col + 1] === 'x' || body[col + 1] === 'X') && (col === 0 || /\s/.test(body[col - 1] ?? ' '))) {
        col++;
        continue;
      }
      if (/\s/.test(ch)) continue;
      const value = parseInt(ch, 16);
      if (Number.isNaN(value)) throw new HexParseError(`invalid hex digit '${ch}'`, index + 1, col + 1);
      digits.push(value);
    }
  }
  if (digits.length % 2 !== 0) throw new HexParseError('odd number of hex digits (each byte is two digits)', lines.length, 1);
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = ((digits[2 * i] ?? 0) << 4) | (digits[2 * i + 1] ?? 0);
  return bytes;
}

/** Parse a program given as hex text (see {@link bytesFromHex}); its length must be whole 8-byte slots. */
export function programFromHex(text: string): Uint8Array {
  const bytes = bytesFromHex(text);
  if (bytes.length === 0) throw new HexParseError('empty program', 1, 1);
  if (bytes.length % 8 !== 0) {
    throw new HexParseError(`program is ${bytes.length} bytes, not a whole number of 8-byte instruction slots`, text.split('\n').length, 1);
  }
  return bytes;
}

/** Load a raw program from bytes, with a readable name. */
export function loadRaw(bytes: Uint8Array, name = 'prog'): Program {
  return loadProgram(bytes, { name });
}
