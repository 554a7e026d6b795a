/**
 * Calls and exits (Linux check_helper_call, check_func_arg, check_func_call, prepare_func_exit,
 * check_return_code): helper arguments against their prototypes, references, spin locks, bpf-to-bpf frames.
 */
import type { RawInsn } from '@ebpf-sim/isa';
import { checkBtfArg } from './btf-ptr.js';
import { checkDst, checkSrc, type Env } from './env.js';
import {
  checkHelperWriteOverDynptr,
  checkInitDynptr,
  checkReleaseDynptr,
  checkUninitDynptr,
  markDynptrSlots,
  releaseDynptr,
  type DynptrArg,
} from './dynptr.js';
import { checkMemAccess, frameOf, growStack, stackBounds } from './memory.js';
import type { Reg } from './reg.js';
import { RegFlag, RegType, isPacketType, isPointer, markNotInit, markPointer, markUnknown, regTypeName, typeCodeName } from './reg.js';
import type { ArgType, CallbackKind, HelperProto, MapDesc } from './registry.js';
import { checkMightSleep } from './sleepable.js';
import { invalidatePacketSlices } from './dynptr.js';
import { SOCK_TYPE_NAMES, isSockPointerType } from './sock.js';
import { Reject } from './reject.js';
import { FuncState, Slot, VState } from './state.js';
import { checkTimerArg } from './timer.js';
import { tnumIsConst, tnumToString } from './tnum.js';

const MAX_CALL_FRAMES = 8;
const MAX_VAR_SIZE = 1 << 29;

interface CallMeta {
  map: MapDesc | null;
  /** Memory argument waiting for its size: register number. */
  memRegno: number;
  memWrite: boolean;
  memOrNull: boolean;
  allocSize: number;
  releaseRef: number;
  lockId: number;
  /** The subprogram a `ptr_to_func` argument names, -1 when none. */
  subprog: number;
  /** The initialised dynptr argument (its id and reference, for bpf_dynptr_data's slice), null when none. */
  dynptr: DynptrArg | null;
  /** Register of a dynptr argument the helper releases (Linux meta.release_regno for a dynptr), 0 when none. */
  releaseDynptr: number;
}

/** Linux reg_type_str: a register's type without the struct name a BTF pointer's state line adds. */
function regTypeStr(reg: Reg): string {
  const name = regTypeName(reg);
  return reg.type === RegType.PTR_TO_BTF_ID && name.endsWith(reg.btfName) ? name.slice(0, name.length - reg.btfName.length) : name;
}

function expectType(regno: number, reg: Reg, expected: string): Reject {
  return new Reject(`R${regno} type=${regTypeStr(reg)} expected=${expected}`, 'helper-arg');
}

/** Linux 6.18's mem_types, as check_reg_type lists them (PTR_TO_MEM | MEM_RINGBUF, PTR_TO_BUF, trusted BTF pointers). */
const MEM_TYPES = 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_';
/** Linux 6.18's btf_ptr_types. */
const BTF_PTR_TYPES = 'ptr_, trusted_ptr_, rcu_ptr_';
/** Linux 6.18's spin_lock_types: a map value, or an allocated object (PTR_TO_BTF_ID | MEM_ALLOC, printed `ptr_`). */
const SPIN_LOCK_TYPES = 'map_value, ptr_';

/**
 * check_reg_type for an argument of mem_types: the memory types, or a trusted BTF pointer, which only an argument
 * the helper reads (MEM_RDONLY: this registry's `ptr_to_mem` and `ptr_to_mem_or_null`) may take; Linux refuses a
 * helper that may write into kernel memory (recorded on Linux 6.18: bp_map_key). Read-only memory (MEM_RDONLY
 * registers) matches only such an argument too.
 */
function checkMemArgType(proto: HelperProto, regno: number, reg: Reg, argReadOnly: boolean): void {
  const trusted = reg.type === RegType.PTR_TO_BTF_ID && (reg.flags & ~RegFlag.TRUSTED) === 0 && (reg.flags & RegFlag.TRUSTED) !== 0;
  if (!trusted && (!isMemType(reg) || reg.flags & RegFlag.UNTRUSTED || (reg.flags & RegFlag.RDONLY && !argReadOnly))) throw expectType(regno, reg, MEM_TYPES);
  if (trusted && !argReadOnly) {
    throw new Reject(`${proto.name}() may write into memory pointed by R${regno} type=${regTypeStr(reg)}`, 'helper-arg');
  }
}

/**
 * check_helper_mem_access for a trusted BTF pointer: check_ptr_to_btf_access of `size` bytes read at its offset,
 * btf_struct_access deciding (recorded on Linux 6.18: 16 bytes of a task_struct are `access beyond the end of
 * member flags (mend:8) in struct thread_info with off 0 size 16`). Nothing is loaded.
 */
function helperBtfMem(env: Env, regno: number, reg: Reg, size: number): void {
  const off = reg.off;
  if (off < 0) throw new Reject(`R${regno} is ptr_${reg.btfName} invalid negative access: off=${off}`, 'invalid-mem');
  if (!tnumIsConst(reg.varOff) || reg.varOff.value !== 0n) {
    throw new Reject(`R${regno} is ptr_${reg.btfName} invalid variable offset: off=${off}, var_off=${tnumToString(reg.varOff)}`, 'invalid-mem');
  }
  const access = env.registry.kernelBtf?.structAccess(reg.btfName, off, size);
  if (access?.kind === 'refused') throw new Reject(access.log[0] ?? '', 'invalid-mem', { errno: access.errno, more: access.log.slice(1) });
}

