import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assembleConformance } from './asm-conformance.js';
import { assembleLlvm } from './asm-llvm.js';
import { arbitraryInsn } from './arbitrary.js';
import { decodeProgram } from './decode.js';
import { encodeProgram } from './encode.js';
import type { RawInsn } from './instruction.js';
import { IsaError } from './errors.js';
import { listingLines } from './objdump.js';
import { formatConformance } from './print-conformance.js';
import { formatXlated } from './print-xlated.js';
import { formatLlvm, llvmTextReading } from './print-llvm.js';

const fields = (i: RawInsn) => ({ code: i.code, dst: i.dst, src: i.src, off: i.off, imm: i.imm, ...(i.imm2 === undefined ? {} : { imm2: i.imm2 }) });
const RUNS = { numRuns: 3000 };

describe('random valid instructions (generated from OPCODE_TABLE)', () => {
  it('decode(encode(i)) == i in both byte orders', () => {
    fc.assert(
      fc.property(arbitraryInsn, ({ form, insn }) => {
        for (const endian of ['little', 'big'] as const) {
          const [decoded] = decodeProgram(encodeProgram([insn], endian), { endian });
          expect(decoded?.form).toBe(form);
          expect(fields(decoded!)).toEqual(fields(insn));
        }
      }),
      RUNS,
    );
  });

  it('LLVM text: asm(disasm(i)) == i, except the fields LLVM never prints (llvmTextReading)', () => {
    fc.assert(
      fc.property(arbitraryInsn, ({ form, insn }) => {
        for (const dialect of ['alu32', 'generic'] as const) {
          const text = formatLlvm(insn, form, dialect);
          const expected = llvmTextReading(insn, form, dialect);
          if (text === null) {
            expect(expected).toBeNull();
            continue;
          }
          expect(assembleLlvm(text).map(fields)).toEqual([fields(expected!)]);
        }
      }),
      RUNS,
    );
  });

  it('LLVM text is lossless outside the documented cases', () => {
    fc.assert(
      fc.property(arbitraryInsn, ({ form, insn }) => {
        const lossy = form.kind === 'call' || form.kind === 'ld_ind' || (form.kind === 'ld_imm64' && insn.src !== 0);
        if (!lossy) expect(llvmTextReading(insn, form, 'alu32')).toEqual(insn);
      }),
      RUNS,
    );
  });

  it('conformance text: asm(disasm(i)) == i wherever the syntax can express i', () => {
    let expressed = 0;
    fc.assert(
      fc.property(arbitraryInsn, ({ form, insn }) => {
        const text = formatConformance(insn, form);
        if (text === null) return;
        expressed++;
        expect(assembleConformance(text).map(fields)).toEqual([fields(insn)]);
      }),
      RUNS,
    );
    expect(expressed).toBeGreaterThan(RUNS.numRuns / 2);
  });
});

describe('random bytes', () => {
  it('decodeProgram either decodes or throws IsaError; the objdump walk never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.constantFrom('little' as const, 'big' as const), (bytes, endian) => {
        try {
          decodeProgram(bytes, { endian });
        } catch (error) {
          expect(error).toBeInstanceOf(IsaError);
        }
        const lines = listingLines(bytes, endian);
        expect(lines.reduce((n, l) => n + l.bytes.length, 0)).toBe(bytes.length);
        for (const l of lines) if (l.insn) expect(formatXlated(l.insn, l.insn.form)).toMatch(/^\(/);
      }),
      RUNS,
    );
  });
});
