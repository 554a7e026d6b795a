/**
 * ALU instructions (Linux check_alu_op, adjust_ptr_min_max_vals, adjust_scalar_min_max_vals): moves, scalar
 * arithmetic on tnums and bounds, and the rules of pointer arithmetic.
 */
import type { OpcodeForm, RawInsn } from '@ebpf-sim/isa';
import { constReg, immReg, scalarAlu, signExtend, syncBounds, zext32, type ScalarOp } from './bounds.js';
import { checkDst, checkSrc, type Env } from './env.js';
import { Reg, RegFlag, RegType, isPacketType, isPointer, markConstScalar, markUnknown, regTypeName, S64_MIN } from './reg.js';
import { isSockPointerType } from './sock.js';
import { Reject } from './reject.js';
import { tnumAdd, tnumIsConst, tnumSub } from './tnum.js';
import { sanitizeCheckBounds, sanitizeInfo, sanitizeNeeded, sanitizePtrAlu, sanitizeValAlu } from './sanitize.js';
import { checkMapValueRange } from './memory.js';

/** Linux bpf_alu_string, by operation code >> 4. */
const ALU_STRING = ['+=', '-=', '*=', '/=', '|=', '&=', '<<=', '>>=', 'neg', '%=', '^=', '=', 's>>=', 'endian'];

const SCALAR_OPS: Readonly<Record<number, ScalarOp>> = {
  0x00: 'add',
  0x10: 'sub',
  0x20: 'mul',
  0x40: 'or',
  0x50: 'and',
  0x60: 'lsh',
  0x70: 'rsh',
  0xa0: 'xor',
  0xc0: 'arsh',
};

/** Largest offset the verifier lets a pointer carry (Linux BPF_MAX_VAR_OFF). */
const MAX_VAR_OFF = 1 << 29;

export function checkAlu(env: Env, insn: RawInsn, form: OpcodeForm): void {
  const is64 = form.cls === 'alu64';
  switch (form.kind) {
    case 'alu':
      if (form.op === 0xb0) return checkMov(env, insn, is64);
      return checkBinary(env, insn, form, is64);
    case 'movsx':
      return checkMovsx(env, insn, form, is64);
    case 'neg':
      return checkUnary(env, insn, is64, (v) => -v);
    case 'end':
      return checkEnd(env, insn, form);
    default:
      return;
  }
}

function checkMov(env: Env, insn: RawInsn, is64: boolean): void {
  if (insn.src === insn.dst && insn.code === 0xbf) {
    checkSrc(env, insn.src);
    checkDst(env, insn.dst);
    return;
  }
  if ((insn.code & 0x08) === 0) {
    const dst = checkDst(env, insn.dst);
    // A copy of the shared immediate register: a known scalar without pointer facts (markConstScalar).
    dst.copyFrom(immReg(insn.imm, is64));
    return;
  }
  const src = checkSrc(env, insn.src);
  const dst = checkDst(env, insn.dst);
  if (is64) {
    if (src.type === RegType.SCALAR && src.id === 0 && !tnumIsConst(src.varOff)) src.id = env.newId();
    dst.copyFrom(src);
    return;
  }
  if (isPointer(src)) {
    if (!env.privileged) throw new Reject(`R${insn.src} partial copy of pointer`, 'ptr-leak');
    markUnknown(dst);
    zext32(dst);
    return;
  }
  // A 32-bit move keeps the link to the source when the value already fits 32 bits (Linux 6.x).
  const fits = src.umax <= 0xffff_ffffn;
  if (fits && src.id === 0 && !tnumIsConst(src.varOff)) src.id = env.newId();
  dst.copyFrom(src);
  if (!fits) dst.id = 0;
  zext32(dst);
}

function checkMovsx(env: Env, insn: RawInsn, form: OpcodeForm, is64: boolean): void {
  const src = checkSrc(env, insn.src);
  const dst = checkDst(env, insn.dst);
  if (isPointer(src)) {
    if (!env.privileged) throw new Reject(`R${insn.src} sign-extension part of pointer`, 'ptr-leak');
    markUnknown(dst);
    return;
  }
  const bits = (form.width * 8) as 8 | 16 | 32;
  const copy = src.clone();
  dst.copyFrom(copy);
  dst.id = 0;
  signExtend(dst, bits);
  if (!is64) zext32(dst);
}

