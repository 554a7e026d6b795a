/**
 * Why a run stopped abnormally. A fault is plain data (no message baked in, no stack) so that every engine
 * (the interpreter and the JIT) produces exactly the same report for the same program and input, and
 * differential tests can compare reports with `toEqual`. {@link formatFault} renders it kernel-style.
 */

export type FaultKind =
  /** A load, store or atomic outside every region that allows the access (or beyond the live stack). */
  | 'memory'
  /** The execution budget (instructions executed) ran out. */
  | 'budget'
  /** A bpf-to-bpf call would exceed {@link MAX_CALL_FRAMES}. */
  | 'call-depth'
  /** A call to a helper (or kfunc, or callx target) the embedder did not supply. */
  | 'unknown-helper'
  /** A helper threw; `detail` is the helper id and `message` the helper's reason. */
  | 'helper-error'
  /** An LD imm64 with a pseudo source (map fd, map value, BTF id, ...) the loader never relocated. */
  | 'unresolved-ld-imm64'
  /** LD ABS/IND without a packet supplied by the embedder. */
  | 'no-packet'
  /** Execution ran past the last instruction without an exit. */
  | 'fell-off'
  /** An instruction form the engine has no case for (must never happen; a test checks every form). */
  | 'unhandled';

export type AccessKind = 'read' | 'write';

export interface VmFault {
  readonly kind: FaultKind;
  /** Slot index of the faulting instruction in the program that was running (after tail calls: that program). */
  readonly pc: number;
  /** Memory faults: the first byte accessed, as an unsigned 64-bit value; 0n otherwise. */
  readonly address: bigint;
  /** Memory faults: access width in bytes; 0 otherwise. */
  readonly size: number;
  /** Memory faults: read or write; null otherwise. */
  readonly access: AccessKind | null;
  /** Kind-specific number: helper/kfunc id, budget, frame count, pseudo source; 0 when unused. */
  readonly detail: number;
  /** Helper errors only: what the helper said; '' otherwise. */
  readonly message: string;
}

export function makeFault(kind: FaultKind, pc: number, fields: Partial<Omit<VmFault, 'kind' | 'pc'>> = {}): VmFault {
  return {
    kind,
    pc,
    address: fields.address ?? 0n,
    size: fields.size ?? 0,
    access: fields.access ?? null,
    detail: fields.detail ?? 0,
    message: fields.message ?? '',
  };
}

/** Linux MAX_CALL_FRAMES: the main program plus 7 nested bpf-to-bpf calls. */
export const MAX_CALL_FRAMES = 8;
/** Linux MAX_TAIL_CALL_CNT: at most 33 tail calls chained in one run. */
export const MAX_TAIL_CALL_CNT = 33;
/** Linux BPF_MAX_LOOPS: the may_goto budget of each frame. */
export const BPF_MAX_LOOPS = 8 * 1024 * 1024;

const TITLES: Readonly<Record<FaultKind, string>> = {
  memory: 'invalid memory access',
  budget: 'execution budget exhausted',
  'call-depth': 'call stack overflow',
  'unknown-helper': 'call to unknown function',
  'helper-error': 'helper failed',
  'unresolved-ld-imm64': 'unresolved LD imm64 pseudo instruction',
  'no-packet': 'legacy packet load without a packet',
  'fell-off': 'fell off the end of the program',
  unhandled: 'unhandled instruction',
};

const HINTS: Readonly<Record<FaultKind, string>> = {
  memory: 'the address is not inside the live stack frames or any region the embedder mapped with that permission',
  budget: 'the program ran longer than the instruction budget allows; if that is expected, run it with a larger budget',
  'call-depth': `bpf-to-bpf calls may nest at most ${MAX_CALL_FRAMES} frames deep (MAX_CALL_FRAMES)`,
  'unknown-helper': 'supply the function in the helper table (or kfunc table) given to the VM',
  'helper-error': 'the helper rejected its arguments',
  'unresolved-ld-imm64': 'map and BTF references must be rewritten to addresses by the loader before the program runs',
  'no-packet': 'LD ABS/IND read the skb packet; give the VM a packet region for this run',
  'fell-off': 'the last instruction must be an exit or a jump',
  unhandled: 'this is a bug in the engine',
};

/**
 * Hints to use instead of the default ones, by fault kind: an embedder names its own way out (a CLI its option,
 * e.g. "raise it with --budget N"); the defaults name no option of any front end.
 */
export type FaultHints = Partial<Readonly<Record<FaultKind, string>>>;

/** The fault as kernel-style text: a title, the detail, and a hint (`hints` replaces the default one). */
export function formatFault(fault: VmFault, hints: FaultHints = {}): string {
  const parts = [`insn ${fault.pc}`];
  switch (fault.kind) {
    case 'memory':
      parts.push(`${fault.access ?? 'read'} of ${fault.size} byte${fault.size === 1 ? '' : 's'} at 0x${fault.address.toString(16)}`);
      break;
    case 'budget':
      parts.push(`after ${fault.detail} instructions`);
      break;
    case 'call-depth':
      parts.push(`${fault.detail} frames`);
      break;
    case 'unknown-helper':
    case 'helper-error':
      parts.push(`function #${fault.detail}`);
      break;
    case 'unresolved-ld-imm64':
      parts.push(`src_reg ${fault.detail}`);
      break;
    default:
      break;
  }
  const reason = fault.message ? `: ${fault.message}` : '';
  return `${TITLES[fault.kind]} (${parts.join(', ')})${reason}\n  hint: ${hints[fault.kind] ?? HINTS[fault.kind]}`;
}

/** A fault thrown to callers that prefer exceptions ({@link Vm.execute} with `throwOnFault`). */
export class VmFaultError extends Error {
  override readonly name = 'VmFaultError';
  constructor(readonly fault: VmFault) {
    super(formatFault(fault));
  }
}

/** A program the VM cannot even prepare (bad jump target, jump into the middle of LD imm64, ...). */
export class VmLoadError extends Error {
  override readonly name = 'VmLoadError';
  constructor(
    readonly title: string,
    readonly insn: number,
    readonly hint: string,
  ) {
    super(`${title} (insn ${insn})\n  hint: ${hint}`);
  }
}
