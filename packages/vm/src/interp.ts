/**
 * The interpreter: pre-decodes a program into four int32 words per 8-byte slot, in a block of the word pool
 * (pool.ts), and runs it with one dense `switch` on a compact op id. Registers live in the VM's block of the
 * same pool as (lo, hi) int32 pairs, so nothing in the per-instruction path allocates or touches BigInt, and
 * the one array every access goes through is a constant to TurboFan (see createInterpreter).
 *
 * Code layout, per slot `i` at `p = base + 4 * i` (pool indexes; `base` is the program's `codeBase`):
 *   code[p]     op | (2 * dst) << 9 | (2 * src) << 17   (9-bit op id; register numbers pre-scaled to word offsets)
 *   code[p | 1] memory offset, or the pool index of a jump / local call target, or the LD imm64 pseudo source
 *   code[p | 2] imm (low word of the 64-bit operand)
 *   code[p | 3] imm >> 31 (its high word: immediates are sign-extended), or the second imm of LD imm64
 * One extra slot after the program holds FELL_OFF, so running past the end faults instead of reading garbage.
 *
 * `Op` is a `const enum` declared in this file so that every `case` label compiles to a literal number, which
 * is what lets V8 turn the switch into a jump table.
 */
import type { Insn } from '@ebpf-sim/isa';
import { STACK_FRAME_SIZE } from '@ebpf-sim/isa';
import { FRAME_WORDS, type EngineState } from './engine-state.js';
import { BPF_MAX_LOOPS, MAX_CALL_FRAMES } from './fault.js';
import { QUOTIENT_EPS, WIDE, sdiv64, udiv64 } from './int64.js';
import type { Program } from './program.js';
import { ownedBlock, POOL } from './pool.js';

const enum Op {
  ALU_ADD_K = 0,
  ALU_ADD_X = 1,
  ALU_SUB_K = 2,
  ALU_SUB_X = 3,
  ALU_MUL_K = 4,
  ALU_MUL_X = 5,
  ALU_DIV_K = 6,
  ALU_SDIV_K = 7,
  ALU_DIV_X = 8,
  ALU_SDIV_X = 9,
  ALU_OR_K = 10,
  ALU_OR_X = 11,
  ALU_AND_K = 12,
  ALU_AND_X = 13,
  ALU_LSH_K = 14,
  ALU_LSH_X = 15,
  ALU_RSH_K = 16,
  ALU_RSH_X = 17,
  ALU_MOD_K = 18,
  ALU_SMOD_K = 19,
  ALU_MOD_X = 20,
  ALU_SMOD_X = 21,
  ALU_XOR_K = 22,
  ALU_XOR_X = 23,
  ALU_MOV_K = 24,
  ALU_MOV_X = 25,
  ALU_MOVSX8_X = 26,
  ALU_MOVSX16_X = 27,
  ALU_ARSH_K = 28,
  ALU_ARSH_X = 29,
  ALU_NEG = 30,
  ALU64_ADD_K = 31,
  ALU64_ADD_X = 32,
  ALU64_SUB_K = 33,
  ALU64_SUB_X = 34,
  ALU64_MUL_K = 35,
  ALU64_MUL_X = 36,
  ALU64_DIV_K = 37,
  ALU64_SDIV_K = 38,
  ALU64_DIV_X = 39,
  ALU64_SDIV_X = 40,
  ALU64_OR_K = 41,
  ALU64_OR_X = 42,
  ALU64_AND_K = 43,
  ALU64_AND_X = 44,
  ALU64_LSH_K = 45,
  ALU64_LSH_X = 46,
  ALU64_RSH_K = 47,
  ALU64_RSH_X = 48,
  ALU64_MOD_K = 49,
  ALU64_SMOD_K = 50,
  ALU64_MOD_X = 51,
  ALU64_SMOD_X = 52,
  ALU64_XOR_K = 53,
  ALU64_XOR_X = 54,
  ALU64_MOV_K = 55,
  ALU64_MOV_X = 56,
  ALU64_MOVSX8_X = 57,
  ALU64_MOVSX16_X = 58,
  ALU64_MOVSX32_X = 59,
  ALU64_ARSH_K = 60,
  ALU64_ARSH_X = 61,
  ALU64_NEG = 62,
  END_LE16 = 63,
  END_LE32 = 64,
  END_LE64 = 65,
  END_BE16 = 66,
  END_BE32 = 67,
  END_BE64 = 68,
  END_BSWAP16 = 69,
  END_BSWAP32 = 70,
  END_BSWAP64 = 71,
  JMP_JA = 72,
  JMP_JEQ_K = 73,
  JMP_JEQ_X = 74,
  JMP_JGT_K = 75,
  JMP_JGT_X = 76,
  JMP_JGE_K = 77,
  JMP_JGE_X = 78,
  JMP_JSET_K = 79,
  JMP_JSET_X = 80,
  JMP_JNE_K = 81,
  JMP_JNE_X = 82,
  JMP_JSGT_K = 83,
  JMP_JSGT_X = 84,
  JMP_JSGE_K = 85,
  JMP_JSGE_X = 86,
  JMP_JLT_K = 87,
  JMP_JLT_X = 88,
  JMP_JLE_K = 89,
  JMP_JLE_X = 90,
  JMP_JSLT_K = 91,
  JMP_JSLT_X = 92,
  JMP_JSLE_K = 93,
  JMP_JSLE_X = 94,
  JMP32_JEQ_K = 95,
  JMP32_JEQ_X = 96,
  JMP32_JGT_K = 97,
  JMP32_JGT_X = 98,
  JMP32_JGE_K = 99,
  JMP32_JGE_X = 100,
  JMP32_JSET_K = 101,
  JMP32_JSET_X = 102,
  JMP32_JNE_K = 103,
  JMP32_JNE_X = 104,
  JMP32_JSGT_K = 105,
  JMP32_JSGT_X = 106,
  JMP32_JSGE_K = 107,
  JMP32_JSGE_X = 108,
  JMP32_JLT_K = 109,
  JMP32_JLT_X = 110,
  JMP32_JLE_K = 111,
  JMP32_JLE_X = 112,
  JMP32_JSLT_K = 113,
  JMP32_JSLT_X = 114,
  JMP32_JSLE_K = 115,
  JMP32_JSLE_X = 116,
  CALL_HELPER = 117,
  CALL_LOCAL = 118,
  CALL_KFUNC = 119,
  CALLX = 120,
  EXIT = 121,
  JMP_MAY_GOTO = 122,
  LD_IMM64_IMM = 123,
  LD_ABS_W = 124,
  LD_ABS_H = 125,
  LD_ABS_B = 126,
  LD_IND_W = 127,
  LD_IND_H = 128,
  LD_IND_B = 129,
  LDX_MEM_B = 130,
  LDX_MEMSX_B = 131,
  ST_MEM_B = 132,
  STX_MEM_B = 133,
  LDX_MEM_H = 134,
  LDX_MEMSX_H = 135,
  ST_MEM_H = 136,
  STX_MEM_H = 137,
  LDX_MEM_W = 138,
  LDX_MEMSX_W = 139,
  ST_MEM_W = 140,
  STX_MEM_W = 141,
  ATOMIC_W_ADD = 142,
  ATOMIC_W_FETCH_ADD = 143,
  ATOMIC_W_OR = 144,
  ATOMIC_W_FETCH_OR = 145,
  ATOMIC_W_AND = 146,
  ATOMIC_W_FETCH_AND = 147,
  ATOMIC_W_XOR = 148,
  ATOMIC_W_FETCH_XOR = 149,
  ATOMIC_W_XCHG = 150,
  ATOMIC_W_CMPXCHG = 151,
  LDX_MEM_DW = 152,
  ST_MEM_DW = 153,
  STX_MEM_DW = 154,
  ATOMIC_DW_ADD = 155,
  ATOMIC_DW_FETCH_ADD = 156,
  ATOMIC_DW_OR = 157,
  ATOMIC_DW_FETCH_OR = 158,
  ATOMIC_DW_AND = 159,
  ATOMIC_DW_FETCH_AND = 160,
  ATOMIC_DW_XOR = 161,
  ATOMIC_DW_FETCH_XOR = 162,
  ATOMIC_DW_XCHG = 163,
  ATOMIC_DW_CMPXCHG = 164,
  LD_IMM64_PSEUDO = 165,
  TAIL_CALL = 166,
  FELL_OFF = 167,
  LD_IMM64_TAIL = 168,
  FUSED_MOV64_ADD_K = 169,
  FUSED_MOV64_ADD_X = 170,
  FUSED_MOV64_SUB_K = 171,
  FUSED_MOV64_SUB_X = 172,
  FUSED_MOV64_MUL_K = 173,
  FUSED_MOV64_MUL_X = 174,
  FUSED_MOV64_OR_K = 175,
  FUSED_MOV64_OR_X = 176,
  FUSED_MOV64_AND_K = 177,
  FUSED_MOV64_AND_X = 178,
  FUSED_MOV64_LSH_K = 179,
  FUSED_MOV64_LSH_X = 180,
  FUSED_MOV64_RSH_K = 181,
  FUSED_MOV64_RSH_X = 182,
  FUSED_MOV64_ARSH_K = 183,
  FUSED_MOV64_ARSH_X = 184,
  FUSED_MOV64_XOR_K = 185,
  FUSED_MOV64_XOR_X = 186,
  FUSED_MOV32_ADD_K = 187,
  FUSED_MOV32_ADD_X = 188,
  FUSED_MOV32_SUB_K = 189,
  FUSED_MOV32_SUB_X = 190,
  FUSED_MOV32_MUL_K = 191,
  FUSED_MOV32_MUL_X = 192,
  FUSED_MOV32_OR_K = 193,
  FUSED_MOV32_OR_X = 194,
  FUSED_MOV32_AND_K = 195,
  FUSED_MOV32_AND_X = 196,
  FUSED_MOV32_LSH_K = 197,
  FUSED_MOV32_LSH_X = 198,
  FUSED_MOV32_RSH_K = 199,
  FUSED_MOV32_RSH_X = 200,
  FUSED_MOV32_ARSH_K = 201,
  FUSED_MOV32_ARSH_X = 202,
  FUSED_MOV32_XOR_K = 203,
  FUSED_MOV32_XOR_X = 204,
  FUSED_ADD64K_JEQ_K = 205,
  FUSED_ADD64K_JEQ_X = 206,
  FUSED_ADD64K_JNE_K = 207,
  FUSED_ADD64K_JNE_X = 208,
  FUSED_ADD64K_JGT_K = 209,
  FUSED_ADD64K_JGT_X = 210,
  FUSED_ADD64K_JGE_K = 211,
  FUSED_ADD64K_JGE_X = 212,
  FUSED_ADD64K_JLT_K = 213,
  FUSED_ADD64K_JLT_X = 214,
  FUSED_ADD64K_JLE_K = 215,
  FUSED_ADD64K_JLE_X = 216,
  FUSED_ADD64K_JSGT_K = 217,
  FUSED_ADD64K_JSGT_X = 218,
  FUSED_ADD64K_JSGE_K = 219,
  FUSED_ADD64K_JSGE_X = 220,
  FUSED_ADD64K_JSLT_K = 221,
  FUSED_ADD64K_JSLT_X = 222,
  FUSED_ADD64K_JSLE_K = 223,
  FUSED_ADD64K_JSLE_X = 224,
  FUSED_ADD32K_JEQ_K = 225,
  FUSED_ADD32K_JEQ_X = 226,
  FUSED_ADD32K_JNE_K = 227,
  FUSED_ADD32K_JNE_X = 228,
  FUSED_ADD32K_JGT_K = 229,
  FUSED_ADD32K_JGT_X = 230,
  FUSED_ADD32K_JGE_K = 231,
  FUSED_ADD32K_JGE_X = 232,
  FUSED_ADD32K_JLT_K = 233,
  FUSED_ADD32K_JLT_X = 234,
  FUSED_ADD32K_JLE_K = 235,
  FUSED_ADD32K_JLE_X = 236,
  FUSED_ADD32K_JSGT_K = 237,
  FUSED_ADD32K_JSGT_X = 238,
  FUSED_ADD32K_JSGE_K = 239,
  FUSED_ADD32K_JSGE_X = 240,
  FUSED_ADD32K_JSLT_K = 241,
  FUSED_ADD32K_JSLT_X = 242,
  FUSED_ADD32K_JSLE_K = 243,
  FUSED_ADD32K_JSLE_X = 244,
  FUSED_MOV64_ADD_X_LDX_B = 245,
  FUSED_MOV64_ADD_X_LDX_H = 246,
  FUSED_MOV64_ADD_X_LDX_W = 247,
  FUSED_MOV64_ADD_X_LDX_DW = 248,
  FUSED_ADD64_X_LDX_W = 249,
  FUSED_ADD64_X_LDX_DW = 250,
  FUSED_MOV64_DIV_X = 251,
  FUSED_MOV64_MOD_X = 252,
  FUSED_MOV64_MOV64_X = 253,
  FUSED_XOR64_MUL64_X = 254,
  FUSED_ADD32K_MOV2_JNE_K = 255,
  FUSED_ADD64X_ADD64K = 256,
  FUSED_MOV64_ZEXT32 = 257,
  FUSED_ADD64X_ADD64X = 258,
  // Op ids are 9 bits; 0x1ff is NO_OP.
}

/**
 * Superinstructions: `mov dst, src` followed by an ALU operation on the same dst and of the same width (the
 * compiler's way to write a three-operand operation) runs as one dispatch. Keyed by the second instruction's
 * form id. The second instruction keeps its own slot, so a jump straight to it still works.
 */
export const FUSED_AFTER_MOV: Readonly<Record<string, number>> = {
  'alu64.add.k': Op.FUSED_MOV64_ADD_K,
  'alu64.add.x': Op.FUSED_MOV64_ADD_X,
  'alu64.sub.k': Op.FUSED_MOV64_SUB_K,
  'alu64.sub.x': Op.FUSED_MOV64_SUB_X,
  'alu64.mul.k': Op.FUSED_MOV64_MUL_K,
  'alu64.mul.x': Op.FUSED_MOV64_MUL_X,
  'alu64.or.k': Op.FUSED_MOV64_OR_K,
  'alu64.or.x': Op.FUSED_MOV64_OR_X,
  'alu64.and.k': Op.FUSED_MOV64_AND_K,
  'alu64.and.x': Op.FUSED_MOV64_AND_X,
  'alu64.lsh.k': Op.FUSED_MOV64_LSH_K,
  'alu64.lsh.x': Op.FUSED_MOV64_LSH_X,
  'alu64.rsh.k': Op.FUSED_MOV64_RSH_K,
  'alu64.rsh.x': Op.FUSED_MOV64_RSH_X,
  'alu64.arsh.k': Op.FUSED_MOV64_ARSH_K,
  'alu64.arsh.x': Op.FUSED_MOV64_ARSH_X,
  'alu64.xor.k': Op.FUSED_MOV64_XOR_K,
  'alu64.xor.x': Op.FUSED_MOV64_XOR_X,
  'alu.add.k': Op.FUSED_MOV32_ADD_K,
  'alu.add.x': Op.FUSED_MOV32_ADD_X,
  'alu.sub.k': Op.FUSED_MOV32_SUB_K,
  'alu.sub.x': Op.FUSED_MOV32_SUB_X,
  'alu.mul.k': Op.FUSED_MOV32_MUL_K,
  'alu.mul.x': Op.FUSED_MOV32_MUL_X,
  'alu.or.k': Op.FUSED_MOV32_OR_K,
  'alu.or.x': Op.FUSED_MOV32_OR_X,
  'alu.and.k': Op.FUSED_MOV32_AND_K,
  'alu.and.x': Op.FUSED_MOV32_AND_X,
  'alu.lsh.k': Op.FUSED_MOV32_LSH_K,
  'alu.lsh.x': Op.FUSED_MOV32_LSH_X,
  'alu.rsh.k': Op.FUSED_MOV32_RSH_K,
  'alu.rsh.x': Op.FUSED_MOV32_RSH_X,
  'alu.arsh.k': Op.FUSED_MOV32_ARSH_K,
  'alu.arsh.x': Op.FUSED_MOV32_ARSH_X,
  'alu.xor.k': Op.FUSED_MOV32_XOR_K,
  'alu.xor.x': Op.FUSED_MOV32_XOR_X,
  'alu64.div.x': Op.FUSED_MOV64_DIV_X,
  'alu64.mod.x': Op.FUSED_MOV64_MOD_X,
};

