/**
 * Spectre v1 sanitising of pointer arithmetic for a loader without CAP_PERFMON (Linux !env->bypass_spec_v1), as
 * Linux 6.18's verifier does it:
 *
 * - {@link sanitizePtrAlu} (sanitize_ptr_alu with retrieve_ptr_limit and update_alu_sanitation_state): an
 *   `r += r`/`r -= r` between a map value or stack pointer and a scalar gets an `alu_limit`, how far the
 *   pointer may move, which do_misc_fixups turns into a BPF_REG_AX masking sequence (fixups.ts
 *   `sanitizeAluInsns`); a variable offset also pushes a speculative path where the pointer did not move (what
 *   the masking leaves when the offset was out of range);
 * - {@link sanitizeValAlu}: the same instruction on scalars, so that paths that disagree are refused;
 * - {@link sanitizeCheckBounds}: the moved pointer must still be inside its map value or stack frame;
 * - {@link pushSpeculative} (sanitize_speculative_path): a branch the verifier decided still has its other side
 *   checked, as a speculative path; an error there that a barrier can stop (EPERM, EACCES, EINVAL:
 *   error_recoverable_with_nospec) becomes a `nospec` before the instruction instead (verifier.ts).
 *
 * Messages and errnos are Linux's (sanitize_err, check_stack_access_for_ptr_arithmetic), recorded on 6.18 by
 * packages/bpf/fixtures/unpriv.
 */
import type { RawInsn } from '@ebpf-sim/isa';
import type { Env } from './env.js';
import { type Reg, RegType, markUnknown } from './reg.js';
import { Reject } from './reject.js';
import { tnumIsConst } from './tnum.js';

/** Linux's BPF_ALU_* bits of insn_aux_data.alu_state (include/linux/bpf_verifier.h). */
export const AluSanitize = {
  SANITIZE_SRC: 1 << 0,
  SANITIZE_DST: 1 << 1,
  NEG_VALUE: 1 << 2,
  NON_POINTER: 1 << 3,
  IMMEDIATE: 1 << 4,
} as const;

/** sanitize_err's reasons (Linux REASON_*). */
const Reason = {
  BOUNDS: -1,
  TYPE: -2,
  PATHS: -3,
  LIMIT: -4,
} as const;

/** MAX_BPF_STACK. */
const MAX_BPF_STACK = 512;
const ADD = 0x00;
const SUB = 0x10;
const SOURCE_X = 0x08;

/** Linux struct bpf_sanitize_info: the first window's alu_state/alu_limit and direction, for the commit window. */
export interface SanitizeInfo {
  aluState: number;
  aluLimit: number;
  maskToLeft: boolean;
}

const SCRATCH_INFO: SanitizeInfo = { aluState: 0, aluLimit: 0, maskToLeft: false };

/**
 * A cleared bpf_sanitize_info for one instruction's two windows. One object serves every instruction (the
 * windows of one instruction never interleave with another's): no allocation per pointer operation.
 */
export function sanitizeInfo(): SanitizeInfo {
  SCRATCH_INFO.aluState = 0;
  SCRATCH_INFO.aluLimit = 0;
  SCRATCH_INFO.maskToLeft = false;
  return SCRATCH_INFO;
}

/** Linux sanitize_needed. */
export function sanitizeNeeded(op: number): boolean {
  return op === ADD || op === SUB;
}

/** Linux can_skip_alu_sanitation: CAP_PERFMON, an immediate operand, or a barrier already before the instruction. */
function canSkip(env: Env, insn: RawInsn): boolean {
  return env.bypassSpec || (insn.code & SOURCE_X) === 0 || env.facts.nospecAt(env.insnIdx);
}

/** Linux retrieve_ptr_limit: how far the pointer may move in the masked direction, or a reason. */
function retrievePtrLimit(ptr: Reg, maskToLeft: boolean): number {
  let max: number;
  let limit: number;
  switch (ptr.type) {
    case RegType.PTR_TO_STACK:
      // Offset 0 is out of bounds but an acceptable start going left (the frame pointer itself).
      max = MAX_BPF_STACK + (maskToLeft ? 1 : 0);
      limit = -(Number(BigInt.asIntN(64, ptr.varOff.value)) + ptr.off) >>> 0;
      break;
    case RegType.PTR_TO_MAP_VALUE:
      max = ptr.map?.valueSize ?? 0;
      limit = Number(BigInt.asUintN(32, (maskToLeft ? ptr.smin : ptr.umax) + BigInt(ptr.off)));
      break;
    default:
      return Reason.TYPE;
  }
  if (limit >= max) return Reason.LIMIT;
  return limit;
}

/** Linux update_alu_sanitation_state: every path through the instruction must want the same masking. */
function updateAluState(env: Env, state: number, limit: number): number {
  return env.facts.recordAluSanitize(env.insnIdx, state, limit) ? 0 : Reason.PATHS;
}

/** Linux sanitize_err: the refusal for a reason. */
function sanitizeErr(insn: RawInsn, reason: number, offIsDst: boolean): Reject {
  const err = 'pointer arithmetic with it prohibited for !root';
  const op = (insn.code & 0xf0) === ADD ? 'add' : 'sub';
  switch (reason) {
    case Reason.BOUNDS:
      return new Reject(`R${offIsDst ? insn.dst : insn.src} has unknown scalar with mixed signed bounds, ${err}`, 'ptr-arith');
    case Reason.TYPE:
      return new Reject(`R${offIsDst ? insn.src : insn.dst} has pointer with unsupported alu operation, ${err}`, 'ptr-arith');
    case Reason.PATHS:
      return new Reject(`R${insn.dst} tried to ${op} from different maps, paths or scalars, ${err}`, 'ptr-arith');
    default:
      return new Reject(`R${insn.dst} tried to ${op} beyond pointer bounds, ${err}`, 'ptr-arith');
  }
}

