/**
 * Linux's rewrites of a verified program after the context rewrite, as pure transforms of an
 * {@link XlatedProgram} (ctx-rewrite.ts):
 *
 * - {@link removeDeadCode}: what the verifier never reached. A privileged loader (CAP_BPF) gets
 *   opt_hard_wire_dead_code_branches, opt_remove_dead_code and opt_remove_nops; an unprivileged one gets
 *   sanitize_dead_code (each dead instruction becomes `goto pc-1`, the program keeps its length).
 * - {@link fixupDivisions}: do_misc_fixups' guards for division and modulo by a register (a zero divisor gives
 *   0 for div and leaves the dividend for mod; a signed division by -1 negates, a signed modulo by -1 gives 0)
 *   and for signed division/modulo by the immediate -1. Linux 6.18 patches every such instruction, even where
 *   the verifier knows the divisor is not zero (fixtures/fixups/divmod.xlated.txt shows it).
 *
 * Linux removes dead code before convert_ctx_accesses; here it runs after, with the same result: dead
 * instructions have no context fact (they are not rewritten), and only instructions of the verified program
 * are hard-wired or removed as nops (the `goto pc+0` a context store may emit stays, as in Linux).
 * Jumps, bpf-to-bpf calls and LD imm64 of functions are re-aimed as bpf_adj_branches does.
 */
import { AluOp, Class, JmpOp, Mode, Size, Source, lookupForm, type RawInsn } from '@ebpf-sim/isa';
import { BPF_REG_AX, reaim, type XlatedProgram } from './ctx-rewrite.js';
import type { VerifyResult } from './verifier.js';

export { BPF_REG_AX };

const LD_IMM64 = 0x18;
const slotsOf = (insn: RawInsn): number => (insn.code === LD_IMM64 ? 2 : 1);

/** `goto pc+off` (BPF_JMP | BPF_JA). */
const ja = (off: number): RawInsn => ({ code: Class.JMP | JmpOp.JA, dst: 0, src: 0, off, imm: 0 });
/** Linux sanitize_dead_code's trap: `goto pc-1`. */
const TRAP = ja(-1);

/**
 * The replacement of one instruction: `insns` in place of it, and `aim`, the index in `insns` of an
 * instruction whose pc-relative field is still relative to the original instruction's slot and is re-aimed
 * (the original itself, or a jump hard-wired from it). Instructions without a patch keep their place and are
 * re-aimed.
 */
interface Patch {
  readonly insns: readonly RawInsn[];
  readonly aim?: number;
}

/**
 * Apply `patches` (by index in `insns`) and re-aim every original jump, call and function address: a
 * target that was patched lands on the first instruction of its patch, a removed one on what follows it
 * (Linux bpf_patch_insn_data / bpf_remove_insns with bpf_adj_branches). Returns the new instructions and, for
 * each old slot (and one past the end), its new slot.
 */
function applyPatches(insns: readonly RawInsn[], patches: ReadonlyMap<number, Patch>): { insns: RawInsn[]; slotMap: number[] } {
  const out: RawInsn[] = [];
  const slotMap: number[] = [];
  /** Entries of `out` to re-aim: [index in out, old slot of the instruction they stand for]. */
  const aims: Array<[number, number]> = [];
  let oldSlot = 0;
  let newSlot = 0;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i] as RawInsn;
    const patch = patches.get(i);
    slotMap[oldSlot] = newSlot;
    const replacement = patch?.insns ?? [insn];
    // The second slot of an LD imm64 goes with the first: to its second slot, or where its patch ends.
    if (insn.code === LD_IMM64)
      slotMap[oldSlot + 1] =
        newSlot +
        Math.min(
          1,
          replacement.reduce((n, r) => n + slotsOf(r), 0),
        );
    const aim = patch === undefined ? 0 : patch.aim;
    for (let k = 0; k < replacement.length; k++) {
      const r = replacement[k] as RawInsn;
      if (k === aim) aims.push([out.length, oldSlot]);
      out.push(r);
      newSlot += slotsOf(r);
    }
    oldSlot += slotsOf(insn);
  }
  slotMap[oldSlot] = newSlot;
  const newSlotOf: number[] = [];
  let s = 0;
  for (const insn of out) {
    newSlotOf.push(s);
    s += slotsOf(insn);
  }
  for (const [at, from] of aims) out[at] = reaim(out[at] as RawInsn, from, newSlotOf[at] as number, slotMap);
  return { insns: out, slotMap };
}

