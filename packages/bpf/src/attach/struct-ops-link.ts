/**
 * struct_ops links (kernel/bpf/bpf_struct_ops.c, Linux 6.18: bpf_struct_ops_link_create, bpf_struct_ops_map_lops).
 * A STRUCT_OPS map made with BPF_F_LINK is only checked by its update (state READY); BPF_LINK_CREATE with
 * attach_type BPF_STRUCT_OPS and the map's fd in prog_fd's place registers it with its subsystem (reg). The link
 * holds the map, not a program (link->prog is NULL). LINK_UPDATE moves the link to another READY map of the same
 * type (the subsystem's update), LINK_DETACH and the last reference unregister it (unreg).
 */
import type { Task, UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTR_LAYOUTS, BPF_LINK_INFO, BPF_LINK_TYPE, Errno } from '@ebpf-sim/uapi';
import { StructOpsMap } from '../maps/struct_ops.js';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { BpfLink, BpfLinkOps } from '../syscall/link.js';
import type { MapObject } from '../syscall/objects.js';

const C = BPF_ATTR_LAYOUTS.LINK_CREATE;

/** sizeof(struct bpf_struct_ops_link) on x86_64 Linux 6.18 (its vmlinux BTF: struct bpf_link, map, wait_hup). */
const STRUCT_OPS_LINK_SIZE = 120;

/** The type's part of struct bpf_struct_ops_link: the map it registered (NULL once detached), with its reference. */
interface StructOpsLinkData {
  readonly bpf: BpfSyscall;
  map: MapObject | null;
}

/** The struct_ops map behind a map object, or undefined for another map type. */
function structOpsMap(object: MapObject): StructOpsMap | undefined {
  return object.map instanceof StructOpsMap ? object.map : undefined;
}

/** bpf_struct_ops_valid_to_reg: a STRUCT_OPS map made with BPF_F_LINK whose update made it READY. */
function validToReg(object: MapObject): StructOpsMap | undefined {
  const map = structOpsMap(object);
  return map !== undefined && map.isLink && map.ready ? map : undefined;
}

/** bpf_map_get: the map behind `fd` with a reference, or -EBADF / -EINVAL. */
function mapGet(bpf: BpfSyscall, task: Task, fd: number): MapObject | number {
  const file = bpf.mapFile(task, fd);
  if (typeof file === 'number') return file;
  const object = file.privateData as MapObject;
  object.refs++;
  return object;
}

/** Unregister the link's map and drop the link's reference on it (detach and dealloc). */
function unregister(data: StructOpsLinkData): void {
  const object = data.map;
  if (object === null) return;
  data.map = null;
  const map = structOpsMap(object);
  if (map !== undefined) {
    map.st.type.unreg(map, map.st.kernel);
    map.kernelRefs--;
  }
  data.bpf.mapPut(object);
}

/** bpf_struct_ops_map_link_update: the new map READY, the type has update, same type, the expected old map (EPERM). */
function updateMap(link: BpfLink<null>, task: Task, newMapFd: number, oldMapFd: number, replace: boolean): number {
  const data = link.data as StructOpsLinkData;
  const { bpf } = data;
  const newObject = mapGet(bpf, task, newMapFd);
  if (typeof newObject === 'number') return newObject;
  let expected: MapObject | null = null;
  if (replace) {
    const old = mapGet(bpf, task, oldMapFd);
    if (typeof old === 'number') {
      bpf.mapPut(newObject);
      return old;
    }
    expected = old;
  } else if (oldMapFd !== 0) {
    bpf.mapPut(newObject);
    return -Errno.EINVAL;
  }
  const ret = swapMap(data, newObject, expected);
  if (expected !== null) bpf.mapPut(expected);
  // The link keeps its own reference on the new map when the swap took it; the command's goes either way.
  bpf.mapPut(newObject);
  return ret;
}

function swapMap(data: StructOpsLinkData, newObject: MapObject, expected: MapObject | null): number {
  const next = validToReg(newObject);
  if (next === undefined) return -Errno.EINVAL;
  const type = next.st.type;
  if (type.update === undefined) return -Errno.EOPNOTSUPP;
  const oldObject = data.map;
  if (oldObject === null) return -Errno.ENOLINK;
  if (expected !== null && expected !== oldObject) return -Errno.EPERM;
  const old = structOpsMap(oldObject);
  // The new and old struct_ops must be the same type.
  if (old === undefined || old.st !== next.st) return -Errno.EINVAL;
  const err = type.update(next, old, next.st.kernel);
  if (err !== 0) return err;
  // bpf_map_inc(new_map), then bpf_map_put(old_map): the old map stays READY, free for another link.
  newObject.refs++;
  next.kernelRefs++;
  data.map = newObject;
  old.kernelRefs--;
  data.bpf.mapPut(oldObject);
  return 0;
}

export const STRUCT_OPS_LINK_OPS: BpfLinkOps<BpfLink<null>> = {
  type: BPF_LINK_TYPE.STRUCT_OPS,
  objectSize: STRUCT_OPS_LINK_SIZE,
  // bpf_struct_ops_map_link_dealloc: unreg if still registered.
  release: (link) => unregister(link.data as StructOpsLinkData),
  // bpf_struct_ops_map_link_detach: unreg now (0 also when detached already); the link lives on with no map.
  detach: (link) => {
    unregister(link.data as StructOpsLinkData);
    return 0;
  },
  updateMap,
  // bpf_struct_ops_map_link_fill_link_info: struct_ops.map_id, 0 once detached.
  fillInfo: (link: BpfLink<null>, info: DataView, _mm: UserCopy) => {
    const map = (link.data as StructOpsLinkData).map;
    if (map !== null) info.setUint32(BPF_LINK_INFO.union, map.map.id, true);
    return 0;
  },
  // bpf_struct_ops_map_link_show_fdinfo: map_id while a map is held.
  showFdinfo: (link) => {
    const map = (link.data as StructOpsLinkData).map;
    return map === null ? '' : `map_id:\t${map.map.id}\n`;
  },
};

/**
 * bpf_struct_ops_link_create (link_create with attach_type BPF_STRUCT_OPS, before any program is looked up): the
 * map READY (EINVAL otherwise), a link primed, the ops registered (reg; its error undoes the link), the link settled.
 */
export function structOpsLinkCreate(bpf: BpfSyscall, task: Task): number {
  const object = mapGet(bpf, task, bpf.u32(C.map_fd.offset));
  if (typeof object === 'number') return object;
  const map = validToReg(object);
  if (map === undefined) {
    bpf.mapPut(object);
    return -Errno.EINVAL;
  }
  const data: StructOpsLinkData = { bpf, map: null };
  const primer = bpf.links.prime(STRUCT_OPS_LINK_OPS, null, data);
  if (typeof primer === 'number') {
    bpf.mapPut(object);
    return primer;
  }
  const err = map.st.type.reg(map, map.st.kernel);
  if (err !== 0) {
    bpf.links.cleanup(primer);
    bpf.mapPut(object);
    return err;
  }
  map.kernelRefs++;
  data.map = object;
  return bpf.links.settle(task, primer);
}
