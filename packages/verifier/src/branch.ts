/**
 * Conditional jumps (Linux check_cond_jmp_op): deciding branches from bounds (is_branch_taken), refining
 * both operands on each side (regs_refine_cond_op), NULL checks that promote every copy with the same id,
 * and packet ranges learnt from `data + N > data_end` (try_match_pkt_pointers).
 */
import { pushSpeculative } from './sanitize.js';
import type { OpcodeForm, RawInsn } from '@ebpf-sim/isa';
import { boundsInvalid, immReg, syncBounds } from './bounds.js';
import { forEachReg } from './calls.js';
import { checkSrc, type Env } from './env.js';
import { Reg, RegFlag, RegType, U32_MAX, isPointer, markConstScalar } from './reg.js';
import { Reject } from './reject.js';
import { isSockPointerType } from './sock.js';
import type { VState } from './state.js';
import { low32, tnumAnd, tnumConst, tnumIntersect, tnumIsConst, tnumOr, tnumSubreg, tnumWithSubreg, U64_MAX } from './tnum.js';

export type CmpOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'sgt' | 'sge' | 'slt' | 'sle' | 'set' | 'nset';

const OPS: Readonly<Record<number, CmpOp>> = {
  0x10: 'eq',
  0x20: 'gt',
  0x30: 'ge',
  0x40: 'set',
  0x50: 'ne',
  0x60: 'sgt',
  0x70: 'sge',
  0xa0: 'lt',
  0xb0: 'le',
  0xc0: 'slt',
  0xd0: 'sle',
};

const NEGATE: Readonly<Record<CmpOp, CmpOp>> = {
  eq: 'ne',
  ne: 'eq',
  gt: 'le',
  le: 'gt',
  ge: 'lt',
  lt: 'ge',
  sgt: 'sle',
  sle: 'sgt',
  sge: 'slt',
  slt: 'sge',
  set: 'nset',
  nset: 'set',
};

/** The four bounds a comparison reads: a register's own 64-bit ones, or its subregister's as numbers. */
interface Range<T extends number | bigint> {
  umin: T;
  umax: T;
  smin: T;
  smax: T;
}

const RANGE32_A: Range<number> = { umin: 0, umax: 0, smin: 0, smax: 0 };
const RANGE32_B: Range<number> = { umin: 0, umax: 0, smin: 0, smax: 0 };

/** The subregister bounds of `r` in `out` (a shared scratch object: no allocation per jump). */
function range32(r: Reg, out: Range<number>): Range<number> {
  out.umin = r.u32min;
  out.umax = r.u32max;
  out.smin = r.s32min;
  out.smax = r.s32max;
  return out;
}

/** 1: always taken, 0: never, -1: unknown (Linux is_scalar_branch_taken). */
function scalarBranchTaken(a: Reg, b: Reg, op: CmpOp, is32: boolean): number {
  switch (op) {
    case 'eq':
      return is32 ? equal32(a, b) : equal64(a, b);
    case 'ne': {
      const r = is32 ? equal32(a, b) : equal64(a, b);
      return r < 0 ? -1 : 1 - r;
    }
    case 'set':
      return is32 ? bitSet32(a, b) : bitSet64(a, b);
    case 'nset': {
      const r = is32 ? bitSet32(a, b) : bitSet64(a, b);
      return r < 0 ? -1 : 1 - r;
    }
    default:
      return is32 ? rangeTaken(range32(a, RANGE32_A), range32(b, RANGE32_B), op) : rangeTaken(a, b, op);
  }
}

function rangesApart<T extends number | bigint>(x: Range<T>, y: Range<T>): boolean {
  return x.umin > y.umax || x.umax < y.umin || x.smin > y.smax || x.smax < y.smin;
}

function equal64(a: Reg, b: Reg): number {
  const ta = a.varOff;
  const tb = b.varOff;
  if (tnumIsConst(ta) && tnumIsConst(tb)) return ta.value === tb.value ? 1 : 0;
  if (rangesApart(a, b)) return 0;
  if (((ta.value ^ tb.value) & ~(ta.mask | tb.mask) & U64_MAX) !== 0n) return 0;
  return -1;
}

/** equal64 on the subregisters, in numbers. */
function equal32(a: Reg, b: Reg): number {
  const va = low32(a.varOff.value);
  const ma = low32(a.varOff.mask);
  const vb = low32(b.varOff.value);
  const mb = low32(b.varOff.mask);
  if (ma === 0 && mb === 0) return va === vb ? 1 : 0;
  if (rangesApart(range32(a, RANGE32_A), range32(b, RANGE32_B))) return 0;
  if (((va ^ vb) & ~(ma | mb)) !== 0) return 0;
  return -1;
}

