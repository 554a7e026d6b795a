/**
 * `extern ... __ksym` symbols, as libbpf resolves them: the object's `.ksyms` DATASEC is fixed up so that the
 * kernel takes the BTF (bpf_object__collect_externs: every entry points at one dummy `int` VAR, kfunc FUNCs become
 * global, their unnamed parameters take the dummy's name), and at load each kfunc call gets the id of the kernel
 * BTF's FUNC of that name (bpf_object__resolve_ksyms_btf_id, bpf_object__relocate_data: insn->imm = id, off = 0 for
 * vmlinux). A `__weak` kfunc the kernel lacks is no error: its calls are poisoned (poison_kfunc_call), its address
 * (bpf_ksym_exists) is 0.
 */
import { BtfFuncLinkage, BtfKind, BtfVarLinkage, type Btf } from '@ebpf-sim/btf';
import { SymbolBind, type ElfObject } from '@ebpf-sim/elf';
import { PseudoCall, PseudoLd, SLOT_SIZE } from '@ebpf-sim/isa';
import { LoaderError } from './errors.js';
import type { RawBtf, RawType } from './object-btf.js';
import { applyPatch, type Patch } from './programs.js';
import { CALL_OPCODE } from './relocations.js';

/** One `__ksym` extern of the object. */
export interface KsymExtern {
  readonly name: string;
  /** A kernel function (kfunc), or a kernel variable. */
  readonly kind: 'func' | 'var';
  /** Declared `__weak`: absent from the kernel is allowed. */
  readonly weak: boolean;
}

/** libbpf POISON_CALL_KFUNC_BASE: an unresolved weak kfunc call becomes helper call #(this + extern index). */
export const POISON_CALL_KFUNC_BASE = 2002000000;
/** The dummy VAR libbpf adds for the DATASEC entries of externs (its name too). */
const DUMMY_KSYM_VAR = 'dummy_ksym';

const BTF_TYPE_SIZE = 12;
const DATASEC_ENTRY = 12;
const PARAM_SIZE = 8;
/** btf_header's type_off, type_len, str_off, str_len. */
const HDR_TYPE_OFF = 8;
const HDR_TYPE_LEN = 12;
const HDR_STR_OFF = 16;
const HDR_STR_LEN = 20;
const VAR_SIZE = BTF_TYPE_SIZE + 4;
/** The size libbpf gives every `.ksyms` DATASEC entry (sizeof(int)). */
const KSYM_SLOT = 4;

/**
 * Fix the `.ksyms` DATASEC `sec` of `raw` up as libbpf does and return the new blob (a VAR and its name appended)
 * with the externs it lists, in DATASEC order (libbpf's extern indexes, which poisoned calls carry).
 */
export function fixupKsyms(raw: RawBtf, obj: ElfObject, sec: RawType): { readonly bytes: Uint8Array; readonly ksyms: KsymExtern[] } {
  try {
    return fixup(raw, obj, sec);
  } catch (error) {
    // A corrupted blob whose records run past its end: what libbpf reports as a malformed BTF.
    if (error instanceof RangeError) throw new LoaderError(`sec '.ksyms': malformed BTF (${error.message})`, 'format');
    throw error;
  }
}