/** Linux sanitize_val_alu: `r += r`/`r -= r` on scalars is marked so that a pointer path through it is refused. */
export function sanitizeValAlu(env: Env, insn: RawInsn): void {
  if (!sanitizeNeeded(insn.code & 0xf0) || canSkip(env, insn)) return;
  const reason = updateAluState(env, AluSanitize.NON_POINTER, 0);
  if (reason < 0) throw sanitizeErr(insn, reason, false);
}

/**
 * Linux sanitize_ptr_alu, both windows: before the operation (`commit` false) it checks the offset's signs and
 * the pointer's room and pushes the speculative path where the pointer stays put; after it (`commit` true) it
 * records the distance the pointer moved as the instruction's alu_limit. `ptr` is the pointer operand before
 * the operation (the result, on commit), `off` the scalar operand; `ptrIsDst` says which register holds the
 * pointer.
 */
export function sanitizePtrAlu(env: Env, insn: RawInsn, ptr: Reg, off: Reg, ptrIsDst: boolean, info: SanitizeInfo, commit: boolean): void {
  if (canSkip(env, insn)) return;
  const op = insn.code & 0xf0;
  const offIsImm = tnumIsConst(off.varOff);
  const offIsNeg = off.smin < 0n;
  // Speculative paths only explore: the masking was decided on the paths that got here for real.
  if (!env.state.speculative) {
    if (!commit) {
      if (!offIsImm && off.smin < 0n !== off.smax < 0n) throw sanitizeErr(insn, Reason.BOUNDS, !ptrIsDst);
      info.maskToLeft = (op === ADD && offIsNeg) || (op === SUB && !offIsNeg);
    }
    const limit = retrievePtrLimit(ptr, info.maskToLeft);
    if (limit < 0) throw sanitizeErr(insn, limit, !ptrIsDst);
    if (commit) {
      // The masking window narrowed to the move observed.
      const reason = updateAluState(env, info.aluState, Math.abs(info.aluLimit - limit));
      if (reason < 0) throw sanitizeErr(insn, reason, !ptrIsDst);
    } else {
      info.aluState =
        (offIsNeg ? AluSanitize.NEG_VALUE : 0) | (offIsImm ? AluSanitize.IMMEDIATE : 0) | (ptrIsDst ? AluSanitize.SANITIZE_SRC : AluSanitize.SANITIZE_DST);
      info.aluLimit = limit;
      // Compare scalars exactly when pruning, so that paths with other limits are found (Linux explore_alu_limits).
      if (!offIsImm) env.exploreAluLimits = true;
    }
  }
  // A known offset becomes an immediate in the patch: nothing is truncated, nothing to simulate.
  if (commit || offIsImm) return;
  // The masked offset may be 0 under speculation: the destination then holds the pointer unmoved.
  const branch = env.state.clone();
  branch.speculative = true;
  const dst = branch.cur.regs[insn.dst];
  if (dst && !ptrIsDst) dst.copyFrom(ptr);
  env.pushBranch(branch, env.insnIdx + 1);
}

/**
 * Linux sanitize_check_bounds: the moved pointer must stay inside its stack frame or map value, so that the
 * masking never truncates a real access. `mapRange` is check_map_access with the pointer's own offset and
 * size 1 (it throws Linux's lines about the value).
 */
export function sanitizeCheckBounds(env: Env, insn: RawInsn, dst: Reg, mapRange: (reg: Reg) => void): void {
  if (env.bypassSpec) return;
  const regno = insn.dst;
  switch (dst.type) {
    case RegType.PTR_TO_STACK: {
      // check_stack_access_for_ptr_arithmetic, `off` including the constant part of var_off.
      const off = dst.off + Number(BigInt.asIntN(64, dst.varOff.value));
      if (!tnumIsConst(dst.varOff)) {
        const t = dst.varOff;
        throw new Reject(
          `R${regno} variable stack access prohibited for !root, var_off=(0x${t.value.toString(16)}; 0x${t.mask.toString(16)}) off=${off}`,
          'ptr-arith',
        );
      }
      if (off >= 0 || off < -MAX_BPF_STACK) {
        throw new Reject(`R${regno} stack pointer arithmetic goes out of range, prohibited for !root; off=${off}`, 'ptr-arith');
      }
      return;
    }
    case RegType.PTR_TO_MAP_VALUE:
      try {
        mapRange(dst);
      } catch (e) {
        if (!(e instanceof Reject)) throw e;
        throw new Reject(e.line, 'ptr-arith', { more: [...e.more, `R${regno} pointer arithmetic of map value goes out of range, prohibited for !root`] });
      }
      return;
    default:
      return;
  }
}

/**
 * Linux sanitize_speculative_path for a branch the verifier decided: the side never taken is still explored, as
 * a speculative path, with the compared registers unknown.
 */
export function pushSpeculative(env: Env, insn: RawInsn, target: number): void {
  if (env.bypassSpec) return;
  const branch = env.state.clone();
  branch.speculative = true;
  const regs = branch.cur.regs;
  const dst = regs[insn.dst];
  if (dst) markUnknown(dst);
  if ((insn.code & SOURCE_X) !== 0) {
    const src = regs[insn.src];
    if (src) markUnknown(src);
  }
  env.pushBranch(branch, target);
}