function bitSet64(a: Reg, b: Reg): number {
  const ta = a.varOff;
  const tb = b.varOff;
  if (!tnumIsConst(tb)) return -1;
  if ((ta.value & tb.value) !== 0n) return 1;
  if (((ta.value | ta.mask) & tb.value) === 0n) return 0;
  return -1;
}

function bitSet32(a: Reg, b: Reg): number {
  if (low32(b.varOff.mask) !== 0) return -1;
  const va = low32(a.varOff.value);
  const vb = low32(b.varOff.value);
  if ((va & vb) !== 0) return 1;
  if (((va | low32(a.varOff.mask)) & vb) === 0) return 0;
  return -1;
}

/** The ordered comparisons, decided by the ranges alone. */
function rangeTaken<T extends number | bigint>(x: Range<T>, y: Range<T>, op: CmpOp): number {
  switch (op) {
    case 'gt':
      if (x.umin > y.umax) return 1;
      if (x.umax <= y.umin) return 0;
      return -1;
    case 'ge':
      if (x.umin >= y.umax) return 1;
      if (x.umax < y.umin) return 0;
      return -1;
    case 'lt':
      if (x.umax < y.umin) return 1;
      if (x.umin >= y.umax) return 0;
      return -1;
    case 'le':
      if (x.umax <= y.umin) return 1;
      if (x.umin > y.umax) return 0;
      return -1;
    case 'sgt':
      if (x.smin > y.smax) return 1;
      if (x.smax <= y.smin) return 0;
      return -1;
    case 'sge':
      if (x.smin >= y.smax) return 1;
      if (x.smax < y.smin) return 0;
      return -1;
    case 'slt':
      if (x.smax < y.smin) return 1;
      if (x.smin >= y.smax) return 0;
      return -1;
    case 'sle':
      if (x.smax <= y.smin) return 1;
      if (x.smin > y.smax) return 0;
      return -1;
    default:
      return -1;
  }
}

function notNull(r: Reg): boolean {
  if (r.flags & RegFlag.MAYBE_NULL) return false;
  switch (r.type) {
    case RegType.PTR_TO_STACK:
    case RegType.PTR_TO_CTX:
    case RegType.PTR_TO_MAP_VALUE:
    case RegType.PTR_TO_MAP_KEY:
    case RegType.CONST_PTR_TO_MAP:
    case RegType.PTR_TO_MEM:
    case RegType.PTR_TO_FUNC:
      return true;
    case RegType.PTR_TO_BTF_ID:
      return (r.flags & RegFlag.TRUSTED) !== 0;
    default:
      return false;
  }
}

function branchTaken(a: Reg, b: Reg, op: CmpOp, is32: boolean): number {
  const aPtr = isPointer(a);
  const bPtr = isPointer(b);
  if (aPtr && bPtr) return -1;
  if (aPtr || bPtr) {
    const ptr = aPtr ? a : b;
    const other = aPtr ? b : a;
    if (!notNull(ptr) || is32) return -1;
    if (!tnumIsConst(other.varOff) || other.varOff.value !== 0n) return -1;
    if (op === 'eq') return 0;
    if (op === 'ne') return 1;
    return -1;
  }
  return scalarBranchTaken(a, b, op, is32);
}

/** Unsigned 32-bit bounds that describe no value (min above max): boundsInvalid then says the path is impossible. */
function markNoValue32(r: Reg): void {
  r.u32min = U32_MAX;
  r.u32max = 0;
}

