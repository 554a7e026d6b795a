/**
 * The bpf_conformance suite as data (`../shared/conformance/tests.json`), run in-process on this package's VM
 * and judged the way the upstream `bpf_conformance_runner` judges (README §4 of the conformance folder). Running
 * it through a plugin process, and reading the file, are Node's: node/conformance-files.ts. Exported by the
 * `@ebpf-sim/vm/node` entry with the rest of the tooling.
 */
import { formatFault } from './fault.js';
import { bytesFromHex, RawRunner } from './raw.js';
import { loadProgram } from './load.js';
import type { EngineName } from './vm.js';

export interface ConformanceTest {
  readonly name: string;
  readonly file: string;
  readonly program_hex: string;
  readonly mem_hex: string;
  readonly expected_result: string | null;
}

export type ConformanceOutcome = 'PASS' | 'FAIL' | 'ERROR';

export interface ConformanceResult {
  readonly test: ConformanceTest;
  readonly outcome: ConformanceOutcome;
  /** The runner's message for FAIL and ERROR; '' for PASS. */
  readonly message: string;
}

/** tests.json that is not a list of tests: what is wrong, and where (the test's index). */
export class ConformanceTestsError extends Error {
  override readonly name = 'ConformanceTestsError';
}

const TEST_FIELDS = ['name', 'file', 'program_hex', 'mem_hex'] as const;

/** The tests of a tests.json text, checked: a list of objects with the string fields of {@link ConformanceTest}. */
export function parseConformanceTests(text: string): ConformanceTest[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConformanceTestsError(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(data)) throw new ConformanceTestsError('not a list of tests (expected a JSON array)');
  return data.map((entry: unknown, index): ConformanceTest => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConformanceTestsError(`test ${index} is not an object`);
    const test = entry as Record<string, unknown>;
    for (const field of TEST_FIELDS) {
      if (typeof test[field] !== 'string') throw new ConformanceTestsError(`test ${index}: '${field}' must be a string`);
    }
    const name = `test ${index} ('${test.name as string}')`;
    if (!/^(?:[0-9a-fA-F]{16})+$/.test(test.program_hex as string))
      throw new ConformanceTestsError(`${name}: 'program_hex' must be whole 8-byte instructions (16 hex digits each)`);
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(test.mem_hex as string)) throw new ConformanceTestsError(`${name}: 'mem_hex' must be hex digits, two per byte`);
    const expected = test.expected_result;
    if (expected !== null && expected !== undefined && (typeof expected !== 'string' || !/^(?:0x[0-9a-fA-F]+|\d+)$/.test(expected)))
      throw new ConformanceTestsError(`${name}: 'expected_result' must be a number such as '0x2a', or null`);
    return {
      name: test.name as string,
      file: test.file as string,
      program_hex: test.program_hex as string,
      mem_hex: test.mem_hex as string,
      expected_result: expected ?? null,
    };
  });
}

/** The runner's encoding of bytes for argv and stdin: two lowercase hex digits and two spaces per byte. */
export function runnerEncoding(hex: string): string {
  return (hex.match(/../g) ?? []).map((byte) => `${byte}  `).join('');
}

/** PASS when `actual` is the expected r0 (u64), else FAIL with the runner's message. */
export function judge(test: ConformanceTest, actual: bigint): ConformanceResult {
  const expected = BigInt(test.expected_result ?? '0');
  return actual === expected
    ? { test, outcome: 'PASS', message: '' }
    : { test, outcome: 'FAIL', message: `Plugin returned incorrect return value ${actual.toString(16)} expected ${expected.toString(16)}` };
}

/** Run every test on the in-process VM. */
export function runConformance(tests: readonly ConformanceTest[], engine?: EngineName): ConformanceResult[] {
  const runner = new RawRunner(engine === undefined ? {} : { engine });
  return tests.map((test) => {
    let ok: boolean;
    try {
      ok = runner.run(loadProgram(bytesFromHex(test.program_hex), { name: test.name }), bytesFromHex(test.mem_hex));
    } catch (error) {
      return { test, outcome: 'ERROR', message: error instanceof Error ? error.message : String(error) };
    }
    if (!ok) return { test, outcome: 'ERROR', message: runner.vm.fault ? formatFault(runner.vm.fault) : 'fault' };
    return judge(test, runner.vm.r0);
  });
}

/** The runner's report: "Test results:", a line per test, "Passed X out of Y tests.". */
export function formatConformanceReport(results: readonly ConformanceResult[]): string {
  const lines = results.map((r) => `${r.outcome}: "${r.test.file}"${r.message ? ` ${r.message}` : ''}`);
  const passed = results.filter((r) => r.outcome === 'PASS').length;
  return `Test results:\n${lines.join('\n')}\nPassed ${passed} out of ${results.length} tests.\n`;
}
