/**
 * One CO-RE relocation decided as libbpf's relo_core.c decides it: the candidates in the target BTF found by
 * essential name (bpf_core_find_cands / bpf_core_add_cands), each matched against the local spec
 * (bpf_core_spec_match, bpf_core_match_member), the value computed for each kind (bpf_core_calc_relo and its
 * field / type / enumval helpers), and one decision out of all candidates, or poison when none matches
 * (bpf_core_calc_relo_insn).
 */
import { BtfCoreReloKind, BtfIntEncoding, BtfKind, type Btf } from '@ebpf-sim/btf';
import { fieldsAreCompat, kindsCompat, typesAreCompat, typesMatch } from './compat.js';
import {
  CORE_RELO_FAMILY,
  CORE_RELO_KIND_NAMES,
  CORE_SPEC_MAX_LEN,
  CoreSpecError,
  essentialName,
  formatSpec,
  isAnyEnum,
  isComposite,
  isFlexArray,
  parseSpec,
  resolveSize,
  rootLabel,
  skipModsAndTypedefs,
  typeAt,
  type CoreSpec,
} from './spec.js';

/** A relocation record of a program (`.BTF.ext`'s bpf_core_relo with `insn` in the linked program's slots). */
export interface CoreRelo {
  readonly insn: number;
  readonly typeId: number;
  readonly accessString: string;
  readonly kind: BtfCoreReloKind;
}

/** struct bpf_core_relo_res: what the instruction holds (orig) and must hold (new), or poison. */
export interface CoreReloResult {
  origVal: bigint;
  newVal: bigint;
  poison: boolean;
  /** Check that the instruction holds origVal before patching (false where the compiler's value may legitimately differ). */
  validate: boolean;
  /** A load/store whose size would change in a way that would read the value wrong: poisoned if it is one. */
  failMemszAdjust: boolean;
  origSz: number;
  newSz: number;
  origTypeId: number;
  newTypeId: number;
}

/** A relocation libbpf fails (not a poisoned one): libbpf's message, the errno name it returns. */
export class CoreReloError extends Error {
  constructor(
    readonly errno: 'EINVAL' | 'E2BIG' | 'EOPNOTSUPP' | 'ERANGE',
    message: string,
  ) {
    super(message);
    this.name = 'CoreReloError';
  }
}

/** The target types whose essential name and kind are the local type's (bpf_core_add_cands), in id order. */
export function findCandidates(localBtf: Btf, localId: number, targBtf: Btf): number[] {
  const local = typeAt(localBtf, localId);
  if (local === undefined || local.name === '') throw new CoreSpecError('EINVAL', `local type [${localId}] is missing or anonymous`);
  const name = essentialName(local.name);
  const out: number[] = [];
  for (let id = 1; id < targBtf.types.length; id++) {
    const t = targBtf.types[id];
    if (t === undefined || t.name === '' || !kindsCompat(t, local)) continue;
    if (essentialName(t.name) === name) out.push(id);
  }
  return out;
}

/** bpf_core_match_member(): find the local accessor's member by name in target type `targId`, anonymous members searched inside. */
function matchMember(localSpec: CoreSpec, accIndex: number, targ: CoreSpec, targId: number): { found: boolean; next: number } {
  const targBtf = targ.btf;
  const t = skipModsAndTypedefs(targBtf, targId);
  if (t === undefined) throw new CoreSpecError('EINVAL', `type [${targId}] does not exist`);
  if (!isComposite(t.type)) return { found: false, next: 0 };
  const acc = localSpec.accessors[accIndex];
  const localMember = acc === undefined ? undefined : typeAt(localSpec.btf, acc.typeId)?.members[acc.idx];
  if (acc === undefined || localMember === undefined) return { found: false, next: 0 };
  for (const [i, m] of t.type.members.entries()) {
    if (targ.raw.length === CORE_SPEC_MAX_LEN) throw new CoreSpecError('E2BIG', `access deeper than ${CORE_SPEC_MAX_LEN}`);
    // Speculate that this member is the one.
    targ.bitOffset += m.bitOffset;
    targ.raw.push(i);
    if (m.name === '') {
      const inner = matchMember(localSpec, accIndex, targ, m.type);
      if (inner.found) return inner;
    } else if (m.name === localMember.name) {
      if (!fieldsAreCompat(localSpec.btf, localMember.type, targBtf, m.type)) return { found: false, next: 0 };
      targ.accessors.push({ typeId: t.id, idx: i, name: m.name });
      return { found: true, next: m.type };
    }
    targ.bitOffset -= m.bitOffset;
    targ.raw.pop();
  }
  return { found: false, next: 0 };
}