/** The register type of each socket-pointer return (RET_PTR_TO_SOCKET_OR_NULL, ...), PTR_MAYBE_NULL added. */
const SOCK_RET_TYPES = {
  ptr_to_socket_or_null: RegType.PTR_TO_SOCKET,
  ptr_to_tcp_sock_or_null: RegType.PTR_TO_TCP_SOCK,
  ptr_to_sock_common_or_null: RegType.PTR_TO_SOCK_COMMON,
} as const;

/** Access `size` bytes at a helper memory argument (Linux check_helper_mem_access). */
function helperMem(env: Env, regno: number, size: number, write: boolean, zeroOk: boolean): void {
  const reg = env.reg(regno);
  if (size === 0 && zeroOk) return;
  if (size === 0) throw new Reject('invalid zero-sized read', 'helper-size');
  switch (reg.type) {
    case RegType.PTR_TO_STACK:
      helperStack(env, regno, reg, size, write);
      return;
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
    case RegType.PTR_TO_MAP_VALUE:
    case RegType.PTR_TO_MAP_KEY:
    case RegType.PTR_TO_MEM:
      if (reg.flags & RegFlag.MAYBE_NULL) throw expectType(regno, reg, MEM_TYPES);
      // The region checks of a normal load cover the whole range: check first and last byte blocks.
      checkMemAccess(env, regno, 0, size, write && reg.type !== RegType.PTR_TO_MAP_KEY ? 'write' : 'read', -1, null, null);
      return;
    case RegType.PTR_TO_BTF_ID:
      if (reg.flags === RegFlag.TRUSTED && !write) {
        helperBtfMem(env, regno, reg, size);
        return;
      }
      throw expectType(regno, reg, MEM_TYPES);
    default:
      throw expectType(regno, reg, MEM_TYPES);
  }
}

function helperStack(env: Env, regno: number, reg: Reg, size: number, write: boolean): void {
  const f = frameOf(env, reg);
  const { min, max } = stackBounds(regno, reg, reg.off, size, write ? 'write' : 'read', false);
  if (size === 0) throw new Reject('invalid zero-sized read', 'helper-size');
  if (write) checkHelperWriteOverDynptr(f, min, max);
  growStack(env, f, min);
  for (let a = min; a < max; a++) {
    const k = -a - 1;
    const spi = k >> 3;
    // Linux's log shows the slots a helper writes as touched by the call, not the ones it only reads.
    if (write) env.scratchSlots.add(spi);
    if (write) {
      const { bytes, spilled } = f.ownStack();
      if (spilled[spi]) {
        spilled[spi] = null;
        for (let j = 0; j < 8; j++) if (bytes[spi * 8 + j] === Slot.SPILL) bytes[spi * 8 + j] = Slot.MISC;
      }
      bytes[k] = Slot.MISC;
      continue;
    }
    const t = f.stack[k] ?? Slot.INVALID;
    if (t === Slot.MISC || t === Slot.ZERO) continue;
    if (t === Slot.SPILL) {
      const sp = f.spilled[spi];
      if (sp && (sp.type === RegType.SCALAR || env.privileged)) continue;
    }
    if (t === Slot.INVALID && env.privileged) continue;
    if (tnumIsConst(reg.varOff)) throw new Reject(`invalid read from stack R${regno} off ${min}+${a - min} size ${size}`, 'stack-uninit');
    throw new Reject(`invalid read from stack R${regno} var_off ${tnumToString(reg.varOff)}+${a - min} size ${size}`, 'stack-uninit');
  }
}