/** `xlated` after a transform whose own slot map is `step`: slot maps composed, facts moved along. */
function compose(xlated: XlatedProgram, insns: RawInsn[], step: readonly number[], moved: (slot: number) => number | null): XlatedProgram {
  const move = (list: readonly number[]): number[] => {
    const out: number[] = [];
    for (const slot of list) {
      const to = moved(slot);
      if (to !== null) out.push(to);
    }
    return out;
  };
  return {
    insns,
    slotMap: xlated.slotMap.map((slot) => step[slot] as number),
    divisionsWithoutZeroCheck: move(xlated.divisionsWithoutZeroCheck),
    memoryInBounds: move(xlated.memoryInBounds),
    probeLoads: move(xlated.probeLoads ?? []),
  };
}

/** One instruction's replacement for {@link patchProgram}. */
export interface InsnPatch {
  readonly insns: readonly RawInsn[];
  /** Indexes in `insns` of memory accesses the patch's maker knows to be in bounds (the runtime drops their check). */
  readonly inBounds?: readonly number[];
}

/**
 * bpf_patch_insn_data for the kernel's rewrites made outside the verifier (a map type's map_gen_lookup, which
 * do_misc_fixups asks for): each instruction at an index (in `xlated.insns`) of `patches` replaced by its
 * sequence, whose own jumps stay as written; every other jump, call and function address re-aimed, a jump to a
 * replaced instruction landing on its sequence. Facts about replaced instructions go; `inBounds` ones come.
 */
export function patchProgram(xlated: XlatedProgram, patches: ReadonlyMap<number, InsnPatch>): XlatedProgram {
  const replaced = new Set<number>();
  let s = 0;
  for (let i = 0; i < xlated.insns.length; i++) {
    if (patches.has(i)) replaced.add(s);
    s += slotsOf(xlated.insns[i] as RawInsn);
  }
  const { insns, slotMap } = applyPatches(xlated.insns, new Map([...patches].map(([at, patch]) => [at, { insns: patch.insns }])));
  const out = compose(xlated, insns, slotMap, (slot) => (replaced.has(slot) ? null : (slotMap[slot] ?? null)));
  const inBounds = [...out.memoryInBounds];
  s = 0;
  for (let i = 0; i < xlated.insns.length; i++) {
    const patch = patches.get(i);
    if (patch !== undefined) {
      let at = slotMap[s] as number;
      patch.insns.forEach((insn, k) => {
        if (patch.inBounds?.includes(k) === true) inBounds.push(at);
        at += slotsOf(insn);
      });
    }
    s += slotsOf(xlated.insns[i] as RawInsn);
  }
  return { ...out, memoryInBounds: inBounds.sort((a, b) => a - b) };
}

/** Linux insn_is_cond_jump: a JMP or JMP32 instruction other than ja, call and exit (may_goto included). */
function isCondJump(insn: RawInsn): boolean {
  const cls = insn.code & 7;
  if (cls !== Class.JMP && cls !== Class.JMP32) return false;
  const op = insn.code & 0xf0;
  return op !== JmpOp.JA && op !== JmpOp.CALL && op !== JmpOp.EXIT;
}

const isNop = (insn: RawInsn): boolean => insn.code === (Class.JMP | JmpOp.JA) && insn.dst === 0 && insn.src === 0 && insn.off === 0 && insn.imm === 0;

