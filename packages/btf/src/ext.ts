/**
 * readBtfExt: the `.BTF.ext` section clang writes beside `.BTF` (libbpf's btf_ext__new and btf_ext_parse_info):
 * func_info, line_info and CO-RE relocation records, by the code section they describe. Both byte orders are
 * read (the magic tells which), as libbpf does since it learned to swap BTF.ext.
 */
import {
  BTF_MAGIC,
  BtfCoreReloKind,
  BTF_EXT_CORE_RELO_MIN_SIZE,
  BTF_EXT_FUNC_INFO_MIN_SIZE,
  BTF_EXT_HEADER_MIN_SIZE,
  BTF_EXT_LINE_INFO_MIN_SIZE,
} from './constants.js';
import { BtfError } from './reader.js';

/** struct btf_ext_header. The three info sections' offsets count from the end of the header (hdr_len). */
export interface BtfExtHeader {
  readonly magic: number;
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly funcInfoOff: number;
  readonly funcInfoLen: number;
  readonly lineInfoOff: number;
  readonly lineInfoLen: number;
  /** 0 and 0 for a header without the optional CO-RE part. */
  readonly coreReloOff: number;
  readonly coreReloLen: number;
}

/** struct bpf_func_info as the object holds it: `insnOff` is a byte offset in the code section. */
export interface BtfExtFuncInfo {
  readonly insnOff: number;
  readonly typeId: number;
}

/** struct bpf_line_info; `line` and `column` are unpacked from line_col (BPF_LINE_INFO_LINE_NUM / _LINE_COL). */
export interface BtfExtLineInfo {
  readonly insnOff: number;
  /** file_name_off and line_off: offsets in the BTF string section (what BPF_PROG_LOAD's line_info passes on). */
  readonly fileNameOff: number;
  readonly lineOff: number;
  readonly fileName: string;
  readonly line: string;
  readonly lineNumber: number;
  readonly column: number;
}

/** struct bpf_core_relo: what instruction `insnOff` (bytes) reads of local type `typeId` along `accessString` ("0:1:2"). */
export interface BtfExtCoreRelo {
  readonly insnOff: number;
  readonly typeId: number;
  readonly accessString: string;
  readonly kind: BtfCoreReloKind;
}

/** The records of one code section (struct btf_ext_info_sec). */
export interface BtfExtSection<T> {
  readonly section: string;
  readonly records: readonly T[];
}

export interface BtfExt {
  readonly header: BtfExtHeader;
  readonly endian: 'little' | 'big';
  readonly funcInfo: readonly BtfExtSection<BtfExtFuncInfo>[];
  readonly lineInfo: readonly BtfExtSection<BtfExtLineInfo>[];
  readonly coreRelos: readonly BtfExtSection<BtfExtCoreRelo>[];
}

/** BPF_LINE_INFO_LINE_NUM(line_col) is line_col >> 10; BPF_LINE_INFO_LINE_COL is the low 10 bits. */
const LINE_COL_SHIFT = 10;
const LINE_COL_MASK = 0x3ff;

function refuse(detail: string, offset: number): never {
  throw new BtfError('EINVAL', `.BTF.ext: ${detail}`, offset, undefined, '');
}

interface InfoKind<T> {
  readonly what: string;
  readonly minRecordSize: number;
  read(at: number): T;
}

/**
 * Parse a `.BTF.ext` blob. `strings` is the string section of the `.BTF` beside it (section names, file names,
 * source lines and access strings point into it). Throws a {@link BtfError} naming the byte offset for a blob
 * libbpf's btf_ext__new would refuse: bad magic or version, a header or info section outside the blob, a record
 * size below the kernel's struct, a section without records or running past its info section, a name offset
 * outside the strings.
 */
