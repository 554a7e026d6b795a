import { performance } from 'node:perf_hooks';
import {
  OPCODE_TABLE,
  assembleConformance,
  assembleLlvm,
  decodeProgram,
  encodeProgram,
  formatConformance,
  formatLlvm,
  formatObjdumpSection,
  formatXlatedProgram,
  sampleInsn,
} from '@ebpf-sim/isa';
import { defineCommand, opt } from '../../args.js';

/** Median wall time in ms of `rounds` runs after one warm-up run. */
function medianMs(fn: () => unknown, rounds: number): number {
  fn();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

export const isaBenchCommand = defineCommand(
  {
    name: 'isa-bench',
    summary: 'Measure encoder, decoder, disassembler and assembler throughput (prints a table)',
    description:
      'Throughput of the instruction-set codecs (encoder, decoder, printers, assemblers) over N instructions\n' +
      '(every form of the opcode table, repeated), as the median of R timed rounds after one warm-up round.\n' +
      'Prints a markdown table.',
    options: {
      // The upper bounds keep a run within memory and minutes: the LLVM text of 1M instructions is ~30 MB.
      insns: opt.int({ value: 'N', min: 1, max: 1_000_000, default: 100_000, help: 'instructions per round' }),
      rounds: opt.int({ value: 'R', min: 1, max: 1000, default: 7, help: 'timed rounds' }),
    },
  },
  ({ options }, io) => {
    const total = options.insns;
    const rounds = options.rounds;
    const base = OPCODE_TABLE.map(sampleInsn);
    const insns = Array.from({ length: Math.ceil(total / base.length) }, () => base).flat();
    const bytes = encodeProgram(insns);
    const decoded = decodeProgram(bytes);
    const llvmText = decoded.map((i) => formatLlvm(i, i.form, 'alu32') ?? '').join('\n');
    const confLines = decoded.map((i) => formatConformance(i, i.form)).filter((t): t is string => t !== null);
    const confText = confLines.join('\n');

    const rows: Array<[string, number, () => unknown]> = [
      ['encodeProgram', insns.length, () => encodeProgram(insns)],
      ['decodeProgram', decoded.length, () => decodeProgram(bytes)],
      ['formatLlvm', decoded.length, () => decoded.map((i) => formatLlvm(i, i.form, 'alu32'))],
      ['formatXlatedProgram', decoded.length, () => formatXlatedProgram(decoded)],
      ['formatObjdumpSection', decoded.length, () => formatObjdumpSection({ name: 'prog', data: bytes, symbols: [] }, 'little')],
      ['assembleLlvm', decoded.length, () => assembleLlvm(llvmText)],
      ['assembleConformance', confLines.length, () => assembleConformance(confText)],
    ];
    io.out('| operation | instructions | median ms | instructions/s |\n|---|---:|---:|---:|\n');
    for (const [name, count, fn] of rows) {
      const ms = medianMs(fn, rounds);
      const rate = ms > 0 ? Math.round((count / ms) * 1000).toLocaleString('en-US') : 'n/a';
      io.out(`| ${name} | ${count} | ${ms.toFixed(1)} | ${rate} |\n`);
    }
    return 0;
  },
);
