// Throughput of the isa package's codecs, printed as a table. Needs the built package:
//   pnpm turbo run build --filter=@ebpf-sim/isa && node packages/isa/bench/isa.bench.js
// Input: every form's canonical instance (OPCODE_TABLE order) repeated to about 100k instructions.
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
} from '../dist/index.js';

const base = OPCODE_TABLE.map(sampleInsn);
const insns = Array.from({ length: Math.ceil(100_000 / base.length) }, () => base).flat();
const bytes = encodeProgram(insns);
const decoded = decodeProgram(bytes);
const llvmText = decoded.map((i) => formatLlvm(i, i.form, 'alu32')).join('\n');
const confText = decoded.map((i) => formatConformance(i, i.form)).filter((t) => t !== null).join('\n');
const confCount = confText.split('\n').length;

/** Median time of `rounds` runs after one warm-up run. */
function measure(fn, rounds = 7) {
  fn();
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const rows = [
  ['encodeProgram', insns.length, () => encodeProgram(insns)],
  ['decodeProgram', decoded.length, () => decodeProgram(bytes)],
  ['formatLlvm (per insn)', decoded.length, () => { for (const i of decoded) formatLlvm(i, i.form, 'alu32'); }],
  ['formatXlatedProgram', decoded.length, () => formatXlatedProgram(decoded)],
  ['formatObjdumpSection', decoded.length, () => formatObjdumpSection({ name: 'prog', data: bytes, symbols: [] }, 'little')],
  ['assembleLlvm', decoded.length, () => assembleLlvm(llvmText)],
  ['assembleConformance', confCount, () => assembleConformance(confText)],
];

console.log('| operation | instructions | median ms | instructions/s |');
console.log('|---|---:|---:|---:|');
for (const [name, count, fn] of rows) {
  const ms = measure(fn);
  console.log(`| ${name} | ${count} | ${ms.toFixed(1)} | ${Math.round((count / ms) * 1000).toLocaleString('en-US')} |`);
}