/** Narrow `a` and `b` to the values where `a OP b` holds (Linux regs_refine_cond_op). */
function refine(a: Reg, b: Reg, op: CmpOp, is32: boolean): void {
  switch (op) {
    case 'eq': {
      if (is32) {
        const t = tnumIntersect(tnumSubreg(a.varOff), tnumSubreg(b.varOff));
        a.varOff = tnumWithSubreg(a.varOff, t);
        b.varOff = tnumWithSubreg(b.varOff, t);
        a.u32min = b.u32min = Math.max(a.u32min, b.u32min);
        a.u32max = b.u32max = Math.min(a.u32max, b.u32max);
        a.s32min = b.s32min = Math.max(a.s32min, b.s32min);
        a.s32max = b.s32max = Math.min(a.s32max, b.s32max);
      } else {
        const t = tnumIntersect(a.varOff, b.varOff);
        a.varOff = b.varOff = t;
        a.umin = b.umin = a.umin > b.umin ? a.umin : b.umin;
        a.umax = b.umax = a.umax < b.umax ? a.umax : b.umax;
        a.smin = b.smin = a.smin > b.smin ? a.smin : b.smin;
        a.smax = b.smax = a.smax < b.smax ? a.smax : b.smax;
      }
      return;
    }
    case 'ne': {
      // Only a constant at the edge of the other's range narrows it.
      const fix = (x: Reg, c: Reg): void => {
        const tc = is32 ? tnumSubreg(c.varOff) : c.varOff;
        if (!tnumIsConst(tc)) return;
        const v = tc.value;
        if (is32) {
          const n = Number(v);
          // The 32-bit unsigned bounds hold only values in [0, 2^32) (reg.ts): a bound stepping outside says
          // no value is left.
          if (x.u32min === n) {
            if (n === U32_MAX) markNoValue32(x);
            else x.u32min++;
          } else if (x.u32max === n) {
            if (n === 0) markNoValue32(x);
            else x.u32max--;
          }
          const sv = n | 0;
          if (x.s32min === sv) x.s32min++;
          else if (x.s32max === sv) x.s32max--;
        } else {
          if (x.umin === v) x.umin++;
          else if (x.umax === v) x.umax--;
          const sv = BigInt.asIntN(64, v);
          if (x.smin === sv) x.smin++;
          else if (x.smax === sv) x.smax--;
        }
      };
      fix(a, b);
      fix(b, a);
      return;
    }
    case 'set': {
      const tb = is32 ? tnumSubreg(b.varOff) : b.varOff;
      if (!tnumIsConst(tb)) return;
      const v = tb.value;
      if (v !== 0n && (v & (v - 1n)) === 0n) a.varOff = tnumOr(a.varOff, tnumConst(v));
      return;
    }
    case 'nset': {
      const tb = is32 ? tnumSubreg(b.varOff) : b.varOff;
      if (!tnumIsConst(tb)) return;
      a.varOff = tnumAnd(a.varOff, tnumConst(~tb.value & U64_MAX));
      return;
    }
    case 'lt':
      return refine(b, a, 'gt', is32);
    case 'le':
      return refine(b, a, 'ge', is32);
    case 'slt':
      return refine(b, a, 'sgt', is32);
    case 'sle':
      return refine(b, a, 'sge', is32);
    case 'gt':
    case 'ge': {
      const d = op === 'gt' ? 1 : 0;
      if (is32) {
        const lo = b.u32min + d;
        const hi = a.u32max - d;
        if (lo > U32_MAX) markNoValue32(a);
        else a.u32min = Math.max(a.u32min, lo);
        if (hi < 0) markNoValue32(b);
        else b.u32max = Math.min(b.u32max, hi);
      } else {
        const bd = BigInt(d);
        a.umin = a.umin > b.umin + bd ? a.umin : b.umin + bd;
        b.umax = b.umax < a.umax - bd ? b.umax : a.umax - bd;
      }
      return;
    }
    case 'sgt':
    case 'sge': {
      const d = op === 'sgt' ? 1 : 0;
      if (is32) {
        a.s32min = Math.max(a.s32min, b.s32min + d);
        b.s32max = Math.min(b.s32max, a.s32max - d);
      } else {
        const bd = BigInt(d);
        a.smin = a.smin > b.smin + bd ? a.smin : b.smin + bd;
        b.smax = b.smax < a.smax - bd ? b.smax : a.smax - bd;
      }
      return;
    }
  }
}

/** Copy the refined value of `r` to every other scalar sharing its id, in every frame. */
function syncLinked(state: VState, r: Reg): void {
  if (!r.id || r.type !== RegType.SCALAR) return;
  // forEachReg's walk without its closure, and a frame's shared stack is copied only when a spilled register
  // there is linked (this runs at every conditional jump on scalars).
  const id = r.id;
  for (const f of state.frames) {
    for (const o of f.regs) if (o !== r && o.type === RegType.SCALAR && o.id === id) o.copyFrom(r);
    const spilled = f.spilled;
    for (let spi = 0; spi < spilled.length; spi++) {
      const o = spilled[spi];
      if (o && o !== r && o.type === RegType.SCALAR && o.id === id) f.ownStack().spilled[spi]?.copyFrom(r);
    }
  }
}

