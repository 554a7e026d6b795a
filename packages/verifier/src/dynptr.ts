/**
 * Dynptrs on the stack (Linux STACK_DYNPTR): a `struct bpf_dynptr` takes two 8-byte stack slots, both marked
 * STACK_DYNPTR, whose spilled-register entries describe it (type CONST_PTR_TO_DYNPTR, the dynptr type, an id
 * for its slices, the reference a ringbuf dynptr holds, which slot is the first). As Linux's
 * dynptr_get_spi, is_dynptr_reg_valid_uninit/init, mark_stack_slots_dynptr, unmark_stack_slots_dynptr and
 * destroy_if_dynptr_stack_slot (kernel/bpf/verifier.c). This file imports neither calls.ts nor memory.ts
 * (both call into it).
 */
import type { Env } from './env.js';
import { Reg, RegType, markNotInit, markPointer, markUnknown } from './reg.js';
import type { ArgType } from './registry.js';
import { Reject } from './reject.js';
import type { FuncState } from './state.js';
import { Slot } from './state.js';
import { tnumIsConst } from './tnum.js';

/** BPF_DYNPTR_NR_SLOTS: sizeof(struct bpf_dynptr) / 8. */
export const DYNPTR_NR_SLOTS = 2;

/** The dynptr type a helper argument makes or wants (Linux arg_to_dynptr_type); '' for any. */
const ARG_DYNPTR_TYPE: Partial<Record<ArgType, string>> = {
  ptr_to_dynptr_uninit_local: 'local',
  ptr_to_dynptr_uninit_ringbuf: 'ringbuf',
  ptr_to_dynptr_release_ringbuf: 'ringbuf',
};

/** Dynptr types that hold a reference (Linux dynptr_type_refcounted). */
function refcounted(type: string): boolean {
  return type === 'ringbuf';
}

/** The frame a stack pointer points into. */
function frameOf(env: Env, reg: Reg): FuncState {
  return env.state.frames[reg.frameno] ?? env.state.cur;
}

/**
 * Linux dynptr_get_spi (stack_slot_obj_get_spi): the first slot of the dynptr `reg` points at, or throws with
 * Linux's line (and `then`, the line its caller prints after it). -1 when the slots are not allocated yet
 * (Linux -ERANGE).
 */
function dynptrSpi(env: Env, reg: Reg, then: string): number {
  if (!tnumIsConst(reg.varOff)) throw new Reject('dynptr has to be at a constant offset', 'helper-arg', { errno: 22, more: [then] });
  const off = reg.off + Number(BigInt.asIntN(64, reg.varOff.value));
  // __get_spi; a dynptr cannot start in the first slot (spi 0): its second slot would be above the frame.
  const spi = Math.trunc((-off - 1) / 8);
  if (off % 8 !== 0 || spi + 1 < DYNPTR_NR_SLOTS) {
    throw new Reject(`cannot pass in dynptr at an offset=${off}`, 'helper-arg', { errno: 22, more: [then] });
  }
  return spi < frameOf(env, reg).allocated ? spi : -1;
}

/** Linux is_dynptr_reg_valid_init: both slots STACK_DYNPTR, `spi` the first. */
function validInit(f: FuncState, spi: number): boolean {
  if (spi < 0 || f.spilled[spi]?.dynptrFirst !== true) return false;
  for (let j = 0; j < 8; j++) if (f.stack[spi * 8 + j] !== Slot.DYNPTR || f.stack[(spi - 1) * 8 + j] !== Slot.DYNPTR) return false;
  return true;
}

/** What process_dynptr_func learnt about an initialised dynptr argument (for bpf_dynptr_data's slice). */
export interface DynptrArg {
  /** The dynptr's id (its slices carry it) and the reference it holds (0 for none). */
  id: number;
  refObjId: number;
  /** Its dynptr type (`local`, `ringbuf`, `skb`, `xdp`): bpf_dynptr_slice_rdwr asks whether it is packet data. */
  type: string;
}

/**
 * Linux mark_reg_invalid: a register that pointed into released or destroyed memory (privileged programs
 * keep an unknown scalar, as allow_ptr_leaks does).
 */
function invalidate(env: Env, r: Reg): void {
  if (env.privileged) markUnknown(r);
  else markNotInit(r);
}

/** Every slice (PTR_TO_MEM) of dynptr `id`, in every frame, registers and spills: invalid. */
function invalidateSlices(env: Env, id: number): void {
  for (const f of env.state.frames) {
    for (const r of f.regs) if (r.type === RegType.PTR_TO_MEM && r.dynptrId === id) invalidate(env, r);
    if (!f.hasSpills()) continue;
    const { bytes, spilled } = f.ownStack();
    for (let spi = 0; spi < spilled.length; spi++) {
      const r = spilled[spi];
      if (r && bytes[spi * 8 + 7] === Slot.SPILL && r.type === RegType.PTR_TO_MEM && r.dynptrId === id) invalidate(env, r);
    }
  }
}