function checkSizeArg(env: Env, regno: number, reg: Reg, meta: CallMeta, zeroOk: boolean): void {
  if (reg.type !== RegType.SCALAR) throw expectType(regno, reg, 'scalar');
  if (reg.smin < 0n) throw new Reject(`R${regno} min value is negative, either use unsigned or 'var &= const'`, 'helper-size');
  if (reg.umin === 0n && !zeroOk) {
    throw new Reject(`R${regno} invalid zero-sized read: u64=[${reg.umin},${reg.umax}]`, 'helper-size');
  }
  env.precision.mark(env.insnIdx, 1 << regno);
  if (reg.umax >= BigInt(MAX_VAR_SIZE)) throw new Reject(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`, 'helper-size');
  if (meta.memRegno < 0) return;
  const memReg = env.reg(meta.memRegno);
  if (meta.memOrNull && memReg.type === RegType.SCALAR) return;
  helperMem(env, meta.memRegno, Number(reg.umax), meta.memWrite, zeroOk);
}

function checkArg(env: Env, proto: HelperProto, argIdx: number, type: ArgType, meta: CallMeta): void {
  const regno = argIdx + 1;
  const reg = checkSrc(env, regno);
  const isNullScalar = reg.type === RegType.SCALAR && tnumIsConst(reg.varOff) && reg.varOff.value === 0n;
  if (type === 'anything') {
    if (isPointer(reg) && !env.privileged) throw new Reject(`R${regno} leaks addr into helper function`, 'ptr-leak');
    return;
  }
  // check_func_arg, before the argument's type: a packet pointer only reaches a helper with pkt_access
  // (may_access_direct_pkt_data with the call's meta).
  if (isPacketType(reg.type) && proto.pktAccess !== true && env.progType.helpersTakePackets !== true) {
    throw new Reject('helper access to the packet is not allowed', 'helper-arg');
  }
  switch (type) {
    case 'const_map_ptr': {
      if (reg.type !== RegType.CONST_PTR_TO_MAP || reg.flags & RegFlag.MAYBE_NULL) throw expectType(regno, reg, 'map_ptr');
      const map = reg.map;
      if (!map) throw expectType(regno, reg, 'map_ptr');
      // bpf_timer_init: the map must be the one the timer (R1) lives in.
      if (meta.map && meta.map !== map) {
        throw new Reject(`timer pointer in R1 map_uid=0 doesn't match map pointer in R${regno} map_uid=0`, 'timer', { errno: 22 });
      }
      meta.map = map;
      return;
    }
    case 'ptr_to_map_key':
    case 'ptr_to_map_value':
    case 'ptr_to_uninit_map_value': {
      if (!meta.map) throw new Reject(`invalid map_ptr to access map->${type === 'ptr_to_map_key' ? 'key' : 'value'}`, 'helper-arg');
      checkMemArgType(proto, regno, reg, false);
      const size = type === 'ptr_to_map_key' ? meta.map.keySize : meta.map.valueSize;
      helperMem(env, regno, size, type === 'ptr_to_uninit_map_value', false);
      return;
    }
    case 'ptr_to_ctx':
      if (reg.type !== RegType.PTR_TO_CTX) throw expectType(regno, reg, 'ctx');
      if (reg.off !== 0) throw new Reject(`dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`, 'ctx-modified');
      return;
    case 'ptr_to_mem':
    case 'ptr_to_mem_or_null':
    case 'ptr_to_uninit_mem':
      if (type === 'ptr_to_mem_or_null' && isNullScalar) {
        meta.memRegno = regno;
        meta.memOrNull = true;
        return;
      }
      checkMemArgType(proto, regno, reg, type !== 'ptr_to_uninit_mem');
      meta.memRegno = regno;
      meta.memWrite = type === 'ptr_to_uninit_mem';
      return;
    case 'const_size':
    case 'const_size_or_zero':
      checkSizeArg(env, regno, reg, meta, type === 'const_size_or_zero');
      meta.memRegno = -1;
      return;
    case 'const_alloc_size_or_zero':
      if (reg.type !== RegType.SCALAR || !tnumIsConst(reg.varOff)) throw new Reject(`R${regno} is not a known constant'`, 'helper-size');
      meta.allocSize = Number(reg.varOff.value);
      env.precision.mark(env.insnIdx, 1 << regno);
      return;
    case 'ptr_to_ringbuf_mem':
      if (reg.type !== RegType.PTR_TO_MEM || !(reg.flags & RegFlag.RINGBUF) || reg.flags & RegFlag.MAYBE_NULL) {
        throw expectType(regno, reg, 'ringbuf_mem');
      }
      // check_func_arg_reg_off for a release argument: a fixed offset is EINVAL with the wording kfuncs share, a
      // variable one __check_ptr_off_reg's EACCES.
      if (reg.off !== 0) {
        throw new Reject(`R${regno} must have zero offset when passed to release func or trusted arg to kfunc`, 'ref-release', { errno: 22 });
      }
      if (!tnumIsConst(reg.varOff) || reg.varOff.value !== 0n) {
        throw new Reject(`variable ${regTypeStr(reg)} access var_off=${tnumToString(reg.varOff)} disallowed`, 'ref-release');
      }
      if (!reg.refObjId) throw new Reject(`R${regno} must be referenced when passed to release function`, 'ref-release');
      meta.releaseRef = reg.refObjId;
      return;
    case 'ptr_to_spin_lock': {
      if (reg.type !== RegType.PTR_TO_MAP_VALUE || reg.flags & RegFlag.MAYBE_NULL) throw expectType(regno, reg, SPIN_LOCK_TYPES);
      const map = reg.map;
      if (!map || map.spinLockOff === undefined) throw new Reject(`map '${map?.name ?? ''}' has no valid bpf_spin_lock`, 'lock');
      if (!tnumIsConst(reg.varOff)) throw new Reject(`R${regno} doesn't have constant offset. bpf_spin_lock has to be at the constant offset`, 'lock');
      const off = reg.off + Number(reg.varOff.value);
      if (off !== map.spinLockOff) throw new Reject(`off ${off} doesn't point to 'struct bpf_spin_lock' that is at ${map.spinLockOff}`, 'lock', { errno: 22 });
      meta.lockId = reg.id || -1;
      return;
    }
    case 'ptr_to_long':
    case 'ptr_to_int':
      checkMemArgType(proto, regno, reg, false);
      helperMem(env, regno, type === 'ptr_to_long' ? 8 : 4, true, false);
      return;
    case 'ptr_to_stack_or_null':
      if (isNullScalar) return;
      if (reg.type !== RegType.PTR_TO_STACK) throw expectType(regno, reg, 'fp');
      return;
    case 'ptr_to_btf_id':
      if (reg.type !== RegType.PTR_TO_BTF_ID || reg.flags & RegFlag.MAYBE_NULL) throw expectType(regno, reg, BTF_PTR_TYPES);
      checkBtfArg(regno, reg);
      return;
    case 'ptr_to_btf_id_or_null':
      if (isNullScalar) return;
      checkBtfArg(regno, reg);
      return;
    case 'ptr_to_btf_id_sock_common':
      // compatible_reg_types' btf_id_sock_common_types: a socket pointer, or a BTF pointer (trusted or not).
      if (reg.flags & RegFlag.MAYBE_NULL || !(isSockPointerType(reg.type) || reg.type === RegType.PTR_TO_BTF_ID)) {
        throw expectType(regno, reg, `${SOCK_TYPE_NAMES}, ptr_, trusted_ptr_`);
      }
      return;
    case 'ptr_to_sock_common':
      // sock_types: any socket pointer, NULL-checked.
      if (reg.flags & RegFlag.MAYBE_NULL || !isSockPointerType(reg.type)) throw expectType(regno, reg, SOCK_TYPE_NAMES);
      return;
    case 'ptr_to_map_value_or_null':
      if (isNullScalar) return;
      if (!meta.map) throw new Reject('invalid map_ptr to access map->value', 'helper-arg');
      checkMemArgType(proto, regno, reg, false);
      helperMem(env, regno, meta.map.valueSize, false, false);
      return;
    case 'ptr_to_dynptr':
      meta.dynptr = checkDynptrArg(env, regno, argIdx, reg, type);
      return;
    case 'ptr_to_dynptr_uninit_local':
    case 'ptr_to_dynptr_uninit_ringbuf':
      if (reg.type !== RegType.PTR_TO_STACK && reg.type !== RegType.CONST_PTR_TO_DYNPTR) throw expectType(regno, reg, 'fp, dynptr_ptr');
      checkUninitDynptr(env, reg);
      // process_dynptr_func: the 16 bytes are written as two 8-byte stores first (check_mem_access).
      for (let i = 0; i < 16; i += 8) checkMemAccess(env, regno, i, 8, 'write', -1, null, null);
      markDynptrSlots(env, reg, type);
      return;
    case 'ptr_to_dynptr_release_ringbuf':
      if (reg.type !== RegType.PTR_TO_STACK && reg.type !== RegType.CONST_PTR_TO_DYNPTR) throw expectType(regno, reg, 'fp, dynptr_ptr');
      checkReleaseDynptr(env, regno, reg);
      meta.dynptr = checkInitDynptr(env, regno, argIdx, reg, type);
      meta.releaseDynptr = regno;
      return;
    case 'ptr_to_timer':
      if (reg.type !== RegType.PTR_TO_MAP_VALUE || reg.flags & RegFlag.MAYBE_NULL) throw expectType(regno, reg, 'map_value');
      meta.map = checkTimerArg(regno, reg);
      return;
    case 'ptr_to_func':
      if (reg.type !== RegType.PTR_TO_FUNC) throw expectType(regno, reg, 'func');
      meta.subprog = reg.subprog;
      return;
  }
}

