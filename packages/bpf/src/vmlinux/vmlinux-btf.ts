/**
 * The simulated kernel's own BTF (what Linux's /sys/kernel/btf/vmlinux is): the kernel's structs as it lays
 * them out (KERNEL_TYPES: task_struct, cred, mm_struct, pt_regs, xdp_buff, sk_buff, ...), the record of every
 * tracepoint it has (`trace_event_raw_<event>`, `syscall_trace_enter`/`_exit`, as Linux names them), the uapi
 * contexts (`xdp_md`, `__sk_buff`), and a FUNC for every function a kprobe can attach to and every BPF LSM
 * hook (`bpf_lsm_<hook>`). Names and C types are Linux's, so a program compiled against Linux's vmlinux.h
 * finds its fields by name (CO-RE); offsets and sizes are ours.
 *
 * The blob is a function of the kernel's tables and hook points only: the same kernel gives the same bytes.
 */
import { BtfBuilder, BtfFuncLinkage, BtfIntEncoding, BtfKind, parseBtf, type BtfMember } from '@ebpf-sim/btf';
import { BPF_TRACE_FUNC_PREFIX, BTF_TRACE_PREFIX, KernelBtf } from './btf-attach.js';
import { emitStructOpsBtf } from '../struct-ops/btf.js';
import { addKfuncBtf } from './kfunc-btf.js';
import {
  KERNEL_TYPES,
  kprobeFunctionProto,
  LSM_HOOK_ARGS,
  parseCType,
  RAW_TRACEPOINT_PROTOS,
  type RawTracepointProto,
  type CType,
  type HookPoint,
  type KernelFunctionProto,
  type KernelServices,
  type KernelField,
  type KernelStruct,
  type KernelTypeTable,
  type LsmHookName,
} from '@ebpf-sim/kernel';
import { __SK_BUFF, __SK_BUFF_CB_WORDS, BPF_ATTACH_TYPE, BPF_MAP_TYPE, BPF_PROG_TYPE, XDP_MD } from '@ebpf-sim/uapi';

/** Where Linux publishes its BTF, and where ours is. */
export const VMLINUX_BTF_PATH = '/sys/kernel/btf/vmlinux';

/** struct trace_entry: the header of every tracepoint record (its `common_*` fields in the `format` file). */
const TRACE_ENTRY_FIELDS = ['common_type', 'common_flags', 'common_preempt_count', 'common_pid'];

/** Linux's struct for a tracepoint's record: syscalls:* share two generic ones; the others are trace_event_raw_<event>. */
function recordStructName(hook: HookPoint): string {
  if (hook.name.startsWith('syscalls:sys_enter_')) return 'syscall_trace_enter';
  if (hook.name.startsWith('syscalls:sys_exit_')) return 'syscall_trace_exit';
  return `trace_event_raw_${hook.name.slice(hook.name.indexOf(':') + 1)}`;
}

/**
 * A tracepoint record as a struct: `struct trace_entry ent` for the common fields, `u32 __data_loc_<name>` for
 * a dynamic array (Linux's member name), the other fields as the `format` file gives them. The syscalls:*
 * records are Linux's generic `{ ent; int nr; unsigned long args[]; }` and `{ ent; int nr; long ret; }`.
 */
function recordFields(hook: HookPoint): (readonly [string, number, string])[] {
  const fields: (readonly [string, number, string])[] = [['ent', 0, 'struct trace_entry']];
  const enter = hook.name.startsWith('syscalls:sys_enter_');
  for (const f of hook.fields) {
    if (TRACE_ENTRY_FIELDS.includes(f.name)) continue;
    if (f.name === '__syscall_nr') fields.push(['nr', f.offset, f.ctype]);
    else if (enter) {
      if (!fields.some(([name]) => name === 'args')) fields.push(['args', f.offset, 'unsigned long[]']);
    } else if (parseCType(f.ctype).kind === 'data_loc') fields.push([`__data_loc_${f.name}`, f.offset, 'u32']);
    else fields.push([f.name, f.offset, f.ctype]);
  }
  return fields;
}