/** Whether `r` is a slice of a packet dynptr (Linux PTR_TO_MEM with DYNPTR_TYPE_SKB or DYNPTR_TYPE_XDP). */
function isPacketSlice(r: Reg): boolean {
  return r.type === RegType.PTR_TO_MEM && r.dynptrId !== 0 && (r.dynptrType === 'skb' || r.dynptrType === 'xdp');
}

/**
 * clear_all_pkt_pointers' part for dynptr slices: a helper that may move packet data also invalidates every slice
 * of an skb or xdp dynptr (the bytes it pointed at may be gone), in registers and spills of every frame.
 */
export function invalidatePacketSlices(env: Env): void {
  for (const f of env.state.frames) {
    for (const r of f.regs) if (isPacketSlice(r)) invalidate(env, r);
    if (!f.hasSpills()) continue;
    const { bytes, spilled } = f.ownStack();
    for (let spi = 0; spi < spilled.length; spi++) {
      const r = spilled[spi];
      if (r && bytes[spi * 8 + 7] === Slot.SPILL && isPacketSlice(r)) invalidate(env, r);
    }
  }
}

/** Linux invalidate_dynptr: both slots back to STACK_INVALID, their registers not initialised. */
function clearSlots(f: FuncState, spi: number): void {
  const { bytes, spilled } = f.ownStack();
  for (let j = 0; j < 8; j++) {
    bytes[spi * 8 + j] = Slot.INVALID;
    bytes[(spi - 1) * 8 + j] = Slot.INVALID;
  }
  spilled[spi] = null;
  spilled[spi - 1] = null;
}

/**
 * Linux destroy_if_dynptr_stack_slot: a write into either slot of an unreferenced dynptr destroys it (and
 * its slices); a referenced one (ringbuf) may not be overwritten: it must be submitted or discarded.
 */
export function destroyIfDynptr(env: Env, f: FuncState, spi: number): void {
  if (spi < 0 || spi >= f.allocated || f.stack[spi * 8] !== Slot.DYNPTR) return;
  const first = f.spilled[spi]?.dynptrFirst === true ? spi : spi + 1;
  const d = f.spilled[first];
  if (d && refcounted(d.dynptrType)) throw new Reject('cannot overwrite referenced dynptr', 'dynptr', { errno: 22 });
  env.scratchSlots.add(first);
  env.scratchSlots.add(first - 1);
  clearSlots(f, first);
  if (d) invalidateSlices(env, d.id);
}

/**
 * Linux check_stack_range_initialized in raw mode: a helper may not write over a dynptr's slots
 * (`min`/`max`: the byte offsets from the frame pointer, max exclusive).
 */
export function checkHelperWriteOverDynptr(f: FuncState, min: number, max: number): void {
  for (let a = min; a < max; a++) {
    const k = -a - 1;
    if (k < f.allocated * 8 && f.stack[k] === Slot.DYNPTR) throw new Reject(`potential write to dynptr at off=${a} disallowed`, 'dynptr');
  }
}

/**
 * Linux process_dynptr_func for an argument that makes a dynptr (MEM_UNINIT), first part: the slots must
 * be a place a dynptr can start (is_dynptr_reg_valid_uninit). The caller then checks the 16-byte write as a
 * store (check_mem_access) and calls {@link markDynptrSlots}.
 */
export function checkUninitDynptr(env: Env, reg: Reg): void {
  const uninit = 'Dynptr has to be an uninitialized dynptr';
  if (reg.type === RegType.CONST_PTR_TO_DYNPTR) throw new Reject(uninit, 'dynptr', { errno: 22 });
  dynptrSpi(env, reg, uninit);
}

/**
 * Linux mark_stack_slots_dynptr: destroy what the two slots held (refusing to drop a referenced dynptr), mark
 * both STACK_DYNPTR with a new dynptr id, and for a ringbuf dynptr acquire the reference it holds (even when the
 * helper fails at run time: the program must still submit or discard it).
 */
export function markDynptrSlots(env: Env, reg: Reg, type: ArgType): void {
  markDynptrSlotsOfType(env, reg, ARG_DYNPTR_TYPE[type] ?? '');
}

/** mark_stack_slots_dynptr for a dynptr of type `dtype` (a kfunc's: bpf_dynptr_from_skb makes an `skb` one). */
export function markDynptrSlotsOfType(env: Env, reg: Reg, dtype: string): void {
  const f = frameOf(env, reg);
  const spi = dynptrSpi(env, reg, 'Dynptr has to be an uninitialized dynptr');
  destroyIfDynptr(env, f, spi);
  destroyIfDynptr(env, f, spi - 1);
  const id = env.newId();
  const ref = refcounted(dtype) ? env.newId() : 0;
  if (ref) env.state.refs.push({ id: ref, insn: env.insnIdx });
  const { bytes, spilled } = f.ownStack();
  for (let s = spi; s >= spi - 1; s--) {
    for (let j = 0; j < 8; j++) bytes[s * 8 + j] = Slot.DYNPTR;
    const d = spilled[s] ?? (spilled[s] = new Reg());
    markPointer(d, RegType.CONST_PTR_TO_DYNPTR);
    d.dynptrType = dtype;
    d.dynptrFirst = s === spi;
    d.id = id;
    d.refObjId = ref;
    env.scratchSlots.add(s);
  }
}

