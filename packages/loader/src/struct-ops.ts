/**
 * struct_ops maps as libbpf makes them (libbpf.c: init_struct_ops_maps, bpf_object__collect_st_ops_relos,
 * bpf_map__init_kern_struct_ops, bpf_map__attach_struct_ops): each variable of SEC(".struct_ops") or
 * SEC(".struct_ops.link") is a kernel ops struct (`struct tcp_congestion_ops`, `struct bpf_dummy_ops`) whose
 * function members point at SEC("struct_ops/...") programs. At load the kernel's `struct bpf_struct_ops_<name>`
 * gives the map's value; plain members are copied to the kernel's offsets by name, the programs load with the
 * ops struct's BTF id (attach_btf_id) and their member's index (expected_attach_type), and their fds fill the
 * value. attach() writes the value (the kernel registers it) and, for a `.link` map, makes the link.
 */
import { BtfKind, type Btf, type BtfType } from '@ebpf-sim/btf';
import type { ElfObject } from '@ebpf-sim/elf';
import { BPF_MAP_TYPE, Errno, type Libc, type Sys } from '@ebpf-sim/uapi';
import { LoaderError } from './errors.js';
import type { MapSpec } from './maps.js';
import type { LoadedObject } from './load.js';

/** The sections libbpf takes struct_ops variables from (STRUCT_OPS_SEC, STRUCT_OPS_LINK_SEC). */
const STRUCT_OPS_SECTIONS = ['.struct_ops', '.struct_ops.link'] as const;
/** The kernel names a struct_ops map's value `bpf_struct_ops_<name>` (STRUCT_OPS_VALUE_PREFIX). */
const VALUE_PREFIX = 'bpf_struct_ops_';
/** BPF_F_LINK: a `.struct_ops.link` map is registered through a link. */
export const BPF_F_LINK = 1 << 13;
/** enum bpf_attach_type BPF_STRUCT_OPS: LINK_CREATE of a struct_ops map. */
export const BPF_STRUCT_OPS_ATTACH = 44;

/** One member of the object's ops struct. */
export interface StructOpsMemberSpec {
  readonly name: string;
  /** Its byte offset and size in the object's struct. */
  readonly offset: number;
  readonly size: number;
  /** A function pointer member; `program` names the program it points at (undefined: left NULL). */
  readonly func: boolean;
  readonly program: string | undefined;
}

/** A struct_ops variable as bpf_object__open finds it. */
export interface StructOpsSpec {
  /** The variable's name: the map's name. */
  readonly name: string;
  readonly section: string;
  readonly sectionOffset: number;
  /** `.struct_ops.link`: the map takes BPF_F_LINK and attach() makes a link. */
  readonly link: boolean;
  /** The ops struct's name (`tcp_congestion_ops`), found by name in the kernel's BTF. */
  readonly typeName: string;
  /** The variable's initial bytes (the object's layout). */
  readonly data: Uint8Array;
  readonly members: readonly StructOpsMemberSpec[];
}

/** A struct_ops map made ready by load: its value in the kernel's layout, with the programs' fds. */
export interface LoadedStructOps {
  readonly fd: number;
  readonly link: boolean;
  readonly value: Uint8Array;
}

const isModifier = (k: number): boolean =>
  k === BtfKind.TYPEDEF || k === BtfKind.VOLATILE || k === BtfKind.CONST || k === BtfKind.RESTRICT || k === BtfKind.TYPE_TAG;

/** The type after modifiers and typedefs. */
function skip(btf: Btf, id: number): BtfType | undefined {
  let t = btf.types[id];
  while (t !== undefined && isModifier(t.kind)) t = btf.types[t.sizeOrType];
  return t;
}

/** A member whose type is a pointer to a function (btf_is_func_proto behind a PTR). */
function isFuncPtr(btf: Btf, typeId: number): boolean {
  const t = skip(btf, typeId);
  return t?.kind === BtfKind.PTR && skip(btf, t.sizeOrType)?.kind === BtfKind.FUNC_PROTO;
}

