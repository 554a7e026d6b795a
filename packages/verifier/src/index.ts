export { verify, toSlots, INSN_LIMIT } from './verifier.js';
export type { VerifyOptions, VerifyResult, VerifyStats, VerifyError } from './verifier.js';
export type { ArgType, CtxField, CtxFieldKind, CtxLayout, HelperProto, MapDesc, ProgramTypeDesc, RetType, VerifierRegistry } from './registry.js';
export type { CtxAccessFact } from './facts.js';
export { HINTS } from './hints.js';
export type { HintKey } from './reject.js';
