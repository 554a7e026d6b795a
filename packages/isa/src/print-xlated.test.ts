import { describe, expect, it } from 'vitest';
import {
  Atomic,
  Call,
  Exit,
  Gotol,
  JNe,
  Ja,
  LdAbs,
  LdImm64,
  LdInd,
  MayGoto,
  Mov,
  MovSX,
  Neg,
  R0,
  R1,
  R2,
  SDiv,
  Swap,
  program,
  type ProgramItem,
} from './builder.js';
import { decodeProgram } from './decode.js';
import { encodeProgram } from './encode.js';
import { BPF_FUNC_MAX_ID, BPF_HELPER_NAMES, helperId, helperName } from './helper-names.js';
import { formatXlated, formatXlatedProgram } from './print-xlated.js';

const xlated = (...items: ProgramItem[]) => formatXlatedProgram(decodeProgram(encodeProgram(program(...items))));

describe('formatXlatedProgram (kernel print_bpf_insn style)', () => {
  it('prints decimal immediates, hex jump constants and %+d offsets', () => {
    expect(
      xlated(
        Mov.imm(R0, -1),
        Mov.imm32(R1, 7),
        SDiv.imm(R1, 3),
        Neg.r32(R2),
        MovSX.reg(R1, R2, 32),
        Swap.be(R1, 16),
        Swap.bswap(R1, 64),
        JNe.imm32(R1, -6, 2),
        Ja(-3),
        Exit(),
      ),
    ).toBe(
      [
        '   0: (b7) r0 = -1',
        '   1: (b4) w1 = 7',
        '   2: (37) r1 s/= 3',
        '   3: (84) w2 = -w2',
        '   4: (bf) r1 = (s32)r2',
        '   5: (dc) r1 = be16 r1',
        '   6: (d7) r1 = bswap64 r1',
        '   7: (56) if w1 != 0xfffffffa goto pc+2',
        '   8: (05) goto pc-3',
        '   9: (95) exit',
        '',
      ].join('\n'),
    );
  });

  it('prints LD imm64 operands as bpftool does and skips the second slot index', () => {
    expect(xlated(LdImm64.value(R1, -1n), LdImm64.mapFd(R1, 5), LdImm64.mapValue(R2, 5, 16), LdImm64.mapIdxValue(R2, 0, 8), LdImm64.func(R1, 3), Exit())).toBe(
      [
        '   0: (18) r1 = 0xffffffffffffffff',
        '   2: (18) r1 = map[id:5]',
        '   4: (18) r2 = map[id:5][0]+16',
        '   6: (18) r2 = map[idx:0]+8',
        '   8: (18) r1 = subprog[+3]',
        '  10: (95) exit',
        '',
      ].join('\n'),
    );
  });

  it('names helpers, local calls, kfuncs and the rest of the control flow', () => {
    expect(xlated(Call.helper(1), Call.helper(5000), Call.local(4), Call.kfunc(1234), Call.reg(R2), Gotol(-1), MayGoto(2), Exit())).toBe(
      [
        '   0: (85) call bpf_map_lookup_elem#1',
        '   1: (85) call unknown#5000',
        '   2: (85) call pc+4',
        '   3: (85) call kernel-function#1234',
        '   4: (8d) call bpf_unspec#0',
        '   5: (06) gotol pc-1',
        '   6: (e5) may_goto pc+2',
        '   7: (95) exit',
        '',
      ].join('\n'),
    );
  });

  it('prints packet loads and every atomic shape', () => {
    expect(
      xlated(
        LdAbs.h(12),
        LdInd.b(R2, 3),
        Atomic.fetchAdd('dw', R1, -8, R2),
        Atomic.xor('w', R1, 0, R2),
        Atomic.xchg('w', R1, 4, R2),
        Atomic.cmpxchg('dw', R1, 0, R2),
        Exit(),
      ),
    ).toBe(
      [
        '   0: (28) r0 = *(u16 *)skb[12]',
        '   1: (50) r0 = *(u8 *)skb[r2 + 3]',
        '   2: (db) r2 = atomic64_fetch_add((u64 *)(r1 -8), r2)',
        '   3: (c3) lock *(u32 *)(r1 +0) ^= r2',
        '   4: (c3) r2 = atomic_xchg((u32 *)(r1 +4), r2)',
        '   5: (db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)',
        '   6: (95) exit',
        '',
      ].join('\n'),
    );
  });
});

describe('helper names', () => {
  it('follow enum bpf_func_id up to __BPF_FUNC_MAX_ID (212)', () => {
    expect(BPF_FUNC_MAX_ID).toBe(212);
    expect(BPF_HELPER_NAMES[0]).toBe('unspec');
    expect(helperName(1)).toBe('bpf_map_lookup_elem');
    expect(helperName(12)).toBe('bpf_tail_call');
    expect(helperName(130)).toBe('bpf_ringbuf_output');
    expect(helperName(211)).toBe('bpf_cgrp_storage_delete');
    expect(helperName(212)).toBeUndefined();
    expect(helperName(-1)).toBeUndefined();
    expect(helperId('bpf_ktime_get_ns')).toBe(5);
    expect(helperId('trace_printk')).toBe(6);
    expect(new Set(BPF_HELPER_NAMES).size).toBe(BPF_HELPER_NAMES.length);
  });
});

describe('formatXlated with names', () => {
  it('lets the caller name a map operand and keeps the default for other LD imm64 sources', () => {
    const names = { mapOperand: (insn: { imm: number }) => `map[m${insn.imm}]` };
    const [mapLoad] = decodeProgram(encodeProgram(program(LdImm64.mapFd(R1, 3))));
    const [plain] = decodeProgram(encodeProgram(program(LdImm64.value(R1, 7))));
    expect(formatXlated(mapLoad!, mapLoad!.form, names)).toBe('(18) r1 = map[m3]');
    expect(formatXlated(mapLoad!, mapLoad!.form)).toBe('(18) r1 = map[id:3]');
    expect(formatXlated(plain!, plain!.form, names)).toBe('(18) r1 = 0x7');
  });
});
