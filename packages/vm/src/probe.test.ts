import { asm, formById, OPCODE_TABLE, type RawInsn } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { FUSED_AFTER_ADD_IMM, FUSED_AFTER_MOV } from './interp.js';
import { loadProgram } from './program.js';
import { PROBE_VALUE_SETS, ProbeBench, primerProgram, probePrograms } from './probe.js';

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
