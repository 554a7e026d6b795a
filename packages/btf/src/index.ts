export { parseBtf, BtfError } from './reader.js';
export type { Btf, BtfErrnoName, BtfEnumValue, BtfHeader, BtfMember, BtfParam, BtfRules, BtfType, BtfVarSecinfo, ParseBtfOptions } from './reader.js';
export { dumpBtfRaw, dumpBtfRawJson, dumpBtfTypeRaw } from './dump-raw.js';
export { BtfDumpError, btfAlignOf, btfPointerSize, dumpBtfC } from './dump-c.js';
export { BtfJsonWriter, BtfValueError, formatBtfMapDump, formatBtfMapEntry, formatBtfValue, writeBtfValue } from './format-value.js';
export type { BtfMapEntry, BtfMapInfo, BtfValueForm } from './format-value.js';
export { readBtfExt } from './ext.js';
export { btfTypeOnly } from './signature.js';
export type { BtfExt, BtfExtCoreRelo, BtfExtFuncInfo, BtfExtHeader, BtfExtLineInfo, BtfExtSection } from './ext.js';
export { writeBtf, BtfBuilder, BtfWriteError } from './writer.js';
export type { BtfTypeInput } from './writer.js';
export {
  BTF_HEADER_SIZE,
  BtfCoreReloKind,
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
