/**
 * A program prepared for execution: decoded and validated by `@ebpf-sim/isa`, with jump and call targets
 * checked (the structural part of what Linux's check_subprogs / check_cfg reject), and pre-decoded for the
 * interpreter. Programs are independent of any VM: one program can run on many VMs, and a tail-call hook may
 * return any loaded program.
 */
import type { Endian, Insn, RawInsn } from '@ebpf-sim/isa';
import { decodeProgram, encodeProgram, PseudoLd, slotCount as slotsOf } from '@ebpf-sim/isa';
import { VmLoadError } from './fault.js';
import { compileInterp } from './interp.js';
import { splitU64 } from './int64.js';

export interface LoadOptions {
  /** Shown in reports (bench tables, faults). */
  readonly name?: string;
  /** Byte order of raw bytecode (default little). */
  readonly endian?: Endian;
  /**
   * Value of an LD imm64 whose source is a BPF_PSEUDO_* reference (map fd, map value, BTF id, ...), as the
   * loader relocated it (Linux puts the map's kernel address there). Return undefined to leave it unresolved:
   * executing it then faults with `unresolved-ld-imm64`.
   */
  readonly resolveLdImm64?: (insn: Insn) => bigint | undefined;
}

export class Program {
  /** Interpreter code (see `interp.ts`): a view of its block in the word pool (pool.ts); engine-private. */
  readonly code: Int32Array;
  /** Pool index of `code[0]`: the interpreter's jump targets and program counter are pool indexes. */
  readonly codeBase: number;
  /** Registers the program may write, as a bit mask (bit n = rn; see interp.ts regsWritten). */
  readonly writtenRegs: number;
  /**
   * The value of every LD imm64 that has one, by slot, as (lo, hi) int32 words: the immediate itself, or the
   * loader's resolution of a BPF_PSEUDO_* reference. Absent: unresolved (running it faults). Every engine
   * reads it here, so all agree on it.
   */
  readonly ldImm64: ReadonlyMap<number, readonly [number, number]>;

  constructor(
    readonly name: string,
    readonly insns: readonly Insn[],
    readonly slotCount: number,
    resolveLdImm64: LoadOptions['resolveLdImm64'],
  ) {
    checkTargets(insns, slotCount);
    const values = new Map<number, readonly [number, number]>();
    const compiled = compileInterp(insns, slotCount, (insn) => {
      let value: readonly [number, number] | undefined;
      if (insn.src === PseudoLd.NONE) {
        value = [insn.imm, insn.imm2 ?? 0];
      } else {
        const resolved = resolveLdImm64?.(insn);
        value = resolved === undefined ? undefined : splitU64(resolved);
      }
      if (value !== undefined) values.set(insn.slot, value);
      return value;
    });
    this.code = compiled.code;
    this.codeBase = compiled.base;
    this.writtenRegs = compiled.writtenRegs;
    this.ldImm64 = values;
  }

  /** The bytecode (little-endian). */
  bytes(): Uint8Array {
    return encodeProgram(this.insns);
  }
}

function isInsnArray(source: Uint8Array | readonly RawInsn[]): source is readonly RawInsn[] {
  return !(source instanceof Uint8Array);
}

/** Decode, validate and prepare a program from bytecode or instructions (e.g. from the isa `asm` builder). */
export function loadProgram(source: Uint8Array | readonly RawInsn[], options: LoadOptions = {}): Program {
  const bytes = isInsnArray(source) ? encodeProgram(source) : source;
  const insns = decodeProgram(bytes, options.endian === undefined ? {} : { endian: options.endian });
  if (insns.length === 0) throw new VmLoadError('empty program', 0, 'a program needs at least an exit instruction');
  let slots = 0;
  for (const insn of insns) slots += slotsOf(insn);
  return new Program(options.name ?? 'prog', insns, slots, options.resolveLdImm64);
}

/** Reject jumps and local calls that leave the program or land inside an LD imm64 (Linux check_subprogs/check_cfg). */
function checkTargets(insns: readonly Insn[], slotCount: number): void {
  const tails = new Set<number>();
  for (const insn of insns) if (insn.form.wide) tails.add(insn.slot + 1);
  for (const insn of insns) {
    const { kind, cls } = insn.form;
    let target: number | null = null;
    if (kind === 'ja') target = insn.slot + 1 + (cls === 'jmp32' ? insn.imm : insn.off);
    else if (kind === 'jmp' || kind === 'jcond') target = insn.slot + 1 + insn.off;
    else if (kind === 'call' && insn.form.id === 'call.local') target = insn.slot + 1 + insn.imm;
    if (target === null) continue;
    const what = kind === 'call' ? 'call' : 'jump';
    if (target < 0 || target >= slotCount) {
      throw new VmLoadError(`${what} out of range from insn ${insn.slot} to ${target}`, insn.slot, `targets must be slots 0..${slotCount - 1}`);
    }
    if (tails.has(target)) {
      throw new VmLoadError(`${what} into the middle of ldimm64 insn ${target - 1}`, insn.slot, 'LD imm64 occupies two slots; target its first slot');
    }
  }
}
