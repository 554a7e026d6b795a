import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AsmError, assembleConformance, assembleLlvmSections, encodeProgram, parseConformanceData, rawProgramBytes, type Endian } from '@ebpf-sim/isa';
import { parseWith } from '../../args.js';
import { CliError, type CliIo, type Command } from '../../command.js';
import { readInputFile } from './objfile.js';

const USAGE = `usage: ebpf-sim asm FILE [--syntax llvm|conformance] [--out FILE.hex] [--section NAME] [--endian little|big]

Assemble eBPF text into a raw program: one 8-byte slot per line, 16 hex digits in file byte order.
  --syntax llvm         LLVM's syntax (r1 += 0x7, if r1 > r2 goto +0x1, labels); also a whole
                        llvm-objdump -d listing (the default, except for .data files)
  --syntax conformance  the bpf_conformance syntax (mov %r0, 1; jeq %r1, 0, +2); a .data test file is
                        read whole and its asm (or raw) section assembled
  --section NAME        the section to assemble from a multi-section objdump listing
  --out FILE            write the hex there instead of standard output
  --endian              byte order of the output (default little)`;

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

export const asmCommand: Command = {
  name: 'asm',
  summary: 'Assemble LLVM or bpf_conformance syntax into a raw program (hex, one slot per line)',
  usage: USAGE,
  run(args: readonly string[], io: CliIo): Promise<number> {
    // Issue 2: bad input to the ISA commands exits 1.
    const { values, positionals } = parseWith(
      USAGE,
      () =>
        parseArgs({
          args: [...args],
          allowPositionals: true,
          options: { syntax: { type: 'string' }, out: { type: 'string' }, section: { type: 'string' }, endian: { type: 'string' } },
        }),
      1,
    );
    const path = positionals[0];
    if (path === undefined || positionals.length > 1) throw new CliError(`expected exactly one FILE\n${USAGE}`);
    const syntax = values.syntax ?? (path.endsWith('.data') ? 'conformance' : 'llvm');
    if (syntax !== 'llvm' && syntax !== 'conformance') throw new CliError(`--syntax must be llvm or conformance, not '${syntax}'`);
    const endian = values.endian ?? 'little';
    if (endian !== 'little' && endian !== 'big') throw new CliError(`--endian must be little or big, not '${endian}'`);
    // latin1: conformance files carry stray 0x7f bytes in comments.
    const text = Buffer.from(readInputFile(path)).toString('latin1');
    const bytes = syntax === 'conformance' ? assembleConformanceFile(path, text, endian) : assembleLlvmFile(path, text, endian, values.section);
    const hex = hexLines(bytes);
    if (values.out === undefined) {
      io.out(hex);
    } else {
      try {
        writeFileSync(values.out, hex);
      } catch (error) {
        throw new CliError(`${values.out}: cannot write file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    return Promise.resolve(0);
  },
};
