export { parseBtf, BtfError } from './reader.js';
export type { Btf, BtfErrnoName, BtfEnumValue, BtfHeader, BtfMember, BtfParam, BtfType, BtfVarSecinfo } from './reader.js';
export { writeBtf, BtfBuilder, BtfWriteError } from './writer.js';
export type { BtfTypeInput } from './writer.js';
export {
  BTF_HEADER_SIZE,
  BTF_KIND_NAMES,
  BTF_MAGIC,
  BTF_MAX_NAME_OFFSET,
  BTF_MAX_SIZE,
  BTF_MAX_TYPE,
  BTF_VERSION,
  BtfFuncLinkage,
  BtfIntEncoding,
  BtfKind,
  BtfVarLinkage,
} from './constants.js';
