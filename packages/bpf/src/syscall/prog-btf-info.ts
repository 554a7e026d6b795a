/**
 * BPF_PROG_LOAD's func_info and line_info (kernel/bpf/verifier.c: check_btf_info_early, check_btf_func_early,
 * check_btf_func, check_btf_line): the records are copied from user space and checked against the program's
 * BTF (prog_btf_fd) and its sub-program layout, with Linux's log lines and errnos. The verifier does not use
 * them as narrow views (verifierBtfViews): each subprogram's FUNC and signature, read as btf_prepare_func_args
 * reads them, and the line_info records with their strings, for the log's `; source` lines.
 */
import { BTF_KIND_NAMES, BtfKind, type Btf, type BtfType } from '@ebpf-sim/btf';
import type { UserCopy } from '@ebpf-sim/kernel';
import { Class, JmpOp, Mode, PseudoCall, PseudoLd, SLOT_SIZE, Size } from '@ebpf-sim/isa';
import { BPF_FUNC, BPF_FUNC_INFO, BPF_LINE_INFO, Errno } from '@ebpf-sim/uapi';
import type { KernelTypeMatch, LineInfoView, ParamTypeView, ParamView, ProgramTypeDesc, SubprogBtfView, SubprogLinkage } from '@ebpf-sim/verifier';

/** MIN_BPF_FUNCINFO_SIZE and MAX_FUNCINFO_REC_SIZE (the line_info limits are the same maximum and sizeof(bpf_line_info)). */
const MIN_FUNCINFO_SIZE = BPF_FUNC_INFO.size;
const MAX_INFO_REC_SIZE = 252;
const INSN_SIZE = SLOT_SIZE;
const OP_CALL = Class.JMP | JmpOp.CALL;
const OP_LD_IMM64 = Class.LD | Mode.IMM | Size.DW;
const CLASS_MASK = 0x07;
const MODE_MASK = 0xe0;

/** The attr fields of the records, as read from the syscall's bpf_attr. */
export interface ProgBtfInfoAttr {
  readonly funcInfoRecSize: number;
  readonly funcInfo: number;
  readonly funcInfoCnt: number;
  readonly lineInfoRecSize: number;
  readonly lineInfo: number;
  readonly lineInfoCnt: number;
}

/**
 * The outcome: 0 or -errno, the verifier log lines written, and a record size Linux writes back (E2BIG on a
 * non-zero tail). Accepted records are kept as the kernel keeps them (prog->aux->func_info, ->linfo): each
 * record cut to the kernel's own size (sizeof(struct bpf_func_info), sizeof(struct bpf_line_info)).
 */
export interface ProgBtfInfoResult {
  readonly errno: number;
  readonly log: string;
  /** With func_info: each subprogram's FUNC linkage (func_info_aux[].linkage), which the verifier's callback checks read. */
  readonly linkage?: readonly SubprogLinkage[];
  readonly writeBack?: { readonly field: 'func_info_rec_size' | 'line_info_rec_size'; readonly value: number };
  readonly funcInfo?: Uint8Array;
  readonly lineInfo?: Uint8Array;
}

const ok: ProgBtfInfoResult = { errno: 0, log: '' };
const NO_RECORDS = new Uint8Array(0);

/** enum btf_func_linkage by number (BTF_FUNC_STATIC 0, BTF_FUNC_GLOBAL 1, BTF_FUNC_EXTERN 2). */
const FUNC_LINKAGE: readonly SubprogLinkage[] = ['static', 'global', 'extern'];
const fail = (log: string, errno: number = -Errno.EINVAL): ProgBtfInfoResult => ({ errno, log });

/** add_subprog_and_kfunc: instruction 0 and every target of a BPF_PSEUDO_CALL call or a BPF_PSEUDO_FUNC ld_imm64, ascending. */
function subprogStarts(insns: Uint8Array): number[] {
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const count = insns.length / INSN_SIZE;
  const starts = new Set<number>([0]);
  for (let i = 0; i < count; i++) {
    const code = insns[i * INSN_SIZE] ?? 0;
    const src = (insns[i * INSN_SIZE + 1] ?? 0) >> 4;
    const imm = view.getInt32(i * INSN_SIZE + 4, true);
    if ((code === OP_CALL && src === PseudoCall.LOCAL) || (code === OP_LD_IMM64 && src === PseudoLd.FUNC)) {
      const target = i + imm + 1;
      // A target outside the program is the verifier's to refuse (add_subprog: "call to invalid destination").
      if (target >= 0 && target < count) starts.add(target);
    }
    if (code === OP_LD_IMM64) i++;
  }
  return [...starts].sort((a, b) => a - b);
}

