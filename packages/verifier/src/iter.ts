/**
 * Open-coded iterators and may_goto, as Linux's verifier models them: an iterator (`struct bpf_iter_<type>` on
 * the stack) lives in STACK_ITER slots whose first slot's spilled register holds its state (ACTIVE or DRAINED),
 * its depth and the reference its `_new()` took (mark_stack_slots_iter, is_iter_reg_valid_init,
 * unmark_stack_slots_iter); `_next()` forks the path (process_iter_next_call), and a loop over `_next()` or a
 * may_goto converges when the state at the loop head is within the one being explored (is_state_visited).
 */
import type { RawInsn } from '@ebpf-sim/isa';
import type { Env } from './env.js';
import { frameOf, growStack } from './memory.js';
import { Reg, RegType, markConstScalar, markPointer } from './reg.js';
import { ITER_ACTIVE, ITER_DRAINED } from './iter-state.js';
import { Reject } from './reject.js';
import type { FuncState } from './state.js';
import { Slot } from './state.js';
import { tnumIsConst } from './tnum.js';

/** Stack slots of an iterator: every iterator the simulator knows is one u64 (struct bpf_iter_num). */
const ITER_SLOTS = 1;

/** The stack slot an iterator argument points at (Linux iter_get_spi / stack_slot_obj_get_spi), or -1 past the allocated stack. */
function iterSpi(env: Env, reg: Reg): number {
  if (!tnumIsConst(reg.varOff)) throw new Reject('iter has to be at a constant offset', 'helper-arg', { errno: 22 });
  const off = reg.off + Number(BigInt.asIntN(64, reg.varOff.value));
  if (off % 8 !== 0 || off >= 0) throw new Reject(`cannot pass in iter at an offset=${off}`, 'helper-arg', { errno: 22 });
  const spi = (-off - 1) >> 3;
  if (spi + 1 < ITER_SLOTS) throw new Reject(`cannot pass in iter at an offset=${off}`, 'helper-arg', { errno: 22 });
  return spi < frameOf(env, reg).allocated ? spi : -1;
}

function slotIsIter(f: FuncState, spi: number): boolean {
  for (let j = 0; j < 8; j++) if (f.stack[spi * 8 + j] !== Slot.ITER) return false;
  return true;
}

/** Linux process_iter_arg's pointer check: iterators live on the stack. */
function checkIterPointer(regno: number, reg: Reg): void {
  if (reg.type !== RegType.PTR_TO_STACK) throw new Reject(`arg#${regno - 1} expected pointer to an iterator on stack`, 'helper-arg', { errno: 22 });
}

/**
 * `bpf_iter_<type>_new()`: the slots must not hold an iterator yet (is_iter_reg_valid_uninit); they become one,
 * ACTIVE at depth 0, holding a new reference (mark_stack_slots_iter).
 */
export function iterNew(env: Env, regno: number, iter: string): void {
  const reg = env.reg(regno);
  checkIterPointer(regno, reg);
  const f = frameOf(env, reg);
  const spi = iterSpi(env, reg);
  if (spi >= 0 && slotIsIter(f, spi)) throw new Reject(`expected uninitialized iter_${iter} as arg #${regno - 1}`, 'helper-arg', { errno: 22 });
  const off = reg.off + Number(BigInt.asIntN(64, reg.varOff.value));
  growStack(env, f, off);
  const at = (-off - 1) >> 3;
  const ref = env.newId();
  env.state.refs.push({ id: ref, insn: env.insnIdx });
  const { bytes, spilled } = f.ownStack();
  // A register of its own for the slot (Linux overwrites spilled_ptr whatever it held).
  const st = new Reg();
  spilled[at] = st;
  markPointer(st, RegType.PTR_TO_STACK);
  st.btfName = iter;
  st.refObjId = ref;
  st.iterState = ITER_ACTIVE;
  st.iterDepth = 0;
  for (let j = 0; j < 8; j++) bytes[at * 8 + j] = Slot.ITER;
  env.scratchSlots.add(at);
}

/**
 * The iterator an argument of `_next()`, `_destroy()` or another iterator kfunc points at (is_iter_reg_valid_init),
 * with its slot: Linux's "expected an initialized iter_<type>" otherwise.
 */
export function iterArg(env: Env, regno: number, iter: string): { readonly frame: FuncState; readonly spi: number; readonly st: Reg } {
  const reg = env.reg(regno);
  checkIterPointer(regno, reg);
  const f = frameOf(env, reg);
  const spi = iterSpi(env, reg);
  const st = spi >= 0 ? f.spilled[spi] : null;
  if (spi < 0 || !st || !slotIsIter(f, spi) || st.btfName !== iter || st.refObjId === 0) {
    throw new Reject(`expected an initialized iter_${iter} as arg #${regno - 1}`, 'helper-arg', { errno: 22 });
  }
  env.scratchSlots.add(spi);
  return { frame: f, spi, st };
}

/** `bpf_iter_<type>_destroy()`: the slots go back to STACK_INVALID (unmark_stack_slots_iter); the caller releases the reference. */
export function iterDestroy(env: Env, frame: FuncState, spi: number): void {
  const { bytes, spilled } = frame.ownStack();
  for (let j = 0; j < 8; j++) bytes[spi * 8 + j] = Slot.INVALID;
  spilled[spi] = null;
}

/**
 * `bpf_iter_<type>_next()` (process_iter_next_call): an ACTIVE iterator forks: a queued path goes on at the next
 * instruction with the iterator ACTIVE one level deeper and R0 the element (non-NULL); the current path
 * continues with the iterator DRAINED and R0 = NULL. `setElement` types R0 of the queued path.
 */
export function iterNext(env: Env, frameno: number, spi: number, setElement: (r0: Reg) => void): void {
  const st = env.state.frames[frameno]?.ownStack().spilled[spi];
  if (!st) return;
  if (st.iterState === ITER_ACTIVE) {
    const queued = env.state.clone();
    const qf = queued.frames[frameno];
    const qst = qf?.ownStack().spilled[spi];
    if (qf && qst) {
      qst.iterState = ITER_ACTIVE;
      qst.iterDepth++;
    }
    env.widenLoop?.(queued);
    const r0 = queued.cur.regs[0];
    if (r0) setElement(r0);
    env.pushBranch(queued, env.insnIdx + 1);
  }
  st.iterState = ITER_DRAINED;
  markConstScalar(env.reg(0), 0n);
}

/**
 * may_goto (BPF_JMP | BPF_JCOND, src BPF_MAY_GOTO): the fall-through (the loop body) is queued one may_goto level
 * deeper; the current path takes the jump (the loop gives up). Returns the jump target.
 */
export function checkMayGoto(env: Env, insn: RawInsn, idx: number): number {
  if (insn.src !== 0 || insn.dst !== 0 || insn.imm !== 0) throw new Reject(`invalid may_goto imm ${insn.imm}`, 'reserved', { errno: 22 });
  const queued = env.state.clone();
  queued.mayGotoDepth++;
  env.widenLoop?.(queued);
  env.pushBranch(queued, idx + 1);
  return idx + insn.off + 1;
}
