/**
 * State comparison for pruning (Linux states_equal / regsafe / stacksafe): a path may stop when an already
 * verified state at the same instruction is at least as general as the current one. Only registers live at
 * the instruction are compared; ids are compared through a mapping, as Linux's idmap does.
 */
import type { Reg } from './reg.js';
import { RegType } from './reg.js';
import type { FuncState, VState } from './state.js';
import { Slot } from './state.js';
import { iterSlotSafe } from './iter-state.js';
import { dynptrSlotSafe } from './dynptr.js';
import { tnumEquals, tnumIn } from './tnum.js';

/**
 * Pairs of old and current ids seen in one comparison. A comparison meets only the few ids of its
 * registers, so two short arrays scanned linearly beat hash maps (and reset costs nothing).
 */
class IdMap {
  private readonly olds: number[] = [];
  private readonly curs: number[] = [];
  private count = 0;
  private tmp = 0;
  /** Forget every pairing (one map serves every comparison: statesEqual runs at each prune point). */
  reset(): void {
    this.count = 0;
    this.tmp = 0;
  }
  /** Scalars: an old id only matters if it links registers; a current register without id is unique. */
  checkScalar(oldId: number, curId: number): boolean {
    if (oldId === 0) return true;
    return this.check(oldId, curId === 0 ? --this.tmp : curId);
  }
  check(oldId: number, curId: number): boolean {
    if (oldId === 0 && curId === 0) return true;
    if (oldId === 0 || curId === 0) return false;
    for (let i = 0; i < this.count; i++) {
      if (this.olds[i] === oldId) return this.curs[i] === curId;
      if (this.curs[i] === curId) return false;
    }
    this.olds[this.count] = oldId;
    this.curs[this.count] = curId;
    this.count++;
    return true;
  }
}

function rangeWithin(o: Reg, c: Reg): boolean {
  return (
    o.umin <= c.umin &&
    o.umax >= c.umax &&
    o.smin <= c.smin &&
    o.smax >= c.smax &&
    o.u32min <= c.u32min &&
    o.u32max >= c.u32max &&
    o.s32min <= c.s32min &&
    o.s32max >= c.s32max
  );
}

/** The two registers hold the same value facts: tnum and every bound. */
export function sameValueFacts(o: Reg, c: Reg): boolean {
  return (
    tnumEquals(o.varOff, c.varOff) &&
    o.umin === c.umin &&
    o.umax === c.umax &&
    o.smin === c.smin &&
    o.smax === c.smax &&
    o.u32min === c.u32min &&
    o.u32max === c.u32max &&
    o.s32min === c.s32min &&
    o.s32max === c.s32max
  );
}

/** Is `cur` safe given that `old` was verified safe? `exact` requires identical states (loop detection). */
export function regSafe(o: Reg, c: Reg, ids: IdMap, exact: boolean, precise: boolean): boolean {
  if (o.type === RegType.NOT_INIT) return !exact || c.type === RegType.NOT_INIT;
  if (o.type !== c.type || o.flags !== c.flags) return false;
  if (o.type === RegType.SCALAR) {
    if (exact) return sameValueFacts(o, c);
    // An imprecise scalar's value never mattered on the verified path: any scalar will do.
    if (!precise) return true;
    // Linked scalars must stay linked the same way; unlinked old ids do not matter.
    if (!ids.checkScalar(o.id, c.id)) return false;
    return rangeWithin(o, c) && tnumIn(o.varOff, c.varOff);
  }
  if (o.off !== c.off || o.map !== c.map || o.memSize !== c.memSize || o.frameno !== c.frameno || o.btfName !== c.btfName || o.subprog !== c.subprog)
    return false;
  if (!ids.check(o.id, c.id) || !ids.check(o.refObjId, c.refObjId)) return false;
  if (o.type === RegType.PTR_TO_PACKET || o.type === RegType.PTR_TO_PACKET_META) {
    if (exact ? o.range !== c.range : o.range > c.range) return false;
  }
  if (exact) return tnumEquals(o.varOff, c.varOff) && o.umin === c.umin && o.umax === c.umax && o.smin === c.smin && o.smax === c.smax;
  return rangeWithin(o, c) && tnumIn(o.varOff, c.varOff);
}

