/** Operator spellings shared by both printers and the LLVM assembler. */
import { AluOp, AtomicOp, JmpOp } from './opcodes.js';

/** Assignment operators of ALU ops; the kernel (bpf_alu_string) and LLVM spell them alike. */
export const ALU_OPERATORS: Readonly<Record<number, string>> = {
  [AluOp.ADD]: '+=',
  [AluOp.SUB]: '-=',
  [AluOp.MUL]: '*=',
  [AluOp.DIV]: '/=',
  [AluOp.OR]: '|=',
  [AluOp.AND]: '&=',
  [AluOp.LSH]: '<<=',
  [AluOp.RSH]: '>>=',
  [AluOp.MOD]: '%=',
  [AluOp.XOR]: '^=',
  [AluOp.MOV]: '=',
  [AluOp.ARSH]: 's>>=',
};

/** Comparison operators of conditional jumps, shared with the LLVM assembler. */
export const JMP_OPERATORS: Readonly<Record<number, string>> = {
  [JmpOp.JEQ]: '==',
  [JmpOp.JGT]: '>',
  [JmpOp.JGE]: '>=',
  [JmpOp.JSET]: '&',
  [JmpOp.JNE]: '!=',
  [JmpOp.JSGT]: 's>',
  [JmpOp.JSGE]: 's>=',
  [JmpOp.JLT]: '<',
  [JmpOp.JLE]: '<=',
  [JmpOp.JSLT]: 's<',
  [JmpOp.JSLE]: 's<=',
};

/** Operators of the non-fetching atomics (`lock *(u64 *)(r1 + 0x0) += r2`). */
export const ATOMIC_OPERATORS: Readonly<Record<number, string>> = {
  [AtomicOp.ADD]: '+=',
  [AtomicOp.OR]: '|=',
  [AtomicOp.AND]: '&=',
  [AtomicOp.XOR]: '^=',
};

/** Names of the fetching atomics (`atomic_fetch_add`). */
export const ATOMIC_FETCH_NAMES: Readonly<Record<number, string>> = {
  [AtomicOp.ADD | AtomicOp.FETCH]: 'add',
  [AtomicOp.OR | AtomicOp.FETCH]: 'or',
  [AtomicOp.AND | AtomicOp.FETCH]: 'and',
  [AtomicOp.XOR | AtomicOp.FETCH]: 'xor',
};
