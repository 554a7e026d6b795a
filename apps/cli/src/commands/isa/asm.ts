import { AsmError, assembleConformance, assembleLlvmSections, encodeProgram, parseConformanceData, rawProgramBytes, type Endian } from '@ebpf-sim/isa';
import { defineCommand, opt } from '../../args.js';
import { CliError, UsageError } from '../../command.js';
import { readInputFile, writeOutputFile } from '../../files.js';

/** One slot per line, as ../shared/bench/hex writes programs. */
export function hexLines(bytes: Uint8Array): string {
  let out = '';
  for (let at = 0; at < bytes.length; at += 8) {
    out += `${Array.from(bytes.subarray(at, at + 8), (b) => b.toString(16).padStart(2, '0')).join('')}\n`;
  }
  return out;
}

function positioned(path: string, error: AsmError, line = error.line): CliError {
  return new CliError(`${path}:${line}:${error.column}: ${error.reason}`);
}

function assembleConformanceFile(path: string, text: string, endian: Endian): Uint8Array {
  const isDataFile = path.endsWith('.data') || /^\s*--\s*asm\b/m.test(text);
  if (!isDataFile) {
    try {
      return encodeProgram(assembleConformance(text), endian);
    } catch (error) {
      if (error instanceof AsmError) throw positioned(path, error);
      throw error;
    }
  }
  const data = parseConformanceData(text);
  const raw = rawProgramBytes(data);
  // A raw section is the program (README section 1); it is stored little-endian.
  if (raw !== null) {
    if (endian === 'big') throw new CliError(`${path}: the raw section is a little-endian program; --endian big does not apply`);
    return raw;
  }
  if (data.asm === null) throw new CliError(`${path}: no '-- asm' or '-- raw' section`);
  try {
    return encodeProgram(assembleConformance(data.asm), endian);
  } catch (error) {
    if (error instanceof AsmError) throw positioned(path, error, data.asmLineNumbers[error.line - 1] ?? error.line);
    throw error;
  }
}

function assembleLlvmFile(path: string, text: string, endian: Endian, sectionName: string | undefined): Uint8Array {
  let sections;
  try {
    sections = assembleLlvmSections(text);
  } catch (error) {
    if (error instanceof AsmError) throw positioned(path, error);
    throw error;
  }
  const names = sections.map((s) => s.name);
  const chosen = sectionName === undefined ? sections : sections.filter((s) => s.name === sectionName);
  if (chosen.length === 0) throw new CliError(`${path}: no section '${sectionName ?? ''}' (sections: ${names.join(', ')})`);
  if (chosen.length > 1) throw new CliError(`${path}: the listing holds ${chosen.length} sections (${names.join(', ')}); pick one with --section NAME`);
  return encodeProgram(chosen[0]?.insns ?? [], endian);
}

export const asmCommand = defineCommand(
  {
    name: 'asm',
    summary: 'Assemble LLVM or bpf_conformance syntax into a raw program (hex, one slot per line)',
    description: 'Assemble eBPF text into a raw program: one 8-byte slot per line, 16 hex digits in file byte order.',
    positionals: { name: 'FILE', min: 1, max: 1, path: 'file' },
    options: {
      syntax: opt.choice(['llvm', 'conformance'], {
        value: 'SYNTAX',
        help:
          "llvm: LLVM's syntax (r1 += 0x7, if r1 > r2 goto +0x1, labels), also a whole llvm-objdump -d listing;\n" +
          'conformance: the bpf_conformance syntax (mov %r0, 1; jeq %r1, 0, +2); a .data test file is read whole\n' +
          'and its asm (or raw) section assembled. Default: conformance for .data files, llvm otherwise',
      }),
      out: opt.path({ value: 'FILE', must: 'output', help: 'write the hex there instead of standard output' }),
      section: opt.text({ value: 'NAME', help: 'the section to assemble from a multi-section objdump listing' }),
      endian: opt.choice(['little', 'big'], { value: 'ORDER', default: 'little', help: 'byte order of the output' }),
    },
  },
  ({ options, positionals }, io) => {
    const path = positionals[0] ?? '';
    const syntax = options.syntax ?? (path.endsWith('.data') ? 'conformance' : 'llvm');
    if (options.section !== undefined && syntax !== 'llvm') throw new UsageError('--section applies to LLVM listings (--syntax llvm)');
    // latin1: conformance files carry stray 0x7f bytes in comments.
    const text = Buffer.from(readInputFile(path)).toString('latin1');
    const bytes =
      syntax === 'conformance' ? assembleConformanceFile(path, text, options.endian) : assembleLlvmFile(path, text, options.endian, options.section);
    if (bytes.length === 0) throw new CliError(`${path}: no instructions to assemble`);
    const hex = hexLines(bytes);
    if (options.out === undefined) io.out(hex);
    else writeOutputFile(options.out, hex);
    return 0;
  },
);