export interface DeadCodeOptions {
  /** The loader has CAP_BPF: dead code is removed; without it each dead instruction becomes `goto pc-1`. */
  readonly privileged: boolean;
}

/**
 * Remove (privileged) or trap (unprivileged) the instructions no verified path reached, `facts.unreached`
 * (slots of the verified program), in `xlated`, the context rewrite of that program with the same facts.
 */
export function removeDeadCode(xlated: XlatedProgram, facts: VerifyResult['facts'], options: DeadCodeOptions): XlatedProgram {
  const dead = new Set(facts.unreached);
  const ctxAccess = new Set(facts.ctxAccesses.map((fact) => fact.insn));
  // Index in xlated.insns of every entry, by its slot.
  const indexAt = new Map<number, number>();
  let s = 0;
  for (let i = 0; i < xlated.insns.length; i++) {
    indexAt.set(s, i);
    s += slotsOf(xlated.insns[i] as RawInsn);
  }
  const verifiedSlots = xlated.slotMap.length - 1;
  /** Index of the entry a verified slot became, when it was not rewritten (dead ones never are). */
  const entryOf = (slot: number): number | undefined => (ctxAccess.has(slot) ? undefined : indexAt.get(xlated.slotMap[slot] as number));

  if (!options.privileged) {
    const patches = new Map<number, Patch>();
    for (const slot of dead) {
      const at = entryOf(slot);
      const insn = at === undefined ? undefined : xlated.insns[at];
      // The second slot of an LD imm64 goes with its first.
      if (at !== undefined && insn !== undefined) patches.set(at, { insns: insn.code === LD_IMM64 ? [TRAP, TRAP] : [TRAP] });
    }
    const { insns, slotMap } = applyPatches(xlated.insns, patches);
    return compose(xlated, insns, slotMap, (slot) => slotMap[slot] ?? null);
  }

  // opt_hard_wire_dead_code_branches and opt_remove_dead_code, in one pass.
  const patches = new Map<number, Patch>();
  for (let slot = 0; slot < verifiedSlots; slot++) {
    const at = entryOf(slot);
    if (at === undefined) continue;
    const insn = xlated.insns[at] as RawInsn;
    if (dead.has(slot)) {
      patches.set(at, { insns: [] });
    } else if (isCondJump(insn)) {
      if (dead.has(slot + 1)) patches.set(at, { insns: [ja(insn.off)], aim: 0 });
      else if (dead.has(slot + 1 + insn.off)) patches.set(at, { insns: [ja(0)] });
    }
  }
  const first = applyPatches(xlated.insns, patches);
  const afterDead = compose(xlated, first.insns, first.slotMap, (slot) =>
    patches.get(indexAt.get(slot) ?? -1)?.insns.length === 0 ? null : (first.slotMap[slot] ?? null),
  );

  // opt_remove_nops: `goto pc+0` among the verified program's instructions (not among the context rewrite's).
  const outIndexAt = new Map<number, number>();
  s = 0;
  for (let i = 0; i < afterDead.insns.length; i++) {
    outIndexAt.set(s, i);
    s += slotsOf(afterDead.insns[i] as RawInsn);
  }
  const nops = new Map<number, Patch>();
  for (let slot = 0; slot < verifiedSlots; slot++) {
    if (dead.has(slot) || ctxAccess.has(slot)) continue;
    const at = outIndexAt.get(afterDead.slotMap[slot] as number);
    if (at !== undefined && isNop(afterDead.insns[at] as RawInsn)) nops.set(at, { insns: [] });
  }
  const second = applyPatches(afterDead.insns, nops);
  return compose(afterDead, second.insns, second.slotMap, (slot) => second.slotMap[slot] ?? null);
}

const alu = (cls: number, op: number, src: number, dst: number, srcReg: number, imm: number): RawInsn => ({
  code: cls | op | src,
  dst,
  src: srcReg,
  off: 0,
  imm,
});
const jmpImm = (cls: number, op: number, dst: number, off: number, imm: number): RawInsn => ({ code: cls | op | Source.K, dst, src: 0, off, imm });