/** The uapi contexts programs see (include/uapi/linux/bpf.h), all `__u32` but where the type says otherwise. */
function uapiContexts(table: KernelTypeTable): void {
  // raw_tp programs' context: `struct bpf_raw_tracepoint_args { __u64 args[0]; }`, a flexible array of the arguments.
  table.fixedStruct('bpf_raw_tracepoint_args', 0, [['args', 0, '__u64[]']]);
  table.fixedStruct(
    'xdp_md',
    XDP_MD.size,
    Object.entries(XDP_MD).flatMap(([name, offset]) => (name === 'size' ? [] : [[name, offset, '__u32'] as const])),
  );
  const wide: Readonly<Record<string, string>> = {
    cb: `__u32[${__SK_BUFF_CB_WORDS}]`,
    remote_ip6: '__u32[4]',
    local_ip6: '__u32[4]',
    flow_keys: 'struct bpf_flow_keys *',
    tstamp: '__u64',
    sk: 'struct bpf_sock *',
    tstamp_type: '__u8',
    hwtstamp: '__u64',
  };
  table.fixedStruct(
    '__sk_buff',
    __SK_BUFF.size,
    Object.entries(__SK_BUFF).flatMap(([name, offset]) => (name === 'size' ? [] : [[name, offset, wide[name] ?? '__u32'] as const])),
  );
}

/**
 * The enums of include/uapi/linux/bpf.h that Linux's vmlinux BTF carries (programs ask
 * `bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF)`), from the uapi constants: name, enumerator prefix, values.
 */
const UAPI_ENUMS: readonly (readonly [string, string, Readonly<Record<string, number>>])[] = [
  ['bpf_map_type', 'BPF_MAP_TYPE_', BPF_MAP_TYPE],
  ['bpf_prog_type', 'BPF_PROG_TYPE_', BPF_PROG_TYPE],
  ['bpf_attach_type', 'BPF_', BPF_ATTACH_TYPE],
];

/** What the vmlinux BTF is built from. */
export interface VmlinuxSources {
  /** The kernel's hook points: tracepoints give the records, kprobes the functions. */
  readonly hooks: readonly HookPoint[];
  /** The kernel's C types (default: KERNEL_TYPES). Given, the blob is built afresh rather than taken from the cache. */
  readonly types?: KernelTypeTable;
}

/** Turns the kernel's C types into BTF types, each once. */
class BtfFromC {
  readonly b = new BtfBuilder();
  private readonly ids = new Map<string, number>();

  constructor(private readonly table: KernelTypeTable) {}

  /** The id of a type known by `key`, made by `make` the first time (`make` gets the id reserved for it). */
  private interned(key: string, make: (id: number) => void): number {
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const id = this.b.reserve();
    this.ids.set(key, id);
    make(id);
    return id;
  }

  typeOf(ctype: string): number {
    return this.id(parseCType(ctype));
  }

  id(t: CType): number {
    switch (t.kind) {
      case 'void':
        return 0;
      case 'int': {
        // pahole's encodings: `char` has none (its signedness is the target's), `_Bool` is BOOL.
        const encoding = t.bool ? BtfIntEncoding.BOOL : t.signed && t.name !== 'char' ? BtfIntEncoding.SIGNED : 0;
        return this.interned(`int ${t.name}`, (id) =>
          this.b.define(id, { kind: BtfKind.INT, name: t.name, sizeOrType: t.size, intBits: t.size * 8, intEncoding: encoding }),
        );
      }
      case 'typedef':
        return this.interned(`typedef ${t.name}`, (id) => {
          const def = this.table.typedefs.get(t.name);
          if (def === undefined) throw new Error(`vmlinux BTF: unknown typedef '${t.name}'`);
          this.b.define(id, { kind: BtfKind.TYPEDEF, name: t.name, sizeOrType: 'struct' in def ? this.struct(def.struct) : this.typeOf(def.ctype) });
        });
      case 'struct':
      case 'union': {
        const struct = this.table.structs.get(t.name);
        if (struct !== undefined) return this.struct(struct);
        // Pointed at but not laid out by this kernel: a forward declaration, as BTF has for opaque types.
        return this.interned(`${t.kind} ${t.name}`, (id) => this.b.define(id, { kind: BtfKind.FWD, name: t.name, kindFlag: t.kind === 'union' }));
      }
      case 'ptr': {
        const to = this.id(t.to);
        return this.interned(`ptr ${to}`, (id) => this.b.define(id, { kind: BtfKind.PTR, name: '', sizeOrType: to }));
      }
      case 'const':
      case 'volatile': {
        const of = this.id(t.of);
        return this.interned(`${t.kind} ${of}`, (id) =>
          this.b.define(id, { kind: t.kind === 'const' ? BtfKind.CONST : BtfKind.VOLATILE, name: '', sizeOrType: of }),
        );
      }
      case 'array': {
        const elem = this.id(t.of);
        const index = this.typeOf('int');
        return this.interned(`array ${elem} ${t.length}`, (id) =>
          this.b.define(id, { kind: BtfKind.ARRAY, name: '', arrayType: elem, arrayIndexType: index, arrayNelems: t.length }),
        );
      }
      case 'data_loc':
        return this.typeOf('u32');
    }
  }