/**
 * Linux process_dynptr_func for a dynptr the helper reads (MEM_RDONLY): the kernel's own (CONST_PTR_TO_DYNPTR),
 * or an initialised one on the stack (dynptr.ts). Its id and reference go to bpf_dynptr_data's slice.
 */
function checkDynptrArg(env: Env, regno: number, argIdx: number, reg: Reg, type: ArgType): DynptrArg {
  if (reg.type !== RegType.CONST_PTR_TO_DYNPTR && reg.type !== RegType.PTR_TO_STACK) throw expectType(regno, reg, 'fp, dynptr_ptr');
  return checkInitDynptr(env, regno, argIdx, reg, type);
}

/**
 * check_mem_reg for a global function's pointer-to-memory argument: a known NULL passes; anything else must be
 * memory the callee may read and write `size` bytes of (check_helper_mem_access, read then write), checked as
 * if it were not NULL (the caller's register is left as it was).
 */
export function checkSubprogMemArg(env: Env, regno: number, size: number): void {
  const reg = env.reg(regno);
  if (reg.type === RegType.SCALAR && tnumIsConst(reg.varOff) && reg.varOff.value === 0n) return;
  if (!isMemType(reg) && !(reg.flags & RegFlag.MAYBE_NULL && reg.type !== RegType.SCALAR)) {
    // check_helper_mem_access's default case names only the stack as what it expected.
    throw new Reject(`R${regno} type=${regTypeName(reg)} expected=fp`, 'helper-arg');
  }
  const saved = reg.clone();
  // Linux's log does not show the stack slots this check looked at as touched by the call.
  const scratched = [...env.scratchSlots];
  reg.flags &= ~RegFlag.MAYBE_NULL;
  try {
    if (!isMemType(reg)) throw new Reject(`R${regno} type=${regTypeName(reg)} expected=fp`, 'helper-arg');
    helperMem(env, regno, size, false, true);
    helperMem(env, regno, size, true, true);
  } finally {
    reg.copyFrom(saved);
    env.scratchSlots.clear();
    for (const spi of scratched) env.scratchSlots.add(spi);
  }
}

function isMemType(reg: Reg): boolean {
  if (reg.flags & RegFlag.MAYBE_NULL) return false;
  return (
    reg.type === RegType.PTR_TO_STACK ||
    isPacketType(reg.type) ||
    reg.type === RegType.PTR_TO_MAP_VALUE ||
    reg.type === RegType.PTR_TO_MAP_KEY ||
    reg.type === RegType.PTR_TO_MEM
  );
}

/** Apply `fn` to every register and spilled register of every frame. */
export function forEachReg(state: VState, fn: (r: Reg) => void): void {
  for (const f of state.frames) {
    for (const r of f.regs) fn(r);
    // `fn` may change the spilled registers: they must be this state's own.
    if (f.hasSpills()) for (const r of f.ownStack().spilled) if (r) fn(r);
  }
}

