/**
 * JIT compile time: µs per eBPF instruction for each bench program and for a generated 4096-instruction
 * program (straight-line ALU, forward branches, a loop and a bpf-to-bpf call). Each program is compiled
 * `rounds` times from scratch (byte generation plus `new WebAssembly.Module`) and the median is reported.
 * Tooling, exported by the `@ebpf-sim/vm/node` entry (`ebpf-sim bench` prints it).
 */
import type { RawInsn } from '@ebpf-sim/isa';
import { asm } from '@ebpf-sim/isa';
import { median } from '../bench.js';
import type { Program } from '../program.js';
import { loadProgram } from '../load.js';
import { compileProgram, type MemoryChecks } from './compile.js';

export interface CompileRow {
  readonly name: string;
  readonly insns: number;
  readonly wasmBytes: number;
  readonly micros: number;
  readonly microsPerInsn: number;
}

const { R0, R1, R2, Add, Mov, Xor, Mul, JEq, JLt, Call, Exit, label, program } = asm;

/** A 4096-instruction program in the shape compilers emit: blocks of ALU, forward branches, a loop, a call. */
export function generatedProgram(target = 4096): Program {
  const body: RawInsn[] = [];
  let i = 0;
  while (body.length < target - 12) {
    body.push(Add.imm(R0, i), Xor.reg(R0, R1), JEq.imm(R1, i, 2), Mul.imm(R0, 3), Mov.reg(R2, R0));
    i++;
  }
  const items = [
    Mov.imm(R0, 0),
    Mov.imm(R2, 0),
    label('loop'),
    ...body,
    Add.imm(R2, 1),
    JLt.imm(R2, 2, 'loop'),
    Call.local('f'),
    Exit(),
    label('f'),
    Add.imm(R0, 1),
    Exit(),
  ];
  return loadProgram(program(...items), { name: `generated-${target}` });
}

/** Compile each program `rounds` times; median µs. */
export function measureCompile(
  programs: ReadonlyArray<{ readonly name: string; readonly program: Program }>,
  checks: MemoryChecks = 'checked',
  rounds = 7,
): CompileRow[] {
  return programs.map(({ name, program }) => {
    const samples: number[] = [];
    let bytes = 0;
    for (let r = 0; r < rounds; r++) {
      const code = compileProgram(program, checks);
      samples.push(code.micros);
      bytes = code.wasmBytes;
    }
    const micros = median(samples);
    return { name, insns: program.insns.length, wasmBytes: bytes, micros, microsPerInsn: micros / program.insns.length };
  });
}

export function formatCompileTable(rows: readonly CompileRow[]): string {
  const header = ['program', 'insns', 'wasm bytes', 'compile µs', 'µs/insn'];
  const lines = rows.map((r) => [r.name, String(r.insns), String(r.wasmBytes), r.micros.toFixed(0), r.microsPerInsn.toFixed(2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [fmt(header), sep, ...lines.map(fmt)].join('\n') + '\n';
}