/** What check_btf_func looks for in each sub-program: an LD_ABS/LD_IND, a bpf_tail_call. */
function subprogUses(insns: Uint8Array, from: number, to: number): { ldAbs: boolean; tailCall: boolean } {
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  let ldAbs = false;
  let tailCall = false;
  for (let i = from; i < to; i++) {
    const code = insns[i * INSN_SIZE] ?? 0;
    const mode = code & MODE_MASK;
    if ((code & CLASS_MASK) === Class.LD && (mode === Mode.ABS || mode === Mode.IND)) ldAbs = true;
    if (code === OP_CALL && (insns[i * INSN_SIZE + 1] ?? 0) >> 4 === 0 && view.getInt32(i * INSN_SIZE + 4, true) === BPF_FUNC.tail_call) tailCall = true;
  }
  return { ldAbs, tailCall };
}

/** bpf_check_uarg_tail_zero on one record: the bytes past what the kernel knows must be zero. */
function tailIsZero(record: Uint8Array, known: number): boolean {
  for (let i = known; i < record.length; i++) if (record[i] !== 0) return false;
  return true;
}

/** btf_type_is_small_int || btf_is_any_enum: a return type that a sub-program with LD_ABS or a tail call may have. */
function scalarReturn(btf: Btf, funcTypeId: number): boolean {
  const proto = btf.types[btf.types[funcTypeId]?.sizeOrType ?? 0];
  const ret = btf.skipModifiers(proto?.sizeOrType ?? 0);
  if (ret === undefined) return false;
  if (ret.kind === BtfKind.INT) return ret.sizeOrType <= 8;
  return ret.kind === BtfKind.ENUM || ret.kind === BtfKind.ENUM64;
}

/**
 * check_btf_func_early + check_btf_func + check_btf_line for a program of `insns` whose func_info / line_info
 * records the attr names (at least one count is non-zero; the caller resolved prog_btf_fd to `btf`).
 */
export function checkProgBtfInfo(btf: Btf, insns: Uint8Array, attr: ProgBtfInfoAttr, mm: UserCopy): ProgBtfInfoResult {
  const progLen = insns.length / INSN_SIZE;
  const starts = subprogStarts(insns);
  const funcs = checkFuncInfo(btf, insns, starts, attr, mm);
  if (funcs.errno !== 0) return funcs;
  const lines = checkLineInfo(btf, insns, progLen, starts, attr, mm);
  if (lines.errno !== 0) return lines;
  return {
    ...ok,
    funcInfo: funcs.funcInfo ?? NO_RECORDS,
    lineInfo: lines.lineInfo ?? NO_RECORDS,
    ...(funcs.linkage === undefined ? {} : { linkage: funcs.linkage }),
  };
}

