/**
 * The cgroup attach commands (kernel/bpf/cgroup.c): BPF_PROG_ATTACH / BPF_PROG_DETACH / BPF_PROG_QUERY with a
 * cgroup directory's fd as target (cgroup_bpf_prog_attach, cgroup_bpf_prog_detach, cgroup_bpf_prog_query) and
 * cgroup links (cgroup_bpf_link_attach: BPF_LINK_TYPE_CGROUP, always BPF_F_ALLOW_MULTI; link info and fdinfo
 * name the cgroup id and the attach type; LINK_UPDATE swaps the program; a removed cgroup leaves its links
 * attached to nothing). registerCgroupBpf plugs the runner into the kernel's cgroup hierarchy.
 */
import { hasCapability, type Cgroup, type CgroupHierarchy, type CurrentTask, type Task, type UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTR_LAYOUTS, BPF_F_ATTACH, BPF_LINK_INFO_CGROUP, BPF_LINK_TYPE, BPF_MAP_TYPE, CAP, Errno } from '@ebpf-sim/uapi';
import type { CgrpStorageMap } from '../maps/bpf_cgrp_storage.js';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { BpfLink, BpfLinkOps } from '../syscall/link.js';
import type { ProgObject } from '../syscall/prog.js';
import {
  CGROUP_PROG_TYPE_OF_ATTACH_TYPE,
  cgroupBpfAttach,
  cgroupBpfDetach,
  cgroupBpfQuery,
  cgroupBpfRelease,
  cgroupBpfReplace,
  cgroupCheckAttachType,
} from './cgroup.js';
import { cgroupRunner } from './cgroup-run.js';
import type { LinkCreateHandler } from './link-create.js';

/** struct bpf_cgroup_link's own part: the cgroup (null once detached or the cgroup is gone). */
interface CgroupLinkData {
  cgroup: Cgroup | null;
  readonly attachType: number;
  readonly bpf: BpfSyscall;
}

const dataOf = (link: BpfLink): CgroupLinkData => link.data as CgroupLinkData;

/** bpf_cgroup_link_release (and ops->detach): out of the cgroup's list, once. */
function cgroupLinkRelease(link: BpfLink): void {
  const data = dataOf(link);
  const cgroup = data.cgroup;
  if (cgroup === null) return;
  cgroupBpfDetach(data.bpf, cgroup, null, link, data.attachType, 0);
  data.cgroup = null;
}

/** sizeof(struct bpf_cgroup_link): struct bpf_link (64 bytes in 6.18) + the cgroup pointer. */
const CGROUP_LINK_SIZE = 72;

export const CGROUP_LINK_OPS: BpfLinkOps = {
  type: BPF_LINK_TYPE.CGROUP,
  objectSize: CGROUP_LINK_SIZE,
  release: cgroupLinkRelease,
  detach(link) {
    cgroupLinkRelease(link);
    return 0;
  },
  /** cgroup_bpf_replace: ENOLINK once the cgroup is gone, EPERM when old is not the link's program. */
  updateProg(link, newProg, oldProg) {
    const data = dataOf(link);
    if (data.cgroup === null) return -Errno.ENOLINK;
    if (oldProg !== null && link.prog !== oldProg) return -Errno.EPERM;
    return cgroupBpfReplace(data.cgroup, link, data.attachType, newProg);
  },
  fillInfo(link, info) {
    const data = dataOf(link);
    info.setBigUint64(BPF_LINK_INFO_CGROUP.cgroup_id, BigInt(data.cgroup?.id ?? 0), true);
    info.setUint32(BPF_LINK_INFO_CGROUP.attach_type, data.attachType, true);
    return 0;
  },
  showFdinfo(link) {
    const data = dataOf(link);
    return `cgroup_id:\t${data.cgroup?.id ?? 0}\nattach_type:\t${data.attachType}\n`;
  },
};

/** BPF_F_LINK_ATTACH_MASK: the placement flags a cgroup link may carry. */
const LINK_ATTACH_MASK = BPF_F_ATTACH.ID | BPF_F_ATTACH.BEFORE | BPF_F_ATTACH.AFTER | BPF_F_ATTACH.PREORDER | BPF_F_ATTACH.LINK;

