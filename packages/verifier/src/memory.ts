/**
 * Loads, stores and atomics (Linux check_mem_access and friends): the stack with its spilled registers,
 * context fields per program type, packet ranges, map values and keys, ringbuf records.
 */
import type { OpcodeForm, RawInsn } from '@ebpf-sim/isa';
import { signExtend, syncBounds, zext32 } from './bounds.js';
import { walkedPtrFlags } from './btf-ptr.js';
import { checkDst, checkSrc, type Env } from './env.js';
import { inRcuCs } from './env.js';
import { destroyIfDynptr } from './dynptr.js';
import { checkTimerAccess } from './timer.js';
import { formatReg } from './format.js';
import { Reg, RegFlag, RegType, isPacketType, isPointer, markConstScalar, markPointer, markUnknown, regTypeName } from './reg.js';
import type { BtfAccess, CtxField } from './registry.js';
import { Reject } from './reject.js';
import { checkSockAccess, isSockPointerType } from './sock.js';
import type { FuncState } from './state.js';
import { MAX_STACK, Slot } from './state.js';
import { tnumCast, tnumIsConst, tnumToString } from './tnum.js';

const MAX_VAR_OFF = 1 << 29;

export type AccessType = 'read' | 'write';

/** Make `r` the zero-extended (or sign-extended) value of a `size`-byte load. */
function coerceToSize(r: Reg, size: number, signed: boolean): void {
  if (size >= 8 || r.type !== RegType.SCALAR) return;
  if (signed) {
    signExtend(r, (size * 8) as 8 | 16 | 32);
    return;
  }
  r.varOff = tnumCast(r.varOff, size);
  const max = (1n << BigInt(size * 8)) - 1n;
  if (r.umax > max || r.umin > max) {
    r.umin = 0n;
    r.umax = max;
  }
  r.smin = r.umin;
  r.smax = r.umax;
  r.u32min = 0;
  r.u32max = 0xffff_ffff;
  r.s32min = -0x8000_0000;
  r.s32max = 0x7fff_ffff;
  syncBounds(r);
}

function unknownLoad(env: Env, dstRegno: number, size: number, signed: boolean): void {
  if (dstRegno < 0) return;
  const d = env.reg(dstRegno);
  markUnknown(d);
  coerceToSize(d, size, signed);
}

