/**
 * Programs attached to cgroups (kernel/bpf/cgroup.c, Linux 6.18): each cgroup's list of programs per attach
 * type with its flags (none, BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI) and revision, and the effective arrays
 * computed down the hierarchy (compute_effective_progs): a cgroup runs its own programs, then, while each level
 * allows multiple programs, its ancestors' (an ancestor's overridable program yields to a descendant's). Attach
 * (BPF_PROG_ATTACH and cgroup links), detach and query follow __cgroup_bpf_attach, __cgroup_bpf_detach and
 * __cgroup_bpf_query with their errnos; placement follows get_prog_list (BPF_F_BEFORE / BPF_F_AFTER, an anchor
 * by fd or id, BPF_F_PREORDER).
 *
 * The kernel's cgroup holds only the number of effective programs per attach type (`bpfEffective`), which its
 * hook sites test; running them is {@link cgroupRunner} (cgroup-run.ts).
 *
 * Cgroup storages (CGROUP_STORAGE, PERCPU_CGROUP_STORAGE) are allocated at attach for each storage map the
 * program uses, one per (cgroup, attach type) and shared by the programs attached there
 * (bpf_cgroup_storages_alloc reuses a linked one), linked under the cgroup's id and the attach type, and handed
 * to the program at run time through the effective array's items (bpf_cgroup_storages_assign).
 */
import type { Cgroup, Task, UserCopy } from '@ebpf-sim/kernel';
import { BPF_ATTACH_TYPE, BPF_ATTR_LAYOUTS, BPF_F_ATTACH, BPF_F_QUERY_EFFECTIVE, BPF_MAP_TYPE, BPF_PROG_TYPE, Errno } from '@ebpf-sim/uapi';
import type { CgroupStorage, CgroupStorageMap } from '../maps/local_storage.js';
import type { BpfSyscall } from '../syscall/bpf-syscall.js';
import type { AnyBpfLink, BpfLink } from '../syscall/link.js';
import type { ProgObject } from '../syscall/prog.js';

/** BPF_CGROUP_MAX_PROGS. */
const CGROUP_MAX_PROGS = 64;

/** The cgroup storages of one attachment: [shared (CGROUP_STORAGE), per-CPU (PERCPU_CGROUP_STORAGE)]. */
export type CgroupStorages = [CgroupStorage | null, CgroupStorage | null];

/** struct bpf_prog_list: a program attached directly, or a link's. */
interface ProgListEntry {
  prog: ProgObject | null;
  link: BpfLink | null;
  flags: number;
  storages: CgroupStorages;
}

/** struct bpf_prog_array_item: what runs, with its storages. */
export interface EffectiveItem {
  readonly prog: ProgObject;
  readonly storages: CgroupStorages;
}

/** struct cgroup_bpf of one cgroup: per attach type its programs, flags, revision and effective array. */
class CgroupBpf {
  readonly progs: ProgListEntry[][] = [];
  readonly flags: number[] = [];
  readonly revisions: number[] = [];
  readonly effective: EffectiveItem[][] = [];

  list(atype: number): ProgListEntry[] {
    let list = this.progs[atype];
    if (list === undefined) {
      list = [];
      this.progs[atype] = list;
    }
    return list;
  }
}

const states = new WeakMap<Cgroup, CgroupBpf>();

function stateOf(cgroup: Cgroup): CgroupBpf {
  let state = states.get(cgroup);
  if (state === undefined) {
    state = new CgroupBpf();
    states.set(cgroup, state);
  }
  return state;
}

/** The effective programs of `cgroup` at `attachType`, in run order (empty when none). */
export function cgroupEffective(cgroup: Cgroup, attachType: number): readonly EffectiveItem[] {
  return states.get(cgroup)?.effective[attachType] ?? [];
}

/** The programs attached to `cgroup` itself at `attachType` (for `cgroup show` and tests). */
export function cgroupAttached(cgroup: Cgroup, attachType: number): { progs: ProgObject[]; flags: number } {
  const state = states.get(cgroup);
  const progs = (state?.progs[attachType] ?? []).map(entryProg).filter((p): p is ProgObject => p !== null);
  return { progs, flags: state?.flags[attachType] ?? 0 };
}

/** prog_list_prog: the entry's program, directly or through its link. */
const entryProg = (entry: ProgListEntry): ProgObject | null => entry.prog ?? entry.link?.prog ?? null;