  /** A struct (by name, or anonymous under a typedef), its members at their bit offsets. */
  struct(struct: KernelStruct): number {
    const make = (id: number): void => {
      const members: BtfMember[] = struct.fields.map((f: KernelField) => ({
        name: f.name,
        type: this.typeOf(f.ctype),
        bitOffset: f.bitOffset ?? f.offset * 8,
        bitfieldSize: f.bits ?? 0,
      }));
      // kind_flag: member offsets carry bitfield sizes (as pahole writes a struct with bitfields).
      const kindFlag = struct.fields.some((f: KernelField) => f.bits !== undefined);
      this.b.define(id, { kind: struct.kind === 'union' ? BtfKind.UNION : BtfKind.STRUCT, name: struct.name, sizeOrType: struct.size, members, kindFlag });
    };
    if (struct.name === '') {
      const id = this.b.reserve();
      make(id);
      return id;
    }
    return this.interned(`${struct.kind} ${struct.name}`, make);
  }

  /**
   * A raw tracepoint as Linux's BTF has it: `typedef void (*btf_trace_<name>)(void *, TP_PROTO...)` with unnamed
   * parameters (what tp_btf programs name as attach_btf_id), and once per event class the function programs run
   * through, `__bpf_trace_<template>(void *__data, TP_PROTO...)`, whose parameters carry the names.
   */
  rawTracepoint(name: string, tp: RawTracepointProto, templates: Set<string>): void {
    const data = this.typeOf('void *');
    const proto = this.b.funcProto(0, [{ name: '', type: data }, ...tp.args.map((a) => ({ name: '', type: this.typeOf(a.ctype) }))]);
    this.b.add({ kind: BtfKind.TYPEDEF, name: `${BTF_TRACE_PREFIX}${name}`, sizeOrType: this.b.ref(BtfKind.PTR, proto) });
    if (templates.has(tp.template)) return;
    templates.add(tp.template);
    this.func(`${BPF_TRACE_FUNC_PREFIX}${tp.template}`, { ret: 'void', args: [{ name: '__data', ctype: 'void *' }, ...tp.args] });
  }

  /** A FUNC and its FUNC_PROTO (static linkage, as the functions of Linux's vmlinux BTF are). */
  func(name: string, proto: KernelFunctionProto): void {
    const ret = this.typeOf(proto.ret);
    const params = proto.args.map((a) => ({ name: a.name, type: this.typeOf(a.ctype) }));
    const protoId = this.b.funcProto(ret, params);
    this.b.add({ kind: BtfKind.FUNC, name, sizeOrType: protoId, linkage: BtfFuncLinkage.STATIC });
  }
}

/**
 * The blobs built so far, by what they are built from (the tracepoint and kprobe hook names): every kernel of
 * one configuration has the same, so a test suite that boots many kernels builds it once.
 */
const built = new Map<string, Uint8Array>();
/** The same blobs parsed, for the verifier's and PROG_LOAD's BTF lookups (immutable, so shared like the blobs). */
const parsed = new Map<string, KernelBtf>();

