import { asm, formById, OPCODE_TABLE, type RawInsn } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import {
  FORM_OPS,
  FUSED_ADD_ADD,
  FUSED_ADD_LOAD,
  FUSED_AFTER_ADD_IMM,
  FUSED_AFTER_MOV,
  FUSED_LOOP_TAIL,
  FUSED_MOV_ADD_LOAD,
  FUSED_MOV_MOV,
  FUSED_MOV_ZEXT,
  FUSED_XOR_MUL,
} from './interp.js';
import { Arena, LinearMemory, Perm } from './memory.js';
import { type Program } from './program.js';
import { loadProgram } from './load.js';
import { primerProgram } from './primer.js';
import { PROBE_VALUE_SETS, ProbeBench, probePrograms } from './probe.js';
import { Vm } from './vm.js';

describe('every instruction form has an interpreter case', () => {
  const probes = probePrograms();
  const bench = new ProbeBench();

  it('probes cover the whole opcode table', () => {
    expect(new Set(probes.map((p) => p.form.index)).size).toBe(OPCODE_TABLE.length);
  });

  it.each(probes.map((p, i) => [`${p.form.id} #${i}`, p] as const))('%s', (_name, { form, program }) => {
    for (let set = 0; set < PROBE_VALUE_SETS; set++) {
      const ok = bench.run(program, set);
      const fault = bench.vm.fault;
      expect(fault?.kind, `${form.id} operand set ${set}`).not.toBe('unhandled');
      if (form.kind === 'ld_imm64' && form.discriminant?.value !== 0) {
        // Pseudo loads the loader never relocated must stop the program, never produce a value.
        expect(fault?.kind).toBe('unresolved-ld-imm64');
      } else {
        expect(ok, `${form.id} operand set ${set}: ${fault?.kind ?? ''}`).toBe(true);
      }
    }
  });
});

describe('the engine primer', () => {
  it('runs every non-faulting form without a fault over every operand set', () => {
    const primer = loadProgram(primerProgram());
    const forms = new Set(primer.insns.map((insn) => insn.form.id));
    const skipped = OPCODE_TABLE.filter((f) => !forms.has(f.id)).map((f) => f.id);
    expect(skipped.sort()).toEqual(['ld.imm64.btf_id', 'ld.imm64.func', 'ld.imm64.map_fd', 'ld.imm64.map_idx', 'ld.imm64.map_idx_value', 'ld.imm64.map_value']);
    const bench = new ProbeBench();
    for (let set = 0; set < PROBE_VALUE_SETS; set++) {
      expect(bench.run(primer, set), `operand set ${set}: ${bench.vm.fault?.kind ?? ''}`).toBe(true);
    }
  });
});

/** Runs `fused` and `apart` over every operand set: same r0, and `fused` executed `executed` instructions. */
function expectSameAsApart(fused: Program, apart: Program, executed: number): void {
  const bench = new ProbeBench();
  for (let set = 0; set < PROBE_VALUE_SETS; set++) {
    expect(bench.run(fused, set)).toBe(true);
    const viaFused = bench.vm.r0;
    expect(bench.vm.executed).toBe(executed);
    expect(bench.run(apart, set)).toBe(true);
    expect(viaFused, `operand set ${set}`).toBe(bench.vm.r0);
  }
}

