import { z } from 'zod';
import { BPF_CMD, type BpfCmdName } from './constants.js';

/**
 * union bpf_attr, the argument block of bpf(2), as one layout per command: field offsets and kinds as in
 * include/uapi/linux/bpf.h on x86_64. `encodeBpfAttr` (user space) and `decodeBpfAttr` (the bpf subsystem)
 * use the same table, and each command's decoded object has a zod schema.
 */
export type AttrFieldKind = 'u32' | 's32' | 'u64' | 'name';

export interface AttrField {
  readonly offset: number;
  readonly kind: AttrFieldKind;
}

export type AttrLayout = Readonly<Record<string, AttrField>>;

const u32 = (offset: number) => ({ offset, kind: 'u32' }) as const;
const s32 = (offset: number) => ({ offset, kind: 's32' }) as const;
const u64 = (offset: number) => ({ offset, kind: 'u64' }) as const;
/** char[BPF_OBJ_NAME_LEN]. */
const name = (offset: number) => ({ offset, kind: 'name' }) as const;

const ELEM = { map_fd: u32(0), key: u64(8), value: u64(16), flags: u64(24) } as const;
const GET_ID = { start_id: u32(0), next_id: u32(4), open_flags: u32(8) } as const;
const BY_ID = { id: u32(0), next_id: u32(4), open_flags: u32(8) } as const;
const OBJ = { pathname: u64(0), bpf_fd: u32(8), file_flags: u32(12), path_fd: s32(16) } as const;
const BATCH = {
  in_batch: u64(0),
  out_batch: u64(8),
  keys: u64(16),
  values: u64(24),
  count: u32(32),
  map_fd: u32(36),
  elem_flags: u64(40),
  flags: u64(48),
} as const;