/** The operand of neg/end: a scalar, or (privileged only) a pointer that becomes an unknown scalar. */
function unaryOperand(env: Env, regno: number): Reg | null {
  const dst = checkSrc(env, regno);
  checkDst(env, regno);
  if (!isPointer(dst)) return dst;
  if (!env.privileged) throw new Reject(`R${regno} pointer arithmetic prohibited`, 'ptr-arith');
  markUnknown(dst);
  return null;
}

function checkUnary(env: Env, insn: RawInsn, is64: boolean, fn: (v: bigint) => bigint): void {
  const dst = unaryOperand(env, insn.dst);
  if (!dst) return;
  if (tnumIsConst(dst.varOff)) {
    const v = fn(dst.varOff.value);
    markConstScalar(dst, is64 ? v : BigInt.asUintN(32, v));
    return;
  }
  markUnknown(dst);
  if (!is64) zext32(dst);
}

function swapBytes(v: bigint, bits: number): bigint {
  let out = 0n;
  for (let i = 0; i < bits / 8; i++) out = (out << 8n) | ((v >> BigInt(i * 8)) & 0xffn);
  return out;
}

function checkEnd(env: Env, insn: RawInsn, form: OpcodeForm): void {
  const dst = unaryOperand(env, insn.dst);
  if (!dst) return;
  const bits = form.width;
  const mask = (1n << BigInt(bits)) - 1n;
  // le on a little-endian machine only truncates; be and bswap reverse the bytes.
  const swap = form.id.startsWith('end.be') || form.id.startsWith('end.bswap');
  if (tnumIsConst(dst.varOff)) {
    const v = dst.varOff.value & mask;
    markConstScalar(dst, swap ? swapBytes(v, bits) : v);
    return;
  }
  dst.id = 0;
  if (!swap) {
    if (bits < 64) {
      const m = constReg(mask);
      scalarAlu('and', dst, m, true);
    }
    return;
  }
  // Linux 6.18 swaps the tnum's bytes too (tnum_bswap16/32/64), so known bits follow the bytes.
  const t = bits < 64 ? { value: dst.varOff.value & mask, mask: dst.varOff.mask & mask } : dst.varOff;
  const swapped = { value: swapBytes(t.value, bits), mask: swapBytes(t.mask, bits) };
  markUnknown(dst);
  dst.varOff = swapped;
  syncBounds(dst);
}

function checkBinary(env: Env, insn: RawInsn, form: OpcodeForm, is64: boolean): void {
  const op = form.op;
  const useSrc = form.source === 'X';
  let src: Reg;
  if (useSrc) {
    src = checkSrc(env, insn.src);
  } else {
    if ((op === 0x30 || op === 0x90) && insn.imm === 0) throw new Reject('div by zero', 'div-zero', { errno: 22 });
    if ((op === 0x60 || op === 0x70 || op === 0xc0) && (insn.imm < 0 || insn.imm >= (is64 ? 64 : 32))) {
      throw new Reject(`invalid shift ${insn.imm}`, 'shift', { errno: 22 });
    }
    src = immReg(insn.imm, is64);
  }
  const dst = checkSrc(env, insn.dst);
  checkDst(env, insn.dst);
  if (isPointer(dst) || isPointer(src)) {
    pointerArith(env, insn, op, dst, src, is64, useSrc);
    return;
  }
  if (op === 0x30 || op === 0x90) {
    const nonZero = is64 ? src.umin > 0n : src.u32min > 0;
    env.facts.recordDivisor(env.insnIdx, nonZero);
    divMod(dst, src, op, form.id.includes('.s'), is64);
    return;
  }
  const sop = SCALAR_OPS[op];
  if (!sop) {
    markUnknown(dst);
    return;
  }
  // adjust_scalar_min_max_vals: the same instruction may not add to a pointer on another path (unprivileged).
  if (!env.bypassSpec) sanitizeValAlu(env, insn);
  dst.id = 0;
  if ((sop === 'lsh' || sop === 'rsh' || sop === 'arsh') && useSrc) {
    const max = is64 ? src.umax : BigInt(src.u32max);
    if (max >= (is64 ? 64n : 32n)) {
      markUnknown(dst);
      if (!is64) zext32(dst);
      return;
    }
  }
  scalarAlu(sop, dst, src, is64);
}

