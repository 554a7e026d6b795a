/**
 * The bpf_conformance suite on the JIT: every test must give the expected r0, and the JIT must leave exactly
 * the interpreter's state (registers, executed count, fault) — in checked mode the two are interchangeable.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConformanceTests } from '../node/conformance-files.js';
import { formatFault } from '../fault.js';
import { bytesFromHex, RawRunner } from '../raw.js';
import { loadProgram } from '../load.js';
import { compiled } from './engine.js';

const TESTS = join(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'conformance', 'tests.json');

if (!existsSync(TESTS)) console.warn(`bpf_conformance suite on the JIT skipped: ${TESTS} is absent (../shared is not next to the repository)`);

describe.skipIf(!existsSync(TESTS))('bpf_conformance on the JIT (../shared/conformance/tests.json)', () => {
  const tests = existsSync(TESTS) ? loadConformanceTests(TESTS) : [];
  const jit = new RawRunner({ engine: 'jit' });
  const interp = new RawRunner({ engine: 'interp' });

  it('has the whole corpus', () => {
    expect(tests).toHaveLength(313);
  });

  it.each(tests.map((t) => [t.name, t] as const))('%s', (_name, test) => {
    const prog = loadProgram(bytesFromHex(test.program_hex), { name: test.name });
    const mem = bytesFromHex(test.mem_hex);
    const ok = jit.run(prog, mem);
    expect(jit.vm.isCompiled(prog)).toBe(true);
    const expected = BigInt(test.expected_result ?? '0');
    const actual = ok ? jit.vm.r0 : null;
    const fault = jit.vm.fault;
    expect(
      actual,
      `${test.name}: expected r0 = 0x${expected.toString(16)}, got ${actual === null ? `fault: ${fault ? formatFault(fault) : '?'}` : `0x${actual.toString(16)}`}`,
    ).toBe(expected);
    const okInterp = interp.run(prog, mem);
    expect({ ok, regs: [...jit.vm.regs], executed: jit.vm.executed, fault: jit.vm.fault }).toEqual({
      ok: okInterp,
      regs: [...interp.vm.regs],
      executed: interp.vm.executed,
      fault: interp.vm.fault,
    });
    expect(compiled(prog, 'checked').functions.length).toBeGreaterThan(0);
  });
});
