/**
 * The engine primer: what warms the interpreter up before real work. One program runs every instruction form
 * (but the faulting ones) and every superinstruction once, with operands loaded from memory, over several
 * operand sets, once per process ({@link primeEngine}, called by the VM before its first run). V8 then has type
 * feedback for every case of the interpreter's switch when it first optimizes it. Without this, the first
 * program that uses a case the optimized code never saw deoptimizes the whole interpreter, and re-optimizing it
 * takes 70 ms to over a second on a busy 2-core machine (measured: 5-40x slower bench rounds meanwhile).
 *
 * It runs on an {@link EngineState} of its own (no VM: vm.ts imports this module). The test-program generators
 * that reuse its instruction builder and memory layout are in probe.ts.
 */
import type { OpcodeForm, RawInsn } from '@ebpf-sim/isa';
import { asm, formById, OPCODE_TABLE, STACK_FRAME_SIZE } from '@ebpf-sim/isa';
import { EngineState, Machine } from './engine-state.js';
import { MAX_CALL_FRAMES } from './fault.js';
import { HelperTable, type HelperSpec } from './helpers.js';
import {
  FUSED_ADD_ADD,
  FUSED_ADD_LOAD,
  FUSED_AFTER_ADD_IMM,
  FUSED_AFTER_MOV,
  FUSED_LOOP_TAIL,
  FUSED_MOV_ADD_LOAD,
  FUSED_MOV_MOV,
  FUSED_MOV_ZEXT,
  FUSED_XOR_MUL,
  interpretRepeat,
} from './interp.js';
import { splitU64 } from './int64.js';
import { Arena, LinearMemory, Perm } from './memory.js';
import { loadProgram } from './load.js';

/** Operand values covering the interesting ranges: zero, small, int32 edges, 64-bit edges, negatives. */
export const OPERAND_VALUES: readonly bigint[] = [
  0n,
  1n,
  7n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000005n,
  -1n,
  -(2n ** 63n),
  0x123456789abcdefn,
  3n,
  -5n,
  0xfedcba9876543210n,
  64n,
];
/** How many operand sets {@link loadOperands} rotates through. */
export const OPERAND_SETS = OPERAND_VALUES.length;
/** Immediates K forms take in the primer: big, negative, a small shift, zero (every branch of every case). */
const PRIMER_IMMS: readonly number[] = [0x7fffffff, -1, 5, 0];

/** The helper (and kfunc) the primer and the probes call: id 1, returns its first argument plus one. */
export const PRIMER_HELPER_ID = 1;
export const PRIMER_HELPERS: readonly HelperSpec[] = [{ id: PRIMER_HELPER_ID, name: 'probe', fn: (ctx) => ctx.arg(1) + 1n }];

/** The operand region: r0..r5 at 0..47, then the addresses of the two scratch regions. */
const DATA_SIZE = 64;
export const SCRATCH_PTR = 48;
const SCRATCH_B_PTR = 56;
/**
 * Loads and stores through r6 go to a separate scratch region, so their first access misses the engine's
 * last-region cache (warm from the operand loads) and takes the slow path, which must be exercised too.
 */
const SCRATCH_SIZE = 64;
/** Offset of memory operands through a scratch-region pointer. */
export const SCRATCH_OFF = 8;
/** Size of the packet LD ABS/IND read. */
export const PACKET_SIZE = 256;

/** Where the primer's (and the probes') regions are: the operand region and the packet. */
export interface OperandLayout {
  readonly data: number;
  readonly packet: number;
}

/** Map the operand region, two scratch regions and a packet in `arena`, the scratch pointers stored. */
export function mapOperandRegions(arena: Arena): OperandLayout {
  const mem = arena.mem;
  const data = arena.alloc(DATA_SIZE, Perm.RW, 'probe-data').start;
  const scratch = arena.alloc(SCRATCH_SIZE, Perm.RW, 'probe-scratch').start;
  const scratchB = arena.alloc(SCRATCH_SIZE, Perm.RW, 'probe-scratch-b').start;
  mem.dataView.setUint32(data + SCRATCH_PTR, scratch, true);
  mem.dataView.setUint32(data + SCRATCH_B_PTR, scratchB, true);
  const packet = arena.alloc(PACKET_SIZE, Perm.R, 'probe-packet').start;
  return { data, packet };
}

