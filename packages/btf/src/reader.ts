/**
 * parseBtf: a BTF blob read and validated as Linux 6.x's btf_parse does it (kernel/bpf/btf.c): btf_parse_hdr and
 * btf_check_sec_info, btf_parse_str_sec, btf_check_all_metas (each kind's check_meta) and btf_check_all_types
 * (the resolve pass: referenced ids exist and have the kinds and sizes their users need). The log lines are the
 * ones Linux writes to btf_log_buf, so a caller can hand them to user space as BPF_BTF_LOAD does.
 */
import {
  BTF_HEADER_HDR_LEN_END,
  BTF_HEADER_SIZE,
  BTF_INFO_MASK,
  BTF_INT_MASK,
  BTF_KIND_MAX,
  BTF_KIND_NAMES,
  BTF_MAGIC,
  BTF_MAX_NAME_OFFSET,
  BTF_MAX_TYPE,
  BTF_TYPE_SIZE,
  BTF_VERSION,
  BtfFuncLinkage,
  BtfIntEncoding,
  BtfKind,
  BtfVarLinkage,
  KSYM_NAME_LEN,
} from './constants.js';

/** The errno names btf_parse answers with (the caller maps them to numbers: this package has no uapi). */
/** (EEXIST for a loop of types and ENOTSUPP for an unknown INT encoding are what Linux 6.18 answers: see fixtures/linux-results.txt.) */
export type BtfErrnoName = 'EINVAL' | 'E2BIG' | 'ENOTSUPP' | 'EEXIST';

/** A blob Linux refuses: the errno, the log line Linux writes last, where (byte offset, and the type id when a type is at fault). */
export class BtfError extends Error {
  constructor(
    readonly errno: BtfErrnoName,
    readonly detail: string,
    readonly offset: number,
    readonly typeId: number | undefined,
    readonly log: string,
  ) {
    super(`bad BTF at byte offset ${offset}${typeId === undefined ? '' : ` (type [${typeId}])`}: ${detail}`);
    this.name = 'BtfError';
  }
}

export interface BtfHeader {
  readonly magic: number;
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly typeOff: number;
  readonly typeLen: number;
  readonly strOff: number;
  readonly strLen: number;
}

export interface BtfMember {
  readonly name: string;
  readonly type: number;
  /** Bit offset from the start of the struct (with kind_flag, the low 24 bits of the offset word). */
  readonly bitOffset: number;
  /** With kind_flag, the bitfield size (the high 8 bits of the offset word); 0 otherwise. */
  readonly bitfieldSize: number;
}

export interface BtfEnumValue {
  readonly name: string;
  readonly value: bigint;
}

export interface BtfParam {
  readonly name: string;
  readonly type: number;
}

export interface BtfVarSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

/** One type record. Fields a kind does not have are 0 or empty. */
export interface BtfType {
  readonly id: number;
  readonly kind: BtfKind;
  readonly name: string;
  readonly nameOff: number;
  readonly vlen: number;
  readonly kindFlag: boolean;
  /** The size/type word: the size for INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT; the referenced type id otherwise. */
  readonly sizeOrType: number;
  /** INT: BTF_INT_ENCODING, BTF_INT_OFFSET, BTF_INT_BITS. */
  readonly intEncoding: number;
  readonly intOffset: number;
  readonly intBits: number;
  /** ARRAY: struct btf_array. */
  readonly arrayType: number;
  readonly arrayIndexType: number;
  readonly arrayNelems: number;
  readonly members: readonly BtfMember[];
  readonly enumValues: readonly BtfEnumValue[];
  readonly params: readonly BtfParam[];
  /** FUNC: the vlen (enum btf_func_linkage); VAR: btf_var.linkage. */
  readonly linkage: number;
  readonly secinfo: readonly BtfVarSecinfo[];
  /** DECL_TAG: btf_decl_tag.component_idx. */
  readonly componentIdx: number;
}

export interface Btf {
  readonly header: BtfHeader;
  /** types[0] is void; types[id] is type `id`. */
  readonly types: readonly BtfType[];
  readonly strings: Uint8Array;
  /** What Linux writes to btf_log_buf for this blob at log_level 1. */
  readonly log: string;
  /** The string at a (valid) name offset. */
  nameAt(offset: number): string;
  /** The resolved size of type `id` (modifiers and typedefs followed), or undefined for a type without one (void, FUNC, FWD, ...). */
  sizeOf(id: number): number | undefined;
  /** Type `id` with its modifiers and typedefs skipped (btf_type_skip_modifiers). */
  skipModifiers(id: number): BtfType | undefined;
}

