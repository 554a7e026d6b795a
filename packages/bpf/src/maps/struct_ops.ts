/**
 * BPF_MAP_TYPE_STRUCT_OPS (kernel/bpf/bpf_struct_ops.c, Linux 6.18): one element (key 0) whose value is the
 * kernel's `struct bpf_struct_ops_<name>` (common: refcnt and state; data: the ops struct). User space fills the
 * function members with program fds; the update checks each program (a STRUCT_OPS program of this type for this
 * member), keeps a reference on it, writes its id back where the fd was, and registers the ops with the
 * subsystem (reg), or, for a BPF_F_LINK map, only validates them and leaves registering to a link.
 */
import { BPF_MAP_TYPE, BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import { BPF_STRUCT_OPS_STATE, STRUCT_OPS_COMMON_SIZE, STRUCT_OPS_DATA_OFFSET } from '../struct-ops/btf.js';
import type { StructOpsDesc } from '../struct-ops/registry.js';
import type { StructOpsInstance } from '../struct-ops/types.js';
import type { TailCallTarget } from '../runtime/env.js';
import { BpfMap, ENOTSUPP, defineMapOps, type FdProgram, type FdRef, type MapAttr, type MapEnv, type MapFdObjects, type MapOps } from './map.js';

/** BPF_F_LINK: the map is registered through a link (BPF_LINK_CREATE), not by its update. */
export const BPF_F_LINK = 1 << 13;
/** BPF_F_VTYPE_BTF_OBJ_FD: the value type is in a module's BTF (value_type_btf_obj_fd); no module BTF exists here. */
const BPF_F_VTYPE_BTF_OBJ_FD = 1 << 15;

/** Whether `bytes[from, to)` are all zero (memchr_inv). */
function zero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

export class StructOpsMap extends BpfMap implements StructOpsInstance {
  /** uvalue: what user space wrote (program ids where it put fds), what lookups return. */
  private readonly uvalue: Uint8Array;
  /** kvalue.data: the ops struct registered with the subsystem. */
  readonly kdata: Uint8Array;
  private state: number = BPF_STRUCT_OPS_STATE.INIT;
  /** st_map->links: the program of each function member, with its reference. */
  private readonly progs: (FdRef<FdProgram> | undefined)[];
  /** References the kernel holds on the map (reg's bpf_map_inc, links): the refcnt lookups report. */
  kernelRefs = 0;
  /** The subsystem's object made at reg (StructOpsInstance.registered). */
  registered: unknown = undefined;

  constructor(
    ops: MapOps,
    attr: MapAttr,
    env: MapEnv,
    owner: string,
    readonly st: StructOpsDesc,
  ) {
    super(ops, attr, env, owner, 1, false);
    this.uvalue = new Uint8Array(st.valueSize);
    this.kdata = new Uint8Array(st.opsSize);
    this.progs = st.type.members.map(() => undefined);
  }

  get offsets(): readonly number[] {
    return this.st.offsets;
  }

  /** The program implementing member `member`, while the map holds one. */
  program(member: number): TailCallTarget | undefined {
    return this.progs[member]?.object.target;
  }

  /** Registered or ready to be (what bpf_struct_ops_valid_to_reg asks of a BPF_F_LINK map). */
  get ready(): boolean {
    return this.state === BPF_STRUCT_OPS_STATE.READY;
  }

  get isLink(): boolean {
    return (this.mapFlags & BPF_F_LINK) !== 0;
  }

  /** Programs cannot look a struct_ops map up (bpf_struct_ops_map_lookup_elem: an error pointer): NULL. */
  lookup(): number {
    return 0;
  }

  /** bpf_struct_ops_map_sys_lookup_elem: zeros before the first update, else the user value with state and refcnt. */
  override lookupSys(key: Uint8Array, out: Uint8Array): number {
    if (new DataView(key.buffer, key.byteOffset).getUint32(0, true) !== 0) return -Errno.ENOENT;
    if (this.state === BPF_STRUCT_OPS_STATE.INIT) {
      out.fill(0);
      return 0;
    }
    out.set(this.uvalue);
    const view = new DataView(out.buffer, out.byteOffset);
    view.setUint32(0, this.kernelRefs, true);
    view.setUint32(4, this.state, true);
    return 0;
  }

  /** check_zero_holes of the value type and of the ops struct in it: every byte outside a member is zero. */
  private holesZero(value: Uint8Array): boolean {
    const data = STRUCT_OPS_DATA_OFFSET;
    if (!zero(value, STRUCT_OPS_COMMON_SIZE, data) || !zero(value, data + this.st.opsSize, value.length)) return false;
    let end = 0;
    this.st.type.members.forEach((member, i) => {
      const offset = this.st.offsets[i] ?? 0;
      if (!zero(value, data + end, data + offset)) end = -1;
      if (end >= 0) end = offset + (member.kind === 'func' ? 8 : member.size);
    });
    return end >= 0 && zero(value, data + end, data + this.st.opsSize);
  }

  /** bpf_struct_ops_map_update_elem. */
  override updateWithFds(key: Uint8Array, value: Uint8Array, flags: number, fds: MapFdObjects): number {
    if (flags !== 0) return -Errno.EINVAL;
    if (new DataView(key.buffer, key.byteOffset).getUint32(0, true) !== 0) return -Errno.E2BIG;
    if (!this.holesZero(value)) return -Errno.EINVAL;
    const view = new DataView(value.buffer, value.byteOffset);
    if (view.getUint32(0, true) !== 0 || view.getUint32(4, true) !== 0) return -Errno.EINVAL;
    if (this.state !== BPF_STRUCT_OPS_STATE.INIT) return -Errno.EBUSY;
    this.uvalue.set(value);
    const udata = this.uvalue.subarray(STRUCT_OPS_DATA_OFFSET, STRUCT_OPS_DATA_OFFSET + this.st.opsSize);
    const udataView = new DataView(udata.buffer, udata.byteOffset);
    const type = this.st.type;
    const err = this.fill(udata, udataView, fds);
    if (err !== 0) return this.reset(err);
    if (this.isLink) {
      const bad = type.validate?.(this) ?? 0;
      if (bad !== 0) return this.reset(bad);
      this.state = BPF_STRUCT_OPS_STATE.READY;
      return 0;
    }
    const regErr = type.reg(this, this.st.kernel);
    if (regErr !== 0) return this.reset(regErr);
    // bpf_map_inc: the registration holds the map.
    this.kernelRefs++;
    this.state = BPF_STRUCT_OPS_STATE.INUSE;
    return 0;
  }

  /** The members in order: init_member, plain members zero, function members' programs checked and held. */
  private fill(udata: Uint8Array, udataView: DataView, fds: MapFdObjects): number {
    const type = this.st.type;
    for (let i = 0; i < type.members.length; i++) {
      const member = type.members[i];
      if (member === undefined) continue;
      const offset = this.st.offsets[i] ?? 0;
      const handled = type.initMember(member, offset, this.kdata, udata);
      if (handled < 0) return handled;
      if (handled > 0) continue;
      if (member.kind !== 'func') {
        if (!zero(udata, offset, offset + member.size)) return -Errno.EINVAL;
        continue;
      }
      // prog_fd = (int)(*(unsigned long *)(udata + moff)).
      const fd = udataView.getInt32(offset, true);
      if (fd === 0) continue;
      const prog = fds.progFromFd(fd);
      if (typeof prog === 'number') return prog;
      const p = prog.object;
      if (p.progType !== BPF_PROG_TYPE.STRUCT_OPS || p.attachBtfId !== this.st.typeId || p.expectedAttachType !== i) {
        prog.put();
        return -Errno.EINVAL;
      }
      this.progs[i] = prog;
      // The program's id goes where its fd was (what lookups show).
      udataView.setBigUint64(offset, BigInt(prog.id), true);
    }
    return 0;
  }

  /** reset_unlock: drop the programs taken, forget both values; the error. */
  private reset(err: number): number {
    this.putProgs();
    this.uvalue.fill(0);
    this.kdata.fill(0);
    return err;
  }

  private putProgs(): void {
    for (let i = 0; i < this.progs.length; i++) {
      this.progs[i]?.put();
      this.progs[i] = undefined;
    }
  }

  /** bpf_struct_ops_map_delete_elem: a registered map is unregistered; a link map answers EOPNOTSUPP. */
  override deleteSys(): number {
    if (this.isLink) return -Errno.EOPNOTSUPP;
    switch (this.state) {
      case BPF_STRUCT_OPS_STATE.INUSE:
        this.state = BPF_STRUCT_OPS_STATE.TOBEFREE;
        this.st.type.unreg(this, this.st.kernel);
        this.kernelRefs--;
        return 0;
      case BPF_STRUCT_OPS_STATE.TOBEFREE:
        return -Errno.EINPROGRESS;
      default:
        return -Errno.ENOENT;
    }
  }

  /** bpf_struct_ops_map_get_next_key: the one key, 0. */
  getNextKey(key: Uint8Array | null, next: Uint8Array): number {
    if (key !== null && new DataView(key.buffer, key.byteOffset).getUint32(0, true) === 0) return -Errno.ENOENT;
    new DataView(next.buffer, next.byteOffset).setUint32(0, 0, true);
    return 0;
  }

  /** bpf_struct_ops_map_mem_usage: the map struct with both values and the link array (and the trampoline page, not modelled). */
  memUsage(): number {
    return this.uvalue.length + this.kdata.length + 8 * this.progs.length;
  }

  free(): void {
    this.putProgs();
  }

  // The element paths programs and the generic syscall code take: a struct_ops map has none of them.
  protected updateElem(): number {
    return -Errno.EINVAL;
  }
  protected deleteElem(): number {
    return -Errno.EINVAL;
  }
  protected copyOut(): number {
    return -Errno.EINVAL;
  }
}

/** bpf_struct_ops_map_alloc_check + bpf_struct_ops_map_alloc. */
export const STRUCT_OPS_MAP_OPS: MapOps = defineMapOps(
  BPF_MAP_TYPE.STRUCT_OPS,
  'struct_ops',
  false,
  (attr) =>
    attr.keySize !== 4 || attr.maxEntries !== 1 || (attr.mapFlags & ~(BPF_F_LINK | BPF_F_VTYPE_BTF_OBJ_FD)) !== 0 || (attr.btfVmlinuxValueTypeId ?? 0) === 0
      ? -Errno.EINVAL
      : 0,
  (ops, attr, env, owner) => {
    // A value type in a module's BTF: no module BTF (value_type_btf_obj_fd) resolves here.
    if ((attr.mapFlags & BPF_F_VTYPE_BTF_OBJ_FD) !== 0) return -Errno.EINVAL;
    const st = env.structOps?.findValue(attr.btfVmlinuxValueTypeId ?? 0);
    if (st === undefined) return -ENOTSUPP;
    if (attr.valueSize !== st.valueSize) return -Errno.EINVAL;
    return new StructOpsMap(ops, attr, env, owner, st);
  },
);
