import type { OpcodeForm } from './opcodes.js';

/**
 * One eBPF instruction as its raw fields. LD imm64 is one instruction that occupies two 8-byte slots; its
 * second slot's immediate (the upper 32 bits of the constant) is `imm2`.
 */
export interface RawInsn {
  /** Opcode byte. */
  readonly code: number;
  /** Destination register field, 0..15. */
  readonly dst: number;
  /** Source register field, 0..15. */
  readonly src: number;
  /** Signed 16-bit offset. */
  readonly off: number;
  /** Signed 32-bit immediate. */
  readonly imm: number;
  /** LD imm64 only: the second slot's signed 32-bit immediate. */
  readonly imm2?: number;
}

/** A decoded, valid instruction: its fields, its form in the opcode table and the slot it starts at. */
export interface Insn extends RawInsn {
  readonly form: OpcodeForm;
  /** Index of the instruction's first 8-byte slot in the program. */
  readonly slot: number;
}

/** Number of 8-byte slots an instruction occupies. */
export function slotCount(insn: { readonly code: number }): 1 | 2 {
  return insn.code === 0x18 ? 2 : 1;
}

/** The 64-bit constant of an LD imm64 instruction. */
export function imm64Of(insn: RawInsn): bigint {
  const lo = BigInt(insn.imm >>> 0);
  const hi = BigInt((insn.imm2 ?? 0) >>> 0);
  return BigInt.asIntN(64, (hi << 32n) | lo);
}

/** Split a 64-bit constant into the signed 32-bit `imm`/`imm2` pair of LD imm64. */
export function splitImm64(value: bigint): { imm: number; imm2: number } {
  const u = BigInt.asUintN(64, value);
  return { imm: Number(BigInt.asIntN(32, u & 0xffffffffn)), imm2: Number(BigInt.asIntN(32, u >> 32n)) };
}

/** Byte order of an object file or raw program. */
export type Endian = 'little' | 'big';
