/**
 * Register and state printing in the kernel's format (kernel/bpf/log.c print_reg_state,
 * print_verifier_state): `R1=ctx()`, `R2=pkt(off=14,r=14)`, `R6=scalar(smin=0,smax=umax=255,var_off=(0x0; 0xff))`,
 * `fp-8=mmmmmmmm`.
 */
import { formatDynptrSlot } from './dynptr.js';
import type { Reg } from './reg.js';
import { RegType, S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, regTypeName, isPacketType } from './reg.js';
import type { FuncState } from './state.js';
import { SLOT_CHARS, Slot } from './state.js';
import { formatIterSlot } from './iter-state.js';
import { U64_MAX, tnumIsConst, tnumIsUnknown } from './tnum.js';

const UNUM_MAX_DECIMAL = 0xffffn;
const SNUM_MIN_DECIMAL = -0x8000n;
const SNUM_MAX_DECIMAL = 0x7fffn;

export function unum(v: bigint): string {
  return v <= UNUM_MAX_DECIMAL ? v.toString() : `0x${v.toString(16)}`;
}

export function snum(v: bigint): string {
  if (v >= SNUM_MIN_DECIMAL && v <= SNUM_MAX_DECIMAL) return v.toString();
  return `0x${BigInt.asUintN(64, v).toString(16)}`;
}

function isSnumDecimal(v: bigint): boolean {
  return v >= SNUM_MIN_DECIMAL && v <= SNUM_MAX_DECIMAL;
}

interface MinMax {
  readonly name: string;
  readonly val: bigint;
  omit: boolean;
  readonly signed: boolean;
}

function scalarRanges(r: Reg, out: string[]): void {
  const s32lo = BigInt(r.s32min);
  const s32hi = BigInt(r.s32max);
  const m: MinMax[] = [
    { name: 'smin', val: BigInt.asUintN(64, r.smin), omit: r.smin === S64_MIN, signed: true },
    { name: 'smax', val: BigInt.asUintN(64, r.smax), omit: r.smax === S64_MAX, signed: true },
    { name: 'umin', val: r.umin, omit: r.umin === 0n, signed: false },
    { name: 'umax', val: r.umax, omit: r.umax === U64_MAX, signed: false },
    { name: 'smin32', val: isSnumDecimal(s32lo) ? BigInt.asUintN(64, s32lo) : BigInt(r.s32min >>> 0), omit: r.s32min === S32_MIN, signed: true },
    { name: 'smax32', val: isSnumDecimal(s32hi) ? BigInt.asUintN(64, s32hi) : BigInt(r.s32max >>> 0), omit: r.s32max === S32_MAX, signed: true },
    { name: 'umin32', val: BigInt(r.u32min), omit: r.u32min === 0, signed: false },
    { name: 'umax32', val: BigInt(r.u32max), omit: r.u32max === U32_MAX, signed: false },
  ];
  for (let i = 0; i < m.length; i++) {
    const m1 = m[i];
    if (!m1 || m1.omit) continue;
    const neg1 = m1.signed && BigInt.asIntN(64, m1.val) < 0n;
    let text = `${m1.name}=`;
    for (let j = i + 2; j < m.length; j += 2) {
      const m2 = m[j];
      if (!m2 || m2.omit || m2.val !== m1.val) continue;
      const neg2 = m2.signed && BigInt.asIntN(64, m2.val) < 0n;
      if (neg2 !== neg1) continue;
      m2.omit = true;
      text += `${m2.name}=`;
    }
    text += m1.signed ? snum(BigInt.asIntN(64, m1.val)) : unum(m1.val);
    out.push(text);
  }
}

/** One register's state, without the `Rn=` prefix. */
export function formatReg(r: Reg, frameno: number, allPrecise = false): string {
  // print_reg_state: a precise scalar is prefixed with P. Without CAP_BPF every scalar is (Linux
  // __mark_reg_unknown: `reg->precise = !env->bpf_capable`).
  if (r.type === RegType.SCALAR && (r.precise || allPrecise)) return `P${formatValue(r, frameno)}`;
  return formatValue(r, frameno);
}

