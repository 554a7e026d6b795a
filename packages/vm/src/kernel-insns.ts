/**
 * The kernel's own instructions: a program as Linux's verifier leaves it (the xlated program after
 * do_misc_fixups and convert_ctx_accesses, what `bpftool prog dump xlated` prints) may use two things a
 * program from user space never can, and the VM runs both (LoadOptions.kernelInsns):
 *
 * - BPF_REG_AX, register 11 (`r11`/`w11` in the dump): the scratch register of the kernel's patches (Spectre v1
 *   masking of pointer arithmetic, the division guards). The engines keep it beside r0..r10 (interpreter: words
 *   22..23 of a level's register block; JIT: a local of each function); like the kernel's JITs, which map it to
 *   a scratch machine register, nothing saves it across calls and no caller sees it (`Vm.regs` stops at r10).
 * - BPF_ST | BPF_NOSPEC (0xc2, `nospec`), the speculation barrier (Linux BPF_ST_NOSPEC(); x86 emits `lfence`).
 *   It only orders the CPU's speculation, which the VM does not have: it runs as a jump to the next
 *   instruction, one instruction that changes nothing (the instruction keeps its opcode 0xc2: `Program.bytes()`
 *   is the program as loaded).
 *
 * Every other field is validated as `@ebpf-sim/isa` validates user bytecode: register 11 is accepted only
 * because the kernel wrote it, so the verifier (which refuses it in user programs, as Linux's check_reg_arg
 * does) must never pass user bytecode here unchecked.
 */
import type { Endian, Insn, RawInsn } from '@ebpf-sim/isa';
import { Class, JmpOp, SLOT_SIZE, decodeProgram, encodeProgram, readSlot } from '@ebpf-sim/isa';

/** BPF_REG_AX (Linux MAX_BPF_REG): the kernel's scratch register. */
export const BPF_REG_AX = 11;
/** BPF_ST | BPF_NOSPEC (Linux include/linux/filter.h BPF_ST_NOSPEC()). */
export const BPF_ST_NOSPEC = Class.ST | 0xc0;
/** What a barrier decodes as: `goto +0`. */
const JA_NEXT = Class.JMP | JmpOp.JA;
/** BPF_LD | BPF_IMM | BPF_DW: two slots. */
const LD_IMM64 = 0x18;
/** A register number the decoder accepts (r0..r10) standing in for r11 while the rest of the slot is validated. */
const STAND_IN = 0;

function isNospec(raw: RawInsn): boolean {
  return raw.code === BPF_ST_NOSPEC && raw.dst === 0 && raw.src === 0 && raw.off === 0 && raw.imm === 0;
}

/**
 * Decode a kernel program (see the module comment): isa's decodeProgram on a copy where each `nospec` is
 * `goto +0` and each r11 operand a stand-in register, then the instructions put back as the kernel wrote them.
 */
export function decodeKernelProgram(bytes: Uint8Array, endian: Endian = 'little'): Insn[] {
  const slots = Math.floor(bytes.length / SLOT_SIZE);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let copy: Uint8Array | null = null;
  const kernelOnly = new Map<number, RawInsn>();
  for (let slot = 0; slot < slots; slot++) {
    const raw = readSlot(view, slot * SLOT_SIZE, endian);
    // LD imm64: its tail is no instruction of its own (the decoder validates it).
    if (raw.code === LD_IMM64) {
      slot++;
      continue;
    }
    let stand: RawInsn;
    if (isNospec(raw)) stand = { code: JA_NEXT, dst: 0, src: 0, off: 0, imm: 0 };
    else if (raw.dst === BPF_REG_AX || raw.src === BPF_REG_AX)
      stand = { ...raw, dst: raw.dst === BPF_REG_AX ? STAND_IN : raw.dst, src: raw.src === BPF_REG_AX ? STAND_IN : raw.src };
    else continue;
    kernelOnly.set(slot, raw);
    copy ??= bytes.slice();
    copy.set(encodeProgram([stand], endian), slot * SLOT_SIZE);
  }
  if (copy === null) return decodeProgram(bytes, { endian });
  return decodeProgram(copy, { endian }).map((insn) => {
    const raw = kernelOnly.get(insn.slot);
    return raw === undefined ? insn : { code: raw.code, dst: raw.dst, src: raw.src, off: raw.off, imm: raw.imm, form: insn.form, slot: insn.slot };
  });
}
