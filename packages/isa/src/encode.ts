import type { Endian, RawInsn } from './instruction.js';
import { slotCount } from './instruction.js';
import { SLOT_SIZE } from './decode.js';

function writeSlot(view: DataView, at: number, code: number, dst: number, src: number, off: number, imm: number, endian: Endian): void {
  const little = endian === 'little';
  view.setUint8(at, code);
  view.setUint8(at + 1, little ? (dst & 0x0f) | ((src & 0x0f) << 4) : ((dst & 0x0f) << 4) | (src & 0x0f));
  view.setInt16(at + 2, off, little);
  view.setInt32(at + 4, imm | 0, little);
}

/** Total slots of a program. */
export function programSlots(insns: readonly RawInsn[]): number {
  let n = 0;
  for (const insn of insns) n += slotCount(insn);
  return n;
}

/** Encode instructions to bytecode (8 bytes per slot, 16 for LD imm64). */
export function encodeProgram(insns: readonly RawInsn[], endian: Endian = 'little'): Uint8Array {
  const bytes = new Uint8Array(programSlots(insns) * SLOT_SIZE);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const insn of insns) {
    writeSlot(view, at, insn.code, insn.dst, insn.src, insn.off, insn.imm, endian);
    at += SLOT_SIZE;
    if (slotCount(insn) === 2) {
      writeSlot(view, at, 0, 0, 0, 0, insn.imm2 ?? 0, endian);
      at += SLOT_SIZE;
    }
  }
  return bytes;
}

/** Lower-case hex of bytes, no separators. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Parse hex (whitespace and an optional 0x prefix per token allowed) to bytes. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    const bad = clean.search(/[^0-9a-fA-F]/);
    throw new Error(bad >= 0 ? `invalid hex digit '${clean[bad] ?? ''}' at position ${bad}` : 'hex text has an odd number of digits');
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}