function invalidate(env: Env, r: Reg): void {
  if (env.privileged) markUnknown(r);
  else markNotInit(r);
}

/** The map side and the helper side of Linux check_map_func_compatibility, after the arguments. */
function checkMapCompat(proto: HelperProto, map: MapDesc | null): void {
  if (!map) return;
  const refused = (proto.mapTypes && !proto.mapTypes.includes(map.type)) || (map.allowedHelpers && !map.allowedHelpers.includes(proto.id));
  if (!refused) return;
  if (proto.tailCall) throw new Reject('expected prog array map for tail call', 'helper-map', { errno: 22 });
  throw new Reject(`cannot pass map_type ${map.typeId} into func ${proto.name}#${proto.id}`, 'helper-map', { errno: 22 });
}

/** The key of an array lookup when it is a known constant on the stack (Linux get_constant_map_key), else -1. */
function constMapKey(env: Env, map: MapDesc): number {
  if (map.type !== 'array' && map.type !== 'percpu_array') return -1;
  const key = env.reg(2);
  if (key.type !== RegType.PTR_TO_STACK || !tnumIsConst(key.varOff)) return -1;
  const f = frameOf(env, key);
  const k = -(key.off + Number(BigInt.asIntN(64, key.varOff.value))) - 1;
  const spi = k >> 3;
  let zeros = 0;
  for (let j = k & 7; j >= 0 && f.stack[spi * 8 + j] === Slot.ZERO; j--) zeros++;
  let value: bigint;
  if (zeros >= map.keySize) {
    value = 0n;
  } else {
    const sp = f.spilled[spi];
    let spill = 0;
    for (let j = k & 7; j >= 0 && f.stack[spi * 8 + j] === Slot.SPILL; j--) spill++;
    if (!sp || sp.type !== RegType.SCALAR || spill !== map.keySize || !tnumIsConst(sp.varOff)) return -1;
    value = sp.varOff.value;
  }
  return value < BigInt(map.maxEntries) ? Number(value) : -1;
}

