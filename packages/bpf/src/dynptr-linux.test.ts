/**
 * Dynptrs against Linux 6.18: the programs of fixtures/dynptr/programs.py (bpf_dynptr_from_mem and
 * bpf_ringbuf_reserve_dynptr making a dynptr on the stack; read, write, data slices; submit and discard; the
 * refusals: uninitialised, misplaced, overwritten, leaked, unacquired, slices out of range, unchecked or used
 * after their release), loaded by a privileged loader into the real kernel (record.py). Here each is verified
 * with the same maps: the same decision and errno, and the same level-1 log (the dynptr's stack slots as
 * Linux prints them: `fp-16=dynptr_ringbuf(id=1,ref_id=2,dynptr_id=1)`), the hint and map addresses aside.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '@ebpf-sim/isa';
import { verify, type ProgramTypeDesc } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry, type MapSpec } from './maps.js';
import { PROGRAM_TYPES } from './prog-types/index.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'dynptr');

interface FixtureProgram {
  readonly name: string;
  readonly progType: number;
  readonly maps: ReadonlyArray<{ readonly type: number; readonly key: number; readonly value: number; readonly max: number }>;
  readonly slots: readonly string[];
}

interface LinuxResult {
  readonly name: string;
  readonly errno: number;
  readonly log1: string;
}

const programs = JSON.parse(readFileSync(join(DIR, 'programs.json'), 'utf8')) as FixtureProgram[];
const recorded = JSON.parse(readFileSync(join(DIR, 'linux-results.json'), 'utf8')) as { kernel: string; programs: LinuxResult[] };

const MAP_TYPE_NAMES: Readonly<Record<number, string>> = { 2: 'array', 27: 'ringbuf' };

function progTypeOf(p: FixtureProgram): ProgramTypeDesc {
  const progType = [...PROGRAM_TYPES.values()].find((t) => t.uapiId === p.progType);
  if (progType === undefined) throw new Error(`no program type ${p.progType}`);
  return progType;
}

function verifyFixture(p: FixtureProgram, logLevel: 1 | 2): ReturnType<typeof verify> {
  const specs: MapSpec[] = p.maps.map((m) => ({ name: '', type: MAP_TYPE_NAMES[m.type] ?? '?', keySize: m.key, valueSize: m.value, maxEntries: m.max }));
  return verify(fromHex(p.slots.join('')), { progType: progTypeOf(p), registry: createRegistry(specs), logLevel });
}

/** A level-1 log without what cannot or need not match: map addresses, our hint, the state counters. */
function normal(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('hint: '))
    .map((line) => line.replace(/= (0xffff[0-9a-f]{12}|map\[[^\]]*\]) +;/, '= MAP ;').replace(/^(processed \d+ insns).*$/, '$1'));
}

describe('dynptrs as Linux 6.18 verifies them', () => {
  it('records the kernel the answers came from', () => {
    expect(recorded.kernel).toMatch(/^6\.18\./);
    expect(recorded.programs.map((r) => r.name)).toEqual(programs.map((p) => p.name));
  });

  it.each(programs.map((p) => [p.name, p] as const))('%s: same decision, errno and level-1 log', (name, p) => {
    const linux = recorded.programs.find((r) => r.name === name);
    if (linux === undefined) throw new Error(`${name} was not recorded`);
    const ours = verifyFixture(p, 1);
    expect(ours.accepted ? 0 : ours.error?.errno).toBe(linux.errno);
    expect(normal(ours.log)).toEqual(normal(linux.log1));
  });

  it.each(programs.map((p) => [p.name, p] as const))('%s: a level-2 log is written without failing differently', (_name, p) => {
    const one = verifyFixture(p, 1);
    const two = verifyFixture(p, 2);
    expect(two.accepted).toBe(one.accepted);
    expect(two.error?.message).toBe(one.error?.message);
  });
});