describe('superinstructions (mov + ALU on the same register)', () => {
  const { R0, R1, R2, R3 } = asm;
  it.each(Object.keys(FUSED_AFTER_MOV))('mov; %s gives the same registers as the two instructions apart', (id) => {
    const form = formById(id);
    const mov = form.cls === 'alu64' ? asm.Mov.reg(R1, R2) : asm.Mov.reg32(R1, R2);
    const op: RawInsn = { code: form.opcode, dst: R1, src: form.source === 'X' ? R3 : 0, off: 0, imm: form.source === 'K' ? -77 : 0 };
    const load = [asm.Ldx.dw(R2, R1, 0), asm.Ldx.dw(R3, R1, 8)];
    const fused = loadProgram(asm.program(...load, mov, op, asm.Mov.reg(R0, R1), asm.Exit()));
    // `ja +0` between the two keeps them apart.
    const apart = loadProgram(asm.program(...load, mov, asm.Ja(0), op, asm.Mov.reg(R0, R1), asm.Exit()));
    const bench = new ProbeBench();
    for (let set = 0; set < PROBE_VALUE_SETS; set++) {
      expect(bench.run(fused, set)).toBe(true);
      const viaFused = bench.vm.r0;
      // Both instructions count: two loads, mov, op, mov, exit.
      expect(bench.vm.executed).toBe(6);
      expect(bench.run(apart, set)).toBe(true);
      expect(viaFused, `${id} operand set ${set}`).toBe(bench.vm.r0);
    }
  });

  it('two moves in a row (a swap through a third register) give the same registers as apart', () => {
    const load = [asm.Ldx.dw(R2, R1, 0), asm.Ldx.dw(R3, R1, 8)];
    // r1 = r2; r2 = r3; r3 = r1 pairs the first two moves; r0 = r1 ^ r2 ^ r3 shows every register.
    const body = (gap: boolean) => [
      asm.Mov.reg(R1, R2),
      ...(gap ? [asm.Ja(0)] : []),
      asm.Mov.reg(R2, R3),
      asm.Mov.reg(R3, R1),
      asm.Mov.reg(R0, R1),
      asm.Lsh.imm(R0, 1),
      asm.Xor.reg(R0, R2),
      asm.Lsh.imm(R0, 1),
      asm.Xor.reg(R0, R3),
      asm.Exit(),
    ];
    const fused = loadProgram(asm.program(...load, ...body(false)));
    const apart = loadProgram(asm.program(...load, ...body(true)));
    // The first move (slot 2) runs as the pair in `fused` only.
    expect((fused.code[8]! & 0x1ff) === FUSED_MOV_MOV['alu64.mov.x']).toBe(true);
    expect((apart.code[8]! & 0x1ff) === FUSED_MOV_MOV['alu64.mov.x']).toBe(false);
    expectSameAsApart(fused, apart, 11);
  });

  it.each([
    ['imm', 'another register', R3, -1],
    ['imm', 'the same register', R1, 0x7fffffff],
    ['imm', 'the source register', R2, -0x80000000],
    ['reg', 'another register', R3, R1],
    ['reg', 'the same register', R1, R3],
    ['reg', 'the source register', R2, R1],
    ['reg', 'itself', R3, R3],
  ] as const)('add reg; add %s to %s gives the same registers as apart', (kind, _what, second, operand) => {
    // r1, r2, r3 = the operand set's first three values; r0 = r1 ^ r2 ^ r3 (shifted apart) shows every register.
    const load = [asm.Ldx.dw(R1, R0, 0), asm.Ldx.dw(R2, R0, 8), asm.Ldx.dw(R3, R0, 16)];
    const add = kind === 'imm' ? asm.Add.imm(second, operand) : asm.Add.reg(second, operand);
    const body = (gap: boolean) => [
      asm.Add.reg(R1, R2),
      ...(gap ? [asm.Ja(0)] : []),
      add,
      asm.Mov.reg(R0, R1),
      asm.Lsh.imm(R0, 1),
      asm.Xor.reg(R0, R2),
      asm.Lsh.imm(R0, 1),
      asm.Xor.reg(R0, R3),
      asm.Exit(),
    ];
    const fused = loadProgram(asm.program(asm.Mov.reg(R0, R1), ...load, ...body(false)));
    const apart = loadProgram(asm.program(asm.Mov.reg(R0, R1), ...load, ...body(true)));
    const op = FUSED_ADD_ADD[kind === 'imm' ? 'alu64.add.k' : 'alu64.add.x'];
    expect(fused.code[16]! & 0x1ff).toBe(op);
    expect(apart.code[16]! & 0x1ff).not.toBe(op);
    expectSameAsApart(fused, apart, 12);
  });

  it.each([
    ['another register', R2],
    ['dst itself', R1],
  ] as const)('mov; lsh 32; rsh 32 (zero-extension) from %s gives the same registers as apart', (_what, src) => {
    const load = [asm.Ldx.dw(R1, R0, 0), asm.Ldx.dw(R2, R0, 8)];
    const body = (gap: boolean) => [
      asm.Mov.reg(R1, src),
      ...(gap ? [asm.Ja(0)] : []),
      asm.Lsh.imm(R1, 32),
      asm.Rsh.imm(R1, 32),
      asm.Mov.reg(R0, R1),
      asm.Lsh.imm(R0, 1),
      asm.Xor.reg(R0, R2),
      asm.Exit(),
    ];
    const fused = loadProgram(asm.program(asm.Mov.reg(R0, R1), ...load, ...body(false)));
    const apart = loadProgram(asm.program(asm.Mov.reg(R0, R1), ...load, ...body(true)));
    expect(fused.code[12]! & 0x1ff).toBe(FUSED_MOV_ZEXT['alu64.mov.x']);
    expect(apart.code[12]! & 0x1ff).not.toBe(FUSED_MOV_ZEXT['alu64.mov.x']);
    expectSameAsApart(fused, apart, 10);
  });

  it('only shifts by 32 make the zero-extension', () => {
    const prog = (l: number, r: number) => loadProgram(asm.program(asm.Mov.reg(R1, R2), asm.Lsh.imm(R1, l), asm.Rsh.imm(R1, r), asm.Exit()));
    expect(prog(32, 32).code[0]! & 0x1ff).toBe(FUSED_MOV_ZEXT['alu64.mov.x']);
    for (const [l, r] of [
      [31, 32],
      [32, 31],
      [16, 16],
    ])
      expect(prog(l!, r!).code[0]! & 0x1ff).not.toBe(FUSED_MOV_ZEXT['alu64.mov.x']);
  });

  it('mov; lsh 32; rsh 32 stops exactly at the budget on either shift', () => {
    const bench = new ProbeBench();
    const prog = loadProgram(
      asm.program(asm.LdImm64.value(R2, 0x1234567887654321n), asm.Mov.reg(R1, R2), asm.Lsh.imm(R1, 32), asm.Rsh.imm(R1, 32), asm.Exit()),
    );
    for (const [budget, r1] of [
      [2, 0x1234567887654321n],
      [3, 0x8765432100000000n],
      [4, 0x87654321n],
    ] as const) {
      bench.vm.budget = budget;
      expect(bench.vm.run(prog)).toBe(false);
      expect(bench.vm.fault).toMatchObject({ kind: 'budget', pc: budget + 1, detail: budget });
      expect([bench.vm.reg(1), bench.vm.executed]).toEqual([r1, budget]);
    }
  });

  it.each(['imm', 'reg'] as const)('add reg; add %s stops exactly at the budget between the two', (kind) => {
    const bench = new ProbeBench();
    const prog = loadProgram(asm.program(asm.Mov.imm(R2, 5), asm.Add.reg(R1, R2), kind === 'imm' ? asm.Add.imm(R2, 1) : asm.Add.reg(R2, R2), asm.Exit()));
    expect(prog.code[4]! & 0x1ff).toBe(FUSED_ADD_ADD[kind === 'imm' ? 'alu64.add.k' : 'alu64.add.x']);
    bench.vm.budget = 2;
    expect(bench.vm.run(prog, 100)).toBe(false);
    expect(bench.vm.fault).toMatchObject({ kind: 'budget', pc: 2, detail: 2 });
    expect([bench.vm.reg(1), bench.vm.reg(2), bench.vm.executed]).toEqual([105n, 5n, 2]);
  });

  it.each([
    ['another register', R3],
    ['dst itself', R1],
  ] as const)('xor; mul (the hash step) with the multiplier in %s gives the same registers as apart', (_what, multiplier) => {
    // r1, r2, r3 = the operand set's first three values (r0 keeps the operand region's address).
    const load = [asm.Ldx.dw(R1, R0, 0), asm.Ldx.dw(R2, R0, 8), asm.Ldx.dw(R3, R0, 16)];
    const body = (gap: boolean) => [asm.Xor.reg(R1, R2), ...(gap ? [asm.Ja(0)] : []), asm.Mul.reg(R1, multiplier), asm.Mov.reg(R0, R1), asm.Exit()];
    const fused = loadProgram(asm.program(asm.Mov.reg(R0, R1), ...load, ...body(false)));
    const apart = loadProgram(asm.program(asm.Mov.reg(R0, R1), ...load, ...body(true)));
    expect(fused.code[16]! & 0x1ff).toBe(FUSED_XOR_MUL['alu64.mul.x']);
    expectSameAsApart(fused, apart, 8);
  });

  it('stops exactly at the budget inside a fused pair', () => {
    const vm = new ProbeBench().vm;
    vm.budget = 2;
    const prog = loadProgram(asm.program(asm.Mov.reg(R1, R2), asm.Add.imm(R1, 1), asm.Exit()));
    expect(vm.run(prog)).toBe(false);
    expect(vm.fault).toMatchObject({ kind: 'budget', pc: 2, detail: 2 });
    expect(vm.executed).toBe(2);
  });
});