function checkFuncInfo(btf: Btf, insns: Uint8Array, starts: readonly number[], attr: ProgBtfInfoAttr, mm: UserCopy): ProgBtfInfoResult {
  const nfuncs = attr.funcInfoCnt;
  if (nfuncs === 0) return ok;
  const recSize = attr.funcInfoRecSize;
  if (recSize < MIN_FUNCINFO_SIZE || recSize > MAX_INFO_REC_SIZE || recSize % 4 !== 0) return fail(`invalid func info rec size ${recSize}\n`);
  const record = new Uint8Array(recSize);
  const view = new DataView(record.buffer);
  const typeIds: number[] = [];
  const offsets: number[] = [];
  const kept = new Uint8Array(nfuncs * BPF_FUNC_INFO.size);
  let prevOffset = 0;
  for (let i = 0; i < nfuncs; i++) {
    if (!mm.copyFromUser(attr.funcInfo + i * recSize, record, 0, recSize)) return fail('', -Errno.EFAULT);
    kept.set(record.subarray(0, BPF_FUNC_INFO.size), i * BPF_FUNC_INFO.size);
    // A longer record with a non-zero tail: E2BIG, and the size the kernel knows written back so the loader can retry.
    if (!tailIsZero(record, BPF_FUNC_INFO.size))
      return { errno: -Errno.E2BIG, log: 'nonzero tailing record in func info', writeBack: { field: 'func_info_rec_size', value: BPF_FUNC_INFO.size } };
    const insnOff = view.getUint32(BPF_FUNC_INFO.insn_off, true);
    const typeId = view.getUint32(BPF_FUNC_INFO.type_id, true);
    if (i === 0 && insnOff !== 0) return fail(`nonzero insn_off ${insnOff} for the first func info record`);
    if (i > 0 && insnOff <= prevOffset) return fail(`same or smaller insn offset (${insnOff}) than previous func info record (${prevOffset})`);
    const type = btf.types[typeId];
    if (type?.kind !== BtfKind.FUNC) return fail(`invalid type id ${typeId | 0} in func info`);
    // btf_func_check already made sure at BTF_LOAD that a FUNC's type is a FUNC_PROTO; Linux fails silently here otherwise.
    if (btf.types[type.sizeOrType]?.kind !== BtfKind.FUNC_PROTO) return fail('');
    typeIds.push(typeId);
    offsets.push(insnOff);
    prevOffset = insnOff;
  }
  // check_btf_func, once the sub-programs are known.
  if (nfuncs !== starts.length) return fail("number of funcs in func_info doesn't match number of subprogs\n");
  for (let i = 0; i < nfuncs; i++) {
    const start = starts[i] ?? 0;
    if (offsets[i] !== start) return fail("func_info BTF section doesn't match subprog layout in BPF program\n");
    if (i === 0 || scalarReturn(btf, typeIds[i] ?? 0)) continue;
    const uses = subprogUses(insns, start, starts[i + 1] ?? insns.length / INSN_SIZE);
    if (uses.ldAbs) return fail("LD_ABS is only allowed in functions that return 'int'.\n");
    if (uses.tailCall) return fail("BPF_CALL is only allowed in functions that return 'int'.\n");
  }
  return { ...ok, funcInfo: kept, linkage: typeIds.map((id) => FUNC_LINKAGE[btf.types[id]?.linkage ?? 0] ?? 'static') };
}

function checkLineInfo(btf: Btf, insns: Uint8Array, progLen: number, starts: readonly number[], attr: ProgBtfInfoAttr, mm: UserCopy): ProgBtfInfoResult {
  const count = attr.lineInfoCnt;
  if (count === 0) return ok;
  const recSize = attr.lineInfoRecSize;
  if (recSize < BPF_LINE_INFO.size || recSize > MAX_INFO_REC_SIZE || (recSize & 3) !== 0) return fail('');
  const record = new Uint8Array(recSize);
  const view = new DataView(record.buffer);
  const validString = (offset: number): boolean => offset < btf.header.strLen;
  const kept = new Uint8Array(count * BPF_LINE_INFO.size);
  let s = 0;
  let prevOffset = 0;
  for (let i = 0; i < count; i++) {
    if (!mm.copyFromUser(attr.lineInfo + i * recSize, record, 0, recSize)) return fail('', -Errno.EFAULT);
    kept.set(record.subarray(0, BPF_LINE_INFO.size), i * BPF_LINE_INFO.size);
    if (!tailIsZero(record, BPF_LINE_INFO.size))
      return { errno: -Errno.E2BIG, log: 'nonzero tailing record in line_info', writeBack: { field: 'line_info_rec_size', value: BPF_LINE_INFO.size } };
    const insnOff = view.getUint32(BPF_LINE_INFO.insn_off, true);
    if ((i > 0 && insnOff <= prevOffset) || insnOff >= progLen)
      return fail(`Invalid line_info[${i}].insn_off:${insnOff} (prev_offset:${prevOffset} prog->len:${progLen})\n`);
    if ((insns[insnOff * INSN_SIZE] ?? 0) === 0) return fail(`Invalid insn code at line_info[${i}].insn_off\n`);
    if (!validString(view.getUint32(BPF_LINE_INFO.line_off, true)) || !validString(view.getUint32(BPF_LINE_INFO.file_name_off, true)))
      return fail(`Invalid line_info[${i}].line_off or .file_name_off\n`);
    if (s !== starts.length) {
      const start = starts[s] ?? 0;
      if (insnOff === start) s++;
      else if (start < insnOff) return fail(`missing bpf_line_info for func#${s}\n`);
    }
    prevOffset = insnOff;
  }
  if (s !== starts.length) return fail(`missing bpf_line_info for ${starts.length - s} funcs starting from func#${s}\n`);
  return { ...ok, lineInfo: kept };
}

