/**
 * cgroup v2 (kernel/cgroup/cgroup.c): the default hierarchy (cgrp_dfl_root, hierarchy id 0) with no
 * controllers. Every task is in exactly one cgroup: init (every task the kernel spawns) in the root, a forked
 * task in its parent's (cgroup_post_fork), and a process moves when its pid is written to a cgroup's
 * `cgroup.procs` (cgroup_attach_task with threadgroup). A task leaves its cgroup's task list when it exits
 * (cgroup_exit), so `populated` and `cgroup.procs` stop counting it, while /proc/PID/cgroup still names it.
 *
 * A cgroup's id is the inode number of its directory, as Linux's cgroup_id() is kernfs_ino() of its kernfs node
 * on 64-bit; cgroupfs.ts allocates inode numbers in Linux's order so the ids come out as Linux's do.
 *
 * The cgroup tracepoints (cgroup:cgroup_mkdir, cgroup_rmdir, cgroup_attach_task) fire as Linux's do, records
 * and raw tracepoints (TP_PROTO(struct cgroup *, const char *path, ...)): each cgroup has a struct cgroup and a
 * struct kernfs_node in kernel memory (layout.ts) for BTF-typed programs.
 *
 * The bpf subsystem keeps the programs attached to each cgroup (it owns cgroup_bpf); the kernel keeps only
 * how many programs are effective per attach type (`bpfEffective`), the check its hook sites make before
 * calling {@link CgroupBpfRunner} (Linux's cgroup_bpf_enabled + cgroup_bpf_sock_enabled).
 */
import { Errno, TRACE_CGROUP, TRACE_CGROUP_ATTACH_TASK } from '@ebpf-sim/uapi';
import type { File } from '../fs/file.js';
import type { HookArena } from '../hooks/arena.js';
import type { HookPoint } from '../hooks/hook.js';
import type { HookRegistry } from '../hooks/registry.js';
import { rawTracepointHookName } from '../hooks/registry.js';
import { fireRawTracepoint } from '../hooks/raw-tracepoints.js';
import type { PhysicalMemory } from '../mm/physmem.js';
import type { CurrentTask } from '../services.js';
import { TaskState, type Task, type ThreadGroup } from '../task/task.js';
import { CGROUP_STRUCT, KERNFS_NODE } from './layout.js';

/** The attach types a cgroup's programs are kept by: BPF_ATTACH_TYPE values are below this (MAX_BPF_ATTACH_TYPE). */
export const CGROUP_BPF_SLOTS = 64;

/** The hierarchy id of cgroup v2's root (cgrp_dfl_root.hierarchy_id), the tracepoints' `root`. */
export const CGROUP_DFL_HIERARCHY_ID = 0;

/** One cgroup: a directory of cgroupfs. */
export class Cgroup {
  readonly children = new Map<string, Cgroup>();
  /** The tasks in this cgroup (not in its descendants). */
  readonly tasks = new Set<Task>();
  /** The depth: 0 for the root. */
  readonly level: number;
  /** cgrp->ancestors[]: the ids from the root (index 0) to this cgroup (index level). */
  readonly ancestorIds: readonly number[];
  /**
   * How many programs run at each attach type (BPF_ATTACH_TYPE index) for sockets of this cgroup: written by the
   * bpf subsystem when it recomputes the effective arrays (compute_effective_progs), read by the hook sites.
   */
  readonly bpfEffective = new Uint16Array(CGROUP_BPF_SLOTS);
  /** False once rmdir has taken it out of the hierarchy (a socket may still hold it). */
  online = true;

  constructor(
    /** cgroup_id: the inode number of its directory. */
    readonly id: number,
    readonly name: string,
    readonly parent: Cgroup | undefined,
    /** struct cgroup in kernel memory (0 when there was no memory for it). */
    readonly kernelAddress: number,
  ) {
    this.level = parent === undefined ? 0 : parent.level + 1;
    this.ancestorIds = parent === undefined ? [id] : [...parent.ancestorIds, id];
  }

  /** The path as cgroup_path prints it: "/" for the root, "/a/b" below it. */
  get path(): string {
    if (this.parent === undefined) return '/';
    const parentPath = this.parent.path;
    return parentPath === '/' ? `/${this.name}` : `${parentPath}/${this.name}`;
  }

  /** cgroup_is_populated: a task in this cgroup or a descendant. */
  get populated(): boolean {
    if (this.tasks.size !== 0) return true;
    for (const child of this.children.values()) if (child.populated) return true;
    return false;
  }