export function readBtfExt(bytes: Uint8Array, strings: Uint8Array): BtfExt {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < BTF_EXT_HEADER_MIN_SIZE) refuse(`header of ${BTF_EXT_HEADER_MIN_SIZE} bytes not found in ${bytes.length} bytes`, 0);
  const little = view.getUint16(0, true) === BTF_MAGIC;
  if (!little && view.getUint16(0, false) !== BTF_MAGIC) refuse(`invalid magic 0x${view.getUint16(0, true).toString(16)}`, 0);
  const u32 = (at: number, what: string): number => {
    if (at < 0 || at + 4 > bytes.length) refuse(`${what} beyond the end of the section (${bytes.length} bytes)`, at);
    return view.getUint32(at, little);
  };
  const name = (off: number, at: number, what: string): string => {
    if (off >= strings.length) refuse(`${what} name offset ${off} outside the BTF strings (${strings.length} bytes)`, at);
    let end = off;
    while (end < strings.length && strings[end] !== 0) end++;
    let s = '';
    for (let i = off; i < end; i++) s += String.fromCharCode(strings[i] ?? 0);
    return s;
  };

  const hdrLen = u32(4, 'hdr_len');
  const version = bytes[2] ?? 0;
  if (version !== 1) refuse(`unsupported version ${version}`, 2);
  if ((bytes[3] ?? 0) !== 0) refuse(`unsupported flags 0x${(bytes[3] ?? 0).toString(16)}`, 3);
  if (hdrLen < BTF_EXT_HEADER_MIN_SIZE || hdrLen > bytes.length) refuse(`hdr_len ${hdrLen} outside [${BTF_EXT_HEADER_MIN_SIZE}, ${bytes.length}]`, 4);
  const field = (at: number, what: string): number => (at + 4 <= hdrLen ? u32(at, what) : 0);
  const header: BtfExtHeader = {
    magic: BTF_MAGIC,
    version,
    flags: 0,
    hdrLen,
    funcInfoOff: field(8, 'func_info_off'),
    funcInfoLen: field(12, 'func_info_len'),
    lineInfoOff: field(16, 'line_info_off'),
    lineInfoLen: field(20, 'line_info_len'),
    coreReloOff: field(24, 'core_relo_off'),
    coreReloLen: field(28, 'core_relo_len'),
  };

  /** btf_ext_parse_info: a record size, then sections of (sec_name_off, num_info, records). */
  const parseInfo = <T>(off: number, len: number, headerAt: number, kind: InfoKind<T>): BtfExtSection<T>[] => {
    if (len === 0) return [];
    const start = hdrLen + off;
    const end = start + len;
    if ((off & 3) !== 0) refuse(`${kind.what} section offset ${off} is not 4-byte aligned`, headerAt);
    if (end > bytes.length || end < start)
      refuse(`${kind.what} section (off:${off} len:${len}) beyond the end of the section (${bytes.length} bytes)`, headerAt);
    const recordSize = u32(start, `${kind.what} record size`);
    if (recordSize < kind.minRecordSize || (recordSize & 3) !== 0) {
      refuse(`${kind.what} record size ${recordSize} is below ${kind.minRecordSize} or not a multiple of 4`, start);
    }
    const out: BtfExtSection<T>[] = [];
    for (let at = start + 4; at < end;) {
      if (at + 8 > end) refuse(`${kind.what} section header not found`, at);
      const section = name(u32(at, `${kind.what} sec_name_off`), at, `${kind.what} section`);
      const count = u32(at + 4, `${kind.what} num_info`);
      if (count === 0) refuse(`${kind.what} section '${section}' has no records`, at + 4);
      const recordsAt = at + 8;
      if (count > (end - recordsAt) / recordSize) refuse(`${kind.what} section '${section}' has ${count} records of ${recordSize} bytes, past the end`, at + 4);
      const records: T[] = [];
      for (let i = 0; i < count; i++) records.push(kind.read(recordsAt + i * recordSize));
      out.push({ section, records });
      at = recordsAt + count * recordSize;
    }
    return out;
  };

  const funcInfo = parseInfo<BtfExtFuncInfo>(header.funcInfoOff, header.funcInfoLen, 8, {
    what: 'func_info',
    minRecordSize: BTF_EXT_FUNC_INFO_MIN_SIZE,
    read: (at) => ({ insnOff: u32(at, 'insn_off'), typeId: u32(at + 4, 'type_id') }),
  });
  const lineInfo = parseInfo<BtfExtLineInfo>(header.lineInfoOff, header.lineInfoLen, 16, {
    what: 'line_info',
    minRecordSize: BTF_EXT_LINE_INFO_MIN_SIZE,
    read: (at) => {
      const lineCol = u32(at + 12, 'line_col');
      const fileNameOff = u32(at + 4, 'file_name_off');
      const lineOff = u32(at + 8, 'line_off');
      return {
        insnOff: u32(at, 'insn_off'),
        fileNameOff,
        lineOff,
        fileName: name(fileNameOff, at + 4, 'line_info file'),
        line: name(lineOff, at + 8, 'line_info line'),
        lineNumber: lineCol >>> LINE_COL_SHIFT,
        column: lineCol & LINE_COL_MASK,
      };
    },
  });
  const coreRelos = parseInfo<BtfExtCoreRelo>(header.coreReloOff, header.coreReloLen, 24, {
    what: 'core_relo',
    minRecordSize: BTF_EXT_CORE_RELO_MIN_SIZE,
    read: (at) => {
      const kind = u32(at + 12, 'kind');
      if (!isCoreReloKind(kind)) refuse(`unknown CO-RE relocation kind ${kind}`, at + 12);
      return {
        insnOff: u32(at, 'insn_off'),
        typeId: u32(at + 4, 'type_id'),
        accessString: name(u32(at + 8, 'access_str_off'), at + 8, 'core_relo access'),
        kind,
      };
    },
  });
  return { header, endian: little ? 'little' : 'big', funcInfo, lineInfo, coreRelos };
}

const CORE_RELO_KINDS: ReadonlySet<number> = new Set(Object.values(BtfCoreReloKind));
function isCoreReloKind(kind: number): kind is BtfCoreReloKind {
  return CORE_RELO_KINDS.has(kind);
}