/**
 * Linux process_dynptr_func for a dynptr the helper reads (or releases): an initialised one on the stack, or
 * the kernel's own (CONST_PTR_TO_DYNPTR), of the type the argument wants. `argIdx` is 0-based.
 */
export function checkInitDynptr(env: Env, regno: number, argIdx: number, reg: Reg, type: ArgType): DynptrArg {
  const uninit = `Expected an initialized dynptr as arg #${argIdx}`;
  const want = ARG_DYNPTR_TYPE[type] ?? '';
  let d: Reg | null | undefined = reg;
  if (reg.type === RegType.PTR_TO_STACK) {
    const f = frameOf(env, reg);
    const spi = dynptrSpi(env, reg, uninit);
    if (!validInit(f, spi)) throw new Reject(uninit, 'dynptr', { errno: 22 });
    d = f.spilled[spi];
    // mark_dynptr_read: the slots are scratched (their state is printed after the call).
    env.scratchSlots.add(spi);
    env.scratchSlots.add(spi - 1);
  }
  if (!d) throw new Reject(uninit, 'dynptr', { errno: 22 });
  if (want !== '' && d.dynptrType !== want) {
    throw new Reject(`Expected a dynptr of type ${want} as arg #${argIdx}`, 'dynptr', { errno: 22 });
  }
  return { id: d.id, refObjId: d.refObjId, type: d.dynptrType };
}

/**
 * check_func_arg's OBJ_RELEASE part for a dynptr (before process_dynptr_func): only a dynptr on the stack
 * that holds a reference can be released.
 */
export function checkReleaseDynptr(env: Env, regno: number, reg: Reg): void {
  const unacquired = `arg ${regno} is an unacquired reference`;
  if (reg.type !== RegType.PTR_TO_STACK) throw new Reject('cannot release unowned const bpf_dynptr', 'dynptr', { errno: 22 });
  const spi = dynptrSpi(env, reg, unacquired);
  if (spi < 0 || !frameOf(env, reg).spilled[spi]?.refObjId) throw new Reject(unacquired, 'dynptr', { errno: 22 });
}

/**
 * Linux unmark_stack_slots_dynptr, after the arguments: the reference is released (its slices become
 * invalid, as release_reference does) and every dynptr holding it is cleared from the stack.
 */
export function releaseDynptr(env: Env, reg: Reg): void {
  const f = frameOf(env, reg);
  const spi = dynptrSpi(env, reg, '');
  const d = f.spilled[spi];
  if (!d) return;
  const ref = d.refObjId;
  if (!refcounted(d.dynptrType) || ref === 0) {
    clearSlots(f, spi);
    return;
  }
  for (let s = 1; s < f.allocated; s++) {
    const c = f.spilled[s];
    if (c && f.stack[s * 8] === Slot.DYNPTR && c.refObjId === ref && c.dynptrFirst) clearSlots(f, s);
  }
  const idx = env.state.refs.findIndex((r) => r.id === ref);
  if (idx >= 0) env.state.refs.splice(idx, 1);
  for (const fr of env.state.frames) {
    for (const r of fr.regs) if (r.refObjId === ref) invalidate(env, r);
    if (!fr.hasSpills()) continue;
    const { bytes, spilled } = fr.ownStack();
    for (let s = 0; s < spilled.length; s++) {
      const r = spilled[s];
      if (r && bytes[s * 8 + 7] === Slot.SPILL && r.refObjId === ref) invalidate(env, r);
    }
  }
}

/** Linux stacksafe for a STACK_DYNPTR slot: same type and slot, references mapped the same way. */
export function dynptrSlotSafe(o: Reg | null | undefined, c: Reg | null | undefined, checkIds: (oldId: number, curId: number) => boolean): boolean {
  if (!o || !c) return false;
  return o.dynptrType === c.dynptrType && o.dynptrFirst === c.dynptrFirst && checkIds(o.refObjId, c.refObjId);
}

/** print_verifier_state's STACK_DYNPTR entry: `dynptr_ringbuf(id=1,ref_id=2,dynptr_id=1)`. */
export function formatDynptrSlot(d: Reg): string {
  const parts: string[] = [];
  if (d.id) parts.push(`id=${d.id}`);
  if (d.refObjId) parts.push(`ref_id=${d.refObjId}`);
  // Linux 6.18 prints reg->dynptr_id, which shares its bytes with dynptr.first_slot (a union in struct
  // bpf_reg_state): the first slot prints dynptr_id=1 (recorded: fixtures/dynptr in @ebpf-sim/bpf).
  if (d.dynptrFirst) parts.push('dynptr_id=1');
  return `dynptr_${d.dynptrType}(${parts.join(',')})`;
}