function fixup(raw: RawBtf, obj: ElfObject, sec: RawType): { readonly bytes: Uint8Array; readonly ksyms: KsymExtern[] } {
  const view = raw.view;
  // find_int_btf_id: the first 32-bit INT, the dummy VAR's type.
  const int = raw.types.find(
    (t) => t !== undefined && t.kind === BtfKind.INT && t.sizeOrType === 4 && (view.getUint32(t.at + BTF_TYPE_SIZE, true) & 0xff) === 32,
  );
  if (int === undefined) throw new LoaderError(`sec '.ksyms': no 32-bit int type in the object's BTF for the extern slots`, 'format');
  const lastId = raw.types.length - 1;
  const dummyId = lastId + 1;
  const hdrLen = view.getUint32(4, true);
  const typeEnd = hdrLen + view.getUint32(HDR_TYPE_OFF, true) + view.getUint32(HDR_TYPE_LEN, true);
  const strOff = view.getUint32(HDR_STR_OFF, true);
  const strLen = view.getUint32(HDR_STR_LEN, true);
  const dummyNameOff = strLen;
  const ksyms: KsymExtern[] = [];
  for (let i = 0; i < sec.vlen; i++) {
    const entry = sec.at + BTF_TYPE_SIZE + i * DATASEC_ENTRY;
    const t = raw.types[view.getUint32(entry, true)];
    if (t === undefined) continue;
    const name = raw.name(t);
    const weak = obj.symbols.some((s) => s.name === name && s.bind === SymbolBind.WEAK);
    if (t.kind === BtfKind.FUNC) {
      ksyms.push({ name, kind: 'func', weak });
      const proto = raw.types[t.sizeOrType];
      if (proto?.kind === BtfKind.FUNC_PROTO) {
        for (let p = 0; p < proto.vlen; p++) {
          const at = proto.at + BTF_TYPE_SIZE + p * PARAM_SIZE;
          if (view.getUint32(at + 4, true) !== 0 && view.getUint32(at, true) === 0) view.setUint32(at, dummyNameOff, true);
        }
      }
      // BTF_FUNC_EXTERN is not a linkage the kernel takes: the FUNC becomes global.
      view.setUint32(t.at + 4, (view.getUint32(t.at + 4, true) & ~0xffff) | BtfFuncLinkage.GLOBAL, true);
      view.setUint32(entry, dummyId, true);
    } else if (t.kind === BtfKind.VAR) {
      ksyms.push({ name, kind: 'var', weak });
      view.setUint32(t.at + BTF_TYPE_SIZE, BtfVarLinkage.GLOBAL_ALLOCATED, true);
      view.setUint32(t.at + 8, int.id, true);
    }
    view.setUint32(entry + 4, i * KSYM_SLOT, true);
    view.setUint32(entry + 8, KSYM_SLOT, true);
  }
  view.setUint32(sec.at + 8, sec.vlen * KSYM_SLOT, true);
  // The blob with the dummy VAR after the last type and its name after the last string.
  const name = new TextEncoder().encode(`${DUMMY_KSYM_VAR}\0`);
  const strStart = hdrLen + strOff;
  const out = new Uint8Array(raw.bytes.length + VAR_SIZE + name.length);
  out.set(raw.bytes.subarray(0, typeEnd), 0);
  const v = new DataView(out.buffer);
  v.setUint32(typeEnd, dummyNameOff, true);
  v.setUint32(typeEnd + 4, (BtfKind.VAR << 24) >>> 0, true);
  v.setUint32(typeEnd + 8, int.id, true);
  v.setUint32(typeEnd + 12, BtfVarLinkage.GLOBAL_ALLOCATED, true);
  // Whatever lay between the types and the strings (normally nothing) moves with the strings.
  out.set(raw.bytes.subarray(typeEnd), typeEnd + VAR_SIZE);
  out.set(name, strStart + VAR_SIZE + strLen);
  v.setUint32(HDR_TYPE_LEN, view.getUint32(HDR_TYPE_LEN, true) + VAR_SIZE, true);
  v.setUint32(HDR_STR_OFF, strOff + VAR_SIZE, true);
  v.setUint32(HDR_STR_LEN, strLen + name.length, true);
  return { bytes: out.subarray(0, strStart + VAR_SIZE + strLen + name.length), ksyms };
}

/** bpf_object__resolve_ksym_func_btf_id: the kernel BTF's FUNC named `name`, or -1. */
function kernelFuncId(kernel: Btf, name: string): number {
  for (const t of kernel.types) if (t.kind === BtfKind.FUNC && t.name === name) return t.id;
  return -1;
}

/**
 * The patches of one `__ksym` reference at `insn` (a kfunc call, or an LD imm64 of a kfunc's address) against
 * the kernel's BTF, as bpf_object__relocate_data makes them.
 */
export function ksymPatches(
  prog: string,
  kind: 'extern-call' | 'extern-ld64',
  insn: number,
  symbol: string,
  ksyms: readonly KsymExtern[],
  kernel: Btf | undefined,
): Patch[] {
  const index = ksyms.findIndex((k) => k.name === symbol);
  const ext = ksyms[index];
  if (ext === undefined) throw new LoaderError(`prog '${prog}': extern '${symbol}' is neither __kconfig nor __ksym`, 'reloc');
  if (ext.kind === 'var') throw new LoaderError(`extern (var ksym) '${symbol}': kernel variables are not supported yet`, 'unsupported');
  const id = kernel === undefined ? -1 : kernelFuncId(kernel, symbol);
  if (id < 0 && !ext.weak) throw new LoaderError(`extern (func ksym) '${symbol}': not found in kernel or module BTFs`, 'unsupported');
  if (kind === 'extern-call') {
    // clang emits the call as a bpf-to-bpf one (src 1): a resolved call becomes BPF_PSEUDO_KFUNC_CALL of the FUNC
    // (off 0: vmlinux); an unresolved weak one an invalid helper call, which the verifier refuses only if it is
    // reachable ("invalid func unknown#2002000000").
    return id >= 0 ? [{ slot: insn, imm: id, src: PseudoCall.KFUNC }] : [{ slot: insn, imm: POISON_CALL_KFUNC_BASE + index, src: PseudoCall.HELPER }];
  }
  // bpf_ksym_exists(kfunc): BPF_PSEUDO_BTF_ID of the FUNC with the BTF object fd 0 (vmlinux), or 0.
  return id >= 0
    ? [
        { slot: insn, imm: id, src: PseudoLd.BTF_ID },
        { slot: insn + 1, imm: 0 },
      ]
    : [
        { slot: insn, imm: 0, src: PseudoLd.NONE },
        { slot: insn + 1, imm: 0 },
      ];
}

/** Apply `patches` to `insns` (little-endian slots); a call's off becomes 0 (the BTF object: vmlinux), as libbpf sets it. */
export function applyKsymPatches(view: DataView, patches: readonly Patch[]): void {
  for (const patch of patches) {
    applyPatch(view, patch, 'little');
    if (view.getUint8(patch.slot * SLOT_SIZE) === CALL_OPCODE) view.setInt16(patch.slot * SLOT_SIZE + 2, 0, true);
  }
}
