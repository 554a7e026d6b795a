import { asm, decodeProgram, encodeProgram, formatXlatedProgram, type RawInsn } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { CtxRewriteError, convertCtxAccesses } from './ctx-rewrite.js';
import type { CtxAccessFact } from './facts.js';
import type { CtxField, ProgramTypeDesc, VerifierRegistry } from './registry.js';
import { verify } from './verifier.js';

const { Add, Call, Exit, JEq, JGt, Ja, LdImm64, Ldx, LdxSX, Mov, St, Stx, program, label, R0, R1, R2, R3, R4, R5, R6, R7, R10 } = asm;

/**
 * A test context whose fields convert the ways Linux's *_convert_ctx_access do: a three-load pointer chain
 * (xdp_md.ingress_ifindex), a NULL-checked chain (__sk_buff.ifindex), an 8-byte field behind a pointer
 * (bpf_perf_event_data.sample_period), a u32 field read from a u16 with a guarded store (queue_mapping), a
 * field read and written at the access's own width (cb[]), a 0/1 flag (vlan_present), and a field read in
 * place (pt_regs).
 */
const FIELDS = {
  chain: { name: 'chain', off: 0, size: 4, kind: 'scalar', convert: { read: [load('ctx', 8, 8), load('value', 16, 8), load('value', 4, 4)] } },
  nullSafe: {
    name: 'null_safe',
    off: 4,
    size: 4,
    kind: 'scalar',
    narrowLoads: true,
    convert: { read: [load('ctx', 16, 8), { op: 'jeq', imm: 0, skip: 1 }, load('value', 24, 4)] },
  },
  wide: { name: 'wide', off: 8, size: 8, kind: 'scalar', narrowLoads: true, convert: { read: [load('ctx', 8, 8), load('value', 32, 8)] } },
  half: {
    name: 'half',
    off: 16,
    size: 4,
    kind: 'scalar',
    narrowLoads: true,
    writable: true,
    convert: { read: [load('ctx', 50, 2)], write: { off: 50, size: 2, below: 0xffff } },
  },
  cb: {
    name: 'cb',
    off: 20,
    size: 4,
    kind: 'scalar',
    narrowLoads: true,
    writable: true,
    convert: { read: [load('ctx', 60, 'access')], write: { off: 60, size: 'access' } },
  },
  plain: { name: 'plain', off: 24, size: 4, kind: 'scalar', narrowLoads: true },
  flag: {
    name: 'flag',
    off: 28,
    size: 4,
    kind: 'scalar',
    narrowLoads: true,
    convert: { read: [load('ctx', 70, 4), { op: 'jeq', imm: 0, skip: 1 }, { op: 'mov', imm: 1 }] },
  },
} as const satisfies Record<string, CtxField>;

function load(base: 'ctx' | 'value', off: number, size: 1 | 2 | 4 | 8 | 'access') {
  return { op: 'load', base, off, size } as const;
}

const TYPE: ProgramTypeDesc = {
  name: 'test',
  uapiId: 0,
  ctx: { structName: 'test_ctx', size: 32, fields: Object.values(FIELDS) },
  helpers: new Set([5]),
};
const REGISTRY: VerifierRegistry = {
  helper: (id) => (id === 5 ? { id, name: 'bpf_ktime_get_ns', ret: 'integer', args: [] } : undefined),
  map: () => undefined,
};

const print = (insns: readonly RawInsn[]): string => formatXlatedProgram(decodeProgram(encodeProgram(insns)));

/** Verify `insns` with the test type and print the rewritten program. */
function xlated(...insns: RawInsn[]): string {
  const result = verify(insns, { progType: TYPE, registry: REGISTRY });
  expect(result.accepted, result.log).toBe(true);
  return print(convertCtxAccesses(insns, result.facts, TYPE).insns);
}

/** Facts with only these context accesses. */
const noFacts = (ctxAccesses: CtxAccessFact[]) => ({
  ctxAccesses,
  divisionsWithoutZeroCheck: [],
  memoryInBounds: [],
  unreached: [],
  callMaps: new Map(),
  loopCalls: new Map(),
  seenDirectWrite: false,
  maxCtxOffset: 0,
});

const lines = (...text: string[]): string => text.map((line, i) => `${String(i).padStart(4)}: ${line}\n`).join('');

