/**
 * When a local type and a target type are the same thing for CO-RE, as libbpf's relo_core.c decides it:
 * bpf_core_fields_are_compat (a field's type along an access), bpf_core_types_are_compat (type_exists, type_size,
 * type ids) and bpf_core_types_match (type_matches, the stricter test). Each answers 1 (yes), 0 (no) or throws
 * CoreSpecError where libbpf returns -EINVAL (a dangling id, a recursion too deep).
 */
import { BtfIntEncoding, BtfKind, type Btf, type BtfType } from '@ebpf-sim/btf';
import { CoreSpecError, essentialName, isAnyEnum, isComposite, skipModsAndTypedefs, typeAt } from './spec.js';

/** The depth libbpf allows its type comparisons to recurse (the `depth` and `level` of relo_core.c). */
const MAX_DEPTH = 32;

function skip(btf: Btf, id: number): { type: BtfType; id: number } {
  const t = skipModsAndTypedefs(btf, id);
  if (t === undefined) throw new CoreSpecError('EINVAL', `type [${id}] does not exist`);
  return t;
}

/** btf_kind_core_compat(): the same kind, or both enums (ENUM and ENUM64 relocate into each other). */
export const kindsCompat = (a: BtfType, b: BtfType): boolean => a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));

/** Names equal up to their `___flavor`, or one of them anonymous. */
const flavorlessEqual = (a: string, b: string): boolean => {
  const ea = essentialName(a);
  const eb = essentialName(b);
  return ea === '' || eb === '' || ea === eb;
};

/** bpf_core_fields_are_compat(). */
export function fieldsAreCompat(localBtf: Btf, localId: number, targBtf: Btf, targId: number): boolean {
  let l = localId;
  let r = targId;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const local = skip(localBtf, l).type;
    const targ = skip(targBtf, r).type;
    if (isComposite(local) && isComposite(targ)) return true;
    if (!kindsCompat(local, targ)) return false;
    switch (local.kind) {
      case BtfKind.PTR:
      case BtfKind.FLOAT:
        return true;
      case BtfKind.FWD:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        return flavorlessEqual(local.name, targ.name);
      case BtfKind.INT:
        // Only the deprecated bitfield-like integers (a non-zero int offset) are refused.
        return local.intOffset === 0 && targ.intOffset === 0;
      case BtfKind.ARRAY:
        l = local.arrayType;
        r = targ.arrayType;
        continue;
      default:
        return false;
    }
  }
  throw new CoreSpecError('EINVAL', `types [${localId}] and [${targId}] nest deeper than ${MAX_DEPTH}`);
}

/** __bpf_core_types_are_compat(). */
export function typesAreCompat(localBtf: Btf, localId: number, targBtf: Btf, targId: number, level = MAX_DEPTH): boolean {
  const lt = typeAt(localBtf, localId);
  const tt = typeAt(targBtf, targId);
  if (lt === undefined || tt === undefined) throw new CoreSpecError('EINVAL', `type [${lt === undefined ? localId : targId}] does not exist`);
  if (!kindsCompat(lt, tt)) return false;
  let l = localId;
  let r = targId;
  for (let depth = MAX_DEPTH; ;) {
    if (--depth < 0) throw new CoreSpecError('EINVAL', `types [${localId}] and [${targId}] nest deeper than ${MAX_DEPTH}`);
    const local = skip(localBtf, l).type;
    const targ = skip(targBtf, r).type;
    if (!kindsCompat(local, targ)) return false;
    switch (local.kind) {
      case BtfKind.UNKN:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.FWD:
      case BtfKind.ENUM64:
        return true;
      case BtfKind.INT:
        return local.intOffset === 0 && targ.intOffset === 0;
      case BtfKind.PTR:
        l = local.sizeOrType;
        r = targ.sizeOrType;
        continue;
      case BtfKind.ARRAY:
        l = local.arrayType;
        r = targ.arrayType;
        continue;
      case BtfKind.FUNC_PROTO: {
        if (local.params.length !== targ.params.length) return false;
        for (let i = 0; i < local.params.length; i++) {
          if (level <= 0) throw new CoreSpecError('EINVAL', `function prototypes nest deeper than ${MAX_DEPTH}`);
          const lp = skip(localBtf, local.params[i]?.type ?? 0).id;
          const tp = skip(targBtf, targ.params[i]?.type ?? 0).id;
          if (!typesAreCompat(localBtf, lp, targBtf, tp, level - 1)) return false;
        }
        l = skip(localBtf, local.sizeOrType).id;
        r = skip(targBtf, targ.sizeOrType).id;
        continue;
      }
      default:
        return false;
    }
  }
}