/** link_create for CGROUP_SKB / CGROUP_SOCK: bpf_prog_attach_check_attach_type, then cgroup_bpf_link_attach. */
export const cgroupLinkCreate: LinkCreateHandler = ({ bpf, task, prog, attachType, targetFd, flags }) => {
  const checked = cgroupCheckAttachType(prog, attachType, hasCapability(task.group.cred, CAP.NET_ADMIN));
  if (checked !== 0) return checked;
  if ((flags & ~LINK_ATTACH_MASK) !== 0) return -Errno.EINVAL;
  const cgroup = bpf.cgroupFromFd(task, targetFd);
  if (typeof cgroup === 'number') return cgroup;
  const data: CgroupLinkData = { cgroup, attachType, bpf };
  const primer = bpf.links.prime(CGROUP_LINK_OPS, prog, data);
  if (typeof primer === 'number') return primer;
  const C = BPF_ATTR_LAYOUTS.LINK_CREATE;
  const ret = cgroupBpfAttach(
    bpf,
    task,
    cgroup,
    null,
    null,
    primer.link,
    attachType,
    BPF_F_ATTACH.ALLOW_MULTI | flags,
    bpf.u32(C.relative_fd.offset),
    bpf.u64(C.expected_revision.offset),
  );
  if (ret !== 0) {
    data.cgroup = null;
    bpf.links.cleanup(primer);
    return ret;
  }
  return bpf.links.settle(task, primer);
};

/** cgroup_bpf_prog_attach (after bpf_prog_attach's checks; the caller's program reference passes on success). */
export function cgroupProgAttach(bpf: BpfSyscall, task: Task, prog: ProgObject): number {
  const A = BPF_ATTR_LAYOUTS.PROG_ATTACH;
  const attachType = bpf.u32(A.attach_type.offset);
  const checked = cgroupCheckAttachType(prog, attachType, hasCapability(task.group.cred, CAP.NET_ADMIN));
  if (checked !== 0) return checked;
  const cgroup = bpf.cgroupFromFd(task, bpf.u32(A.target_fd.offset));
  if (typeof cgroup === 'number') return cgroup;
  const flags = bpf.u32(A.attach_flags.offset);
  let replace: ProgObject | null = null;
  if ((flags & BPF_F_ATTACH.ALLOW_MULTI) !== 0 && (flags & BPF_F_ATTACH.REPLACE) !== 0) {
    // bpf_prog_get_type(replace_bpf_fd, ptype).
    const old = bpf.progFromFd(task, bpf.u32(A.replace_bpf_fd.offset));
    if (typeof old === 'number') return old;
    if (old.progType !== prog.progType) return -Errno.EINVAL;
    replace = old;
  }
  return cgroupBpfAttach(bpf, task, cgroup, prog, replace, null, attachType, flags, bpf.u32(A.relative_fd.offset), bpf.u64(A.expected_revision.offset));
}

/** cgroup_bpf_prog_detach: the program behind attach_bpf_fd if it is one of the type (else none), from the cgroup. */
export function cgroupProgDetach(bpf: BpfSyscall, task: Task): number {
  const D = BPF_ATTR_LAYOUTS.PROG_DETACH;
  const cgroup = bpf.cgroupFromFd(task, bpf.u32(D.target_fd.offset));
  if (typeof cgroup === 'number') return cgroup;
  const attachType = bpf.u32(D.attach_type.offset);
  const found = bpf.progFromFd(task, bpf.u32(D.attach_bpf_fd.offset));
  const prog = typeof found !== 'number' && found.progType === CGROUP_PROG_TYPE_OF_ATTACH_TYPE.get(attachType) ? found : null;
  return cgroupBpfDetach(bpf, cgroup, prog, null, attachType, bpf.u64(D.expected_revision.offset));
}

/** cgroup_bpf_prog_query. */
export function cgroupProgQuery(bpf: BpfSyscall, mm: UserCopy, uattr: number, task: Task): number {
  const cgroup = bpf.cgroupFromFd(task, bpf.u32(BPF_ATTR_LAYOUTS.PROG_QUERY.target_fd.offset));
  return typeof cgroup === 'number' ? cgroup : cgroupBpfQuery(bpf, cgroup, mm, uattr);
}

/**
 * Plug the bpf subsystem into the kernel's cgroups: fds of cgroupfs directories name cgroups for the attach
 * commands, the kernel's hook sites run the effective programs, and a removed cgroup's programs go with it.
 */
export function registerCgroupBpf(bpf: BpfSyscall, cgroups: CgroupHierarchy, current: CurrentTask): void {
  bpf.cgroupHierarchy = cgroups;
  cgroups.bpf = cgroupRunner(bpf, current, (cgroup) => {
    cgroupBpfRelease(bpf, cgroup, (link) => {
      (link.data as CgroupLinkData).cgroup = null;
    });
    // bpf_cgrp_storage_free: every CGRP_STORAGE map drops the cgroup's value.
    for (let id = bpf.maps.nextAfter(0); id !== 0; id = bpf.maps.nextAfter(id)) {
      const map = bpf.maps.find(id)?.map;
      if (map?.type === BPF_MAP_TYPE.CGRP_STORAGE) (map as CgrpStorageMap).cgroupGone(cgroup);
    }
  });
}