  /** The cgroup's ancestor at `level` (itself at its own level), or undefined below it (cgroup_ancestor). */
  ancestor(level: number): Cgroup | undefined {
    if (level < 0 || level > this.level) return undefined;
    if (level === this.level) return this;
    return this.parent?.ancestor(level);
  }

  /** Descendants in pre-order, this cgroup first (css_for_each_descendant_pre). */
  *descendantsPre(): Generator<Cgroup> {
    yield this;
    for (const child of this.children.values()) yield* child.descendantsPre();
  }
}

/**
 * The bpf subsystem's side of the cgroup hooks (registered at boot). Each returns what Linux's
 * __cgroup_bpf_run_filter_* returns: 0 to go on, or -errno (EPERM when a program said no).
 */
export interface CgroupBpfRunner {
  /**
   * __cgroup_bpf_run_filter_skb: the programs of `attachType` (INET_INGRESS or INET_EGRESS) of `cgroup` on
   * `skb` (its data at the network header), for the socket at `sk`. For egress the NET_XMIT_* code or -errno.
   */
  runSkb(cgroup: Cgroup, attachType: number, sk: number, skb: number, task: Task | undefined): number;
  /** __cgroup_bpf_run_filter_sk: the programs of `attachType` of `cgroup` on the socket's struct sock. */
  runSock(cgroup: Cgroup, attachType: number, sk: number, task: Task | undefined): number;
  /** cgroup_bpf_inherit: a new cgroup's effective programs, its ancestors' (at mkdir). */
  inherit(cgroup: Cgroup): void;
  /** cgroup_bpf_release: `cgroup` is gone; its programs are detached (links stay, defunct). */
  released(cgroup: Cgroup): void;
}

/** What the hierarchy uses of the kernel: memory for its structs, the hooks its tracepoints fire on, the CPU. */
export interface CgroupServices {
  readonly phys: PhysicalMemory;
  readonly hooks: HookRegistry;
  readonly hookArena: HookArena;
  readonly current: CurrentTask;
}

/** The cgroup tracepoints' hooks: the records and their raw tracepoints. */
interface CgroupTracepoints {
  readonly mkdir: HookPoint;
  readonly rmdir: HookPoint;
  readonly attachTask: HookPoint;
  readonly rawMkdir: HookPoint;
  readonly rawRmdir: HookPoint;
  readonly rawAttachTask: HookPoint;
}

/** The cgroup v2 hierarchy (cgrp_dfl_root). */
export class CgroupHierarchy {
  readonly root: Cgroup;
  /** Every online cgroup by id (cgroup_get_from_id). */
  private readonly byId = new Map<number, Cgroup>();
  /** Every online cgroup by the address of its struct cgroup. */
  private readonly byAddress = new Map<number, Cgroup>();
  /** Set by the bpf subsystem at boot. */
  bpf: CgroupBpfRunner | undefined;
  private readonly tp: CgroupTracepoints;

  constructor(
    private readonly k: CgroupServices,
    rootId: number,
  ) {
    const hooks = k.hooks;
    this.tp = {
      mkdir: hooks.require('cgroup:cgroup_mkdir'),
      rmdir: hooks.require('cgroup:cgroup_rmdir'),
      attachTask: hooks.require('cgroup:cgroup_attach_task'),
      rawMkdir: hooks.require(rawTracepointHookName('cgroup_mkdir')),
      rawRmdir: hooks.require(rawTracepointHookName('cgroup_rmdir')),
      rawAttachTask: hooks.require(rawTracepointHookName('cgroup_attach_task')),
    };
    this.root = this.create(rootId, '', undefined);
  }

  /** cgroup_v1v2_get_from_file: the online cgroup whose cgroupfs directory `file` is open on (cgroupfs sets it). */
  fromFile: (file: File) => Cgroup | undefined = () => undefined;

  /**
   * cgroup_get_from_file for a CGROUP_ARRAY slot: the cgroup's id (u64) and cgroup_is_descendant against another
   * cgroup's id; undefined for a file that is not a cgroup directory.
   */
  cgroupOf(file: File): { readonly object: { readonly id: bigint; isAncestorOf(id: bigint): boolean }; readonly id: number; put(): void } | undefined {
    const cgroup = this.fromFile(file);
    if (cgroup === undefined) return undefined;
    const byId = this.byId;
    return {
      object: {
        id: BigInt(cgroup.id),
        isAncestorOf: (id) => byId.get(Number(id))?.ancestorIds[cgroup.level] === cgroup.id,
      },
      id: 0,
      put: () => undefined,
    };
  }

