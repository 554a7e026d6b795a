/**
 * Recursion and the stack depth of call chains against Linux 6.18 (fixtures/precise: programs.py, recorded by
 * record.sh with rawload.c on this machine, privileged, as XDP): a subprogram calling itself, two calling each
 * other, the main program calling itself (Linux 6.18 lets check_cfg pass recursion for a privileged loader and
 * do_check follows the calls until `the call stack of 9 frames is too deep`, E2BIG), and frames whose combined
 * stack is over 512 bytes along one chain (`combined stack size of N calls is M. Too large`, EACCES) or within
 * it. Same decision, errno and level-1 log (our hint line and the state counters left out).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '@ebpf-sim/isa';
import { verify } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry } from './maps.js';
import { XDP } from './prog-types/index.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'precise');
const programs = JSON.parse(readFileSync(join(DIR, 'programs.json'), 'utf8')) as Array<{ name: string; slots: string[] }>;
const recorded = JSON.parse(readFileSync(join(DIR, 'linux-results.json'), 'utf8')) as {
  kernel: string;
  programs: Array<{ name: string; errno: number; log1: string }>;
};

function normal(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('hint: '))
    .map((l) => l.replace(/^(processed \d+ insns).*$/, '$1'));
}

describe('recursion and call-chain stack depth as Linux 6.18 decides them', () => {
  it('records the kernel the answers came from', () => {
    expect(recorded.kernel).toMatch(/^6\.18\./);
  });
  it.each(programs.map((p) => [p.name, p] as const))('%s: same decision, errno and level-1 log', (name, p) => {
    const linux = recorded.programs.find((r) => r.name === name);
    if (linux === undefined) throw new Error(`${name} was not recorded`);
    const ours = verify(fromHex(p.slots.join('')), { progType: XDP, registry: createRegistry(), logLevel: 1 });
    expect(ours.accepted ? 0 : ours.error?.errno).toBe(linux.errno);
    expect(normal(ours.log)).toEqual(normal(linux.log1));
  });
});