export function checkHelperCall(env: Env, insn: RawInsn): void {
  const id = insn.imm;
  const proto = env.progType.helperProtos?.get(id) ?? env.registry.helper(id);
  if (!proto) throw new Reject(`invalid func unknown#${id}`, 'helper-unknown', { errno: 22 });
  const allowed = env.progType.helpers.has(id) && (env.privileged || !env.progType.privilegedHelpers?.has(id));
  if (!allowed) throw new Reject(`program of this type cannot use helper ${proto.name}#${id}`, 'helper-type', { errno: 22 });
  // check_helper_call answers EINVAL here (not the verifier's usual EACCES).
  if (proto.gplOnly && !env.gpl) throw new Reject('cannot call GPL-restricted function from non-GPL compatible program', 'gpl', { errno: 22 });
  checkMightSleep(env, proto, id);
  if (env.state.activeLock && proto.lock !== 'release') {
    throw new Reject('function calls are not allowed while holding a lock', 'lock', { errno: 22 });
  }
  const meta: CallMeta = {
    map: null,
    memRegno: -1,
    memWrite: false,
    memOrNull: false,
    allocSize: 0,
    releaseRef: 0,
    lockId: 0,
    subprog: -1,
    dynptr: null,
    releaseDynptr: 0,
  };
  proto.args.forEach((t, i) => checkArg(env, proto, i, t, meta));
  // check_helper_call: a released dynptr leaves the stack (unmark_stack_slots_dynptr) right after the arguments.
  if (meta.releaseDynptr) releaseDynptr(env, env.reg(meta.releaseDynptr));
  if (proto.dataIsMapValue === true && env.reg(1).type !== RegType.PTR_TO_MAP_VALUE) {
    throw new Reject(`Unsupported reg type ${regTypeName(env.reg(1))} for ${proto.name} data`, 'helper-arg');
  }
  // Linux pushes the callback's visit before check_map_func_compatibility (a ringbuf given to
  // bpf_for_each_map_elem is refused as a map without callbacks).
  if (proto.callback !== undefined) pushCallback(env, proto.callback, meta);
  checkMapCompat(proto, meta.map);
  if (meta.map) env.facts.recordCallMap(env.insnIdx, meta.map);
  // Linux get_constant_map_key answers only for CAP_BPF: an unprivileged lookup's value stays nullable.
  const constKey = meta.map && proto.constKeyNeverNull === true && env.privileged ? constMapKey(env, meta.map) : -1;
  if (proto.lock === 'acquire') {
    if (env.state.activeLock) throw new Reject('Locking two bpf_spin_locks are not allowed', 'lock');
    env.state.activeLock = meta.lockId;
  } else if (proto.lock === 'release') {
    if (!env.state.activeLock) throw new Reject('bpf_spin_unlock without taking a lock', 'lock', { errno: 22 });
    if (env.state.activeLock !== meta.lockId) throw new Reject('bpf_spin_unlock of different lock', 'lock');
    env.state.activeLock = 0;
  }
  if (meta.releaseRef) releaseReference(env, meta.releaseRef);
  if (proto.tailCall) env.facts.recordMemory(env.insnIdx, false);
  // Caller-saved registers are clobbered.
  for (let r = 1; r <= 5; r++) {
    markNotInit(env.reg(r));
    env.scratchRegs |= 1 << r;
  }
  const r0 = checkDst(env, 0);
  switch (proto.ret) {
    case 'integer':
      markUnknown(r0);
      break;
    case 'void':
      markNotInit(r0);
      break;
    case 'ptr_to_map_value_or_null':
      if (meta.map?.innerMap !== undefined) {
        // A map-in-map lookup gives the inner map (Linux 6.18 prints R0=map_ptr_or_null(id=1,ks=4,vs=8): a map
        // pointer described by inner_map_meta), usable as a map argument after the NULL check.
        markPointer(r0, RegType.CONST_PTR_TO_MAP, RegFlag.MAYBE_NULL);
        r0.map = meta.map.innerMap;
        r0.id = env.newId();
        break;
      }
      // A constant in-range key into an array cannot miss (Linux 6.12+: can_elide_value_nullness).
      markPointer(r0, RegType.PTR_TO_MAP_VALUE, constKey >= 0 ? 0 : RegFlag.MAYBE_NULL);
      r0.map = meta.map;
      if (constKey < 0) r0.id = env.newId();
      break;
    case 'ptr_to_map_value':
      markPointer(r0, RegType.PTR_TO_MAP_VALUE);
      r0.map = meta.map;
      break;
    case 'ptr_to_ringbuf_mem_or_null': {
      markPointer(r0, RegType.PTR_TO_MEM, RegFlag.MAYBE_NULL | RegFlag.RINGBUF);
      r0.memSize = meta.allocSize;
      env.newId();
      const ref = env.newId();
      r0.id = ref;
      r0.refObjId = ref;
      env.state.refs.push({ id: ref, insn: env.insnIdx });
      break;
    }
    case 'ptr_to_dynptr_mem_or_null':
      // A slice of the dynptr: NULL-checked, sized by the size argument, gone with the dynptr (dynptr_id) or
      // with the reference it holds (ref_obj_id, release_reference).
      markPointer(r0, RegType.PTR_TO_MEM, RegFlag.MAYBE_NULL);
      r0.memSize = meta.allocSize;
      r0.id = env.newId();
      r0.dynptrId = meta.dynptr?.id ?? 0;
      r0.refObjId = meta.dynptr?.refObjId ?? 0;
      break;
    case 'ptr_to_socket_or_null':
    case 'ptr_to_tcp_sock_or_null':
    case 'ptr_to_sock_common_or_null':
      markPointer(r0, SOCK_RET_TYPES[proto.ret], RegFlag.MAYBE_NULL);
      r0.id = env.newId();
      break;
    case 'ptr_to_btf_id':
    case 'ptr_to_btf_id_or_null':
    case 'ptr_to_mem_or_btf_id':
      markPointer(r0, RegType.PTR_TO_BTF_ID, RegFlag.TRUSTED | (proto.ret === 'ptr_to_btf_id_or_null' ? RegFlag.MAYBE_NULL : 0));
      r0.btfName = proto.retBtfName ?? 'void';
      if (proto.ret === 'ptr_to_btf_id_or_null') r0.id = env.newId();
      break;
  }
  if (proto.changesPktData) {
    forEachReg(env.state, (r) => {
      if (isPacketType(r.type) || r.type === RegType.PTR_TO_PACKET_END) invalidate(env, r);
    });
  }
  // clear_all_pkt_pointers drops the slices of skb and xdp dynptrs too.
  if (proto.changesPktData) invalidatePacketSlices(env);
}

function releaseReference(env: Env, ref: number): void {
  const idx = env.state.refs.findIndex((r) => r.id === ref);
  if (idx < 0) throw new Reject(`R1 must be referenced when passed to release function`, 'ref-release');
  env.state.refs.splice(idx, 1);
  forEachReg(env.state, (r) => {
    if (r.refObjId === ref) invalidate(env, r);
  });
}

/**
 * A callback-calling helper (Linux push_callback_call): the callback's body is explored later, from a copy
 * of the current state with a new frame for the callback set up as the helper's kind says
 * (set_loop_callback_state, set_map_elem_callback_state); the current path goes on after the helper. The
 * callback returns to the helper call, which runs again and pushes another visit: the visits stop when the
 * state at the call repeats (pruning) or, for bpf_loop, when the loop count's upper bound is reached.
 */
