import { asm } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import type { ProgramTypeDesc, VerifierRegistry } from './registry.js';
import { verify } from './verifier.js';

// A small test registry: the verifier's structural features need no real program type or helper table.
const TYPE: ProgramTypeDesc = {
  name: 'test',
  uapiId: 0,
  ctx: {
    structName: 'test_ctx',
    size: 8,
    fields: [
      { name: 'data', off: 0, size: 4, kind: 'pkt' },
      { name: 'end', off: 4, size: 4, kind: 'pkt_end' },
    ],
  },
  helpers: new Set([5]),
  retRange: { min: 0, max: 1 },
};
const REGISTRY: VerifierRegistry = {
  helper: (id) => (id === 5 ? { id, name: 'bpf_ktime_get_ns', ret: 'integer', args: [] } : undefined),
  map: () => undefined,
};
const { Add, And, Call, Div, Exit, JGt, Ldx, Lsh, Mov, St, program, R0, R1, R2, R3, R4, R10 } = asm;

describe('verify', () => {
  it('writes the level-2 log in the kernel format', () => {
    const r = verify(program(Mov.imm(R0, 1), Exit()), { progType: TYPE, registry: REGISTRY, logLevel: 2 });
    expect(r.accepted).toBe(true);
    expect(r.log).toContain('0: (b7) r0 = 1                        ; R0=1\n1: (95) exit\n');
    expect(r.log.endsWith('processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n')).toBe(true);
  });
  it('keeps only the stats line at level 1 when accepted', () => {
    const r = verify(program(Mov.imm(R0, 0), Exit()), { progType: TYPE, registry: REGISTRY, logLevel: 1 });
    expect(r.log).toBe('processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n');
  });
  it('checks the return range of the program type', () => {
    const r = verify(program(Mov.imm(R0, 2), Exit()), { progType: TYPE, registry: REGISTRY });
    expect(r.error?.message).toBe('At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]');
    expect(r.log).toContain('hint: the return value is outside the range');
  });
  it('records the facts the runtime may rely on', () => {
    const r = verify(
      program(
        Ldx.w(R2, R1, 0),
        Ldx.w(R3, R1, 4),
        Mov.reg(R4, R2),
        Add.imm(R4, 4),
        JGt.reg(R4, R3, 'x'),
        Ldx.w(R0, R2, 0),
        Mov.imm(R1, 3),
        Div.reg(R0, R1),
        asm.label('x'),
        Mov.imm(R0, 0),
        Exit(),
      ),
      { progType: TYPE, registry: REGISTRY },
    );
    expect(r.accepted).toBe(true);
    expect(r.facts.ctxAccesses.map((c) => c.field.name)).toEqual(['data', 'end']);
    expect(r.facts.divisionsWithoutZeroCheck).toEqual([7]);
    expect(r.facts.memoryInBounds).toEqual([5]);
  });
  it('proves a stack load in bounds when it loads into its own base register', () => {
    // r2 = *(u64 *)(r2 + 0) replaces r2 by the loaded scalar: the proof is of the pointer it had.
    const r = verify(program(St.dw(R10, -8, 7), Mov.reg(R2, R10), Add.imm(R2, -8), Ldx.dw(R2, R2, 0), Mov.imm(R0, 0), Exit()), {
      progType: TYPE,
      registry: REGISTRY,
    });
    expect(r.accepted).toBe(true);
    expect(r.facts.memoryInBounds).toEqual([0, 3]);
  });
  it('proves stack accesses at a variable offset in bounds (every offset of the range is inside the frame)', () => {
    // r0 = (ktime & 7) * 8; r2 = r10 - 64 + r0: fp-64 .. fp-8, each 8 bytes, all inside the 512-byte frame.
    const r = verify(
      program(
        Call.helper(5),
        And.imm(R0, 7),
        Lsh.imm(R0, 3),
        Mov.reg(R2, R10),
        Add.imm(R2, -64),
        Add.reg(R2, R0),
        St.dw(R2, 0, 1),
        Ldx.dw(R3, R2, 0),
        Mov.imm(R0, 0),
        Exit(),
      ),
      { progType: TYPE, registry: REGISTRY },
    );
    expect(r.accepted).toBe(true);
    expect(r.facts.memoryInBounds).toEqual([6, 7]);
    // Eight bytes higher and the last offset of the range leaves the frame: refused, nothing is recorded for the runtime.
    const out = verify(
      program(Call.helper(5), And.imm(R0, 7), Lsh.imm(R0, 3), Mov.reg(R2, R10), Add.imm(R2, -56), Add.reg(R2, R0), St.dw(R2, 0, 1), Mov.imm(R0, 0), Exit()),
      {
        progType: TYPE,
        registry: REGISTRY,
      },
    );
    expect(out.accepted).toBe(false);
    expect(out.error?.message).toContain('invalid variable-offset write to stack R2');
  });
  it('refuses helpers the program type does not list', () => {
    const r = verify(program(Call.helper(1), Exit()), { progType: TYPE, registry: REGISTRY });
    expect(r.error?.message).toBe('invalid func unknown#1');
  });
});
