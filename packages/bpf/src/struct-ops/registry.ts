/**
 * bpf_struct_ops_init (kernel/bpf/bpf_struct_ops.c): each struct_ops type of this kernel found in its BTF, the
 * ops struct's and the map value's type ids, each member's offset and FUNC_PROTO. PROG_LOAD finds a type by the
 * program's attach_btf_id (bpf_struct_ops_find), MAP_CREATE by btf_vmlinux_value_type_id (bpf_struct_ops_find_value).
 */
import { BtfKind, type BtfType } from '@ebpf-sim/btf';
import type { KernelBtf } from '../vmlinux/btf-attach.js';
import { STRUCT_OPS_VALUE_PREFIX, opsLayout, valueSize } from './btf.js';
import { STRUCT_OPS_TYPES } from './registry-data.js';
import type { StructOpsKernel, StructOpsType } from './types.js';

/** A struct_ops type as the kernel knows it once its BTF is up (Linux `struct bpf_struct_ops_desc`). */
export interface StructOpsDesc {
  readonly type: StructOpsType;
  /** The ops struct's BTF id (what programs name as attach_btf_id). */
  readonly typeId: number;
  /** The map value's BTF id (`bpf_struct_ops_<name>`, what maps name as btf_vmlinux_value_type_id). */
  readonly valueId: number;
  readonly valueSize: number;
  /** The ops struct's size (the `data` of the map value). */
  readonly opsSize: number;
  /** Each member's offset in the ops struct. */
  readonly offsets: readonly number[];
  /** Each function member's FUNC_PROTO (undefined for a plain field). */
  readonly protos: readonly (BtfType | undefined)[];
  /** What reg reaches of the kernel (absent: a kernel without a runtime, whose reg refuses). */
  readonly kernel: StructOpsKernel | undefined;
}

/** The struct_ops types of one kernel, by BTF id. */
export class StructOpsTable {
  private readonly byType = new Map<number, StructOpsDesc>();
  private readonly byValue = new Map<number, StructOpsDesc>();

  constructor(
    readonly vmlinux: KernelBtf,
    kernel?: StructOpsKernel,
  ) {
    const types = vmlinux.btf.types;
    for (const type of STRUCT_OPS_TYPES) {
      const typeId = vmlinux.findByNameKind(type.name, BtfKind.STRUCT);
      const valueId = vmlinux.findByNameKind(`${STRUCT_OPS_VALUE_PREFIX}${type.name}`, BtfKind.STRUCT);
      // A type whose BTF is missing is not registered (bpf_struct_ops_init's "Cannot find struct" warning).
      if (typeId < 0 || valueId < 0) continue;
      const protos = (types[typeId]?.members ?? []).map((member) => {
        const ptr = types[member.type];
        const proto = ptr?.kind === BtfKind.PTR ? types[ptr.sizeOrType] : undefined;
        return proto?.kind === BtfKind.FUNC_PROTO ? proto : undefined;
      });
      const layout = opsLayout(type);
      const desc: StructOpsDesc = { type, typeId, valueId, valueSize: valueSize(type), opsSize: layout.size, offsets: layout.offsets, protos, kernel };
      this.byType.set(typeId, desc);
      this.byValue.set(valueId, desc);
    }
  }

  /** bpf_struct_ops_find: the type whose ops struct has this BTF id. */
  find(typeId: number): StructOpsDesc | undefined {
    return this.byType.get(typeId);
  }

  /** bpf_struct_ops_find_value: the type whose map value has this BTF id. */
  findValue(valueId: number): StructOpsDesc | undefined {
    return this.byValue.get(valueId);
  }
}
