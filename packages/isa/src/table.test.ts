/**
 * The opcode table drives everything: every form must be encodable, decodable, valid with its canonical
 * fields and printable by every printer table without falling back to an unknown case.
 */
import { describe, expect, it } from 'vitest';
import { decodeProgram } from './decode.js';
import { encodeProgram } from './encode.js';
import { OPCODE_TABLE } from './opcodes.js';
import { CONFORMANCE_PRINTERS, formatConformance } from './print-conformance.js';
import { LLVM_PRINTERS, formatLlvm } from './print-llvm.js';
import { XLATED_PRINTERS, formatXlated } from './print-xlated.js';
import { sampleInsn } from './sample.js';
import { validateInsn } from './validate.js';

const KINDS = [...new Set(OPCODE_TABLE.map((f) => f.kind))];
const fields = (i: { code: number; dst: number; src: number; off: number; imm: number; imm2?: number }) => ({
  code: i.code,
  dst: i.dst,
  src: i.src,
  off: i.off,
  imm: i.imm,
  imm2: i.imm2,
});

describe('every printer table covers every instruction kind of the opcode table', () => {
  it.each([
    ['llvm', LLVM_PRINTERS],
    ['xlated', XLATED_PRINTERS],
    ['conformance', CONFORMANCE_PRINTERS],
  ] as const)('%s', (_name, table) => {
    expect(Object.keys(table).sort()).toEqual([...KINDS].sort());
    for (const kind of KINDS) expect(typeof table[kind]).toBe('function');
  });
});

describe.each(OPCODE_TABLE.map((f) => [f.id, f] as const))('form %s', (_id, form) => {
  const insn = sampleInsn(form);

  it('is accepted by the validity check with its canonical fields', () => {
    expect(validateInsn(insn, 0)).toBe(form);
  });

  it('round-trips through the encoder and decoder in both byte orders', () => {
    for (const endian of ['little', 'big'] as const) {
      const [decoded, ...rest] = decodeProgram(encodeProgram([insn], endian), { endian });
      expect(rest).toEqual([]);
      expect(decoded?.form).toBe(form);
      expect(fields(decoded!)).toEqual(fields(insn));
    }
  });

  it('has LLVM text (alu32 dialect) and kernel xlated text', () => {
    const llvm = formatLlvm(insn, form, 'alu32');
    expect(llvm).toBeTruthy();
    expect(llvm).not.toMatch(/unknown|\?/);
    const xlated = formatXlated(insn, form);
    expect(xlated).toMatch(/^\([0-9a-f]{2}\) \S/);
    expect(xlated).not.toMatch(/unknown|BUG|\?/);
  });

  it('has conformance text unless that syntax cannot express the form', () => {
    const text = formatConformance(insn, form);
    const inexpressible =
      ['jcond', 'ld_abs', 'ld_ind'].includes(form.kind) || (form.kind === 'ld_imm64' && insn.src !== 0) || (form.id === 'call.kfunc' && insn.off !== 0);
    if (inexpressible) expect(text).toBeNull();
    else expect(text).toMatch(/^[a-z]/);
  });
});