/**
 * The records moved to the xlated program, as the verifier's rewrites move them in Linux: adjust_btf_func puts
 * each func_info at its sub-program's new start, bpf_adj_linfo keeps a line's record on the first instruction of
 * its rewrite (patches shift only what comes after), and bpf_adj_linfo_after_remove drops the records of removed
 * dead code, except that the last record of a removed range moves to the first live instruction after it when that
 * instruction has no record of its own. `slotMap` is the rewrite's map from each slot of the verified program
 * `insns` (plus one past its end) to its slot in the xlated program; a removed instruction maps to where the next
 * live one starts.
 */
export function xlatedBtfInfo(
  insns: Uint8Array,
  slotMap: readonly number[],
  funcInfo: Uint8Array,
  lineInfo: Uint8Array,
): { readonly funcInfo: Uint8Array; readonly lineInfo: Uint8Array } {
  const slots = insns.length / INSN_SIZE;
  const at = (slot: number): number => slotMap[slot] ?? slotMap[slots] ?? 0;
  const next = (slot: number): number => slot + ((insns[slot * INSN_SIZE] ?? 0) === OP_LD_IMM64 ? 2 : 1);
  // Slot 0 stays 0: a prologue the rewrite put before it belongs to the first line (Linux patches at 0 move only what follows).
  const live = (slot: number): boolean => slot === 0 || at(slot) < at(next(slot));
  const funcs = funcInfo.slice();
  const funcView = new DataView(funcs.buffer);
  for (let off = 0; off < funcs.length; off += BPF_FUNC_INFO.size) {
    const start = funcView.getUint32(off + BPF_FUNC_INFO.insn_off, true);
    funcView.setUint32(off + BPF_FUNC_INFO.insn_off, start === 0 ? 0 : at(start), true);
  }
  const lineView = new DataView(lineInfo.buffer, lineInfo.byteOffset, lineInfo.byteLength);
  const count = lineInfo.length / BPF_LINE_INFO.size;
  const offOf = (i: number): number => lineView.getUint32(i * BPF_LINE_INFO.size + BPF_LINE_INFO.insn_off, true);
  const kept: Array<{ readonly record: number; readonly slot: number }> = [];
  for (let i = 0; i < count; i++) {
    const slot = offOf(i);
    if (live(slot)) {
      kept.push({ record: i, slot: slot === 0 ? 0 : at(slot) });
      continue;
    }
    // The removed range this record's instruction is in ends at the first live instruction after it.
    let end = next(slot);
    while (end < slots && !live(end)) end = next(end);
    const lastInRange = i + 1 >= count || offOf(i + 1) >= end;
    const endHasOwn = i + 1 < count && offOf(i + 1) === end;
    if (lastInRange && end < slots && !endHasOwn) kept.push({ record: i, slot: at(end) });
  }
  const lines = new Uint8Array(kept.length * BPF_LINE_INFO.size);
  const outView = new DataView(lines.buffer);
  kept.forEach(({ record, slot }, i) => {
    lines.set(lineInfo.subarray(record * BPF_LINE_INFO.size, (record + 1) * BPF_LINE_INFO.size), i * BPF_LINE_INFO.size);
    outView.setUint32(i * BPF_LINE_INFO.size + BPF_LINE_INFO.insn_off, slot, true);
  });
  return { funcInfo: funcs, lineInfo: lines };
}

/** BPF_LINE_INFO_LINE_NUM / BPF_LINE_INFO_LINE_COL: line_col is line << 10 | column. */
const LINE_SHIFT = 10;
const COL_MASK = 0x3ff;
/** The `arg:` prefix of the decl tags btf_prepare_func_args reads (btf_find_next_decl_tag). */
const ARG_TAG_PREFIX = 'arg:';

/**
 * What btf_is_prog_ctx_type compares a pointer argument with: the program type's context struct as Linux's
 * bpf_types.h names it ('' for the types whose context has no struct name: those take only `arg:ctx`), and
 * whether `bpf_user_pt_regs_t` names it too (kprobe).
 */
export interface ProgCtxName {
  readonly structName: string;
  readonly ptRegsTypedef?: boolean;
}

/** bpf_types.h: the program types whose context (prog_ctx_type) is no named struct (void, or tracepoint's __u64). */
const UNNAMED_CTX: ReadonlySet<string> = new Set(['tracing', 'lsm', 'ext', 'struct_ops', 'syscall', 'tracepoint']);

