/**
 * The struct_ops types in the kernel's BTF, as Linux's vmlinux has them (bpf_struct_ops_init finds them there):
 * `struct <name>` with a function pointer (PTR to an unnamed-parameter FUNC_PROTO) per callback, the structs
 * its prototypes point to, `struct bpf_struct_ops_common_value { refcount_t refcnt; enum bpf_struct_ops_state
 * state; }` and the map's value `struct bpf_struct_ops_<name> { common; struct <name> data
 * ____cacheline_aligned_in_smp; }` (kernel/bpf/bpf_struct_ops.c).
 */
import { BtfKind, type BtfBuilder, type BtfMember } from '@ebpf-sim/btf';
import { STRUCT_OPS_TYPES } from './registry-data.js';
import type { StructOpsType } from './types.js';

/** The prefix of a struct_ops map's value type (VALUE_PREFIX). */
export const STRUCT_OPS_VALUE_PREFIX = 'bpf_struct_ops_';
/** SMP_CACHE_BYTES on x86_64: `data` starts on its own cache line. */
const CACHELINE = 64;
/** sizeof(struct bpf_struct_ops_common_value). */
export const STRUCT_OPS_COMMON_SIZE = 8;
/** Offset of `data` in every bpf_struct_ops_<name>. */
export const STRUCT_OPS_DATA_OFFSET = CACHELINE;
/** enum bpf_struct_ops_state. */
export const BPF_STRUCT_OPS_STATE = { INIT: 0, INUSE: 1, TOBEFREE: 2, READY: 3 } as const;

/** What the vmlinux BTF build lends: its builder and its C-type ids (the kernel's ints, typedefs, structs). */
export interface BtfTypeSink {
  readonly b: BtfBuilder;
  typeOf(ctype: string): number;
}

/** The ops struct's layout: each member's offset, and the struct's size (members aligned, size rounded to 8). */
export function opsLayout(type: StructOpsType): { readonly offsets: readonly number[]; readonly size: number } {
  let at = 0;
  let align = 1;
  const offsets = type.members.map((m) => {
    const a = m.kind === 'func' ? 8 : m.align;
    align = Math.max(align, a);
    at = Math.ceil(at / a) * a;
    const offset = at;
    at += m.kind === 'func' ? 8 : m.size;
    return offset;
  });
  align = Math.max(align, type.align ?? 1);
  return { offsets, size: Math.ceil(at / align) * align };
}

/** The size of bpf_struct_ops_<name>: common, then data on its own cache line, rounded to a cache line. */
export function valueSize(type: StructOpsType): number {
  return Math.ceil((STRUCT_OPS_DATA_OFFSET + opsLayout(type).size) / CACHELINE) * CACHELINE;
}

/** Add every struct_ops type of this kernel (and the common value types) to the vmlinux BTF being built. */
export function emitStructOpsBtf(out: BtfTypeSink): void {
  const b = out.b;
  const int = out.typeOf('int');
  const atomic = b.add({ kind: BtfKind.STRUCT, name: '', sizeOrType: 4, members: [{ name: 'counter', type: int, bitOffset: 0, bitfieldSize: 0 }] });
  const atomicT = b.ref(BtfKind.TYPEDEF, atomic, 'atomic_t');
  const refcount = b.add({
    kind: BtfKind.STRUCT,
    name: 'refcount_struct',
    sizeOrType: 4,
    members: [{ name: 'refs', type: atomicT, bitOffset: 0, bitfieldSize: 0 }],
  });
  const refcountT = b.ref(BtfKind.TYPEDEF, refcount, 'refcount_t');
  const state = b.add({
    kind: BtfKind.ENUM,
    name: 'bpf_struct_ops_state',
    sizeOrType: 4,
    enumValues: Object.entries(BPF_STRUCT_OPS_STATE).map(([name, value]) => ({ name: `BPF_STRUCT_OPS_STATE_${name}`, value: BigInt(value) })),
  });
  const common = b.add({
    kind: BtfKind.STRUCT,
    name: 'bpf_struct_ops_common_value',
    sizeOrType: STRUCT_OPS_COMMON_SIZE,
    members: [
      { name: 'refcnt', type: refcountT, bitOffset: 0, bitfieldSize: 0 },
      { name: 'state', type: state, bitOffset: 32, bitfieldSize: 0 },
    ],
  });
  const aux = new Map<string, number>();
  for (const type of STRUCT_OPS_TYPES) {
    for (const s of type.auxStructs ?? []) {
      if (aux.has(s.name)) continue;
      const members: BtfMember[] = s.fields.map(([name, offset, ctype]) => ({ name, type: out.typeOf(ctype), bitOffset: offset * 8, bitfieldSize: 0 }));
      aux.set(s.name, b.add({ kind: BtfKind.STRUCT, name: s.name, sizeOrType: s.size, members }));
    }
    const ctypeId = (ctype: string): number => {
      const pointee = /^struct (\w+) \*$/.exec(ctype)?.[1];
      const own = pointee === undefined ? undefined : aux.get(pointee);
      return own === undefined ? out.typeOf(ctype) : b.ref(BtfKind.PTR, own);
    };
    const layout = opsLayout(type);
    const members: BtfMember[] = type.members.map((m, i) => {
      const type =
        m.kind === 'func'
          ? b.ref(
              BtfKind.PTR,
              b.funcProto(
                out.typeOf(m.ret),
                m.params.map((p) => ({ name: '', type: ctypeId(p.ctype) })),
              ),
            )
          : out.typeOf(m.ctype);
      return { name: m.name, type, bitOffset: (layout.offsets[i] ?? 0) * 8, bitfieldSize: 0 };
    });
    const ops = b.add({ kind: BtfKind.STRUCT, name: type.name, sizeOrType: layout.size, members });
    b.add({
      kind: BtfKind.STRUCT,
      name: `${STRUCT_OPS_VALUE_PREFIX}${type.name}`,
      sizeOrType: valueSize(type),
      members: [
        { name: 'common', type: common, bitOffset: 0, bitfieldSize: 0 },
        { name: 'data', type: ops, bitOffset: STRUCT_OPS_DATA_OFFSET * 8, bitfieldSize: 0 },
      ],
    });
  }
}
