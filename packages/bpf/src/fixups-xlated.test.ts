/**
 * Linux's fixups after the context rewrite against the real kernel: C programs (fixtures/fixups/*.c) with
 * branches the verifier decides (dead code) and with every form of division and modulo by a register, and a
 * hand-written program with a malformed instruction on a dead path (fixtures/fixups/*.hex), loaded into
 * Linux 6.18 by a privileged loader and dumped with `bpftool prog dump xlated` (fixtures/fixups/rebuild.sh).
 * The same bytecode, verified, rewritten (convertCtxAccesses), cleared of dead code (removeDeadCode) and
 * guarded (fixupDivisions) here, must print the same instructions, but for the differences listed with their
 * reasons.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatXlated, fromHex, lookupForm, type RawInsn } from '@ebpf-sim/isa';
import { convertCtxAccesses, fixupDivisions, removeDeadCode, verify } from '@ebpf-sim/verifier';
import { describe, expect, it } from 'vitest';
import { createRegistry } from './maps.js';
import { XDP } from './prog-types/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'fixups');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/**
 * The instructions of a dump, without slot numbers, source lines or function headers. Two printing
 * differences of this machine's bpftool (v7.1, older than the kernel) are undone: it prints a signed division
 * or modulo (off 1) like the unsigned one, where Linux 6.18's print_bpf_insn writes `s/=` and `s%=`; and it
 * names a bpf-to-bpf call's callee by its tag (`call pc+5#bpf_prog_<tag>_twice`), which is only a name.
 */
function instructions(dump: string): string[] {
  return dump
    .split('\n')
    .map((line) => /^\s*\d+: (.*)$/.exec(line)?.[1]?.replace(/^(\(85\) call pc[+-]\d+)#.*$/, '$1'))
    .filter((text): text is string => text !== undefined);
}

/** Our xlated program for a fixture, after every fixup, as the same bpftool would print it. */
function ours(hex: string, privileged = true): string[] {
  const bytes = fromHex(hex);
  const result = verify(bytes, { progType: XDP, registry: createRegistry(), logLevel: 1, privileged });
  expect(result.accepted, result.log).toBe(true);
  const xlated = fixupDivisions(removeDeadCode(convertCtxAccesses(bytes, result.facts, XDP), result.facts, { privileged }));
  return xlated.insns.map((insn) => printed(insn).replace(/ s([/%])= /, ' $1= '));
}

/** One instruction as print_bpf_insn prints it; not through the isa decoder, which refuses r11 (BPF_REG_AX). */
function printed(insn: RawInsn): string {
  const form = lookupForm(insn.code, insn.src, insn.off, insn.imm);
  if (form === null) throw new Error(`no form for opcode ${insn.code.toString(16)}`);
  return formatXlated(insn, form);
}

describe('the fixups print as Linux 6.18 xlated dumps', () => {
  it('records the kernel the fixtures came from', () => {
    expect(fixture('kernel-version.txt')).toMatch(/^6\.18\./);
  });

  it('division and modulo: the zero-divisor guards, 64- and 32-bit, the signed forms with r11, by -1', () => {
    const linux = instructions(fixture('divmod.xlated.txt'));
    expect(linux).toContain('(bf) r11 = r3');
    expect(ours(fixture('divmod.hex'))).toEqual(linux);
  });

  it('dead code: decided branches hard-wired, dead instructions and the resulting nops removed, the call re-aimed', () => {
    const linux = instructions(fixture('deadcode.xlated.txt'));
    expect(linux.length).toBeLessThan(fromHex(fixture('deadcode.hex')).length / 8);
    expect(ours(fixture('deadcode.hex'))).toEqual(linux);
  });

  it('a malformed instruction on a dead path: the program loads, and the instruction is gone', () => {
    expect(ours(fixture('dead_malformed.hex'))).toEqual(instructions(fixture('dead_malformed.xlated.txt')));
  });
});