/** do_misc_fixups' patch for one division or modulo, or undefined when Linux leaves it as it is. */
function divisionPatch(insn: RawInsn): RawInsn[] | undefined {
  const form = lookupForm(insn.code, insn.src, insn.off, insn.imm);
  if (form?.kind !== 'alu' || (form.op !== AluOp.DIV && form.op !== AluOp.MOD)) return undefined;
  const is64 = form.cls === 'alu64';
  const aluCls = is64 ? Class.ALU64 : Class.ALU;
  const jmpCls = is64 ? Class.JMP : Class.JMP32;
  const isDiv = form.op === AluOp.DIV;
  const signed = insn.off === 1;
  const dst = insn.dst;
  if (form.source === 'K') {
    // Make sdiv/smod divide-by-minus-one exceptions impossible.
    if (!signed || insn.imm !== -1) return undefined;
    return [isDiv ? alu(aluCls, AluOp.NEG, Source.K, dst, 0, 0) : alu(Class.ALU, AluOp.MOV, Source.K, dst, 0, 0)];
  }
  const src = insn.src;
  const mov32Self = alu(Class.ALU, AluOp.MOV, Source.X, dst, dst, 0);
  if (signed && isDiv) {
    // [R,W]x sdiv 0 -> 0; LLONG_MIN sdiv -1 -> LLONG_MIN; INT_MIN sdiv -1 -> INT_MIN
    return [
      alu(Class.ALU64, AluOp.MOV, Source.X, BPF_REG_AX, src, 0),
      alu(aluCls, AluOp.ADD, Source.K, BPF_REG_AX, 0, 1),
      jmpImm(jmpCls, JmpOp.JGT, BPF_REG_AX, 4, 1),
      jmpImm(jmpCls, JmpOp.JEQ, BPF_REG_AX, 1, 0),
      alu(aluCls, AluOp.MOV, Source.K, dst, 0, 0),
      // BPF_NEG(LLONG_MIN) == -LLONG_MIN == LLONG_MIN
      alu(aluCls, AluOp.NEG, Source.K, dst, 0, 0),
      ja(1),
      insn,
    ];
  }
  if (signed) {
    // [R,W]x mod 0 -> [R,W]x; [R,W]x mod -1 -> 0
    const patch = [
      alu(Class.ALU64, AluOp.MOV, Source.X, BPF_REG_AX, src, 0),
      alu(aluCls, AluOp.ADD, Source.K, BPF_REG_AX, 0, 1),
      jmpImm(jmpCls, JmpOp.JGT, BPF_REG_AX, 3, 1),
      jmpImm(jmpCls, JmpOp.JEQ, BPF_REG_AX, 3 + (is64 ? 0 : 1), 1),
      alu(Class.ALU, AluOp.MOV, Source.K, dst, 0, 0),
      ja(1),
      insn,
      ja(1),
      mov32Self,
    ];
    return is64 ? patch.slice(0, -2) : patch;
  }
  if (isDiv) {
    // [R,W]x div 0 -> 0
    return [jmpImm(jmpCls, JmpOp.JNE, src, 2, 0), alu(Class.ALU, AluOp.XOR, Source.X, dst, dst, 0), ja(1), insn];
  }
  // [R,W]x mod 0 -> [R,W]x
  const patch = [jmpImm(jmpCls, JmpOp.JEQ, src, 1 + (is64 ? 0 : 1), 0), insn, ja(1), mov32Self];
  return is64 ? patch.slice(0, -2) : patch;
}

/**
 * do_misc_fixups for division and modulo: every division or modulo by a register gets Linux's run-time guard
 * (64- or 32-bit, unsigned or signed as in 6.x, with BPF_REG_AX as scratch for the signed ones), and a signed
 * division or modulo by the immediate -1 becomes a negation or `w = 0`. The result uses `r11`
 * ({@link BPF_REG_AX}), which only the kernel may write: it is the program Linux reports, for
 * `OBJ_GET_INFO_BY_FD`'s xlated instructions, and the one the VM runs (it has r11 as a kernel-internal register).
 */
