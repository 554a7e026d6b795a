/**
 * Loading a program: decode and validate with `@ebpf-sim/isa`, check jump and call targets (the structural part
 * of what Linux's check_subprogs / check_cfg reject), resolve LD imm64 values, and pre-decode for the
 * interpreter, giving a {@link Program}.
 */
import type { Endian, Insn, RawInsn } from '@ebpf-sim/isa';
import { AluOp, decodeProgram, encodeProgram, PseudoLd, slotCount as slotsOf } from '@ebpf-sim/isa';
import { VmLoadError } from './fault.js';
import { compileInterp } from './interp.js';
import { decodeKernelProgram } from './kernel-insns.js';
import { splitU64 } from './int64.js';
import { Program, type BudgetTests, type ExitRegisters, type WasmCall } from './program.js';

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
  /**
   * Slots of the loads, stores and atomics a verifier proved inside their region on every path (the
   * verifier's `facts.memoryInBounds`, at their slots in the program loaded here). The JIT emits no region
   * check for them, in `checked` mode too; every other access keeps its check. Only a verified program's
   * own facts belong here: a wrong slot makes an access unchecked (WebAssembly's bounds still hold).
   */
  readonly memoryInBounds?: Iterable<number>;
  /**
   * Where JIT code tests the execution budget (see {@link BudgetTests}); default `block`. The interpreter
   * counts every instruction either way.
   */
  readonly budgetTests?: BudgetTests;
  /**
   * Slots of the divisions and modulos whose divisor a verifier proved non-zero on every path (the verifier's
   * `facts.divisionsWithoutZeroCheck`, at their slots here). The JIT divides by such a register without
   * testing it for zero. Only a verified program's own facts belong here: with a wrong slot a zero
   * divisor traps in WebAssembly, a fault at no known instruction, instead of eBPF's x / 0 = 0.
   */
  readonly divisorsNonZero?: Iterable<number>;
  /** Which registers a run's caller reads after it (see {@link ExitRegisters}); default `all`. */
  readonly exitRegisters?: ExitRegisters;
  /**
   * Kernel functions the JIT calls directly, by the immediate of the (src 0) call instruction that names them:
   * a WebAssembly function over the VM's memory (see {@link WasmCall}), so the call runs no JavaScript. The
   * interpreter calls the helper table's entry of the same id, which must give the same result.
   */
  readonly wasmCalls?: ReadonlyMap<number, WasmCall>;
  /**
   * Slots of the loads that read kernel memory through a BTF-typed pointer (the verifier's `facts.probeLoads`,
   * at their slots here): Linux runs them as BPF_PROBE_MEM, so a load that would fault leaves 0 in its
   * destination register and the program goes on (the interpreter and the JIT both).
   */
  readonly probeLoads?: Iterable<number>;
  /**
   * The program is the kernel's rewrite of a verified one (Linux's xlated program, what the bpf subsystem's
   * PROG_LOAD runs): it may use BPF_REG_AX (r11) and BPF_ST_NOSPEC, which user bytecode cannot (kernel-insns.ts).
   */
  readonly kernelInsns?: boolean;
}

function isInsnArray(source: Uint8Array | readonly RawInsn[]): source is readonly RawInsn[] {
  return !(source instanceof Uint8Array);
}

/** Decode, validate and prepare a program from bytecode or instructions (e.g. from the isa `asm` builder). */
export function loadProgram(source: Uint8Array | readonly RawInsn[], options: LoadOptions = {}): Program {
  const bytes = isInsnArray(source) ? encodeProgram(source) : source;
  const insns =
    options.kernelInsns === true
      ? decodeKernelProgram(bytes, options.endian)
      : decodeProgram(bytes, options.endian === undefined ? {} : { endian: options.endian });
  if (insns.length === 0) throw new VmLoadError('empty program', 0, 'a program needs at least an exit instruction');
  let slots = 0;
  for (const insn of insns) slots += slotsOf(insn);
  checkTargets(insns, slots);
  const values = new Map<number, readonly [number, number]>();
  const interpreter = compileInterp(insns, slots, (insn) => {
    let value: readonly [number, number] | undefined;
    if (insn.src === PseudoLd.NONE) {
      value = [insn.imm, insn.imm2 ?? 0];
    } else {
      const resolved = options.resolveLdImm64?.(insn);
      value = resolved === undefined ? undefined : splitU64(resolved);
    }
    if (value !== undefined) values.set(insn.slot, value);
    return value;
  });
  return new Program(
    options.name ?? 'prog',
    insns,
    slots,
    interpreter,
    values,
    provenSlots(insns, options.memoryInBounds, IN_BOUNDS),
    options.budgetTests ?? 'block',
    options.exitRegisters ?? 'all',
    provenSlots(insns, options.divisorsNonZero, NON_ZERO),
    options.wasmCalls,
    provenSlots(insns, options.probeLoads, PROBE_LOAD),
  );
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

/** A verifier fact about single instructions: the option that names their slots, and which instructions it may name. */
interface SlotFact {
  readonly option: string;
  readonly what: string;
  readonly applies: (insn: Insn) => boolean;
}

const IN_BOUNDS: SlotFact = {
  option: 'memoryInBounds',
  what: 'memory access',
  applies: ({ form: { kind } }) => kind === 'ldx' || kind === 'ldxsx' || kind === 'st' || kind === 'stx' || kind === 'atomic',
};
const PROBE_LOAD: SlotFact = {
  option: 'probeLoads',
  what: 'load',
  applies: ({ form: { kind } }) => kind === 'ldx' || kind === 'ldxsx',
};
const NON_ZERO: SlotFact = {
  option: 'divisorsNonZero',
  what: 'division or modulo',
  applies: ({ form }) => form.kind === 'alu' && (form.op === AluOp.DIV || form.op === AluOp.MOD),
};

/** The proven slots of a fact (a slot of an instruction the fact is not about is refused: the facts are not this program's). */
function provenSlots(insns: readonly Insn[], slots: Iterable<number> | undefined, fact: SlotFact): ReadonlySet<number> {
  const proven = new Set<number>();
  if (slots === undefined) return proven;
  const candidates = new Set<number>();
  for (const insn of insns) if (fact.applies(insn)) candidates.add(insn.slot);
  for (const slot of slots) {
    if (!candidates.has(slot))
      throw new VmLoadError(`${fact.option} names insn ${slot}, which is no ${fact.what}`, slot, 'pass the verifier facts of this very program');
    proven.add(slot);
  }
  return proven;
}
