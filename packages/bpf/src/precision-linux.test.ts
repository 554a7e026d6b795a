/**
 * Precision backtracking against Linux 6.18: the `mark_precise:` lines of the level-2 log (which registers and
 * stack slots each decision needs, walked back instruction by instruction through the jump history and the
 * parent states, with the parent states' `P` marks) for the callback fixtures recorded on the real kernel
 * (fixtures/callbacks, record.py). Linux 6.18 also re-propagates precision when it leaves a loop's strongly
 * connected component (`SCC exit`, its backedge states); the simulator does not model SCCs, so the lines
 * Linux prints after `SCC exit` are left out of the comparison.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '@ebpf-sim/isa';
import { verify, type SubprogLinkage } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry, type MapSpec } from './maps.js';
import { PROGRAM_TYPES } from './prog-types/index.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'callbacks');

interface FixtureProgram {
  readonly name: string;
  readonly progType: number;
  readonly maps: ReadonlyArray<{ readonly type: number; readonly key: number; readonly value: number; readonly max: number }>;
  readonly slots: readonly string[];
  readonly btf: 'static' | 'global' | 'none';
}

const programs = JSON.parse(readFileSync(join(DIR, 'programs.json'), 'utf8')) as FixtureProgram[];
const recorded = JSON.parse(readFileSync(join(DIR, 'linux-results.json'), 'utf8')) as { programs: Array<{ name: string; log2: string }> };
const MAP_TYPE_NAMES: Readonly<Record<number, string>> = { 1: 'hash', 2: 'array', 27: 'ringbuf', 31: 'user_ringbuf' };

function level2(p: FixtureProgram): string {
  const specs: MapSpec[] = p.maps.map((m) => ({ name: '', type: MAP_TYPE_NAMES[m.type] ?? '?', keySize: m.key, valueSize: m.value, maxEntries: m.max }));
  const progType = [...PROGRAM_TYPES.values()].find((t) => t.uapiId === p.progType);
  if (progType === undefined) throw new Error(`no program type ${p.progType}`);
  const linkage: readonly SubprogLinkage[] | undefined = p.btf === 'none' ? undefined : p.btf === 'global' ? ['global', 'global'] : ['global', 'static'];
  return verify(fromHex(p.slots.join('')), {
    progType,
    registry: createRegistry(specs),
    logLevel: 2,
    ...(linkage === undefined ? {} : { subprogLinkage: linkage }),
  }).log;
}

/** The precision lines of a level-2 log, up to Linux's first `SCC exit` (map addresses masked). */
function precisionLines(log: string): string[] {
  const lines = log.split('\n');
  const end = lines.indexOf('SCC exit (1)');
  return (end >= 0 ? lines.slice(0, end) : lines)
    .filter((l) => l.startsWith('mark_precise:') || l.startsWith('force_precise:') || /^frame \d+: propagating /.test(l))
    .map((l) => l.replace(/0xffff[0-9a-f]{12}/g, 'ADDR'));
}

/** Programs whose precision lines Linux prints and the simulator does not (yet) print the same way, and why. */
const KNOWN: Readonly<Record<string, string>> = {};

describe('precision backtracking as Linux 6.18 prints it (mark_precise)', () => {
  const withMarks = programs.filter((p) => precisionLines(recorded.programs.find((r) => r.name === p.name)?.log2 ?? '').length > 0);
  it('the fixtures exercise backtracking', () => {
    expect(withMarks.length).toBeGreaterThan(5);
  });
  it.each(withMarks.map((p) => [p.name, p] as const))('%s: the same mark_precise lines', (name, p) => {
    const linux = precisionLines(recorded.programs.find((r) => r.name === name)?.log2 ?? '');
    const ours = precisionLines(level2(p));
    if (KNOWN[name] !== undefined) expect(ours).not.toEqual(linux);
    else expect(ours).toEqual(linux);
  });
});
