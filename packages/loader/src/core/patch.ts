/**
 * Writing a CO-RE decision into the instruction, as libbpf's bpf_core_patch_insn() does: the immediate of an ALU
 * instruction, the offset (and if need be the size) of a load or store, the 64-bit immediate of an ld_imm64; a
 * relocation that could not be resolved turns the instruction into a call of the invalid helper 0xbad2310, which
 * the verifier ignores in dead code and refuses (`invalid func unknown#195896080`) where it is reached.
 */
import { Class, JmpOp, PseudoLd, SIZE_BYTES, SLOT_SIZE, Source, sizeCodeForWidth } from '@ebpf-sim/isa';
import { CoreReloError, type CoreReloResult } from './relo.js';

/** libbpf's poison helper id: 0xbad2310, "bad relo". */
export const CORE_POISON_HELPER = 0xbad2310;
/** BPF_LD | BPF_IMM | BPF_DW: the first slot of an ld_imm64. */
const LD_IMM64 = 0x18;
const SHRT_MAX = 0x7fff;

/** bpf_core_poison_insn(). */
function poison(view: DataView, slot: number): void {
  const at = slot * SLOT_SIZE;
  view.setUint8(at, Class.JMP | JmpOp.CALL);
  view.setUint8(at + 1, 0);
  view.setInt16(at + 2, 0, true);
  view.setInt32(at + 4, CORE_POISON_HELPER, true);
}

/** The slots a poisoned relocation replaced (both halves of an ld_imm64). */
export type PatchOutcome = { readonly poisoned: false } | { readonly poisoned: true; readonly slots: readonly number[] };

/**
 * bpf_core_patch_insn() on little-endian instructions. Throws
 * CoreReloError where libbpf fails the load (an instruction that does not hold what the compiler recorded, a form
 * it cannot patch, an offset past 32767).
 */
export function patchInsn(insns: Uint8Array, slot: number, res: CoreReloResult): PatchOutcome {
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const at = slot * SLOT_SIZE;
  if (at + SLOT_SIZE > insns.byteLength) throw new CoreReloError('EINVAL', `insn #${slot} is past the program's end`);
  const code = view.getUint8(at);
  const isLdImm64 = code === LD_IMM64 && at + 2 * SLOT_SIZE <= insns.byteLength;
  const doPoison = (): PatchOutcome => {
    // The second half of an ld_imm64 too, so the verifier does not complain of "unknown opcode 00" first.
    const slots = isLdImm64 ? [slot, slot + 1] : [slot];
    for (const s of slots) poison(view, s);
    return { poisoned: true, slots };
  };
  if (res.poison) return doPoison();
  const { origVal, newVal } = res;
  const cls = code & 0x07;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      if ((code & Source.X) !== Source.K) throw new CoreReloError('EINVAL', `insn #${slot} (ALU/ALU64) has a register source`);
      const imm = view.getInt32(at + 4, true);
      // As C compares an s32 with a u64: the immediate sign-extended.
      if (res.validate && BigInt.asUintN(64, BigInt(imm)) !== origVal)
        throw new CoreReloError('EINVAL', `unexpected insn #${slot} (ALU/ALU64) value: got ${imm >>> 0}, exp ${origVal} -> ${newVal}`);
      view.setInt32(at + 4, Number(BigInt.asIntN(32, newVal)), true);
      return { poisoned: false };
    }
    case Class.LDX:
    case Class.ST:
    case Class.STX: {
      const off = view.getInt16(at + 2, true);
      if (res.validate && BigInt(off) !== origVal)
        throw new CoreReloError('EINVAL', `unexpected insn #${slot} (LDX/ST/STX) value: got ${off}, exp ${origVal} -> ${newVal}`);
      if (newVal > BigInt(SHRT_MAX)) throw new CoreReloError('ERANGE', `insn #${slot} (LDX/ST/STX) value too big: ${newVal}`);
      if (res.failMemszAdjust) return doPoison();
      view.setInt16(at + 2, Number(newVal), true);
      if (res.newSz !== res.origSz) {
        const bytes = SIZE_BYTES[code & 0x18];
        if (bytes !== res.origSz) throw new CoreReloError('EINVAL', `insn #${slot} (LDX/ST/STX) unexpected mem size: got ${bytes ?? 0}, exp ${res.origSz}`);
        if (![1, 2, 4, 8].includes(res.newSz)) throw new CoreReloError('EINVAL', `insn #${slot} (LDX/ST/STX) invalid new mem size: ${res.newSz}`);
        view.setUint8(at, (code & ~0x18) | sizeCodeForWidth(res.newSz));
      }
      return { poisoned: false };
    }
    case Class.LD: {
      const second = at + SLOT_SIZE;
      const regs = view.getUint8(at + 1);
      if (
        !isLdImm64 ||
        regs >> 4 !== PseudoLd.NONE ||
        view.getInt16(at + 2, true) !== 0 ||
        view.getUint8(second) !== 0 ||
        view.getUint8(second + 1) !== 0 ||
        view.getInt16(second + 2, true) !== 0
      )
        throw new CoreReloError('EINVAL', `insn #${slot} (LDIMM64) has unexpected form`);
      const imm = (BigInt(view.getUint32(second + 4, true)) << 32n) | BigInt(view.getUint32(at + 4, true));
      if (res.validate && imm !== origVal)
        throw new CoreReloError('EINVAL', `unexpected insn #${slot} (LDIMM64) value: got ${imm}, exp ${origVal} -> ${newVal}`);
      const v = BigInt.asUintN(64, newVal);
      view.setUint32(at + 4, Number(v & 0xffffffffn), true);
      view.setUint32(second + 4, Number(v >> 32n), true);
      return { poisoned: false };
    }
    default: {
      const h = (n: number): string => `0x${n.toString(16)}`;
      const regs = view.getUint8(at + 1);
      throw new CoreReloError(
        'EINVAL',
        `trying to relocate unrecognized insn #${slot}, code:${h(code)}, src:${h(regs >> 4)}, dst:${h(regs & 0xf)}, off:${h(view.getInt16(at + 2, true) & 0xffff)}, imm:${h(view.getInt32(at + 4, true) >>> 0)}`,
      );
    }
  }
}