/**
 * Two register moves in a row (any registers: the parallel copies a compiler leaves at the end of a loop
 * body), keyed by the second move's form id. Fused only where the second move does not start a pair itself.
 */
export const FUSED_MOV_MOV: Readonly<Record<string, number>> = {
  'alu64.mov.x': Op.FUSED_MOV64_MOV64_X,
};

/**
 * Two 64-bit adds in a row, the first with a register operand (any registers: an accumulator's update next to
 * a pointer's or a counter's step, or to another accumulator's), keyed by the second add's form id. Fused only
 * where neither add runs as part of another superinstruction.
 */
export const FUSED_ADD_ADD: Readonly<Record<string, number>> = {
  'alu64.add.k': Op.FUSED_ADD64X_ADD64K,
  'alu64.add.x': Op.FUSED_ADD64X_ADD64X,
};

/**
 * `mov dst, src; dst <<= 32; dst >>= 32`: dst = (u32) src, the zero-extension clang writes for a `u32` used
 * as a 64-bit value (an array index) when it may not use 32-bit moves (`-mcpu=v1/v2`). Keyed by the mov's form
 * id and fused at its slot (after FUSED_AFTER_MOV, whose mov + lsh it replaces there).
 */
export const FUSED_MOV_ZEXT: Readonly<Record<string, number>> = {
  'alu64.mov.x': Op.FUSED_MOV64_ZEXT32,
};

/**
 * `dst ^= a; dst *= b` (64-bit, register operands, same dst): the step of FNV-1a and of murmur-style mixes,
 * the usual inner loop of a hash. Keyed by the second instruction's form id; fused at the xor's slot.
 */
export const FUSED_XOR_MUL: Readonly<Record<string, number>> = {
  'alu64.mul.x': Op.FUSED_XOR64_MUL64_X,
};

/**
 * Superinstructions for loop tails: `add dst, imm` followed by a conditional jump of the same width (any
 * registers), keyed by the jump's form id. Not `jset`: a bit test right after an increment is rare, and every
 * case costs bytecode (see bytecode-size.test.ts).
 */
export const FUSED_AFTER_ADD_IMM: Readonly<Record<string, number>> = {
  'jmp.jeq.k': Op.FUSED_ADD64K_JEQ_K,
  'jmp.jeq.x': Op.FUSED_ADD64K_JEQ_X,
  'jmp.jne.k': Op.FUSED_ADD64K_JNE_K,
  'jmp.jne.x': Op.FUSED_ADD64K_JNE_X,
  'jmp.jgt.k': Op.FUSED_ADD64K_JGT_K,
  'jmp.jgt.x': Op.FUSED_ADD64K_JGT_X,
  'jmp.jge.k': Op.FUSED_ADD64K_JGE_K,
  'jmp.jge.x': Op.FUSED_ADD64K_JGE_X,
  'jmp.jlt.k': Op.FUSED_ADD64K_JLT_K,
  'jmp.jlt.x': Op.FUSED_ADD64K_JLT_X,
  'jmp.jle.k': Op.FUSED_ADD64K_JLE_K,
  'jmp.jle.x': Op.FUSED_ADD64K_JLE_X,
  'jmp.jsgt.k': Op.FUSED_ADD64K_JSGT_K,
  'jmp.jsgt.x': Op.FUSED_ADD64K_JSGT_X,
  'jmp.jsge.k': Op.FUSED_ADD64K_JSGE_K,
  'jmp.jsge.x': Op.FUSED_ADD64K_JSGE_X,
  'jmp.jslt.k': Op.FUSED_ADD64K_JSLT_K,
  'jmp.jslt.x': Op.FUSED_ADD64K_JSLT_X,
  'jmp.jsle.k': Op.FUSED_ADD64K_JSLE_K,
  'jmp.jsle.x': Op.FUSED_ADD64K_JSLE_X,
  'jmp32.jeq.k': Op.FUSED_ADD32K_JEQ_K,
  'jmp32.jeq.x': Op.FUSED_ADD32K_JEQ_X,
  'jmp32.jne.k': Op.FUSED_ADD32K_JNE_K,
  'jmp32.jne.x': Op.FUSED_ADD32K_JNE_X,
  'jmp32.jgt.k': Op.FUSED_ADD32K_JGT_K,
  'jmp32.jgt.x': Op.FUSED_ADD32K_JGT_X,
  'jmp32.jge.k': Op.FUSED_ADD32K_JGE_K,
  'jmp32.jge.x': Op.FUSED_ADD32K_JGE_X,
  'jmp32.jlt.k': Op.FUSED_ADD32K_JLT_K,
  'jmp32.jlt.x': Op.FUSED_ADD32K_JLT_X,
  'jmp32.jle.k': Op.FUSED_ADD32K_JLE_K,
  'jmp32.jle.x': Op.FUSED_ADD32K_JLE_X,
  'jmp32.jsgt.k': Op.FUSED_ADD32K_JSGT_K,
  'jmp32.jsgt.x': Op.FUSED_ADD32K_JSGT_X,
  'jmp32.jsge.k': Op.FUSED_ADD32K_JSGE_K,
  'jmp32.jsge.x': Op.FUSED_ADD32K_JSGE_X,
  'jmp32.jslt.k': Op.FUSED_ADD32K_JSLT_K,
  'jmp32.jslt.x': Op.FUSED_ADD32K_JSLT_X,
  'jmp32.jsle.k': Op.FUSED_ADD32K_JSLE_K,
  'jmp32.jsle.x': Op.FUSED_ADD32K_JSLE_X,
};

/**
 * Superinstructions for a whole loop tail: `add w, imm`, two 64-bit register moves (the parallel copies a
 * compiler leaves between a counter's increment and the loop's test), then the conditional jump on the counter
 * (any registers), keyed by the jump's form id and fused at the add's slot. Only the 32-bit `jne` with an
 * immediate: clang's test for a `u32` counter with a constant trip count. Each case costs about 550 bytes of
 * runSegment's bytecode, which has to stay under V8's limit (bytecode-size.test.ts).
 */
export const FUSED_LOOP_TAIL: Readonly<Record<string, number>> = {
  'jmp32.jne.k': Op.FUSED_ADD32K_MOV2_JNE_K,
};

/**
 * Superinstructions for the `base + index` load idiom: `mov dst, a; add dst, b; ldx x, [dst + off]`, keyed by
 * the load's form id. Fused at the mov's slot; the add and the load keep their own slots.
 */
export const FUSED_MOV_ADD_LOAD: Readonly<Record<string, number>> = {
  'ldx.mem.b': Op.FUSED_MOV64_ADD_X_LDX_B,
  'ldx.mem.h': Op.FUSED_MOV64_ADD_X_LDX_H,
  'ldx.mem.w': Op.FUSED_MOV64_ADD_X_LDX_W,
  'ldx.mem.dw': Op.FUSED_MOV64_ADD_X_LDX_DW,
};

/**
 * The same idiom without the mov (`add dst, b; ldx x, [dst + off]`, e.g. an index added to a stack or map
 * pointer), keyed by the load's form id and fused at the add's slot. Word and double-word loads only (arrays of
 * u32/u64): the op ids are 8 bits and these take the last two.
 */
export const FUSED_ADD_LOAD: Readonly<Record<string, number>> = {
  'ldx.mem.w': Op.FUSED_ADD64_X_LDX_W,
  'ldx.mem.dw': Op.FUSED_ADD64_X_LDX_DW,
};

/** Op id of slots no form maps to (the second slot of LD imm64): the switch has no case for it. */
const NO_OP = 0x1ff;

/** Every instruction form of the opcode table, by id, and the interpreter op that executes it. */
export const FORM_OPS: Readonly<Record<string, number>> = {
  'alu.add.k': Op.ALU_ADD_K,
  'alu.add.x': Op.ALU_ADD_X,
  'alu.sub.k': Op.ALU_SUB_K,
  'alu.sub.x': Op.ALU_SUB_X,
  'alu.mul.k': Op.ALU_MUL_K,
  'alu.mul.x': Op.ALU_MUL_X,
  'alu.div.k': Op.ALU_DIV_K,
  'alu.sdiv.k': Op.ALU_SDIV_K,
  'alu.div.x': Op.ALU_DIV_X,
  'alu.sdiv.x': Op.ALU_SDIV_X,
  'alu.or.k': Op.ALU_OR_K,
  'alu.or.x': Op.ALU_OR_X,
  'alu.and.k': Op.ALU_AND_K,
  'alu.and.x': Op.ALU_AND_X,
  'alu.lsh.k': Op.ALU_LSH_K,
  'alu.lsh.x': Op.ALU_LSH_X,
  'alu.rsh.k': Op.ALU_RSH_K,
  'alu.rsh.x': Op.ALU_RSH_X,
  'alu.mod.k': Op.ALU_MOD_K,
  'alu.smod.k': Op.ALU_SMOD_K,
  'alu.mod.x': Op.ALU_MOD_X,
  'alu.smod.x': Op.ALU_SMOD_X,
  'alu.xor.k': Op.ALU_XOR_K,
  'alu.xor.x': Op.ALU_XOR_X,
  'alu.mov.k': Op.ALU_MOV_K,
  'alu.mov.x': Op.ALU_MOV_X,
  'alu.movsx8.x': Op.ALU_MOVSX8_X,
  'alu.movsx16.x': Op.ALU_MOVSX16_X,
  'alu.arsh.k': Op.ALU_ARSH_K,
  'alu.arsh.x': Op.ALU_ARSH_X,
  'alu.neg': Op.ALU_NEG,
  'alu64.add.k': Op.ALU64_ADD_K,
  'alu64.add.x': Op.ALU64_ADD_X,
  'alu64.sub.k': Op.ALU64_SUB_K,
  'alu64.sub.x': Op.ALU64_SUB_X,
  'alu64.mul.k': Op.ALU64_MUL_K,
  'alu64.mul.x': Op.ALU64_MUL_X,
  'alu64.div.k': Op.ALU64_DIV_K,
  'alu64.sdiv.k': Op.ALU64_SDIV_K,
  'alu64.div.x': Op.ALU64_DIV_X,
  'alu64.sdiv.x': Op.ALU64_SDIV_X,
  'alu64.or.k': Op.ALU64_OR_K,
  'alu64.or.x': Op.ALU64_OR_X,
  'alu64.and.k': Op.ALU64_AND_K,
  'alu64.and.x': Op.ALU64_AND_X,
  'alu64.lsh.k': Op.ALU64_LSH_K,
  'alu64.lsh.x': Op.ALU64_LSH_X,
  'alu64.rsh.k': Op.ALU64_RSH_K,
  'alu64.rsh.x': Op.ALU64_RSH_X,
  'alu64.mod.k': Op.ALU64_MOD_K,
  'alu64.smod.k': Op.ALU64_SMOD_K,
  'alu64.mod.x': Op.ALU64_MOD_X,
  'alu64.smod.x': Op.ALU64_SMOD_X,
  'alu64.xor.k': Op.ALU64_XOR_K,
  'alu64.xor.x': Op.ALU64_XOR_X,
  'alu64.mov.k': Op.ALU64_MOV_K,
  'alu64.mov.x': Op.ALU64_MOV_X,
  'alu64.movsx8.x': Op.ALU64_MOVSX8_X,
  'alu64.movsx16.x': Op.ALU64_MOVSX16_X,
  'alu64.movsx32.x': Op.ALU64_MOVSX32_X,
  'alu64.arsh.k': Op.ALU64_ARSH_K,
  'alu64.arsh.x': Op.ALU64_ARSH_X,
  'alu64.neg': Op.ALU64_NEG,
  'end.le16': Op.END_LE16,
  'end.le32': Op.END_LE32,
  'end.le64': Op.END_LE64,
  'end.be16': Op.END_BE16,
  'end.be32': Op.END_BE32,
  'end.be64': Op.END_BE64,
  'end.bswap16': Op.END_BSWAP16,
  'end.bswap32': Op.END_BSWAP32,
  'end.bswap64': Op.END_BSWAP64,
  'jmp.ja': Op.JMP_JA,
  'jmp32.ja': Op.JMP_JA,
  'jmp.jeq.k': Op.JMP_JEQ_K,
  'jmp.jeq.x': Op.JMP_JEQ_X,
  'jmp.jgt.k': Op.JMP_JGT_K,
  'jmp.jgt.x': Op.JMP_JGT_X,
  'jmp.jge.k': Op.JMP_JGE_K,
  'jmp.jge.x': Op.JMP_JGE_X,
  'jmp.jset.k': Op.JMP_JSET_K,
  'jmp.jset.x': Op.JMP_JSET_X,
  'jmp.jne.k': Op.JMP_JNE_K,
  'jmp.jne.x': Op.JMP_JNE_X,
  'jmp.jsgt.k': Op.JMP_JSGT_K,
  'jmp.jsgt.x': Op.JMP_JSGT_X,
  'jmp.jsge.k': Op.JMP_JSGE_K,
  'jmp.jsge.x': Op.JMP_JSGE_X,
  'jmp.jlt.k': Op.JMP_JLT_K,
  'jmp.jlt.x': Op.JMP_JLT_X,
  'jmp.jle.k': Op.JMP_JLE_K,
  'jmp.jle.x': Op.JMP_JLE_X,
  'jmp.jslt.k': Op.JMP_JSLT_K,
  'jmp.jslt.x': Op.JMP_JSLT_X,
  'jmp.jsle.k': Op.JMP_JSLE_K,
  'jmp.jsle.x': Op.JMP_JSLE_X,
  'jmp32.jeq.k': Op.JMP32_JEQ_K,
  'jmp32.jeq.x': Op.JMP32_JEQ_X,
  'jmp32.jgt.k': Op.JMP32_JGT_K,
  'jmp32.jgt.x': Op.JMP32_JGT_X,
  'jmp32.jge.k': Op.JMP32_JGE_K,
  'jmp32.jge.x': Op.JMP32_JGE_X,
  'jmp32.jset.k': Op.JMP32_JSET_K,
  'jmp32.jset.x': Op.JMP32_JSET_X,
  'jmp32.jne.k': Op.JMP32_JNE_K,
  'jmp32.jne.x': Op.JMP32_JNE_X,
  'jmp32.jsgt.k': Op.JMP32_JSGT_K,
  'jmp32.jsgt.x': Op.JMP32_JSGT_X,
  'jmp32.jsge.k': Op.JMP32_JSGE_K,
  'jmp32.jsge.x': Op.JMP32_JSGE_X,
  'jmp32.jlt.k': Op.JMP32_JLT_K,
  'jmp32.jlt.x': Op.JMP32_JLT_X,
  'jmp32.jle.k': Op.JMP32_JLE_K,
  'jmp32.jle.x': Op.JMP32_JLE_X,
  'jmp32.jslt.k': Op.JMP32_JSLT_K,
  'jmp32.jslt.x': Op.JMP32_JSLT_X,
  'jmp32.jsle.k': Op.JMP32_JSLE_K,
  'jmp32.jsle.x': Op.JMP32_JSLE_X,
  'call.helper': Op.CALL_HELPER,
  'call.local': Op.CALL_LOCAL,
  'call.kfunc': Op.CALL_KFUNC,
  callx: Op.CALLX,
  exit: Op.EXIT,
  'jmp.may_goto': Op.JMP_MAY_GOTO,
  'ld.imm64.imm': Op.LD_IMM64_IMM,
  'ld.imm64.map_fd': Op.LD_IMM64_PSEUDO,
  'ld.imm64.map_value': Op.LD_IMM64_PSEUDO,
  'ld.imm64.btf_id': Op.LD_IMM64_PSEUDO,
  'ld.imm64.func': Op.LD_IMM64_PSEUDO,
  'ld.imm64.map_idx': Op.LD_IMM64_PSEUDO,
  'ld.imm64.map_idx_value': Op.LD_IMM64_PSEUDO,
  'ld.abs.w': Op.LD_ABS_W,
  'ld.abs.h': Op.LD_ABS_H,
  'ld.abs.b': Op.LD_ABS_B,
  'ld.ind.w': Op.LD_IND_W,
  'ld.ind.h': Op.LD_IND_H,
  'ld.ind.b': Op.LD_IND_B,
  'ldx.mem.b': Op.LDX_MEM_B,
  'ldx.memsx.b': Op.LDX_MEMSX_B,
  'st.mem.b': Op.ST_MEM_B,
  'stx.mem.b': Op.STX_MEM_B,
  'ldx.mem.h': Op.LDX_MEM_H,
  'ldx.memsx.h': Op.LDX_MEMSX_H,
  'st.mem.h': Op.ST_MEM_H,
  'stx.mem.h': Op.STX_MEM_H,
  'ldx.mem.w': Op.LDX_MEM_W,
  'ldx.memsx.w': Op.LDX_MEMSX_W,
  'st.mem.w': Op.ST_MEM_W,
  'stx.mem.w': Op.STX_MEM_W,
  'atomic.w.add': Op.ATOMIC_W_ADD,
  'atomic.w.fetch_add': Op.ATOMIC_W_FETCH_ADD,
  'atomic.w.or': Op.ATOMIC_W_OR,
  'atomic.w.fetch_or': Op.ATOMIC_W_FETCH_OR,
  'atomic.w.and': Op.ATOMIC_W_AND,
  'atomic.w.fetch_and': Op.ATOMIC_W_FETCH_AND,
  'atomic.w.xor': Op.ATOMIC_W_XOR,
  'atomic.w.fetch_xor': Op.ATOMIC_W_FETCH_XOR,
  'atomic.w.xchg': Op.ATOMIC_W_XCHG,
  'atomic.w.cmpxchg': Op.ATOMIC_W_CMPXCHG,
  'ldx.mem.dw': Op.LDX_MEM_DW,
  'st.mem.dw': Op.ST_MEM_DW,
  'stx.mem.dw': Op.STX_MEM_DW,
  'atomic.dw.add': Op.ATOMIC_DW_ADD,
  'atomic.dw.fetch_add': Op.ATOMIC_DW_FETCH_ADD,
  'atomic.dw.or': Op.ATOMIC_DW_OR,
  'atomic.dw.fetch_or': Op.ATOMIC_DW_FETCH_OR,
  'atomic.dw.and': Op.ATOMIC_DW_AND,
  'atomic.dw.fetch_and': Op.ATOMIC_DW_FETCH_AND,
  'atomic.dw.xor': Op.ATOMIC_DW_XOR,
  'atomic.dw.fetch_xor': Op.ATOMIC_DW_FETCH_XOR,
  'atomic.dw.xchg': Op.ATOMIC_DW_XCHG,
  'atomic.dw.cmpxchg': Op.ATOMIC_DW_CMPXCHG,
};

