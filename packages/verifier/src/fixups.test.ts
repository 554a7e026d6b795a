/**
 * The fixups as pure transforms, on small programs: which checks see dead code (Linux 6.18, probed on this
 * machine's kernel), dead code removed for a privileged loader and trapped for an unprivileged one, jumps and
 * calls re-aimed, facts moved along, and the division guards. bpf's fixups-xlated.test.ts compares whole
 * programs with the real kernel's dumps.
 */
import { asm, type RawInsn } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { convertCtxAccesses } from './ctx-rewrite.js';
import { BPF_REG_AX, fixupDivisions, removeDeadCode } from './fixups.js';
import type { ProgramTypeDesc, VerifierRegistry } from './registry.js';
import { verify } from './verifier.js';

const TYPE: ProgramTypeDesc = {
  name: 'test',
  uapiId: 0,
  ctx: { structName: 'test_ctx', size: 8, fields: [{ name: 'x', off: 0, size: 4, kind: 'scalar', narrowLoads: true }] },
  helpers: new Set(),
  unprivileged: true,
};
const REGISTRY: VerifierRegistry = { helper: () => undefined, map: () => undefined };
const { Add, Call, Div, Exit, Ja, JEq, JGt, JNe, LdImm64, Ldx, Mod, Mov, SDiv, SMod, Stx, label, program, R0, R1, R2, R10 } = asm;

const raw = (code: number, dst: number, src: number, off: number, imm: number): RawInsn => ({ code, dst, src, off, imm });
const TRAP = raw(0x05, 0, 0, -1, 0);

function fixed(insns: readonly RawInsn[], privileged = true) {
  const result = verify(insns, { progType: TYPE, registry: REGISTRY, privileged });
  expect(result.accepted, result.log).toBe(true);
  return { result, out: removeDeadCode(convertCtxAccesses(insns, result.facts, TYPE), result.facts, { privileged }) };
}

describe('which checks see dead code (as Linux 6.18)', () => {
  const dead = (bad: RawInsn) => [Mov.imm(R0, 0), JEq.imm(R0, 0, 1), bad, Exit()];

  it('a reserved field or a bad register on a dead path: do_check never looks, the program loads', () => {
    for (const bad of [raw(0xb7, 0, 0, 5, 1), raw(0xbf, 11, 0, 0, 0)]) {
      const r = verify(dead(bad), { progType: TYPE, registry: REGISTRY });
      expect(r.accepted, r.log).toBe(true);
      expect(r.facts.unreached).toEqual([2]);
    }
  });

  it('an LDX with reserved fields or an unknown opcode is refused wherever it is (resolve_pseudo_ldimm64)', () => {
    expect(verify(dead(raw(0x79, 0, 0, 0, 1)), { progType: TYPE, registry: REGISTRY }).error?.message).toBe('BPF_LDX uses reserved fields');
    expect(verify(dead(raw(0x21, 0, 0, 0, 0)), { progType: TYPE, registry: REGISTRY }).error?.message).toBe('BPF_LDX uses reserved fields');
    expect(verify(dead(raw(0xff, 0, 0, 0, 0)), { progType: TYPE, registry: REGISTRY }).error?.message).toBe('unknown opcode ff');
  });

  it('an instruction no path of the CFG reaches is refused (check_cfg), unlike one behind a decided branch', () => {
    const r = verify([Mov.imm(R0, 0), Exit(), Mov.imm(R0, 1), Exit()], { progType: TYPE, registry: REGISTRY });
    expect(r.error?.message).toBe('unreachable insn 2');
  });
});