function pushCallback(env: Env, kind: CallbackKind, meta: CallMeta): void {
  if (kind === 'timer') {
    pushAsyncCallback(env, meta);
    return;
  }
  const state = env.state;
  const caller = state.cur;
  if (kind === 'loop') {
    // update_loop_inline_state: flags that are a known 0 (then precise) and one callback make the call inlinable.
    const flags = env.reg(4);
    const flagsZero = flags.type === RegType.SCALAR && tnumIsConst(flags.varOff) && flags.varOff.value === 0n;
    if (flagsZero) env.precision.mark(env.insnIdx, 1 << 4);
    env.facts.recordLoopCall(env.insnIdx, flagsZero, env.prog.subprogStarts[meta.subprog] ?? 0, caller.subprog);
    // The verifier relies on R1 to know when the iterations end (Linux marks it precise).
    env.precision.mark(env.insnIdx, 1 << 1);
    if (BigInt(caller.callbackDepth) >= env.reg(1).umax) {
      caller.callbackDepth = 0;
      env.logDetail(`frame${caller.frameno} bpf_loop iteration limit reached`);
      return;
    }
  }
  if (kind === 'map_elem' && meta.map?.forEachCallback !== true) {
    throw new Reject('callback function not allowed for map', 'callback', { errno: 524 });
  }
  // setup_func_entry
  if (state.frames.length >= MAX_CALL_FRAMES) {
    throw new Reject(`the call stack of ${state.frames.length + 1} frames is too deep`, 'call-depth', { errno: 7 });
  }
  const visit = state.clone();
  const from = visit.cur;
  const callee = FuncState.create(state.frames.length, env.insnIdx, meta.subprog);
  callee.inCallbackFn = true;
  const arg = (n: number): Reg => {
    const r = callee.regs[n];
    if (!r) throw new Reject(`R${n} is invalid`, 'reserved', { errno: 22 });
    return r;
  };
  const callerReg = (n: number): Reg => from.regs[n] ?? arg(n);
  if (kind === 'loop') {
    // callback_fn(u64 index, void *callback_ctx): the index is any scalar.
    markUnknown(arg(1));
    arg(2).copyFrom(callerReg(3));
  } else if (kind === 'user_ringbuf') {
    // callback_fn(const struct bpf_dynptr *dynptr, void *callback_ctx): a local dynptr over the sample
    // (mark_dynptr_cb_reg gives it an id).
    markPointer(arg(1), RegType.CONST_PTR_TO_DYNPTR);
    arg(1).dynptrType = 'local';
    arg(1).id = env.newId();
    arg(2).copyFrom(callerReg(3));
  } else {
    // callback_fn(struct bpf_map *map, void *key, void *value, void *callback_ctx)
    arg(1).copyFrom(callerReg(1));
    markPointer(arg(2), RegType.PTR_TO_MAP_KEY);
    arg(2).map = meta.map;
    markPointer(arg(3), RegType.PTR_TO_MAP_VALUE);
    arg(3).map = meta.map;
    // Linux 6.18 gives the value pointer an id (it prints `R3=map_value(id=1,...)` in the callback).
    arg(3).id = env.newId();
    arg(4).copyFrom(callerReg(3));
  }
  visit.frames.push(callee);
  from.callbackDepth++;
  caller.callbackDepth = 0;
  env.pushBranch(visit, env.prog.subprogStarts[meta.subprog] ?? 0);
}

/**
 * Linux push_async_cb with set_timer_callback_state: the timer's callback runs later, in the kernel, not
 * inside this program: it is verified as a program of its own, a state with one frame (frame 0, its
 * callsite this call) and R1 the map, R2 the key, R3 the value of the timer's element, R4 and R5 unused. The
 * current path goes on after the helper.
 */
function pushAsyncCallback(env: Env, meta: CallMeta): void {
  const callee = FuncState.create(0, env.insnIdx, meta.subprog);
  callee.inAsyncCallbackFn = true;
  env.asyncCallbacks.add(meta.subprog);
  const [, r1, r2, r3] = callee.regs;
  if (!r1 || !r2 || !r3) return;
  markPointer(r1, RegType.CONST_PTR_TO_MAP);
  r1.map = meta.map;
  markPointer(r2, RegType.PTR_TO_MAP_KEY);
  r2.map = meta.map;
  markPointer(r3, RegType.PTR_TO_MAP_VALUE);
  r3.map = meta.map;
  // Linux 6.18 prints R3=map_value(id=1,...) in the callback (recorded: apps/cli/fixtures/attach/timer-linux.json).
  r3.id = env.newId();
  env.pushBranch(new VState([callee]), env.prog.subprogStarts[meta.subprog] ?? 0);
}

/** bpf-to-bpf call: push a frame for the callee; resolves to the callee's first instruction. */
export function checkLocalCall(env: Env, insn: RawInsn): number {
  const state = env.state;
  if (state.frames.length >= MAX_CALL_FRAMES) {
    throw new Reject(`the call stack of ${state.frames.length + 1} frames is too deep`, 'call-depth', { errno: 7 });
  }
  if (state.activeLock) throw new Reject('function calls are not allowed while holding a lock', 'lock', { errno: 22 });
  const target = env.insnIdx + insn.imm + 1;
  const subprog = env.prog.subprogOf[target] ?? 0;
  const callee = FuncState.create(state.frames.length, env.insnIdx, subprog);
  const caller = state.cur;
  for (let r = 1; r <= 5; r++) {
    const src = caller.regs[r];
    const dst = callee.regs[r];
    if (src && dst) dst.copyFrom(src);
  }
  for (let r = 0; r <= 5; r++) {
    const reg = caller.regs[r];
    if (reg) markNotInit(reg);
  }
  state.frames.push(callee);
  return target;
}

/** Linux verbose_invalid_scalar: `<where> the register R0 has smin=.. smax=.. should have been in [a, b]`. */
function invalidScalar(where: string, r0: Reg, range: { readonly min: number; readonly max: number }): string {
  let s = `${where} the register R0 has`;
  let unknown = true;
  if (r0.smin > -(1n << 63n)) {
    s += ` smin=${r0.smin}`;
    unknown = false;
  }
  if (r0.smax < (1n << 63n) - 1n) {
    s += ` smax=${r0.smax}`;
    unknown = false;
  }
  if (unknown) s += ' unknown scalar value';
  return `${s} should have been in [${range.min}, ${range.max}]`;
}

/** An async callback (a timer's) returns 0 (Linux retval_range(0, 0) for in_async_callback_fn). */
const ASYNC_RET_RANGE = { min: 0, max: 0 } as const;