/** Region accesses (map value, map key, memory): both ends of the variable offset must be in bounds. */
function checkRegion(regno: number, reg: Reg, off: number, size: number, memSize: number, what: (o: number) => string): void {
  const ok = (o: bigint): boolean => o >= 0n && o + BigInt(size) <= BigInt(memSize);
  const lo = reg.smin + BigInt(off);
  if (reg.smin < 0n && (reg.smin < -BigInt(MAX_VAR_OFF) || lo < 0n)) {
    if (!tnumIsConst(reg.varOff)) {
      throw new Reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`, 'map-neg');
    }
  }
  if (!ok(lo)) throw new Reject(what(Number(lo)), 'map-range', { more: [`R${regno} min value is outside of the allowed memory range`] });
  if (reg.umax >= BigInt(MAX_VAR_OFF)) {
    throw new Reject(`R${regno} unbounded memory access, make sure to bounds check any such access`, 'unbounded');
  }
  const hi = reg.umax + BigInt(off);
  if (!ok(hi)) throw new Reject(what(Number(hi)), 'map-range', { more: [`R${regno} max value is outside of the allowed memory range`] });
}

/**
 * check_map_access(env, regno, reg->off, 1, ...) for sanitize_check_bounds (sanitize.ts): the map value pointer
 * `reg` must point inside its value; throws Linux's lines otherwise.
 */
export function checkMapValueRange(regno: number, reg: Reg): void {
  const map = reg.map;
  if (!map) return;
  checkRegion(regno, reg, reg.off, 1, map.valueSize, (o) => `invalid access to map value, value_size=${map.valueSize} off=${o} size=1`);
}

/** sizeof(struct bpf_spin_lock) (include/uapi/linux/bpf.h: one __u32). */
const SPIN_LOCK_SIZE = 4;

/**
 * check_map_access's special-field rule, as Linux does: a load or store (or a helper's access to the value) whose
 * range [smin + off, umax + off + size) overlaps the value's struct bpf_spin_lock is refused.
 */
function checkSpinLockUntouched(reg: Reg, off: number, size: number, lockOff: number): void {
  if (reg.smin + BigInt(off) < BigInt(lockOff + SPIN_LOCK_SIZE) && BigInt(lockOff) < reg.umax + BigInt(off + size))
    throw new Reject('bpf_spin_lock cannot be accessed directly by load/store', 'lock');
}

function checkPacket(regno: number, reg: Reg, off: number, size: number): void {
  if (reg.smin < 0n) throw new Reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`, 'map-neg');
  const fits = off >= 0 && reg.range >= 0 && off + size <= reg.range;
  if (!fits) {
    throw new Reject(`invalid access to packet, off=${off} size=${size}, R${regno}(id=${reg.id},off=${off},r=${reg.range})`, 'pkt-range', {
      more: [`R${regno} offset is outside of the packet`],
    });
  }
  if (reg.umax + BigInt(off) >= BigInt(MAX_VAR_OFF)) {
    throw new Reject(`R${regno} unbounded memory access, make sure to bounds check any such access`, 'unbounded');
  }
}

function findCtxField(fields: readonly CtxField[], off: number): CtxField | undefined {
  for (const f of fields) if (off >= f.off && off < f.off + f.size) return f;
  return undefined;
}

/** An access of 1, 2, 4 or 8 bytes aligned to its width and wholly inside `field` (bpf_skb_is_valid_access's cb[]). */
function alignedInside(field: CtxField, off: number, size: number): boolean {
  return (size === 1 || size === 2 || size === 4 || size === 8) && off % size === 0 && off + size <= field.off + field.size;
}

function checkCtx(env: Env, regno: number, reg: Reg, off: number, size: number, t: AccessType, dstRegno: number, valueReg: Reg | null): void {
  if (reg.off !== 0) throw new Reject(`dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`, 'ctx-modified');
  if (!tnumIsConst(reg.varOff) || reg.varOff.value !== 0n) {
    throw new Reject(`variable ctx access var_off=${tnumToString(reg.varOff)} disallowed`, 'ctx-modified');
  }
  const ctx = env.progType.ctx;
  const invalid = (): Reject => new Reject(`invalid bpf_context access off=${off} size=${size}`, 'ctx-access');
  const btfCtx = env.progType.btfCtxAccess;
  if (btfCtx !== undefined) {
    // tracing_prog_is_valid_access: in the MAX_BPF_FUNC_ARGS slots, read-only, aligned; then btf_ctx_access.
    if (off < 0 || off + size > ctx.size || t === 'write' || off % size !== 0) throw invalid();
    const access = btfCtx(off, size);
    if (access.kind === 'refused') throw new Reject(access.log[0] ?? '', 'ctx-access', { more: [...access.log.slice(1), invalid().line] });
    env.facts.maxCtxOffset = Math.max(env.facts.maxCtxOffset, off + size);
    for (const line of access.log ?? []) env.note(line);
    if (dstRegno >= 0) btfLoadResult(env, dstRegno, access, size, false, access.kind === 'ptr' && access.trusted ? RegFlag.TRUSTED : 0);
    // A maybe-NULL argument (ctx_arg_info's PTR_MAYBE_NULL): the program must test it, as after a helper's _or_null.
    if (dstRegno >= 0 && access.kind === 'ptr' && access.nullable === true) markMaybeNull(env, dstRegno);
    return;
  }
  if (off < 0 || off + size > ctx.size) throw invalid();
  const field = findCtxField(ctx.fields, off);
  // check_ctx_access: every access the checks below let through raises max_ctx_offset (set before them: a refused access refuses the program).
  env.facts.maxCtxOffset = Math.max(env.facts.maxCtxOffset, off + size);
  if (field?.capBpf !== undefined && !env.privileged && (field.capBpf === 'access' || t === 'write')) throw invalid();
  if (t === 'write') {
    if (!field && ctx.anyAlignedWrite === true && off % size === 0) {
      if (valueReg && isPointer(valueReg) && !env.privileged) throw new Reject(`R${dstRegno} leaks addr into ctx`, 'ptr-leak');
      return;
    }
    if (!field || !field.writable) throw invalid();
    const exactStore = off === field.off && size === field.size;
    if (!exactStore && !(field.anyAlignedAccess === true && alignedInside(field, off, size))) throw invalid();
    if (valueReg && isPointer(valueReg) && !env.privileged) throw new Reject(`R${dstRegno} leaks addr into ctx`, 'ptr-leak');
    env.facts.ctxAccesses.set(env.insnIdx, { insn: env.insnIdx, field, offsetInField: off - field.off, size, write: true });
    return;
  }
  if (!field) {
    const widths = ctx.readWidths ?? [1, 2, 4, 8];
    if (!ctx.anyAlignedRead || off % size !== 0 || !widths.includes(size) || off < (ctx.readableFrom ?? 0)) throw invalid();
    unknownLoad(env, dstRegno, size, false);
    return;
  }
  const exact = off === field.off && size === field.size;
  if (field.kind !== 'scalar') {
    if (!exact) throw invalid();
  } else if (!exact && !(field.anyAlignedAccess === true && alignedInside(field, off, size))) {
    const narrowOk = field.narrowLoads === true && size < field.size && size >= (field.minNarrowLoad ?? 1) && off % size === 0;
    const wideOk = ctx.anyAlignedRead === true && off % size === 0 && off + size <= ctx.size;
    if (!narrowOk && !wideOk) throw invalid();
  }
  env.facts.ctxAccesses.set(env.insnIdx, { insn: env.insnIdx, field, offsetInField: off - field.off, size, write: false });
  if (dstRegno < 0) return;
  const d = env.reg(dstRegno);
  switch (field.kind) {
    case 'pkt':
      markPointer(d, RegType.PTR_TO_PACKET);
      break;
    case 'pkt_meta':
      markPointer(d, RegType.PTR_TO_PACKET_META);
      break;
    case 'pkt_end':
      markPointer(d, RegType.PTR_TO_PACKET_END);
      break;
    case 'flow_keys':
      markPointer(d, RegType.PTR_TO_FLOW_KEYS);
      d.memSize = field.pointeeSize ?? 0;
      break;
    case 'sock_common_or_null':
      markPointer(d, RegType.PTR_TO_SOCK_COMMON, RegFlag.MAYBE_NULL);
      d.id = env.newId();
      break;
    case 'btf_id':
      markPointer(d, RegType.PTR_TO_BTF_ID, RegFlag.MAYBE_NULL);
      d.btfName = field.btfName ?? 'void';
      d.id = env.newId();
      break;
    case 'scalar':
      markUnknown(d);
      coerceToSize(d, size, false);
      break;
  }
}

/** The frame a stack pointer points into. */
function frameOf(env: Env, reg: Reg): FuncState {
  return env.state.frames[reg.frameno] ?? env.state.cur;
}

function growStack(env: Env, f: FuncState, minOff: number): void {
  const slots = Math.ceil(-minOff / 8);
  if (slots > f.allocated) f.allocated = slots;
  const sub = f.subprog;
  const depth = -minOff;
  const prev = env.stackDepth[sub] ?? 0;
  if (depth > prev) env.stackDepth[sub] = depth;
}

function stackBounds(
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  t: AccessType | 'helper',
  strict = true,
  minValid = -MAX_STACK,
): { min: number; max: number } {
  // Stack accesses are always strictly aligned (Linux check_ptr_alignment: stack spill tracking needs it).
  if (strict && t !== 'helper' && tnumIsConst(reg.varOff) && (Number(BigInt.asIntN(64, reg.varOff.value)) + off) % size !== 0) {
    const fixed = reg.off;
    throw new Reject(`misaligned stack access off ${Number(BigInt.asIntN(64, reg.varOff.value))}+${fixed}+${off - fixed} size ${size}`, 'stack-range');
  }
  const extra = t === 'read' ? ' read from' : t === 'write' ? ' write to' : ' indirect access to';
  let min: number;
  let max: number;
  if (tnumIsConst(reg.varOff)) {
    min = Number(BigInt.asIntN(64, reg.varOff.value)) + off;
    max = min + size;
  } else {
    if (reg.smax >= BigInt(MAX_VAR_OFF) || reg.smin <= -BigInt(MAX_VAR_OFF)) {
      throw new Reject(`invalid unbounded variable-offset${extra} stack R${regno}`, 'stack-range');
    }
    min = Number(reg.smin) + off;
    max = Number(reg.smax) + off + size;
  }
  // check_stack_slot_within_bounds: `minValid` is -allocated_stack for a read without allow_uninit_stack.
  if (min < minValid || max > 0 || size < 0) {
    // As Linux's check_stack_access_within_bounds: a first byte outside [minValid, -1] is check_stack_slot_within_bounds'
    // EACCES; an access starting inside that runs into non-negative offsets (past r10), or a negative size, is EINVAL.
    const errno = min >= minValid && min <= -1 ? 22 : 13;
    if (tnumIsConst(reg.varOff)) throw new Reject(`invalid${extra} stack R${regno} off=${off} size=${size}`, 'stack-range', { errno });
    throw new Reject(`invalid variable-offset${extra} stack R${regno} var_off=${tnumToString(reg.varOff)} off=${off} size=${size}`, 'stack-range', { errno });
  }
  return { min, max };
}

function destroySpill(f: FuncState, spi: number): void {
  if (f.spilled[spi] === null) return;
  const { bytes, spilled } = f.ownStack();
  spilled[spi] = null;
  for (let j = 0; j < 8; j++) if (bytes[spi * 8 + j] === Slot.SPILL) bytes[spi * 8 + j] = Slot.MISC;
}

/** check_stack_write_fixed_off's test for nospec_result, Linux's bytes slot_type[0..size) of the slot. */
function needsNospecResult(f: FuncState, spi: number, size: number, value: Reg | null): boolean {
  if (value !== null && isPointer(value)) return true;
  for (let i = 0; i < size; i++) {
    const t = f.stack[spi * 8 + i];
    if (t !== Slot.MISC && t !== Slot.ZERO) return true;
  }
  return false;
}

function stackWrite(env: Env, regno: number, reg: Reg, off: number, size: number, value: Reg | null, stImm: bigint | null): void {
  const f = frameOf(env, reg);
  const { min, max } = stackBounds(regno, reg, off, size, 'write');
  growStack(env, f, min);
  const { bytes, spilled } = f.ownStack();
  if (!tnumIsConst(reg.varOff)) {
    // Variable-offset write: every byte it may touch becomes unknown data.
    const zero = (value !== null && value.type === RegType.SCALAR && tnumIsConst(value.varOff) && value.varOff.value === 0n) || stImm === 0n;
    // check_stack_write_var_off: every slot the write may touch loses the dynptr it held first.
    for (let a = min; a < max; a++) destroyIfDynptr(env, f, (-a - 1) >> 3);
    for (let a = min; a < max; a++) {
      const k = -a - 1;
      destroySpill(f, k >> 3);
      const cur = f.stack[k];
      if (!zero || cur !== Slot.ZERO) bytes[k] = Slot.MISC;
      env.scratchSlots.add(k >> 3);
    }
    return;
  }
  const spi = (-min - 1) >> 3;
  env.scratchSlots.add(spi);
  const aligned = min % 8 === 0;
  const prev = f.spilled[spi];
  if (prev && isPointer(prev) && size !== 8 && !env.privileged) throw new Reject('attempt to corrupt spilled pointer on stack', 'spill');
  // Spectre v4 (Linux !bypass_spec_v4): a barrier after storing a pointer, or over bytes that held anything but
  // data (a spilled pointer, a fresh slot), so that a load after it cannot see the old value speculatively.
  if (!env.bypassSpec && needsNospecResult(f, spi, size, value)) env.facts.markNospecResult(env.insnIdx);
  // check_stack_write_fixed_off: a write into a dynptr's slot destroys it (or is refused for a referenced one).
  destroyIfDynptr(env, f, spi);
  if (value && isPointer(value)) {
    if (size !== 8) throw new Reject('invalid size of register spill', 'spill');
    if (!aligned) throw new Reject(`misaligned stack access off ${min} size ${size}`, 'spill');
  }
  const spillValue = value ?? (stImm !== null ? fakeConst(stImm, size) : null);
  // Linux spills scalars (and ST immediates) only for CAP_BPF; pointers always, and only whole.
  const canSpill = spillValue !== null && aligned && (isPointer(spillValue) || env.privileged);
  if (canSpill && spillValue) {
    destroySpill(f, spi);
    const saved = spillValue.clone();
    spilled[spi] = saved;
    // A register spill: precision backtracking follows the value through the slot (INSN_F_STACK_ACCESS).
    env.precision.stackAccess(f.frameno, spi);
    for (let j = 7; j >= 8 - size; j--) bytes[spi * 8 + j] = Slot.SPILL;
    for (let j = 8 - size - 1; j >= 0; j--) {
      const cur = f.stack[spi * 8 + j];
      if (cur === Slot.ZERO) continue;
      if (cur === Slot.INVALID && env.privileged) continue;
      bytes[spi * 8 + j] = Slot.MISC;
    }
    return;
  }
  const zero = spillValue !== null && spillValue.type === RegType.SCALAR && tnumIsConst(spillValue.varOff) && spillValue.varOff.value === 0n;
  for (let a = min; a < max; a++) {
    const k = -a - 1;
    destroySpill(f, k >> 3);
    bytes[k] = zero ? Slot.ZERO : Slot.MISC;
    env.scratchSlots.add(k >> 3);
  }
}

function fakeConst(v: bigint, size: number): Reg {
  const r = new Reg();
  markConstScalar(r, size === 8 ? v : BigInt.asUintN(size * 8, v));
  return r;
}

function stackRead(env: Env, regno: number, reg: Reg, off: number, size: number, dstRegno: number, signed: boolean): void {
  const f = frameOf(env, reg);
  // Linux check_stack_slot_within_bounds: without allow_uninit_stack a read stays within the allocated stack.
  const { min, max } = stackBounds(regno, reg, off, size, 'read', true, env.privileged ? -MAX_STACK : -f.allocated * 8);
  if (!tnumIsConst(reg.varOff)) {
    for (let a = min; a < max; a++) {
      const k = -a - 1;
      const t = k < f.allocated * 8 ? f.stack[k] : Slot.INVALID;
      if (t === Slot.INVALID && !env.privileged) {
        throw new Reject(`invalid variable-offset read from stack R${regno} var_off=${tnumToString(reg.varOff)} off=${off} size=${size}`, 'stack-uninit');
      }
    }
    unknownLoad(env, dstRegno, size, signed);
    return;
  }
  const spi = (-min - 1) >> 3;
  env.scratchSlots.add(spi);
  const spilled = spi < f.allocated ? f.spilled[spi] : null;
  if (spilled && f.stack[spi * 8 + 7] === Slot.SPILL) {
    let spillSize = 0;
    for (let j = 7; j >= 0 && f.stack[spi * 8 + j] === Slot.SPILL; j--) spillSize++;
    const aligned = min % 8 === 0;
    if (isPointer(spilled)) {
      if (size !== 8 || !aligned) throw new Reject('invalid size of register fill', 'spill');
      if (dstRegno >= 0) env.reg(dstRegno).copyFrom(spilled);
      env.precision.stackAccess(f.frameno, spi);
      return;
    }
    if (aligned && size === spillSize) {
      if (dstRegno >= 0) {
        const d = env.reg(dstRegno);
        d.copyFrom(spilled);
        if (size < 8) d.id = 0;
        coerceToSize(d, size, signed);
      }
      env.precision.stackAccess(f.frameno, spi);
      return;
    }
    if (aligned && size < spillSize && tnumIsConst(spilled.varOff)) {
      if (dstRegno >= 0) {
        const d = env.reg(dstRegno);
        markConstScalar(d, spilled.varOff.value & ((1n << BigInt(size * 8)) - 1n));
        coerceToSize(d, size, signed);
      }
      env.precision.stackAccess(f.frameno, spi);
      return;
    }
    unknownLoad(env, dstRegno, size, signed);
    return;
  }
  let allZero = true;
  for (let a = min; a < max; a++) {
    const k = -a - 1;
    const t = k < f.allocated * 8 ? (f.stack[k] ?? Slot.INVALID) : Slot.INVALID;
    if (t === Slot.ZERO) continue;
    allZero = false;
    // check_stack_read_fixed_off: a dynptr's slots are not data the program may read.
    if (t === Slot.DYNPTR) throw new Reject(`invalid read from stack off ${min}+${a - min} size ${size}`, 'stack-uninit');
    if (t === Slot.INVALID && !env.privileged) {
      throw new Reject(`invalid read from stack off ${min}+${a - min} size ${size}`, 'stack-uninit');
    }
  }
  if (dstRegno < 0) return;
  if (allZero) markConstScalar(env.reg(dstRegno), 0n);
  else unknownLoad(env, dstRegno, size, signed);
}

/**
 * Check one access of `size` bytes at `reg + off` and, for loads, set `dstRegno` to the loaded value.
 * `value` is the stored register (STX) or null; `stImm` the stored immediate (ST).
 */
export function checkMemAccess(
  env: Env,
  regno: number,
  off: number,
  size: number,
  t: AccessType,
  dstRegno: number,
  value: Reg | null,
  stImm: bigint | null,
  signed = false,
): void {
  const reg = env.reg(regno);
  const total = off + reg.off;
  // Socket pointers' loads are rewritten as context loads are (sock.ts): they count as the context's kind here.
  env.facts.recordAccessBase(env.insnIdx, reg.type === RegType.PTR_TO_CTX || isSockPointerType(reg.type));
  const leak = (where: string): void => {
    if (t === 'write' && value && isPointer(value) && !env.privileged) throw new Reject(`R${dstRegno} leaks addr into ${where}`, 'ptr-leak');
  };
  // reg_type_str names a BTF pointer without its struct (`trusted_ptr_or_null_`).
  if (reg.flags & RegFlag.MAYBE_NULL)
    throw new Reject(
      `R${regno} invalid mem access '${reg.type === RegType.PTR_TO_BTF_ID ? regTypeName(reg).slice(0, -reg.btfName.length || undefined) : regTypeName(reg)}'`,
      'null-deref',
    );
  switch (reg.type) {
    case RegType.PTR_TO_STACK:
      // In bounds once stackBounds accepted it: a constant offset, or every offset of the variable part's
      // [smin, smax] inside the frame (Linux check_stack_access_within_bounds). Recorded after the access: a
      // load into its own base register (`r7 = *(u32 *)(r7 + 0)`) has replaced `reg` by the loaded value.
      if (t === 'write') stackWrite(env, regno, reg, total, size, value, stImm);
      else stackRead(env, regno, reg, total, size, dstRegno, signed);
      env.facts.recordMemory(env.insnIdx, true);
      return;
    case RegType.PTR_TO_CTX:
      checkCtx(env, regno, reg, off, size, t, t === 'write' ? dstRegno : dstRegno, value);
      return;
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
      if (t === 'write' && !env.progType.directPacketWrite) throw new Reject('cannot write into packet', 'ctx-write');
      leak('packet');
      checkPacket(regno, reg, total, size);
      env.facts.recordMemory(env.insnIdx, true);
      unknownLoad(env, t === 'read' ? dstRegno : -1, size, signed);
      return;
    case RegType.PTR_TO_MAP_VALUE: {
      const map = reg.map;
      if (!map) throw new Reject(`R${regno} invalid mem access 'map_value'`, 'invalid-mem');
      if (t === 'write' && map.readOnly) throw new Reject('write into map forbidden', 'ctx-write');
      leak('map');
      checkRegion(regno, reg, total, size, map.valueSize, (o) => `invalid access to map value, value_size=${map.valueSize} off=${o} size=${size}`);
      if (map.spinLockOff !== undefined) checkSpinLockUntouched(reg, total, size, map.spinLockOff);
      if (map.timerOff !== undefined) checkTimerAccess(reg, total, size, map.timerOff);
      env.facts.recordMemory(env.insnIdx, true);
      if (t === 'read' && dstRegno >= 0 && map.readOnlyValue !== undefined && map.directValue === true && tnumIsConst(reg.varOff)) {
        // A frozen read-only map: its contents are known (bpf_map_direct_read). Linux fails the load with the
        // map's ENOTSUPP, printing nothing, when the array has more than one element.
        if (map.maxEntries !== 1) throw new Reject('', 'rdonly-direct', { errno: 524 });
        const d = env.reg(dstRegno);
        markConstScalar(d, map.readOnlyValue(total + Number(reg.varOff.value), size));
        coerceToSize(d, size, signed);
        return;
      }
      unknownLoad(env, t === 'read' ? dstRegno : -1, size, signed);
      return;
    }
    case RegType.PTR_TO_MAP_KEY: {
      const map = reg.map;
      // A callback's key (bpf_for_each_map_elem) is the map's own: Linux check_mem_access refuses writes.
      if (t === 'write') throw new Reject(`write to change key R${regno} not allowed`, 'ctx-write');
      if (!map) throw new Reject(`R${regno} invalid mem access '${regTypeName(reg)}'`, 'invalid-mem');
      checkRegion(regno, reg, total, size, map.keySize, (o) => `invalid access to map key, key_size=${map.keySize} off=${o} size=${size}`);
      env.facts.recordMemory(env.insnIdx, true);
      unknownLoad(env, dstRegno, size, signed);
      return;
    }
    case RegType.PTR_TO_MEM:
      if (t === 'write' && reg.flags & RegFlag.RDONLY) throw new Reject(`R${regno} cannot write into ${regTypeName(reg)}`, 'ctx-write');
      leak('mem');
      if (reg.flags & RegFlag.RDONLY && reg.flags & RegFlag.UNTRUSTED) {
        // Untrusted read-only memory is read through probe loads: no bounds to check (check_mem_access, as Linux does).
        env.facts.recordProbeLoad(env.insnIdx);
        unknownLoad(env, dstRegno, size, signed);
        return;
      }
      checkRegion(regno, reg, total, size, reg.memSize, (o) => `invalid access to memory, mem_size=${reg.memSize} off=${o} size=${size}`);
      env.facts.recordMemory(env.insnIdx, true);
      unknownLoad(env, t === 'read' ? dstRegno : -1, size, signed);
      return;
    case RegType.PTR_TO_SOCKET:
    case RegType.PTR_TO_SOCK_COMMON:
    case RegType.PTR_TO_TCP_SOCK:
    case RegType.PTR_TO_XDP_SOCK:
      checkSockAccess(env, regno, reg, total, size, t === 'write');
      unknownLoad(env, dstRegno, size, signed);
      return;
    case RegType.PTR_TO_FLOW_KEYS:
      // check_flow_keys_access: anywhere inside struct bpf_flow_keys (whose size the context field gave), read or write.
      leak('flow keys');
      if (size < 0 || total < 0 || total + size > reg.memSize) throw new Reject(`invalid access to flow keys off=${total} size=${size}`, 'invalid-mem');
      env.facts.recordMemory(env.insnIdx, true);
      unknownLoad(env, t === 'read' ? dstRegno : -1, size, signed);
      return;
    case RegType.CONST_PTR_TO_MAP:
      // Linux lets privileged programs read struct bpf_map fields through a map pointer (BTF-typed).
      if (t === 'write') throw new Reject('only read from bpf_array is supported', 'ctx-write');
      if (!env.privileged) throw new Reject(`R${regno} invalid mem access '${regTypeName(reg)}'`, 'invalid-mem');
      if (total < 0) throw new Reject(`R${regno} is ptr_bpf_map invalid negative access: off=${total}`, 'invalid-mem');
      unknownLoad(env, dstRegno, size, signed);
      return;
    case RegType.PTR_TO_BTF_ID: {
      // check_ptr_to_btf_access, in its order of checks.
      if (!env.privileged) throw new Reject(`'struct ${reg.btfName}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`, 'invalid-mem', { errno: 1 });
      const kernelBtf = env.registry.kernelBtf;
      if (kernelBtf !== undefined && !env.gpl)
        throw new Reject(`Cannot access kernel 'struct ${reg.btfName}' from non-GPL compatible program`, 'gpl', { errno: 22 });
      if (total < 0) throw new Reject(`R${regno} is ptr_${reg.btfName} invalid negative access: off=${total}`, 'invalid-mem');
      if (!tnumIsConst(reg.varOff) || reg.varOff.value !== 0n) {
        throw new Reject(`R${regno} is ptr_${reg.btfName} invalid variable offset: off=${total}, var_off=${tnumToString(reg.varOff)}`, 'invalid-mem');
      }
      // check_ptr_to_btf_access: the program type's own btf_struct_access decides a write (struct_ops).
      const structWrite = env.progType.btfStructWrite;
      if (t === 'write' && structWrite !== undefined) {
        const w = structWrite(reg.btfName, total, size);
        if (w.kind === 'refused') throw new Reject(w.log[0] ?? '', 'invalid-mem', { errno: w.errno, more: w.log.slice(1) });
        return;
      }
      if (t === 'write') throw new Reject(`only read is supported`, 'ctx-write');
      if (kernelBtf === undefined) {
        unknownLoad(env, dstRegno, size, signed);
        return;
      }
      const access = kernelBtf.structAccess(reg.btfName, total, size);
      if (access.kind === 'refused') throw new Reject(access.log[0] ?? '', 'invalid-mem', { errno: access.errno, more: access.log.slice(1) });
      // The load runs as BPF_PROBE_MEM, as Linux's convert_ctx_accesses makes it: a fault reads 0.
      env.facts.recordProbeLoad(env.insnIdx);
      // The loaded pointer's trust follows its parent's and the field's (walkedPtrFlags). Non-sleepable programs
      // run inside an RCU read-side section, sleepable ones only where they open one (Linux in_rcu_cs).
      if (dstRegno >= 0) btfLoadResult(env, dstRegno, access, size, signed, access.kind === 'ptr' ? walkedPtrFlags(reg.flags, access, inRcuCs(env)) : 0);
      return;
    }
    default:
      throw new Reject(`R${regno} invalid mem access '${regTypeName(reg)}'`, 'invalid-mem');
  }
}

/**
 * mark_btf_ld_reg: a scalar read through BTF is unknown (cut to the access width, as check_mem_access does for
 * narrow loads); a pointer to a struct is PTR_TO_BTF_ID of that struct with `flags` (its trust).
 */
function btfLoadResult(env: Env, dstRegno: number, access: BtfAccess, size: number, signed: boolean, flags: number): void {
  if (access.kind === 'untrusted_mem') {
    // mark_btf_ld_reg's PTR_TO_MEM: MEM_RDONLY | PTR_UNTRUSTED, mem_size 0 (`rdonly_untrusted_mem(sz=0)`).
    const d = env.reg(dstRegno);
    markPointer(d, RegType.PTR_TO_MEM, RegFlag.RDONLY | RegFlag.UNTRUSTED);
    d.memSize = 0;
    return;
  }
  if (access.kind !== 'ptr') {
    unknownLoad(env, dstRegno, size, signed);
    return;
  }
  const d = env.reg(dstRegno);
  markPointer(d, RegType.PTR_TO_BTF_ID, flags);
  d.btfName = access.btfName;
  // A pointer that may be NULL gets an id for its NULL check to reach its copies (mark_btf_ld_reg).
  if (flags & RegFlag.MAYBE_NULL) d.id = env.newId();
}

/** LDX: `dst = *(size *)(src + off)`. */
export function checkLoad(env: Env, insn: RawInsn, form: OpcodeForm): void {
  checkSrc(env, insn.src);
  checkDst(env, insn.dst);
  checkMemAccess(env, insn.src, insn.off, form.width, 'read', insn.dst, null, null, form.kind === 'ldxsx');
}

/** STX and ST: `*(size *)(dst + off) = src | imm`. */
export function checkStore(env: Env, insn: RawInsn, form: OpcodeForm): void {
  checkSrc(env, insn.dst);
  if (form.kind === 'st') {
    checkMemAccess(env, insn.dst, insn.off, form.width, 'write', -1, null, BigInt(insn.imm));
    if (isPacketType(env.reg(insn.dst).type)) env.facts.seenDirectWrite = true;
    return;
  }
  const value = checkSrc(env, insn.src);
  checkMemAccess(env, insn.dst, insn.off, form.width, 'write', insn.src, value, null);
  if (isPacketType(env.reg(insn.dst).type)) env.facts.seenDirectWrite = true;
}

/** Atomic read-modify-write (Linux check_atomic). */
export function checkAtomic(env: Env, insn: RawInsn, form: OpcodeForm): void {
  const src = checkSrc(env, insn.src);
  const dst = checkSrc(env, insn.dst);
  const cmpxchg = insn.imm === 0xf1;
  if (cmpxchg) checkSrc(env, 0);
  if (isPointer(src)) {
    if (!env.privileged || cmpxchg || insn.imm === 0xe1 || (insn.imm & 1) === 1) throw new Reject(`R${insn.src} leaks addr into mem`, 'ptr-leak');
  }
  if (dst.type === RegType.PTR_TO_CTX || isPacketType(dst.type) || dst.type === RegType.PTR_TO_BTF_ID) {
    throw new Reject(`BPF_ATOMIC stores into R${insn.dst} ${regTypeName(dst)} is not allowed`, 'ctx-write');
  }
  const fetchReg = cmpxchg ? 0 : insn.imm === 0xe1 || (insn.imm & 1) === 1 ? insn.src : -1;
  // Read then write the same location, as Linux does.
  checkMemAccess(env, insn.dst, insn.off, form.width, 'read', -1, null, null);
  const dstAfter = env.reg(insn.dst);
  if (dstAfter.type === RegType.PTR_TO_STACK) {
    // Writing through the stack keeps spilled scalars as unknown data.
    checkMemAccess(env, insn.dst, insn.off, form.width, 'write', -1, unknownScalar(), null);
  } else {
    checkMemAccess(env, insn.dst, insn.off, form.width, 'write', -1, src, null);
  }
  if (fetchReg >= 0) {
    checkDst(env, fetchReg);
    const r = env.reg(fetchReg);
    markUnknown(r);
    if (form.width === 4) zext32(r);
  }
}

function unknownScalar(): Reg {
  const r = new Reg();
  markUnknown(r);
  return r;
}

/** LD_ABS / LD_IND: legacy packet loads of socket filters and tc programs. */
export function checkLdAbs(env: Env, insn: RawInsn, form: OpcodeForm): void {
  if (!env.progType.ldAbs) throw new Reject('BPF_LD_[ABS|IND] instructions not allowed for this program type', 'ld-abs', { errno: 22 });
  if (env.state.frames.length > 1 || env.prog.subprogStarts.length > 1) {
    throw new Reject('BPF_LD_[ABS|IND] instructions cannot be mixed with bpf-to-bpf calls', 'ld-abs');
  }
  const r6 = checkSrc(env, 6);
  if (form.kind === 'ld_ind') checkSrc(env, insn.src);
  if (env.state.refs.length > 0) throw new Reject('BPF_LD_[ABS|IND] cannot be mixed with socket references', 'ld-abs');
  if (r6.type !== RegType.PTR_TO_CTX) throw new Reject('at the time of BPF_LD_ABS|IND R6 != pointer to skb', 'ld-abs');
  for (let r = 1; r <= 5; r++) {
    const reg = env.reg(r);
    markUnknown(reg);
    reg.type = RegType.NOT_INIT;
  }
  const r0 = env.reg(0);
  markUnknown(r0);
  coerceToSize(r0, form.width, false);
  env.scratchRegs |= 1;
}

/** Format helper used by messages that print a register in parentheses. */
export function describeReg(r: Reg, frameno: number): string {
  return formatReg(r, frameno);
}

export { stackBounds, frameOf, growStack };

/** A register just loaded as a pointer that may be NULL: PTR_MAYBE_NULL with a fresh id, for the NULL test to clear. */
function markMaybeNull(env: Env, regno: number): void {
  const r = env.reg(regno);
  r.flags |= RegFlag.MAYBE_NULL;
  r.id = env.newId();
}
