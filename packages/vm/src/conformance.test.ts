import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { formatFault } from './fault.js';
import { ConformanceTestsError, parseConformanceTests } from './conformance.js';
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

describe('tests.json is checked as it is read', () => {
  it('reads a list of tests', () => {
    const test = { name: 't', file: 't.data', program_hex: 'b7000000010000009500000000000000', mem_hex: '', expected_result: '0x1' };
    expect(parseConformanceTests(JSON.stringify([test, { ...test, expected_result: null }]))).toEqual([test, { ...test, expected_result: null }]);
  });

  it.each([
    ['{}', 'not a list of tests (expected a JSON array)'],
    ['[null]', 'test 0 is not an object'],
    ['[{"name":1}]', "test 0: 'name' must be a string"],
    ['[{"name":"a","file":"f","program_hex":"","mem_hex":""}]', "test 0 ('a'): 'program_hex' must be whole 8-byte instructions"],
    ['[{"name":"a","file":"f","program_hex":"9500000000000000","mem_hex":"abc"}]', "test 0 ('a'): 'mem_hex' must be hex digits, two per byte"],
    ['[{"name":"a","file":"f","program_hex":"9500000000000000","mem_hex":"","expected_result":5}]', "test 0 ('a'): 'expected_result' must be a number"],
    ['[{"name":"a","file":"f","program_hex":"9500000000000000","mem_hex":"","expected_result":"x"}]', "test 0 ('a'): 'expected_result' must be a number"],
    ['nope', 'not JSON: '],
  ])('rejects %s: %s', (text, message) => {
    expect(() => parseConformanceTests(text)).toThrow(ConformanceTestsError);
    expect(() => parseConformanceTests(text)).toThrow(message);
  });
});