/** The layout of the attribute block of each command (the fields this ABI describes). */
export const BPF_ATTR_LAYOUTS = {
  MAP_CREATE: {
    map_type: u32(0),
    key_size: u32(4),
    value_size: u32(8),
    max_entries: u32(12),
    map_flags: u32(16),
    inner_map_fd: u32(20),
    numa_node: u32(24),
    map_name: name(28),
    map_ifindex: u32(44),
    btf_fd: u32(48),
    btf_key_type_id: u32(52),
    btf_value_type_id: u32(56),
    btf_vmlinux_value_type_id: u32(60),
    map_extra: u64(64),
  },
  MAP_LOOKUP_ELEM: ELEM,
  MAP_UPDATE_ELEM: ELEM,
  MAP_DELETE_ELEM: ELEM,
  MAP_GET_NEXT_KEY: { map_fd: u32(0), key: u64(8), next_key: u64(16) },
  MAP_LOOKUP_AND_DELETE_ELEM: ELEM,
  MAP_FREEZE: { map_fd: u32(0) },
  PROG_LOAD: {
    prog_type: u32(0),
    insn_cnt: u32(4),
    insns: u64(8),
    license: u64(16),
    log_level: u32(24),
    log_size: u32(28),
    log_buf: u64(32),
    kern_version: u32(40),
    prog_flags: u32(44),
    prog_name: name(48),
    prog_ifindex: u32(64),
    expected_attach_type: u32(68),
    prog_btf_fd: u32(72),
    func_info_rec_size: u32(76),
    func_info: u64(80),
    func_info_cnt: u32(88),
    line_info_rec_size: u32(92),
    line_info: u64(96),
    line_info_cnt: u32(104),
    attach_btf_id: u32(108),
    attach_prog_fd: u32(112),
    core_relo_cnt: u32(116),
    fd_array: u64(120),
    core_relos: u64(128),
    core_relo_rec_size: u32(136),
    log_true_size: u32(140),
  },
  OBJ_PIN: OBJ,
  OBJ_GET: OBJ,
  // PROG_ATTACH / PROG_DETACH, Linux 6.18 (BPF_PROG_ATTACH_LAST_FIELD / BPF_PROG_DETACH_LAST_FIELD expected_revision):
  // `target_ifindex` aliases target_fd (tcx), `relative_id` relative_fd (bpf_mprog's anchor, by id with BPF_F_ID).
  PROG_ATTACH: {
    target_fd: u32(0),
    target_ifindex: u32(0),
    attach_bpf_fd: u32(4),
    attach_type: u32(8),
    attach_flags: u32(12),
    replace_bpf_fd: u32(16),
    relative_fd: u32(20),
    relative_id: u32(20),
    expected_revision: u64(24),
  },
  PROG_DETACH: {
    target_fd: u32(0),
    target_ifindex: u32(0),
    attach_bpf_fd: u32(4),
    attach_type: u32(8),
    attach_flags: u32(12),
    replace_bpf_fd: u32(16),
    relative_fd: u32(20),
    relative_id: u32(20),
    expected_revision: u64(24),
  },
  // BPF_PROG_QUERY, Linux 6.18 (BPF_PROG_QUERY_LAST_FIELD query.revision): `count` aliases prog_cnt; user pointers
  // to u32 arrays for the ids and flags; the kernel writes attach_flags, count and revision back.
  PROG_QUERY: {
    target_fd: u32(0),
    target_ifindex: u32(0),
    attach_type: u32(4),
    query_flags: u32(8),
    attach_flags: u32(12),
    prog_ids: u64(16),
    prog_cnt: u32(24),
    count: u32(24),
    prog_attach_flags: u64(32),
    link_ids: u64(40),
    link_attach_flags: u64(48),
    revision: u64(56),
  },
  PROG_TEST_RUN: {
    prog_fd: u32(0),
    retval: u32(4),
    data_size_in: u32(8),
    data_size_out: u32(12),
    data_in: u64(16),
    data_out: u64(24),
    repeat: u32(32),
    duration: u32(36),
    ctx_size_in: u32(40),
    ctx_size_out: u32(44),
    ctx_in: u64(48),
    ctx_out: u64(56),
    flags: u32(64),
    cpu: u32(68),
    batch_size: u32(72),
  },
  PROG_GET_NEXT_ID: GET_ID,
  MAP_GET_NEXT_ID: GET_ID,
  LINK_GET_NEXT_ID: GET_ID,
  PROG_GET_FD_BY_ID: BY_ID,
  MAP_GET_FD_BY_ID: BY_ID,
  LINK_GET_FD_BY_ID: BY_ID,
  BTF_LOAD: {
    btf: u64(0),
    btf_log_buf: u64(8),
    btf_size: u32(16),
    btf_log_size: u32(20),
    btf_log_level: u32(24),
    btf_log_true_size: u32(28),
    btf_flags: u32(32),
    btf_token_fd: s32(36),
  },
  BTF_GET_NEXT_ID: GET_ID,
  BTF_GET_FD_BY_ID: BY_ID,
  OBJ_GET_INFO_BY_FD: { bpf_fd: u32(0), info_len: u32(4), info: u64(8) },
  // The cookie came with Linux 6.10 (BPF_RAW_TRACEPOINT_OPEN_LAST_FIELD raw_tracepoint.cookie).
  RAW_TRACEPOINT_OPEN: { name: u64(0), prog_fd: u32(8), cookie: u64(16) },
  MAP_LOOKUP_BATCH: BATCH,
  MAP_LOOKUP_AND_DELETE_BATCH: BATCH,
  MAP_UPDATE_BATCH: BATCH,
  MAP_DELETE_BATCH: BATCH,
  // link_create, Linux 6.18: the unions after `flags` overlay one another at 16 (BPF_LINK_CREATE_LAST_FIELD is
  // link_create.uprobe_multi.pid). `map_fd` aliases prog_fd (struct_ops), `target_ifindex` target_fd (XDP, tcx);
  // `bpf_cookie` is perf_event.bpf_cookie; `tracing_*` the tracing struct; `relative_*`/`expected_revision` tcx's.
  LINK_CREATE: {
    prog_fd: u32(0),
    map_fd: u32(0),
    target_fd: u32(4),
    target_ifindex: u32(4),
    attach_type: u32(8),
    flags: u32(12),
    target_btf_id: u32(16),
    iter_info: u64(16),
    iter_info_len: u32(24),
    bpf_cookie: u64(16),
    kprobe_multi_flags: u32(16),
    kprobe_multi_cnt: u32(20),
    kprobe_multi_syms: u64(24),
    kprobe_multi_addrs: u64(32),
    kprobe_multi_cookies: u64(40),
    tracing_target_btf_id: u32(16),
    tracing_cookie: u64(24),
    netfilter_pf: u32(16),
    netfilter_hooknum: u32(20),
    netfilter_priority: s32(24),
    netfilter_flags: u32(28),
    relative_fd: u32(16),
    relative_id: u32(16),
    expected_revision: u64(24),
    uprobe_multi_path: u64(16),
    uprobe_multi_offsets: u64(24),
    uprobe_multi_ref_ctr_offsets: u64(32),
    uprobe_multi_cookies: u64(40),
    uprobe_multi_cnt: u32(48),
    uprobe_multi_flags: u32(52),
    uprobe_multi_pid: u32(56),
  },
  LINK_UPDATE: { link_fd: u32(0), new_prog_fd: u32(4), flags: u32(8), old_prog_fd: u32(12), new_map_fd: u32(4), old_map_fd: u32(12) },
  LINK_DETACH: { link_fd: u32(0) },
  PROG_BIND_MAP: { prog_fd: u32(0), map_fd: u32(4), flags: u32(8) },
  // task_fd_query: what a process's fd (a perf event or raw tracepoint) runs; buf/buf_len are in/out (the name).
  TASK_FD_QUERY: {
    pid: u32(0),
    fd: u32(4),
    flags: u32(8),
    buf_len: u32(12),
    buf: u64(16),
    prog_id: u32(24),
    fd_type: u32(28),
    probe_offset: u64(32),
    probe_addr: u64(40),
  },
  ENABLE_STATS: { type: u32(0) },
} as const satisfies Partial<Record<BpfCmdName, AttrLayout>>;