  /** The online cgroup whose struct cgroup is at `address` (a BTF pointer a program holds), or undefined. */
  atAddress(address: number): Cgroup | undefined {
    return address === 0 ? undefined : this.byAddress.get(address);
  }

  /** cgroup_get_from_id: an online cgroup by id. */
  get(id: number): Cgroup | undefined {
    return this.byId.get(id);
  }

  /** cgroup_mkdir: a child of `parent` with id `id` (its directory's inode number); the tracepoint fires. */
  mkdir(parent: Cgroup, name: string, id: number): Cgroup {
    const cgroup = this.create(id, name, parent);
    parent.children.set(name, cgroup);
    this.bpf?.inherit(cgroup);
    this.writeCounts(parent);
    this.fireCgroupEvent(this.tp.mkdir, this.tp.rawMkdir, cgroup);
    return cgroup;
  }

  /** cgroup_rmdir (cgroup_destroy_locked): EBUSY while it has tasks or children; the tracepoint fires. */
  rmdir(cgroup: Cgroup): number {
    const parent = cgroup.parent;
    if (parent === undefined) return -Errno.EBUSY;
    if (cgroup.populated || cgroup.children.size !== 0) return -Errno.EBUSY;
    parent.children.delete(cgroup.name);
    cgroup.online = false;
    this.byId.delete(cgroup.id);
    this.writeCounts(parent);
    this.fireCgroupEvent(this.tp.rmdir, this.tp.rawRmdir, cgroup);
    this.byAddress.delete(cgroup.kernelAddress);
    this.bpf?.released(cgroup);
    // css_free: the struct cgroup and its kernfs node go (nothing can name them any more).
    if (cgroup.kernelAddress !== 0) this.k.phys.kfree(cgroup.kernelAddress);
    return 0;
  }

  /** cgroup_post_fork / init: `task` joins `cgroup` (no tracepoint: Linux fires none at fork). */
  enter(task: Task, cgroup: Cgroup): void {
    task.cgroup?.tasks.delete(task);
    task.cgroup = cgroup;
    cgroup.tasks.add(task);
  }

  /** cgroup_exit: the exiting task leaves its cgroup's task list. */
  exit(task: Task): void {
    task.cgroup?.tasks.delete(task);
  }

  /**
   * cgroup_attach_task with threadgroup: every live thread of `group` moves to `cgroup`; the tracepoint fires
   * per thread (trace_cgroup_attach_task from cgroup_migrate_execute). Moving to its own cgroup is a no-op.
   */
  attachProcess(group: ThreadGroup, cgroup: Cgroup): number {
    if (!cgroup.online) return -Errno.ENODEV;
    for (const thread of group.threads) {
      if (thread.state === TaskState.ZOMBIE || thread.state === TaskState.DEAD || thread.cgroup === cgroup) continue;
      this.enter(thread, cgroup);
      this.fireAttachTask(cgroup, thread);
    }
    return 0;
  }

  private create(id: number, name: string, parent: Cgroup | undefined): Cgroup {
    const phys = this.k.phys;
    const address = phys.kmalloc(CGROUP_STRUCT.size + KERNFS_NODE.size, 'cgroup');
    const cgroup = new Cgroup(id, name, parent, address < 0 ? 0 : address);
    if (address >= 0) {
      const view = phys.view;
      const kn = address + CGROUP_STRUCT.size;
      phys.bytes.fill(0, address, kn + KERNFS_NODE.size);
      view.setBigUint64(address + CGROUP_STRUCT.self + 0, BigInt(address), true);
      view.setBigUint64(address + CGROUP_STRUCT.self + 8, BigInt(parent?.kernelAddress ?? 0), true);
      view.setInt32(address + CGROUP_STRUCT.level, cgroup.level, true);
      view.setInt32(address + CGROUP_STRUCT.max_depth, 0x7fffffff, true);
      view.setInt32(address + CGROUP_STRUCT.max_descendants, 0x7fffffff, true);
      view.setBigUint64(address + CGROUP_STRUCT.kn, BigInt(kn), true);
      view.setBigUint64(kn + KERNFS_NODE.id, BigInt(id), true);
      const parentKn = parent === undefined || parent.kernelAddress === 0 ? 0 : parent.kernelAddress + CGROUP_STRUCT.size;
      view.setBigUint64(kn + KERNFS_NODE.parent, BigInt(parentKn), true);
    }
    this.byId.set(id, cgroup);
    if (cgroup.kernelAddress !== 0) this.byAddress.set(cgroup.kernelAddress, cgroup);
    return cgroup;
  }

