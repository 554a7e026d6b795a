/**
 * BTF's ABI facts (include/uapi/linux/btf.h and kernel/bpf/btf.c), each defined once.
 */

/** struct btf_header's magic, in the host's (little-endian) byte order. */
export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** sizeof(struct btf_header): magic(2) version(1) flags(1) hdr_len(4) type_off type_len str_off str_len (4 each). */
export const BTF_HEADER_SIZE = 24;
/** offsetofend(struct btf_header, hdr_len): the least btf_parse_hdr needs to read hdr_len. */
export const BTF_HEADER_HDR_LEN_END = 8;
/** BTF_MAX_TYPE: type ids are 20 bits. */
export const BTF_MAX_TYPE = 0x000fffff;
/** BTF_MAX_NAME_OFFSET: string offsets are 24 bits. */
export const BTF_MAX_NAME_OFFSET = 0x00ffffff;
/** BTF_MAX_VLEN. */
export const BTF_MAX_VLEN = 0xffff;
/** BTF_MAX_SIZE (kernel/bpf/btf.c): the largest blob BPF_BTF_LOAD takes (16 MiB); larger gives E2BIG. */
export const BTF_MAX_SIZE = 16 * 1024 * 1024;
/** KSYM_NAME_LEN: the longest identifier btf_name_valid_identifier accepts, with its NUL. */
export const KSYM_NAME_LEN = 512;
/** sizeof(struct btf_type): name_off, info, size/type. */
export const BTF_TYPE_SIZE = 12;
/** BTF_INFO_MASK: the bits of btf_type.info that mean something (vlen, kind, kind_flag). */
export const BTF_INFO_MASK = 0x9f00ffff;
/** BTF_INT_MASK: the bits of an INT's data word that mean something (encoding, offset, bits). */
export const BTF_INT_MASK = 0x0fffffff;

/** enum btf_kind (BTF_KIND_*). */
export const BtfKind = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;
export type BtfKind = (typeof BtfKind)[keyof typeof BtfKind];
/** NR_BTF_KINDS - 1. */
export const BTF_KIND_MAX = BtfKind.ENUM64;

/** btf_kind_str: the kind names btf_type_str prints in the verifier log, indexed by kind. */
export const BTF_KIND_NAMES: readonly string[] = [
  'UNKNOWN',
  'INT',
  'PTR',
  'ARRAY',
  'STRUCT',
  'UNION',
  'ENUM',
  'FWD',
  'TYPEDEF',
  'VOLATILE',
  'CONST',
  'RESTRICT',
  'FUNC',
  'FUNC_PROTO',
  'VAR',
  'DATASEC',
  'FLOAT',
  'DECL_TAG',
  'TYPE_TAG',
  'ENUM64',
];

/** BTF_INT_ENCODING bits; at most one may be set. */
export const BtfIntEncoding = { SIGNED: 1, CHAR: 2, BOOL: 4 } as const;
/** enum btf_func_linkage. */
export const BtfFuncLinkage = { STATIC: 0, GLOBAL: 1, EXTERN: 2 } as const;
/** enum btf_var_linkage: BTF_VAR_STATIC, BTF_VAR_GLOBAL_ALLOCATED (the only two btf_var_check_meta accepts), BTF_VAR_GLOBAL_EXTERN. */
export const BtfVarLinkage = { STATIC: 0, GLOBAL_ALLOCATED: 1, GLOBAL_EXTERN: 2 } as const;

/** offsetofend(struct btf_ext_header, line_info_len): a header without the optional CO-RE part. */
export const BTF_EXT_HEADER_MIN_SIZE = 24;
/** sizeof(struct bpf_func_info), sizeof(struct bpf_line_info), sizeof(struct bpf_core_relo): the least record size .BTF.ext may give. */
export const BTF_EXT_FUNC_INFO_MIN_SIZE = 8;
export const BTF_EXT_LINE_INFO_MIN_SIZE = 16;
export const BTF_EXT_CORE_RELO_MIN_SIZE = 16;

/** enum bpf_core_relo_kind (include/uapi/linux/bpf.h). */
export const BtfCoreReloKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;
export type BtfCoreReloKind = (typeof BtfCoreReloKind)[keyof typeof BtfCoreReloKind];
