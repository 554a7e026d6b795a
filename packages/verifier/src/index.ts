export { verify, toSlots, INSN_LIMIT } from './verifier.js';
export type { SubprogLinkage, VerifyOptions, VerifyResult, VerifyStats, VerifyError } from './verifier.js';
export { convertCtxAccesses, CtxRewriteError } from './ctx-rewrite.js';
export type { XlatedProgram } from './ctx-rewrite.js';
export { BPF_REG_AX, fixupDivisions, inlineLoops, insertNospec, NOSPEC, patchProgram, removeDeadCode, sanitizeAluInsns } from './fixups.js';
export type { DeadCodeOptions, InsnPatch } from './fixups.js';
export { KF } from './registry.js';
export type { KfuncArg, KfuncLookup, KfuncProto, KfuncRet } from './registry.js';
export type {
  ArgType,
  BtfAccess,
  BtfSafeField,
  KsymDesc,
  CallbackKind,
  CtxConvert,
  CtxConvertInsn,
  CtxConvertSize,
  CtxConvertStore,
  CtxField,
  CtxFieldKind,
  CtxLayout,
  HelperProto,
  KernelBtfView,
  MapDesc,
  ProgramTypeDesc,
  RetType,
  VerifierRegistry,
  SocketLayouts,
} from './registry.js';
export type { CtxAccessFact } from './facts.js';
export type { AluSanitizeFact } from './facts.js';
export { HINTS } from './hints.js';
export type { KernelTypeMatch, ParamTypeView, ParamView, SubprogBtfView } from './global-func.js';
export type { LineInfoView } from './line-info.js';
export type { HintKey } from './reject.js';
