import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { formatFault } from './fault.js';
import { RawRunner, loadRaw } from './raw.js';

const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared');
const TESTS = join(SHARED, 'conformance', 'tests.json');

interface ConformanceTest {
  readonly name: string;
  readonly program_hex: string;
  readonly mem_hex: string;
  readonly expected_result: string | null;
}

if (!existsSync(TESTS)) console.warn(`bpf_conformance suite skipped: ${TESTS} is absent (../shared is not next to the repository)`);

describe.skipIf(!existsSync(TESTS))('bpf_conformance (all tests of ../shared/conformance/tests.json)', () => {
  const tests = existsSync(TESTS) ? (JSON.parse(readFileSync(TESTS, 'utf8')) as ConformanceTest[]) : [];
  const runner = new RawRunner();

  it('has the whole corpus', () => {
    expect(tests).toHaveLength(313);
  });

  it.each(tests.map((t) => [t.name, t] as const))('%s', (_name, test) => {
    const prog = loadRaw(fromHex(test.program_hex), test.name);
    const ok = runner.run(prog, fromHex(test.mem_hex));
    const fault = runner.vm.fault;
    const expected = BigInt(test.expected_result ?? '0');
    const actual = ok ? runner.vm.r0 : null;
    const message = `${test.name}: expected r0 = 0x${expected.toString(16)}, actual ${actual === null ? `fault: ${fault ? formatFault(fault) : '?'}` : `r0 = 0x${actual.toString(16)}`}`;
    expect(actual, message).toBe(expected);
  });
});