/** Store r0..r5's operands (OPERAND_VALUES rotated by `set`) in the operand region at `data`. */
export function loadOperands(mem: LinearMemory, data: number, set: number): void {
  const view = mem.dataView;
  for (let r = 0; r < 6; r++) {
    const [lo, hi] = splitU64(OPERAND_VALUES[(set + 3 * r) % OPERAND_VALUES.length] ?? 0n);
    view.setInt32(data + 8 * r, lo, true);
    view.setInt32(data + 8 * r + 4, hi, true);
  }
}

export function insn(code: number, dst: number, src: number, off: number, imm: number, imm2?: number): RawInsn {
  return imm2 === undefined ? { code, dst, src, off, imm } : { code, dst, src, off, imm, imm2 };
}

/** The instruction exercising `form`: registers r1/r2 as operands, memory through `base` (r6 or r10). */
export function formInsn(form: OpcodeForm, base: number, imm: number): RawInsn {
  const d = form.discriminant;
  const fixed = (field: 'off' | 'imm' | 'src') => (d !== null && d.field === field ? d.value : 0);
  const memOff = base === 10 ? -16 : SCRATCH_OFF;
  switch (form.kind) {
    case 'ldx':
    case 'ldxsx':
      return insn(form.opcode, 3, base, memOff, 0);
    case 'st':
      return insn(form.opcode, base, 0, memOff, imm);
    case 'stx':
    case 'atomic':
      return insn(form.opcode, base, 3, memOff, fixed('imm'));
    case 'ld_abs':
      return insn(form.opcode, 0, 0, 0, imm & 0x7ff);
    case 'ld_ind':
      return insn(form.opcode, 0, 2, 0, imm & 0x7ff);
    case 'ld_imm64':
      return insn(form.opcode, 1, fixed('src'), 0, imm, -imm);
    case 'ja':
    case 'jcond':
    case 'exit':
      return insn(form.opcode, 0, fixed('src'), 0, 0);
    case 'call':
      // helper #1, kfunc #1, or the local function right after this probe's exit.
      return insn(form.opcode, 0, fixed('src'), 0, fixed('src') === 1 ? 1 : PRIMER_HELPER_ID);
    case 'callx':
      return insn(form.opcode, 7, 0, 0, 0);
    default: {
      // alu, neg, movsx, end, jmp: dst r1, src r2 (X forms) or the immediate (K forms).
      const usesImm = form.fields.imm === 'imm';
      return insn(form.opcode, 1, form.fields.src === 'reg' ? 2 : 0, fixed('off'), d?.field === 'imm' ? d.value : usesImm ? imm : 0);
    }
  }
}

/** Whether `form` accesses memory (loads, stores, atomics). */
export function isMemoryForm(form: OpcodeForm): boolean {
  return form.kind === 'ldx' || form.kind === 'ldxsx' || form.kind === 'st' || form.kind === 'stx' || form.kind === 'atomic';
}

/**
 * One program that runs every instruction form (but the faulting ones) once: the primer. Running it over all
 * operand sets in a handful of calls gives V8 feedback for every case before it first optimizes the
 * interpreter; many small probe calls would let it optimize half-way, then deoptimize on the next new case.
 * Memory forms alternate between two scratch regions (r6, r8) and the stack, so every access takes the slow
 * path of the region cache at least once; K forms appear with each of PRIMER_IMMS.
 */
