import type { RawInsn } from './instruction.js';
import type { FieldUse, OpcodeForm } from './opcodes.js';

/** Example values for each field use; chosen so every printed operand is visibly distinct. */
const SAMPLE = { dst: 1, src: 2, mem: -8, jump: 1, imm: 7, any: 1 } as const;

function sampleField(name: 'dst' | 'src' | 'off' | 'imm', use: FieldUse, form: OpcodeForm): number {
  switch (use) {
    case 'zero':
      return 0;
    case 'reg':
      return name === 'dst' ? SAMPLE.dst : SAMPLE.src;
    case 'fixed':
      return form.discriminant?.field === name ? form.discriminant.value : 0;
    case 'mem':
      return SAMPLE.mem;
    case 'jump':
      return SAMPLE.jump;
    case 'imm':
      return SAMPLE.imm;
    case 'any':
      return SAMPLE.any;
  }
}

/**
 * The canonical instance of a form: every field it uses holds a typical value, every reserved field is zero.
 * Tests use it to prove that each form is encodable, decodable, valid and printable.
 */
export function sampleInsn(form: OpcodeForm): RawInsn {
  const insn: RawInsn = {
    code: form.opcode,
    dst: sampleField('dst', form.fields.dst, form),
    src: sampleField('src', form.fields.src, form),
    off: sampleField('off', form.fields.off, form),
    imm: sampleField('imm', form.fields.imm, form),
  };
  return form.wide ? { ...insn, imm2: 0 } : insn;
}
