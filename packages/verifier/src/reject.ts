/**
 * A verification failure: the kernel's error line(s), the errno Linux returns, and the key of our own
 * plain-words explanation (see hints.ts).
 */
export type HintKey =
  | 'unknown-opcode'
  | 'reserved'
  | 'ld-imm64'
  | 'bad-call'
  | 'jump-range'
  | 'fall-off'
  | 'back-edge'
  | 'unreachable'
  | 'too-large'
  | 'uninit-reg'
  | 'fp-readonly'
  | 'invalid-mem'
  | 'null-deref'
  | 'pkt-range'
  | 'map-range'
  | 'mem-range'
  | 'map-neg'
  | 'rdonly-direct'
  | 'unbounded'
  | 'stack-range'
  | 'stack-uninit'
  | 'spill'
  | 'ctx-access'
  | 'ctx-modified'
  | 'ctx-write'
  | 'ptr-arith'
  | 'ptr-leak'
  | 'div-zero'
  | 'shift'
  | 'helper-unknown'
  | 'helper-type'
  | 'helper-arg'
  | 'helper-size'
  | 'helper-map'
  | 'gpl'
  | 'ref-leak'
  | 'ref-release'
  | 'lock'
  | 'return-code'
  | 'callback'
  | 'dynptr'
  | 'timer'
  | 'infinite-loop'
  | 'complexity'
  | 'call-depth'
  | 'stack-depth'
  | 'ld-abs'
  | 'unsupported'
  | 'global-func';

export class Reject extends Error {
  override readonly name = 'Reject';
  readonly errno: number;
  readonly insn: number;
  /** Lines the kernel prints after the first one (e.g. `R2 offset is outside of the packet`). */
  readonly more: readonly string[];
  constructor(
    readonly line: string,
    readonly hint: HintKey,
    opts: { errno?: number; insn?: number; more?: readonly string[] } = {},
  ) {
    super(line);
    this.errno = opts.errno ?? 13;
    this.insn = opts.insn ?? -1;
    this.more = opts.more ?? [];
  }
}
