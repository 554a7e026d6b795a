import { ElfMachine, ElfType, SymbolBind, type ElfObject } from '@ebpf-sim/elf';
import { PseudoCall, PseudoLd, SLOT_SIZE, type Endian } from '@ebpf-sim/isa';
import { LoaderError } from './errors.js';
import { TEXT_SECTION, codeFunctions, functionAt, type CodeFunction } from './functions.js';
import { readLicense } from './license.js';
import { CALL_OPCODE, LD_IMM64_OPCODE, collectRelocations, slotAt, type Relocation } from './relocations.js';

/** A relocation that only loading can resolve, because it needs a kernel object: a map fd or a BTF id. */
export type LoadReference = Relocation & { readonly kind: 'map' | 'data' | 'extern-call' | 'extern-ld64' };

/** Where one function of the object landed in a linked program. */
export interface LinkedFunction {
  readonly name: string;
  /** The code section it came from. */
  readonly section: string;
  /** Its first slot in that section (what `.BTF.ext` records count from, in bytes). */
  readonly sectionSlot: number;
  /** First slot in {@link ProgramSpec.insns}. */
  readonly slot: number;
  readonly slots: number;
}

/**
 * One program of an object, ready for BPF_PROG_LOAD except for what needs the kernel (cilium/ebpf's
 * ProgramSpec; libbpf's bpf_program after bpf_object__relocate() has linked it, before maps exist).
 */
export interface ProgramSpec {
  /** The entry function's name (libbpf's bpf_program__name()). */
  readonly name: string;
  /** The ELF section it is in; libbpf derives the program type and attach point from it (`SEC("xdp")`). */
  readonly sectionName: string;
  /** The object's license string ({@link readLicense}), which BPF_PROG_LOAD passes to the kernel. */
  readonly license: string;
  /** Byte order of {@link insns}: the object's. */
  readonly endian: Endian;
  /**
   * The instructions, 8 bytes per slot: the entry function, then each sub-program it reaches (directly or
   * through other sub-programs) once, in the order libbpf appends them, with every bpf-to-bpf call and
   * function address (LD imm64, BPF_PSEUDO_FUNC) pointing at its callee's place.
   */
  readonly insns: Uint8Array;
  /** The entry function first, then the appended sub-programs. */
  readonly functions: readonly LinkedFunction[];
  /** What is left for loading, by slot in {@link insns} (`insn`), in instruction order. */
  readonly references: readonly LoadReference[];
}

/** A pending change to one linked instruction: its immediate, and for a function address, its source register. */
export interface Patch {
  readonly slot: number;
  readonly imm: number;
  readonly src?: number;
}

function isLoadReference(r: Relocation): r is LoadReference {
  return r.kind !== 'call' && r.kind !== 'subprog-addr';
}

/** Write the immediate (and source register) of the slot at `slot` in the given byte order. */
export function applyPatch(view: DataView, patch: Patch, endian: Endian): void {
  const at = patch.slot * SLOT_SIZE;
  const little = endian === 'little';
  view.setInt32(at + 4, patch.imm, little);
  if (patch.src === undefined) return;
  const regs = view.getUint8(at + 1);
  // bpfel keeps src in the high nibble of the register byte, bpfeb in the low one.
  view.setUint8(at + 1, little ? (regs & 0x0f) | (patch.src << 4) : (regs & 0xf0) | patch.src);
}

/**
 * Link one entry program the way libbpf's bpf_object__reloc_code() does: walk its calls and function
 * addresses, append each sub-program the first time it is reached and walk that one before going on, then
 * point every call at its callee's place. A call without a relocation is pc-relative inside its section: when it
 * stays inside its own function it needs nothing; otherwise its callee must be another `.text` function.
 */