const VOID: BtfType = {
  id: 0,
  kind: BtfKind.UNKN,
  name: '',
  nameOff: 0,
  vlen: 0,
  kindFlag: false,
  sizeOrType: 0,
  intEncoding: 0,
  intOffset: 0,
  intBits: 0,
  arrayType: 0,
  arrayIndexType: 0,
  arrayNelems: 0,
  members: [],
  enumValues: [],
  params: [],
  linkage: 0,
  secinfo: [],
  componentIdx: 0,
};

const U32_MAX = 0xffffffff;
const isModifierOrTypedef = (kind: number): boolean =>
  kind === BtfKind.TYPEDEF || kind === BtfKind.VOLATILE || kind === BtfKind.CONST || kind === BtfKind.RESTRICT || kind === BtfKind.TYPE_TAG;
/** btf_type_is_resolve_source_only: kinds nothing may refer to as a type. */
const isSourceOnly = (kind: number): boolean => kind === BtfKind.VAR || kind === BtfKind.DATASEC || kind === BtfKind.DECL_TAG;
const isSized = (kind: number): boolean =>
  kind === BtfKind.INT ||
  kind === BtfKind.STRUCT ||
  kind === BtfKind.UNION ||
  kind === BtfKind.ENUM ||
  kind === BtfKind.ENUM64 ||
  kind === BtfKind.DATASEC ||
  kind === BtfKind.FLOAT;
/**
 * __btf_name_char_ok since Linux 6.5: letters, `_` and `.` anywhere, digits after the first character. The dot
 * lets clang's names of function-local statics through (`xdp_sampler.____fmt`, bpf_printk's format string).
 */
const isIdentStart = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2e;
const isIdentChar = (c: number): boolean => isIdentStart(c) || (c >= 0x30 && c <= 0x39);
const isPrint = (c: number): boolean => c >= 0x20 && c < 0x7f;
const hex = (n: number): string => n.toString(16);

/** Thrown inside the parser only, caught by parseBtf. */
class Refusal extends Error {
  constructor(
    readonly errno: BtfErrnoName,
    readonly detail: string,
    readonly offset: number,
    readonly typeId: number | undefined,
  ) {
    super(detail);
  }
}

class Parser {
  private readonly view: DataView;
  private readonly logLines: string[] = [];
  private strings: Uint8Array = new Uint8Array(0);
  readonly types: BtfType[] = [VOID];
  private readonly typeOffsets: number[] = [0];
  private header: BtfHeader | undefined;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly rules: BtfRules,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  log(line: string): void {
    this.logLines.push(line);
  }

  get logText(): string {
    return this.logLines.map((l) => `${l}\n`).join('');
  }

  refuse(detail: string, offset: number, typeId?: number, errno: BtfErrnoName = 'EINVAL'): never {
    throw new Refusal(errno, detail, offset, typeId);
  }

  /** A rule only the kernel enforces: refused under 'kernel' rules, let through under 'libbpf' rules. */
  kernelRule(detail: string, offset: number, typeId?: number, errno: BtfErrnoName = 'EINVAL'): void {
    if (this.rules === 'kernel') this.refuse(detail, offset, typeId, errno);
  }

  u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  /** __btf_name_by_offset: "(anon)" for 0, "(invalid-name-offset)" out of range. */
  nameAt(offset: number): string {
    if (offset === 0) return '(anon)';
    if (!this.nameOffsetValid(offset)) return '(invalid-name-offset)';
    return this.stringAt(offset);
  }

  /** Names repeat (member names, base types): each offset is decoded once. */
  private readonly stringCache = new Map<number, string>();

  stringAt(offset: number): string {
    const cached = this.stringCache.get(offset);
    if (cached !== undefined) return cached;
    let s = '';
    for (let i = offset; i < this.strings.length && this.strings[i] !== 0; i++) s += String.fromCharCode(this.strings[i] ?? 0);
    this.stringCache.set(offset, s);
    return s;
  }

  /** btf_name_offset_valid. */
  nameOffsetValid(offset: number): boolean {
    return offset <= BTF_MAX_NAME_OFFSET && offset < this.strings.length;
  }

  /** __btf_name_valid with the given character rules, up to KSYM_NAME_LEN. */
  private nameValid(offset: number, first: (c: number) => boolean, rest: (c: number) => boolean): boolean {
    if (!this.nameOffsetValid(offset)) return false;
    const s = this.strings;
    const c0 = s[offset] ?? 0;
    if (!first(c0)) return false;
    const limit = Math.min(s.length, offset + KSYM_NAME_LEN);
    let i = offset + 1;
    for (; i < limit && s[i] !== 0; i++) if (!rest(s[i] ?? 0)) return false;
    return s[i] === 0;
  }

  validIdentifier(offset: number): boolean {
    return this.nameValid(offset, isIdentStart, isIdentChar);
  }

  /** btf_name_valid_section (DATASEC names such as ".data", ".rodata.str1.1") and btf_name_valid_str (tags): printable, non-empty. */
  validPrintable(offset: number): boolean {
    return this.nameValid(offset, isPrint, isPrint);
  }

