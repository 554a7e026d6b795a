import { IsaError } from './errors.js';
import type { RawInsn } from './instruction.js';
import { MAX_REG, formsForOpcode, isKnownOpcode, lookupForm, type FieldUse, type OpcodeForm } from './opcodes.js';

type FieldName = 'dst' | 'src' | 'off' | 'imm';

function checkField(name: FieldName, use: FieldUse, value: number, slot: number): void {
  switch (use) {
    case 'zero':
      if (value !== 0) {
        throw new IsaError('reserved field is not zero', { slot, field: name, value }, 'this form of the opcode does not use the field; it must be 0');
      }
      return;
    case 'reg':
      if (value > MAX_REG) {
        throw new IsaError('invalid register', { slot, field: name, value: `r${value}` }, 'registers are r0..r10');
      }
      return;
    default:
      return;
  }
}

/**
 * The validity check: resolve an instruction's form from the opcode table and check every field the form
 * reserves. Throws an {@link IsaError} naming the slot and the field.
 */
export function validateInsn(raw: RawInsn, slot: number): OpcodeForm {
  if (!isKnownOpcode(raw.code)) {
    throw new IsaError('invalid opcode', { slot, field: 'opcode', value: raw.code }, 'no eBPF instruction uses this opcode byte');
  }
  const form = lookupForm(raw.code, raw.src, raw.off, raw.imm);
  if (form === null) {
    // The opcode exists but its discriminant field holds a value no form accepts.
    const d = lookupDiscriminantField(raw.code);
    const value = d === 'off' ? raw.off : d === 'imm' ? raw.imm : raw.src;
    throw new IsaError(`invalid ${d} for opcode 0x${raw.code.toString(16).padStart(2, '0')}`, { slot, field: d, value }, hintForDiscriminant(raw.code, d));
  }
  checkField('dst', form.fields.dst, raw.dst, slot);
  checkField('src', form.fields.src, raw.src, slot);
  checkField('off', form.fields.off, raw.off, slot);
  checkField('imm', form.fields.imm, raw.imm, slot);
  return form;
}

function lookupDiscriminantField(code: number): 'off' | 'imm' | 'src' {
  // Every opcode byte whose forms carry a discriminant uses the same field for all of them.
  return formsForOpcode(code)[0]?.discriminant?.field ?? 'off';
}

function hintForDiscriminant(code: number, field: 'off' | 'imm' | 'src'): string {
  if (code === 0x18) return 'LD imm64 source must be a BPF_PSEUDO_* value 0..6';
  if (code === 0x85) return 'call source must be 0 (helper), 1 (local function) or 2 (kfunc)';
  if (field === 'imm' && (code === 0xc3 || code === 0xdb)) return 'atomic immediate must be add, and, or, xor (optionally | BPF_FETCH), xchg or cmpxchg';
  if (field === 'imm') return 'byte swap width must be 16, 32 or 64';
  return 'offset selects the signed (1) or sign-extending (8/16/32) variant; other values are reserved';
}

/** Check that the second slot of an LD imm64 is all zero but its immediate. */
export function validateImm64Tail(code: number, dst: number, src: number, off: number, slot: number): void {
  const checks: Array<[string, number]> = [
    ['opcode', code],
    ['dst', dst],
    ['src', src],
    ['off', off],
  ];
  for (const [field, value] of checks) {
    if (value !== 0) {
      throw new IsaError(
        'invalid second slot of LD imm64',
        { slot, field, value },
        'the second 8-byte slot of lddw must be zero except its imm (the upper 32 bits)',
      );
    }
  }
}