describe('convertCtxAccesses: the conversions', () => {
  it('turns a field into its pointer chain, each load from the previous result', () => {
    expect(xlated(Ldx.w(R0, R1, 0), Exit())).toBe(lines('(79) r0 = *(u64 *)(r1 +8)', '(79) r0 = *(u64 *)(r0 +16)', '(61) r0 = *(u32 *)(r0 +4)', '(95) exit'));
  });

  it('keeps the chain correct when the destination is the context register itself', () => {
    expect(xlated(Ldx.w(R1, R1, 0), Mov.imm(R0, 0), Exit())).toContain(
      '(79) r1 = *(u64 *)(r1 +8)\n   1: (79) r1 = *(u64 *)(r1 +16)\n   2: (61) r1 = *(u32 *)(r1 +4)\n',
    );
  });

  it('widens a narrow load to the whole field, then shifts and masks (ALU32 for a 4-byte field)', () => {
    expect(xlated(Ldx.b(R2, R1, 6), Mov.imm(R0, 0), Exit())).toBe(
      lines(
        '(79) r2 = *(u64 *)(r1 +16)',
        '(15) if r2 == 0x0 goto pc+1',
        '(61) r2 = *(u32 *)(r2 +24)',
        '(74) w2 >>= 16',
        '(54) w2 &= 255',
        '(b7) r0 = 0',
        '(95) exit',
      ),
    );
  });

  it('shifts an 8-byte field with ALU64 and masks with ALU32, as Linux does', () => {
    expect(xlated(Ldx.w(R3, R1, 12), Mov.imm(R0, 0), Exit())).toBe(
      lines('(79) r3 = *(u64 *)(r1 +8)', '(79) r3 = *(u64 *)(r3 +32)', '(77) r3 >>= 32', '(54) w3 &= -1', '(b7) r0 = 0', '(95) exit'),
    );
    // The low half at the field's start needs no shift.
    expect(xlated(Ldx.w(R3, R1, 8), Mov.imm(R0, 0), Exit())).toContain('(79) r3 = *(u64 *)(r3 +32)\n   2: (54) w3 &= -1\n');
  });

  it('masks only loads narrower than the kernel field (target_size): a u16 read of a u16 is left alone', () => {
    expect(xlated(Ldx.h(R4, R1, 16), Mov.imm(R0, 0), Exit())).toBe(lines('(69) r4 = *(u16 *)(r1 +50)', '(b7) r0 = 0', '(95) exit'));
    expect(xlated(Ldx.b(R4, R1, 17), Mov.imm(R0, 0), Exit())).toBe(
      lines('(69) r4 = *(u16 *)(r1 +50)', '(74) w4 >>= 8', '(54) w4 &= 255', '(b7) r0 = 0', '(95) exit'),
    );
    expect(xlated(Ldx.w(R4, R1, 16), Mov.imm(R0, 0), Exit())).toBe(lines('(69) r4 = *(u16 *)(r1 +50)', '(b7) r0 = 0', '(95) exit'));
  });

  it('reads an access-width field at the access own width and offset (cb[])', () => {
    expect(xlated(Ldx.b(R5, R1, 22), Ldx.w(R6, R1, 20), Mov.imm(R0, 0), Exit())).toBe(
      lines('(71) r5 = *(u8 *)(r1 +62)', '(61) r6 = *(u32 *)(r1 +60)', '(b7) r0 = 0', '(95) exit'),
    );
  });

  it('normalises a flag with a jump over a move', () => {
    expect(xlated(Ldx.w(R2, R1, 28), Mov.imm(R0, 0), Exit())).toBe(
      lines('(61) r2 = *(u32 *)(r1 +70)', '(15) if r2 == 0x0 goto pc+1', '(b4) w2 = 1', '(b7) r0 = 0', '(95) exit'),
    );
  });

  it('leaves fields without a conversion in place', () => {
    expect(xlated(Ldx.b(R2, R1, 25), Mov.imm(R0, 0), Exit())).toBe(lines('(71) r2 = *(u8 *)(r1 +25)', '(b7) r0 = 0', '(95) exit'));
  });

  it('sign-extends a sign-extending load after the conversion', () => {
    expect(xlated(LdxSX.h(R6, R1, 4), Mov.imm(R0, 0), Exit())).toBe(
      lines(
        '(79) r6 = *(u64 *)(r1 +16)',
        '(15) if r6 == 0x0 goto pc+1',
        '(61) r6 = *(u32 *)(r6 +24)',
        '(54) w6 &= 65535',
        '(bf) r6 = (s16)r6',
        '(b7) r0 = 0',
        '(95) exit',
      ),
    );
  });

  it('aims stores at the kernel field, register or immediate, guarding a bounded one', () => {
    expect(xlated(Mov.imm(R7, 9), Stx.w(R1, 20, R7), Stx.w(R1, 16, R7), St.w(R1, 16, 7), St.w(R1, 16, 0xffff), Mov.imm(R0, 0), Exit())).toBe(
      lines(
        '(b7) r7 = 9',
        '(63) *(u32 *)(r1 +60) = r7',
        '(35) if r7 >= 0xffff goto pc+1',
        '(6b) *(u16 *)(r1 +50) = r7',
        '(6a) *(u16 *)(r1 +50) = 7',
        '(05) goto pc+0',
        '(b7) r0 = 0',
        '(95) exit',
      ),
    );
  });
});