function formatValue(r: Reg, frameno: number): string {
  if (r.type === RegType.SCALAR && tnumIsConst(r.varOff)) return snum(BigInt.asIntN(64, r.varOff.value));
  let s = regTypeName(r);
  if (r.type === RegType.PTR_TO_STACK) {
    if (r.frameno !== frameno) s += `[${r.frameno}]`;
    if (tnumIsConst(r.varOff)) return s + snum(BigInt.asIntN(64, r.varOff.value) + BigInt(r.off));
  }
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  if (r.refObjId) parts.push(`ref_obj_id=${r.refObjId}`);
  if (r.type === RegType.CONST_PTR_TO_DYNPTR) parts.push(`type=${r.dynptrType}`);
  if ((r.type === RegType.CONST_PTR_TO_MAP || r.type === RegType.PTR_TO_MAP_VALUE || r.type === RegType.PTR_TO_MAP_KEY) && r.map) {
    if (r.map.name) parts.push(`map=${r.map.name}`);
    parts.push(`ks=${r.map.keySize},vs=${r.map.valueSize}`);
  }
  if (r.type !== RegType.SCALAR && r.off) parts.push(`off=${snum(BigInt(r.off))}`);
  if (isPacketType(r.type) || r.type === RegType.PTR_TO_PACKET_END) {
    if (r.type !== RegType.PTR_TO_PACKET_END) parts.push(`r=${unum(BigInt.asUintN(64, BigInt(r.range)))}`);
  }
  if (r.type === RegType.PTR_TO_MEM) parts.push(`sz=${unum(BigInt(r.memSize))}`);
  if (tnumIsConst(r.varOff)) {
    if (r.varOff.value) parts.push(`imm=${snum(BigInt.asIntN(64, r.varOff.value))}`);
  } else {
    scalarRanges(r, parts);
    if (!tnumIsUnknown(r.varOff)) parts.push(`var_off=(0x${r.varOff.value.toString(16)}; 0x${r.varOff.mask.toString(16)})`);
  }
  return `${s}(${parts.join(',')})`;
}

/**
 * A frame's state: every initialised register (or only `regMask`'s) and every used stack slot (or only
 * `slotMask`'s), each preceded by a space, as print_verifier_state does.
 */
export function formatFrame(f: FuncState, regMask: number, slots: ReadonlySet<number> | null, refs: readonly number[], allPrecise = false): string {
  let s = f.frameno ? ` frame${f.frameno}:` : '';
  for (let i = 0; i < 11; i++) {
    const r = f.regs[i];
    if (!r || r.type === RegType.NOT_INIT) continue;
    if (!(regMask & (1 << i))) continue;
    s += ` R${i}=${formatReg(r, f.frameno, allPrecise)}`;
  }
  for (let spi = 0; spi < f.allocated; spi++) {
    // A dynptr prints once, at its first (higher) slot, when its second is scratched (print_verifier_state).
    const dynptr = f.stack[spi * 8 + 7] === Slot.DYNPTR ? f.spilled[spi] : null;
    if (dynptr) {
      if (dynptr.dynptrFirst && (!slots || slots.has(spi - 1))) s += ` fp${-(spi + 1) * 8}=${formatDynptrSlot(dynptr)}`;
      continue;
    }
    if (slots && !slots.has(spi)) continue;
    let types = '';
    let valid = false;
    for (let j = 0; j < 8; j++) {
      const t = f.stack[spi * 8 + j] ?? Slot.INVALID;
      if (t !== Slot.INVALID) valid = true;
      types += SLOT_CHARS[t] ?? '?';
    }
    if (!valid) continue;
    const off = -(spi + 1) * 8;
    const spilled = f.spilled[spi];
    if (f.stack[spi * 8 + 7] === Slot.ITER && spilled) s += ` fp${off}=${formatIterSlot(spilled)}`;
    else if (f.stack[spi * 8 + 7] === Slot.SPILL && spilled) {
      const j = types.indexOf('r');
      s += ` fp${off}=${types.slice(0, j)}${formatReg(spilled, f.frameno, allPrecise)}`;
    } else {
      s += ` fp${off}=${types}`;
    }
  }
  if (refs.length > 0) s += ` refs=${refs.join(',')}`;
  if (f.inCallbackFn) s += ' cb';
  if (f.inAsyncCallbackFn) s += ' async_cb';
  return s;
}

/** Column where the `;` of an instruction's state goes (kernel vlog_alignment). */
export function stateColumn(insnTextLen: number): number {
  const pos = insnTextLen + 1;
  const aligned = Math.ceil(Math.max(pos + 4, 40) / 8) * 8;
  return insnTextLen + (aligned - pos - 1);
}