/** bpf_core_names_match(): an anonymous target matches only an anonymous local; otherwise flavour-less names equal. */
const namesMatch = (local: string, targ: string): boolean => (targ === '' ? local === '' : essentialName(targ) === essentialName(local));

/** bpf_core_enums_match(): the same size, and every local enumerator named in the target. */
function enumsMatch(local: BtfType, targ: BtfType): boolean {
  if (local.sizeOrType !== targ.sizeOrType || local.enumValues.length > targ.enumValues.length) return false;
  return local.enumValues.every((l) => targ.enumValues.some((t) => namesMatch(l.name, t.name)));
}

/** bpf_core_composites_match(): every local member has a target member of that name whose type matches. */
function compositesMatch(localBtf: Btf, local: BtfType, targBtf: Btf, targ: BtfType, behindPtr: boolean, level: number): boolean {
  if (local.members.length > targ.members.length) return false;
  return local.members.every((lm) =>
    targ.members.some((tm) => namesMatch(lm.name, tm.name) && typesMatch(localBtf, lm.type, targBtf, tm.type, behindPtr, level - 1)),
  );
}

/** __bpf_core_types_match(): the relation of BPF_CORE_TYPE_MATCHES (bpf_core_type_matches()). */
export function typesMatch(localBtf: Btf, localId: number, targBtf: Btf, targId: number, behindPtr = false, level = MAX_DEPTH): boolean {
  if (level <= 0) throw new CoreSpecError('EINVAL', `types [${localId}] and [${targId}] nest deeper than ${MAX_DEPTH}`);
  let l = localId;
  let r = targId;
  let ptr = behindPtr;
  for (let depth = MAX_DEPTH; ;) {
    if (--depth < 0) throw new CoreSpecError('EINVAL', `types [${localId}] and [${targId}] nest deeper than ${MAX_DEPTH}`);
    const local = skip(localBtf, l).type;
    const targ = skip(targBtf, r).type;
    if (!namesMatch(local.name, targ.name)) return false;
    switch (local.kind) {
      case BtfKind.UNKN:
        return targ.kind === BtfKind.UNKN;
      case BtfKind.FWD:
        // kind_flag: a forward declaration of a union (1) or of a struct (0).
        if (targ.kind === BtfKind.FWD) return local.kindFlag === targ.kindFlag;
        return ptr && ((targ.kind === BtfKind.STRUCT && !local.kindFlag) || (targ.kind === BtfKind.UNION && local.kindFlag));
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        return isAnyEnum(targ) && enumsMatch(local, targ);
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        if (ptr) return local.kind === targ.kind || (targ.kind === BtfKind.FWD && (local.kind === BtfKind.UNION) === targ.kindFlag);
        return local.kind === targ.kind && compositesMatch(localBtf, local, targBtf, targ, ptr, level);
      case BtfKind.INT: {
        if (targ.kind !== BtfKind.INT) return false;
        const signed = (t: BtfType): number => t.intEncoding & BtfIntEncoding.SIGNED;
        return local.sizeOrType === targ.sizeOrType && signed(local) === signed(targ);
      }
      case BtfKind.PTR:
        if (targ.kind !== BtfKind.PTR) return false;
        ptr = true;
        l = local.sizeOrType;
        r = targ.sizeOrType;
        continue;
      case BtfKind.ARRAY:
        if (targ.kind !== BtfKind.ARRAY || local.arrayNelems !== targ.arrayNelems) return false;
        l = local.arrayType;
        r = targ.arrayType;
        continue;
      case BtfKind.FUNC_PROTO:
        if (targ.kind !== BtfKind.FUNC_PROTO || local.params.length !== targ.params.length) return false;
        for (let i = 0; i < local.params.length; i++)
          if (!typesMatch(localBtf, local.params[i]?.type ?? 0, targBtf, targ.params[i]?.type ?? 0, ptr, level - 1)) return false;
        l = local.sizeOrType;
        r = targ.sizeOrType;
        continue;
      default:
        return false;
    }
  }
}