function markNullCheck(state: VState, id: number, isNull: boolean): void {
  forEachReg(state, (r) => {
    if (r.id !== id || !(r.flags & RegFlag.MAYBE_NULL)) return;
    if (isNull) {
      markConstScalar(r, 0n);
    } else {
      r.flags &= ~RegFlag.MAYBE_NULL;
      // Map values, inner maps and ringbuf records lose the id once checked; references keep ref_obj_id.
      if (r.type === RegType.PTR_TO_MAP_VALUE || r.type === RegType.CONST_PTR_TO_MAP || r.type === RegType.PTR_TO_MEM || r.type === RegType.PTR_TO_BTF_ID)
        r.id = 0;
      // Socket pointers too (mark_ptr_or_null_reg resets the id of every type that cannot hold a spin lock).
      if (isSockPointerType(r.type)) r.id = 0;
    }
  });
  if (isNull) state.refs = state.refs.filter((ref) => ref.id !== id);
}

const AT_PKT_END = -1;
const BEYOND_PKT_END = -2;
const MAX_PACKET_OFF = 0xffffn;

function findGoodPktPointers(state: VState, dst: Reg, open: boolean): void {
  if (dst.off < 0 || (dst.off === 0 && open)) return;
  if (dst.umax > MAX_PACKET_OFF || dst.umax + BigInt(dst.off) > MAX_PACKET_OFF) return;
  // `data + N < data_end` proves N + 1 bytes (checked against Linux 6.18).
  const newRange = open ? dst.off + 1 : dst.off;
  const type = dst.type;
  const id = dst.id;
  forEachReg(state, (r) => {
    if (r.type === type && r.id === id && r.range < newRange) r.range = newRange;
  });
}

function markPktEnd(r: Reg, open: boolean): void {
  r.range = open ? BEYOND_PKT_END : AT_PKT_END;
}

/** `dst OP src` with packet pointers: learn ranges on the side where the access is safe. */
function matchPktPointers(op: CmpOp, dstNo: number, srcNo: number, taken: VState, fall: VState): boolean {
  const d = fall.cur.regs[dstNo];
  const s = fall.cur.regs[srcNo];
  if (!d || !s) return false;
  const dstIsData =
    (d.type === RegType.PTR_TO_PACKET && s.type === RegType.PTR_TO_PACKET_END) || (d.type === RegType.PTR_TO_PACKET_META && s.type === RegType.PTR_TO_PACKET);
  const srcIsData =
    (d.type === RegType.PTR_TO_PACKET_END && s.type === RegType.PTR_TO_PACKET) || (d.type === RegType.PTR_TO_PACKET && s.type === RegType.PTR_TO_PACKET_META);
  if (!dstIsData && !srcIsData) return false;
  const pick = (st: VState, n: number): Reg => st.cur.regs[n] ?? new Reg();
  const good = (st: VState, n: number, open: boolean): void => findGoodPktPointers(st, pick(st, n), open);
  const end = (st: VState, n: number, open: boolean): void => markPktEnd(pick(st, n), open);
  if (dstIsData) {
    switch (op) {
      case 'gt':
        good(fall, dstNo, false);
        end(taken, dstNo, true);
        return true;
      case 'lt':
        good(taken, dstNo, true);
        end(fall, dstNo, false);
        return true;
      case 'ge':
        good(fall, dstNo, true);
        end(taken, dstNo, false);
        return true;
      case 'le':
        good(taken, dstNo, false);
        end(fall, dstNo, true);
        return true;
      default:
        return false;
    }
  }
  switch (op) {
    case 'gt':
      good(taken, srcNo, true);
      end(fall, srcNo, false);
      return true;
    case 'lt':
      good(fall, srcNo, false);
      end(taken, srcNo, true);
      return true;
    case 'ge':
      good(taken, srcNo, false);
      end(fall, srcNo, true);
      return true;
    case 'le':
      good(fall, srcNo, true);
      end(taken, srcNo, false);
      return true;
    default:
      return false;
  }
}

export interface BranchOutcome {
  /** Continue at the fall-through instruction. */
  readonly fallthrough: boolean;
  /** The state for the jump target, when the jump may be taken and the fall-through may too. */
  readonly other: VState | null;
  /** Only the jump can happen: continue at the target with the current state. */
  readonly jumpOnly: boolean;
}

/** refineInState's copy of an immediate operand. */
const IMM_SCRATCH = new Reg();