export type BpfAttrCmd = keyof typeof BPF_ATTR_LAYOUTS;

/** Size of union bpf_attr this ABI writes (the kernel accepts any size, zero beyond what it knows). */
export const BPF_ATTR_SIZE = 144;

const fieldSchema = (field: AttrField): z.ZodType<number | string> => {
  switch (field.kind) {
    case 'u32':
      return z.number().int().min(0).max(0xffffffff);
    case 's32':
      return z.number().int().min(-0x80000000).max(0x7fffffff);
    case 'u64':
      return z
        .number()
        .min(0)
        .max(2 ** 64 - 1);
    case 'name':
      return z.string().max(15);
  }
};

function schemaOf<L extends AttrLayout>(layout: L): z.ZodObject<{ [K in keyof L]: L[K]['kind'] extends 'name' ? z.ZodString : z.ZodNumber }> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(layout)) shape[key] = fieldSchema(field);
  return z.object(shape) as unknown as z.ZodObject<{ [K in keyof L]: L[K]['kind'] extends 'name' ? z.ZodString : z.ZodNumber }>;
}

/** A u64 field as user space may give it: a JS number (exact below 2^53) or a bigint (any 64-bit value). */
const U64_INPUT = z.union([
  z
    .number()
    .min(0)
    .max(2 ** 64 - 1),
  z
    .bigint()
    .min(0n)
    .max((1n << 64n) - 1n),
]);

/** A command's attribute block as user space gives it to {@link encodeBpfAttr}: u64 fields also take a bigint. */
function inputSchemaOf<L extends AttrLayout>(
  layout: L,
): z.ZodObject<{ [K in keyof L]: L[K]['kind'] extends 'name' ? z.ZodString : L[K]['kind'] extends 'u64' ? typeof U64_INPUT : z.ZodNumber }> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(layout)) shape[key] = field.kind === 'u64' ? U64_INPUT : fieldSchema(field);
  return z.object(shape) as unknown as z.ZodObject<{
    [K in keyof L]: L[K]['kind'] extends 'name' ? z.ZodString : L[K]['kind'] extends 'u64' ? typeof U64_INPUT : z.ZodNumber;
  }>;
}

/** zod schema of each command's attribute block as user space writes it (u64 fields: number or bigint). */
export const BPF_ATTR_INPUT_SCHEMAS = Object.fromEntries(Object.entries(BPF_ATTR_LAYOUTS).map(([cmd, layout]) => [cmd, inputSchemaOf(layout)])) as {
  [C in BpfAttrCmd]: ReturnType<typeof inputSchemaOf<(typeof BPF_ATTR_LAYOUTS)[C]>>;
};

/** The attribute block of command `C` as {@link encodeBpfAttr} takes it (a u64 cookie may be a bigint). */
export type BpfAttrInput<C extends BpfAttrCmd> = z.infer<(typeof BPF_ATTR_INPUT_SCHEMAS)[C]>;

/** zod schema of each command's decoded attribute block. */
export const BPF_ATTR_SCHEMAS = Object.fromEntries(Object.entries(BPF_ATTR_LAYOUTS).map(([cmd, layout]) => [cmd, schemaOf(layout)])) as {
  [C in BpfAttrCmd]: ReturnType<typeof schemaOf<(typeof BPF_ATTR_LAYOUTS)[C]>>;
};

