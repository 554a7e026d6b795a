import { describe, expect, it } from 'vitest';
import { xlatedLines } from './xlated-insns.js';

const bytes = (...slots: string[]): Uint8Array => Uint8Array.from(slots.join('').match(/../g) ?? [], (b) => parseInt(b, 16));

describe('xlated instructions with the kernel-only parts', () => {
  it("prints BPF_REG_AX as r11/w11 and BPF_ST_NOSPEC as nospec, as Linux's print_bpf_insn does", () => {
    // From Linux 6.18's xlated dump of fixtures/unpriv san_map_add: the Spectre v1 masking of `r0 += r1`.
    const lines = xlatedLines(
      bytes(
        '620afcff00000000',
        'c200000000000000',
        'b40b000007000000',
        '1f1b000000000000',
        '4f1b000000000000',
        '870b000000000000',
        'c70b00003f000000',
        '5f1b000000000000',
        '0fb0000000000000',
        '1811000001000000',
        '0000000000000000',
        '9500000000000000',
      ),
    );
    expect(lines.map((l) => `${l.slot}: ${l.text}`)).toEqual([
      '0: (62) *(u32 *)(r10 -4) = 0',
      '1: (c2) nospec',
      '2: (b4) w11 = 7',
      '3: (1f) r11 -= r1',
      '4: (4f) r11 |= r1',
      '5: (87) r11 = -r11',
      '6: (c7) r11 s>>= 63',
      '7: (5f) r11 &= r1',
      '8: (0f) r0 += r11',
      '9: (18) r1 = map[id:1]',
      '11: (95) exit',
    ]);
    expect(lines.map((l) => l.slots)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1]);
  });
});