describe('removeDeadCode', () => {
  const decided = program(
    Mov.imm(R0, 1),
    JEq.imm(R0, 1, 'live'), // always taken: hard-wired, then a nop once the dead insn is gone
    LdImm64.value(R2, 0x1122334455667788n), // dead, two slots
    label('live'),
    label('top'),
    Add.imm(R0, 1),
    JGt.imm(R0, 5, 'out'), // both ways
    Ja('top'), // a back-edge across nothing removed
    label('out'),
    JNe.imm(R0, 6, 'never'), // never taken: removed with its dead target
    Mov.imm(R0, 0),
    Exit(),
    label('never'),
    Mov.imm(R0, 1),
    Exit(),
  );

  it('records the slots no path reached, both slots of an LD imm64', () => {
    const { result } = fixed(decided);
    expect(result.facts.unreached).toEqual([2, 3, 10, 11]);
  });

  it('privileged: hard-wires decided branches, removes dead instructions and nops, re-aims jumps', () => {
    const { out } = fixed(decided);
    expect(out.insns).toEqual([Mov.imm(R0, 1), Add.imm(R0, 1), { ...JGt.imm(R0, 5, 1), target: undefined }, Ja(-3), Mov.imm(R0, 0), Exit()].map(strip));
    // Old slots to new: removed ones land on what follows them.
    expect(out.slotMap).toEqual([0, 1, 1, 1, 1, 2, 3, 4, 4, 5, 6, 6, 6]);
  });

  it('unprivileged: each dead slot becomes `goto pc-1`, nothing moves', () => {
    // No back-edge: an unprivileged program may not loop.
    const loopFree = program(
      Mov.imm(R0, 1),
      JEq.imm(R0, 1, 'live'),
      LdImm64.value(R2, 0x1122334455667788n), // dead, two slots
      label('live'),
      JNe.imm(R0, 1, 'never'),
      Exit(),
      label('never'),
      Mov.imm(R0, 1),
      Exit(),
    );
    const { result, out } = fixed(loopFree, false);
    expect(result.facts.unreached).toEqual([2, 3, 6, 7]);
    expect(out.insns).toHaveLength(loopFree.length + 1); // the LD imm64 became two traps
    expect(out.insns.map(strip)).toEqual([strip(Mov.imm(R0, 1)), strip(JEq.imm(R0, 1, 2)), TRAP, TRAP, strip(JNe.imm(R0, 1, 1)), strip(Exit()), TRAP, TRAP]);
    expect(out.slotMap).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('re-aims a bpf-to-bpf call across removed instructions and moves the memory facts', () => {
    const prog = program(
      Mov.imm(R0, 0),
      JEq.imm(R0, 0, 'go'),
      Mov.imm(R0, 7), // dead
      label('go'),
      Stx.dw(R10, -8, R0),
      Call.local('f'),
      Ldx.dw(R0, R10, -8),
      Exit(),
      label('f'),
      Mov.imm(R0, 0),
      Exit(),
    );
    const { result, out } = fixed(prog);
    expect(result.facts.memoryInBounds).toEqual([3, 5]);
    expect(out.memoryInBounds).toEqual([1, 3]);
    expect(out.insns[2]).toMatchObject({ code: 0x85, src: 1, imm: 2 });
  });
});

describe('fixupDivisions', () => {
  const fix = (insn: RawInsn) =>
    fixupDivisions({ insns: [Mov.imm(R0, 8), Mov.imm(R1, 2), insn, Exit()], slotMap: [0, 1, 2, 3, 4], divisionsWithoutZeroCheck: [2], memoryInBounds: [] });

  it('64-bit div by a register: `if src != 0 goto +2; w = 0 (xor); goto +1; div`', () => {
    const out = fix(Div.reg(R0, R1));
    expect(out.insns.slice(2, 6)).toEqual([raw(0x55, 1, 0, 2, 0), raw(0xac, 0, 0, 0, 0), raw(0x05, 0, 0, -0 + 1, 0), strip(Div.reg(R0, R1))]);
    expect(out.divisionsWithoutZeroCheck).toEqual([5]);
    expect(out.slotMap).toEqual([0, 1, 2, 6, 7]);
  });

  it('32-bit mod by a register keeps the dividend zero-extended when the divisor is 0', () => {
    const out = fix(Mod.reg32(R0, R1));
    expect(out.insns.slice(2, 6)).toEqual([raw(0x16, 1, 0, 2, 0), strip(Mod.reg32(R0, R1)), raw(0x05, 0, 0, 1, 0), raw(0xbc, 0, 0, 0, 0)]);
  });

  it('signed div and mod use BPF_REG_AX (r11); by the immediate -1 they become neg and `w = 0`', () => {
    expect(fix(SDiv.reg(R0, R1)).insns[2]).toEqual(raw(0xbf, BPF_REG_AX, 1, 0, 0));
    expect(fix(SMod.reg(R0, R1)).insns).toHaveLength(4 + 6);
    expect(fix(SMod.reg32(R0, R1)).insns).toHaveLength(4 + 8);
    const neg = fix(SDiv.imm(R0, -1));
    expect(neg.insns[2]).toEqual(raw(0x87, 0, 0, 0, 0));
    expect(neg.divisionsWithoutZeroCheck).toEqual([]);
    expect(fix(SMod.imm32(R0, -1)).insns[2]).toEqual(raw(0xb4, 0, 0, 0, 0));
    expect(fix(Div.imm(R0, 3)).insns[2]).toEqual(strip(Div.imm(R0, 3)));
  });
});

function strip(insn: RawInsn): RawInsn {
  return { code: insn.code, dst: insn.dst, src: insn.src, off: insn.off, imm: insn.imm };
}