export function fixupDivisions(xlated: XlatedProgram): XlatedProgram {
  const patches = new Map<number, Patch>();
  for (let i = 0; i < xlated.insns.length; i++) {
    const insn = xlated.insns[i] as RawInsn;
    const patch = divisionPatch(insn);
    if (patch !== undefined) patches.set(i, { insns: patch });
  }
  const { insns, slotMap } = applyPatches(xlated.insns, patches);
  // A fact about a patched division moves to the division inside the patch; memory accesses keep their slot.
  const original = new Map<number, number>();
  let oldSlot = 0;
  for (let i = 0; i < xlated.insns.length; i++) {
    const insn = xlated.insns[i] as RawInsn;
    const patch = patches.get(i)?.insns;
    const inside = patch?.indexOf(insn) ?? 0;
    // A division by -1 replaced by a negation or a move is no division any more.
    if (inside >= 0) original.set(oldSlot, (slotMap[oldSlot] as number) + inside);
    oldSlot += slotsOf(insn);
  }
  return compose(xlated, insns, slotMap, (slot) => original.get(slot) ?? null);
}

/** Linux BPF_MAX_LOOPS: bpf_loop's iteration limit. */
const BPF_MAX_LOOPS = 8 * 1024 * 1024;
const E2BIG = 7;
/** Index of the callback call in {@link loopSequence} (Linux: "insn_buf[12] is an offset of BPF_CALL_REL"). */
const LOOP_CALL_AT = 12;

const mov64 = (dst: number, src: number): RawInsn => alu(Class.ALU64, AluOp.MOV, Source.X, dst, src, 0);
const stxDw = (off: number, src: number): RawInsn => ({ code: Class.STX | Mode.MEM | Size.DW, dst: 10, src, off, imm: 0 });
const ldxDw = (dst: number, off: number): RawInsn => ({ code: Class.LDX | Mode.MEM | Size.DW, dst, src: 10, off, imm: 0 });

/**
 * inline_bpf_loop: bpf_iter.c's bpf_loop written out around a bpf-to-bpf call of the callback, r6-r8 (the
 * loop's bound, counter and context) spilled at `stackBase` of the caller's frame and restored after. The
 * call's offset is set once the callback's place in the patched program is known.
 */
function loopSequence(stackBase: number): RawInsn[] {
  const [r6At, r7At, r8At] = [stackBase, stackBase + 8, stackBase + 16];
  return [
    jmpImm(Class.JMP, JmpOp.JLE, 1, 2, BPF_MAX_LOOPS),
    alu(Class.ALU, AluOp.MOV, Source.K, 0, 0, -E2BIG),
    ja(16),
    stxDw(r6At, 6),
    stxDw(r7At, 7),
    stxDw(r8At, 8),
    mov64(6, 1),
    alu(Class.ALU, AluOp.MOV, Source.K, 7, 0, 0),
    mov64(8, 3),
    { code: Class.JMP | JmpOp.JGE | Source.X, dst: 7, src: 6, off: 5, imm: 0 },
    mov64(1, 7),
    mov64(2, 8),
    { code: Class.JMP | JmpOp.CALL, dst: 0, src: 1, off: 0, imm: 0 },
    alu(Class.ALU64, AluOp.ADD, Source.K, 7, 0, 1),
    jmpImm(Class.JMP, JmpOp.JEQ, 0, -6, 0),
    mov64(0, 7),
    ldxDw(6, r6At),
    ldxDw(7, r7At),
    ldxDw(8, r8At),
  ];
}

/**
 * Linux optimize_bpf_loop: every bpf_loop call the verifier found fit (flags a known 0 and one callback on
 * every path, `facts.loopCalls`) becomes the loop itself, calling the callback as a subprogram; its caller's
 * stack grows by three spill slots (plus the rounding of its depth to 8), at `-(depth + extra)`. `stackDepth`
 * is the verifier's, per subprogram. Returns the program and each subprogram's new stack depth.
 */
