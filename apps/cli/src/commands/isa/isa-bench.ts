import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
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
import { CliError, type CliIo, type Command } from '../../command.js';

const USAGE = `usage: ebpf-sim isa-bench [--insns N] [--rounds R]

Throughput of the instruction-set codecs (encoder, decoder, printers, assemblers) over N instructions
(default 100000: every form of the opcode table, repeated), as the median of R timed rounds (default 7)
after one warm-up round. Prints a markdown table.`;

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

export const isaBenchCommand: Command = {
  name: 'isa-bench',
  summary: 'Measure encoder, decoder, disassembler and assembler throughput (prints a table)',
  usage: USAGE,
  run(args: readonly string[], io: CliIo): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({ args: [...args], options: { insns: { type: 'string' }, rounds: { type: 'string' } } }));
    } catch (error) {
      throw new CliError(`${(error as Error).message}\n${USAGE}`);
    }
    const total = Number(values.insns ?? 100_000);
    const rounds = Number(values.rounds ?? 7);
    if (!Number.isInteger(total) || total < 1) throw new CliError(`--insns must be a positive integer, not '${values.insns ?? ''}'`);
    if (!Number.isInteger(rounds) || rounds < 1) throw new CliError(`--rounds must be a positive integer, not '${values.rounds ?? ''}'`);

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
    return Promise.resolve(0);
  },
};
