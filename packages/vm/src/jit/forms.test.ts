/**
 * Every instruction form of the opcode table has a JIT case: each probe program (one per form and variant,
 * see probe.ts) compiles, and runs to exactly the interpreter's state over every operand set.
 */
import { OPCODE_TABLE } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { PROBE_VALUE_SETS, ProbeBench, probePrograms } from '../probe.js';
import { compiled } from './engine.js';

function state(bench: ProbeBench, ok: boolean) {
  const vm = bench.vm;
  return { ok, regs: [...vm.regs], executed: vm.executed, fault: vm.fault, data: [...vm.mem.read(bench.data, 128)] };
}

describe('every instruction form has a JIT case', () => {
  const probes = probePrograms();
  const jit = new ProbeBench('jit');
  const interp = new ProbeBench('interp');

  it('probes cover the whole opcode table', () => {
    expect(new Set(probes.map((p) => p.form.index)).size).toBe(OPCODE_TABLE.length);
  });

  it.each(probes.map((p, i) => [`${p.form.id} #${i}`, p] as const))('%s', (_name, { form, program }) => {
    expect(() => compiled(program, 'checked')).not.toThrow();
    expect(() => compiled(program, 'unchecked')).not.toThrow();
    for (let set = 0; set < PROBE_VALUE_SETS; set++) {
      const a = state(jit, jit.run(program, set));
      const b = state(interp, interp.run(program, set));
      expect(a.fault?.kind, `${form.id} operand set ${set}`).not.toBe('unhandled');
      expect(a, `${form.id} operand set ${set}`).toEqual(b);
    }
  });
});
