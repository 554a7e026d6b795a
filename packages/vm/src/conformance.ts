/**
 * The bpf_conformance suite as data (`../shared/conformance/tests.json`) and two ways to run it, both judged
 * the way the upstream `bpf_conformance_runner` judges (README §4 of the conformance folder):
 * - in-process on this package's VM;
 * - through a plugin process, spawned once per test with the runner's exact argv/stdin encoding, r0 parsed
 *   from stdout as hex (like std::stoull base 16) and compared as u64; a non-zero exit is an ERROR.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

export function loadConformanceTests(path: string): ConformanceTest[] {
  return JSON.parse(readFileSync(path, 'utf8')) as ConformanceTest[];
}

/** The runner's encoding of bytes for argv and stdin: two lowercase hex digits and two spaces per byte. */
export function runnerEncoding(hex: string): string {
  return (hex.match(/../g) ?? []).map((byte) => `${byte}  `).join('');
}

function judge(test: ConformanceTest, actual: bigint): ConformanceResult {
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

/** Run every test through a plugin command (argv[0] is the executable), one process per test. */
export function runConformanceViaPlugin(tests: readonly ConformanceTest[], plugin: readonly string[]): ConformanceResult[] {
  const [command, ...baseArgs] = plugin;
  if (command === undefined) throw new Error('empty plugin command');
  return tests.map((test) => {
    const args = [...baseArgs, ...(test.mem_hex ? [runnerEncoding(test.mem_hex)] : [])];
    const child = spawnSync(command, args, { input: `${runnerEncoding(test.program_hex)}\n`, encoding: 'utf8' });
    if (child.error) return { test, outcome: 'ERROR', message: child.error.message };
    if (child.status !== 0)
      return { test, outcome: 'ERROR', message: `Plugin returned error code ${child.status ?? 'null'} and output ${child.stderr.trim()}` };
    const match = /^\s*(?:0x)?([0-9a-fA-F]+)/.exec(child.stdout.replace(/\n$/, ''));
    if (!match?.[1]) return { test, outcome: 'ERROR', message: 'Plugin return value could not be parsed' };
    return judge(test, BigInt(`0x${match[1]}`));
  });
}

/** The runner's report: "Test results:", a line per test, "Passed X out of Y tests.". */
export function formatConformanceReport(results: readonly ConformanceResult[]): string {
  const lines = results.map((r) => `${r.outcome}: "${r.test.file}"${r.message ? ` ${r.message}` : ''}`);
  const passed = results.filter((r) => r.outcome === 'PASS').length;
  return `Test results:\n${lines.join('\n')}\nPassed ${passed} out of ${results.length} tests.\n`;
}
