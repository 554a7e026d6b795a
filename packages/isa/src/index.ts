export {
  AluOp,
  AtomicOp,
  ATOMIC_OP_NAMES,
  Class,
  JmpOp,
  MAX_REG,
  Mode,
  OPCODE_TABLE,
  PSEUDO_LD_NAMES,
  PseudoCall,
  PseudoLd,
  SIZE_BYTES,
  STACK_FRAME_SIZE,
  Size,
  Source,
  className,
  formById,
  formsForOpcode,
  isKnownOpcode,
  lookupForm,
  opClass,
  sizeCodeForWidth,
} from './opcodes.js';
export type { FieldUse, InsnClassName, InsnKind, OpcodeForm } from './opcodes.js';
export type { Endian, Insn, RawInsn } from './instruction.js';
export { imm64Of, slotCount, splitImm64 } from './instruction.js';
export { AsmError, IsaError } from './errors.js';
export { SLOT_SIZE, decodeInsn, decodeProgram, readSlot } from './decode.js';
export type { DecodeOptions } from './decode.js';
export { encodeProgram, fromHex, programSlots, toHex } from './encode.js';
export { validateInsn } from './validate.js';
export { sampleInsn } from './sample.js';
export { BPF_FUNC_MAX_ID, BPF_HELPER_NAMES, helperId, helperName } from './helper-names.js';
export { LLVM_PRINTERS, formatLlvm, jumpOffset, llvmTextReading } from './print-llvm.js';
export type { LlvmDialect } from './print-llvm.js';
export { XLATED_PRINTERS, formatXlated, formatXlatedProgram } from './print-xlated.js';
export type { XlatedNames } from './print-xlated.js';
export { formatObjdump, formatObjdumpSection, listingLines } from './objdump.js';
export type { ListingLine, ObjdumpInput, ObjdumpOptions, ObjdumpSection, ObjdumpSymbol } from './objdump.js';
export * as asm from './builder.js';
export { assembleLlvm, assembleLlvmSections } from './asm-llvm.js';
export type { AssembledSection } from './asm-llvm.js';
export { assembleConformance } from './asm-conformance.js';
export { parseConformanceData, rawProgramBytes } from './conformance-data.js';
export type { ConformanceData } from './conformance-data.js';
export { CONFORMANCE_PRINTERS, formatConformance } from './print-conformance.js';