/** bpf_core_spec_match(): the local spec followed in target type `targId`; undefined when it does not match. */
export function matchSpec(local: CoreSpec, targBtf: Btf, targId: number): CoreSpec | undefined {
  const targ: CoreSpec = { btf: targBtf, rootTypeId: targId, kind: local.kind, accessors: [], raw: [], bitOffset: 0 };
  const family = CORE_RELO_FAMILY[local.kind];
  if (family === 'type') {
    const ok =
      local.kind === BtfCoreReloKind.TYPE_MATCHES
        ? typesMatch(local.btf, local.rootTypeId, targBtf, targId)
        : typesAreCompat(local.btf, local.rootTypeId, targBtf, targId);
    return ok ? targ : undefined;
  }
  if (family === 'enumval') {
    const t = skipModsAndTypedefs(targBtf, targId);
    const name = essentialName(local.accessors[0]?.name ?? '');
    if (t === undefined || !isAnyEnum(t.type)) return undefined;
    const idx = t.type.enumValues.findIndex((e) => essentialName(e.name) === name);
    if (idx < 0) return undefined;
    targ.accessors.push({ typeId: t.id, idx, name: t.type.enumValues[idx]?.name });
    targ.raw.push(idx);
    return targ;
  }
  let id = targId;
  for (const [i, acc] of local.accessors.entries()) {
    const cur = skipModsAndTypedefs(targBtf, id);
    if (cur === undefined) throw new CoreSpecError('EINVAL', `type [${id}] does not exist`);
    id = cur.id;
    if (acc.name !== undefined) {
      const matched = matchMember(local, i, targ, id);
      if (!matched.found) return undefined;
      id = matched.next;
      continue;
    }
    // An array index: for i = 0 the root itself is the element; deeper, step into the target's array first.
    if (i > 0) {
      if (cur.type.kind !== BtfKind.ARRAY) return undefined;
      const flex = isFlexArray(targBtf, targ.accessors[targ.accessors.length - 1], cur.type.arrayNelems);
      if (!flex && acc.idx >= cur.type.arrayNelems) return undefined;
      const elem = skipModsAndTypedefs(targBtf, cur.type.arrayType);
      if (elem === undefined) throw new CoreSpecError('EINVAL', `type [${cur.type.arrayType}] does not exist`);
      id = elem.id;
    }
    if (targ.raw.length === CORE_SPEC_MAX_LEN) throw new CoreSpecError('E2BIG', `access deeper than ${CORE_SPEC_MAX_LEN}`);
    targ.accessors.push({ typeId: id, idx: acc.idx, name: undefined });
    targ.raw.push(acc.idx);
    targ.bitOffset += acc.idx * resolveSize(targBtf, id) * 8;
  }
  return targ;
}

/** Thrown inside calcRelo where libbpf returns -EUCLEAN: poison the instruction. */
class Poison extends Error {}

interface FieldValue {
  val: bigint;
  fieldSz: number;
  typeId: number;
  /** undefined where libbpf's `validate` pointer is NULL (the target side). */
  validate: boolean | undefined;
}