describe('convertCtxAccesses: jumps, calls and facts across the inserted instructions', () => {
  it('re-aims forward jumps over a rewrite and lands jumps to a rewritten access on its first instruction', () => {
    const insns = program(
      JEq.imm(R1, 0, 'read'), // jumps to the access itself
      Ldx.w(R2, R1, 0),
      JGt.imm(R2, 4, 'out'), // forward over a later rewrite
      label('read'),
      Ldx.w(R3, R1, 0),
      label('out'),
      Mov.imm(R0, 0),
      Exit(),
    );
    expect(xlated(...insns)).toBe(
      lines(
        '(15) if r1 == 0x0 goto pc+4',
        '(79) r2 = *(u64 *)(r1 +8)',
        '(79) r2 = *(u64 *)(r2 +16)',
        '(61) r2 = *(u32 *)(r2 +4)',
        '(25) if r2 > 0x4 goto pc+3',
        '(79) r3 = *(u64 *)(r1 +8)',
        '(79) r3 = *(u64 *)(r3 +16)',
        '(61) r3 = *(u32 *)(r3 +4)',
        '(b7) r0 = 0',
        '(95) exit',
      ),
    );
  });

  it('re-aims backward jumps, bpf-to-bpf calls and LD imm64 of a function, and moves the runtime facts', () => {
    // The rewrite needs only the facts, so a hand-made set drives the cases the test verifier would not
    // need to explore (a back-edge to a rewritten access, a callee after it).
    const insns = program(
      label('top'),
      Ldx.w(R2, R1, 0), // slot 0: 3 instructions
      LdImm64.func(R3, 'callee'), // slots 1-2
      Call.local('callee'), // slot 3
      Add.imm(R2, 1), // slot 4
      JGt.imm(R2, 10, 'top'), // slot 5: back to the rewritten access
      Ja('done'), // slot 6
      label('callee'),
      Ldx.w(R0, R1, 0), // slot 7: 3 instructions
      Exit(), // slot 8
      label('done'),
      Exit(), // slot 9
    );
    const fact = (insn: number): CtxAccessFact => ({ insn, field: FIELDS.chain, offsetInField: 0, size: 4, write: false });
    const out = convertCtxAccesses(
      insns,
      {
        ctxAccesses: [fact(0), fact(7)],
        divisionsWithoutZeroCheck: [4],
        memoryInBounds: [8],
        unreached: [],
        callMaps: new Map(),
        loopCalls: new Map(),
        seenDirectWrite: false,
        maxCtxOffset: 0,
      },
      TYPE,
    );
    expect(print(out.insns)).toBe(
      lines(
        '(79) r2 = *(u64 *)(r1 +8)',
        '(79) r2 = *(u64 *)(r2 +16)',
        '(61) r2 = *(u32 *)(r2 +4)',
        '(18) r3 = subprog[+5]',
        '', // the second slot of LD imm64 carries no text of its own
        '(85) call pc+3',
        '(07) r2 += 1',
        '(25) if r2 > 0xa goto pc-8',
        '(05) goto pc+4',
        '(79) r0 = *(u64 *)(r1 +8)',
        '(79) r0 = *(u64 *)(r0 +16)',
        '(61) r0 = *(u32 *)(r0 +4)',
        '(95) exit',
        '(95) exit',
      ).replace('   4: \n', ''),
    );
    expect(out.slotMap).toEqual([0, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14]);
    expect(out.divisionsWithoutZeroCheck).toEqual([6]);
    expect(out.memoryInBounds).toEqual([12]);
  });

  it('refuses an access that reached the context on one path and other memory on another', () => {
    const fact: CtxAccessFact = { insn: 0, field: FIELDS.chain, offsetInField: 0, size: 4, write: false, sharedWithOtherPointer: true };
    expect(() => convertCtxAccesses(program(Ldx.w(R0, R1, 0), Exit()), noFacts([fact]), TYPE)).toThrow(
      new CtxRewriteError('same insn cannot be used with different pointers (insn 0)'),
    );
  });

  it('records that sharing in the verifier facts', () => {
    const r = verify(
      program(
        Mov.reg(R6, R1),
        Call.helper(5),
        Mov.reg(R7, R10),
        Add.imm(R7, -8),
        St.dw(R7, 0, 0),
        JEq.imm(R0, 0, 'load'),
        Mov.reg(R7, R6),
        label('load'),
        Ldx.w(R0, R7, 0), // the context on one path, the stack on the other
        Mov.imm(R0, 0),
        Exit(),
      ),
      { progType: TYPE, registry: REGISTRY },
    );
    expect(r.accepted, r.log).toBe(true);
    expect(r.facts.ctxAccesses.find((f) => f.insn === 7)?.sharedWithOtherPointer).toBe(true);
  });

  it('refuses facts that do not match the instruction', () => {
    const fact: CtxAccessFact = { insn: 0, field: FIELDS.chain, offsetInField: 0, size: 4, write: true };
    expect(() => convertCtxAccesses(program(Ldx.w(R0, R1, 0), Exit()), noFacts([fact]), TYPE)).toThrow(
      /verifier bug: insn 0 is not the context store the verifier recorded/,
    );
  });

  it('leaves a program without context accesses as it was', () => {
    const insns = program(Mov.imm(R0, 1), Call.helper(5), Exit());
    const r = verify(insns, { progType: TYPE, registry: REGISTRY });
    expect(convertCtxAccesses(insns, r.facts, TYPE).insns).toEqual(insns);
  });
});

