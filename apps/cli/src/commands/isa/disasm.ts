import { parseArgs } from 'node:util';
import { IsaError, decodeProgram, formatObjdump, formatObjdumpSection, formatXlatedProgram, fromHex, type Endian, type LlvmDialect } from '@ebpf-sim/isa';
import { parseWith } from '../../args.js';
import { CliError, type CliIo, type Command } from '../../command.js';
import { objdumpInput, readBpfObject, readInputFile } from './objfile.js';

const USAGE = `usage: ebpf-sim disasm FILE.o... [--section NAME] [--syntax llvm|xlated] [--mcpu generic|v1|v2|v3|v4]
       ebpf-sim disasm --hex FILE [--endian little|big] [--syntax llvm|xlated] [--mcpu ...]

Disassemble the code sections of BPF objects (one after the other, as llvm-objdump does).
  --syntax llvm     exactly what 'llvm-objdump-19 -d FILE.o' prints (the default)
  --syntax xlated   the kernel's syntax, as 'bpftool prog dump xlated' prints it
  --section NAME    only this code section
  --mcpu CPU        LLVM decoder CPU, as llvm-objdump's --mcpu (default generic; v3/v4 print w registers
                    for sub-word loads/stores and decode every 32-bit atomic)
  --hex             FILE is a raw program: one 8-byte slot per line, 16 hex digits in file byte order
  --endian          byte order of a --hex program (default little)`;

const DIALECTS: Readonly<Record<string, LlvmDialect>> = { generic: 'generic', v1: 'generic', v2: 'generic', v3: 'alu32', v4: 'alu32' };

function pick<T extends string>(value: string | undefined, allowed: readonly T[], option: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(`--${option} must be one of ${allowed.join(', ')}, not '${value}'`);
  return value as T;
}

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

export const disasmCommand: Command = {
  name: 'disasm',
  summary: 'Disassemble a BPF object (llvm-objdump or bpftool xlated syntax) or a raw hex program',
  usage: USAGE,
  run(args: readonly string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseWith(
      USAGE,
      () =>
        parseArgs({
          args: [...args],
          allowPositionals: true,
          options: {
            section: { type: 'string' },
            syntax: { type: 'string' },
            mcpu: { type: 'string' },
            hex: { type: 'boolean' },
            endian: { type: 'string' },
          },
        }),
      1,
    );
    const path = positionals[0];
    if (path === undefined) throw new CliError(`expected a FILE\n${USAGE}`);
    if (values.hex && positionals.length > 1) throw new CliError(`--hex takes exactly one FILE\n${USAGE}`);
    const syntax = pick(values.syntax, ['llvm', 'xlated'] as const, 'syntax', 'llvm');
    const mcpu = pick(values.mcpu, ['generic', 'v1', 'v2', 'v3', 'v4'] as const, 'mcpu', 'generic');
    const dialect = DIALECTS[mcpu] ?? 'generic';
    if (values.hex) {
      const bytes = readInputFile(path);
      const endian = pick(values.endian, ['little', 'big'] as const, 'endian', 'little');
      const program = parseHexProgram(path, new TextDecoder().decode(bytes));
      if (syntax === 'xlated') io.out(formatXlatedProgram(decodeFor(path, program, endian)));
      else io.out(formatObjdumpSection({ name: 'prog', data: program, symbols: [] }, endian, { dialect }).replace(/^\n/, ''));
      return Promise.resolve(0);
    }
    if (values.endian !== undefined) throw new CliError('--endian applies to --hex programs; an object file says its own byte order');

    for (const file of positionals) disassembleObject(file, syntax, dialect, values.section, io);
    return Promise.resolve(0);
  },
};