/** bpf_core_calc_field_relo(). */
function calcFieldRelo(relo: CoreRelo, spec: CoreSpec | undefined, side: 'local' | 'target'): FieldValue {
  const out: FieldValue = { val: 0n, fieldSz: 0, typeId: 0, validate: side === 'local' ? true : undefined };
  if (relo.kind === BtfCoreReloKind.FIELD_EXISTS) {
    out.val = spec === undefined ? 0n : 1n;
    return out;
  }
  if (spec === undefined) throw new Poison();
  const acc = spec.accessors[spec.accessors.length - 1];
  if (acc === undefined) throw new CoreReloError('EINVAL', `empty spec`);
  if (acc.name === undefined) {
    // An array element a[n].
    if (relo.kind === BtfCoreReloKind.FIELD_BYTE_OFFSET) {
      out.val = BigInt(spec.bitOffset / 8);
      out.fieldSz = resolveSize(spec.btf, acc.typeId);
      out.typeId = acc.typeId;
    } else if (relo.kind === BtfCoreReloKind.FIELD_BYTE_SIZE) {
      out.val = BigInt(resolveSize(spec.btf, acc.typeId));
    } else {
      throw new CoreReloError('EINVAL', `relo ${relo.kind} at insn #${relo.insn} can't be applied to array access`);
    }
    if (out.validate !== undefined) out.validate = true;
    return out;
  }
  const parent = typeAt(spec.btf, acc.typeId);
  const member = parent?.members[acc.idx];
  if (member === undefined) throw new CoreReloError('EINVAL', `member #${acc.idx} of [${acc.typeId}] does not exist`);
  const fieldType = skipModsAndTypedefs(spec.btf, member.type);
  if (fieldType === undefined) throw new CoreReloError('EINVAL', `type [${member.type}] does not exist`);
  const mt = fieldType.type;
  const bitOff = spec.bitOffset;
  let bitSz = parent?.kindFlag === true ? member.bitfieldSize : 0;
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    byteSz = mt.sizeOrType;
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    // The smallest load that holds the whole bitfield.
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) throw new CoreReloError('E2BIG', `relo ${relo.kind} at insn #${relo.insn} can't be satisfied for bitfield`);
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = resolveSize(spec.btf, fieldType.id);
    byteOff = Math.floor(bitOff / 8);
    bitSz = byteSz * 8;
  }
  // For bitfields what the compiler chose may differ from ours: only signedness and the right shift are checked.
  if (out.validate !== undefined) out.validate = !bitfield;
  switch (relo.kind) {
    case BtfCoreReloKind.FIELD_BYTE_OFFSET:
      out.val = BigInt(byteOff);
      if (!bitfield) {
        out.fieldSz = byteSz;
        out.typeId = fieldType.id;
      }
      break;
    case BtfCoreReloKind.FIELD_BYTE_SIZE:
      out.val = BigInt(byteSz);
      break;
    case BtfCoreReloKind.FIELD_SIGNED:
      out.val = (isAnyEnum(mt) && mt.kindFlag) || (mt.kind === BtfKind.INT && (mt.intEncoding & BtfIntEncoding.SIGNED) !== 0) ? 1n : 0n;
      if (out.validate !== undefined) out.validate = true;
      break;
    case BtfCoreReloKind.FIELD_LSHIFT_U64:
      // Little-endian, as the simulated machine (x86_64) is.
      out.val = BigInt(64 - (bitOff + bitSz - byteOff * 8));
      break;
    case BtfCoreReloKind.FIELD_RSHIFT_U64:
      out.val = BigInt(64 - bitSz);
      if (out.validate !== undefined) out.validate = true;
      break;
    default:
      throw new CoreReloError('EOPNOTSUPP', `not a field relocation`);
  }
  return out;
}

/** bpf_core_calc_type_relo(). */
function calcTypeRelo(relo: CoreRelo, spec: CoreSpec | undefined): { val: bigint; validate: boolean } {
  if (spec === undefined) return { val: 0n, validate: true };
  switch (relo.kind) {
    case BtfCoreReloKind.TYPE_ID_TARGET:
      // A type id in an instruction may change when objects are linked: not checked.
      return { val: BigInt(spec.rootTypeId), validate: false };
    case BtfCoreReloKind.TYPE_EXISTS:
    case BtfCoreReloKind.TYPE_MATCHES:
      return { val: 1n, validate: true };
    case BtfCoreReloKind.TYPE_SIZE:
      return { val: BigInt(resolveSize(spec.btf, spec.rootTypeId)), validate: true };
    default:
      throw new CoreReloError('EOPNOTSUPP', `not a type relocation`);
  }
}

/** bpf_core_calc_enumval_relo(). */
function calcEnumvalRelo(relo: CoreRelo, spec: CoreSpec | undefined): bigint {
  if (relo.kind === BtfCoreReloKind.ENUMVAL_EXISTS) return spec === undefined ? 0n : 1n;
  if (spec === undefined) throw new Poison();
  const acc = spec.accessors[0];
  const t = acc === undefined ? undefined : typeAt(spec.btf, acc.typeId);
  const e = acc === undefined ? undefined : t?.enumValues[acc.idx];
  if (t === undefined || e === undefined) throw new CoreReloError('EINVAL', `enumerator missing`);
  // btf_enum(t)[i].val is an s32 (as the ENUM's kind_flag does not change how libbpf reads it); ENUM64 is a u64.
  return t.kind === BtfKind.ENUM ? BigInt.asUintN(64, BigInt.asIntN(32, e.value)) : BigInt.asUintN(64, e.value);
}

const emptyResult = (): CoreReloResult => ({
  origVal: 0n,
  newVal: 0n,
  poison: false,
  validate: true,
  failMemszAdjust: false,
  origSz: 0,
  newSz: 0,
  origTypeId: 0,
  newTypeId: 0,
});