  parse(): Btf {
    this.parseHeader();
    this.parseStrings();
    this.checkAllMetas();
    if (this.rules === 'kernel') this.checkAllTypes();
    else this.checkReferences();
    const header = this.header as BtfHeader;
    const types = this.types;
    const sizeOf = (id: number): number | undefined => this.resolvedSize(id);
    const skipModifiers = (id: number): BtfType | undefined => this.skipModifiers(id);
    const nameAt = (offset: number): string => (this.nameOffsetValid(offset) ? this.stringAt(offset) : '');
    // The log of a large blob (vmlinux) runs to megabytes: joined only when asked for.
    const logText = (): string => this.logText;
    return {
      header,
      types,
      strings: this.strings,
      get log() {
        return logText();
      },
      nameAt,
      sizeOf,
      skipModifiers,
    };
  }

  /** btf_parse_hdr and btf_check_sec_info. */
  private parseHeader(): void {
    const size = this.bytes.length;
    if (size < BTF_HEADER_HDR_LEN_END) this.refuse('hdr_len not found', 0);
    const hdrLen = this.u32(4);
    if (size < hdrLen) this.refuse('btf_header not found', 4);
    // A longer header than we know is fine only if the extra bytes are zero (bpf_check_uarg_tail_zero).
    for (let i = BTF_HEADER_SIZE; i < hdrLen; i++) if (this.bytes[i] !== 0) this.refuse('Unsupported btf_header', i, undefined, 'E2BIG');
    const field = (at: number): number => (at + 4 <= hdrLen ? this.u32(at) : 0);
    const header: BtfHeader = {
      magic: this.view.getUint16(0, true),
      version: this.bytes[2] ?? 0,
      flags: this.bytes[3] ?? 0,
      hdrLen,
      typeOff: field(8),
      typeLen: field(12),
      strOff: field(16),
      strLen: field(20),
    };
    this.header = header;
    this.log(`magic: 0x${hex(header.magic)}`);
    this.log(`version: ${header.version}`);
    this.log(`flags: 0x${hex(header.flags)}`);
    this.log(`hdr_len: ${header.hdrLen}`);
    this.log(`type_off: ${header.typeOff}`);
    this.log(`type_len: ${header.typeLen}`);
    this.log(`str_off: ${header.strOff}`);
    this.log(`str_len: ${header.strLen}`);
    this.log(`btf_total_size: ${size}`);
    if (header.magic !== BTF_MAGIC) this.refuse('Invalid magic', 0);
    if (header.version !== BTF_VERSION) this.refuse('Unsupported version', 2, undefined, 'ENOTSUPP');
    if (header.flags !== 0) this.refuse('Unsupported flags', 3, undefined, 'ENOTSUPP');
    if (size === hdrLen) this.refuse('No data', 4);
    // btf_check_sec_info: the sections, sorted by offset, tile the data after the header exactly.
    const expectedTotal = size - hdrLen;
    const secs = [
      { off: header.typeOff, len: header.typeLen, at: 8 },
      { off: header.strOff, len: header.strLen, at: 16 },
    ].sort((a, b) => a.off - b.off);
    let total = 0;
    for (const sec of secs) {
      if (expectedTotal < sec.off) this.refuse('Invalid section offset', sec.at);
      if (total < sec.off) this.refuse('Unsupported section found', sec.at);
      if (total > sec.off) this.refuse('Section overlap found', sec.at);
      if (expectedTotal - total < sec.len) this.refuse('Total section length too long', sec.at + 4);
      total += sec.len;
    }
    if (expectedTotal !== total) this.refuse('Unsupported section found', hdrLen + total);
  }

  /** btf_parse_str_sec. */
  private parseStrings(): void {
    const h = this.header as BtfHeader;
    const start = h.hdrLen + h.strOff;
    const end = start + h.strLen;
    if (end !== this.bytes.length) this.refuse('String section is not at the end', 16);
    this.strings = this.bytes.subarray(start, end);
    if (h.strLen === 0 || h.strLen - 1 > BTF_MAX_NAME_OFFSET || this.strings[h.strLen - 1] !== 0) this.refuse('Invalid string section', end - 1);
    if (this.strings[0] !== 0) this.refuse('Invalid string section', start);
  }

  /** btf_parse_type_sec's checks and btf_check_all_metas. */
  private checkAllMetas(): void {
    const h = this.header as BtfHeader;
    if ((h.typeOff & 3) !== 0) this.refuse('Unaligned type_off', 8);
    if (h.typeLen === 0) this.refuse('No type found', 12);
    let cur = h.hdrLen + h.typeOff;
    const end = cur + h.typeLen;
    while (cur < end) {
      const id = this.types.length;
      if (id > BTF_MAX_TYPE) this.refuse('Exceeded max num of types', cur, id, 'E2BIG');
      cur += this.checkMeta(id, cur, end - cur);
    }
  }