/** The context name btf_is_prog_ctx_type compares with, for a program type. */
export function progCtxName(desc: ProgramTypeDesc): ProgCtxName {
  if (UNNAMED_CTX.has(desc.name)) return { structName: '' };
  // kprobe's context is the bpf_user_pt_regs_t typedef of struct pt_regs.
  return { structName: desc.ctx.structName, ...(desc.name === 'kprobe' ? { ptRegsTypedef: true } : {}) };
}

/** btf_is_projection_of: the uapi context names whose kernel struct is accepted too. */
const CTX_PROJECTIONS: ReadonlyMap<string, string> = new Map([
  ['__sk_buff', 'sk_buff'],
  ['xdp_md', 'xdp_buff'],
]);

const isModifier = (kind: number): boolean =>
  kind === BtfKind.TYPEDEF || kind === BtfKind.VOLATILE || kind === BtfKind.CONST || kind === BtfKind.RESTRICT || kind === BtfKind.TYPE_TAG;
const isScalarKind = (kind: number | undefined): boolean => kind === BtfKind.INT || kind === BtfKind.ENUM || kind === BtfKind.ENUM64;
const isStructKind = (kind: number | undefined): boolean => kind === BtfKind.STRUCT || kind === BtfKind.UNION;

/** btf_type_str. */
const kindStr = (t: BtfType | undefined): string => BTF_KIND_NAMES[t?.kind ?? 0] ?? 'UNKNOWN';

/** btf_is_prog_ctx_type for the pointer type `ptr`. */
function isProgCtx(btf: Btf, ptr: BtfType, ctx: ProgCtxName): boolean {
  let t = btf.types[ptr.sizeOrType];
  if (ctx.ptRegsTypedef === true) {
    while (t !== undefined && isModifier(t.kind) && t.kind !== BtfKind.TYPEDEF) t = btf.types[t.sizeOrType];
    if (t?.kind === BtfKind.TYPEDEF && t.name === 'bpf_user_pt_regs_t') return true;
  }
  while (t !== undefined && isModifier(t.kind)) t = btf.types[t.sizeOrType];
  if (t === undefined || !isStructKind(t.kind) || ctx.structName === '') return false;
  return t.name === ctx.structName || CTX_PROJECTIONS.get(ctx.structName) === t.name;
}

/** btf_is_dynptr_ptr: a pointer to `struct bpf_dynptr` (or its forward declaration). */
function isDynptrPtr(btf: Btf, ptr: BtfType): boolean {
  let t = btf.types[ptr.sizeOrType];
  while (t !== undefined && isModifier(t.kind)) t = btf.types[t.sizeOrType];
  if (t === undefined) return false;
  if (!(isStructKind(t.kind) || (t.kind === BtfKind.FWD && !t.kindFlag))) return false;
  return t.name === 'bpf_dynptr';
}

/** bpf_core_essential_name_len: a CO-RE flavour suffix (`___v2`) is not part of the name. */
function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name.startsWith('___', i + 1) && name[i + 4] !== '_') return name.slice(0, i + 1);
  }
  return name;
}

/** btf_get_ptr_to_btf_id: the one vmlinux type of the pointee's kind and essential name. */
function kernelTypeOf(argIdx: number, pointee: BtfType, vmlinux: Btf | undefined): KernelTypeMatch {
  const name = essentialName(pointee.name);
  const matches = vmlinux === undefined || name === '' ? [] : vmlinux.types.filter((k) => k.kind === pointee.kind && essentialName(k.name) === name);
  const first = matches[0];
  if (matches.length === 1 && first !== undefined) return { id: first.id, name: first.name };
  const what = matches.length === 0 ? 'has no matches' : 'is ambiguous';
  return { line: `arg#${argIdx} reference type('${kindStr(pointee)} ${pointee.name}') ${what}`, errno: matches.length === 0 ? Errno.ENOENT : Errno.ESRCH };
}

/** The `arg:` decl tags on parameter `index` of FUNC `funcId`, in type order, without the prefix. */
function argTags(btf: Btf, funcId: number, index: number): string[] {
  const tags: string[] = [];
  for (const t of btf.types) {
    if (t.kind === BtfKind.DECL_TAG && t.sizeOrType === funcId && t.componentIdx === index && t.name.startsWith(ARG_TAG_PREFIX)) {
      tags.push(t.name.slice(ARG_TAG_PREFIX.length));
    }
  }
  return tags;
}

