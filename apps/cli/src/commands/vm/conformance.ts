import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatConformanceReport, loadConformanceTests, runConformance, runConformanceViaPlugin } from '@ebpf-sim/vm/node';
import { CliError, type CliIo, type Command } from '../../command.js';
import { pickEngine } from './common.js';
import { parseWith } from '../../args.js';

const USAGE = `usage: ebpf-sim conformance [--tests FILE] [--engine E] [--plugin 'CMD ARGS...']

Run the bpf_conformance suite (../shared/conformance/tests.json) and print the upstream runner's report
("PASS: ...", "Passed X out of Y tests."). Without --plugin the tests run in-process; with it, each test
spawns the plugin exactly as bpf_conformance_runner does, e.g.
  ebpf-sim conformance --plugin 'node apps/cli/bin/ebpf-sim.js conformance-plugin'
Exits 0 only when every test passes.`;

function defaultTests(): string | null {
  const repoRoot = resolve(import.meta.dirname, '..', '..', '..', '..', '..');
  const candidates = [join(repoRoot, '..', 'shared', 'conformance', 'tests.json'), resolve('..', 'shared', 'conformance', 'tests.json')];
  return candidates.find((path) => existsSync(path)) ?? null;
}

export const conformanceCommand: Command = {
  name: 'conformance',
  summary: 'Run the bpf_conformance suite in-process or through a plugin, printing the runner report',
  usage: USAGE,
  run(args: readonly string[], io: CliIo): Promise<number> {
    const { values } = parseWith(USAGE, () =>
      parseArgs({
        args: [...args],
        options: { tests: { type: 'string' }, engine: { type: 'string' }, plugin: { type: 'string' } },
        strict: true,
      }),
    );
    const path = values.tests ?? defaultTests();
    if (path === null) throw new CliError('no tests.json: ../shared/conformance is not beside the repository; pass --tests FILE');
    let tests;
    try {
      tests = loadConformanceTests(path);
    } catch (error) {
      throw new CliError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const plugin = values.plugin?.split(' ').filter((part) => part !== '');
    const results = plugin ? runConformanceViaPlugin(tests, plugin) : runConformance(tests, pickEngine(values.engine));
    io.out(formatConformanceReport(results));
    return Promise.resolve(results.every((r) => r.outcome === 'PASS') ? 0 : 1);
  },
};
