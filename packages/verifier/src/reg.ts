/**
 * Register state (Linux `struct bpf_reg_state`): a type, pointer facts, and for scalars (and the variable
 * part of pointers) a tnum plus signed/unsigned 64- and 32-bit bounds.
 */
import type { MapDesc } from './registry.js';
import { TNUM_UNKNOWN, U64_MAX, tnumConst, tnumIsConst, type Tnum } from './tnum.js';

export const RegType = {
  NOT_INIT: 0,
  SCALAR: 1,
  PTR_TO_CTX: 2,
  CONST_PTR_TO_MAP: 3,
  PTR_TO_MAP_VALUE: 4,
  PTR_TO_MAP_KEY: 5,
  PTR_TO_STACK: 6,
  PTR_TO_PACKET: 7,
  PTR_TO_PACKET_META: 8,
  PTR_TO_PACKET_END: 9,
  PTR_TO_MEM: 10,
  PTR_TO_BTF_ID: 11,
  PTR_TO_FUNC: 12,
  /** A dynptr the kernel hands a callback (bpf_user_ringbuf_drain's sample): Linux CONST_PTR_TO_DYNPTR. */
  CONST_PTR_TO_DYNPTR: 13,
  /** The flow dissector's `struct bpf_flow_keys *` (Linux PTR_TO_FLOW_KEYS). */
  PTR_TO_FLOW_KEYS: 14,
  /** Socket pointers (Linux PTR_TO_SOCKET, PTR_TO_SOCK_COMMON, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK): sock.ts. */
  PTR_TO_SOCKET: 15,
  PTR_TO_SOCK_COMMON: 16,
  PTR_TO_TCP_SOCK: 17,
  PTR_TO_XDP_SOCK: 18,
} as const;
export type RegTypeCode = (typeof RegType)[keyof typeof RegType];

/**
 * Type flags (Linux `PTR_MAYBE_NULL`, `MEM_RINGBUF`, `MEM_RDONLY`, `PTR_TRUSTED`, `PTR_UNTRUSTED`, `MEM_RCU`,
 * `MEM_ALLOC`, `MEM_PERCPU`, `MEM_USER`, `NON_OWN_REF`).
 */
export const RegFlag = {
  MAYBE_NULL: 1,
  RINGBUF: 2,
  RDONLY: 4,
  TRUSTED: 8,
  UNTRUSTED: 16,
  RCU: 32,
  ALLOC: 64,
  PERCPU: 128,
  USER: 256,
  NON_OWN_REF: 512,
} as const;

const BASE_NAMES: Readonly<Record<number, string>> = {
  [RegType.NOT_INIT]: '?',
  [RegType.SCALAR]: 'scalar',
  [RegType.PTR_TO_CTX]: 'ctx',
  [RegType.CONST_PTR_TO_MAP]: 'map_ptr',
  [RegType.PTR_TO_MAP_VALUE]: 'map_value',
  [RegType.PTR_TO_MAP_KEY]: 'map_key',
  [RegType.PTR_TO_STACK]: 'fp',
  [RegType.PTR_TO_PACKET]: 'pkt',
  [RegType.PTR_TO_PACKET_META]: 'pkt_meta',
  [RegType.PTR_TO_PACKET_END]: 'pkt_end',
  [RegType.PTR_TO_MEM]: 'mem',
  [RegType.PTR_TO_BTF_ID]: 'ptr_',
  [RegType.PTR_TO_FUNC]: 'func',
  [RegType.CONST_PTR_TO_DYNPTR]: 'dynptr_ptr',
  [RegType.PTR_TO_FLOW_KEYS]: 'flow_keys',
  [RegType.PTR_TO_SOCKET]: 'sock',
  [RegType.PTR_TO_SOCK_COMMON]: 'sock_common',
  [RegType.PTR_TO_TCP_SOCK]: 'tcp_sock',
  [RegType.PTR_TO_XDP_SOCK]: 'xdp_sock',
};

export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;
export const S32_MIN = -0x8000_0000;
export const S32_MAX = 0x7fff_ffff;
export const U32_MAX = 0xffff_ffff;

export class Reg {
  type: RegTypeCode = RegType.NOT_INIT;
  flags = 0;
  /** Fixed offset of a pointer. */
  off = 0;
  /** Packet pointers: bytes known to be in the packet from `off`. */
  range = 0;
  /** Shared by copies: NULL checks and bounds refinements reach every register with the same id. */
  id = 0;
  /** Reference this pointer holds (ringbuf record). */
  refObjId = 0;
  map: MapDesc | null = null;
  /** PTR_TO_MEM: size of the memory. */
  memSize = 0;
  btfName = '';
  /** PTR_TO_STACK: the frame the pointer points into. */
  frameno = 0;
  /** PTR_TO_FUNC: the subprogram. */
  subprog = 0;
  /** CONST_PTR_TO_DYNPTR: the dynptr's type (`local`: memory of the kernel's, e.g. a user ring buffer sample). */
  dynptrType = '';
  /** A STACK_ITER slot's iterator (Linux bpf_reg_state.iter): its state (iter.ts ITER_ACTIVE/ITER_DRAINED) and depth. */
  iterState = 0;
  iterDepth = 0;
  /** A dynptr's stack slots (STACK_DYNPTR): this is the first (higher) of its two slots (Linux dynptr.first_slot). */
  dynptrFirst = false;
  /** PTR_TO_MEM from bpf_dynptr_data: the id of the dynptr it is a slice of (Linux dynptr_id). */
  dynptrId = 0;
  varOff: Tnum = TNUM_UNKNOWN;
  smin = S64_MIN;
  smax = S64_MAX;
  umin = 0n;
  umax = U64_MAX;
  s32min = S32_MIN;
  s32max = S32_MAX;
  /**
   * The unsigned 32-bit bounds are kept as their int32 bit patterns: V8 then stores them as small integers in
   * the object itself, where a value above 2^31 would need a heap-allocated number box per register (and per
   * clone). Read and written as unsigned numbers through the accessors below.
   */
  private u32minBits = 0;
  private u32maxBits = -1;
  get u32min(): number {
    return this.u32minBits >>> 0;
  }
  set u32min(v: number) {
    this.u32minBits = v | 0;
  }
  get u32max(): number {
    return this.u32maxBits >>> 0;
  }
  set u32max(v: number) {
    this.u32maxBits = v | 0;
  }
  /**
   * A scalar whose exact value mattered to a decision on some path from here (Linux `precise`): set on
   * explored states by backtracking (precision.ts), compared exactly by pruning.
   */
  precise = false;