/** init_struct_ops_maps + bpf_object__collect_st_ops_relos: every struct_ops variable with its members' programs. */
export function readStructOps(obj: ElfObject, btf: Btf | undefined): StructOpsSpec[] {
  const out: StructOpsSpec[] = [];
  for (const sectionName of STRUCT_OPS_SECTIONS) {
    const section = obj.section(sectionName);
    if (section === undefined) continue;
    if (btf === undefined) throw new LoaderError(`struct_ops init: ${sectionName} needs BTF`, 'format', 'compile with -g');
    const datasec = btf.types.find((t) => t.kind === BtfKind.DATASEC && t.name === sectionName);
    if (datasec === undefined) throw new LoaderError(`struct_ops init: DATASEC ${sectionName} not found`, 'format');
    const relocs = obj.relocations(section);
    for (const info of datasec.secinfo) {
      const variable = btf.types[info.type];
      const type = skip(btf, variable?.sizeOrType ?? 0);
      if (variable === undefined || type?.kind !== BtfKind.STRUCT)
        throw new LoaderError(`struct_ops init: DATASEC ${sectionName} has a variable that is not a struct`, 'format');
      const members = type.members.map((m) => {
        const offset = m.bitOffset / 8;
        const func = isFuncPtr(btf, m.type);
        const reloc = func ? relocs.find((r) => r.offset === info.offset + offset) : undefined;
        return { name: m.name, offset, size: btf.sizeOf(m.type) ?? 0, func, program: reloc?.symbol?.name };
      });
      out.push({
        name: variable.name,
        section: sectionName,
        sectionOffset: info.offset,
        link: sectionName === '.struct_ops.link',
        typeName: type.name,
        data: section.data.slice(info.offset, info.offset + info.size),
        members,
      });
    }
  }
  return out;
}

/** The kernel side of one struct_ops map, as bpf_map__init_kern_struct_ops works it out. */
export interface KernelStructOps {
  /** The map as BPF_MAP_CREATE gets it. */
  readonly map: MapSpec;
  /** btf_vmlinux_value_type_id. */
  readonly valueTypeId: number;
  /** The ops struct's id in the kernel's BTF: its programs' attach_btf_id. */
  readonly typeId: number;
  /** The value with the plain members copied; program fds go in at {@link programs}' offsets. */
  readonly value: Uint8Array;
  /** Each program of the map: its member's index in the kernel's struct and the offset of its slot in the value. */
  readonly programs: ReadonlyMap<string, { readonly member: number; readonly offset: number }>;
}

/**
 * bpf_map__init_kern_struct_ops: the kernel's ops struct and value type by name, each member found by name in the
 * kernel's struct (a missing one, or a plain member of another size, is an error), plain members copied.
 */
