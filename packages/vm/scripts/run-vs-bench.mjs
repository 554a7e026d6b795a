#!/usr/bin/env node
// `ebpf-sim run --repeat N` against `ebpf-sim bench`, from cold processes: for every bench program and engine,
// the duration `run` prints must be within RATIO of the ns per run `bench` reports (issue 11: run reports the
// engine's steady state). A timing check, so a script, not a test: run it on a quiet machine after a build.
//
//   node packages/vm/scripts/run-vs-bench.mjs [--engines interp,jit] [--repeat 100,20000] [--ratio 1.5]
//
// Prints a table; exits 1 when a pair is out of the ratio.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..', '..', '..');
const cli = join(root, 'apps', 'cli', 'bin', 'ebpf-sim.js');
const bench = resolve(root, '..', 'shared', 'bench');
const { values } = parseArgs({
  options: { engines: { type: 'string', default: 'interp,jit' }, repeat: { type: 'string', default: '100,20000' }, ratio: { type: 'string', default: '1.5' } },
});
if (!existsSync(join(bench, 'manifest.json'))) {
  console.error(`run-vs-bench: no bench at ${bench}`);
  process.exit(2);
}
const engines = values.engines.split(',');
const repeats = values.repeat.split(',').map(Number);
const limit = Number(values.ratio);
const names = Object.keys(JSON.parse(readFileSync(join(bench, 'manifest.json'), 'utf8')).programs);
const ebpfSim = (args) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });

const rows = [];
let failed = false;
for (const engine of engines) {
  const reported = new Map(JSON.parse(ebpfSim(['bench', '--engine', engine, '--json'])).map((row) => [row.name, row.nsPerRun]));
  for (const name of names) {
    const cells = [name, engine, reported.get(name).toFixed(1)];
    for (const repeat of repeats) {
      const out = ebpfSim([
        'run',
        '--prog-hex',
        join(bench, 'hex', `${name}.ubpf.hex`),
        '--data-in',
        join(bench, 'input.bin'),
        '--engine',
        engine,
        '--repeat',
        String(repeat),
      ]);
      const ns = Number(/duration(?: \(average\))?: (\d+)ns/.exec(out)?.[1]);
      const ratio = ns / reported.get(name);
      const off = !(ratio <= limit && ratio >= 1 / limit);
      failed ||= off;
      cells.push(String(ns), `${ratio.toFixed(2)}x${off ? ' OUT' : ''}`);
    }
    rows.push(cells);
    console.error(cells.join('  '));
  }
}
const header = ['program', 'engine', 'bench ns/run', ...repeats.flatMap((n) => [`run N=${n} ns`, 'run/bench'])];
console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const cells of rows) console.log(`| ${cells.join(' | ')} |`);
process.exit(failed ? 1 : 0);