export function primerProgram(): RawInsn[] {
  const ldxdw = (dst: asm.Reg, off: number) => asm.Ldx.dw(dst, asm.R9, off);
  const items: asm.ProgramItem[] = [asm.Mov.reg(asm.R9, asm.R1)];
  for (let r = 0; r <= 5; r++) items.push(ldxdw(r as asm.Reg, 8 * r));
  items.push(ldxdw(asm.R6, SCRATCH_PTR), ldxdw(asm.R8, SCRATCH_B_PTR), asm.Mov.imm(asm.R7, PRIMER_HELPER_ID));
  let memoryForms = 0;
  for (const form of OPCODE_TABLE) {
    if (form.kind === 'exit' || form.kind === 'ld_abs' || form.kind === 'ld_ind') continue;
    if (form.kind === 'ld_imm64' && form.discriminant?.value !== 0) continue;
    if (form.kind === 'call' && form.discriminant?.value === 1) {
      items.push(asm.Call.local('primer_fn'));
      continue;
    }
    const memory = isMemoryForm(form);
    const variants = memory ? [10, memoryForms++ % 2 === 0 ? 6 : 8] : form.fields.imm === 'imm' ? PRIMER_IMMS : [0];
    for (const variant of variants) {
      items.push(memory ? formInsn(form, variant, 1) : formInsn(form, 6, variant));
      // Fresh operands for the next form (ALU forms overwrite r1).
      items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16));
    }
  }
  // Superinstructions: mov r1, r2 followed by each fusable operation on r1.
  for (const id of Object.keys(FUSED_AFTER_MOV)) {
    const form = formById(id);
    for (const imm of form.fields.imm === 'imm' ? PRIMER_IMMS : [0]) {
      items.push(form.cls === 'alu64' ? asm.Mov.reg(asm.R1, asm.R2) : asm.Mov.reg32(asm.R1, asm.R2), formInsn(form, 6, imm));
      items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16));
    }
  }
  // Two moves in a row.
  // 64-bit division and modulo on chosen operands, so every path of their cases has run: the double
  // estimate (wide and narrow divisors), near-integer quotients (the exact long division), operands below 2^32,
  // a 32-bit divisor under a wide dividend (with intermediate words past 2^31: V8 would otherwise speculate
  // int32 there and deoptimize the interpreter on the first larger one) and a zero divisor, each alone and
  // after a mov (the fused forms).
  const DIVISIONS: ReadonlyArray<readonly [bigint, bigint]> = [
    [0x123456789abcdef0n, 0x100000007n],
    [0x123456789abcdef0n, 0x7n],
    [0x100000007n * 0x12345n, 0x100000007n],
    [0x100000007n * 0x12345n - 1n, 0x100000007n],
    [0xfffffff0n, 0x13n],
    [0xfedcba9876543210n, 0xfedcba9876543211n],
    [0x123456789n * 7n, 7n],
    [0xfedcba9876543210n, 0x89abcdefn],
    [0xfedcba9876543210n, 0xfedcba99n],
    [0x123456789n, 0n],
  ];
  for (const [n, d] of DIVISIONS) {
    for (const op of [asm.Div, asm.Mod]) {
      items.push(asm.LdImm64.value(asm.R1, n), asm.LdImm64.value(asm.R2, d), op.reg(asm.R1, asm.R2));
      items.push(asm.LdImm64.value(asm.R3, n), asm.Mov.reg(asm.R1, asm.R3), op.reg(asm.R1, asm.R2));
    }
  }
  items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16), asm.Mov.imm(asm.R3, 0));
  // xor then multiply (the hash step), with the multiplier in another register and in dst itself.
  if (Object.keys(FUSED_XOR_MUL).length > 0) {
    items.push(asm.Xor.reg(asm.R1, asm.R2), asm.Mul.reg(asm.R1, asm.R2), asm.Xor.reg(asm.R1, asm.R2), asm.Mul.reg(asm.R1, asm.R1));
    items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16));
  }
  // The zero-extending move, from another register and from dst itself.
  if (Object.keys(FUSED_MOV_ZEXT).length > 0) {
    items.push(
      asm.Mov.reg(asm.R1, asm.R2),
      asm.Lsh.imm(asm.R1, 32),
      asm.Rsh.imm(asm.R1, 32),
      asm.Mov.reg(asm.R2, asm.R2),
      asm.Lsh.imm(asm.R2, 32),
      asm.Rsh.imm(asm.R2, 32),
    );
    items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16));
  }
  // A register add then an immediate or a register add: the same register, then another.
  if (Object.keys(FUSED_ADD_ADD).length > 0) {
    items.push(asm.Add.reg(asm.R1, asm.R2), asm.Add.imm(asm.R1, -1), asm.Add.reg(asm.R3, asm.R2), asm.Add.imm(asm.R1, 0x7fffffff));
    items.push(asm.Add.reg(asm.R1, asm.R2), asm.Add.reg(asm.R2, asm.R1), asm.Mov.imm(asm.R0, 0), asm.Add.reg(asm.R3, asm.R1), asm.Add.reg(asm.R3, asm.R3));
    items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16));
  }
  if (Object.keys(FUSED_MOV_MOV).length > 0) {
    items.push(asm.Mov.reg(asm.R1, asm.R2), asm.Mov.reg(asm.R2, asm.R1));
    items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16));
  }
  // Loop tails: add r1, imm followed by each conditional jump of the same width.
  for (const id of Object.keys(FUSED_AFTER_ADD_IMM)) {
    const form = formById(id);
    for (const imm of form.fields.imm === 'imm' ? PRIMER_IMMS : [0]) {
      items.push(form.cls === 'jmp' ? asm.Add.imm(asm.R1, 1) : asm.Add.imm32(asm.R1, 1), formInsn(form, 6, imm));
      items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16));
    }
  }
  // Whole loop tails: add w1, 1; mov; mov; then each fusable jump on w1 (r1 = 0 first), K forms with 1 and 0 (both
  // ways of a jne).
  for (const id of Object.keys(FUSED_LOOP_TAIL)) {
    const form = formById(id);
    for (const imm of form.fields.imm === 'imm' ? [0, 1] : [0]) {
      items.push(asm.Mov.imm(asm.R1, 0), asm.Add.imm32(asm.R1, 1), asm.Mov.reg(asm.R3, asm.R2), asm.Mov.reg(asm.R4, asm.R2), formInsn(form, 6, imm));
    }
  }
  items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16));
  // Base + index loads: mov r3, r6 (or r8); add r3, r0 (0 here, so the address stays inside); ldx r3, [r3 + off].
  for (const [i, id] of Object.keys(FUSED_MOV_ADD_LOAD).entries()) {
    items.push(asm.Mov.imm(asm.R0, 0), asm.Mov.reg(asm.R3, i % 2 === 0 ? asm.R6 : asm.R8), asm.Add.reg(asm.R3, asm.R0), formInsn(formById(id), 3, 0));
    items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16));
  }
  // The add + load pair through a stack pointer: r3 = r10; r3 += -16 (a mov + add.k pair); r3 += r0; ldx r3, [r3].
  for (const id of Object.keys(FUSED_ADD_LOAD)) {
    items.push(asm.Mov.imm(asm.R0, 0), asm.Mov.reg(asm.R3, asm.R10), asm.Add.imm(asm.R3, -16), asm.Add.reg(asm.R3, asm.R0), {
      ...formInsn(formById(id), 3, 0),
      off: 0,
    });
    items.push(ldxdw(asm.R1, 8), ldxdw(asm.R2, 16));
  }
  items.push(asm.LdAbs.b(1), asm.LdAbs.h(2), asm.LdAbs.w(4), asm.LdInd.b(asm.R7, 1), asm.LdInd.h(asm.R7, 2), asm.LdInd.w(asm.R7, 4));
  items.push(asm.Exit(), asm.label('primer_fn'), asm.Mov.imm(asm.R0, 1), asm.Exit());
  return asm.program(items);
}