describe('convertCtxAccesses: the direct-write prologue (gen_prologue)', () => {
  const PKT_TYPE: ProgramTypeDesc = {
    ...TYPE,
    ctx: {
      structName: 'pkt_ctx',
      size: 8,
      fields: [
        { name: 'data', off: 0, size: 4, kind: 'pkt', convert: { read: [load('ctx', 16, 8)] } },
        { name: 'end', off: 4, size: 4, kind: 'pkt_end', convert: { read: [load('ctx', 24, 8)] } },
      ],
    },
    directPacketWrite: true,
    directWritePrologue: program(Ldx.b(R6, R1, 3), JEq.imm(R6, 0, 'start'), Mov.imm(R0, 2), Exit(), label('start')),
  };
  const body = (write: boolean) =>
    program(
      label('top'),
      Ldx.w(R2, R1, 0),
      Ldx.w(R3, R1, 4),
      Mov.reg(R4, R2),
      Add.imm(R4, 1),
      JGt.reg(R4, R3, 'out'),
      write ? St.b(R2, 0, 0x42) : Ldx.b(R5, R2, 0),
      label('out'),
      Mov.imm(R0, 0),
      Exit(),
    );

  it('records a direct packet store, and puts the prologue in front of the program that makes one', () => {
    const writes = verify(body(true), { progType: PKT_TYPE, registry: REGISTRY });
    const reads = verify(body(false), { progType: PKT_TYPE, registry: REGISTRY });
    expect(writes.facts.seenDirectWrite).toBe(true);
    expect(reads.facts.seenDirectWrite).toBe(false);
    expect(print(convertCtxAccesses(body(true), writes.facts, PKT_TYPE).insns)).toBe(
      lines(
        '(71) r6 = *(u8 *)(r1 +3)',
        '(15) if r6 == 0x0 goto pc+2',
        '(b7) r0 = 2',
        '(95) exit',
        '(79) r2 = *(u64 *)(r1 +16)',
        '(79) r3 = *(u64 *)(r1 +24)',
        '(bf) r4 = r2',
        '(07) r4 += 1',
        '(2d) if r4 > r3 goto pc+1',
        '(72) *(u8 *)(r2 +0) = 66',
        '(b7) r0 = 0',
        '(95) exit',
      ),
    );
    // Without a packet store, no prologue: the first instruction is the program's own.
    expect(print(convertCtxAccesses(body(false), reads.facts, PKT_TYPE).insns)).toMatch(/^ {3}0: \(79\) r2 = \*\(u64 \*\)\(r1 \+16\)\n/);
  });

  it('lands a jump back to the first instruction after the prologue (adjust_jmp_off)', () => {
    const insns = program(label('top'), Ldx.w(R2, R1, 0), JEq.imm(R2, 0, 'top'), Mov.imm(R0, 0), Exit());
    const out = convertCtxAccesses(
      insns,
      { ...noFacts([{ insn: 0, field: PKT_TYPE.ctx.fields[0] as CtxField, offsetInField: 0, size: 4, write: false }]), seenDirectWrite: true },
      PKT_TYPE,
    );
    expect(out.slotMap).toEqual([4, 5, 6, 7, 8]);
    expect(print(out.insns)).toContain('   5: (15) if r2 == 0x0 goto pc-2\n');
  });
});