/** prog_list_length (entries being deleted have neither program nor link). */
const listLength = (list: readonly ProgListEntry[] | undefined): number => (list ?? []).filter((e) => entryProg(e) !== null).length;

/** hierarchy_allows_attach: an ancestor's single non-overridable program forbids programs below it. */
function hierarchyAllowsAttach(cgroup: Cgroup, atype: number): boolean {
  for (let p = cgroup.parent; p !== undefined; p = p.parent) {
    const state = states.get(p);
    const flags = state?.flags[atype] ?? 0;
    if ((flags & BPF_F_ATTACH.ALLOW_MULTI) !== 0) return true;
    if (listLength(state?.progs[atype]) === 1) return (flags & BPF_F_ATTACH.ALLOW_OVERRIDE) !== 0;
  }
  return true;
}

/** compute_effective_progs: this cgroup's programs, then each ancestor's while the levels allow multiple. */
function computeEffective(cgroup: Cgroup, atype: number): EffectiveItem[] {
  const preorder: EffectiveItem[] = [];
  const normal: EffectiveItem[] = [];
  let count = 0;
  for (let p: Cgroup | undefined = cgroup; p !== undefined; p = p.parent) {
    const state = states.get(p);
    if (count > 0 && ((state?.flags[atype] ?? 0) & BPF_F_ATTACH.ALLOW_MULTI) === 0) continue;
    // BPF_F_PREORDER programs run before the others, the higher levels' first (filled backwards, each level reversed back).
    const levelPreorder: EffectiveItem[] = [];
    for (const entry of state?.progs[atype] ?? []) {
      const prog = entryProg(entry);
      if (prog === null) continue;
      const item = { prog, storages: entry.storages };
      if ((entry.flags & BPF_F_ATTACH.PREORDER) !== 0) levelPreorder.push(item);
      else normal.push(item);
      count++;
    }
    preorder.unshift(...levelPreorder);
  }
  return [...preorder, ...normal];
}

/** update_effective_progs: every cgroup at or below `cgroup` gets its array recomputed, and the kernel its counts. */
function updateEffective(cgroup: Cgroup, atype: number): void {
  for (const desc of cgroup.descendantsPre()) {
    const items = computeEffective(desc, atype);
    const state = states.get(desc);
    if (items.length === 0 && state === undefined) {
      desc.bpfEffective[atype] = 0;
      continue;
    }
    stateOf(desc).effective[atype] = items;
    desc.bpfEffective[atype] = items.length;
  }
}

/** cgroup_bpf_inherit: a new cgroup runs what its ancestors make effective there. */
export function cgroupBpfInherit(cgroup: Cgroup): void {
  const parent = cgroup.parent;
  if (parent === undefined) return;
  for (let atype = 0; atype < parent.bpfEffective.length; atype++) if (parent.bpfEffective[atype] !== 0) updateEffective(cgroup, atype);
}

/** find_attach_entry: the entry a single-program attach or a replace takes over; null for a new one; or -errno. */
function findAttachEntry(
  list: ProgListEntry[],
  prog: ProgObject | null,
  link: BpfLink | null,
  replace: ProgObject | null,
  allowMulti: boolean,
): ProgListEntry | null | number {
  if (!allowMulti) return list[0] ?? null;
  for (const entry of list) {
    if (prog !== null && entry.prog === prog && prog !== replace) return -Errno.EINVAL;
    if (link !== null && entry.link === link) return -Errno.EINVAL;
  }
  if (replace !== null) return list.find((entry) => entry.prog === replace) ?? -Errno.ENOENT;
  return null;
}

