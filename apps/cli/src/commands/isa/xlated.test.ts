/**
 * The xlated printer against the real kernel: fixtures/xlated_check.verifier.txt is Linux 6.18's own
 * print_bpf_insn() output (its verifier log) for xlated_check.o, which the kernel loads without rewriting.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { programSections, readElf } from '@ebpf-sim/elf';
import { PseudoCall, decodeProgram, encodeProgram, formatXlated } from '@ebpf-sim/isa';
import { describe, expect, it } from 'vitest';
import { ISA_FIXTURES } from './test-helpers.js';

describe('formatXlated matches the kernel', () => {
  it('prints xlated_check.o exactly as Linux 6.18 print_bpf_insn() does', () => {
    const obj = readElf(new Uint8Array(readFileSync(join(ISA_FIXTURES, 'xlated_check.o'))));
    const [text, main] = ['.text', 'xdp'].map((name) => programSections(obj).find((p) => p.section.name === name)!.section);
    // Link as libbpf does: the subprogram (.text) goes after the main program and the pseudo call's
    // immediate is relocated to point at it.
    const mainInsns = decodeProgram(main!.data);
    const slots = main!.data.length / 8;
    const linked = [...mainInsns, ...decodeProgram(text!.data)].map((insn) =>
      insn.form.kind === 'call' && insn.src === PseudoCall.LOCAL && insn.slot < slots ? { ...insn, imm: slots - (insn.slot + 1) } : insn,
    );
    const program = decodeProgram(encodeProgram(linked));
    const mine = program.map((insn) => `${insn.slot}: ${formatXlated(insn, insn.form)}`);
    const kernel = readFileSync(join(ISA_FIXTURES, 'xlated_check.verifier.txt'), 'utf8').trimEnd().split('\n');
    expect(mine).toEqual(kernel);
  });
});

describe('formatXlated matches the kernel on the rest of the forms it accepts', () => {
  it('prints xlated_check2.o (packet loads, every atomic, swaps, compares, gotol, may_goto) as Linux does', () => {
    const obj = readElf(new Uint8Array(readFileSync(join(ISA_FIXTURES, 'xlated_check2.o'))));
    const program = decodeProgram(obj.section('socket')!.data);
    const mine = program.map((insn) => `${insn.slot}: ${formatXlated(insn, insn.form)}`);
    const kernel = readFileSync(join(ISA_FIXTURES, 'xlated_check2.verifier.txt'), 'utf8').trimEnd().split('\n');
    expect(mine).toEqual(kernel);
  });
});