  copyFrom(o: Reg): this {
    this.type = o.type;
    this.flags = o.flags;
    this.off = o.off;
    this.range = o.range;
    this.id = o.id;
    this.refObjId = o.refObjId;
    this.map = o.map;
    this.memSize = o.memSize;
    this.btfName = o.btfName;
    this.frameno = o.frameno;
    this.subprog = o.subprog;
    this.dynptrType = o.dynptrType;
    this.iterState = o.iterState;
    this.iterDepth = o.iterDepth;
    this.dynptrFirst = o.dynptrFirst;
    this.dynptrId = o.dynptrId;
    this.varOff = o.varOff;
    this.smin = o.smin;
    this.smax = o.smax;
    this.umin = o.umin;
    this.umax = o.umax;
    this.s32min = o.s32min;
    this.s32max = o.s32max;
    this.u32minBits = o.u32minBits;
    this.u32maxBits = o.u32maxBits;
    this.precise = o.precise;
    return this;
  }

  clone(): Reg {
    return new Reg().copyFrom(this);
  }
}

function resetPointerFacts(r: Reg): void {
  r.flags = 0;
  r.off = 0;
  r.range = 0;
  r.id = 0;
  r.refObjId = 0;
  r.map = null;
  r.memSize = 0;
  r.btfName = '';
  r.frameno = 0;
  r.subprog = 0;
  r.dynptrType = '';
  r.precise = false;
  r.dynptrFirst = false;
  r.dynptrId = 0;
}

export function markUnbounded(r: Reg): void {
  r.smin = S64_MIN;
  r.smax = S64_MAX;
  r.umin = 0n;
  r.umax = U64_MAX;
  r.s32min = S32_MIN;
  r.s32max = S32_MAX;
  r.u32min = 0;
  r.u32max = U32_MAX;
}

/** Any scalar (Linux __mark_reg_unknown). */
export function markUnknown(r: Reg): void {
  r.type = RegType.SCALAR;
  resetPointerFacts(r);
  r.varOff = TNUM_UNKNOWN;
  markUnbounded(r);
}

export function markNotInit(r: Reg): void {
  markUnknown(r);
  r.type = RegType.NOT_INIT;
}

/** Set every bound of the 64-bit value to the constant `v` (the pointer facts stay). */
export function markKnown(r: Reg, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  r.varOff = tnumConst(u);
  r.smin = r.smax = BigInt.asIntN(64, u);
  r.umin = r.umax = u;
  const lo = Number(u & 0xffff_ffffn);
  r.u32min = r.u32max = lo;
  r.s32min = r.s32max = lo | 0;
}

export function markConstScalar(r: Reg, v: bigint): void {
  r.type = RegType.SCALAR;
  resetPointerFacts(r);
  markKnown(r, v);
}

/** A pointer with a fixed offset and no variable part. */
export function markPointer(r: Reg, type: RegTypeCode, flags = 0): void {
  r.type = type;
  resetPointerFacts(r);
  r.flags = flags;
  markKnown(r, 0n);
}

export function isPointer(r: Reg): boolean {
  return r.type !== RegType.SCALAR && r.type !== RegType.NOT_INIT;
}

export function isConstScalar(r: Reg): boolean {
  return r.type === RegType.SCALAR && tnumIsConst(r.varOff);
}

export function isPacketType(t: number): boolean {
  return t === RegType.PTR_TO_PACKET || t === RegType.PTR_TO_PACKET_META;
}

/** The kernel's `reg_type_str`: the name in the log, with its prefixes and `_or_null`. */
export function regTypeName(r: Reg): string {
  let prefix = '';
  if (r.flags & RegFlag.RDONLY) prefix += 'rdonly_';
  if (r.flags & RegFlag.RINGBUF) prefix += 'ringbuf_';
  // Linux 6.18 reg_type_str: every set flag's prefix, in this order.
  if (r.flags & RegFlag.USER) prefix += 'user_';
  if (r.flags & RegFlag.PERCPU) prefix += 'percpu_';
  if (r.flags & RegFlag.RCU) prefix += 'rcu_';
  if (r.flags & RegFlag.UNTRUSTED) prefix += 'untrusted_';
  if (r.flags & RegFlag.TRUSTED) prefix += 'trusted_';
  const base = BASE_NAMES[r.type] ?? '?';
  // reg_type_str: a BTF pointer's postfix goes before its struct name (`ptr_or_null_task_struct`).
  if (r.type === RegType.PTR_TO_BTF_ID) return `${prefix}${base}${r.flags & RegFlag.MAYBE_NULL ? 'or_null_' : ''}${r.btfName}`;
  return `${prefix}${base}${r.flags & RegFlag.MAYBE_NULL ? '_or_null' : ''}`;
}

/** Name of a type code alone, as in `expected=map_ptr`. */
export function typeCodeName(type: number, flags = 0): string {
  const r = new Reg();
  r.type = type as RegTypeCode;
  r.flags = flags;
  return regTypeName(r);
}