describe('superinstructions (add imm + conditional jump)', () => {
  const { R0, R1, R2, R3 } = asm;
  it.each(Object.keys(FUSED_AFTER_ADD_IMM))('add; %s takes the same branch as the two instructions apart', (id) => {
    const form = formById(id);
    const add = form.cls === 'jmp' ? asm.Add.imm(R2, 3) : asm.Add.imm32(R2, 3);
    const jump: RawInsn = { code: form.opcode, dst: R2, src: form.source === 'X' ? R3 : 0, off: 1, imm: form.source === 'K' ? -4 : 0 };
    const head = [asm.Mov.imm(R0, 0), asm.Ldx.dw(R2, R1, 0), asm.Ldx.dw(R3, R1, 8)];
    const tail = [asm.Mov.imm(R0, 1), asm.Add.reg(R0, R2), asm.Exit()];
    const fused = loadProgram(asm.program(...head, add, jump, ...tail));
    const apart = loadProgram(asm.program(...head, add, asm.Ja(0), jump, ...tail));
    const bench = new ProbeBench();
    for (let set = 0; set < PROBE_VALUE_SETS; set++) {
      expect(bench.run(fused, set)).toBe(true);
      const [r0, executed] = [bench.vm.r0, bench.vm.executed];
      expect(bench.run(apart, set)).toBe(true);
      expect(r0, `${id} operand set ${set}`).toBe(bench.vm.r0);
      expect(executed).toBe(bench.vm.executed - 1);
    }
  });
});