export function kernelStructOps(spec: StructOpsSpec, kernel: Btf): KernelStructOps {
  const what = `struct_ops init_kern ${spec.name}`;
  const find = (name: string): BtfType | undefined => kernel.types.find((t) => t.kind === BtfKind.STRUCT && t.name === name);
  const kernType = find(spec.typeName);
  const kernValue = find(`${VALUE_PREFIX}${spec.typeName}`);
  if (kernType === undefined || kernValue === undefined)
    throw new LoaderError(`${what}: struct ${VALUE_PREFIX}${spec.typeName} is not found in kernel BTF`, 'unsupported');
  const dataMember = kernValue.members.find((m) => m.name === 'data');
  if (dataMember === undefined) throw new LoaderError(`${what}: struct ${kernValue.name} has no data member`, 'unsupported');
  const dataOffset = dataMember.bitOffset / 8;
  const value = new Uint8Array(kernValue.sizeOrType);
  const programs = new Map<string, { member: number; offset: number }>();
  for (const member of spec.members) {
    const index = kernType.members.findIndex((m) => m.name === member.name);
    const kern = kernType.members[index];
    if (kern === undefined) {
      // libbpf: a member the kernel lacks may stay only when it is zero (a newer struct than the kernel's).
      if (spec.data.subarray(member.offset, member.offset + member.size).some((b) => b !== 0) || member.program !== undefined)
        throw new LoaderError(`${what}: Cannot find member ${member.name} in kernel BTF`, 'unsupported');
      continue;
    }
    const at = dataOffset + kern.bitOffset / 8;
    if (member.func) {
      if (!isFuncPtr(kernel, kern.type)) throw new LoaderError(`${what}: kernel member ${member.name} is not a func ptr`, 'invalid');
      if (member.program !== undefined) programs.set(member.program, { member: index, offset: at });
      continue;
    }
    const size = kernel.sizeOf(kern.type) ?? -1;
    if (size !== member.size) throw new LoaderError(`${what}: size of member ${member.name} mismatch: ${member.size} != ${size}`, 'invalid');
    value.set(spec.data.subarray(member.offset, member.offset + member.size), at);
  }
  const map: MapSpec = {
    name: spec.name,
    kernelName: spec.name.slice(0, 15),
    origin: 'btf',
    section: spec.section,
    sectionOffset: spec.sectionOffset,
    type: BPF_MAP_TYPE.STRUCT_OPS,
    keySize: 4,
    valueSize: value.length,
    maxEntries: 1,
    flags: spec.link ? BPF_F_LINK : 0,
    numaNode: 0,
    mapExtra: 0,
    keyTypeId: 0,
    valueTypeId: 0,
    pinning: 0,
    slots: [],
    freeze: false,
  };
  return { map, valueTypeId: kernValue.id, typeId: kernType.id, value, programs };
}

/** What attaching a struct_ops map uses of the libc. */
export type StructOpsLibc = Pick<Libc, 'bpfMapUpdate' | 'bpfAttr'>;

/**
 * bpf_map__attach_struct_ops: write the value (programs' fds in); the kernel registers a plain map there, and a
 * `.struct_ops.link` map is registered by the link made next (BPF_LINK_CREATE, attach type BPF_STRUCT_OPS, the
 * map's fd in prog_fd's place). The link's fd, 0 for a plain map (libbpf's link then only unregisters it), or
 * -errno.
 */
export function* attachStructOps(libc: StructOpsLibc, loaded: LoadedObject, name: string): Sys<number> {
  const ops = loaded.structOps?.get(name);
  if (ops === undefined) throw new LoaderError(`map '${name}': not a struct_ops map of this object`, 'invalid');
  const key = new Uint8Array(4);
  const updated = yield* libc.bpfMapUpdate(ops.fd, key, ops.value);
  // A `.link` map written before (a link made or updated with it) answers EBUSY: its value never changes, so
  // libbpf goes on to the link.
  if (!ops.link) return updated;
  if (updated < 0 && updated !== -Errno.EBUSY) return updated;
  return (yield* libc.bpfAttr('LINK_CREATE', { map_fd: ops.fd, attach_type: BPF_STRUCT_OPS_ATTACH })).ret;
}

/**
 * bpf_link__update_map: move a struct_ops link (`linkFd`, made by {@link attachStructOps}) to the `.struct_ops.link`
 * map `name`: its value written (EBUSY skipped, as there), then BPF_LINK_UPDATE with new_map_fd. 0 or -errno.
 */
export function* updateStructOpsLink(libc: StructOpsLibc, loaded: LoadedObject, linkFd: number, name: string): Sys<number> {
  const ops = loaded.structOps?.get(name);
  if (ops === undefined) throw new LoaderError(`map '${name}': not a struct_ops map of this object`, 'invalid');
  const updated = yield* libc.bpfMapUpdate(ops.fd, new Uint8Array(4), ops.value);
  if (updated < 0 && updated !== -Errno.EBUSY) return updated;
  return (yield* libc.bpfAttr('LINK_UPDATE', { link_fd: linkFd, new_map_fd: ops.fd })).ret;
}