function refineInState(st: VState, dstNo: number, srcNo: number, srcConst: Reg | null, op: CmpOp, is32: boolean): boolean {
  const a = st.cur.regs[dstNo];
  // An immediate is refined in a scratch copy (it is not kept anywhere): no register allocated per jump.
  const b = srcConst ? IMM_SCRATCH.copyFrom(srcConst) : st.cur.regs[srcNo];
  if (!a || !b || a.type !== RegType.SCALAR || b.type !== RegType.SCALAR) return true;
  refine(a, b, op, is32);
  syncBounds(a);
  syncBounds(b);
  if (boundsInvalid(a) || boundsInvalid(b)) return false;
  syncLinked(st, a);
  if (!srcConst) syncLinked(st, b);
  return true;
}

/** `p OP other` is a NULL check of an *_or_null pointer. */
function isNullCheck(p: Reg, other: Reg, op: CmpOp, is32: boolean): boolean {
  return (
    (p.flags & RegFlag.MAYBE_NULL) !== 0 &&
    !is32 &&
    other.type === RegType.SCALAR &&
    tnumIsConst(other.varOff) &&
    other.varOff.value === 0n &&
    (op === 'eq' || op === 'ne')
  );
}

/** The outcomes without a second state, shared (no object per conditional jump). */
const JUMP_ONLY: BranchOutcome = { fallthrough: false, other: null, jumpOnly: true };
const FALL_ONLY: BranchOutcome = { fallthrough: true, other: null, jumpOnly: false };

/** Check a conditional jump and split the state. */
export function checkCondJump(env: Env, insn: RawInsn, form: OpcodeForm): BranchOutcome {
  const op = OPS[form.op];
  if (!op) throw new Reject(`invalid BPF_JMP/JMP32 opcode ${insn.code.toString(16)}`, 'reserved');
  const is32 = form.cls === 'jmp32';
  const dst = checkSrc(env, insn.dst);
  const useSrc = form.source === 'X';
  const src = useSrc ? checkSrc(env, insn.src) : immReg(insn.imm, true);
  const srcConst = useSrc ? null : src;

  // NULL checks of *_or_null pointers: `if (p == 0)`/`if (p != 0)`.
  if (isNullCheck(dst, src, op, is32) || (useSrc && isNullCheck(src, dst, op, is32))) {
    const p = isNullCheck(dst, src, op, is32) ? dst : src;
    const id = p.id;
    const other = env.state.clone();
    // Taken branch of `== 0` is the NULL side.
    markNullCheck(other, id, op === 'eq');
    markNullCheck(env.state, id, op !== 'eq');
    return { fallthrough: true, other, jumpOnly: false };
  }

  const taken = branchTaken(dst, src, op, is32);
  if (taken >= 0) {
    // The decision relied on exact bounds: they must be compared exactly when pruning (Linux check_cond_jmp_op:
    // each non-pointer operand, dst first).
    if (!isPointer(dst)) env.precision.markReg(insn.dst);
    if (useSrc && !isPointer(src)) env.precision.markReg(insn.src);
  }
  // Linux sanitize_speculative_path: the side never taken is explored speculatively (unprivileged).
  if (taken >= 0) pushSpeculative(env, insn, taken === 1 ? env.insnIdx + 1 : env.insnIdx + insn.off + 1);
  if (taken === 1) return JUMP_ONLY;
  if (taken === 0) return FALL_ONLY;

  // Scalars sharing the compared registers' ids, recorded before the branch is pushed (Linux collect_linked_regs).
  env.precision.linkedRegs(useSrc && src.type === RegType.SCALAR ? src.id : 0, dst.type === RegType.SCALAR ? dst.id : 0);
  const other = env.state.clone();
  if (isPointer(dst) || isPointer(src)) {
    const matched = useSrc && !is32 && matchPktPointers(op, insn.dst, insn.src, other, env.state);
    if (!matched && !env.privileged) {
      const culprit = isPointer(dst) ? insn.dst : insn.src;
      throw new Reject(`R${culprit} pointer comparison prohibited`, 'ptr-leak');
    }
    return { fallthrough: true, other, jumpOnly: false };
  }
  const takenOk = refineInState(other, insn.dst, insn.src, srcConst, op, is32);
  const fallOk = refineInState(env.state, insn.dst, insn.src, srcConst, NEGATE[op], is32);
  if (!takenOk && !fallOk) return FALL_ONLY;
  if (!takenOk) return FALL_ONLY;
  if (!fallOk) {
    env.state = other;
    return JUMP_ONLY;
  }
  return { fallthrough: true, other, jumpOnly: false };
}