/** check_return_code for an async callback's exit: references released, R0 a scalar 0. */
function checkAsyncExit(env: Env): void {
  const leaked = env.state.refs[0];
  if (leaked) {
    throw new Reject(`Unreleased reference id=${leaked.id} alloc_insn=${leaked.insn}`, 'ref-leak', {
      errno: 22,
      more: ['BPF_EXIT instruction in main prog would lead to reference leak'],
    });
  }
  const r0 = checkSrc(env, 0);
  env.precision.mark(env.insnIdx, 1);
  if (r0.type !== RegType.SCALAR) {
    throw new Reject(`At async callback return the register R0 is not a known value (${typeCodeName(r0.type, r0.flags)})`, 'timer', { errno: 22 });
  }
  if (r0.smin < BigInt(ASYNC_RET_RANGE.min) || r0.smax > BigInt(ASYNC_RET_RANGE.max)) {
    throw new Reject(invalidScalar('At async callback return', r0, ASYNC_RET_RANGE), 'timer', { errno: 22 });
  }
}

/** Every callback returns 0 (go on) or 1 (stop) (Linux callback_ret_range for bpf_loop and for_each_map_elem). */
const CALLBACK_RET_RANGE = { min: 0, max: 1 } as const;

/**
 * Exit of a subprogram (Linux prepare_func_exit): pop its frame, hand R0 to the caller; resolves to the return
 * address. A callback's R0 must be a scalar in its range, and it returns to the helper call that runs it.
 */
export function checkSubprogExit(env: Env): number {
  const state = env.state;
  const callee = state.cur;
  // Linux 6.18 reads R0 at an exit only in check_return_code, at the outermost frame: a static subprogram may exit
  // without setting R0 (clang drops `return 0;` when no caller uses the value), and its caller gets R0 unset
  // (prepare_func_exit copies it as it is); a callback's R0 that is not a scalar is `R0 not a scalar value`.
  const r0 = env.reg(0);
  env.scratchRegs |= 1;
  // Linux refuses any stack pointer here, even one into a caller's frame ("let's be conservative").
  if (r0.type === RegType.PTR_TO_STACK) throw new Reject('cannot return stack pointer to the caller', 'invalid-mem', { errno: 22 });
  if (callee.inCallbackFn) {
    if (r0.type !== RegType.SCALAR) throw new Reject('R0 not a scalar value', 'callback');
    env.precision.mark(env.insnIdx, 1);
    if (r0.smin < BigInt(CALLBACK_RET_RANGE.min) || r0.smax > BigInt(CALLBACK_RET_RANGE.max)) {
      throw new Reject(invalidScalar('At callback return', r0, CALLBACK_RET_RANGE), 'callback', { errno: 22 });
    }
  }
  state.frames.pop();
  const caller = state.cur;
  if (!callee.inCallbackFn) caller.regs[0]?.copyFrom(r0);
  // Pointers into the dead frame are no longer valid anywhere.
  for (const f of state.frames) {
    for (const r of f.regs) if (r.type === RegType.PTR_TO_STACK && r.frameno === callee.frameno) markNotInit(r);
  }
  return callee.inCallbackFn ? callee.callsite : callee.callsite + 1;
}

/** Exit of the main program: R0, references, lock and the return range. */
export function checkMainExit(env: Env): void {
  // check_resource_leak runs before check_return_code reads R0 (process_bpf_exit_full).
  // check_return_code: a hook whose function returns void (a struct_ops member, an LSM hook) reads no R0.
  const voidReturn = env.progType.voidReturn === true && !env.state.cur.inAsyncCallbackFn;
  if (env.state.cur.inAsyncCallbackFn) {
    checkAsyncExit(env);
    return;
  }
  if (env.state.activeLock) throw new Reject('BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region', 'lock', { errno: 22 });
  const leaked = env.state.refs[0];
  if (leaked) {
    throw new Reject(`Unreleased reference id=${leaked.id} alloc_insn=${leaked.insn}`, 'ref-leak', {
      errno: 22,
      more: ['BPF_EXIT instruction in main prog would lead to reference leak'],
    });
  }
  // check_resource_leak: an RCU read-side section still open (after the reference check, as Linux orders them).
  if (env.state.activeRcu) throw new Reject('BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region', 'lock', { errno: 22 });
  if (voidReturn) return;
  const r0 = checkSrc(env, 0);
  if (isPointer(r0) && !env.privileged) throw new Reject('R0 leaks addr as return value', 'ptr-leak');
  const range = env.progType.retRange;
  if (!range) return;
  env.precision.mark(env.insnIdx, 1);
  if (r0.type !== RegType.SCALAR) {
    // check_return_code answers EINVAL, not the EACCES of most refusals (recorded on Linux 6.18: fixtures/sock-progs in @ebpf-sim/bpf).
    throw new Reject(`At program exit the register R0 is not a known value (${typeCodeName(r0.type, r0.flags)})`, 'return-code', { errno: 22 });
  }
  // retval_range_within: the s32 bounds with return_32bit, else the s64 ones (the message shows the s64 ones either way).
  const outside = range.return32 === true ? r0.s32min < range.min || r0.s32max > range.max : r0.smin < BigInt(range.min) || r0.smax > BigInt(range.max);
  if (outside) throw new Reject(invalidScalar('At program exit', r0, range), 'return-code', { errno: 22 });
}