function divMod(dst: Reg, src: Reg, op: number, signed: boolean, is64: boolean): void {
  // Linux 6.18 computes no range for division and modulo, except when both operands are constants.
  if (tnumIsConst(dst.varOff) && tnumIsConst(src.varOff) && !signed) {
    const bits = is64 ? 64 : 32;
    const a = BigInt.asUintN(bits, dst.varOff.value);
    const b = BigInt.asUintN(bits, src.varOff.value);
    if (b !== 0n) {
      markConstScalar(dst, op === 0x30 ? a / b : a % b);
      return;
    }
  }
  markUnknown(dst);
  if (!is64) zext32(dst);
}

function ptrArithForbidden(ptr: Reg, regno: number, scalar: Reg): void {
  if (ptr.flags & RegFlag.MAYBE_NULL) {
    throw new Reject(`R${regno} pointer arithmetic on ${regTypeName(ptr)} prohibited, null-check it first`, 'null-deref');
  }
  if (ptr.type === RegType.CONST_PTR_TO_MAP || ptr.type === RegType.PTR_TO_PACKET_END || ptr.type === RegType.PTR_TO_FUNC) {
    throw new Reject(`R${regno} pointer arithmetic on ${regTypeName(ptr)} prohibited`, 'ptr-arith');
  }
  // adjust_ptr_min_max_vals: no arithmetic at all on socket pointers.
  if (isSockPointerType(ptr.type)) throw new Reject(`R${regno} pointer arithmetic on ${regTypeName(ptr)} prohibited`, 'ptr-arith');
  // adjust_ptr_min_max_vals: flow keys take only a known offset.
  if (ptr.type === RegType.PTR_TO_FLOW_KEYS && !tnumIsConst(scalar.varOff)) {
    throw new Reject(`R${regno} pointer arithmetic on ${regTypeName(ptr)} prohibited`, 'ptr-arith');
  }
}

function pointerArith(env: Env, insn: RawInsn, op: number, dst: Reg, src: Reg, is64: boolean, useSrc: boolean): void {
  const opName = ALU_STRING[op >> 4] ?? '?';
  if (isPointer(dst) && isPointer(src)) {
    // Linux adjust_reg_min_max_vals: two pointers combine only by subtraction, for a loader allowed to leak
    // pointers, into an unknown scalar, in 64-bit and in 32-bit ALU alike (xdp_stats' `w4 -= w2` on pkt_end and
    // pkt); the 32-bit result is not zero-extended (Linux 6.18 prints `R4=scalar()`, fixtures/callbacks).
    if (op === 0x10 && env.privileged) {
      markUnknown(dst);
      return;
    }
    throw new Reject(`R${insn.dst} pointer ${opName} pointer prohibited`, 'ptr-arith');
  }
  // adjust_reg_min_max_vals: the scalar added to (or subtracted from) a pointer is needed precisely, before any
  // check of the pointer arithmetic itself.
  if (useSrc) env.precision.mark(env.insnIdx, 1 << (isPointer(dst) ? insn.src : insn.dst));
  if (!is64) {
    // adjust_ptr_min_max_vals: 32-bit ALU on a pointer gives a meaningless scalar, only by subtraction and only
    // when pointers may leak; again __mark_reg_unknown, without zero extension.
    if (op === 0x10 && env.privileged) {
      markUnknown(dst);
      return;
    }
    throw new Reject(`R${insn.dst} 32-bit pointer arithmetic prohibited`, 'ptr-arith');
  }
  const ptrIsDst = isPointer(dst);
  const ptr = ptrIsDst ? dst : src;
  const scalar = ptrIsDst ? src : dst;
  ptrArithForbidden(ptr, ptrIsDst ? insn.dst : insn.src, scalar);
  // Linux adjust_ptr_min_max_vals: the first window of sanitize_ptr_alu (unprivileged) comes before the
  // operator checks; the result's bounds check and the commit window after the operation.
  checkSaneOffset(ptr, scalar);
  const info = sanitizeInfo();
  if (sanitizeNeeded(op)) sanitizePtrAlu(env, insn, ptr, scalar, ptrIsDst, info, false);
  if (op === 0x50 || op === 0x40 || op === 0xa0) throw new Reject(`R${insn.dst} bitwise operator ${opName} on pointer prohibited`, 'ptr-arith');
  if (op !== 0x00 && op !== 0x10) throw new Reject(`R${insn.dst} pointer arithmetic with ${opName} operator prohibited`, 'ptr-arith');
  if (op === 0x10 && !ptrIsDst) throw new Reject(`R${insn.dst} tried to subtract pointer from scalar`, 'ptr-arith');
  movePointer(env, op, dst, ptr, scalar);
  sanitizeCheckBounds(env, insn, dst, (reg) => checkMapValueRange(insn.dst, reg));
  if (sanitizeNeeded(op)) sanitizePtrAlu(env, insn, dst, scalar, ptrIsDst, info, true);
}

