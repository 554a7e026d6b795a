/**
 * The verifier corpus replay: every program of apps/cli/fixtures/verifier-corpus loaded alone, through the loader,
 * into a fresh simulated kernel per object, and its verdict compared with Linux 6.18's (recording.json, recorded
 * on the real kernel by record.sh): the decision, and for a refusal the errno and Linux's key log line. Differences
 * must be exactly those known.ts lists; accepting a program Linux refuses is never excused.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openObject } from '@ebpf-sim/loader';
import { describe, expect, it } from 'vitest';
import { objectName } from '../loader/corpus.js';
import { VERIFIER_CORPUS_DIR, compareProgram, readVerifierCorpus, replayVerifierCorpus, type RecordedProgram } from './corpus.js';
import { KNOWN } from './known.js';

/**
 * Programs the replay leaves to `ebpf-sim verifier corpus`: each takes the simulated verifier far longer than this
 * test's budget (about a minute on 2 cores) to reach the 1M-instruction limit Linux stops at.
 */
const SLOW: ReadonlySet<string> = new Set(['loop_var_unbounded', 'mg_can_loop_masked_index']);

describe('the verifier corpus beside Linux 6.18', () => {
  const corpus = readVerifierCorpus();
  const recorded = new Map<string, RecordedProgram>(corpus.recording.map((r) => [r.program, r]));
  const replayed = replayVerifierCorpus(corpus, { only: (p) => !SLOW.has(p.program) });
  const comparisons = replayed.map((r) => {
    const linux = recorded.get(r.program);
    if (linux === undefined) throw new Error(`${r.program} is not in the recording`);
    return compareProgram(linux, r);
  });

  it('has the programs programs.json lists, in its objects and in the recording', () => {
    expect(corpus.recording.map((r) => `${r.object} ${r.program}`)).toEqual(corpus.programs.map((p) => `${p.object} ${p.program}`));
    const objects = [...new Set(corpus.programs.map((p) => p.object))];
    for (const object of objects) {
      const bytes = new Uint8Array(readFileSync(join(VERIFIER_CORPUS_DIR, object)));
      let names: string[];
      try {
        names = openObject(bytes, { name: objectName(object) }).programs.map((p) => p.name);
      } catch {
        // An object the loader refuses at open (kfunc externs today) is checked by the comparisons below.
        continue;
      }
      expect(names.sort(), object).toEqual(
        corpus.programs
          .filter((p) => p.object === object)
          .map((p) => p.program)
          .sort(),
      );
    }
    // Roughly half accepted, half refused on Linux, as the corpus is meant to be.
    const refused = corpus.recording.filter((r) => r.errno !== 0).length;
    expect(refused / corpus.recording.length).toBeGreaterThan(0.35);
    expect(refused / corpus.recording.length).toBeLessThan(0.65);
  });

  it('replays every program but the slow ones', () => {
    expect(replayed.length).toBe(corpus.programs.length - SLOW.size);
  });

  it('accepts no program Linux refuses (nothing excuses it)', () => {
    expect(comparisons.filter((c) => c.verdict === 'accepted here').map((c) => c.difference)).toEqual([]);
    expect(KNOWN.flatMap((k) => k.differences).filter((d) => d.endsWith('here it loads'))).toEqual([]);
  });

  it('differs from Linux only as known.ts lists, and every listed difference still happens', () => {
    const actual = comparisons.filter((c) => c.verdict === 'other reason' || c.verdict === 'refused here').map((c) => c.difference);
    expect(actual.sort()).toEqual(KNOWN.flatMap((k) => k.differences).sort());
  });
});
