import { OPCODE_TABLE } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { PROBE_VALUE_SETS, ProbeBench, probePrograms } from './probe.js';

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
