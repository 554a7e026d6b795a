import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTable } from '@ebpf-sim/kernel/demo';
import { defineCommand, opt } from '../../args.js';
import { CORPUS_DIR, inCorpusKernel, openAndLoad, readCorpus, recordedReason, unload } from '../../loader/corpus.js';

/** One corpus object's figures: best open and load times here, the recorded bpftool loadall time there. */
export interface LoaderBenchRow {
  readonly object: string;
  readonly openMs: number;
  readonly loadMs: number;
  readonly linuxLoadallMs: number;
  /** "loaded", or the first line of the refusal here. */
  readonly outcome: string;
  readonly linuxOutcome: string;
}

/** Open and load each corpus object `rounds` times in one simulated kernel (closing it after each), keeping the best times. */
export function runLoaderBench(rounds: number): LoaderBenchRow[] {
  const { manifest, recording } = readCorpus();
  const rows: LoaderBenchRow[] = [];
  inCorpusKernel(function* (libc) {
    for (const entry of manifest) {
      const bytes = new Uint8Array(readFileSync(join(CORPUS_DIR, entry.object)));
      let openMs = Infinity;
      let loadMs = Infinity;
      let outcome = '';
      for (let round = 0; round < rounds; round++) {
        const result = yield* openAndLoad(libc, entry.object, bytes);
        openMs = Math.min(openMs, result.openMs);
        loadMs = Math.min(loadMs, result.loadMs);
        if (result.ok) {
          outcome = 'loaded';
          yield* unload(libc, result.loaded);
        } else outcome = `refused: ${result.error.split('\n')[0] ?? ''}`;
      }
      const recorded = recording.find((r) => r.object === entry.object);
      rows.push({
        object: entry.object.replace(/^obj\//, ''),
        openMs,
        loadMs,
        linuxLoadallMs: recorded?.loadallMs ?? NaN,
        outcome,
        linuxOutcome:
          recorded === undefined ? 'not recorded' : recorded.loadall.ok ? 'loaded' : `refused: ${recordedReason(recorded.loadall.messages).join(' / ')}`,
      });
    }
  });
  return rows;
}

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const verdict = (outcome: string): string => (outcome === 'loaded' ? 'loaded' : 'refused');

export const loaderBenchCommand = defineCommand(
  {
    name: 'loader-bench',
    summary: "Time opening and loading each loader corpus object, beside Linux's recorded bpftool prog loadall",
    description: `Open (openObject) and load (load(): BTF, maps, programs through bpf(), verification included) every object
of packages/loader/fixtures/corpus in one simulated kernel, --rounds times each (closing it after each round),
and print the best times beside the wall time of 'bpftool prog loadall' for the same object on the recording
machine's Linux (recording.json, written by record.sh). bpftool's time is a whole command: process start,
libbpf's open and load with the kernel's verifier, and pinning. An object refused here or there is timed up to
its refusal; the outcome columns say which.`,
    options: {
      rounds: opt.int({ value: 'N', min: 1, max: 1000, default: 5, help: 'opens and loads per object (the fastest counts)' }),
      json: opt.flag('print the rows as JSON'),
    },
  },
  ({ options }, io) => {
    const rows = runLoaderBench(options.rounds);
    if (options.json) {
      io.out(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    const table = formatTable(
      ['object', 'open ms', 'load ms', 'open+load ms', 'Linux loadall ms', 'here', 'Linux'],
      rows.map((r) => [r.object, ms(r.openMs), ms(r.loadMs), ms(r.openMs + r.loadMs), ms(r.linuxLoadallMs), verdict(r.outcome), verdict(r.linuxOutcome)]),
    );
    const refusals = rows.flatMap((r) => [
      ...(r.outcome === 'loaded' ? [] : [`  ${r.object} here: ${r.outcome.replace(/^refused: /, '')}`]),
      ...(r.linuxOutcome === 'loaded' ? [] : [`  ${r.object} on Linux: ${r.linuxOutcome.replace(/^refused: /, '')}`]),
    ]);
    const total = (pick: (r: LoaderBenchRow) => number): string => ms(rows.reduce((sum, r) => sum + pick(r), 0));
    io.out(
      `Open and load of the loader corpus in the simulated kernel (best of ${options.rounds}) beside Linux's bpftool prog loadall (recorded)\n\n${table}` +
        `\ntotal: ${total((r) => r.openMs + r.loadMs)} ms here, ${total((r) => r.linuxLoadallMs)} ms bpftool loadall\n` +
        (refusals.length === 0 ? '' : `\nRefused (timed up to the refusal; see apps/cli/src/loader/corpus.test.ts for why):\n${refusals.join('\n')}\n`),
    );
    return 0;
  },
);