/** check_reg_sane_offset on the scalar operand, before anything else looks at the operation. */
function checkSaneOffset(ptr: Reg, scalar: Reg): void {
  const typeName = regTypeName(ptr);
  if (tnumIsConst(scalar.varOff)) {
    const val = BigInt.asIntN(64, scalar.varOff.value);
    if (val >= BigInt(MAX_VAR_OFF) || val <= -BigInt(MAX_VAR_OFF)) {
      throw new Reject(`math between ${typeName} pointer and ${val} is not allowed`, 'ptr-arith');
    }
    return;
  }
  if (scalar.smin === S64_MIN) {
    throw new Reject(`math between ${typeName} pointer and register with unbounded min value is not allowed`, 'unbounded', { errno: 22 });
  }
  // check_reg_sane_offset looks at the minimum only, as Linux does: an unbounded maximum is for the access's own
  // check (check_packet_access, check_map_access, check_stack_access_within_bounds) to refuse.
  if (scalar.smin >= BigInt(MAX_VAR_OFF) || scalar.smin <= -BigInt(MAX_VAR_OFF)) {
    throw new Reject(`value ${scalar.smin} makes ${typeName} pointer be out of bounds`, 'unbounded', { errno: 22 });
  }
}

/** The pointer moved by the scalar (adjust_ptr_min_max_vals' BPF_ADD/BPF_SUB cases), into `dst`. */
function movePointer(env: Env, op: number, dst: Reg, ptr: Reg, scalar: Reg): void {
  const typeName = regTypeName(ptr);
  const result = ptr.clone();
  if (tnumIsConst(scalar.varOff)) {
    const val = BigInt.asIntN(64, scalar.varOff.value);
    const nextOff = op === 0x00 ? ptr.off + Number(val) : ptr.off - Number(val);
    if (Math.abs(nextOff) >= MAX_VAR_OFF) throw new Reject(`value ${val} makes ${typeName} pointer be out of bounds`, 'ptr-arith');
    result.off = nextOff;
    dst.copyFrom(result);
    return;
  }
  // The variable part of the pointer is a scalar: add or subtract the operand's range.
  const v = new Reg();
  v.type = RegType.SCALAR;
  v.varOff = ptr.varOff;
  v.smin = ptr.smin;
  v.smax = ptr.smax;
  v.umin = ptr.umin;
  v.umax = ptr.umax;
  v.s32min = ptr.s32min;
  v.s32max = ptr.s32max;
  v.u32min = ptr.u32min;
  v.u32max = ptr.u32max;
  scalarAlu(op === 0x00 ? 'add' : 'sub', v, scalar, true);
  result.varOff = op === 0x00 ? tnumAdd(ptr.varOff, scalar.varOff) : tnumSub(ptr.varOff, scalar.varOff);
  result.varOff = v.varOff;
  result.smin = v.smin;
  result.smax = v.smax;
  result.umin = v.umin;
  result.umax = v.umax;
  result.s32min = v.s32min;
  result.s32max = v.s32max;
  result.u32min = v.u32min;
  result.u32max = v.u32max;
  // check_reg_sane_offset on the result (dst_reg), as Linux does after adjusting its bounds.
  if (result.smin === S64_MIN) {
    throw new Reject(`math between ${typeName} pointer and register with unbounded min value is not allowed`, 'unbounded', { errno: 22 });
  }
  if (result.smin >= BigInt(MAX_VAR_OFF) || result.smin <= -BigInt(MAX_VAR_OFF)) {
    throw new Reject(`value ${result.smin} makes ${typeName} pointer be out of bounds`, 'unbounded', { errno: 22 });
  }
  if (isPacketType(ptr.type)) {
    // Something variable was added to a packet pointer: it needs its own bounds check.
    result.id = env.newId();
    result.range = 0;
  }
  dst.copyFrom(result);
}