/** Where get_prog_list puts a new entry: the index in the list, or -errno. */
function insertIndex(
  bpf: BpfSyscall,
  task: Task | null,
  list: ProgListEntry[],
  prog: ProgObject | null,
  link: BpfLink | null,
  flags: number,
  idOrFd: number,
): number {
  const isLink = (flags & BPF_F_ATTACH.LINK) !== 0;
  const isId = (flags & BPF_F_ATTACH.ID) !== 0;
  const before = (flags & BPF_F_ATTACH.BEFORE) !== 0;
  const after = (flags & BPF_F_ATTACH.AFTER) !== 0;
  const preorder = (flags & BPF_F_ATTACH.PREORDER) !== 0;
  if (isLink || isId || idOrFd !== 0) {
    if (before === after) return -Errno.EINVAL;
    if ((isLink && link === null) || (!isLink && prog === null)) return -Errno.EINVAL;
  } else if (list.length !== 0 && before && after) {
    return -Errno.EINVAL;
  }
  if (!isLink && !isId && idOrFd === 0) return before ? 0 : list.length;
  // The anchor: a link (by id or fd) or a program (by id or fd), bpf_get_anchor_link / bpf_get_anchor_prog.
  let anchorLink: AnyBpfLink | undefined;
  let anchorProg: ProgObject | undefined;
  if (isLink) {
    const found = isId ? (bpf.links.ids.find(idOrFd) ?? -Errno.ENOENT) : task === null ? -Errno.EBADF : bpf.links.fromFd(task, idOrFd);
    if (typeof found === 'number') return found;
    anchorLink = found;
  } else {
    const found = isId ? (bpf.progs.progs.find(idOrFd) ?? -Errno.ENOENT) : task === null ? -Errno.EBADF : bpf.progFromFd(task, idOrFd);
    if (typeof found === 'number') return found;
    anchorProg = found;
  }
  const at = list.findIndex((entry) => (anchorProg !== undefined && entry.prog === anchorProg) || (anchorLink !== undefined && entry.link === anchorLink));
  if (at < 0) return -Errno.ENOENT;
  if ((((list[at]?.flags ?? 0) & BPF_F_ATTACH.PREORDER) !== 0) !== preorder) return -Errno.EINVAL;
  return before ? at : at + 1;
}

/** bpf_cgroup_storages_alloc: the storages of `prog`'s storage maps for (cgroup, attach type), reused when linked. */
function allocStorages(
  prog: ProgObject,
  cgroup: Cgroup,
  attachType: number,
): { storages: CgroupStorages; fresh: Array<[CgroupStorageMap, CgroupStorage]> } | null {
  const storages: CgroupStorages = [null, null];
  const fresh: Array<[CgroupStorageMap, CgroupStorage]> = [];
  for (const object of prog.usedMaps) {
    const type = object.map.type;
    if (type !== BPF_MAP_TYPE.CGROUP_STORAGE && type !== BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE) continue;
    const map = object.map as CgroupStorageMap;
    const stype = type === BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE ? 1 : 0;
    const linked = map.storageOf(cgroup.id, attachType);
    if (linked !== undefined) {
      storages[stype] = linked;
      continue;
    }
    const storage = map.allocStorage();
    if (storage === null) {
      for (const [m, s] of fresh) m.freeStorage(s);
      return null;
    }
    storages[stype] = storage;
    fresh.push([map, storage]);
  }
  return { storages, fresh };
}

/**
 * __cgroup_bpf_attach: `prog` (BPF_PROG_ATTACH, with the caller's reference) or `link` (a cgroup link) at
 * `attachType` of `cgroup`. 0 or -errno; on success a direct program's reference passes to the cgroup (a program
 * it replaces is put).
 */
export function cgroupBpfAttach(
  bpf: BpfSyscall,
  task: Task | null,
  cgroup: Cgroup,
  prog: ProgObject | null,
  replace: ProgObject | null,
  link: BpfLink | null,
  attachType: number,
  flags: number,
  idOrFd: number,
  revision: number,
): number {
  const F = BPF_F_ATTACH;
  const savedFlags = flags & (F.ALLOW_OVERRIDE | F.ALLOW_MULTI);
  if (((flags & F.ALLOW_OVERRIDE) !== 0 && (flags & F.ALLOW_MULTI) !== 0) || ((flags & F.REPLACE) !== 0 && (flags & F.ALLOW_MULTI) === 0)) return -Errno.EINVAL;
  if ((flags & F.REPLACE) !== 0 && (flags & (F.BEFORE | F.AFTER)) !== 0) return -Errno.EINVAL;
  if (link !== null && (prog !== null || replace !== null)) return -Errno.EINVAL;
  if ((replace !== null) !== ((flags & F.REPLACE) !== 0)) return -Errno.EINVAL;
  const newProg = prog ?? link?.prog;
  if (newProg === undefined) return -Errno.EINVAL;
  const state = stateOf(cgroup);
  const atype = attachType;
  if (revision !== 0 && revision !== (state.revisions[atype] ?? 0)) return -Errno.ESTALE;
  const list = state.list(atype);
  if (!hierarchyAllowsAttach(cgroup, atype)) return -Errno.EPERM;
  if (list.length !== 0 && (state.flags[atype] ?? 0) !== savedFlags) return -Errno.EPERM;
  if (listLength(list) >= CGROUP_MAX_PROGS) return -Errno.E2BIG;
  const found = findAttachEntry(list, prog, link, replace, (flags & F.ALLOW_MULTI) !== 0);
  if (typeof found === 'number') return found;
  const alloc = allocStorages(newProg, cgroup, attachType);
  if (alloc === null) return -Errno.ENOMEM;
  let entry = found;
  let oldProg: ProgObject | null = null;
  if (entry !== null) {
    oldProg = entry.prog;
  } else {
    const at = insertIndex(bpf, task, list, prog, link, flags, idOrFd);
    if (at < 0) {
      for (const [m, s] of alloc.fresh) m.freeStorage(s);
      return at;
    }
    entry = { prog: null, link: null, flags: 0, storages: [null, null] };
    list.splice(at, 0, entry);
  }
  entry.prog = prog;
  entry.link = link;
  entry.flags = flags;
  entry.storages = alloc.storages;
  state.flags[atype] = savedFlags;
  updateEffective(cgroup, atype);
  state.revisions[atype] = (state.revisions[atype] ?? 0) + 1;
  if (oldProg !== null) bpf.progs.put(oldProg);
  for (const [map, storage] of alloc.fresh) map.link(storage, cgroup.id, attachType);
  return 0;
}

