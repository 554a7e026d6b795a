import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { XDP, createRegistry } from '@ebpf-sim/bpf';
import { asm, encodeProgram, fromHex, type RawInsn } from '@ebpf-sim/isa';
import { verify } from '@ebpf-sim/verifier';
import { defineCommand, opt } from '../../args.js';
import { CliError, UsageError } from '../../command.js';
import { readInputText } from '../../files.js';
import { repoRoot } from '../../repo.js';
import { kernelUnavailable, kernelVerifyTimeUs } from './kernel-verify-time.js';

function defaultDir(): string {
  return resolve(repoRoot(), '..', 'shared', 'bench', 'hex');
}

/**
 * A generated XDP program of about `target` instructions: a 64-byte packet bounds check, then blocks of
 * scalar arithmetic, packet loads, stack spills and fills, and a forward branch per block.
 */
export function generatedProgram(target = 10_000): RawInsn[] {
  const { Add, And, Exit, JGt, JSet, Ldx, Lsh, Mov, Mul, Or, Rsh, Stx, Xor, label, program, R0, R1, R2, R3, R4, R5, R6, R10 } = asm;
  const items: Array<ReturnType<typeof label> | RawInsn> = [
    Mov.imm(R0, 0),
    Ldx.w(R2, R1, 0),
    Ldx.w(R3, R1, 4),
    Mov.reg(R4, R2),
    Add.imm(R4, 64),
    JGt.reg(R4, R3, 'out'),
    Mov.imm(R5, 1),
  ];
  let block = 0;
  while (items.length < target - 4) {
    const off = (block * 4) % 60;
    const skip = `skip${block}`;
    items.push(
      Ldx.w(R6, R2, off),
      Xor.reg(R0, R6),
      Mul.imm(R5, 31),
      Add.reg(R5, R6),
      And.imm(R6, 0xff),
      Lsh.imm(R6, 3),
      Or.reg(R0, R6),
      Rsh.imm(R0, 1),
      Stx.dw(R10, -8 - (block % 8) * 8, R5),
      JSet.imm(R6, 8, skip),
      Ldx.dw(R4, R10, -8 - (block % 8) * 8),
      Add.reg(R0, R4),
      label(skip),
    );
    block++;
  }
  items.push(label('out'), Exit());
  return program(...items);
}

/** How long each program is verified untimed before the timed rounds. */
const WARM_UP_MS = 300;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** The name of the generated program in the table. */
const GENERATED = 'generated-10000';

export const verifyBenchCommand = defineCommand(
  {
    name: 'verify-bench',
    summary: 'time the verifier on the benchmark objects and a generated 10,000-instruction program',
    description: `Verification time of the shared benchmark objects (every DIR/*.xdp.hex, as XDP programs) and of a generated
10,000-instruction XDP program: median and best wall time of N rounds (after ${WARM_UP_MS} ms of untimed
warm-up rounds) at log level 0, with the processed-instruction and state counts Linux reports in its last
log line.
When this machine's kernel can be asked (Linux, root, cc and libbpf), its own 'verification time' is printed
beside ours: BPF_PROG_LOAD at log level 4 (BPF_LOG_STATS) by a libbpf loader, best of N rounds, same run.`,
    options: {
      dir: opt.path({ value: 'DIR', must: 'dir', help: 'the hex directory (default: ../shared/bench/hex next to the repository)' }),
      rounds: opt.int({ value: 'N', min: 1, max: 10_000, default: 5, help: 'timed rounds per program' }),
      program: opt.text({ value: 'NAME', help: `only this program (a DIR/NAME.xdp.hex, or ${GENERATED})` }),
      'no-kernel': opt.flag("do not ask this machine's kernel for its verification time"),
    },
  },
  ({ options: values }, io) => {
    const rounds = values.rounds;
    const dir = values.dir ?? defaultDir();
    const programs: Array<{ name: string; insns: Uint8Array | RawInsn[] }> = [];
    if (existsSync(dir)) {
      for (const f of readdirSync(dir)
        .filter((n) => n.endsWith('.xdp.hex'))
        .sort()) {
        const path = join(dir, f);
        try {
          programs.push({ name: f.replace(/\.xdp\.hex$/, ''), insns: fromHex(readInputText(path)) });
        } catch (error) {
          if (error instanceof CliError) throw error;
          throw new CliError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
    programs.push({ name: GENERATED, insns: generatedProgram() });
    if (values.program !== undefined && !programs.some((p) => p.name === values.program)) {
      throw new UsageError(`no program '${values.program}' (have: ${programs.map((p) => p.name).join(', ')})`);
    }
    // Only the default directory may be missing (--dir is checked); the table then has the generated program.
    if (!existsSync(dir)) io.err(`verify-bench: ${dir} not found; timing only the generated program\n`);
    const rows: string[] = [];
    let failed = 0;
    const whyNoKernel = values['no-kernel'] ? 'not asked (--no-kernel)' : kernelUnavailable();
    if (whyNoKernel !== null) io.err(`verify-bench: the kernel's verification time is not measured: ${whyNoKernel}\n`);
    for (const p of programs) {
      if (values.program !== undefined && p.name !== values.program) continue;
      const times: number[] = [];
      // Untimed rounds first, for at least WARM_UP_MS: the figures are for a warmed-up process (the JIT has
      // compiled the verifier's hot paths), as the kernel's own figure is for compiled code.
      const warmUntil = performance.now() + WARM_UP_MS;
      let last = verify(p.insns, { progType: XDP, registry: createRegistry(), logLevel: 0 });
      while (performance.now() < warmUntil) last = verify(p.insns, { progType: XDP, registry: createRegistry(), logLevel: 0 });
      for (let r = 0; r < rounds; r++) {
        last = verify(p.insns, { progType: XDP, registry: createRegistry(), logLevel: 0 });
        times.push(last.stats.timeUs);
      }
      if (!last.accepted) failed++;
      const slots = p.insns instanceof Uint8Array ? p.insns.length / 8 : p.insns.reduce((n, i) => n + (i.code === 0x18 ? 2 : 1), 0);
      const best = Math.min(...times);
      let linux = '-';
      let ratio = '-';
      if (whyNoKernel === null) {
        const us = kernelVerifyTimeUs(p.insns instanceof Uint8Array ? p.insns : encodeProgram(p.insns), rounds);
        if (us !== null) {
          linux = String(us);
          ratio = `${(best / Math.max(us, 1)).toFixed(2)}x`;
        } else linux = 'refused';
      }
      rows.push(
        `${p.name.padEnd(18)} ${String(slots).padStart(6)} ${(last.accepted ? 'accepted' : 'REJECTED').padEnd(9)} ${String(last.stats.processed).padStart(9)} ${String(last.stats.totalStates).padStart(7)} ${String(median(times)).padStart(10)} ${String(best).padStart(8)} ${linux.padStart(9)} ${ratio.padStart(7)}`,
      );
    }
    io.out(
      `verification time of ${rounds} timed round${rounds === 1 ? '' : 's'} per program after ${WARM_UP_MS} ms of warm-up rounds, log level 0 (usec, as Linux's 'verification time')\n` +
        `${'program'.padEnd(18)} ${'insns'.padStart(6)} ${'result'.padEnd(9)} ${'processed'.padStart(9)} ${'states'.padStart(7)} ${'median us'.padStart(10)} ${'best us'.padStart(8)} ${'linux us'.padStart(9)} ${'ratio'.padStart(7)}\n${rows.join('\n')}\n`,
    );
    return failed === 0 ? 0 : 1;
  },
);
