import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import {
  ConformanceTestsError,
  formatConformanceReport,
  loadConformanceTests,
  type ConformanceTest,
  runConformance,
  runConformanceViaPlugin,
} from '@ebpf-sim/vm/node';
import { defineCommand, fileError, opt } from '../../args.js';
import { CliError, UsageError } from '../../command.js';
import { engineOption } from './common.js';

function defaultTests(): string | null {
  const repoRoot = resolve(import.meta.dirname, '..', '..', '..', '..', '..');
  const candidates = [join(repoRoot, '..', 'shared', 'conformance', 'tests.json'), resolve('..', 'shared', 'conformance', 'tests.json')];
  return candidates.find((path) => existsSync(path)) ?? null;
}

/** The executable a command name runs, searched on PATH as the shell does; a one-line error when there is none. */
function checkExecutable(command: string): void {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir || '.', command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return;
    } catch {
      // not this one
    }
  }
  throw new CliError(`--plugin: cannot run '${command}': ${command.includes('/') ? 'not an executable file' : 'command not found on PATH'}`);
}

export const conformanceCommand = defineCommand(
  {
    name: 'conformance',
    summary: 'Run the bpf_conformance suite in-process or through a plugin, printing the runner report',
    description: `Run the bpf_conformance suite (../shared/conformance/tests.json) and print the upstream runner's report
("PASS: ...", "Passed X out of Y tests."). Without --plugin the tests run in-process; with it, each test
spawns the plugin exactly as bpf_conformance_runner does, e.g.
  ebpf-sim conformance --plugin 'node apps/cli/bin/ebpf-sim.js conformance-plugin'
Exits 0 only when every test passes.`,
    options: {
      tests: opt.path({ value: 'FILE', must: 'file', help: 'the tests (default: ../shared/conformance/tests.json beside the repository)' }),
      engine: engineOption,
      plugin: opt.text({ value: "'CMD ARGS...'", help: 'run each test through this plugin command (split on spaces)' }),
    },
    conflicts: [['engine', 'plugin']],
  },
  ({ options }, io) => {
    const path = options.tests ?? defaultTests();
    if (path === null) throw new CliError('no tests.json: ../shared/conformance is not beside the repository; pass --tests FILE');
    let tests: ConformanceTest[];
    try {
      tests = loadConformanceTests(path);
    } catch (error) {
      if (error instanceof ConformanceTestsError) throw new CliError(`${path}: ${error.message}`);
      throw fileError(path, (error as NodeJS.ErrnoException).code);
    }
    const plugin = options.plugin?.split(' ').filter((part) => part !== '');
    if (plugin?.length === 0) throw new UsageError("--plugin needs a command, such as 'node apps/cli/bin/ebpf-sim.js conformance-plugin'");
    if (plugin?.[0] !== undefined) checkExecutable(plugin[0]);
    const results = plugin ? runConformanceViaPlugin(tests, plugin) : runConformance(tests, options.engine);
    io.out(formatConformanceReport(results));
    return results.every((r) => r.outcome === 'PASS') ? 0 : 1;
  },
);
