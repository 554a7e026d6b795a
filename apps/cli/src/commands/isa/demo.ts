import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { decodeProgram, formatLlvm, formatObjdump, formatXlatedProgram, type Insn } from '@ebpf-sim/isa';
import { defineCommand } from '../../args.js';
import { CliError } from '../../command.js';
import { readInputFile } from '../../files.js';
import { objdumpInput, readBpfObject } from './objfile.js';

/** The demo program: a realistic XDP program shipped with the isa package's fixtures. */
const DEMO_OBJECT = join('packages', 'isa', 'fixtures', 'xdp_counter.bpfel.o');

/** Find a repository file from the running code's folder (src/ in tests, dist/ when built). */
function findRepoFile(relativePath: string): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, relativePath);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new CliError(`cannot find ${relativePath}: run ebpf-sim demo from a checkout of the repository`);
  }
}

const hexByte = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

/** One instruction's fields spelled out, so the learner sees how 8 bytes become `r1 = 0x0 ll`. */
function explain(insn: Insn, bytes: Uint8Array): string {
  const raw = Array.from(bytes.subarray(insn.slot * 8, insn.slot * 8 + (insn.form.wide ? 16 : 8)), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const fields = [
    `opcode ${hexByte(insn.code)} (${insn.form.id})`,
    `dst r${insn.dst}`,
    `src ${insn.form.fields.src === 'reg' ? `r${insn.src}` : insn.src}`,
    `off ${insn.off}`,
    `imm ${insn.imm}`,
    ...(insn.form.wide ? [`imm2 ${insn.imm2 ?? 0} (second slot)`] : []),
  ];
  return `  ${raw}\n    = ${fields.join(', ')}\n    = ${formatLlvm(insn, insn.form, 'generic') ?? '<unknown>'}\n`;
}

export const demoCommand = defineCommand(
  {
    name: 'demo',
    summary: 'Show what the bytes of a real XDP program mean, in LLVM and kernel syntax',
    description: 'Disassemble a shipped XDP program (packages/isa/fixtures/xdp_counter.c) in both syntaxes.',
    options: {},
  },
  (_parsed, io) => {
    const path = findRepoFile(DEMO_OBJECT);
    const shown = relative(process.cwd(), path) || path;
    const obj = readBpfObject(shown, readInputFile(path));
    const input = objdumpInput(shown, obj);
    const programs = input.sections.map((section) => ({ section, insns: decodeProgram(section.data, { endian: input.endian }) }));
    // One instruction of each interesting kind, in program order, to take apart field by field.
    const wanted = ['ldx', 'jmp', 'ld_imm64', 'call', 'atomic'];
    const picks = wanted.flatMap((kind) => {
      for (const p of programs) {
        const insn = p.insns.find((i) => i.form.kind === kind);
        if (insn) return [explain(insn, p.section.data)];
      }
      return [];
    });

    io.out(
      [
        'ebpf-sim demo: what the bytes of an eBPF program mean',
        '',
        `${shown} is packages/isa/fixtures/xdp_counter.c compiled with`,
        '`clang-19 -O2 -target bpfel -mcpu=v3`: an XDP program that counts packets and bytes per IP protocol',
        'in an array map and drops telnet. Its code sections hold eBPF instructions, 8 bytes each: opcode,',
        'dst and src register nibbles, a 16-bit offset, a 32-bit immediate (a 64-bit constant load takes two',
        'slots). Section "xdp" is the program; ".text" holds account(), which it calls. Some instructions,',
        'field by field:',
        '',
        ...picks,
        '1) LLVM syntax, exactly as `llvm-objdump-19 -d` prints it: slot index, raw bytes, instruction.',
        '   Jumps count slots after the next instruction; <sym+0x..> is the target byte address.',
        '   `r1 = 0x0 ll` and `call -0x1` are still blank: the loader patches in the map and the callee',
        '   from the ELF relocations.',
        formatObjdump(input),
        '2) The kernel syntax, as the verifier log and `bpftool prog dump xlated` print it: decimal',
        '   immediates, helper names from their ids (call bpf_map_lookup_elem#1), pc-relative jumps.',
        ...programs.flatMap((p) => ['', `section ${p.section.name}:`, formatXlatedProgram(p.insns).trimEnd()]),
        '',
        'Next: ebpf-sim disasm FILE.o [--syntax xlated], ebpf-sim asm FILE.s, ebpf-sim help.',
        '',
      ].join('\n'),
    );
    return 0;
  },
);
