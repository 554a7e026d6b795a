import { IsaError, decodeProgram, formatObjdump, formatObjdumpSection, formatXlatedProgram, fromHex, type Endian, type LlvmDialect } from '@ebpf-sim/isa';
import { defineCommand, opt } from '../../args.js';
import { CliError, UsageError, type CliIo } from '../../command.js';
import { readHexText, readInputFile } from '../../files.js';
import { objdumpInput, readBpfObject } from './objfile.js';

/** llvm-objdump's --mcpu values and the decoder dialect each selects. */
const DIALECTS = { generic: 'generic', v1: 'generic', v2: 'generic', v3: 'alu32', v4: 'alu32' } as const satisfies Record<string, LlvmDialect>;
const MCPUS = Object.keys(DIALECTS) as Array<keyof typeof DIALECTS>;

/** Decode a whole program for the xlated printer, naming the file on bad bytecode. */
function decodeFor(path: string, bytes: Uint8Array, endian: Endian) {
  try {
    return decodeProgram(bytes, { endian });
  } catch (error) {
    if (error instanceof IsaError) throw new CliError(`${path}: ${error.message.replace(/\n/g, ' ')}`);
    throw error;
  }
}

function parseHexProgram(path: string, text: string): Uint8Array {
  const lines = text.split('\n');
  const chunks: Uint8Array[] = [];
  for (const [i, line] of lines.entries()) {
    const clean = line.replace(/#.*$/, '').trim();
    if (clean === '') continue;
    const bad = clean.search(/[^0-9a-fA-F\s]/);
    if (bad >= 0) throw new CliError(`${path}:${i + 1}:${line.indexOf(clean) + bad + 1}: invalid hex digit '${clean[bad] ?? ''}'`);
    const digits = clean.replace(/\s+/g, '');
    if (digits.length !== 16) throw new CliError(`${path}:${i + 1}:1: expected one 8-byte slot (16 hex digits), found ${digits.length} digits`);
    chunks.push(fromHex(digits));
  }
  const out = new Uint8Array(chunks.length * 8);
  chunks.forEach((c, i) => out.set(c, i * 8));
  return out;
}

/** One object file in the chosen syntax. */
function disassembleObject(path: string, syntax: 'llvm' | 'xlated', dialect: LlvmDialect, sectionName: string | undefined, io: CliIo): void {
  const obj = readBpfObject(path, readInputFile(path));
  const input = objdumpInput(path, obj, sectionName);
  if (syntax === 'llvm') {
    try {
      io.out(formatObjdump(input, { dialect }));
    } catch (error) {
      if (error instanceof IsaError) throw new CliError(`${path}: ${error.message.replace(/\n/g, ' ')}`);
      throw error;
    }
    return;
  }
  const sections = input.sections.filter((s) => s.data.length > 0);
  sections.forEach((section, i) => {
    if (sections.length > 1) io.out(`${i > 0 ? '\n' : ''}section ${section.name}:\n`);
    io.out(formatXlatedProgram(decodeFor(`${path} section ${section.name}`, section.data, input.endian)));
  });
}

export const disasmCommand = defineCommand(
  {
    name: 'disasm',
    summary: 'Disassemble a BPF object (llvm-objdump or bpftool xlated syntax) or a raw hex program',
    synopsis: [
      'disasm FILE.o... [--section NAME] [--syntax llvm|xlated] [--mcpu generic|v1|v2|v3|v4]',
      'disasm --hex FILE [--endian little|big] [--syntax llvm|xlated] [--mcpu ...]',
    ],
    description: 'Disassemble the code sections of BPF objects (one after the other, as llvm-objdump does).',
    positionals: { name: 'FILE.o', min: 1, max: Infinity, path: 'file' },
    options: {
      syntax: opt.choice(['llvm', 'xlated'], {
        value: 'SYNTAX',
        default: 'llvm',
        help: "llvm: exactly what 'llvm-objdump-19 -d FILE.o' prints;\nxlated: the kernel's syntax, as 'bpftool prog dump xlated' prints it",
      }),
      section: opt.text({ value: 'NAME', help: 'only this code section' }),
      mcpu: opt.choice(MCPUS, {
        value: 'CPU',
        default: 'generic',
        help: "LLVM decoder CPU, as llvm-objdump's --mcpu (v3/v4 print w registers for sub-word loads/stores\nand decode every 32-bit atomic)",
      }),
      hex: opt.flag('FILE is a raw program: one 8-byte slot per line, 16 hex digits in file byte order'),
      endian: opt.choice(['little', 'big'], { value: 'ORDER', help: 'byte order of a --hex program (default little)' }),
    },
    conflicts: [['hex', 'section']],
  },
  ({ options, positionals }, io) => {
    const dialect = DIALECTS[options.mcpu];
    if (options.hex) {
      if (positionals.length > 1) throw new UsageError('--hex takes exactly one FILE');
      const path = positionals[0] ?? '';
      const endian = options.endian ?? 'little';
      const program = parseHexProgram(path, readHexText(path));
      if (options.syntax === 'xlated') io.out(formatXlatedProgram(decodeFor(path, program, endian)));
      else io.out(formatObjdumpSection({ name: 'prog', data: program, symbols: [] }, endian, { dialect }).replace(/^\n/, ''));
      return 0;
    }
    if (options.endian !== undefined) throw new UsageError('--endian applies to --hex programs; an object file says its own byte order');
    for (const file of positionals) disassembleObject(file, options.syntax, dialect, options.section, io);
    return 0;
  },
);