/** __cgroup_bpf_detach: `prog` or `link` (or, for a single-program list, whatever is there) from `cgroup`. */
export function cgroupBpfDetach(bpf: BpfSyscall, cgroup: Cgroup, prog: ProgObject | null, link: BpfLink | null, attachType: number, revision: number): number {
  const state = stateOf(cgroup);
  const atype = attachType;
  if (revision !== 0 && revision !== (state.revisions[atype] ?? 0)) return -Errno.ESTALE;
  if (prog !== null && link !== null) return -Errno.EINVAL;
  const list = state.list(atype);
  const flags = state.flags[atype] ?? 0;
  let entry: ProgListEntry | undefined;
  if ((flags & BPF_F_ATTACH.ALLOW_MULTI) === 0) {
    // NONE and OVERRIDE lists detach their program whatever fd names it (the legacy rule).
    entry = list[0];
    if (entry === undefined) return -Errno.ENOENT;
  } else {
    if (prog === null && link === null) return -Errno.EINVAL;
    entry = list.find((e) => e.prog === prog && e.link === link);
    if (entry === undefined) return -Errno.ENOENT;
  }
  const oldProg = entry.prog;
  entry.prog = null;
  entry.link = null;
  updateEffective(cgroup, atype);
  list.splice(list.indexOf(entry), 1);
  state.revisions[atype] = (state.revisions[atype] ?? 0) + 1;
  if (list.length === 0) state.flags[atype] = 0;
  if (oldProg !== null) bpf.progs.put(oldProg);
  return 0;
}

/** cgroup_bpf_release: a removed cgroup's programs are put and its links left pointing at nothing. */
export function cgroupBpfRelease(bpf: BpfSyscall, cgroup: Cgroup, unlink: (link: BpfLink) => void): void {
  const state = states.get(cgroup);
  if (state === undefined) return;
  for (let atype = 0; atype < state.progs.length; atype++) {
    for (const entry of state.progs[atype] ?? []) {
      if (entry.prog !== null) bpf.progs.put(entry.prog);
      if (entry.link !== null) unlink(entry.link);
    }
    cgroup.bpfEffective[atype] = 0;
  }
  states.delete(cgroup);
}

/** __cgroup_bpf_replace (BPF_LINK_UPDATE of a cgroup link): ENOENT when the link is not in the list. */
export function cgroupBpfReplace(cgroup: Cgroup, link: BpfLink, attachType: number, newProg: ProgObject): number {
  const state = stateOf(cgroup);
  if (link.prog.progType !== newProg.progType) return -Errno.EINVAL;
  const list = state.list(attachType);
  if (!list.some((entry) => entry.link === link)) return -Errno.ENOENT;
  state.revisions[attachType] = (state.revisions[attachType] ?? 0) + 1;
  // The shared LINK_UPDATE code swaps link.prog; the effective arrays take the new program through it.
  for (const desc of cgroup.descendantsPre()) {
    const items = states.get(desc)?.effective[attachType];
    if (items === undefined) continue;
    const descState = stateOf(desc);
    descState.effective[attachType] = items.map((item) => (item.prog === link.prog ? { prog: newProg, storages: item.storages } : item));
  }
  return 0;
}

