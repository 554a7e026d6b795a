import { OPCODE_TABLE } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
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