function paramType(btf: Btf, typeId: number, argIdx: number, ctx: ProgCtxName, vmlinux: Btf | undefined): ParamTypeView {
  let t = btf.types[typeId];
  while (t !== undefined && isModifier(t.kind)) t = btf.types[t.sizeOrType];
  if (t === undefined) return { kind: 'other', typeStr: 'UNKNOWN' };
  if (isScalarKind(t.kind)) return { kind: 'scalar' };
  if (t.kind !== BtfKind.PTR) return { kind: 'other', typeStr: kindStr(t) };
  const pointee = btf.skipModifiers(t.sizeOrType) ?? btf.types[0];
  // btf_resolve_size: void, FWD and FUNC_PROTO have no size (EINVAL).
  const size = pointee === undefined || pointee.id === 0 ? undefined : btf.sizeOf(pointee.id);
  let kernel: KernelTypeMatch | undefined;
  return {
    kind: 'pointer',
    ctx: isProgCtx(btf, t, ctx),
    dynptr: isDynptrPtr(btf, t),
    size: size ?? -Errno.EINVAL,
    pointeeKind: kindStr(pointee),
    pointeeName: pointee?.name ?? '',
    kernelType: () => (kernel ??= pointee === undefined ? { line: '', errno: Errno.EINVAL } : kernelTypeOf(argIdx, pointee, vmlinux)),
  };
}

/**
 * The verifier's views of the records PROG_LOAD kept (checkProgBtfInfo): per subprogram its FUNC (name, linkage,
 * return and parameters as btf_prepare_func_args classifies them for a program whose context is `ctx`), and the
 * line_info records with their strings. `vmlinux` resolves `arg:trusted` pointers.
 */
export function verifierBtfViews(
  btf: Btf,
  funcInfo: Uint8Array,
  lineInfo: Uint8Array,
  ctx: ProgCtxName,
  vmlinux: Btf | undefined,
): { readonly subprogBtf?: readonly SubprogBtfView[]; readonly lineInfo?: readonly LineInfoView[] } {
  const funcView = new DataView(funcInfo.buffer, funcInfo.byteOffset, funcInfo.byteLength);
  const subprogs: SubprogBtfView[] = [];
  for (let off = 0; off + BPF_FUNC_INFO.size <= funcInfo.length; off += BPF_FUNC_INFO.size) {
    const funcId = funcView.getUint32(off + BPF_FUNC_INFO.type_id, true);
    const func = btf.types[funcId];
    const proto = btf.types[func?.sizeOrType ?? 0];
    let ret = btf.types[proto?.sizeOrType ?? 0];
    while (ret !== undefined && isModifier(ret.kind)) ret = btf.types[ret.sizeOrType];
    const params: ParamView[] = (proto?.params ?? []).map((p, i) => ({ tags: argTags(btf, funcId, i), type: paramType(btf, p.type, i, ctx, vmlinux) }));
    subprogs.push({
      name: func?.name ?? '',
      linkage: FUNC_LINKAGE[func?.linkage ?? 0] ?? 'static',
      ret: isScalarKind(ret?.kind) ? 'scalar' : ret === undefined || ret.id === 0 ? 'void' : 'other',
      params,
    });
  }
  const lineView = new DataView(lineInfo.buffer, lineInfo.byteOffset, lineInfo.byteLength);
  const lines: LineInfoView[] = [];
  for (let off = 0; off + BPF_LINE_INFO.size <= lineInfo.length; off += BPF_LINE_INFO.size) {
    const fileOff = lineView.getUint32(off + BPF_LINE_INFO.file_name_off, true);
    const lineCol = lineView.getUint32(off + BPF_LINE_INFO.line_col, true);
    lines.push({
      insn: lineView.getUint32(off + BPF_LINE_INFO.insn_off, true),
      line: btf.nameAt(lineView.getUint32(off + BPF_LINE_INFO.line_off, true)),
      file: btf.nameAt(fileOff),
      fileOff,
      lineNumber: lineCol >>> LINE_SHIFT,
      column: lineCol & COL_MASK,
    });
  }
  return { ...(subprogs.length > 0 ? { subprogBtf: subprogs } : {}), ...(lines.length > 0 ? { lineInfo: lines } : {}) };
}