/** What a blob is built from: the tracepoint and kprobe hook names. */
const sourcesKey = (hooks: readonly HookPoint[]): string =>
  hooks.flatMap((hook) => (hook.kind === 'tracepoint' || hook.kind === 'kprobe' ? [hook.name] : [])).join('\n');

/** Build the vmlinux BTF blob of a kernel with these hook points. */
export function buildVmlinuxBtf(sources: VmlinuxSources): Uint8Array {
  if (sources.types !== undefined) return build(sources);
  const key = sourcesKey(sources.hooks);
  let blob = built.get(key);
  if (blob === undefined) {
    blob = build(sources);
    built.set(key, blob);
  }
  return blob.slice();
}

function build(sources: VmlinuxSources): Uint8Array {
  const table = (sources.types ?? KERNEL_TYPES).clone();
  table.fixedStruct('trace_entry', 8, [
    ['type', 0, 'unsigned short'],
    ['flags', 2, 'unsigned char'],
    ['preempt_count', 3, 'unsigned char'],
    ['pid', 4, 'int'],
  ]);
  const records = new Map<string, HookPoint>();
  for (const hook of sources.hooks) if (hook.kind === 'tracepoint' && !records.has(recordStructName(hook))) records.set(recordStructName(hook), hook);
  for (const [name, hook] of records) {
    // The fixed part of the record, padded to its alignment (what follows is __data: the dynamic arrays).
    const fields = recordFields(hook);
    const end = Math.max(...fields.map(([, offset, ctype]) => offset + table.sizeOf(ctype)));
    const align = Math.max(...fields.map(([, , ctype]) => table.alignOf(parseCType(ctype))));
    table.fixedStruct(name, Math.ceil(end / align) * align, fields);
  }
  uapiContexts(table);
  kernelOnlyStructs(table);
  const out = new BtfFromC(table);
  for (const [name, prefix, values] of UAPI_ENUMS)
    out.b.add({ kind: BtfKind.ENUM, name, sizeOrType: 4, enumValues: Object.entries(values).map(([k, v]) => ({ name: `${prefix}${k}`, value: BigInt(v) })) });
  for (const name of table.typedefs.keys()) out.typeOf(name);
  for (const struct of table.structs.values()) out.struct(struct);
  const functions = new Set<string>();
  for (const hook of sources.hooks) {
    if (hook.kind !== 'kprobe') continue;
    const fn = hook.name.slice('kprobe:'.length);
    const proto = kprobeFunctionProto(fn);
    if (proto !== undefined && !functions.has(fn)) {
      functions.add(fn);
      out.func(fn, proto);
    }
  }
  // tp_btf programs attach to btf_trace_<name> typedefs, one per raw tracepoint of this kernel's tracepoints.
  const templates = new Set<string>();
  for (const hook of sources.hooks) {
    if (hook.kind !== 'tracepoint') continue;
    const name = hook.name.slice(hook.name.indexOf(':') + 1);
    const tp = RAW_TRACEPOINT_PROTOS[name];
    if (tp !== undefined) out.rawTracepoint(name, tp, templates);
  }
  // BPF LSM programs attach to bpf_lsm_<hook> (kernel/bpf/bpf_lsm.c): int (the hook's arguments).
  for (const [hook, args] of Object.entries(LSM_HOOK_ARGS) as [LsmHookName, (typeof LSM_HOOK_ARGS)[LsmHookName]][])
    out.func(`bpf_lsm_${hook}`, { ret: 'int', args });
  // The iterator targets (DEFINE_BPF_ITER_FUNC): `int bpf_iter_<target>(struct bpf_iter_meta *meta, ...)`, what
  // libbpf resolves an `iter/<target>` section's attach_btf_id to (BPF_TRACE_ITER).
  for (const [target, args] of Object.entries(ITER_TARGETS)) out.func(`${BPF_ITER_FUNC_PREFIX}${target}`, { ret: 'int', args: [ITER_META_ARG, ...args] });
  emitStructOpsBtf(out);
  addKfuncBtf(table, (name, proto) => out.func(name, proto));
  return out.b.build();
}