describe('superinstructions (a whole loop tail: add imm, two moves, conditional jump)', () => {
  const { R0, R1, R2, R3, R4 } = asm;
  // r2 = counter (from the operand set, or 0), r3 = a value, r4 = another; a loop of 6 (or 3) rounds whose tail
  // is `w2 += 1; r4 = r0; r0 = r3; if w2 != 6 goto head` and whose head mixes r0 and r4 into r3. With `gap`, a
  // `ja +0` after the add keeps the tail apart. r0 at exit shows every register.
  const program = (id: string, gap: boolean, counter: 'zero' | 'operand') => {
    const form = formById(id);
    const jump: RawInsn = { code: form.opcode, dst: R2, src: form.source === 'X' ? R1 : 0, off: -(gap ? 7 : 6), imm: 6 };
    return loadProgram(
      asm.program(
        asm.Mov.reg(R1, R1),
        // The operand counter keeps the set's low word as its high word (which the 32-bit add clears) and starts at 3.
        ...(counter === 'zero'
          ? [asm.Mov.imm(R2, 0), asm.Mov.imm(R2, 0), asm.Mov.imm(R2, 0)]
          : [asm.Ldx.dw(R2, R1, 0), asm.Lsh.imm(R2, 32), asm.Or.imm(R2, 3)]),
        asm.Ldx.dw(R3, R1, 8),
        asm.Ldx.dw(R4, R1, 16),
        // head (slot 6)
        asm.Mul.imm(R3, 0x3b9aca07),
        asm.Xor.reg(R3, R4),
        asm.Add.imm32(R2, 1),
        ...(gap ? [asm.Ja(0)] : []),
        asm.Mov.reg(R4, R0),
        asm.Mov.reg(R0, R3),
        jump,
        asm.Xor.reg(R0, R4),
        asm.Xor.reg(R0, R2),
        asm.Exit(),
      ),
    );
  };

  it.each(Object.keys(FUSED_LOOP_TAIL))('add; mov; mov; %s gives the same registers and counts as apart', (id) => {
    for (const counter of ['zero', 'operand'] as const) {
      const fused = program(id, false, counter);
      const apart = program(id, true, counter);
      expect(fused.code[8 * 4]! & 0x1ff).toBe(FUSED_LOOP_TAIL[id]);
      expect(apart.code[8 * 4]! & 0x1ff).not.toBe(FUSED_LOOP_TAIL[id]);
      const bench = new ProbeBench();
      for (let set = 0; set < PROBE_VALUE_SETS; set++) {
        expect(bench.run(fused, set)).toBe(true);
        const [r0, executed] = [bench.vm.r0, bench.vm.executed];
        expect(bench.run(apart, set)).toBe(true);
        expect(r0, `${id} ${counter} operand set ${set}`).toBe(bench.vm.r0);
        // The apart program runs one `ja` per round.
        const rounds = counter === 'zero' ? 6 : 3;
        expect(executed, `${id} ${counter} operand set ${set}`).toBe(bench.vm.executed - rounds);
      }
    }
  });

  it('stops exactly at the budget on each instruction of the tail', () => {
    const vm = new ProbeBench().vm;
    const prog = program('jmp32.jne.k', false, 'zero');
    const data = new ProbeBench().data;
    // Slots: 0..5 set-up, 6 mul, 7 xor, 8 add, 9 mov, 10 mov, 11 jne, then 6 again.
    for (const [budget, pc] of [
      [8, 8],
      [9, 9],
      [10, 10],
      [11, 11],
      [12, 6],
    ] as const) {
      vm.budget = budget;
      expect(vm.run(prog, data)).toBe(false);
      expect(vm.fault).toMatchObject({ kind: 'budget', pc, detail: budget });
      expect(vm.executed).toBe(budget);
      // The add has run (w2 = 1) once the budget reached it; the moves only when it reached them.
      expect(vm.reg(2)).toBe(budget > 8 ? 1n : 0n);
      expect(vm.reg(0)).toBe(budget > 10 ? vm.reg(3) : 0n);
    }
  });
});

