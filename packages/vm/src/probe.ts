/**
 * Test programs: one tiny program per instruction form of the opcode table, with its operands loaded from
 * memory so that the same program can run over many operand values (`probe.test.ts` runs every form and
 * asserts that no engine answers "unhandled"; `jit/forms.test.ts` compares the engines on them), and
 * {@link ProbeBench}, a VM set up to run them. The instruction builder and the memory layout are the primer's
 * (primer.ts), so the primer and the probes exercise the same operands.
 */
import type { OpcodeForm, RawInsn } from '@ebpf-sim/isa';
import { Class, Mode, OPCODE_TABLE, Size } from '@ebpf-sim/isa';
import {
  formInsn,
  insn,
  isMemoryForm,
  loadOperands,
  mapOperandRegions,
  OPERAND_SETS,
  PACKET_SIZE,
  PRIMER_HELPER_ID,
  PRIMER_HELPERS,
  SCRATCH_PTR,
} from './primer.js';
import { Arena, LinearMemory } from './memory.js';
import { type Program } from './program.js';
import { loadProgram } from './load.js';
import { Vm, type EngineName } from './vm.js';

/** Immediates for K forms. */
const IMMS: readonly number[] = [1, -1, 0x7fffffff, -0x80000000, 63, 0];

export const PROBE_HELPER_ID = PRIMER_HELPER_ID;
export const PROBE_HELPERS = PRIMER_HELPERS;
export const PROBE_VALUE_SETS = OPERAND_SETS;

/**
 * The probe program of one form: r6 = r1 (the operand region), r0..r5 loaded from it, r6 = the scratch
 * region, r7 = the probe helper's id (for callx), the form's instruction, exit, then a local function
 * (mov r0, 1; exit).
 */
export function probeProgram(form: OpcodeForm, base: number, imm: number): RawInsn[] {
  const ldxdw = Class.LDX | Mode.MEM | Size.DW;
  const prologue: RawInsn[] = [insn(Class.ALU64 | 0xb0 | 0x08, 6, 1, 0, 0)];
  for (let r = 0; r <= 5; r++) prologue.push(insn(ldxdw, r, 6, 8 * r, 0));
  prologue.push(insn(ldxdw, 6, 6, SCRATCH_PTR, 0));
  prologue.push(insn(Class.ALU64 | 0xb0, 7, 0, 0, PROBE_HELPER_ID));
  const exit = insn(Class.JMP | 0x90, 0, 0, 0, 0);
  return [...prologue, formInsn(form, base, imm), exit, insn(Class.ALU64 | 0xb0, 0, 0, 0, 1), exit];
}

/** A VM set up for probes: helpers, the operand and scratch regions, a packet for LD ABS/IND. */
export class ProbeBench {
  readonly vm: Vm;
  readonly data: number;

  constructor(engine?: EngineName) {
    const mem = new LinearMemory({ pages: 1 });
    const arena = new Arena(mem);
    this.vm = new Vm({ arena, helpers: PROBE_HELPERS, kfuncs: PROBE_HELPERS, ...(engine === undefined ? {} : { engine }) });
    const layout = mapOperandRegions(arena);
    this.data = layout.data;
    this.vm.setPacket(layout.packet, PACKET_SIZE);
  }

  /** Run `prog` with r0..r5 = the operand values rotated by `set`. */
  run(prog: Program, set: number): boolean {
    loadOperands(this.vm.mem, this.data, set);
    return this.vm.run(prog, this.data);
  }
}

/** Every (form, variant) probe: memory forms through r10 and r6, K forms with several immediates. */
export function probePrograms(): Array<{ form: OpcodeForm; program: Program }> {
  const out: Array<{ form: OpcodeForm; program: Program }> = [];
  for (const form of OPCODE_TABLE) {
    const bases = isMemoryForm(form) ? [10, 6] : [0];
    const imms = form.fields.imm === 'imm' ? IMMS : [0];
    for (const base of bases) {
      for (const imm of imms) out.push({ form, program: loadProgram(probeProgram(form, base, imm), { name: form.id }) });
    }
  }
  return out;
}