export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_RW = 3;

/**
 * Pre-decode validated instructions. `ldImm64` gives the 64-bit value of each LD imm64 (pseudo forms the
 * loader did not resolve are `undefined` and fault when executed). Jump and call targets are stored as pool
 * indexes (`base + 4 * slot`), which is what the interpreter's program counter counts. Also returns the
 * program's written-register mask (see regsWritten).
 */
export function compileInterp(
  insns: readonly Insn[],
  slotCount: number,
  ldImm64: (insn: Insn) => readonly [number, number] | undefined,
): { readonly base: number; readonly code: Int32Array; readonly writtenRegs: number } {
  const { base, view: code } = ownedBlock((slotCount + 1) * 4);
  let writtenRegs = 0;
  for (const insn of insns) writtenRegs |= regsWritten(insn);
  for (let i = 0; i < slotCount; i++) code[i * 4] = NO_OP;
  for (const insn of insns) {
    let op = FORM_OPS[insn.form.id];
    if (op === undefined) throw new Error(`interpreter: no op for instruction form '${insn.form.id}'`);
    const p = insn.slot * 4;
    let w1 = insn.off;
    let w2 = insn.imm;
    let w3 = insn.imm >> 31;
    switch (insn.form.kind) {
      case 'ja':
        w1 = base + 4 * (insn.slot + 1 + (insn.form.cls === 'jmp32' ? insn.imm : insn.off));
        break;
      case 'jmp':
      case 'jcond':
        w1 = base + 4 * (insn.slot + 1 + insn.off);
        break;
      case 'call':
        if (insn.form.id === 'call.local') w1 = base + 4 * (insn.slot + 1 + insn.imm);
        break;
      case 'ld_imm64': {
        const value = ldImm64(insn);
        if (value === undefined) {
          op = Op.LD_IMM64_PSEUDO;
          w1 = insn.src;
        } else {
          op = Op.LD_IMM64_IMM;
          [w2, w3] = value;
        }
        break;
      }
      default:
        break;
    }
    code[p] = op | ((insn.dst * 2) << 9) | ((insn.src * 2) << 17);
    code[p | 1] = w1;
    code[p | 2] = w2;
    code[p | 3] = w3;
  }
  code[slotCount * 4] = Op.FELL_OFF;
  // Superinstructions, rule by rule (a later rule may replace an earlier one's op at the same slot).
  for (const rule of FUSION_RULES) {
    for (let i = 0; i < insns.length; i++) {
      const fused = rule(insns, i, code);
      if (fused === undefined) continue;
      const p = insns[i]!.slot * 4;
      code[p] = (code[p]! & ~0x1ff) | fused;
    }
  }
  return { base, code, writtenRegs };
}

/**
 * A superinstruction rule: the fused op to run at the slot of `insns[i]` when the instructions from `i` on
 * match, else undefined. `code` holds the ops chosen so far (each slot's own op, or a fused one).
 */
type FusionRule = (insns: readonly Insn[], i: number, code: Int32Array) => number | undefined;

/** `first` then a form of `table`, both still running as their own plain ops (neither starts a fusion). */
function plainPair(first: string, firstOp: Op, table: Readonly<Record<string, number>>, secondOp: Op): FusionRule {
  return (insns, i, code) => {
    const a = insns[i]!;
    const b = insns[i + 1];
    const fused = b === undefined ? undefined : table[b.form.id];
    if (a.form.id !== first || b === undefined || fused === undefined) return undefined;
    const opAt = (slot: number) => (code[slot * 4]! & 0x1ff) as Op;
    return opAt(a.slot) === firstOp && opAt(b.slot) === secondOp ? fused : undefined;
  };
}

const FUSION_RULES: readonly FusionRule[] = [
  // mov dst, src; op dst, ... (same width).
  (insns, i) => {
    const mov = insns[i]!;
    const next = insns[i + 1];
    if (next === undefined || (mov.form.id !== 'alu64.mov.x' && mov.form.id !== 'alu.mov.x')) return undefined;
    return next.form.cls === mov.form.cls && next.dst === mov.dst ? FUSED_AFTER_MOV[next.form.id] : undefined;
  },
  // add dst, imm; conditional jump of the same width.
  (insns, i) => {
    const add = insns[i]!;
    const jump = insns[i + 1];
    if (jump === undefined) return undefined;
    const sameWidth = (add.form.id === 'alu64.add.k' && jump.form.cls === 'jmp') || (add.form.id === 'alu.add.k' && jump.form.cls === 'jmp32');
    return sameWidth ? FUSED_AFTER_ADD_IMM[jump.form.id] : undefined;
  },
  // add w, imm; mov; mov; jump.
  (insns, i) => {
    const jump = insns[i + 3];
    if (jump === undefined || insns[i]!.form.id !== 'alu.add.k' || insns[i + 1]!.form.id !== 'alu64.mov.x' || insns[i + 2]!.form.id !== 'alu64.mov.x')
      return undefined;
    return FUSED_LOOP_TAIL[jump.form.id];
  },
  // add dst, b; ldx x, [dst + off].
  (insns, i) => {
    const add = insns[i]!;
    const load = insns[i + 1];
    return load !== undefined && add.form.id === 'alu64.add.x' && load.src === add.dst ? FUSED_ADD_LOAD[load.form.id] : undefined;
  },
  // mov dst, a; add dst, b; ldx x, [dst + off].
  (insns, i) => {
    const mov = insns[i]!;
    const add = insns[i + 1];
    const load = insns[i + 2];
    if (add === undefined || load === undefined || mov.form.id !== 'alu64.mov.x' || add.form.id !== 'alu64.add.x') return undefined;
    return add.dst === mov.dst && load.src === mov.dst ? FUSED_MOV_ADD_LOAD[load.form.id] : undefined;
  },
  // dst ^= a; dst *= b.
  (insns, i) => {
    const xor = insns[i]!;
    const mul = insns[i + 1];
    return mul !== undefined && xor.form.id === 'alu64.xor.x' && mul.dst === xor.dst ? FUSED_XOR_MUL[mul.form.id] : undefined;
  },
  // mov dst, src; dst <<= 32; dst >>= 32.
  (insns, i) => {
    const mov = insns[i]!;
    const lsh = insns[i + 1];
    const rsh = insns[i + 2];
    if (lsh === undefined || rsh === undefined || lsh.form.id !== 'alu64.lsh.k' || rsh.form.id !== 'alu64.rsh.k') return undefined;
    return lsh.dst === mov.dst && rsh.dst === mov.dst && lsh.imm === 32 && rsh.imm === 32 ? FUSED_MOV_ZEXT[mov.form.id] : undefined;
  },
  plainPair('alu64.mov.x', Op.ALU64_MOV_X, FUSED_MOV_MOV, Op.ALU64_MOV_X),
  plainPair('alu64.add.x', Op.ALU64_ADD_X, FUSED_ADD_ADD, Op.ALU64_ADD_K),
  plainPair('alu64.add.x', Op.ALU64_ADD_X, FUSED_ADD_ADD, Op.ALU64_ADD_X),
];

/** Every register r0..r10. */
const ALL_REGS = 0x7ff;

/**
 * The registers `insn` may write, as a bit mask (bit n = rn), over-approximated: a call may also bring in
 * another program (a tail call) that writes anything, so it counts as writing every register. The repeat loop
 * uses the program's mask to reset only what a run can have changed.
 */
function regsWritten(insn: Insn): number {
  switch (insn.form.kind) {
    case 'alu':
    case 'neg':
    case 'movsx':
    case 'end':
    case 'ldx':
    case 'ldxsx':
    case 'ld_imm64':
      return 1 << insn.dst;
    case 'atomic':
      // FETCH forms and xchg write src; cmpxchg writes r0.
      return (1 << insn.src) | 1;
    case 'ld_abs':
    case 'ld_ind':
      // The legacy packet loads are calls in Linux: r0 is the result, r1..r5 are clobbered.
      return 0x3f;
    case 'call':
    case 'callx':
      return ALL_REGS;
    default:
      return 0;
  }
}

/** Outcomes of {@link runSegment}. */
const EXITED = 0;
const FAULTED = 1;
/** Control moved to another program (a tail call, or a return into a caller running another program). */
const SWITCHED = 2;
/** Results of the out-of-line `runCold` besides a next pc (>= 0): the run faulted, or a helper ended it. */
const COLD_FAULT = -1;
const COLD_EXIT = -2;

/**
 * Words of a level's register block (engine-state.ts: 32 words; r0..r10 take 0..21) that hold the state of a
 * repeat loop (runRepeat): the runs' r1 and r2 as (lo, hi) words, how many runs of the current chunk are left
 * including the current one, and r10 of the entry frame. The dispatch loop reads them at an exit of the entry
 * program to start the next run in place.
 */
const REPEAT_R1 = 24;
const REPEAT_R2 = 26;
const REPEAT_LEFT = 28;
const REPEAT_R10 = 30;

/**
 * About how many instructions one call of runSegment runs in place before a repeat loop returns to JavaScript
 * (runRepeat sizes its chunks of runs by it). Coming back lets a long loop pick up runSegment's optimized code
 * as soon as TurboFan has it (the running unoptimized call would keep going until the loop ends), and keeps
 * the chunk's run count, an int32 word of the pool, far from overflowing whatever `repeat` is.
 */
export const REPEAT_CHUNK_INSNS = 1 << 20;

/**
 * The size of the next chunk of a repeat loop of `repeat` runs with `done` made, when a run executes `executed`
 * instructions: about REPEAT_CHUNK_INSNS instructions' worth, at least one run, never more than are left.
 * Always below 2^31 (the pool word that counts it is an int32), whatever `repeat` is.
 */
export function nextRepeatChunk(done: number, repeat: number, executed: number): number {
  const perChunk = Math.floor(REPEAT_CHUNK_INSNS / (executed > 0 ? executed : 1));
  const left = repeat - done;
  return perChunk < 1 ? 1 : perChunk < left ? perChunk : left;
}

/**
 * Run `entry` on `st` from slot 0 with the registers already set up. Returns true when the program exited
 * (r0 in `st.registers`), false on a fault (`st.fault`). `st.executed` is the number of instructions run.
 */
export function interpret(st: EngineState, entry: Program): boolean {
  POOL[st.regBase + REPEAT_LEFT] = 0;
  startRun(st, entry);
  for (;;) {
    const status = interpreter.runSegment(st, st.running ?? entry);
    if (status !== SWITCHED) return status === EXITED;
  }
}

/** The engine state a run starts with: `entry` at slot 0 of the level's entry frame, nothing executed, a fresh may_goto counter. */
function startRun(st: EngineState, entry: Program): void {
  st.running = entry;
  st.resumeAt = entry.codeBase;
  st.executed = 0;
  st.depth = st.baseDepth;
  st.loops = BPF_MAX_LOOPS;
}

