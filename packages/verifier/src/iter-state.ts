/**
 * The iterator and may_goto facts that state comparison and printing need (no checker imports, so prune.ts and
 * format.ts can use them): iterator states, loop-head kinds, Linux's convergence and depth rules.
 */
import type { Reg } from './reg.js';
import { RegType } from './reg.js';
import type { VState } from './state.js';
import { Slot } from './state.js';
import { tnumIsConst } from './tnum.js';

/** enum bpf_iter_state. */
export const ITER_ACTIVE = 1;
export const ITER_DRAINED = 2;

/** What makes an instruction a loop head the verifier converges at (the kinds of `loopPoint`). */
export const LoopPoint = { NONE: 0, ITER_NEXT: 1, MAY_GOTO: 2 } as const;

/**
 * Linux is_state_visited at a loop head still being explored: an iterator `_next()` whose iterator is ACTIVE, or
 * a may_goto reached at another may_goto depth, converges when the explored state covers the current one by
 * range (the caller compares with RANGE_WITHIN).
 */
export function loopHeadConverges(kind: number, old: VState, cur: VState): boolean {
  if (kind === LoopPoint.MAY_GOTO) return old.mayGotoDepth !== cur.mayGotoDepth;
  if (kind !== LoopPoint.ITER_NEXT) return false;
  const f = cur.cur;
  const r1 = f.regs[1];
  if (!r1 || r1.type !== RegType.PTR_TO_STACK || !tnumIsConst(r1.varOff)) return false;
  const off = r1.off + Number(BigInt.asIntN(64, r1.varOff.value));
  const st = (cur.frames[r1.frameno] ?? f).spilled[(-off - 1) >> 3];
  return st?.iterState === ITER_ACTIVE;
}

/**
 * For the infinite-loop check (Linux iter_active_depths_differ plus the may_goto depth): two states whose
 * iterators are at other depths, or that took may_goto's fall-through a different number of times, are
 * different iterations, not the same state looping.
 */
export function loopDepthsDiffer(old: VState, cur: VState): boolean {
  if (old.mayGotoDepth !== cur.mayGotoDepth) return true;
  for (let fi = 0; fi < old.frames.length; fi++) {
    const of = old.frames[fi];
    const cf = cur.frames[fi];
    if (!of || !cf) continue;
    for (let spi = 0; spi < of.allocated; spi++) {
      if (of.stack[spi * 8 + 7] !== Slot.ITER) continue;
      const o = of.spilled[spi];
      if (o?.iterState !== ITER_ACTIVE) continue;
      if (o.iterDepth !== cf.spilled[spi]?.iterDepth) return true;
    }
  }
  return false;
}

/**
 * stacksafe for a STACK_ITER slot: same iterator type and state, references paired through the id map; the
 * depth is ignored (Linux: "ignore {old_reg,cur_reg}->iter.depth").
 */
export function iterSlotSafe(o: Reg | null | undefined, c: Reg | null | undefined, ids: { check(oldId: number, curId: number): boolean }): boolean {
  if (!o || !c) return false;
  return o.btfName === c.btfName && o.iterState === c.iterState && ids.check(o.refObjId, c.refObjId);
}

/** print_verifier_state of a STACK_ITER slot: `iter_num(ref_id=1,state=active,depth=0)`. */
export function formatIterSlot(st: Reg): string {
  const state = st.iterState === ITER_ACTIVE ? 'active' : st.iterState === ITER_DRAINED ? 'drained' : '<invalid>';
  return `iter_${st.btfName}(ref_id=${st.refObjId},state=${state},depth=${st.iterDepth})`;
}