/** The decoded attribute block of command `C`, e.g. `BpfAttr<'MAP_CREATE'>`. */
export type BpfAttr<C extends BpfAttrCmd> = z.infer<(typeof BPF_ATTR_SCHEMAS)[C]>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Each command's input schema with every field optional, built once: zod compiles a schema on its first parse. */
const PARTIAL_SCHEMAS = new Map<BpfAttrCmd, { parse(values: unknown): unknown }>();
function partialSchema(cmd: BpfAttrCmd): { parse(values: unknown): unknown } {
  let schema = PARTIAL_SCHEMAS.get(cmd);
  if (schema === undefined) {
    schema = BPF_ATTR_INPUT_SCHEMAS[cmd].partial();
    PARTIAL_SCHEMAS.set(cmd, schema);
  }
  return schema;
}

/**
 * Encode an attribute block for `cmd` (fields left out are zero). Throws when a value does not fit its field
 * (the schema's message names the field).
 */
export function encodeBpfAttr<C extends BpfAttrCmd>(cmd: C, values: Partial<BpfAttrInput<C>>, size = BPF_ATTR_SIZE): Uint8Array {
  const layout: AttrLayout = BPF_ATTR_LAYOUTS[cmd];
  const checked = partialSchema(cmd).parse(values) as Record<string, number | bigint | string | undefined>;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  for (const [key, value] of Object.entries(checked)) {
    const field = layout[key];
    if (field === undefined || value === undefined) continue;
    if (field.kind === 'name') {
      out.set(encoder.encode(String(value)).subarray(0, 15), field.offset);
    } else if (field.kind === 'u64' && typeof value === 'bigint') {
      view.setBigUint64(field.offset, value, true);
    } else if (field.kind === 'u64') {
      const n = Number(value);
      view.setUint32(field.offset, n % 0x1_0000_0000, true);
      view.setUint32(field.offset + 4, Math.floor(n / 0x1_0000_0000) % 0x1_0000_0000, true);
    } else if (field.kind === 's32') {
      view.setInt32(field.offset, Number(value), true);
    } else {
      view.setUint32(field.offset, Number(value), true);
    }
  }
  return out;
}

/** Decode the attribute block of `cmd` from the bytes user space passed (shorter blocks read as zero-filled). */
export function decodeBpfAttr<C extends BpfAttrCmd>(cmd: C, bytes: Uint8Array): BpfAttr<C> {
  const layout: AttrLayout = BPF_ATTR_LAYOUTS[cmd];
  const padded = new Uint8Array(Math.max(bytes.length, BPF_ATTR_SIZE));
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  const result: Record<string, number | string> = {};
  for (const [key, field] of Object.entries(layout)) {
    switch (field.kind) {
      case 'u32':
        result[key] = view.getUint32(field.offset, true);
        break;
      case 's32':
        result[key] = view.getInt32(field.offset, true);
        break;
      case 'u64':
        result[key] = view.getUint32(field.offset, true) + view.getUint32(field.offset + 4, true) * 0x1_0000_0000;
        break;
      case 'name': {
        const raw = padded.subarray(field.offset, field.offset + 16);
        const end = raw.indexOf(0);
        // No NUL within char[16] decodes all 16 bytes, which the schema rejects (Linux answers EINVAL).
        result[key] = decoder.decode(raw.subarray(0, end < 0 ? 16 : end));
        break;
      }
    }
  }
  return result as BpfAttr<C>;
}

/** The command number of a layout name (`bpfCmdNumber('MAP_CREATE')` is 0). */
export const bpfCmdNumber = (cmd: BpfAttrCmd): number => BPF_CMD[cmd];

/** Bytes a field of a bpf_attr layout occupies. */
export const attrFieldSize = (field: AttrField): number => (field.kind === 'u64' ? 8 : field.kind === 'name' ? 16 : 4);

/** BPF_F_PATH_FD (file_flags of BPF_OBJ_PIN/BPF_OBJ_GET): `path_fd` is the directory `pathname` is relative to. */
export const BPF_F_PATH_FD = 1 << 14;

/**
 * struct bpf_prog_info (include/uapi/linux/bpf.h), what BPF_OBJ_GET_INFO_BY_FD writes for a program: field
 * offsets on x86_64 (checked against this machine's kernel headers: packages/bpf/fixtures/prog/linux-prog.txt).
 * `gpl_compatible` is bit 0 of the u32 at its offset.
 */