/** bpf_core_calc_relo(): the result for one target spec (undefined: no target matched). */
export function calcRelo(relo: CoreRelo, local: CoreSpec, targ: CoreSpec | undefined): CoreReloResult {
  const res = emptyResult();
  const family = CORE_RELO_FAMILY[relo.kind];
  try {
    if (family === 'field') {
      const orig = calcFieldRelo(relo, local, 'local');
      res.origVal = orig.val;
      res.origSz = orig.fieldSz;
      res.origTypeId = orig.typeId;
      res.validate = orig.validate ?? true;
      const next = calcFieldRelo(relo, targ, 'target');
      res.newVal = next.val;
      res.newSz = next.fieldSz;
      res.newTypeId = next.typeId;
      if (res.origSz !== res.newSz && targ !== undefined) {
        // Safe to resize a load only for pointers, or unsigned integers (zero-extension keeps the value).
        const o = typeAt(local.btf, res.origTypeId);
        const n = typeAt(targ.btf, res.newTypeId);
        const unsignedInt = (t: typeof o): boolean => t?.kind === BtfKind.INT && (t.intEncoding & BtfIntEncoding.SIGNED) === 0;
        const ok = (o?.kind === BtfKind.PTR && n?.kind === BtfKind.PTR) || (unsignedInt(o) && unsignedInt(n));
        if (!ok) res.failMemszAdjust = true;
      }
    } else if (family === 'type') {
      const orig = calcTypeRelo(relo, local);
      res.origVal = orig.val;
      res.validate = orig.validate;
      res.newVal = calcTypeRelo(relo, targ).val;
    } else {
      res.origVal = calcEnumvalRelo(relo, local);
      res.newVal = calcEnumvalRelo(relo, targ);
    }
  } catch (error) {
    if (!(error instanceof Poison)) {
      if (error instanceof CoreReloError && error.errno === 'EOPNOTSUPP')
        throw new CoreReloError('EOPNOTSUPP', `unrecognized CO-RE relocation ${CORE_RELO_KIND_NAMES[relo.kind]} (${relo.kind}) at insn #${relo.insn}`);
      throw error;
    }
    res.poison = true;
  }
  return res;
}

/** The decision for one relocation and the specs it was made from (for messages). */
export interface CoreReloDecision {
  readonly result: CoreReloResult;
  readonly local: CoreSpec;
  /** The first matching target spec, undefined when none matched (then the result may be poison). */
  readonly target: CoreSpec | undefined;
}

const errnoOf = (error: unknown): CoreReloError => {
  if (error instanceof CoreReloError) return error;
  if (error instanceof CoreSpecError) return new CoreReloError(error.errno, error.message);
  throw error;
};

/**
 * bpf_core_calc_relo_insn(): parse the local spec, match every candidate, and require all matching candidates
 * to agree (the same field offset and the same decision: libbpf's "ambiguity" errors). With no match the result
 * is computed without a target (poison for what cannot be answered then).
 */
export function calcReloInsn(relo: CoreRelo, localBtf: Btf, candidates: (id: number) => readonly number[], targBtf: Btf): CoreReloDecision {
  let local: CoreSpec;
  try {
    local = parseSpec(localBtf, relo.typeId, relo.accessString, relo.kind);
  } catch (error) {
    const e = errnoOf(error);
    throw new CoreReloError('EINVAL', `parsing ${rootLabel(localBtf, relo.typeId)} + ${relo.accessString} failed: -${e.errno} (${e.message})`);
  }
  if (relo.kind === BtfCoreReloKind.TYPE_ID_LOCAL) {
    // The local id needs no candidates; as an instruction's id may change in linking, it is not checked.
    const id = BigInt(local.rootTypeId);
    const result: CoreReloResult = { ...emptyResult(), origVal: id, newVal: id, validate: false };
    return { result, local, target: undefined };
  }
  const cands = candidates(relo.typeId);
  let chosen: { spec: CoreSpec; result: CoreReloResult } | undefined;
  for (const [i, id] of cands.entries()) {
    let cand: CoreSpec | undefined;
    try {
      cand = matchSpec(local, targBtf, id);
    } catch (error) {
      const e = errnoOf(error);
      throw new CoreReloError(e.errno, `error matching candidate #${i} ${rootLabel(targBtf, id)}: -${e.errno} (${e.message})`);
    }
    if (cand === undefined) continue;
    const result = calcRelo(relo, local, cand);
    if (chosen === undefined) {
      chosen = { spec: cand, result };
    } else if (cand.bitOffset !== chosen.spec.bitOffset) {
      throw new CoreReloError(
        'EINVAL',
        `field offset ambiguity: ${chosen.spec.bitOffset} != ${cand.bitOffset} (${formatSpec(chosen.spec)} vs ${formatSpec(cand)})`,
      );
    } else if (result.poison !== chosen.result.poison || (!result.poison && result.newVal !== chosen.result.newVal)) {
      const says = (r: CoreReloResult): string => `${r.poison ? 'failure' : 'success'} ${r.newVal}`;
      throw new CoreReloError(
        'EINVAL',
        `relocation decision ambiguity: ${says(result)} != ${says(chosen.result)} (${formatSpec(cand)} vs ${formatSpec(chosen.spec)})`,
      );
    }
  }
  if (chosen !== undefined) return { result: chosen.result, local, target: chosen.spec };
  // No candidate matched: a field, type or enumerator the target lacks. Exists-kinds answer 0; others poison.
  return { result: calcRelo(relo, local, undefined), local, target: undefined };
}