const interpreter = createInterpreter();

/**
 * Run `entry` up to `repeat` times (any count up to 2^53; BPF_PROG_TEST_RUN's is a u32), each run with fresh
 * registers: r1 and r2 from the (lo, hi) words given, r10 the entry frame's top, every other register zero,
 * and fresh per-run state (`st.resetRunState`). Stops after the first fault. Returns the number of runs made;
 * `st.fault` says whether the last one faulted. This is `Vm.run` (repeat 1) and `Vm.runRepeat` on the
 * interpreter: setting the registers up through the constant pool costs a few nanoseconds instead of the ~15
 * a store through a register view per register costs.
 */
export function interpretRepeat(st: EngineState, entry: Program, r1Lo: number, r1Hi: number, r2Lo: number, r2Hi: number, repeat: number): number {
  // One run (all of Vm.run) is one chunk: no chunking loop around it.
  return repeat === 1 ? interpreter.runChunk(st, entry, r1Lo, r1Hi, r2Lo, r2Hi, 1) : interpreter.runRepeat(st, entry, r1Lo, r1Hi, r2Lo, r2Hi, repeat);
}

/**
 * The dispatch loop and its out-of-line parts, closed over the word pool. `E` is a constant of a closure
 * created once, which V8 folds into the machine code (map, length and data pointer), unlike a module-level
 * binding (bundlers turn top-level `const` into `var`) or an array passed in: see pool.ts.
 */
