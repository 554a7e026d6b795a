/**
 * What BPF_PROG_LOAD does to the instructions around the verifier (kernel/bpf/verifier.c): the maps an LD
 * imm64 names (resolve_pseudo_ldimm64, before verification), the program tag (bpf_prog_calc_tag, over the
 * instructions as loaded), and the fixups after verification: map references become kernel addresses and
 * helper calls are bound and array lookups inlined (do_misc_fixups), and the xlated program user space reads back
 * (bpf_insn_prepare_dump: map addresses shown as map ids again).
 */
import { PseudoLd, type RawInsn } from '@ebpf-sim/isa';
import { BPF_FUNC, BPF_TAG_SIZE, Errno } from '@ebpf-sim/uapi';
import { patchProgram, type InsnPatch, type MapDesc, type XlatedProgram } from '@ebpf-sim/verifier';
import type { BpfMap } from '../maps/map.js';
import { ENOTSUPP } from '../errno.js';
import type { MapObject } from './objects.js';
import { sha256 } from './sha256.js';

const LD_IMM64 = 0x18;
const CALL = 0x85;

/** Whether an LD imm64 source names a map by fd (MAP_FD, MAP_VALUE) or by fd_array index (MAP_IDX, MAP_IDX_VALUE). */
export function mapRefKind(src: number): 'fd' | 'idx' | null {
  if (src === PseudoLd.MAP_FD || src === PseudoLd.MAP_VALUE) return 'fd';
  if (src === PseudoLd.MAP_IDX || src === PseudoLd.MAP_IDX_VALUE) return 'idx';
  return null;
}

const isValueRef = (src: number): boolean => src === PseudoLd.MAP_VALUE || src === PseudoLd.MAP_IDX_VALUE;

/**
 * bpf_prog_calc_tag: SHA-256 (6.18; SHA-1 before) of the instructions with the immediates of map-fd and map-value LD imm64 zeroed
 * (fds differ between loads of the same program), the first BPF_TAG_SIZE bytes.
 */
export function progTag(insns: Uint8Array): Uint8Array {
  const copy = insns.slice();
  let wasLdMap = false;
  for (let at = 0; at + 8 <= copy.length; at += 8) {
    const code = copy[at] ?? 0;
    const src = (copy[at + 1] ?? 0) >> 4;
    const dstZero = ((copy[at + 1] ?? 0) & 0x0f) === 0;
    const offZero = copy[at + 2] === 0 && copy[at + 3] === 0;
    if (!wasLdMap && code === LD_IMM64 && (src === PseudoLd.MAP_FD || src === PseudoLd.MAP_VALUE)) {
      wasLdMap = true;
      copy.fill(0, at + 4, at + 8);
    } else if (wasLdMap && code === 0 && dstZero && src === 0 && offZero) {
      wasLdMap = false;
      copy.fill(0, at + 4, at + 8);
    } else {
      wasLdMap = false;
    }
  }
  return sha256(copy).subarray(0, BPF_TAG_SIZE);
}

/** A map an LD imm64 of the program names, resolved once per (kind, reference). */
export interface UsedMap {
  readonly object: MapObject;
}

/**
 * map->ops->map_direct_value_addr: the kernel address of a BPF_PSEUDO_MAP_VALUE reference at `off`, or -errno.
 * Only a single-element ARRAY has one (array_map_direct_value_addr: ENOTSUPP for more elements, EINVAL past
 * the value); other map types have no direct value access (EINVAL).
 */
export function directValueAddress(map: BpfMap, off: number): number {
  const base = map.directValueBase();
  if (base < 0) return -Errno.EINVAL;
  if (map.maxEntries !== 1) return -ENOTSUPP;
  if (off >= map.valueSize) return -Errno.EINVAL;
  return base + off;
}

/** The slots of `insns` (8 bytes each) as RawInsn with LD imm64 as one entry carrying imm2. */
export function readInsns(bytes: Uint8Array): RawInsn[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RawInsn[] = [];
  for (let at = 0; at + 8 <= bytes.length; at += 8) {
    const regs = view.getUint8(at + 1);
    const insn: RawInsn = { code: view.getUint8(at), dst: regs & 0x0f, src: regs >> 4, off: view.getInt16(at + 2, true), imm: view.getInt32(at + 4, true) };
    if (insn.code === LD_IMM64 && at + 16 <= bytes.length) {
      out.push({ ...insn, imm2: view.getInt32(at + 12, true) });
      at += 8;
    } else {
      out.push(insn);
    }
  }
  return out;
}

/** The helper ids `insns` calls (BPF_CALL with src 0), first call of each, in order. */
export function calledHelpers(insns: readonly RawInsn[]): number[] {
  const ids: number[] = [];
  for (const insn of insns) if (insn.code === CALL && insn.src === 0 && !ids.includes(insn.imm)) ids.push(insn.imm);
  return ids;
}

/**
 * bpf_insn_prepare_dump for the xlated program: an LD imm64 of a map becomes (MAP_FD, map id) again, one of a
 * map value (MAP_VALUE, map id, offset). `mapOf` gives the map and offset a fixed-up LD imm64 of `insn` names.
 */
export function dumpXlated(insns: readonly RawInsn[], mapOf: (insn: RawInsn) => { map: BpfMap; off: number } | undefined): RawInsn[] {
  return insns.map((insn) => {
    if (insn.code !== LD_IMM64) return insn;
    const kind = mapRefKind(insn.src);
    if (kind === null) return insn;
    const ref = mapOf(insn);
    if (ref === undefined) return insn;
    return isValueRef(insn.src)
      ? { ...insn, src: PseudoLd.MAP_VALUE, imm: ref.map.id, imm2: ref.off }
      : { ...insn, src: PseudoLd.MAP_FD, imm: ref.map.id, imm2: 0 };
  });
}

/**
 * do_misc_fixups' map_gen_lookup: each bpf_map_lookup_elem call that saw the same map on every path (not
 * poisoned), of a type with map_gen_lookup (ARRAY: array_map_gen_lookup; HASH, HASH_OF_MAPS: a call of
 * __htab_map_lookup_elem, see hashtab.ts), becomes that type's instructions, which the JIT compiles to
 * straight-line code (the hash's call: a direct WebAssembly call). Linux does this only for a program the JIT
 * will compile (prog->jit_requested); the caller decides. `mapOf` gives the map a verifier map description stands for
 * (undefined for an inner map's template, whose lookups stay calls).
 */
export function inlineMapLookups(
  xlated: XlatedProgram,
  callMaps: ReadonlyMap<number, MapDesc | null>,
  mapOf: (desc: MapDesc) => BpfMap | undefined,
): XlatedProgram {
  const indexAt = new Map<number, number>();
  let slot = 0;
  for (let i = 0; i < xlated.insns.length; i++) {
    indexAt.set(slot, i);
    slot += xlated.insns[i]?.code === LD_IMM64 ? 2 : 1;
  }
  const patches = new Map<number, InsnPatch>();
  for (const [verified, desc] of callMaps) {
    if (desc === null) continue;
    const at = indexAt.get(xlated.slotMap[verified] ?? -1);
    const insn = at === undefined ? undefined : xlated.insns[at];
    if (at === undefined || insn?.code !== CALL || insn.src !== 0 || insn.imm !== BPF_FUNC.map_lookup_elem) continue;
    const patch = mapOf(desc)?.genLookup() ?? null;
    if (patch !== null) patches.set(at, patch);
  }
  return patches.size === 0 ? xlated : patchProgram(xlated, patches);
}

export { isValueRef };
