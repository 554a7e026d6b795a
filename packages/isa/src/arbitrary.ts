import fc from 'fast-check';
import type { RawInsn } from './instruction.js';
import { MAX_REG, OPCODE_TABLE, type FieldUse, type OpcodeForm } from './opcodes.js';

const int16 = fc.integer({ min: -32768, max: 32767 });
const int32 = fc.integer({ min: -2147483648, max: 2147483647 });

function field(name: 'dst' | 'src' | 'off' | 'imm', use: FieldUse, form: OpcodeForm): fc.Arbitrary<number> {
  switch (use) {
    case 'zero':
      return fc.constant(0);
    case 'reg':
      return fc.integer({ min: 0, max: MAX_REG });
    case 'fixed':
      return fc.constant(form.discriminant?.field === name ? form.discriminant.value : 0);
    case 'mem':
    case 'jump':
      return name === 'off' ? int16 : int32;
    case 'imm':
    case 'any':
      return name === 'off' ? int16 : int32;
  }
}

/** A random valid instruction of `form`: every field the form uses takes any legal value. */
export function arbitraryInsnOf(form: OpcodeForm): fc.Arbitrary<RawInsn> {
  return fc
    .record({
      dst: field('dst', form.fields.dst, form),
      src: field('src', form.fields.src, form),
      off: field('off', form.fields.off, form),
      imm: field('imm', form.fields.imm, form),
      imm2: form.wide ? int32 : fc.constant(undefined),
    })
    .map(({ imm2, ...rest }) => (imm2 === undefined ? { code: form.opcode, ...rest } : { code: form.opcode, ...rest, imm2 }));
}

/** A random valid instruction of any form in the opcode table, with its form. */
export const arbitraryInsn: fc.Arbitrary<{ form: OpcodeForm; insn: RawInsn }> = fc
  .constantFrom(...OPCODE_TABLE)
  .chain((form) => arbitraryInsnOf(form).map((insn) => ({ form, insn })));