  /** nr_descendants of `cgroup` and its ancestors in their structs. */
  private writeCounts(cgroup: Cgroup): void {
    const view = this.k.phys.view;
    for (let at: Cgroup | undefined = cgroup; at !== undefined; at = at.parent) {
      if (at.kernelAddress === 0) continue;
      let count = -1;
      for (const _ of at.descendantsPre()) count++;
      view.setInt32(at.kernelAddress + CGROUP_STRUCT.nr_descendants, count, true);
    }
  }

  /** trace_cgroup_mkdir / trace_cgroup_rmdir (event class `cgroup`): root, level, id, path. */
  private fireCgroupEvent(record: HookPoint, raw: HookPoint, cgroup: Cgroup): void {
    if (record.programs.length === 0 && raw.programs.length === 0) return;
    const arena = this.k.hookArena;
    const cpu = this.k.current.currentCpu;
    const task = this.k.current.currentTask();
    const path = cgroup.path;
    if (raw.programs.length !== 0) this.withKernelString(path, (str) => fireRawTracepoint(arena, raw, cpu, task, cgroup.kernelAddress, str));
    if (record.programs.length === 0) return;
    const R = TRACE_CGROUP;
    const size = R.fixedSize + path.length + 1;
    const ctx = arena.begin(cpu, size);
    const w = arena.write;
    w.traceEntry(ctx, record.id, task?.pid ?? 0);
    w.i32(ctx + R.root, CGROUP_DFL_HIERARCHY_ID);
    w.i32(ctx + R.level, cgroup.level);
    w.u64(ctx + R.id, cgroup.id);
    // __data_loc: the string's length (NUL included) in the high 16 bits, its offset in the record in the low 16.
    w.u32(ctx + R.path, ((path.length + 1) << 16) | R.fixedSize);
    w.cString(ctx + R.fixedSize, path, path.length + 1);
    arena.fire(record, ctx, cpu, task);
    arena.end(cpu, size);
  }

  /** trace_cgroup_attach_task (event class `cgroup_migrate`): dst_root, dst_level, dst_id, pid, dst_path, comm. */
  private fireAttachTask(cgroup: Cgroup, moved: Task): void {
    const record = this.tp.attachTask;
    const raw = this.tp.rawAttachTask;
    if (record.programs.length === 0 && raw.programs.length === 0) return;
    const arena = this.k.hookArena;
    const cpu = this.k.current.currentCpu;
    const task = this.k.current.currentTask();
    const path = cgroup.path;
    if (raw.programs.length !== 0) {
      // TP_PROTO(dst_cgrp, path, task, threadgroup): cgroup.procs moves whole thread groups.
      this.withKernelString(path, (str) => fireRawTracepoint(arena, raw, cpu, task, cgroup.kernelAddress, str, moved.kernelAddress, 1));
    }
    if (record.programs.length === 0) return;
    const R = TRACE_CGROUP_ATTACH_TASK;
    const pathSize = path.length + 1;
    const commSize = moved.comm.length + 1;
    const size = R.fixedSize + pathSize + commSize;
    const ctx = arena.begin(cpu, size);
    const w = arena.write;
    w.traceEntry(ctx, record.id, task?.pid ?? 0);
    w.i32(ctx + R.dst_root, CGROUP_DFL_HIERARCHY_ID);
    w.i32(ctx + R.dst_level, cgroup.level);
    w.u64(ctx + R.dst_id, cgroup.id);
    w.i32(ctx + R.pid, moved.pid);
    w.u32(ctx + R.dst_path, (pathSize << 16) | R.fixedSize);
    w.cString(ctx + R.fixedSize, path, pathSize);
    w.u32(ctx + R.comm, (commSize << 16) | (R.fixedSize + pathSize));
    w.cString(ctx + R.fixedSize + pathSize, moved.comm, commSize);
    arena.fire(record, ctx, cpu, task);
    arena.end(cpu, size);
  }

  /** The path as a NUL-terminated kernel string for the raw tracepoint's `path` (Linux passes its path buffer). */
  private withKernelString(text: string, use: (address: number) => void): void {
    const phys = this.k.phys;
    const address = phys.kmalloc(text.length + 1, 'cgroup-path');
    if (address < 0) return;
    try {
      for (let i = 0; i < text.length; i++) phys.bytes[address + i] = text.charCodeAt(i) & 0xff;
      phys.bytes[address + text.length] = 0;
      use(address);
    } finally {
      phys.kfree(address);
    }
  }
}