/** attach_type_to_prog_type for the cgroup attach types this kernel fires. */
export const CGROUP_PROG_TYPE_OF_ATTACH_TYPE: ReadonlyMap<number, number> = new Map([
  [BPF_ATTACH_TYPE.CGROUP_INET_INGRESS, BPF_PROG_TYPE.CGROUP_SKB],
  [BPF_ATTACH_TYPE.CGROUP_INET_EGRESS, BPF_PROG_TYPE.CGROUP_SKB],
  [BPF_ATTACH_TYPE.CGROUP_INET_SOCK_CREATE, BPF_PROG_TYPE.CGROUP_SOCK],
  [BPF_ATTACH_TYPE.CGROUP_INET_SOCK_RELEASE, BPF_PROG_TYPE.CGROUP_SOCK],
  [BPF_ATTACH_TYPE.CGROUP_INET4_POST_BIND, BPF_PROG_TYPE.CGROUP_SOCK],
  [BPF_ATTACH_TYPE.CGROUP_INET6_POST_BIND, BPF_PROG_TYPE.CGROUP_SOCK],
]);

/**
 * bpf_prog_attach_check_attach_type for the cgroup program types: CGROUP_SOCK programs attach only at their
 * expected attach type; CGROUP_SKB needs CAP_NET_ADMIN at attach (unprivileged users may load it) and an
 * attach type of its program type (the expected one only when the verifier enforced it).
 */
export function cgroupCheckAttachType(prog: ProgObject, attachType: number, netAdmin: boolean): number {
  if (prog.progType === BPF_PROG_TYPE.CGROUP_SOCK) return attachType === prog.expectedAttachType ? 0 : -Errno.EINVAL;
  if (prog.progType === BPF_PROG_TYPE.CGROUP_SKB) {
    if (!netAdmin) return -Errno.EPERM;
    return CGROUP_PROG_TYPE_OF_ATTACH_TYPE.get(attachType) === prog.progType ? 0 : -Errno.EINVAL;
  }
  return -Errno.EINVAL;
}

/** __cgroup_bpf_query: attach_flags, prog_cnt, revision, then the ids (and per-program flags) that fit. */
export function cgroupBpfQuery(bpf: BpfSyscall, cgroup: Cgroup, mm: UserCopy, uattr: number): number {
  const Q = BPF_ATTR_LAYOUTS.PROG_QUERY;
  const effectiveQuery = (bpf.u32(Q.query_flags.offset) & BPF_F_QUERY_EFFECTIVE) !== 0;
  const progAttachFlags = bpf.u64(Q.prog_attach_flags.offset);
  const progIds = bpf.u64(Q.prog_ids.offset);
  const atype = bpf.u32(Q.attach_type.offset);
  if (effectiveQuery && progAttachFlags !== 0) return -Errno.EINVAL;
  const state = states.get(cgroup);
  const attached = (state?.progs[atype] ?? []).map(entryProg).filter((p): p is ProgObject => p !== null);
  const listed = effectiveQuery ? (state?.effective[atype] ?? []).map((item) => item.prog) : attached;
  let total = listed.length;
  const flags = effectiveQuery ? 0 : (state?.flags[atype] ?? 0);
  const revision = effectiveQuery ? 0 : (state?.revisions[atype] ?? 0);
  if (bpf.putU32(mm, uattr + Q.attach_flags.offset, flags) !== 0) return -Errno.EFAULT;
  if (bpf.putU32(mm, uattr + Q.prog_cnt.offset, total) !== 0) return -Errno.EFAULT;
  if (bpf.putU32(mm, uattr + Q.revision.offset, revision % 0x100000000) !== 0) return -Errno.EFAULT;
  if (bpf.putU32(mm, uattr + Q.revision.offset + 4, Math.floor(revision / 0x100000000)) !== 0) return -Errno.EFAULT;
  const room = bpf.u32(Q.prog_cnt.offset);
  if (room === 0 || progIds === 0 || total === 0) return 0;
  let ret = 0;
  if (room < total) {
    total = room;
    ret = -Errno.ENOSPC;
  }
  for (let i = 0; i < total; i++) {
    if (bpf.putU32(mm, progIds + 4 * i, listed[i]?.id ?? 0) !== 0) return -Errno.EFAULT;
    if (progAttachFlags !== 0 && bpf.putU32(mm, progAttachFlags + 4 * i, flags) !== 0) return -Errno.EFAULT;
  }
  return ret;
}