  /** The "[id] KIND name" prefix of btf_verifier_log_type / btf_verifier_log_basic. */
  private prefix(id: number, kind: number, nameOff: number): string {
    return `[${id}] ${BTF_KIND_NAMES[kind] ?? 'UNKNOWN'} ${this.nameAt(nameOff)}`;
  }

  /** btf_check_meta: the common btf_type, then the kind's check_meta. Returns the record's size. */
  private checkMeta(id: number, at: number, metaLeft: number): number {
    if (metaLeft < BTF_TYPE_SIZE) this.refuse(`[${id}] meta_left:${metaLeft} meta_needed:${BTF_TYPE_SIZE}`, at, id);
    const nameOff = this.u32(at);
    const info = this.u32(at + 4);
    const sizeOrType = this.u32(at + 8);
    if ((info & ~BTF_INFO_MASK) !== 0) this.kernelRule(`[${id}] Invalid btf_info:${hex(info >>> 0)}`, at + 4, id);
    const kind = (info >>> 24) & 0x1f;
    if (kind > BTF_KIND_MAX || kind === BtfKind.UNKN) this.refuse(`[${id}] Invalid kind:${kind}`, at + 4, id);
    if (!this.nameOffsetValid(nameOff)) this.refuse(`[${id}] Invalid name_offset:${nameOff}`, at, id);
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const extra = at + BTF_TYPE_SIZE;
    const left = metaLeft - BTF_TYPE_SIZE;
    const base = { ...VOID, id, kind: kind as BtfKind, name: nameOff === 0 ? '' : this.stringAt(nameOff), nameOff, vlen, kindFlag, sizeOrType };
    const pre = this.prefix(id, kind, nameOff);
    let type: BtfType = base;
    // btf_verifier_log_type: the prefix, the kind's details as far as they are read, the message.
    const fail = (msg: string, offset = at, errno: BtfErrnoName = 'EINVAL'): void => this.kernelRule(`${pre} ${this.details(type)} ${msg}`, offset, id, errno);
    // btf_verifier_log_basic: the prefix and the message only.
    const failBasic = (msg: string, offset: number): void => this.kernelRule(`${pre} ${msg}`, offset, id);
    // A record that does not fit is refused under either rules (libbpf's btf_parse_type_sec: "BTF type [N] is malformed").
    const needs = (n: number): void => {
      if (left < n) this.refuse(`${pre} meta_left:${left} meta_needed:${n}`, extra, id);
    };
    const noVlen = (): void => {
      if (vlen !== 0) fail('vlen != 0', at + 4);
    };
    const noKindFlag = (): void => {
      if (kindFlag) fail('Invalid btf_info kind_flag', at + 4);
    };
    let metaSize = 0;
    switch (kind) {
      case BtfKind.INT: {
        needs(4);
        const data = this.u32(extra);
        const bits = data & 0xff;
        const offset = (data >>> 16) & 0xff;
        const encoding = (data >>> 24) & 0x0f;
        type = { ...base, intEncoding: encoding, intOffset: offset, intBits: bits };
        noVlen();
        noKindFlag();
        if ((data & ~BTF_INT_MASK) !== 0) failBasic(`Invalid int_data:${hex(data >>> 0)}`, extra);
        if (bits + offset > 128) fail('nr_bits exceeds 128', extra);
        if (Math.ceil((bits + offset) / 8) > sizeOrType) fail('nr_bits exceeds type_size', extra);
        if (encoding !== 0 && encoding !== BtfIntEncoding.SIGNED && encoding !== BtfIntEncoding.CHAR && encoding !== BtfIntEncoding.BOOL)
          fail('Unsupported encoding', extra, 'ENOTSUPP');
        metaSize = 4;
        break;
      }
      case BtfKind.PTR:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG: {
        noVlen();
        // 6.x allows kind_flag on TYPE_TAG only (the type_tag attribute form).
        if (kindFlag && kind !== BtfKind.TYPE_TAG) fail('Invalid btf_info kind_flag', at + 4);
        if (sizeOrType > BTF_MAX_TYPE) fail('Invalid type_id', at + 8);
        if (kind === BtfKind.TYPEDEF) {
          if (nameOff === 0 || !this.validIdentifier(nameOff)) fail('Invalid name', at);
        } else if (kind === BtfKind.TYPE_TAG) {
          if (nameOff === 0 || !this.validPrintable(nameOff)) fail('Invalid name', at);
        } else if (nameOff !== 0) fail('Invalid name', at);
        break;
      }
      case BtfKind.ARRAY: {
        needs(12);
        const elem = this.u32(extra);
        const index = this.u32(extra + 4);
        type = { ...base, arrayType: elem, arrayIndexType: index, arrayNelems: this.u32(extra + 8) };
        if (nameOff !== 0) fail('Invalid name', at);
        noVlen();
        noKindFlag();
        if (sizeOrType !== 0) fail('size != 0', at + 8);
        if (elem === 0 || elem > BTF_MAX_TYPE) fail('Invalid elem', extra);
        if (index === 0 || index > BTF_MAX_TYPE) fail('Invalid index', extra + 4);
        metaSize = 12;
        break;
      }
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        metaSize = vlen * 12;
        needs(metaSize);
        if (nameOff !== 0 && !this.validIdentifier(nameOff)) fail('Invalid name', at);
        this.log(`${pre} size=${sizeOrType} vlen=${vlen}`);
        const members: BtfMember[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = extra + i * 12;
          const mName = this.u32(m);
          const mType = this.u32(m + 4);
          const word = this.u32(m + 8);
          const bitOffset = kindFlag ? word & 0xffffff : word;
          const bitfieldSize = kindFlag ? word >>> 24 : 0;
          const line = `\t${this.nameAt(mName)} type_id=${mType}${kindFlag ? ` bitfield_size=${bitfieldSize}` : ''} bits_offset=${bitOffset}`;
          const memberFail = (msg: string): void => this.kernelRule(`${line} ${msg}`, m, id);
          if (!this.nameOffsetValid(mName)) memberFail(`Invalid member name_offset:${mName}`);
          if (mName !== 0 && !this.validIdentifier(mName)) memberFail('Invalid name');
          if (mType === 0 || mType > BTF_MAX_TYPE) memberFail('Invalid type_id');
          if (kind === BtfKind.UNION && bitOffset !== 0) memberFail('Invalid member bits_offset');
          // ">" rather than ">=": the last member may be a flexible "char a[0]".
          if (Math.ceil(bitOffset / 8) > sizeOrType) memberFail('Member bits_offset exceeds its struct size');
          this.log(line);
          members.push({ name: mName === 0 ? '' : this.stringAt(mName), type: mType, bitOffset, bitfieldSize });
        }
        this.typeOffsets.push(at);
        this.types.push({ ...base, members });
        return BTF_TYPE_SIZE + metaSize;
      }
      case BtfKind.ENUM:
      case BtfKind.ENUM64: {
        const recSize = kind === BtfKind.ENUM ? 8 : 12;
        metaSize = vlen * recSize;
        needs(metaSize);
        if (sizeOrType > 8 || sizeOrType === 0 || (sizeOrType & (sizeOrType - 1)) !== 0) fail('Unexpected size', at + 8);
        if (nameOff !== 0 && !this.validIdentifier(nameOff)) fail('Invalid name', at);
        this.log(`${pre} size=${sizeOrType} vlen=${vlen}`);
        const enumValues: BtfEnumValue[] = [];
        for (let i = 0; i < vlen; i++) {
          const e = extra + i * recSize;
          const eName = this.u32(e);
          if (!this.nameOffsetValid(eName)) this.kernelRule(`\tInvalid name_offset:${eName}`, e, id);
          if (eName === 0 || !this.validIdentifier(eName)) fail('Invalid name', e);
          const lo = BigInt(this.u32(e + 4));
          const raw = kind === BtfKind.ENUM ? lo : lo | (BigInt(this.u32(e + 8)) << 32n);
          // kind_flag means signed values.
          const value = kindFlag ? BigInt.asIntN(kind === BtfKind.ENUM ? 32 : 64, raw) : raw;
          this.log(`\t${this.stringAt(eName)} val=${value}`);
          enumValues.push({ name: this.stringAt(eName), value });
        }
        this.typeOffsets.push(at);
        this.types.push({ ...base, enumValues });
        return BTF_TYPE_SIZE + metaSize;
      }
      case BtfKind.FWD: {
        noVlen();
        if (sizeOrType !== 0) fail('type != 0', at + 8);
        if (nameOff === 0 || !this.validIdentifier(nameOff)) fail('Invalid name', at);
        break;
      }
      case BtfKind.FUNC: {
        type = { ...base, linkage: vlen };
        if (nameOff === 0 || !this.validIdentifier(nameOff)) fail('Invalid name', at);
        if (vlen > BtfFuncLinkage.EXTERN) fail('Invalid func linkage', at + 4);
        noKindFlag();
        break;
      }
      case BtfKind.FUNC_PROTO: {
        metaSize = vlen * 8;
        needs(metaSize);
        const params: BtfParam[] = [];
        for (let i = 0; i < vlen; i++) {
          const p = extra + i * 8;
          params.push({ name: this.nameOffsetValid(this.u32(p)) ? this.stringAt(this.u32(p)) : '', type: this.u32(p + 4) });
        }
        type = { ...base, params };
        if (nameOff !== 0) fail('Invalid name', at);
        noKindFlag();
        break;
      }
      case BtfKind.VAR: {
        needs(4);
        const linkage = this.u32(extra);
        type = { ...base, linkage };
        noVlen();
        noKindFlag();
        if (nameOff === 0 || !this.validIdentifier(nameOff)) fail('Invalid name', at);
        if (sizeOrType === 0 || sizeOrType > BTF_MAX_TYPE) fail('Invalid type_id', at + 8);
        if (linkage !== BtfVarLinkage.STATIC && linkage !== BtfVarLinkage.GLOBAL_ALLOCATED) fail('Linkage not supported', extra);
        metaSize = 4;
        break;
      }
      case BtfKind.DATASEC: {
        metaSize = vlen * 12;
        needs(metaSize);
        if (sizeOrType === 0) fail('size == 0', at + 8);
        noKindFlag();
        if (nameOff === 0 || !this.validPrintable(nameOff)) fail('Invalid name', at);
        this.log(`${pre} size=${sizeOrType} vlen=${vlen}`);
        const secinfo: BtfVarSecinfo[] = [];
        let lastEnd = 0;
        let sum = 0;
        for (let i = 0; i < vlen; i++) {
          const v = extra + i * 12;
          const vsi = { type: this.u32(v), offset: this.u32(v + 4), size: this.u32(v + 8) };
          const line = `\t type_id=${vsi.type} offset=${vsi.offset} size=${vsi.size}`;
          const vsiFail = (msg: string): void => this.kernelRule(`${line} ${msg}`, v, id);
          if (vsi.type === 0 || vsi.type > BTF_MAX_TYPE) vsiFail('Invalid type_id');
          if (vsi.offset < lastEnd || vsi.offset >= sizeOrType) vsiFail('Invalid offset');
          if (vsi.size === 0 || vsi.size > sizeOrType) vsiFail('Invalid size');
          lastEnd = vsi.offset + vsi.size;
          if (lastEnd > sizeOrType) vsiFail('Invalid offset+size');
          this.log(line);
          sum += vsi.size;
          secinfo.push(vsi);
        }
        if (sizeOrType < sum) fail('Invalid btf_info size', at + 8);
        this.typeOffsets.push(at);
        this.types.push({ ...base, secinfo });
        return BTF_TYPE_SIZE + metaSize;
      }
      case BtfKind.FLOAT: {
        noVlen();
        noKindFlag();
        if (![2, 4, 8, 12, 16].includes(sizeOrType)) fail('Invalid type_size', at + 8);
        break;
      }
      case BtfKind.DECL_TAG: {
        needs(4);
        const componentIdx = this.view.getInt32(extra, true);
        type = { ...base, componentIdx };
        if (nameOff === 0 || !this.validPrintable(nameOff)) fail('Invalid value', at);
        noVlen();
        if (componentIdx < -1) fail('Invalid component_idx', extra);
        metaSize = 4;
        break;
      }
    }
    this.log(`${pre} ${this.details(type)}`);
    this.typeOffsets.push(at);
    this.types.push(type);
    return BTF_TYPE_SIZE + metaSize;
  }

  /** Each kind's log_details, as btf_verifier_log_type prints them. */
  private details(t: BtfType): string {
    switch (t.kind) {
      case BtfKind.INT: {
        const enc =
          t.intEncoding === BtfIntEncoding.SIGNED
            ? 'SIGNED'
            : t.intEncoding === BtfIntEncoding.CHAR
              ? 'CHAR'
              : t.intEncoding === BtfIntEncoding.BOOL
                ? 'BOOL'
                : t.intEncoding === 0
                  ? '(none)'
                  : 'UNKN';
        return `size=${t.sizeOrType} bits_offset=${t.intOffset} nr_bits=${t.intBits} encoding=${enc}`;
      }
      case BtfKind.ARRAY:
        return `type_id=${t.arrayType} index_type_id=${t.arrayIndexType} nr_elems=${t.arrayNelems}`;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.DATASEC:
        return `size=${t.sizeOrType} vlen=${t.vlen}`;
      case BtfKind.FWD:
        return t.kindFlag ? 'union' : 'struct';
      case BtfKind.FUNC_PROTO:
        return `return=${t.sizeOrType} args=(${t.params.length === 0 ? 'void' : t.params.map((p) => (p.type === 0 ? 'vararg' : `${p.type} ${p.name}`)).join(', ')})`;
      case BtfKind.VAR:
        return `type_id=${t.sizeOrType} linkage=${t.linkage}`;
      case BtfKind.FLOAT:
        return `size=${t.sizeOrType}`;
      case BtfKind.DECL_TAG:
        return `type=${t.sizeOrType} component_idx=${t.componentIdx}`;
      default:
        return `type_id=${t.sizeOrType}`;
    }
  }

  private typeAt(id: number): BtfType | undefined {
    return id < this.types.length ? this.types[id] : undefined;
  }

  skipModifiers(id: number): BtfType | undefined {
    let t = this.typeAt(id);
    for (let hops = 0; t !== undefined && isModifierOrTypedef(t.kind); hops++) {
      if (hops >= this.types.length) return undefined;
      t = this.typeAt(t.sizeOrType);
    }
    return t;
  }

  private readonly sizes = new Map<number, number | undefined>();
  private readonly resolving = new Set<number>();

  /** The resolved size of type `id` (btf_resolve_size), undefined when it has none; a loop is refused ("Loop detected"). */
  resolvedSize(id: number): number | undefined {
    if (this.sizes.has(id)) return this.sizes.get(id);
    const t = this.typeAt(id);
    if (t === undefined || id === 0) return undefined;
    if (this.resolving.has(id)) this.refuse(`${this.prefix(id, t.kind, t.nameOff)} ${this.details(t)} Loop detected`, this.typeOffsets[id] ?? 0, id, 'EEXIST');
    this.resolving.add(id);
    let size: number | undefined;
    if (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION) {
      // Members held by value are resolved too, so a struct that contains itself is a loop (as btf_struct_resolve finds it).
      for (const m of t.members) this.resolvedSize(m.type);
      size = t.sizeOrType;
    } else if (isSized(t.kind)) size = t.sizeOrType;
    else if (t.kind === BtfKind.PTR) size = 8;
    else if (isModifierOrTypedef(t.kind)) size = this.resolvedSize(t.sizeOrType);
    else if (t.kind === BtfKind.ARRAY) {
      const elem = this.resolvedSize(t.arrayType);
      size = elem === undefined ? undefined : elem * t.arrayNelems;
    }
    this.resolving.delete(id);
    this.sizes.set(id, size);
    return size;
  }

  /**
   * What 'libbpf' rules ask of the types (libbpf's btf_validate_type): every referenced type id exists. Sizes are
   * resolved once so that a loop of types is refused here rather than met later by a caller.
   */
  private checkReferences(): void {
    for (let id = 1; id < this.types.length; id++) {
      const t = this.types[id] as BtfType;
      const at = this.typeOffsets[id] ?? 0;
      const refs: number[] = [];
      switch (t.kind) {
        case BtfKind.ARRAY:
          refs.push(t.arrayType, t.arrayIndexType);
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          for (const m of t.members) refs.push(m.type);
          break;
        case BtfKind.FUNC_PROTO:
          refs.push(t.sizeOrType);
          for (const p of t.params) refs.push(p.type);
          break;
        case BtfKind.DATASEC:
          for (const v of t.secinfo) refs.push(v.type);
          break;
        default:
          if (!isSized(t.kind) && t.kind !== BtfKind.FWD) refs.push(t.sizeOrType);
      }
      for (const ref of refs)
        if (ref >= this.types.length) this.refuse(`${this.prefix(id, t.kind, t.nameOff)} ${this.details(t)} Invalid type_id ${ref}`, at, id);
      this.resolvedSize(id);
    }
  }

  /** btf_check_all_types: every referenced id exists and is of a kind its user accepts; sizes resolve without loops. */
  private checkAllTypes(): void {
    for (let id = 1; id < this.types.length; id++) {
      const t = this.types[id] as BtfType;
      const at = this.typeOffsets[id] ?? 0;
      const head = `${this.prefix(id, t.kind, t.nameOff)} ${this.details(t)}`;
      const fail = (msg: string, offset = at): never => this.refuse(`${head} ${msg}`, offset, id);
      const exists = (ref: number): BtfType | undefined => (ref === 0 ? VOID : this.typeAt(ref));
      if (t.kind === BtfKind.PTR || isModifierOrTypedef(t.kind)) {
        const next = exists(t.sizeOrType);
        if (next === undefined || isSourceOnly(next.kind)) fail('Invalid type_id', at + 8);
        // A loop of modifiers (a pointer breaks none: it may point at its own struct).
        if (t.kind !== BtfKind.PTR) this.resolvedSize(id);
        continue;
      }
      switch (t.kind) {
        case BtfKind.ARRAY: {
          const index = this.skipModifiers(t.arrayIndexType);
          if (index?.kind !== BtfKind.INT) fail('Invalid index', at + 16);
          const elem = exists(t.arrayType);
          if (elem === undefined || isSourceOnly(elem.kind)) fail('Invalid elem', at + 12);
          const elemSize = this.resolvedSize(t.arrayType);
          if (elemSize === undefined) return fail('Invalid elem', at + 12);
          if (elemSize * t.arrayNelems > U32_MAX) fail('Array size overflows U32_MAX', at + 20);
          break;
        }
        case BtfKind.STRUCT:
        case BtfKind.UNION: {
          t.members.forEach((m, i) => {
            const memberAt = at + BTF_TYPE_SIZE + i * 12;
            const line = `${head}\n\t${m.name === '' ? '(anon)' : m.name} type_id=${m.type}${t.kindFlag ? ` bitfield_size=${m.bitfieldSize}` : ''} bits_offset=${m.bitOffset}`;
            const memberType = exists(m.type);
            const size = memberType === undefined || isSourceOnly(memberType.kind) ? undefined : this.resolvedSize(m.type);
            if (size === undefined) this.refuse(`${line} Invalid member`, memberAt, id);
            const bits = m.bitfieldSize !== 0 ? m.bitfieldSize : size * 8;
            if (m.bitOffset + bits > t.sizeOrType * 8) this.refuse(`${line} Member exceeds struct_size`, memberAt, id);
          });
          break;
        }
        case BtfKind.FUNC: {
          if (exists(t.sizeOrType)?.kind !== BtfKind.FUNC_PROTO) fail('Invalid type_id', at + 8);
          break;
        }
        case BtfKind.FUNC_PROTO: {
          const ret = exists(t.sizeOrType);
          if (ret === undefined || isSourceOnly(ret.kind) || (t.sizeOrType !== 0 && ret.kind !== BtfKind.PTR && this.resolvedSize(t.sizeOrType) === undefined))
            fail('Invalid return type', at + 8);
          t.params.forEach((p, i) => {
            const paramAt = at + BTF_TYPE_SIZE + i * 8;
            // Only the last argument may be void (a vararg), and then it has no name.
            if (p.type === 0 && (i !== t.params.length - 1 || p.name !== '')) fail(`Invalid arg#${i + 1}`, paramAt);
            const arg = exists(p.type);
            if (arg === undefined || isSourceOnly(arg.kind)) return fail(`Invalid arg#${i + 1}`, paramAt);
            if (p.type !== 0 && arg.kind !== BtfKind.PTR && this.resolvedSize(p.type) === undefined) fail(`Invalid arg#${i + 1}`, paramAt);
          });
          break;
        }
        case BtfKind.VAR: {
          const target = exists(t.sizeOrType);
          if (target === undefined || isSourceOnly(target.kind) || this.resolvedSize(t.sizeOrType) === undefined) fail('Invalid type_id', at + 8);
          break;
        }
        case BtfKind.DATASEC: {
          t.secinfo.forEach((vsi, i) => {
            const vsiAt = at + BTF_TYPE_SIZE + i * 12;
            const v = this.typeAt(vsi.type);
            const line = `${head}\n\t type_id=${vsi.type} offset=${vsi.offset} size=${vsi.size}`;
            if (v?.kind !== BtfKind.VAR) return this.refuse(`${line} Not a VAR kind member`, vsiAt, id);
            const size = this.resolvedSize(v.sizeOrType);
            if (size === undefined || vsi.size < size) this.refuse(`${line} Invalid size`, vsiAt + 8, id);
          });
          break;
        }
        case BtfKind.DECL_TAG: {
          const target = this.typeAt(t.sizeOrType);
          const k = target?.kind;
          if (
            target === undefined ||
            t.sizeOrType === 0 ||
            (k !== BtfKind.STRUCT && k !== BtfKind.UNION && k !== BtfKind.VAR && k !== BtfKind.FUNC && k !== BtfKind.TYPEDEF)
          )
            return fail('Invalid type_id', at + 8);
          if (t.componentIdx !== -1) {
            const limit =
              k === BtfKind.FUNC ? (this.typeAt(target.sizeOrType)?.params.length ?? 0) : k === BtfKind.STRUCT || k === BtfKind.UNION ? target.vlen : 0;
            if (t.componentIdx >= limit) fail('Invalid component_idx', at + 12);
          }
          break;
        }
        default:
          break;
      }
    }
  }
}

/**
 * Which checks parseBtf applies: 'kernel' (the default) refuses what BPF_BTF_LOAD refuses; 'libbpf' takes a blob as
 * libbpf's btf__new does (the BTF of a clang object, whose DATASECs have size 0 until the loader fixes them up, and
 * whose VARs may be extern): header, string section, whole records, known kinds, valid name offsets, existing type
 * ids and no loops are still required.
 */
export type BtfRules = 'kernel' | 'libbpf';

export interface ParseBtfOptions {
  readonly rules?: BtfRules;
}

/** Read and validate a BTF blob as BPF_BTF_LOAD does; throws BtfError (with Linux's errno and log) for a blob Linux refuses. */
export function parseBtf(bytes: Uint8Array, options: ParseBtfOptions = {}): Btf {
  const parser = new Parser(bytes, options.rules ?? 'kernel');
  try {
    return parser.parse();
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    parser.log(e.detail);
    throw new BtfError(e.errno, e.detail, e.offset, e.typeId, parser.logText);
  }
}
