export { verify, toSlots, INSN_LIMIT } from './verifier.js';
export type { VerifyOptions, VerifyResult, VerifyStats, VerifyError } from './verifier.js';
export { convertCtxAccesses, CtxRewriteError } from './ctx-rewrite.js';
export type { XlatedProgram } from './ctx-rewrite.js';
export { BPF_REG_AX, fixupDivisions, patchProgram, removeDeadCode } from './fixups.js';
export type { DeadCodeOptions, InsnPatch } from './fixups.js';
export type {
  ArgType,
  CtxConvert,
  CtxConvertInsn,
  CtxConvertSize,
  CtxConvertStore,
  CtxField,
  CtxFieldKind,
  CtxLayout,
  HelperProto,
  MapDesc,
  ProgramTypeDesc,
  ProgramTypeVariant,
  RetType,
  VerifierRegistry,
} from './registry.js';
export type { CtxAccessFact } from './facts.js';
export { HINTS } from './hints.js';
export type { HintKey } from './reject.js';