describe('superinstructions (mov + add + load through the sum)', () => {
  it('every op id fits the 9 bits of a code word and none is NO_OP (0x1ff)', () => {
    const ids = [
      FORM_OPS,
      FUSED_ADD_ADD,
      FUSED_MOV_ZEXT,
      FUSED_AFTER_MOV,
      FUSED_AFTER_ADD_IMM,
      FUSED_LOOP_TAIL,
      FUSED_MOV_ADD_LOAD,
      FUSED_ADD_LOAD,
      FUSED_MOV_MOV,
      FUSED_XOR_MUL,
    ].flatMap((table) => Object.values(table));
    expect(Math.max(...ids)).toBeLessThan(0x1ff);
  });

  const { R0, R1, R3, R4 } = asm;
  const sizes = [
    ['b', 1],
    ['h', 2],
    ['w', 4],
    ['dw', 8],
  ] as const;
  const setup = () => {
    const mem = new LinearMemory({ pages: 1 });
    const arena = new Arena(mem);
    const vm = new Vm({ arena });
    const buf = arena.alloc(64, Perm.R, 'buf').start;
    for (let i = 0; i < 64; i++) mem.dataView.setUint8(buf + i, (i * 37 + 200) & 0xff);
    return { vm, buf, view: mem.dataView };
  };
  // r3 = index; r4 = r1; r4 += r3; r0 = *(size *)(r4 + off); exit: the load idiom fused at slot 2 (the LD imm64 takes two).
  // With `split`, a `ja +0` between the mov and the add leaves only the add + load pair to fuse (at slot 4; w
  // and dw only, the others run apart).
  const program = (size: (typeof sizes)[number][0], index: number | bigint, off: number, split = false) =>
    loadProgram(
      asm.program(
        asm.LdImm64.value(R3, BigInt.asUintN(64, BigInt(index))),
        asm.Mov.reg(R4, R1),
        ...(split ? [asm.Ja(0)] : []),
        asm.Add.reg(R4, R3),
        asm.Ldx[size](R0, R4, off),
        asm.Exit(),
      ),
    );

  it.each(
    sizes.flatMap(
      ([size, bytes]) =>
        [
          [size, bytes, false],
          [size, bytes, true],
        ] as const,
    ),
  )('ldx.mem.%s (%i bytes, split %s) reads the addressed bytes, faults at the load', (size, bytes, split) => {
    const { vm, buf, view } = setup();
    const extra = split ? 1 : 0;
    for (const [index, off] of [
      [0, 0],
      [5, 3],
      [64 - bytes, 0],
      [60 - bytes, 4],
      [64 - bytes + 1, 0],
      [-(1 << 20), 0],
      [64, -8 + bytes - 8],
      [1n << 40n, 0],
    ] as const) {
      const ok = vm.run(program(size, index, off, split), buf);
      const address = BigInt(buf) + BigInt(index) + BigInt(off);
      const inside = address >= BigInt(buf) && address + BigInt(bytes) <= BigInt(buf + 64);
      expect(ok, `index ${index} off ${off}`).toBe(inside);
      // r4 holds the sum whether or not the load faulted.
      expect(vm.reg(4)).toBe(BigInt.asUintN(64, BigInt(buf) + BigInt(index)));
      if (inside) {
        const a = Number(address);
        const want =
          bytes === 1 ? view.getUint8(a) : bytes === 2 ? view.getUint16(a, true) : bytes === 4 ? view.getUint32(a, true) : view.getBigUint64(a, true);
        expect(vm.r0).toBe(BigInt(want));
        expect(vm.executed).toBe(5 + extra);
      } else {
        expect(vm.fault).toMatchObject({ kind: 'memory', pc: 4 + extra, size: bytes, access: 'read' });
        expect(vm.executed).toBe(4 + extra);
      }
    }
  });

  it.each([false, true])('stops exactly at the budget on the add or the load (split %s)', (split) => {
    const { vm, buf } = setup();
    const extra = split ? 1 : 0;
    for (const budget of [2, 3, 4, 5].slice(0, 3 + extra)) {
      vm.budget = budget;
      expect(vm.run(program('w', 4, 0, split), buf)).toBe(false);
      expect(vm.fault).toMatchObject({ kind: 'budget', pc: budget + 1, detail: budget });
      expect(vm.executed).toBe(budget);
      // The mov (slot 2) has run; the add (slot 3, or 4 when split) only when the budget reached it.
      expect(vm.reg(4)).toBe(BigInt(budget >= 3 + extra ? buf + 4 : buf));
    }
  });
});