export function inlineLoops(
  xlated: XlatedProgram,
  facts: VerifyResult['facts'],
  stackDepth: readonly number[],
): { readonly program: XlatedProgram; readonly stackDepth: readonly number[] } {
  const indexAt = new Map<number, number>();
  let s = 0;
  for (let i = 0; i < xlated.insns.length; i++) {
    indexAt.set(s, i);
    s += slotsOf(xlated.insns[i] as RawInsn);
  }
  const patches = new Map<number, InsnPatch>();
  const depths = stackDepth.slice();
  const grown = new Set<number>();
  for (const [slot, call] of facts.loopCalls) {
    const at = indexAt.get(xlated.slotMap[slot] ?? -1);
    if (!call.fit || at === undefined) continue;
    const depth = stackDepth[call.caller] ?? 0;
    const extra = 3 * 8 + (((depth + 7) & ~7) - depth);
    patches.set(at, { insns: loopSequence(-(depth + extra)) });
    if (!grown.has(call.caller)) depths[call.caller] = depth + extra;
    grown.add(call.caller);
  }
  if (patches.size === 0) return { program: xlated, stackDepth };
  const out = patchProgram(xlated, patches);
  const insns = out.insns.slice();
  const outIndexAt = new Map<number, number>();
  s = 0;
  for (let i = 0; i < insns.length; i++) {
    outIndexAt.set(s, i);
    s += slotsOf(insns[i] as RawInsn);
  }
  for (const [slot, call] of facts.loopCalls) {
    if (!call.fit || !patches.has(indexAt.get(xlated.slotMap[slot] ?? -1) ?? -1)) continue;
    // Every instruction of the sequence is one slot: the call is LOOP_CALL_AT slots after its start.
    const callSlot = (out.slotMap[slot] as number) + LOOP_CALL_AT;
    const at = outIndexAt.get(callSlot);
    const insn = at === undefined ? undefined : insns[at];
    if (at === undefined || insn === undefined) continue;
    insns[at] = { ...insn, imm: (out.slotMap[call.callbackStart] as number) - callSlot - 1 };
  }
  return { program: { ...out, insns }, stackDepth: depths };
}

/** sanitize.ts AluSanitize bits, as do_misc_fixups reads them. */
const ALU_SANITIZE_SRC = 1 << 0;
const ALU_SANITIZE = (1 << 0) | (1 << 1);
const ALU_NEG_VALUE = 1 << 2;
const ALU_IMMEDIATE = 1 << 4;

/** The index in `xlated.insns` of every slot an entry starts at. */
function indexBySlot(xlated: XlatedProgram): Map<number, number> {
  const indexAt = new Map<number, number>();
  let s = 0;
  for (let i = 0; i < xlated.insns.length; i++) {
    indexAt.set(s, i);
    s += slotsOf(xlated.insns[i] as RawInsn);
  }
  return indexAt;
}

/**
 * do_misc_fixups' "rewrite pointer arithmetic to mitigate speculation attacks": each `r += r`/`r -= r` the
 * verifier sanitised (`facts.aluSanitize`, Linux alu_state/alu_limit) takes its offset through BPF_REG_AX masked
 * to [0, alu_limit] (a register offset out of that range, which only a mispredicted path can have, becomes 0),
 * or, for an offset known to the verifier, AX = the offset's magnitude; a negative offset is negated around the
 * operation, which flips add and sub. The masking runs (the VM has r11): a speculative escape is not observable
 * here, but the program is the kernel's.
 */
