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
import { asm, fromHex } from '@ebpf-sim/isa';
import { BPF_FUNC } from '@ebpf-sim/uapi';
import { verify } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry } from './maps.js';
import { COMMON_MAPS } from './verifier-selftests/harness.js';
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

/**
 * Tail calls from a subprogram (not recorded: rawload creates no prog_array; as check_max_stack_depth_subprog
 * reads in Linux 6.18): the frames below a subprogram that tail-calls must hold less than 256 bytes.
 */
describe('tail calls below deep frames, as check_max_stack_depth refuses them', () => {
  const { Call, Exit, LdImm64, Mov, St, label, program, R0, R2, R3, R10 } = asm;
  const tailCalling = (mainStack: number) =>
    program(
      St.dw(R10, -mainStack, 0),
      Call.local('f'),
      Exit(),
      label('f'),
      LdImm64.mapFd(R2, 3),
      Mov.imm(R3, 0),
      Call.helper(BPF_FUNC.tail_call),
      Mov.imm(R0, 0),
      Exit(),
    );
  it('refuses 256 bytes of frames below a tail-calling subprogram (EACCES)', () => {
    const r = verify(tailCalling(256), { progType: XDP, registry: createRegistry(COMMON_MAPS), logLevel: 1 });
    expect(r.accepted).toBe(false);
    expect(r.error?.errno).toBe(13);
    expect(r.log).toContain('tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large\n');
  });
  it('accepts 240 bytes', () => {
    const r = verify(tailCalling(240), { progType: XDP, registry: createRegistry(COMMON_MAPS), logLevel: 1 });
    expect(r.accepted, r.log).toBe(true);
  });
});