function createInterpreter(): {
  runSegment: (st: EngineState, prog: Program) => number;
  runRepeat: (st: EngineState, entry: Program, r1Lo: number, r1Hi: number, r2Lo: number, r2Hi: number, repeat: number) => number;
  runChunk: (st: EngineState, entry: Program, r1Lo: number, r1Hi: number, r2Lo: number, r2Hi: number, n: number) => number;
} {
  const pool = POOL;
  // Module-level constants used in the loop, as constants of this closure: a bundler turns top-level `const`
  // into `var`, which optimized code reloads (and type-checks) on every use; these TurboFan folds.
  const QEPS = QUOTIENT_EPS;
  const QEPS_HI = 1 - QUOTIENT_EPS;
  const RLEFT = REPEAT_LEFT;
  const RR1 = REPEAT_R1;
  const RR2 = REPEAT_R2;
  const RR10 = REPEAT_R10;
  const MAX_LOOPS = BPF_MAX_LOOPS;
  return { runSegment, runRepeat, runChunk };

  /**
   * The runs go in chunks: runSegment restarts the entry program in place for the runs of one chunk and
   * returns after it (see REPEAT_CHUNK_INSNS). The first chunk is one run (all of `Vm.run`); its instruction
   * count sizes the next ones.
   */
  function runRepeat(st: EngineState, entry: Program, r1Lo: number, r1Hi: number, r2Lo: number, r2Hi: number, repeat: number): number {
    let done = runChunk(st, entry, r1Lo, r1Hi, r2Lo, r2Hi, 1);
    while (done < repeat && st.fault === null) done += runChunk(st, entry, r1Lo, r1Hi, r2Lo, r2Hi, nextRepeatChunk(done, repeat, st.executed));
    return done;
  }

  /** `n` runs (1 <= n < 2^31) of a repeat loop; returns how many were made (fewer after a fault). */
  function runChunk(st: EngineState, entry: Program, r1Lo: number, r1Hi: number, r2Lo: number, r2Hi: number, n: number): number {
    const E = pool;
    const rb = st.regBase | 0;
    const top = st.frameTop;
    E[rb + RR1] = r1Lo;
    E[rb + RR1 + 1] = r1Hi;
    E[rb + RR2] = r2Lo;
    E[rb + RR2 + 1] = r2Hi;
    E[rb + RR10] = top;
    E[rb + RLEFT] = n;
    st.repeatEntry = entry;
    for (;;) {
      E[rb] = 0;
      E[rb + 1] = 0;
      E[rb + 2] = r1Lo;
      E[rb + 3] = r1Hi;
      E[rb + 4] = r2Lo;
      E[rb + 5] = r2Hi;
      // Written out: a loop here cost ~6 ns per run (TurboFan does not unroll it).
      E[rb + 6] = 0;
      E[rb + 7] = 0;
      E[rb + 8] = 0;
      E[rb + 9] = 0;
      E[rb + 10] = 0;
      E[rb + 11] = 0;
      E[rb + 12] = 0;
      E[rb + 13] = 0;
      E[rb + 14] = 0;
      E[rb + 15] = 0;
      E[rb + 16] = 0;
      E[rb + 17] = 0;
      E[rb + 18] = 0;
      E[rb + 19] = 0;
      E[rb + 20] = top;
      E[rb + 21] = 0;
      st.resetRunState();
      startRun(st, entry);
      // Runs that end where they started (the entry program in its entry frame) go on in place inside
      // runSegment; it returns after the chunk's last run, at a fault, or when a run ended in another program
      // (a tail call).
      let status = runSegment(st, entry);
      while (status === SWITCHED) status = runSegment(st, st.running ?? entry);
      if (status !== EXITED || E[rb + RLEFT]! <= 1) break;
      E[rb + RLEFT] = E[rb + RLEFT]! - 1;
    }
    const runs = n - E[rb + RLEFT]! + 1;
    E[rb + RLEFT] = 0;
    st.repeatEntry = null;
    return runs;
  }

  /**
   * Execute `prog` from `st.resumeAt` (a pool index) until it exits, faults or hands control to another
   * program. Only what most instructions need is kept in locals (V8 keeps them in machine registers across
   * the switch); call-frame state (depth, may_goto counter) lives in the engine state and is touched only by calls,
   * exits, tail calls and may_goto. Integer arithmetic is written with `| 0` so that TurboFan uses plain
   * 32-bit operations without overflow checks.
   */
  function runSegment(st: EngineState, prog: Program): number {
    // A local copy of the closure's constant: TurboFan still sees the constant, and the bytecode of each access
    // is a register read instead of a context-slot load (the function has to stay under V8's 60 KiB limit).
    const E = pool;
    const rb = st.regBase | 0;
    const cb = prog.codeBase | 0;
    // Every number kept across the loop is made an int32 here: a value TurboFan only knows as "a number" is
    // re-checked (Smi or not) on every iteration. Instruction counts are int32 (a budget above 2^31 - 1 is
    // capped, as in the JIT).
    const limit = (st.budget > 0x7fffffff ? 0x7fffffff : st.budget) | 0;
    let dv = st.mem.dataView;
    let p = st.resumeAt | 0;
    // Instructions this run may still execute: counting down keeps one number in a register instead of two
    // (the count so far and the budget); st.executed is `limit - fuel`.
    let fuel = (limit - st.executed) | 0;
    // Live stack: the frames of the current call chain, [sLo, sHi).
    const sHi = st.stackTop | 0;
    let sLo = (sHi - (st.depth + 1) * STACK_FRAME_SIZE) | 0;
    // Last region hit by a read and by a write (never the stack, which is checked first).
    let rLo = 0;
    let rHi = 0;
    let wLo = 0;
    let wHi = 0;
    for (;;) {
      const w = E[p]!;
      // The register operands' pool indexes, for every case (dst at bits 9-16, src at 17-24, both times 2).
      const dw = (rb + ((w >> 9) & 0xff)) | 0;
      const sw = (rb + (w >>> 17)) | 0;
      fuel = (fuel - 1) | 0;
      if (fuel < 0) {
        st.executed = limit;
        st.setFault('budget', (p - cb) >> 2, { detail: limit });
        return FAULTED;
      }
      switch ((w & 0x1ff) as Op) {
        case Op.ALU_ADD_K: {
          const d = dw;
          const bl = E[p | 2]!;
          E[d] = (E[d]! + bl) | 0;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_SUB_K: {
          const d = dw;
          const bl = E[p | 2]!;
          E[d] = (E[d]! - bl) | 0;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_MUL_K: {
          const d = dw;
          const bl = E[p | 2]!;
          E[d] = Math.imul(E[d]!, bl);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_OR_K: {
          const d = dw;
          const bl = E[p | 2]!;
          E[d] = E[d]! | bl;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_AND_K: {
          const d = dw;
          const bl = E[p | 2]!;
          E[d] = E[d]! & bl;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_XOR_K: {
          const d = dw;
          const bl = E[p | 2]!;
          E[d] = E[d]! ^ bl;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_MOV_K: {
          const d = dw;
          const bl = E[p | 2]!;
          E[d] = bl;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_LSH_K: {
          const d = dw;
          const bl = E[p | 2]!;
          E[d] = E[d]! << (bl & 31);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_RSH_K: {
          const d = dw;
          const bl = E[p | 2]!;
          E[d] = E[d]! >>> (bl & 31);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_ARSH_K: {
          const d = dw;
          const bl = E[p | 2]!;
          E[d] = E[d]! >> (bl & 31);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        // 64-bit add and subtract carry between the words with bit arithmetic (the carry out of the low words is
        // the top bit of (a & b) | ((a | b) & ~sum), the borrow that of (~a & b) | (~(a ^ b) & diff)): a
        // comparison here compiles to a branch, which random operands mispredict half the time.
        case Op.ALU64_ADD_K: {
          const d = dw;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          const al = E[d]!;
          const lo = (al + bl) | 0;
          E[d + 1] = (E[d + 1]! + bh + (((al & bl) | ((al | bl) & ~lo)) >>> 31)) | 0;
          E[d] = lo;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_SUB_K: {
          const d = dw;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          const al = E[d]!;
          E[d + 1] = (E[d + 1]! - bh - (((~al & bl) | (~(al ^ bl) & (al - bl))) >>> 31)) | 0;
          E[d] = (al - bl) | 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_MUL_K: {
          const d = dw;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          // 64-bit product, low 64 bits: 16-bit limbs for the high word of lo*lo (every partial sum stays exact).
          const al = E[d]!;
          const aL = al & 0xffff;
          const aH = al >>> 16;
          const bL = bl & 0xffff;
          const bH = bl >>> 16;
          const lh = aL * bH;
          const hl = aH * bL;
          const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
          E[d + 1] = (aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16) + Math.imul(al, bh) + Math.imul(E[d + 1]!, bl)) | 0;
          E[d] = Math.imul(al, bl);
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_OR_K: {
          const d = dw;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          E[d] = E[d]! | bl;
          E[d + 1] = E[d + 1]! | bh;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_AND_K: {
          const d = dw;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          E[d] = E[d]! & bl;
          E[d + 1] = E[d + 1]! & bh;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_XOR_K: {
          const d = dw;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          E[d] = E[d]! ^ bl;
          E[d + 1] = E[d + 1]! ^ bh;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_MOV_K: {
          const d = dw;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          E[d] = bl;
          E[d + 1] = bh;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_LSH_K: {
          const d = dw;
          const bl = E[p | 2]!;
          const n = bl & 63;
          const lo = E[d]!;
          if (n >= 32) {
            E[d + 1] = lo << (n - 32);
            E[d] = 0;
          } else if (n !== 0) {
            E[d + 1] = (E[d + 1]! << n) | (lo >>> (32 - n));
            E[d] = lo << n;
          }
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_RSH_K: {
          const d = dw;
          const bl = E[p | 2]!;
          const n = bl & 63;
          const hi = E[d + 1]!;
          if (n >= 32) {
            E[d] = hi >>> (n - 32);
            E[d + 1] = 0;
          } else if (n !== 0) {
            E[d] = (E[d]! >>> n) | (hi << (32 - n));
            E[d + 1] = hi >>> n;
          }
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_ARSH_K: {
          const d = dw;
          const bl = E[p | 2]!;
          const n = bl & 63;
          const hi = E[d + 1]!;
          if (n >= 32) {
            E[d] = hi >> (n - 32);
            E[d + 1] = hi >> 31;
          } else if (n !== 0) {
            E[d] = (E[d]! >>> n) | (hi << (32 - n));
            E[d + 1] = hi >> n;
          }
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_ADD_X: {
          const d = dw;
          const bl = E[sw]!;
          E[d] = (E[d]! + bl) | 0;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_SUB_X: {
          const d = dw;
          const bl = E[sw]!;
          E[d] = (E[d]! - bl) | 0;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_MUL_X: {
          const d = dw;
          const bl = E[sw]!;
          E[d] = Math.imul(E[d]!, bl);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_DIV_X: {
          const d = dw;
          // Unsigned 32-bit division as TurboFan compiles it to a machine divide: both operands uint32, the
          // result truncated. Division by zero gives Infinity, which `>>> 0` turns into 0, as BPF wants.
          E[d] = (E[d]! >>> 0) / (E[sw]! >>> 0);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_MOD_X: {
          const d = dw;
          const bl = E[sw]!;
          // Modulo by zero leaves dst unchanged (then zero-extended).
          if (bl !== 0) E[d] = (E[d]! >>> 0) % (bl >>> 0);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_OR_X: {
          const d = dw;
          const bl = E[sw]!;
          E[d] = E[d]! | bl;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_AND_X: {
          const d = dw;
          const bl = E[sw]!;
          E[d] = E[d]! & bl;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_XOR_X: {
          const d = dw;
          const bl = E[sw]!;
          E[d] = E[d]! ^ bl;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_MOV_X: {
          const d = dw;
          const bl = E[sw]!;
          E[d] = bl;
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_LSH_X: {
          const d = dw;
          const bl = E[sw]!;
          E[d] = E[d]! << (bl & 31);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_RSH_X: {
          const d = dw;
          const bl = E[sw]!;
          E[d] = E[d]! >>> (bl & 31);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU_ARSH_X: {
          const d = dw;
          const bl = E[sw]!;
          E[d] = E[d]! >> (bl & 31);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_ADD_X: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = E[d]!;
          const lo = (al + bl) | 0;
          E[d + 1] = (E[d + 1]! + bh + (((al & bl) | ((al | bl) & ~lo)) >>> 31)) | 0;
          E[d] = lo;
          p = (p + 4) | 0;
          break;
        }
        case Op.FUSED_ADD64X_ADD64K: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const al = E[d]!;
          const lo = (al + bl) | 0;
          E[d + 1] = (E[d + 1]! + E[s + 1]! + (((al & bl) | ((al | bl) & ~lo)) >>> 31)) | 0;
          E[d] = lo;
          if (fuel <= 0) {
            // The second add would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const d2 = (rb + ((E[q]! >> 9) & 0xff)) | 0;
          const kl = E[q | 2]!;
          const a2 = E[d2]!;
          const lo2 = (a2 + kl) | 0;
          E[d2 + 1] = (E[d2 + 1]! + E[q | 3]! + (((a2 & kl) | ((a2 | kl) & ~lo2)) >>> 31)) | 0;
          E[d2] = lo2;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64X_ADD64X: {
          const bl = E[sw]!;
          const al = E[dw]!;
          const lo = (al + bl) | 0;
          E[dw + 1] = (E[dw + 1]! + E[sw + 1]! + (((al & bl) | ((al | bl) & ~lo)) >>> 31)) | 0;
          E[dw] = lo;
          if (fuel <= 0) {
            // The second add would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const w2 = E[(p + 4) | 0]!;
          const d2 = (rb + ((w2 >> 9) & 0xff)) | 0;
          const s2 = (rb + (w2 >>> 17)) | 0;
          const cl = E[s2]!;
          const a2 = E[d2]!;
          const lo2 = (a2 + cl) | 0;
          E[d2 + 1] = (E[d2 + 1]! + E[s2 + 1]! + (((a2 & cl) | ((a2 | cl) & ~lo2)) >>> 31)) | 0;
          E[d2] = lo2;
          p = (p + 8) | 0;
          break;
        }
        case Op.ALU64_SUB_X: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = E[d]!;
          E[d + 1] = (E[d + 1]! - bh - (((~al & bl) | (~(al ^ bl) & (al - bl))) >>> 31)) | 0;
          E[d] = (al - bl) | 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_MUL_X: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          // 64-bit product, low 64 bits: 16-bit limbs for the high word of lo*lo (every partial sum stays exact).
          const al = E[d]!;
          const aL = al & 0xffff;
          const aH = al >>> 16;
          const bL = bl & 0xffff;
          const bH = bl >>> 16;
          const lh = aL * bH;
          const hl = aH * bL;
          const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
          E[d + 1] = (aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16) + Math.imul(al, bh) + Math.imul(E[d + 1]!, bl)) | 0;
          E[d] = Math.imul(al, bl);
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_DIV_X: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = E[d]!;
          const ah = E[d + 1]!;
          if ((bh | ah) === 0) {
            // Both operands below 2^32 (see ALU_DIV_X; a zero divisor gives 0).
            E[d] = (al >>> 0) / (bl >>> 0);
          } else {
            // The double quotient x is within 2^-19 of n / d when that is below 2^32 (three roundings of
            // relative error 2^-53): unless x is that close to an integer, its floor is the exact quotient.
            // (A quotient of 2^32 or more fails the test too: `x >>> 0` wraps, and f is then at least 1.)
            const x = ((ah >>> 0) * 4294967296 + (al >>> 0)) / ((bh >>> 0) * 4294967296 + (bl >>> 0));
            const q = x >>> 0;
            const f = x - q;
            if (f > QEPS && f < QEPS_HI) {
              E[d] = q;
              E[d + 1] = 0;
            } else if ((bl | bh) === 0) {
              E[d] = 0;
              E[d + 1] = 0;
            } else {
              udiv64(al, ah, bl, bh);
              E[d] = WIDE[0]!;
              E[d + 1] = WIDE[1]!;
            }
          }
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_MOD_X: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = E[d]!;
          const ah = E[d + 1]!;
          if ((bh | ah) === 0) {
            // Modulo by zero leaves dst unchanged.
            if (bl !== 0) E[d] = (al >>> 0) % (bl >>> 0);
          } else {
            // As in ALU64_DIV_X. With the exact quotient q, r = n - q·d: its low word exactly by imul, its high
            // word from the double n - q·d (within 2^13 of r, as q·|D - d| <= n·2^-53), rounded.
            const n = (ah >>> 0) * 4294967296 + (al >>> 0);
            const dd = (bh >>> 0) * 4294967296 + (bl >>> 0);
            const x = n / dd;
            const q = x >>> 0;
            const f = x - q;
            if (f > QEPS && f < QEPS_HI) {
              const rLo = (al - Math.imul(q, bl)) >>> 0;
              E[d] = rLo;
              E[d + 1] = ((n - q * dd - rLo) * 2.3283064365386963e-10 + 0.5) >>> 0;
            } else if ((bl | bh) !== 0) {
              udiv64(al, ah, bl, bh);
              E[d] = WIDE[2]!;
              E[d + 1] = WIDE[3]!;
            }
          }
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_OR_X: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          E[d] = E[d]! | bl;
          E[d + 1] = E[d + 1]! | bh;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_AND_X: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          E[d] = E[d]! & bl;
          E[d + 1] = E[d + 1]! & bh;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_XOR_X: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          E[d] = E[d]! ^ bl;
          E[d + 1] = E[d + 1]! ^ bh;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_MOV_X: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          E[d] = bl;
          E[d + 1] = bh;
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_LSH_X: {
          const d = dw;
          const bl = E[sw]!;
          const n = bl & 63;
          const lo = E[d]!;
          if (n >= 32) {
            E[d + 1] = lo << (n - 32);
            E[d] = 0;
          } else if (n !== 0) {
            E[d + 1] = (E[d + 1]! << n) | (lo >>> (32 - n));
            E[d] = lo << n;
          }
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_RSH_X: {
          const d = dw;
          const bl = E[sw]!;
          const n = bl & 63;
          const hi = E[d + 1]!;
          if (n >= 32) {
            E[d] = hi >>> (n - 32);
            E[d + 1] = 0;
          } else if (n !== 0) {
            E[d] = (E[d]! >>> n) | (hi << (32 - n));
            E[d + 1] = hi >>> n;
          }
          p = (p + 4) | 0;
          break;
        }
        case Op.ALU64_ARSH_X: {
          const d = dw;
          const bl = E[sw]!;
          const n = bl & 63;
          const hi = E[d + 1]!;
          if (n >= 32) {
            E[d] = hi >> (n - 32);
            E[d + 1] = hi >> 31;
          } else if (n !== 0) {
            E[d] = (E[d]! >>> n) | (hi << (32 - n));
            E[d + 1] = hi >> n;
          }
          p = (p + 4) | 0;
          break;
        }
        case Op.END_BE16:
        case Op.END_BSWAP16: {
          const d = dw;
          const v = E[d]!;
          E[d] = ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.END_BE32:
        case Op.END_BSWAP32: {
          const d = dw;
          const v = E[d]!;
          E[d] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.END_BE64:
        case Op.END_BSWAP64: {
          const d = dw;
          const lo = E[d]!;
          const hi = E[d + 1]!;
          E[d] = (hi << 24) | ((hi & 0xff00) << 8) | ((hi >>> 8) & 0xff00) | (hi >>> 24);
          E[d + 1] = (lo << 24) | ((lo & 0xff00) << 8) | ((lo >>> 8) & 0xff00) | (lo >>> 24);
          p = (p + 4) | 0;
          break;
        }
        case Op.JMP_JA:
          p = E[p | 1]!;
          break;
        case Op.JMP_JEQ_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = al === bl && ah === bh ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JNE_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = al !== bl || ah !== bh ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JSET_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = (al & bl) !== 0 || (ah & bh) !== 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JGT_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = ah >>> 0 > bh >>> 0 || (ah === bh && al >>> 0 > bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JGE_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = ah >>> 0 > bh >>> 0 || (ah === bh && al >>> 0 >= bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JLT_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 < bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JLE_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 <= bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JSGT_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = ah > bh || (ah === bh && al >>> 0 > bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JSGE_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = ah > bh || (ah === bh && al >>> 0 >= bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JSLT_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = ah < bh || (ah === bh && al >>> 0 < bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JSLE_K: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const bl = E[p | 2]!;
          const bh = E[p | 3]!;
          p = ah < bh || (ah === bh && al >>> 0 <= bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JEQ_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = al === bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JNE_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = al !== bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JSET_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = (al & bl) !== 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JGT_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = al >>> 0 > bl >>> 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JGE_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = al >>> 0 >= bl >>> 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JLT_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = al >>> 0 < bl >>> 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JLE_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = al >>> 0 <= bl >>> 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JSGT_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = al > bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JSGE_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = al >= bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JSLT_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = al < bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JSLE_K: {
          const al = E[dw]!;
          const bl = E[p | 2]!;
          p = al <= bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JEQ_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = al === bl && ah === bh ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JNE_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = al !== bl || ah !== bh ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JSET_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = (al & bl) !== 0 || (ah & bh) !== 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JGT_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah >>> 0 > bh >>> 0 || (ah === bh && al >>> 0 > bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JGE_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah >>> 0 > bh >>> 0 || (ah === bh && al >>> 0 >= bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JLT_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 < bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JLE_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 <= bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JSGT_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah > bh || (ah === bh && al >>> 0 > bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JSGE_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah > bh || (ah === bh && al >>> 0 >= bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JSLT_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah < bh || (ah === bh && al >>> 0 < bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP_JSLE_X: {
          const d = dw;
          const al = E[d]!;
          const ah = E[d + 1]!;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah < bh || (ah === bh && al >>> 0 <= bl >>> 0) ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JEQ_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = al === bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JNE_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = al !== bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JSET_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = (al & bl) !== 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JGT_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = al >>> 0 > bl >>> 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JGE_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = al >>> 0 >= bl >>> 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JLT_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = al >>> 0 < bl >>> 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JLE_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = al >>> 0 <= bl >>> 0 ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JSGT_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = al > bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JSGE_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = al >= bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JSLT_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = al < bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.JMP32_JSLE_X: {
          const al = E[dw]!;
          const bl = E[sw]!;
          p = al <= bl ? E[p | 1]! : (p + 4) | 0;
          break;
        }
        case Op.LDX_MEM_B: {
          const s = sw;
          let a = (E[s]! >>> 0) + E[p | 1]!;
          if (E[s + 1]! !== 0 || ((a < sLo || a + 1 > sHi) && (a < rLo || a + 1 > rHi))) {
            a = st.resolveAccess(E[s]!, E[s + 1]!, E[p | 1]!, 1, PERM_READ, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            rLo = st.cacheLo >>> 0;
            rHi = st.cacheHi >>> 0;
          }
          const d = dw;
          E[d] = dv.getUint8(a);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.LDX_MEM_H: {
          const s = sw;
          let a = (E[s]! >>> 0) + E[p | 1]!;
          if (E[s + 1]! !== 0 || ((a < sLo || a + 2 > sHi) && (a < rLo || a + 2 > rHi))) {
            a = st.resolveAccess(E[s]!, E[s + 1]!, E[p | 1]!, 2, PERM_READ, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            rLo = st.cacheLo >>> 0;
            rHi = st.cacheHi >>> 0;
          }
          const d = dw;
          E[d] = dv.getUint16(a, true);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.LDX_MEM_W: {
          const s = sw;
          let a = (E[s]! >>> 0) + E[p | 1]!;
          if (E[s + 1]! !== 0 || ((a < sLo || a + 4 > sHi) && (a < rLo || a + 4 > rHi))) {
            a = st.resolveAccess(E[s]!, E[s + 1]!, E[p | 1]!, 4, PERM_READ, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            rLo = st.cacheLo >>> 0;
            rHi = st.cacheHi >>> 0;
          }
          const d = dw;
          E[d] = dv.getInt32(a, true);
          E[d + 1] = 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.LDX_MEM_DW: {
          const s = sw;
          let a = (E[s]! >>> 0) + E[p | 1]!;
          if (E[s + 1]! !== 0 || ((a < sLo || a + 8 > sHi) && (a < rLo || a + 8 > rHi))) {
            a = st.resolveAccess(E[s]!, E[s + 1]!, E[p | 1]!, 8, PERM_READ, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            rLo = st.cacheLo >>> 0;
            rHi = st.cacheHi >>> 0;
          }
          const d = dw;
          E[d] = dv.getInt32(a, true);
          E[d + 1] = dv.getInt32(a + 4, true);
          p = (p + 4) | 0;
          break;
        }
        case Op.ST_MEM_B: {
          const d = dw;
          let a = (E[d]! >>> 0) + E[p | 1]!;
          if (E[d + 1]! !== 0 || ((a < sLo || a + 1 > sHi) && (a < wLo || a + 1 > wHi))) {
            a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 1, PERM_WRITE, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            wLo = st.cacheLo >>> 0;
            wHi = st.cacheHi >>> 0;
          }
          dv.setUint8(a, E[p | 2]!);
          p = (p + 4) | 0;
          break;
        }
        case Op.STX_MEM_B: {
          const d = dw;
          let a = (E[d]! >>> 0) + E[p | 1]!;
          if (E[d + 1]! !== 0 || ((a < sLo || a + 1 > sHi) && (a < wLo || a + 1 > wHi))) {
            a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 1, PERM_WRITE, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            wLo = st.cacheLo >>> 0;
            wHi = st.cacheHi >>> 0;
          }
          const s = sw;
          dv.setUint8(a, E[s]!);
          p = (p + 4) | 0;
          break;
        }
        case Op.ST_MEM_H: {
          const d = dw;
          let a = (E[d]! >>> 0) + E[p | 1]!;
          if (E[d + 1]! !== 0 || ((a < sLo || a + 2 > sHi) && (a < wLo || a + 2 > wHi))) {
            a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 2, PERM_WRITE, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            wLo = st.cacheLo >>> 0;
            wHi = st.cacheHi >>> 0;
          }
          dv.setUint16(a, E[p | 2]!, true);
          p = (p + 4) | 0;
          break;
        }
        case Op.STX_MEM_H: {
          const d = dw;
          let a = (E[d]! >>> 0) + E[p | 1]!;
          if (E[d + 1]! !== 0 || ((a < sLo || a + 2 > sHi) && (a < wLo || a + 2 > wHi))) {
            a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 2, PERM_WRITE, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            wLo = st.cacheLo >>> 0;
            wHi = st.cacheHi >>> 0;
          }
          const s = sw;
          dv.setUint16(a, E[s]!, true);
          p = (p + 4) | 0;
          break;
        }
        case Op.ST_MEM_W: {
          const d = dw;
          let a = (E[d]! >>> 0) + E[p | 1]!;
          if (E[d + 1]! !== 0 || ((a < sLo || a + 4 > sHi) && (a < wLo || a + 4 > wHi))) {
            a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_WRITE, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            wLo = st.cacheLo >>> 0;
            wHi = st.cacheHi >>> 0;
          }
          dv.setInt32(a, E[p | 2]!, true);
          p = (p + 4) | 0;
          break;
        }
        case Op.STX_MEM_W: {
          const d = dw;
          let a = (E[d]! >>> 0) + E[p | 1]!;
          if (E[d + 1]! !== 0 || ((a < sLo || a + 4 > sHi) && (a < wLo || a + 4 > wHi))) {
            a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_WRITE, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            wLo = st.cacheLo >>> 0;
            wHi = st.cacheHi >>> 0;
          }
          const s = sw;
          dv.setInt32(a, E[s]!, true);
          p = (p + 4) | 0;
          break;
        }
        case Op.ST_MEM_DW: {
          const d = dw;
          let a = (E[d]! >>> 0) + E[p | 1]!;
          if (E[d + 1]! !== 0 || ((a < sLo || a + 8 > sHi) && (a < wLo || a + 8 > wHi))) {
            a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_WRITE, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            wLo = st.cacheLo >>> 0;
            wHi = st.cacheHi >>> 0;
          }
          dv.setInt32(a, E[p | 2]!, true);
          dv.setInt32(a + 4, E[p | 3]!, true);
          p = (p + 4) | 0;
          break;
        }
        case Op.STX_MEM_DW: {
          const d = dw;
          let a = (E[d]! >>> 0) + E[p | 1]!;
          if (E[d + 1]! !== 0 || ((a < sLo || a + 8 > sHi) && (a < wLo || a + 8 > wHi))) {
            a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_WRITE, (p - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            wLo = st.cacheLo >>> 0;
            wHi = st.cacheHi >>> 0;
          }
          const s = sw;
          dv.setInt32(a, E[s]!, true);
          dv.setInt32(a + 4, E[s + 1]!, true);
          p = (p + 4) | 0;
          break;
        }
        case Op.ATOMIC_W_ADD:
        case Op.ATOMIC_W_FETCH_ADD:
        case Op.ATOMIC_W_OR:
        case Op.ATOMIC_W_FETCH_OR:
        case Op.ATOMIC_W_AND:
        case Op.ATOMIC_W_FETCH_AND:
        case Op.ATOMIC_W_XOR:
        case Op.ATOMIC_W_FETCH_XOR:
        case Op.ATOMIC_W_XCHG:
        case Op.ATOMIC_W_CMPXCHG:
        case Op.ATOMIC_DW_ADD:
        case Op.ATOMIC_DW_FETCH_ADD:
        case Op.ATOMIC_DW_OR:
        case Op.ATOMIC_DW_FETCH_OR:
        case Op.ATOMIC_DW_AND:
        case Op.ATOMIC_DW_FETCH_AND:
        case Op.ATOMIC_DW_XOR:
        case Op.ATOMIC_DW_FETCH_XOR:
        case Op.ATOMIC_DW_XCHG:
        case Op.ATOMIC_DW_CMPXCHG:
          // Out of line (see runAtomic): rare, and keeping runSegment small enough for TurboFan to optimize.
          if (!runAtomic(st, prog, p, sLo)) {
            st.executed = limit - fuel;
            return FAULTED;
          }
          p = (p + 4) | 0;
          break;
        case Op.FUSED_MOV64_ADD_K: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          const bh = E[(p + 7) | 0]!;
          const al = ml;
          const lo = (al + bl) | 0;
          E[d + 1] = (mh + bh + (((al & bl) | ((al | bl) & ~lo)) >>> 31)) | 0;
          E[d] = lo;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_ADD_X: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = ml;
          const lo = (al + bl) | 0;
          E[d + 1] = (mh + bh + (((al & bl) | ((al | bl) & ~lo)) >>> 31)) | 0;
          E[d] = lo;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_XOR64_MUL64_X: {
          const d = dw;
          const xs = sw;
          const al = E[d]! ^ E[xs]!;
          E[d] = al;
          E[d + 1] = E[d + 1]! ^ E[xs + 1]!;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          // The multiply, as ALU64_MUL_X (its source may be dst itself, so it is read after the xor).
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const aL = al & 0xffff;
          const aH = al >>> 16;
          const bL = bl & 0xffff;
          const bH = bl >>> 16;
          const lh = aL * bH;
          const hl = aH * bL;
          const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
          E[d + 1] = (aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16) + Math.imul(al, bh) + Math.imul(E[d + 1]!, bl)) | 0;
          E[d] = Math.imul(al, bl);
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_DIV_X: {
          // mov dst, a; dst /= b: the move, then the division's common cases (see ALU64_DIV_X). Anything else
          // is left to the division's own case, at its slot.
          const d = dw;
          const ms = sw;
          const al = E[ms]!;
          const ah = E[ms + 1]!;
          E[d] = al;
          E[d + 1] = ah;
          p = (p + 4) | 0;
          if (fuel <= 0) break;
          const s = (rb + (E[p]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          if (bh === 0) {
            // 32-bit divisor: the high word of the quotient by a machine divide, the low word from
            // r·2^32 + al (r < bl, so that quotient is below 2^32) by the double estimate.
            const qh = ((ah >>> 0) / (bl >>> 0)) >>> 0;
            const x = (((ah - Math.imul(qh, bl)) >>> 0) * 4294967296 + (al >>> 0)) / (bl >>> 0);
            const q = x >>> 0;
            const f = x - q;
            if (!(f > QEPS && f < QEPS_HI)) break;
            E[d] = q;
            E[d + 1] = qh;
          } else {
            const x = ((ah >>> 0) * 4294967296 + (al >>> 0)) / ((bh >>> 0) * 4294967296 + (bl >>> 0));
            const q = x >>> 0;
            const f = x - q;
            if (!(f > QEPS && f < QEPS_HI)) break;
            E[d] = q;
            E[d + 1] = 0;
          }
          fuel = (fuel - 1) | 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.FUSED_MOV64_MOD_X: {
          // mov dst, a; dst %= b, as FUSED_MOV64_DIV_X (see ALU64_MOD_X).
          const d = dw;
          const ms = sw;
          const al = E[ms]!;
          const ah = E[ms + 1]!;
          E[d] = al;
          E[d + 1] = ah;
          p = (p + 4) | 0;
          if (fuel <= 0) break;
          const s = (rb + (E[p]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          if (bh === 0) {
            // 32-bit divisor, as in FUSED_MOV64_DIV_X: the remainder is below 2^32, so imul gives it.
            const qh = ((ah >>> 0) / (bl >>> 0)) >>> 0;
            const x = (((ah - Math.imul(qh, bl)) >>> 0) * 4294967296 + (al >>> 0)) / (bl >>> 0);
            const q = x >>> 0;
            const f = x - q;
            if (!(f > QEPS && f < QEPS_HI)) break;
            E[d] = al - Math.imul(q, bl);
            E[d + 1] = 0;
          } else {
            const n = (ah >>> 0) * 4294967296 + (al >>> 0);
            const dd = (bh >>> 0) * 4294967296 + (bl >>> 0);
            const x = n / dd;
            const q = x >>> 0;
            const f = x - q;
            if (!(f > QEPS && f < QEPS_HI)) break;
            const rLo = (al - Math.imul(q, bl)) >>> 0;
            E[d] = rLo;
            E[d + 1] = ((n - q * dd - rLo) * 2.3283064365386963e-10 + 0.5) >>> 0;
          }
          fuel = (fuel - 1) | 0;
          p = (p + 4) | 0;
          break;
        }
        case Op.FUSED_MOV64_ZEXT32: {
          // mov dst, src; dst <<= 32; dst >>= 32 (FUSED_MOV_ZEXT).
          const d = dw;
          const ms = sw;
          const hi = E[ms + 1]!;
          E[d] = E[ms]!;
          if (fuel < 2) {
            // The shifts would exceed the budget: leave them to the loop's check.
            E[d + 1] = hi;
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 2) | 0;
          E[d + 1] = 0;
          p = (p + 12) | 0;
          break;
        }
        case Op.FUSED_MOV64_MOV64_X: {
          const d = dw;
          const ms = sw;
          E[d] = E[ms]!;
          E[d + 1] = E[ms + 1]!;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const w2 = E[(p + 4) | 0]!;
          const d2 = (rb + ((w2 >> 9) & 0xff)) | 0;
          const s2 = (rb + (w2 >>> 17)) | 0;
          E[d2] = E[s2]!;
          E[d2 + 1] = E[s2 + 1]!;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_SUB_K: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          const bh = E[(p + 7) | 0]!;
          const al = ml;
          E[d + 1] = (mh - bh - (((~al & bl) | (~(al ^ bl) & (al - bl))) >>> 31)) | 0;
          E[d] = (al - bl) | 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_SUB_X: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = ml;
          E[d + 1] = (mh - bh - (((~al & bl) | (~(al ^ bl) & (al - bl))) >>> 31)) | 0;
          E[d] = (al - bl) | 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_MUL_K: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          const bh = E[(p + 7) | 0]!;
          // 64-bit product, low 64 bits: 16-bit limbs for the high word of lo*lo (every partial sum stays exact).
          const al = ml;
          const aL = al & 0xffff;
          const aH = al >>> 16;
          const bL = bl & 0xffff;
          const bH = bl >>> 16;
          const lh = aL * bH;
          const hl = aH * bL;
          const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
          E[d + 1] = (aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16) + Math.imul(al, bh) + Math.imul(mh, bl)) | 0;
          E[d] = Math.imul(al, bl);
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_MUL_X: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          // 64-bit product, low 64 bits: 16-bit limbs for the high word of lo*lo (every partial sum stays exact).
          const al = ml;
          const aL = al & 0xffff;
          const aH = al >>> 16;
          const bL = bl & 0xffff;
          const bH = bl >>> 16;
          const lh = aL * bH;
          const hl = aH * bL;
          const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
          E[d + 1] = (aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16) + Math.imul(al, bh) + Math.imul(mh, bl)) | 0;
          E[d] = Math.imul(al, bl);
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_OR_K: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          const bh = E[(p + 7) | 0]!;
          E[d] = ml | bl;
          E[d + 1] = mh | bh;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_OR_X: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          E[d] = ml | bl;
          E[d + 1] = mh | bh;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_AND_K: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          const bh = E[(p + 7) | 0]!;
          E[d] = ml & bl;
          E[d + 1] = mh & bh;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_AND_X: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          E[d] = ml & bl;
          E[d + 1] = mh & bh;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_LSH_K: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          const n = bl & 63;
          const lo = ml;
          if (n >= 32) {
            E[d + 1] = lo << (n - 32);
            E[d] = 0;
          } else if (n !== 0) {
            E[d + 1] = (mh << n) | (lo >>> (32 - n));
            E[d] = lo << n;
          }
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_LSH_X: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const n = bl & 63;
          const lo = ml;
          if (n >= 32) {
            E[d + 1] = lo << (n - 32);
            E[d] = 0;
          } else if (n !== 0) {
            E[d + 1] = (mh << n) | (lo >>> (32 - n));
            E[d] = lo << n;
          }
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_RSH_K: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          const n = bl & 63;
          const hi = mh;
          if (n >= 32) {
            E[d] = hi >>> (n - 32);
            E[d + 1] = 0;
          } else if (n !== 0) {
            E[d] = (ml >>> n) | (hi << (32 - n));
            E[d + 1] = hi >>> n;
          }
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_RSH_X: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const n = bl & 63;
          const hi = mh;
          if (n >= 32) {
            E[d] = hi >>> (n - 32);
            E[d + 1] = 0;
          } else if (n !== 0) {
            E[d] = (ml >>> n) | (hi << (32 - n));
            E[d + 1] = hi >>> n;
          }
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_ARSH_K: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          const n = bl & 63;
          const hi = mh;
          if (n >= 32) {
            E[d] = hi >> (n - 32);
            E[d + 1] = hi >> 31;
          } else if (n !== 0) {
            E[d] = (ml >>> n) | (hi << (32 - n));
            E[d + 1] = hi >> n;
          }
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_ARSH_X: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const n = bl & 63;
          const hi = mh;
          if (n >= 32) {
            E[d] = hi >> (n - 32);
            E[d + 1] = hi >> 31;
          } else if (n !== 0) {
            E[d] = (ml >>> n) | (hi << (32 - n));
            E[d + 1] = hi >> n;
          }
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_XOR_K: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          const bh = E[(p + 7) | 0]!;
          E[d] = ml ^ bl;
          E[d + 1] = mh ^ bh;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_XOR_X: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          E[d] = ml ^ bl;
          E[d + 1] = mh ^ bh;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_ADD_K: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          E[d] = (ml + bl) | 0;
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_ADD_X: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          E[d] = (ml + bl) | 0;
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_SUB_K: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          E[d] = (ml - bl) | 0;
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_SUB_X: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          E[d] = (ml - bl) | 0;
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_MUL_K: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          E[d] = Math.imul(ml, bl);
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_MUL_X: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          E[d] = Math.imul(ml, bl);
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_OR_K: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          E[d] = ml | bl;
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_OR_X: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          E[d] = ml | bl;
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_AND_K: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          E[d] = ml & bl;
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_AND_X: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          E[d] = ml & bl;
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_LSH_K: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          E[d] = ml << (bl & 31);
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_LSH_X: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          E[d] = ml << (bl & 31);
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_RSH_K: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          E[d] = ml >>> (bl & 31);
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_RSH_X: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          E[d] = ml >>> (bl & 31);
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_ARSH_K: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          E[d] = ml >> (bl & 31);
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_ARSH_X: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          E[d] = ml >> (bl & 31);
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_XOR_K: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const bl = E[(p + 6) | 0]!;
          E[d] = ml ^ bl;
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV32_XOR_X: {
          const d = dw;
          const ml = E[sw]!;
          E[d] = ml;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The second instruction would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          E[d] = ml ^ bl;
          E[d + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JEQ_K: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const bl = E[q | 2]!;
          const bh = E[q | 3]!;
          p = al === bl && ah === bh ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JEQ_X: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = al === bl && ah === bh ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JNE_K: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const bl = E[q | 2]!;
          const bh = E[q | 3]!;
          p = al !== bl || ah !== bh ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JNE_X: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = al !== bl || ah !== bh ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JGT_K: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const bl = E[q | 2]!;
          const bh = E[q | 3]!;
          p = ah >>> 0 > bh >>> 0 || (ah === bh && al >>> 0 > bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JGT_X: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah >>> 0 > bh >>> 0 || (ah === bh && al >>> 0 > bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JGE_K: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const bl = E[q | 2]!;
          const bh = E[q | 3]!;
          p = ah >>> 0 > bh >>> 0 || (ah === bh && al >>> 0 >= bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JGE_X: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah >>> 0 > bh >>> 0 || (ah === bh && al >>> 0 >= bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JLT_K: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const bl = E[q | 2]!;
          const bh = E[q | 3]!;
          p = ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 < bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JLT_X: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 < bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JLE_K: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const bl = E[q | 2]!;
          const bh = E[q | 3]!;
          p = ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 <= bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JLE_X: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 <= bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JSGT_K: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const bl = E[q | 2]!;
          const bh = E[q | 3]!;
          p = ah > bh || (ah === bh && al >>> 0 > bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JSGT_X: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah > bh || (ah === bh && al >>> 0 > bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JSGE_K: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const bl = E[q | 2]!;
          const bh = E[q | 3]!;
          p = ah > bh || (ah === bh && al >>> 0 >= bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JSGE_X: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah > bh || (ah === bh && al >>> 0 >= bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JSLT_K: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const bl = E[q | 2]!;
          const bh = E[q | 3]!;
          p = ah < bh || (ah === bh && al >>> 0 < bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JSLT_X: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah < bh || (ah === bh && al >>> 0 < bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JSLE_K: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const bl = E[q | 2]!;
          const bh = E[q | 3]!;
          p = ah < bh || (ah === bh && al >>> 0 <= bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64K_JSLE_X: {
          const d = dw;
          const ka = E[d]!;
          const klo = (ka + E[p | 2]!) | 0;
          E[d + 1] = (E[d + 1]! + E[p | 3]! + (klo >>> 0 < ka >>> 0 ? 1 : 0)) | 0;
          E[d] = klo;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const ah = E[jd + 1]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          p = ah < bh || (ah === bh && al >>> 0 <= bl >>> 0) ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JEQ_K: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const bl = E[q | 2]!;
          p = al === bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JEQ_X: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          p = al === bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JNE_K: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const bl = E[q | 2]!;
          p = al !== bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_MOV2_JNE_K: {
          // add w, imm; mov; mov; jne w, imm (FUSED_LOOP_TAIL).
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel < 3) {
            // The rest would exceed the budget: leave it to the loop's check, one instruction at a time.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 3) | 0;
          const w1 = E[(p + 4) | 0]!;
          const d1 = (rb + ((w1 >> 9) & 0xff)) | 0;
          const s1 = (rb + (w1 >>> 17)) | 0;
          E[d1] = E[s1]!;
          E[d1 + 1] = E[s1 + 1]!;
          const w2 = E[(p + 8) | 0]!;
          const d2 = (rb + ((w2 >> 9) & 0xff)) | 0;
          const s2 = (rb + (w2 >>> 17)) | 0;
          E[d2] = E[s2]!;
          E[d2 + 1] = E[s2 + 1]!;
          const q = (p + 12) | 0;
          p = E[(rb + ((E[q]! >> 9) & 0xff)) | 0]! !== E[q | 2]! ? E[q | 1]! : (p + 16) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JNE_X: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          p = al !== bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JGT_K: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const bl = E[q | 2]!;
          p = al >>> 0 > bl >>> 0 ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JGT_X: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          p = al >>> 0 > bl >>> 0 ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JGE_K: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const bl = E[q | 2]!;
          p = al >>> 0 >= bl >>> 0 ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JGE_X: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          p = al >>> 0 >= bl >>> 0 ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JLT_K: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const bl = E[q | 2]!;
          p = al >>> 0 < bl >>> 0 ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JLT_X: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          p = al >>> 0 < bl >>> 0 ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JLE_K: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const bl = E[q | 2]!;
          p = al >>> 0 <= bl >>> 0 ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JLE_X: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          p = al >>> 0 <= bl >>> 0 ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JSGT_K: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const bl = E[q | 2]!;
          p = al > bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JSGT_X: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          p = al > bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JSGE_K: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const bl = E[q | 2]!;
          p = al >= bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JSGE_X: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          p = al >= bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JSLT_K: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const bl = E[q | 2]!;
          p = al < bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JSLT_X: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          p = al < bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JSLE_K: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const bl = E[q | 2]!;
          p = al <= bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD32K_JSLE_X: {
          const d = dw;
          E[d] = (E[d]! + E[p | 2]!) | 0;
          E[d + 1] = 0;
          if (fuel <= 0) {
            // The jump would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const w2 = E[q]!;
          const jd = (rb + ((w2 >> 9) & 0xff)) | 0;
          const al = E[jd]!;
          const s = (rb + (w2 >>> 17)) | 0;
          const bl = E[s]!;
          p = al <= bl ? E[q | 1]! : (p + 8) | 0;
          break;
        }
        case Op.FUSED_MOV64_ADD_X_LDX_B: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel < 2) {
            // The add or the load would exceed the budget: leave them to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 2) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = ml;
          const lo = (al + bl) | 0;
          const hi = (mh + bh + (lo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          E[d + 1] = hi;
          E[d] = lo;
          const q = (p + 8) | 0;
          const off = E[q | 1]!;
          // The base is a computed pointer (packet, map value), so the region cache is tried before the stack.
          let a = (lo >>> 0) + off;
          if (hi !== 0 || ((a < rLo || a + 1 > rHi) && (a < sLo || a + 1 > sHi))) {
            a = st.resolveAccess(lo, hi, off, 1, PERM_READ, (q - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            rLo = st.cacheLo >>> 0;
            rHi = st.cacheHi >>> 0;
          }
          const ld = (rb + ((E[q]! >> 9) & 0xff)) | 0;
          E[ld] = dv.getUint8(a);
          E[ld + 1] = 0;
          p = (p + 12) | 0;
          break;
        }
        case Op.FUSED_MOV64_ADD_X_LDX_H: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel < 2) {
            // The add or the load would exceed the budget: leave them to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 2) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = ml;
          const lo = (al + bl) | 0;
          const hi = (mh + bh + (lo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          E[d + 1] = hi;
          E[d] = lo;
          const q = (p + 8) | 0;
          const off = E[q | 1]!;
          // The base is a computed pointer (packet, map value), so the region cache is tried before the stack.
          let a = (lo >>> 0) + off;
          if (hi !== 0 || ((a < rLo || a + 2 > rHi) && (a < sLo || a + 2 > sHi))) {
            a = st.resolveAccess(lo, hi, off, 2, PERM_READ, (q - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            rLo = st.cacheLo >>> 0;
            rHi = st.cacheHi >>> 0;
          }
          const ld = (rb + ((E[q]! >> 9) & 0xff)) | 0;
          E[ld] = dv.getUint16(a, true);
          E[ld + 1] = 0;
          p = (p + 12) | 0;
          break;
        }
        case Op.FUSED_MOV64_ADD_X_LDX_W: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel < 2) {
            // The add or the load would exceed the budget: leave them to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 2) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = ml;
          const lo = (al + bl) | 0;
          const hi = (mh + bh + (lo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          E[d + 1] = hi;
          E[d] = lo;
          const q = (p + 8) | 0;
          const off = E[q | 1]!;
          // The base is a computed pointer (packet, map value), so the region cache is tried before the stack.
          let a = (lo >>> 0) + off;
          if (hi !== 0 || ((a < rLo || a + 4 > rHi) && (a < sLo || a + 4 > sHi))) {
            a = st.resolveAccess(lo, hi, off, 4, PERM_READ, (q - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            rLo = st.cacheLo >>> 0;
            rHi = st.cacheHi >>> 0;
          }
          const ld = (rb + ((E[q]! >> 9) & 0xff)) | 0;
          E[ld] = dv.getInt32(a, true);
          E[ld + 1] = 0;
          p = (p + 12) | 0;
          break;
        }
        case Op.FUSED_MOV64_ADD_X_LDX_DW: {
          const d = dw;
          const ms = sw;
          const ml = E[ms]!;
          const mh = E[ms + 1]!;
          E[d] = ml;
          E[d + 1] = mh;
          if (fuel < 2) {
            // The add or the load would exceed the budget: leave them to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 2) | 0;
          const s = (rb + (E[(p + 4) | 0]! >>> 17)) | 0;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = ml;
          const lo = (al + bl) | 0;
          const hi = (mh + bh + (lo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          E[d + 1] = hi;
          E[d] = lo;
          const q = (p + 8) | 0;
          const off = E[q | 1]!;
          // The base is a computed pointer (packet, map value), so the region cache is tried before the stack.
          let a = (lo >>> 0) + off;
          if (hi !== 0 || ((a < rLo || a + 8 > rHi) && (a < sLo || a + 8 > sHi))) {
            a = st.resolveAccess(lo, hi, off, 8, PERM_READ, (q - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            rLo = st.cacheLo >>> 0;
            rHi = st.cacheHi >>> 0;
          }
          const ld = (rb + ((E[q]! >> 9) & 0xff)) | 0;
          E[ld] = dv.getInt32(a, true);
          E[ld + 1] = dv.getInt32(a + 4, true);
          p = (p + 12) | 0;
          break;
        }
        case Op.FUSED_ADD64_X_LDX_W: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = E[d]!;
          const lo = (al + bl) | 0;
          const hi = (E[d + 1]! + bh + (lo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          E[d + 1] = hi;
          E[d] = lo;
          if (fuel <= 0) {
            // The load would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const off = E[q | 1]!;
          let a = (lo >>> 0) + off;
          if (hi !== 0 || ((a < sLo || a + 4 > sHi) && (a < rLo || a + 4 > rHi))) {
            a = st.resolveAccess(lo, hi, off, 4, PERM_READ, (q - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            rLo = st.cacheLo >>> 0;
            rHi = st.cacheHi >>> 0;
          }
          const ld = (rb + ((E[q]! >> 9) & 0xff)) | 0;
          E[ld] = dv.getInt32(a, true);
          E[ld + 1] = 0;
          p = (p + 8) | 0;
          break;
        }
        case Op.FUSED_ADD64_X_LDX_DW: {
          const d = dw;
          const s = sw;
          const bl = E[s]!;
          const bh = E[s + 1]!;
          const al = E[d]!;
          const lo = (al + bl) | 0;
          const hi = (E[d + 1]! + bh + (lo >>> 0 < al >>> 0 ? 1 : 0)) | 0;
          E[d + 1] = hi;
          E[d] = lo;
          if (fuel <= 0) {
            // The load would exceed the budget: leave it to the loop's check.
            p = (p + 4) | 0;
            break;
          }
          fuel = (fuel - 1) | 0;
          const q = (p + 4) | 0;
          const off = E[q | 1]!;
          let a = (lo >>> 0) + off;
          if (hi !== 0 || ((a < sLo || a + 8 > sHi) && (a < rLo || a + 8 > rHi))) {
            a = st.resolveAccess(lo, hi, off, 8, PERM_READ, (q - cb) >> 2, sLo);
            if (a < 0) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            rLo = st.cacheLo >>> 0;
            rHi = st.cacheHi >>> 0;
          }
          const ld = (rb + ((E[q]! >> 9) & 0xff)) | 0;
          E[ld] = dv.getInt32(a, true);
          E[ld + 1] = dv.getInt32(a + 4, true);
          p = (p + 8) | 0;
          break;
        }
        case Op.LD_IMM64_IMM: {
          const d = dw;
          E[d] = E[p | 2]!;
          E[d + 1] = E[p | 3]!;
          p = (p + 8) | 0;
          break;
        }
        case Op.CALL_LOCAL: {
          const depth = st.depth;
          if (depth + 2 > MAX_CALL_FRAMES) {
            st.executed = limit - fuel;
            st.setFault('call-depth', (p - cb) >> 2, { detail: depth + 2 });
            return FAULTED;
          }
          const frames = st.frames;
          const f = depth * FRAME_WORDS;
          frames[f] = p + 4;
          for (let i = 2; i < 20; i++) frames[f + i - 1] = E[rb + i]!;
          frames[f + 19] = st.loops;
          st.frameProgs[depth] = prog;
          st.depth = depth + 1;
          st.loops = MAX_LOOPS;
          sLo -= STACK_FRAME_SIZE;
          E[rb + 20] = sLo + STACK_FRAME_SIZE;
          E[rb + 21] = 0;
          p = E[p | 1]!;
          break;
        }
        case Op.EXIT: {
          if (st.depth === st.baseDepth) {
            if (E[rb + RLEFT]! > 1 && prog === st.repeatEntry) {
              // The next run of a repeat loop (runRepeat), started in place: fresh registers, no tail calls
              // counted, a fresh may_goto counter and instruction count. Not leaving the loop makes a short
              // program's run about twice as fast.
              E[rb + RLEFT] = E[rb + RLEFT]! - 1;
              // Only registers the program can write need their fresh value back (Program.writtenRegs), in
              // four groups: r0, the argument registers, the callee-saved ones, r10.
              const m = prog.writtenRegs;
              if ((m & 0x1) !== 0) {
                E[rb] = 0;
                E[rb + 1] = 0;
              }
              if ((m & 0x3e) !== 0) {
                E[rb + 2] = E[rb + RR1]!;
                E[rb + 3] = E[rb + RR1 + 1]!;
                E[rb + 4] = E[rb + RR2]!;
                E[rb + 5] = E[rb + RR2 + 1]!;
                E[rb + 6] = 0;
                E[rb + 7] = 0;
                E[rb + 8] = 0;
                E[rb + 9] = 0;
                E[rb + 10] = 0;
                E[rb + 11] = 0;
              }
              if ((m & 0x3c0) !== 0) {
                E[rb + 12] = 0;
                E[rb + 13] = 0;
                E[rb + 14] = 0;
                E[rb + 15] = 0;
                E[rb + 16] = 0;
                E[rb + 17] = 0;
                E[rb + 18] = 0;
                E[rb + 19] = 0;
              }
              if ((m & 0x400) !== 0) {
                E[rb + 20] = E[rb + RR10]!;
                E[rb + 21] = 0;
              }
              st.resetTailCalls();
              st.loops = MAX_LOOPS;
              fuel = limit;
              p = cb;
              break;
            }
            st.executed = limit - fuel;
            return EXITED;
          }
          // Back to the caller: r0 is the result; r1..r9 and r10 are the caller's again.
          const depth = --st.depth;
          const frames = st.frames;
          const f = depth * FRAME_WORDS;
          p = frames[f]!;
          for (let i = 2; i < 20; i++) E[rb + i] = frames[f + i - 1]!;
          st.loops = frames[f + 19]!;
          sLo += STACK_FRAME_SIZE;
          E[rb + 20] = sLo + STACK_FRAME_SIZE;
          E[rb + 21] = 0;
          const caller = st.frameProgs[depth]!;
          if (caller !== prog) {
            // Returning into a program that tail-called away from this frame's original code.
            st.running = caller;
            st.resumeAt = p;
            st.executed = limit - fuel;
            return SWITCHED;
          }
          break;
        }
        case Op.CALL_HELPER: {
          const id = E[p | 2]!;
          if (id === st.tailCallId && st.tailCallHook !== null) {
            const next = st.tailCall((p - cb) >> 2);
            if (next === undefined) {
              st.executed = limit - fuel;
              return FAULTED;
            }
            if (next !== null) {
              // The callee replaces the running program in this frame; its exit returns to our caller.
              st.running = next;
              st.resumeAt = next.codeBase;
              st.loops = MAX_LOOPS;
              st.executed = limit - fuel;
              return SWITCHED;
            }
          } else {
            const status = st.invoke(st.helpers.get(id), id, (p - cb) >> 2);
            if (status !== 0) {
              st.executed = limit - fuel;
              return status === 1 ? EXITED : FAULTED;
            }
          }
          dv = st.mem.dataView;
          rHi = rLo = wHi = wLo = 0;
          p = (p + 4) | 0;
          break;
        }
        default: {
          // The rare forms run out of line (runCold). They may call helpers, so the memory view and the region
          // caches are refreshed after them.
          st.executed = limit - fuel;
          const next = runCold(st, prog, p);
          if (next < 0) return next === COLD_EXIT ? EXITED : FAULTED;
          // `| 0` keeps p a 32-bit integer for TurboFan (a call result is any number; a tagged p slows every case).
          p = next | 0;
          dv = st.mem.dataView;
          rHi = rLo = wHi = wLo = 0;
          break;
        }
      }
    }
  }

  /**
   * The rare forms, out of line so that {@link runSegment} stays under V8's bytecode limit for optimization:
   * negation, sign-extending moves and loads, signed and constant-divisor division, little-endian conversions
   * (`le`; `be` and `bswap` stay in the loop), LD ABS/IND, kfunc calls, callx, may_goto and the faulting
   * pseudo-ops. Returns the next pc, or
   * COLD_FAULT / COLD_EXIT. `st.executed` is up to date when it is called (helpers may read it).
   */
  function runCold(st: EngineState, prog: Program, p: number): number {
    const E = pool;
    const rb = st.regBase | 0;
    const cb = prog.codeBase | 0;
    const dv = st.mem.dataView;
    const sLo = st.stackTop - (st.depth + 1) * STACK_FRAME_SIZE;
    const w = E[p]!;
    switch ((w & 0x1ff) as Op) {
      case Op.ALU_NEG: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        E[d] = -E[d]! | 0;
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU64_NEG: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const lo = E[d]!;
        E[d] = -lo | 0;
        E[d + 1] = (~E[d + 1]! + (lo === 0 ? 1 : 0)) | 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU_DIV_K: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const bl = E[p | 2]!;
        E[d] = bl === 0 ? 0 : Math.floor((E[d]! >>> 0) / (bl >>> 0));
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU_SDIV_K: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const bl = E[p | 2]!;
        // INT_MIN / -1 is 2^31, which wraps back to INT_MIN.
        E[d] = bl === 0 ? 0 : Math.trunc(E[d]! / bl) | 0;
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU_MOD_K: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const bl = E[p | 2]!;
        // Modulo by zero leaves dst unchanged (then zero-extended).
        if (bl !== 0) E[d] = (E[d]! >>> 0) % (bl >>> 0);
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU_SMOD_K: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const bl = E[p | 2]!;
        // INT_MIN % -1 is -0 in JS, stored as 0.
        if (bl !== 0) E[d] = E[d]! % bl;
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU64_DIV_K: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const bl = E[p | 2]!;
        const bh = E[p | 3]!;
        if (bh === 0 && E[d + 1] === 0) {
          // Both operands below 2^32: one exact double division.
          E[d] = bl === 0 ? 0 : Math.floor((E[d]! >>> 0) / (bl >>> 0));
        } else if (bl === 0 && bh === 0) {
          E[d] = 0;
          E[d + 1] = 0;
        } else {
          udiv64(E[d]!, E[d + 1]!, bl, bh);
          E[d] = WIDE[0]!;
          E[d + 1] = WIDE[1]!;
        }
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU64_SDIV_K: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const bl = E[p | 2]!;
        const bh = E[p | 3]!;
        if (bl === 0 && bh === 0) {
          E[d] = 0;
          E[d + 1] = 0;
        } else {
          sdiv64(E[d]!, E[d + 1]!, bl, bh);
          E[d] = WIDE[0]!;
          E[d + 1] = WIDE[1]!;
        }
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU64_MOD_K: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const bl = E[p | 2]!;
        const bh = E[p | 3]!;
        if (bh === 0 && E[d + 1] === 0) {
          // Modulo by zero leaves dst unchanged.
          if (bl !== 0) E[d] = (E[d]! >>> 0) % (bl >>> 0);
        } else if (bl !== 0 || bh !== 0) {
          udiv64(E[d]!, E[d + 1]!, bl, bh);
          E[d] = WIDE[2]!;
          E[d + 1] = WIDE[3]!;
        }
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU64_SMOD_K: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const bl = E[p | 2]!;
        const bh = E[p | 3]!;
        if (bl !== 0 || bh !== 0) {
          sdiv64(E[d]!, E[d + 1]!, bl, bh);
          E[d] = WIDE[2]!;
          E[d + 1] = WIDE[3]!;
        }
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU_SDIV_X: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const bl = E[(rb + (w >>> 17)) | 0]!;
        // INT_MIN / -1 is 2^31, which wraps back to INT_MIN.
        E[d] = bl === 0 ? 0 : Math.trunc(E[d]! / bl) | 0;
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU_SMOD_X: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const bl = E[(rb + (w >>> 17)) | 0]!;
        // INT_MIN % -1 is -0 in JS, stored as 0.
        if (bl !== 0) E[d] = E[d]! % bl;
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU64_SDIV_X: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const bl = E[s]!;
        const bh = E[s + 1]!;
        if (bl === 0 && bh === 0) {
          E[d] = 0;
          E[d + 1] = 0;
        } else {
          sdiv64(E[d]!, E[d + 1]!, bl, bh);
          E[d] = WIDE[0]!;
          E[d + 1] = WIDE[1]!;
        }
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU64_SMOD_X: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const bl = E[s]!;
        const bh = E[s + 1]!;
        if (bl !== 0 || bh !== 0) {
          sdiv64(E[d]!, E[d + 1]!, bl, bh);
          E[d] = WIDE[2]!;
          E[d + 1] = WIDE[3]!;
        }
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU_MOVSX8_X: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        E[d] = (E[(rb + (w >>> 17)) | 0]! << 24) >> 24;
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU_MOVSX16_X: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        E[d] = (E[(rb + (w >>> 17)) | 0]! << 16) >> 16;
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU64_MOVSX8_X: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const v = (E[(rb + (w >>> 17)) | 0]! << 24) >> 24;
        E[d] = v;
        E[d + 1] = v >> 31;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU64_MOVSX16_X: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const v = (E[(rb + (w >>> 17)) | 0]! << 16) >> 16;
        E[d] = v;
        E[d + 1] = v >> 31;
        p = (p + 4) | 0;
        break;
      }
      case Op.ALU64_MOVSX32_X: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const v = E[(rb + (w >>> 17)) | 0]!;
        E[d] = v;
        E[d + 1] = v >> 31;
        p = (p + 4) | 0;
        break;
      }
      case Op.END_LE16: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        E[d] = E[d]! & 0xffff;
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.END_LE32: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        E[d + 1] = 0;
        p = (p + 4) | 0;
        break;
      }
      case Op.END_LE64:
        p = (p + 4) | 0;
        break;
      case Op.LDX_MEMSX_B: {
        const s = (rb + (w >>> 17)) | 0;
        // Out of line, every access takes the exact check.
        const a = st.resolveAccess(E[s]!, E[s + 1]!, E[p | 1]!, 1, PERM_READ, (p - cb) >> 2, sLo);
        if (a < 0) return COLD_FAULT;
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const v = dv.getInt8(a);
        E[d] = v;
        E[d + 1] = v >> 31;
        p = (p + 4) | 0;
        break;
      }
      case Op.LDX_MEMSX_H: {
        const s = (rb + (w >>> 17)) | 0;
        // Out of line, every access takes the exact check.
        const a = st.resolveAccess(E[s]!, E[s + 1]!, E[p | 1]!, 2, PERM_READ, (p - cb) >> 2, sLo);
        if (a < 0) return COLD_FAULT;
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const v = dv.getInt16(a, true);
        E[d] = v;
        E[d + 1] = v >> 31;
        p = (p + 4) | 0;
        break;
      }
      case Op.LDX_MEMSX_W: {
        const s = (rb + (w >>> 17)) | 0;
        // Out of line, every access takes the exact check.
        const a = st.resolveAccess(E[s]!, E[s + 1]!, E[p | 1]!, 4, PERM_READ, (p - cb) >> 2, sLo);
        if (a < 0) return COLD_FAULT;
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const v = dv.getInt32(a, true);
        E[d] = v;
        E[d + 1] = v >> 31;
        p = (p + 4) | 0;
        break;
      }
      case Op.LD_IMM64_PSEUDO:
        st.setFault('unresolved-ld-imm64', (p - cb) >> 2, { detail: E[p | 1]! });
        return COLD_FAULT;
      case Op.JMP_MAY_GOTO:
        // Linux's count-based may_goto (the interpreter and most JITs): every frame whose function uses it
        // gets a stack counter set to MAX_LOOPS in its prologue; may_goto jumps once it reaches 0. (The
        // x86-64 JIT of 6.14+ uses a time budget instead, which is not deterministic, so we do not model it.)
        if (st.loops === 0) {
          p = E[p | 1]!;
        } else {
          st.loops--;
          p = (p + 4) | 0;
        }
        break;
      case Op.CALL_KFUNC: {
        const id = E[p | 2]!;
        const status = st.invoke(st.kfuncs.get(id), id, (p - cb) >> 2);
        if (status !== 0) {
          return status === 1 ? COLD_EXIT : COLD_FAULT;
        }
        p = (p + 4) | 0;
        break;
      }
      case Op.CALLX: {
        // RFC 9669 callx: the helper id is the value of the dst register.
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const id = E[d + 1] === 0 ? E[d]! >>> 0 : -1;
        const status = st.invoke(id < 0 ? undefined : st.helpers.get(id), id, (p - cb) >> 2);
        if (status !== 0) {
          return status === 1 ? COLD_EXIT : COLD_FAULT;
        }
        p = (p + 4) | 0;
        break;
      }
      case Op.LD_ABS_B:
      case Op.LD_ABS_H:
      case Op.LD_ABS_W:
      case Op.LD_IND_B:
      case Op.LD_IND_H:
      case Op.LD_IND_W: {
        const op = (w & 0x1ff) as Op;
        const indirect = op === Op.LD_IND_B || op === Op.LD_IND_H || op === Op.LD_IND_W;
        const size = op === Op.LD_ABS_B || op === Op.LD_IND_B ? 1 : op === Op.LD_ABS_H || op === Op.LD_IND_H ? 2 : 4;
        const status = st.loadPacket((E[p | 2]! + (indirect ? E[(rb + (w >>> 17)) | 0]! : 0)) | 0, size, (p - cb) >> 2);
        if (status !== 0) {
          return status === 1 ? COLD_EXIT : COLD_FAULT;
        }
        p = (p + 4) | 0;
        break;
      }
      case Op.FELL_OFF:
        st.setFault('fell-off', (p - cb) >> 2);
        return COLD_FAULT;
      default:
        st.setFault('unhandled', (p - cb) >> 2, { detail: w & 0x1ff });
        return COLD_FAULT;
    }
    return p;
  }

  /**
   * The atomic read-modify-write forms, out of line. They are rare in programs, and every case spelled out in
   * {@link runSegment} costs bytecode: V8 optimizes no function above 60 KiB of bytecode
   * (`--max-optimized-bytecode-size`), and an unoptimized interpreter runs 20x slower. Every access goes through
   * the exact check (`st.resolveAccess`), as inline. Returns false on a fault (recorded by resolveAccess).
   */
  function runAtomic(st: EngineState, prog: Program, p: number, sLo: number): boolean {
    const E = pool;
    const rb = st.regBase | 0;
    const cb = prog.codeBase | 0;
    const dv = st.mem.dataView;
    const w = E[p]!;
    switch ((w & 0x1ff) as Op) {
      case Op.ATOMIC_W_ADD: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const old = dv.getInt32(a, true);
        dv.setInt32(a, (old + E[s]!) | 0, true);
        return true;
      }
      case Op.ATOMIC_W_FETCH_ADD: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const old = dv.getInt32(a, true);
        dv.setInt32(a, (old + E[s]!) | 0, true);
        E[s] = old;
        E[s + 1] = 0;
        return true;
      }
      case Op.ATOMIC_W_OR: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const old = dv.getInt32(a, true);
        dv.setInt32(a, old | E[s]!, true);
        return true;
      }
      case Op.ATOMIC_W_FETCH_OR: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const old = dv.getInt32(a, true);
        dv.setInt32(a, old | E[s]!, true);
        E[s] = old;
        E[s + 1] = 0;
        return true;
      }
      case Op.ATOMIC_W_AND: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const old = dv.getInt32(a, true);
        dv.setInt32(a, old & E[s]!, true);
        return true;
      }
      case Op.ATOMIC_W_FETCH_AND: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const old = dv.getInt32(a, true);
        dv.setInt32(a, old & E[s]!, true);
        E[s] = old;
        E[s + 1] = 0;
        return true;
      }
      case Op.ATOMIC_W_XOR: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const old = dv.getInt32(a, true);
        dv.setInt32(a, old ^ E[s]!, true);
        return true;
      }
      case Op.ATOMIC_W_FETCH_XOR: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const old = dv.getInt32(a, true);
        dv.setInt32(a, old ^ E[s]!, true);
        E[s] = old;
        E[s + 1] = 0;
        return true;
      }
      case Op.ATOMIC_W_XCHG: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const old = dv.getInt32(a, true);
        dv.setInt32(a, E[s]!, true);
        E[s] = old;
        E[s + 1] = 0;
        return true;
      }
      case Op.ATOMIC_W_CMPXCHG: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 4, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const old = dv.getInt32(a, true);
        if (old === E[rb + 0]) dv.setInt32(a, E[s]!, true);
        E[rb + 0] = old;
        E[rb + 1] = 0;
        return true;
      }
      case Op.ATOMIC_DW_ADD: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const oldLo = dv.getInt32(a, true);
        const oldHi = dv.getInt32(a + 4, true);
        const lo = (oldLo + E[s]!) | 0;
        dv.setInt32(a, lo, true);
        dv.setInt32(a + 4, (oldHi + E[s + 1]! + (lo >>> 0 < oldLo >>> 0 ? 1 : 0)) | 0, true);
        return true;
      }
      case Op.ATOMIC_DW_FETCH_ADD: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const oldLo = dv.getInt32(a, true);
        const oldHi = dv.getInt32(a + 4, true);
        const lo = (oldLo + E[s]!) | 0;
        dv.setInt32(a, lo, true);
        dv.setInt32(a + 4, (oldHi + E[s + 1]! + (lo >>> 0 < oldLo >>> 0 ? 1 : 0)) | 0, true);
        E[s] = oldLo;
        E[s + 1] = oldHi;
        return true;
      }
      case Op.ATOMIC_DW_OR: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const oldLo = dv.getInt32(a, true);
        const oldHi = dv.getInt32(a + 4, true);
        dv.setInt32(a, oldLo | E[s]!, true);
        dv.setInt32(a + 4, oldHi | E[s + 1]!, true);
        return true;
      }
      case Op.ATOMIC_DW_FETCH_OR: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const oldLo = dv.getInt32(a, true);
        const oldHi = dv.getInt32(a + 4, true);
        dv.setInt32(a, oldLo | E[s]!, true);
        dv.setInt32(a + 4, oldHi | E[s + 1]!, true);
        E[s] = oldLo;
        E[s + 1] = oldHi;
        return true;
      }
      case Op.ATOMIC_DW_AND: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const oldLo = dv.getInt32(a, true);
        const oldHi = dv.getInt32(a + 4, true);
        dv.setInt32(a, oldLo & E[s]!, true);
        dv.setInt32(a + 4, oldHi & E[s + 1]!, true);
        return true;
      }
      case Op.ATOMIC_DW_FETCH_AND: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const oldLo = dv.getInt32(a, true);
        const oldHi = dv.getInt32(a + 4, true);
        dv.setInt32(a, oldLo & E[s]!, true);
        dv.setInt32(a + 4, oldHi & E[s + 1]!, true);
        E[s] = oldLo;
        E[s + 1] = oldHi;
        return true;
      }
      case Op.ATOMIC_DW_XOR: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const oldLo = dv.getInt32(a, true);
        const oldHi = dv.getInt32(a + 4, true);
        dv.setInt32(a, oldLo ^ E[s]!, true);
        dv.setInt32(a + 4, oldHi ^ E[s + 1]!, true);
        return true;
      }
      case Op.ATOMIC_DW_FETCH_XOR: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const oldLo = dv.getInt32(a, true);
        const oldHi = dv.getInt32(a + 4, true);
        dv.setInt32(a, oldLo ^ E[s]!, true);
        dv.setInt32(a + 4, oldHi ^ E[s + 1]!, true);
        E[s] = oldLo;
        E[s + 1] = oldHi;
        return true;
      }
      case Op.ATOMIC_DW_XCHG: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const oldLo = dv.getInt32(a, true);
        const oldHi = dv.getInt32(a + 4, true);
        dv.setInt32(a, E[s]!, true);
        dv.setInt32(a + 4, E[s + 1]!, true);
        E[s] = oldLo;
        E[s + 1] = oldHi;
        return true;
      }
      case Op.ATOMIC_DW_CMPXCHG: {
        const d = (rb + ((w >> 9) & 0xff)) | 0;
        const s = (rb + (w >>> 17)) | 0;
        const a = st.resolveAccess(E[d]!, E[d + 1]!, E[p | 1]!, 8, PERM_RW, (p - cb) >> 2, sLo);
        if (a < 0) return false;
        const oldLo = dv.getInt32(a, true);
        const oldHi = dv.getInt32(a + 4, true);
        if (oldLo === E[rb + 0] && oldHi === E[rb + 1]) {
          dv.setInt32(a, E[s]!, true);
          dv.setInt32(a + 4, E[s + 1]!, true);
        }
        E[rb + 0] = oldLo;
        E[rb + 1] = oldHi;
        return true;
      }
      default:
        st.setFault('unhandled', (p - cb) >> 2, { detail: w & 0x1ff });
        return false;
    }
  }
}