export function sanitizeAluInsns(xlated: XlatedProgram, facts: VerifyResult['facts']): XlatedProgram {
  const sanitized = facts.aluSanitize ?? [];
  if (sanitized.length === 0) return xlated;
  const indexAt = indexBySlot(xlated);
  const patches = new Map<number, InsnPatch>();
  for (const fact of sanitized) {
    const at = indexAt.get(xlated.slotMap[fact.insn] ?? -1);
    const insn = at === undefined ? undefined : xlated.insns[at];
    if (at === undefined || insn === undefined) continue;
    const op = insn.code & 0xf0;
    // Only BPF_ALU64 add/sub with a register operand is patched (as Linux checks the opcode again).
    if (insn.code !== (Class.ALU64 | op | Source.X) || (op !== AluOp.ADD && op !== AluOp.SUB)) continue;
    const isNeg = (fact.state & ALU_NEG_VALUE) !== 0;
    const isSrc = (fact.state & ALU_SANITIZE) === ALU_SANITIZE_SRC;
    const isImm = (fact.state & ALU_IMMEDIATE) !== 0;
    const offReg = isSrc ? insn.src : insn.dst;
    const patch: RawInsn[] = [];
    if (isImm) {
      patch.push(alu(Class.ALU, AluOp.MOV, Source.K, BPF_REG_AX, 0, fact.limit | 0));
    } else {
      if (isNeg) patch.push(alu(Class.ALU64, AluOp.MUL, Source.K, offReg, 0, -1));
      patch.push(
        alu(Class.ALU, AluOp.MOV, Source.K, BPF_REG_AX, 0, fact.limit | 0),
        alu(Class.ALU64, AluOp.SUB, Source.X, BPF_REG_AX, offReg, 0),
        alu(Class.ALU64, AluOp.OR, Source.X, BPF_REG_AX, offReg, 0),
        alu(Class.ALU64, AluOp.NEG, Source.K, BPF_REG_AX, 0, 0),
        alu(Class.ALU64, AluOp.ARSH, Source.K, BPF_REG_AX, 0, 63),
        alu(Class.ALU64, AluOp.AND, Source.X, BPF_REG_AX, offReg, 0),
      );
    }
    if (!isSrc) patch.push(mov64(insn.dst, insn.src));
    const flipped = isNeg ? (op === AluOp.ADD ? AluOp.SUB : AluOp.ADD) : op;
    patch.push({ ...insn, code: Class.ALU64 | flipped | Source.X, src: BPF_REG_AX });
    if (isSrc && isNeg && !isImm) patch.push(alu(Class.ALU64, AluOp.MUL, Source.K, offReg, 0, -1));
    patches.set(at, { insns: patch });
  }
  return patchProgram(xlated, patches);
}

/** BPF_ST | BPF_NOSPEC (Linux BPF_ST_NOSPEC()): a speculation barrier, printed `nospec`. */
export const NOSPEC: RawInsn = { code: Class.ST | 0xc0, dst: 0, src: 0, off: 0, imm: 0 };

/**
 * convert_ctx_accesses' speculation barriers: `nospec` before each instruction a speculative path could not get
 * past safely (Linux insn_aux_data.nospec) and after each store that needs one (nospec_result, Spectre v4). The
 * barriers only order the CPU: the VM runs each as a no-op instruction (vm kernel-insns.ts).
 */
export function insertNospec(xlated: XlatedProgram, facts: VerifyResult['facts']): XlatedProgram {
  const before = new Set(facts.nospec ?? []);
  const after = new Set(facts.nospecResult ?? []);
  if (before.size === 0 && after.size === 0) return xlated;
  const indexAt = indexBySlot(xlated);
  const patches = new Map<number, InsnPatch>();
  for (const slot of new Set([...before, ...after])) {
    const at = indexAt.get(xlated.slotMap[slot] ?? -1);
    const insn = at === undefined ? undefined : xlated.insns[at];
    if (at === undefined || insn === undefined) continue;
    patches.set(at, { insns: [...(before.has(slot) ? [NOSPEC] : []), insn, ...(after.has(slot) ? [NOSPEC] : [])] });
  }
  return patchProgram(xlated, patches);
}