function link(obj: ElfObject, entry: CodeFunction, functions: readonly CodeFunction[], relocations: Map<CodeFunction, Relocation[]>): ProgramSpec {
  const placed = new Map<CodeFunction, number>();
  const order: CodeFunction[] = [];
  const patches: Patch[] = [];
  let end = 0;
  const place = (fn: CodeFunction): void => {
    placed.set(fn, end);
    order.push(fn);
    end += fn.slots;
  };
  const text = obj.section(TEXT_SECTION);

  const walk = (fn: CodeFunction): void => {
    const base = placed.get(fn) ?? 0;
    const prog = `prog '${fn.name}'`;
    const relos = relocations.get(fn) ?? [];
    for (let insn = 0; insn < fn.slots; insn++) {
      const raw = slotAt(obj, fn.section, fn.start + insn);
      const relo = relos.find((r) => r.insn === insn);
      const subprogCall = raw.code === CALL_OPCODE && raw.src === PseudoCall.LOCAL && raw.dst === 0 && raw.off === 0;
      // libbpf marks LD imm64 with a subprog-addr relocation as BPF_PSEUDO_FUNC before it links.
      const pseudoFunc = raw.code === LD_IMM64_OPCODE && (raw.src === PseudoLd.FUNC || relo?.kind === 'subprog-addr');
      if ((!subprogCall && !pseudoFunc) || relo?.kind === 'extern-call') continue;
      if (relo !== undefined && relo.kind !== 'call' && relo.kind !== 'subprog-addr') {
        throw new LoaderError(`${prog}: unexpected relo for insn #${insn}, type ${relo.kind}`, 'reloc');
      }
      let section = fn.section;
      let target: number;
      if (relo !== undefined) {
        if (text === undefined) throw new LoaderError(`${prog}: no .text section found yet sub-program call exists`, 'reloc');
        section = text;
        // A call's immediate counts slots after it; a function address's counts bytes (libbpf: sub_insn_idx).
        target = relo.kind === 'call' ? relo.symbolOffset / SLOT_SIZE + raw.imm + 1 : (relo.symbolOffset + raw.imm) / SLOT_SIZE;
      } else if (pseudoFunc) {
        throw new LoaderError(`${prog}: missing subprog addr relo for insn #${insn}`, 'reloc');
      } else {
        target = fn.start + insn + raw.imm + 1;
        if (target >= fn.start && target < fn.start + fn.slots) continue;
        if (fn.section !== text) {
          throw new LoaderError(`${prog}: the call at insn #${insn} leaves the function without a relocation`, 'reloc', 'sub-programs must be in .text');
        }
      }
      const callee = functionAt(functions, section, target);
      if (callee === undefined || callee.start !== target) {
        const where = `${section.name}+0x${(target * SLOT_SIZE).toString(16)}`;
        throw new LoaderError(
          `${prog}: insn #${insn} refers to ${where}, ${callee === undefined ? 'outside every function' : `inside '${callee.name}'`}`,
          'reloc',
        );
      }
      if (!placed.has(callee)) {
        place(callee);
        walk(callee);
      }
      const at = base + insn;
      patches.push({ slot: at, imm: (placed.get(callee) ?? 0) - at - 1, ...(pseudoFunc ? { src: PseudoLd.FUNC } : {}) });
    }
  };
  place(entry);
  walk(entry);

  const insns = new Uint8Array(end * SLOT_SIZE);
  for (const fn of order) insns.set(fn.section.data.subarray(fn.start * SLOT_SIZE, (fn.start + fn.slots) * SLOT_SIZE), (placed.get(fn) ?? 0) * SLOT_SIZE);
  const view = new DataView(insns.buffer);
  for (const patch of patches) applyPatch(view, patch, obj.endian);
  return {
    name: entry.name,
    sectionName: entry.section.name,
    license: readLicense(obj),
    endian: obj.endian,
    insns,
    functions: order.map((fn) => ({ name: fn.name, section: fn.section.name, sectionSlot: fn.start, slot: placed.get(fn) ?? 0, slots: fn.slots })),
    references: order.flatMap((fn) => (relocations.get(fn) ?? []).filter(isLoadReference).map((r) => ({ ...r, insn: (placed.get(fn) ?? 0) + r.insn }))),
  };
}

/**
 * The entry programs of a BPF object, each linked with its sub-programs: one per function of every code
 * section but `.text`, in section and then offset order. Deterministic and without syscalls: map, global-data
 * and extern references are left in {@link ProgramSpec.references} for loading. Throws a {@link LoaderError}
 * for what libbpf refuses at open time: an object that is not a relocatable BPF object, a static entry
 * program, a relocation it cannot classify or apply.
 */
export function readPrograms(obj: ElfObject): ProgramSpec[] {
  if (obj.type !== ElfType.REL || (obj.machine !== ElfMachine.NONE && obj.machine !== ElfMachine.BPF)) {
    throw new LoaderError(`elf: not a valid eBPF object file (e_type ${obj.type}, e_machine ${obj.machine})`, 'format', 'expected ET_REL and EM_BPF');
  }
  const functions = codeFunctions(obj);
  const relocations = collectRelocations(obj, functions);
  const entries = functions.filter((fn) => fn.section.name !== TEXT_SECTION);
  for (const fn of entries) {
    if (fn.bind === SymbolBind.LOCAL) throw new LoaderError(`sec '${fn.section.name}': program '${fn.name}' is static and not supported`, 'unsupported');
  }
  return entries.map((entry) => link(obj, entry, functions, relocations));
}
