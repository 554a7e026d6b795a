import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { formatConformanceReport, loadConformanceTests, runConformance, runConformanceViaPlugin } from '@ebpf-sim/vm';
import { z } from 'zod';
import { defineCommand, fileError, opt } from '../../args.js';
import { CliError, UsageError } from '../../command.js';
import { engineOption } from './common.js';

function defaultTests(): string | null {
  const repoRoot = resolve(import.meta.dirname, '..', '..', '..', '..', '..');
  const candidates = [join(repoRoot, '..', 'shared', 'conformance', 'tests.json'), resolve('..', 'shared', 'conformance', 'tests.json')];
  return candidates.find((path) => existsSync(path)) ?? null;
}

const hexBytes = z.string().regex(/^(?:[0-9a-fA-F]{2})*$/, 'expected hex digits, two per byte');

/** The fields of a tests.json entry that running a test reads (README §3 of the conformance folder). */
const ConformanceTestSchema = z.object({
  name: z.string().min(1),
  file: z.string().min(1),
  program_hex: hexBytes.regex(/^(?:[0-9a-fA-F]{16})+$/, 'expected whole 8-byte instructions (16 hex digits each)'),
  mem_hex: hexBytes,
  expected_result: z
    .string()
    .regex(/^(?:0x[0-9a-fA-F]+|\d+)$/, "expected a number such as '0x2a'")
    .nullable(),
});
const ConformanceTestsSchema = z.array(ConformanceTestSchema);

/** The tests of a tests.json file, or one line saying where it is wrong: `tests.json: test [3] ('add'): mem_hex: ...`. */
function validTests(path: string, data: unknown): z.infer<typeof ConformanceTestsSchema> {
  const parsed = ConformanceTestsSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const [first, ...more] = parsed.error.issues;
  const [index, ...field] = first?.path ?? [];
  const entry = typeof index === 'number' && Array.isArray(data) ? (data[index] as unknown) : undefined;
  const name = entry !== null && typeof entry === 'object' && 'name' in entry && typeof entry.name === 'string' ? ` ('${entry.name}')` : '';
  const where = typeof index === 'number' ? `test [${index}]${name}${field.length > 0 ? `: ${field.join('.')}` : ''}` : 'expected an array of tests';
  const rest = more.length > 0 ? ` (and ${more.length} more problem${more.length === 1 ? '' : 's'})` : '';
  throw new CliError(`${path}: ${where}: ${first?.message ?? 'invalid'}${rest}`);
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
    let data: unknown;
    try {
      data = loadConformanceTests(path);
    } catch (error) {
      if (error instanceof SyntaxError) throw new CliError(`${path}: not valid JSON (${error.message})`);
      throw fileError(path, (error as NodeJS.ErrnoException).code);
    }
    const tests = validTests(path, data);
    const plugin = options.plugin?.split(' ').filter((part) => part !== '');
    if (plugin?.length === 0) throw new UsageError("--plugin needs a command, such as 'node apps/cli/bin/ebpf-sim.js conformance-plugin'");
    if (plugin?.[0] !== undefined) checkExecutable(plugin[0]);
    const results = plugin ? runConformanceViaPlugin(tests, plugin) : runConformance(tests, options.engine);
    io.out(formatConformanceReport(results));
    return results.every((r) => r.outcome === 'PASS') ? 0 : 1;
  },
);
