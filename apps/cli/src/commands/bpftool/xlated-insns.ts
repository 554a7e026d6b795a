/**
 * The xlated program's instructions as the kernel's print_bpf_insn shows them, including the two things only the
 * kernel's own patches contain and the isa decoder (which checks what a program may contain) refuses: the
 * scratch register BPF_REG_AX (`r11`: division guards, Spectre masking) and the speculation barrier
 * `BPF_ST | BPF_NOSPEC` (`nospec`).
 */
import { decodeProgram, formatXlated, slotCount } from '@ebpf-sim/isa';

/** Linux's BPF_REG_AX. */
const AX = 11;
/** BPF_ST | BPF_NOSPEC. */
const NOSPEC = 0xc2;

/** One xlated instruction: its first slot, its size in slots and its text (`(code) insn`). */
export interface XlatedLine {
  readonly slot: number;
  readonly slots: 1 | 2;
  readonly text: string;
}

/** A register number no operand of `raw` uses, to stand in for r11 while the isa decoder reads it. */
function standIn(dst: number, src: number): number {
  for (let r = 0; r <= 10; r++) if (r !== dst && r !== src) return r;
  return 0;
}

/** The instruction of `bytes` (one or two slots) with r11 read as `stand`, or null when it names no r11. */
function withStandIn(bytes: Uint8Array, stand: number): Uint8Array | null {
  const dst = (bytes[1] ?? 0) & 0xf;
  const src = (bytes[1] ?? 0) >> 4;
  if (dst !== AX && src !== AX) return null;
  const copy = bytes.slice();
  copy[1] = ((src === AX ? stand : src) << 4) | (dst === AX ? stand : dst);
  return copy;
}

/** Decode `xlated` instruction by instruction, as print_bpf_insn would print each. */
export function xlatedLines(xlated: Uint8Array): XlatedLine[] {
  const out: XlatedLine[] = [];
  for (let slot = 0; slot * 8 < xlated.length;) {
    const at = slot * 8;
    const code = xlated[at] ?? 0;
    const size = slotCount({ code });
    const bytes = xlated.subarray(at, at + size * 8);
    if (code === NOSPEC && bytes.subarray(1).every((b) => b === 0)) {
      out.push({ slot, slots: 1, text: '(c2) nospec' });
      slot += 1;
      continue;
    }
    const dst = (bytes[1] ?? 0) & 0xf;
    const src = (bytes[1] ?? 0) >> 4;
    const stand = standIn(dst, src);
    const patched = withStandIn(bytes, stand);
    const insn = decodeProgram(patched ?? bytes)[0] ?? null;
    if (insn === null) break;
    let text = formatXlated(insn, insn.form);
    // Only r11 was replaced, by a register the instruction does not otherwise name.
    if (patched !== null) text = text.replace(new RegExp(`\\b([rw])${stand}\\b`, 'g'), `$1${AX}`);
    out.push({ slot, slots: size, text });
    slot += size;
  }
  return out;
}