let primed = false;

/**
 * Run the primer over every operand set, once per process (see {@link primerProgram}). Called before every
 * run that may interpret, so it is kept this small: TurboFan inlines it into the run's path.
 */
export function primeEngine(): void {
  if (!primed) prime();
}

function prime(): void {
  primed = true;
  const mem = new LinearMemory({ pages: 1 });
  const arena = new Arena(mem);
  const stackTop = arena.reserve(MAX_CALL_FRAMES * STACK_FRAME_SIZE, 4096) + MAX_CALL_FRAMES * STACK_FRAME_SIZE;
  const { data, packet } = mapOperandRegions(arena);
  const helpers = new HelperTable(PRIMER_HELPERS);
  const machine = new Machine(mem, helpers, helpers, null, 12, stackTop, 1_000_000);
  machine.packetAddr = packet;
  machine.packetLen = PACKET_SIZE;
  const st = new EngineState(machine);
  const primer = loadProgram(primerProgram(), { name: 'primer' });
  const fail = (where: string): Error => new Error(`engine primer faulted${where}: ${st.fault?.kind ?? '?'} at insn ${st.fault?.pc ?? -1}`);
  // Each run the way Vm.run starts one on the interpreter (a repeat loop of one run).
  for (let set = 0; set < OPERAND_SETS; set++) {
    loadOperands(mem, data, set);
    interpretRepeat(st, primer, data, 0, 0, 0, 1);
    if (st.fault !== null) throw fail('');
  }
  // Three runs: the second and third start in place at an exit (interp.ts runRepeat: the first chunk is one
  // run), with every register group reset (the primer calls helpers, so it may write every register).
  interpretRepeat(st, primer, data, 0, 0, 0, 3);
  if (st.fault !== null) throw fail(' in a repeat loop');
}