export const BPF_PROG_INFO = {
  type: 0,
  id: 4,
  tag: 8,
  jited_prog_len: 16,
  xlated_prog_len: 20,
  jited_prog_insns: 24,
  xlated_prog_insns: 32,
  load_time: 40,
  created_by_uid: 48,
  nr_map_ids: 52,
  map_ids: 56,
  name: 64,
  ifindex: 80,
  gpl_compatible: 84,
  netns_dev: 88,
  netns_ino: 96,
  nr_jited_ksyms: 104,
  nr_jited_func_lens: 108,
  jited_ksyms: 112,
  jited_func_lens: 120,
  btf_id: 128,
  func_info_rec_size: 132,
  func_info: 136,
  nr_func_info: 144,
  nr_line_info: 148,
  line_info: 152,
  jited_line_info: 160,
  nr_jited_line_info: 168,
  line_info_rec_size: 172,
  jited_line_info_rec_size: 176,
  run_time_ns: 192,
  run_cnt: 200,
  recursion_misses: 208,
  verified_insns: 216,
  attach_btf_obj_id: 220,
  attach_btf_id: 224,
  /** sizeof(struct bpf_prog_info) (aligned(8)). */
  size: 232,
} as const;

/**
 * struct bpf_map_info (include/uapi/linux/bpf.h), what BPF_OBJ_GET_INFO_BY_FD writes for a map: field
 * offsets on x86_64, up to map_extra (the fields this ABI fills; the rest of Linux's struct is zero).
 */
/**
 * struct bpf_btf_info (include/uapi/linux/bpf.h), what BPF_OBJ_GET_INFO_BY_FD writes for a BTF object: field
 * offsets on x86_64.
 */
/** struct bpf_func_info (include/uapi/linux/bpf.h): one record of BPF_PROG_LOAD's func_info. */
export const BPF_FUNC_INFO = {
  /** The first instruction of the function, in instructions. */
  insn_off: 0,
  /** Its BTF_KIND_FUNC type in the program's BTF (prog_btf_fd). */
  type_id: 4,
  /** sizeof(struct bpf_func_info): func_info_rec_size. */
  size: 8,
} as const;

/** struct bpf_line_info: one record of BPF_PROG_LOAD's line_info. */
export const BPF_LINE_INFO = {
  insn_off: 0,
  /** Offsets in the BTF's string section. */
  file_name_off: 4,
  line_off: 8,
  /** line << 10 | column (BPF_LINE_INFO_LINE_NUM / BPF_LINE_INFO_LINE_COL). */
  line_col: 12,
  /** sizeof(struct bpf_line_info): line_info_rec_size. */
  size: 16,
} as const;

export const BPF_BTF_INFO = {
  /** A user buffer the blob is copied into (up to btf_size bytes). */
  btf: 0,
  btf_size: 8,
  id: 12,
  /** A user buffer for the name (up to name_len bytes). */
  name: 16,
  name_len: 24,
  kernel_btf: 28,
  /** sizeof(struct bpf_btf_info) (aligned(8)). */
  size: 32,
} as const;

/**
 * struct bpf_link_info (include/uapi/linux/bpf.h), what BPF_OBJ_GET_INFO_BY_FD writes for a link: the common head
 * and where the per-type union starts, on x86_64. Linux 6.18 answers info_len 64 (fixtures/links in @ebpf-sim/bpf).
 */
export const BPF_LINK_INFO = {
  type: 0,
  id: 4,
  prog_id: 8,
  /** The union of the per-type parts (raw_tracepoint, tracing, xdp, perf_event, ...), 8-aligned. */
  union: 16,
  /** sizeof(struct bpf_link_info) (aligned(8)). */
  size: 64,
} as const;

export const BPF_MAP_INFO = {
  type: 0,
  id: 4,
  key_size: 8,
  value_size: 12,
  max_entries: 16,
  map_flags: 20,
  name: 24,
  ifindex: 40,
  btf_vmlinux_value_type_id: 44,
  netns_dev: 48,
  netns_ino: 56,
  btf_id: 64,
  btf_key_type_id: 68,
  btf_value_type_id: 72,
  btf_vmlinux_id: 76,
  map_extra: 80,
  /** sizeof(struct bpf_map_info) as this ABI knows it (aligned(8)). */
  size: 88,
} as const;