function stackSafe(o: FuncState, c: FuncState, ids: IdMap, exact: boolean, uninitOk: boolean, allPrecise: boolean): boolean {
  const bytes = o.allocated * 8;
  for (let k = 0; k < bytes; k++) {
    let ot = o.stack[k] ?? Slot.INVALID;
    // An imprecise spilled scalar is as good as unknown data: its exact value never mattered (Linux
    // compares such a spill with a MISC slot through an unknown scalar, scalar_reg_for_stack).
    if (!exact && ot === Slot.SPILL && !(allPrecise || (o.spilled[k >> 3]?.precise ?? false)) && o.spilled[k >> 3]?.type === RegType.SCALAR) ot = Slot.MISC;
    const ct = k < c.allocated * 8 ? (c.stack[k] ?? Slot.INVALID) : Slot.INVALID;
    if (exact) {
      if (ot !== ct) return false;
    } else {
      if (ot === Slot.INVALID) continue;
      if (ot === Slot.MISC) {
        if (ct === Slot.MISC || ct === Slot.ZERO || ct === Slot.SPILL) continue;
        if (ct === Slot.INVALID && uninitOk) continue;
        return false;
      }
      if (ot !== ct) return false;
    }
    if (ot === Slot.DYNPTR && k % 8 === 7 && !dynptrSlotSafe(o.spilled[k >> 3], c.spilled[k >> 3], (a, b) => ids.check(a, b))) return false;
    if (ot === Slot.SPILL && k % 8 === 7) {
      const os = o.spilled[k >> 3];
      const cs = c.spilled[k >> 3];
      if (!os || !cs) return false;
      if (!regSafe(os, cs, ids, exact, allPrecise || os.precise)) return false;
    }
    if (ot === Slot.ITER && k % 8 === 7 && !iterSlotSafe(o.spilled[k >> 3], c.spilled[k >> 3], ids)) return false;
  }
  if (exact && c.allocated > o.allocated) {
    for (let k = bytes; k < c.allocated * 8; k++) if ((c.stack[k] ?? 0) !== Slot.INVALID) return false;
  }
  return true;
}

/**
 * What the comparison needs of the run: the live-register mask of each frame at the point being compared
 * (the current instruction for the top frame, the return address for callers), and whether every scalar
 * counts as precise (Linux: unprivileged programs, where __mark_reg_unknown sets `precise`; and the
 * RANGE_WITHIN comparison of callback and iterator convergence).
 */
export interface PruneView {
  live(fi: number): number;
  readonly allPrecise: boolean;
  /** Linux explore_alu_limits (sanitize.ts): live scalars must be identical, not merely within. */
  readonly exploreAluLimits?: boolean;
}

const SHARED_IDS = new IdMap();

export function statesEqual(old: VState, cur: VState, view: PruneView, exact: boolean, uninitOk: boolean): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  if (old.activeLock !== cur.activeLock && !(old.activeLock && cur.activeLock)) return false;
  if (old.refs.length !== cur.refs.length) return false;
  if (old.activeRcu !== cur.activeRcu) return false;
  // A speculative path's state never covers a real one (Linux states_equal).
  if (old.speculative && !cur.speculative) return false;
  const exactScalars = view.exploreAluLimits === true;
  const ids = SHARED_IDS;
  ids.reset();
  for (let i = 0; i < old.refs.length; i++) {
    const a = old.refs[i];
    const b = cur.refs[i];
    if (!a || !b || !ids.check(a.id, b.id)) return false;
  }
  for (let fi = 0; fi < old.frames.length; fi++) {
    const of = old.frames[fi];
    const cf = cur.frames[fi];
    if (!of || !cf || of.callsite !== cf.callsite) return false;
    // Linux func_states_equal: a state that pushed more callback visits does not cover one that pushed fewer.
    if (of.callbackDepth > cf.callbackDepth) return false;
    const live = exact ? 0x7ff : view.live(fi);
    const all = exact || view.allPrecise;
    for (let r = 0; r < 11; r++) {
      if (!(live & (1 << r))) continue;
      const o = of.regs[r];
      const c = cf.regs[r];
      // Only the explored state's marks count (Linux regsafe: rold->precise).
      if (!o || !c || !regSafe(o, c, ids, exact, all || o.precise)) return false;
      if (exactScalars && o.type === RegType.SCALAR && !sameValueFacts(o, c)) return false;
    }
    if (!stackSafe(of, cf, ids, exact, uninitOk, all)) return false;
  }
  return true;
}
