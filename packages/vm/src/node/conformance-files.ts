/**
 * The Node side of the bpf_conformance suite: reading tests.json, and running the tests through a plugin
 * process, spawned once per test with the runner's exact argv/stdin encoding, r0 parsed from stdout as hex
 * (like std::stoull base 16) and compared as u64; a non-zero exit is an ERROR.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { judge, parseConformanceTests, runnerEncoding, type ConformanceResult, type ConformanceTest } from '../conformance.js';

/** Read and check a tests.json (see parseConformanceTests; a bad file throws ConformanceTestsError). */
export function loadConformanceTests(path: string): ConformanceTest[] {
  return parseConformanceTests(readFileSync(path, 'utf8'));
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
