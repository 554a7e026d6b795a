/**
 * callx (BPF_JMP | BPF_CALL | BPF_X) against Linux 6.18: the programs of fixtures/callx/programs.py, recorded by
 * loading them into the real kernel (record.py). Linux has no such instruction in its opcode table
 * (bpf_opcode_in_insntable): resolve_pseudo_ldimm64 refuses `unknown opcode 8d` with EINVAL before verifying
 * anything, reached or not, whatever register field it names; BPF_JMP32 | BPF_CALL likewise. The same
 * decision, errno and logs at levels 1 and 2 here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '@ebpf-sim/isa';
import { verify } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry } from './maps.js';
import { PROGRAM_TYPES } from './prog-types/index.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'callx');

interface FixtureProgram {
  readonly name: string;
  readonly progType: number;
  readonly slots: readonly string[];
}

interface LinuxResult {
  readonly name: string;
  readonly errno: number;
  readonly log1: string;
  readonly log2: string;
}

const programs = JSON.parse(readFileSync(join(DIR, 'programs.json'), 'utf8')) as FixtureProgram[];
const recorded = JSON.parse(readFileSync(join(DIR, 'linux-results.json'), 'utf8')) as { kernel: string; programs: LinuxResult[] };

/** Our log without our hint line and without the state counters Linux counts differently. */
function normal(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('hint: '))
    .map((line) => line.replace(/^(processed \d+ insns).*$/, '$1'));
}

describe('callx as Linux 6.18 refuses it', () => {
  it('records the kernel the answers came from', () => {
    expect(recorded.kernel).toMatch(/^6\.18\./);
    expect(recorded.programs.map((r) => r.name)).toEqual(programs.map((p) => p.name));
  });

  it.each(programs.map((p) => [p.name, p] as const))('%s: same errno and logs at levels 1 and 2', (name, p) => {
    const linux = recorded.programs.find((r) => r.name === name);
    if (linux === undefined) throw new Error(`${name} was not recorded`);
    const progType = [...PROGRAM_TYPES.values()].find((t) => t.uapiId === p.progType);
    if (progType === undefined) throw new Error(`no program type ${p.progType}`);
    for (const level of [1, 2] as const) {
      const ours = verify(fromHex(p.slots.join('')), { progType, registry: createRegistry([]), logLevel: level });
      expect(ours.accepted).toBe(false);
      expect(ours.error?.errno).toBe(linux.errno);
      expect(normal(ours.log)).toEqual(normal(level === 1 ? linux.log1 : linux.log2));
    }
  });
});