/** The prefix of an iterator target's BTF function (DEFINE_BPF_ITER_FUNC, include/linux/bpf.h). */
export const BPF_ITER_FUNC_PREFIX = 'bpf_iter_';

/** The first argument of every iterator target's function. */
const ITER_META_ARG = { name: 'meta', ctype: 'struct bpf_iter_meta *' } as const;

/**
 * The iterator targets this kernel registers (bpf_iter_reg_target), with their arguments after `meta`: the
 * context of an `iter/<target>` program is `struct bpf_iter__<target>`, one pointer slot per argument.
 */
export const ITER_TARGETS: Readonly<Record<string, readonly { readonly name: string; readonly ctype: string }[]>> = {
  // kernel/bpf/task_iter.c: DEFINE_BPF_ITER_FUNC(task, struct bpf_iter_meta *meta, struct task_struct *task).
  task: [{ name: 'task', ctype: 'struct task_struct *' }],
};

/**
 * Kernel structs programs reach only through BTF (no object of theirs is built in kernel memory): laid out by the
 * C rules from Linux 6.18's field order, as KERNEL_TYPES' are, so CO-RE finds the fields by name.
 */
function kernelOnlyStructs(table: KernelTypeTable): void {
  // include/linux/binfmts.h (CONFIG_MMU): sched_process_exec's third argument, trusted at tp_btf.
  if (!table.structs.has('linux_binprm'))
    table.struct('linux_binprm', [
      ['vma', 'struct vm_area_struct *'],
      ['vma_pages', 'unsigned long'],
      ['argmin', 'unsigned long'],
      ['mm', 'struct mm_struct *'],
      ['p', 'unsigned long'],
      ['flags', 'unsigned int'],
      ['executable', 'struct file *'],
      ['interpreter', 'struct file *'],
      ['file', 'struct file *'],
      ['cred', 'struct cred *'],
      ['unsafe', 'int'],
      ['per_clear', 'unsigned int'],
      ['argc', 'int'],
      ['envc', 'int'],
      ['filename', 'const char *'],
      ['interp', 'const char *'],
      ['fdpath', 'const char *'],
      ['interp_flags', 'unsigned int'],
      ['execfd', 'int'],
      ['loader', 'unsigned long'],
      ['exec', 'unsigned long'],
      ['buf', 'char[256]'],
    ]);
  // include/linux/bpf.h: what every iterator program's context points to first.
  if (!table.structs.has('bpf_iter_meta'))
    table.struct('bpf_iter_meta', [
      ['seq', 'struct seq_file *'],
      ['session_id', '__u64'],
      ['seq_num', '__u64'],
    ]);
  // The context of each target (struct bpf_iter__<target>: `union { struct bpf_iter_meta *meta; }` then the arguments).
  for (const [target, args] of Object.entries(ITER_TARGETS)) {
    const name = `bpf_iter__${target}`;
    if (!table.structs.has(name)) table.struct(name, [[ITER_META_ARG.name, ITER_META_ARG.ctype], ...args.map((a) => [a.name, a.ctype] as const)]);
  }
}

/** What publishing the vmlinux BTF uses: the hook points and sysfs. */
export type VmlinuxKernel = Pick<KernelServices, 'hooks' | 'sysfs'>;

/**
 * btf_vmlinux_init (kernel/bpf/sysfs_btf.c): build the kernel's BTF and publish it read-only at
 * /sys/kernel/btf/vmlinux; the parsed form is what the verifier reads (bpf_get_btf_vmlinux).
 */
export function publishVmlinuxBtf(kernel: VmlinuxKernel): { readonly kernelBtf: KernelBtf; readonly blob: Uint8Array } {
  const hooks = kernel.hooks.list();
  const blob = buildVmlinuxBtf({ hooks });
  kernel.sysfs.addReadOnly(VMLINUX_BTF_PATH, blob);
  const key = sourcesKey(hooks);
  let kernelBtf = parsed.get(key);
  if (kernelBtf === undefined) {
    kernelBtf = new KernelBtf(parseBtf(blob));
    parsed.set(key, kernelBtf);
  }
  return { kernelBtf, blob };
}
