/**
 * The task_struct, cred and mm_struct of every task in kernel memory (layout.ts), kept current as the task
 * changes: created with the task (fork, spawn), comm and mm replaced by execve, the exit fields and mm set by
 * do_exit, parents rewritten when a process is reparented, freed when the task is reaped. `__state` follows
 * `Task.state` as it is assigned. A program reaches them through bpf_get_current_task and probe_read_kernel.
 *
 * Objects come from kmem caches (`slab:task_struct`, `slab:cred_jar`, `slab:mm_struct`, as Linux names them),
 * so the memory they hold goes back when the tasks are gone. A cred and an mm_struct are shared by the tasks
 * that point at them and freed with the last (their `usage` and `mm_users` count those tasks).
 */
import { CAP_FULL_SET, MMAP_BASE, niceToPrio, STACK_TOP, TASK_SIZE } from '@ebpf-sim/uapi';
import type { AddressSpace } from '../mm/address-space.js';
import { KmemCache } from '../mm/slab.js';
import type { PhysicalMemory } from '../mm/physmem.js';
import { ATOMIC, CRED, KUID, MM_STRUCT, PF_EXITING, PF_IDLE, PF_KTHREAD, SCHED_NORMAL, TASK_COMM_LEN, TASK_RUNNING, TASK_STRUCT } from './layout.js';
import type { Cred, Task, ThreadGroup } from './task.js';

/** The credentials of the idle tasks (init_cred): root with every capability. */
const INIT_CRED: Cred = { uid: 0, gid: 0, euid: 0, egid: 0, capEffective: CAP_FULL_SET };

/** A shared kernel object and the tasks pointing at it. */
interface Shared {
  readonly address: number;
  users: number;
}

/** What getCred / getMm answer when kernel memory is exhausted. */
const NO_MEMORY = -1;
/** The most pages creating one task takes: a new slab page for each of its task_struct, cred and mm_struct. */
const PAGES_PER_TASK_MAX = 3;

/** The kernel objects of tasks: what the kernel keeps in memory for programs to read. */
export class TaskStructs {
  private readonly tasks: KmemCache;
  private readonly creds: KmemCache;
  private readonly mms: KmemCache;
  private readonly credObjects: SharedObjects<Cred>;
  private readonly mmObjects: SharedObjects<AddressSpace>;
  /** The cred and address space each task's task_struct points at (execve's de_thread leaves dying threads on the old mm). */
  private readonly heldCred = new Map<Task, Cred>();
  private readonly heldMm = new Map<Task, AddressSpace>();
  /** The idle task of each CPU (swapper/N, pid 0): `current` when no task runs there. */
  readonly idle: readonly number[];
  /** init_mm, the kernel's mm_struct. */
  readonly initMm: number;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly phys: PhysicalMemory,
    cpus: number,
  ) {
    this.tasks = new KmemCache(phys, 'task_struct', TASK_STRUCT.size);
    this.creds = new KmemCache(phys, 'cred_jar', CRED.size);
    this.mms = new KmemCache(phys, 'mm_struct', MM_STRUCT.size);
    this.view = phys.view;
    this.bytes = phys.bytes;
    const view = this.view;
    this.credObjects = new SharedObjects(this.creds, view, CRED.usage + ATOMIC.counter, (at, cred) => writeCred(view, at, cred));
    this.mmObjects = new SharedObjects(this.mms, view, MM_STRUCT.mm_users + ATOMIC.counter, (at, mm) => writeMm(view, at, mm));
    // init_mm: the kernel's own address space, the active_mm of the idle tasks (which have no mm of their own).
    this.initMm = this.mms.alloc();
    if (this.initMm < 0) throw new RangeError('boot: no memory for init_mm');
    view.setInt32(this.initMm + MM_STRUCT.mm_users + ATOMIC.counter, 1, true);
    view.setInt32(this.initMm + MM_STRUCT.mm_count + ATOMIC.counter, 1, true);
    const idle: number[] = [];
    for (let cpu = 0; cpu < cpus; cpu++) {
      const at = this.tasks.alloc();
      if (at < 0) throw new RangeError('boot: no memory for the idle tasks');
      this.writeIdentity(at, 0, 0, `swapper/${cpu}`, 0, PF_IDLE | PF_KTHREAD);
      const cred = this.credObjects.get(INIT_CRED);
      this.setPointer(at + TASK_STRUCT.real_cred, cred);
      this.setPointer(at + TASK_STRUCT.cred, cred);
      // init_task is its own parent and leader; the other idle tasks are forked from it at boot.
      const root = idle[0] ?? at;
      this.setPointer(at + TASK_STRUCT.real_parent, root);
      this.setPointer(at + TASK_STRUCT.parent, root);
      this.setPointer(at + TASK_STRUCT.group_leader, at);
      this.setPointer(at + TASK_STRUCT.active_mm, this.initMm);
      idle.push(at);
    }
    this.idle = idle;
  }

  /** Whether memory holds the objects of one more task (fork answers ENOMEM before it starts when not). */
  get roomForTask(): boolean {
    return this.phys.freePages >= PAGES_PER_TASK_MAX;
  }

  /** copy_process's dup_task_struct: `task`'s objects, its address in `task.kernelAddress`. Check `roomForTask` first. */
  create(task: Task, startTime: number): void {
    const at = this.tasks.alloc();
    const group = task.group;
    const cred = this.credObjects.get(group.cred);
    const mm = this.mmObjects.get(group.mm);
    if (at < 0 || cred < 0 || mm < 0) throw new RangeError(`task ${task.pid}: no memory for its task_struct (roomForTask was not checked)`);
    this.writeIdentity(at, task.pid, task.tgid, task.comm, task.nice, 0);
    this.view.setInt32(at + TASK_STRUCT.exit_signal, task.pid === task.tgid ? group.exitSignal : -1, true);
    this.view.setBigUint64(at + TASK_STRUCT.start_time, BigInt(startTime), true);
    this.view.setBigUint64(at + TASK_STRUCT.start_boottime, BigInt(startTime), true);
    this.setPointer(at + TASK_STRUCT.real_cred, cred);
    this.setPointer(at + TASK_STRUCT.cred, cred);
    this.setPointer(at + TASK_STRUCT.mm, mm);
    this.setPointer(at + TASK_STRUCT.active_mm, mm);
    this.heldCred.set(task, group.cred);
    this.heldMm.set(task, group.mm);
    task.bindKernelObject(this.view, at);
    this.relink(group);
  }

  /** execve: the new comm, and the new address space in place of the old. */
  exec(task: Task): void {
    const at = task.kernelAddress;
    this.writeComm(at, task.comm);
    const mm = this.mmObjects.get(task.group.mm);
    this.dropMm(task);
    if (mm >= 0) this.heldMm.set(task, task.group.mm);
    this.setPointer(at + TASK_STRUCT.mm, Math.max(mm, 0));
    this.setPointer(at + TASK_STRUCT.active_mm, Math.max(mm, 0));
  }

  /** The task lets go of the address space its task_struct points at. */
  private dropMm(task: Task): void {
    const mm = this.heldMm.get(task);
    if (mm === undefined) return;
    this.heldMm.delete(task);
    this.mmObjects.put(mm);
  }

  /** do_exit: PF_EXITING, the exit code, and exit_mm (the task lets go of its address space). */
  exit(task: Task): void {
    const at = task.kernelAddress;
    const view = this.view;
    view.setUint32(at + TASK_STRUCT.flags, view.getUint32(at + TASK_STRUCT.flags, true) | PF_EXITING, true);
    view.setInt32(at + TASK_STRUCT.exit_code, task.exitCode, true);
    this.dropMm(task);
    this.setPointer(at + TASK_STRUCT.mm, 0);
    this.setPointer(at + TASK_STRUCT.active_mm, 0);
  }

  /** put_task_struct: the task is gone; its objects are freed (and zeroed: a stale pointer reads zeros). */
  release(task: Task): void {
    const at = task.kernelAddress;
    if (at === 0) return;
    this.dropMm(task);
    const cred = this.heldCred.get(task);
    this.heldCred.delete(task);
    if (cred !== undefined) this.credObjects.put(cred);
    task.bindKernelObject(undefined, 0);
    this.tasks.release(at);
    this.relink(task.group);
  }

  /**
   * The parent and leader pointers of `group`'s threads and of its children's threads: the parent is a live
   * thread of the parent process (its leader while it lives), or init_task for a process the kernel spawned.
   */
  relink(group: ThreadGroup): void {
    const leader = this.liveThread(group);
    const parent = group.parent === undefined ? (this.idle[0] as number) : this.liveThread(group.parent);
    for (const thread of group.threads) {
      const at = thread.kernelAddress;
      if (at === 0) continue;
      this.setPointer(at + TASK_STRUCT.real_parent, parent);
      this.setPointer(at + TASK_STRUCT.parent, parent);
      this.setPointer(at + TASK_STRUCT.group_leader, leader);
    }
    for (const child of group.children) {
      for (const thread of child.threads) {
        if (thread.kernelAddress === 0) continue;
        this.setPointer(thread.kernelAddress + TASK_STRUCT.real_parent, leader);
        this.setPointer(thread.kernelAddress + TASK_STRUCT.parent, leader);
      }
    }
  }

  /** The task_struct of `group`'s leader, or of another thread while the leader is gone (0 when none is left). */
  private liveThread(group: ThreadGroup): number {
    const leader = group.leader;
    if (leader !== undefined && leader.kernelAddress !== 0) return leader.kernelAddress;
    for (const thread of group.threads) if (thread.kernelAddress !== 0) return thread.kernelAddress;
    return 0;
  }

  private writeIdentity(at: number, pid: number, tgid: number, comm: string, nice: number, flags: number): void {
    const view = this.view;
    view.setUint32(at + TASK_STRUCT.__state, TASK_RUNNING, true);
    view.setUint32(at + TASK_STRUCT.flags, flags, true);
    const prio = niceToPrio(nice);
    view.setInt32(at + TASK_STRUCT.prio, prio, true);
    view.setInt32(at + TASK_STRUCT.static_prio, prio, true);
    view.setInt32(at + TASK_STRUCT.normal_prio, prio, true);
    view.setUint32(at + TASK_STRUCT.policy, SCHED_NORMAL, true);
    view.setInt32(at + TASK_STRUCT.pid, pid, true);
    view.setInt32(at + TASK_STRUCT.tgid, tgid, true);
    this.writeComm(at, comm);
  }

  /** __set_task_comm: at most TASK_COMM_LEN - 1 bytes and a NUL, the rest of the array zeroed. */
  private writeComm(at: number, comm: string): void {
    const field = this.bytes.subarray(at + TASK_STRUCT.comm, at + TASK_STRUCT.comm + TASK_COMM_LEN);
    field.fill(0);
    this.encoder.encodeInto(comm, field.subarray(0, TASK_COMM_LEN - 1));
  }

  private setPointer(at: number, value: number): void {
    this.view.setBigUint64(at, BigInt(value), true);
  }
}

/**
 * Kernel objects shared by the tasks that point at them (a cred, an mm_struct), one per key, made on first use
 * and freed with the last user; the user count is kept in the object (cred.usage, mm_struct.mm_users).
 */
class SharedObjects<K> {
  private readonly objects = new Map<K, Shared>();

  constructor(
    private readonly cache: KmemCache,
    private readonly view: DataView,
    /** Offset of the object's atomic_t user count. */
    private readonly countAt: number,
    /** Write a new object's fields for `key`. */
    private readonly init: (at: number, key: K) => void,
  ) {}

  /** get_cred / mmget: the object of `key` with one more user; NO_MEMORY when memory is exhausted. */
  get(key: K): number {
    let shared = this.objects.get(key);
    if (shared === undefined) {
      const at = this.cache.alloc();
      if (at < 0) return NO_MEMORY;
      this.init(at, key);
      shared = { address: at, users: 0 };
      this.objects.set(key, shared);
    }
    shared.users++;
    this.view.setInt32(shared.address + this.countAt, shared.users, true);
    return shared.address;
  }

  /** put_cred / mmput: one user less; the last frees the object. */
  put(key: K): void {
    const shared = this.objects.get(key);
    if (shared === undefined) return;
    shared.users--;
    this.view.setInt32(shared.address + this.countAt, shared.users, true);
    if (shared.users > 0) return;
    this.objects.delete(key);
    this.cache.release(shared.address);
  }
}

/** A new cred object's fields (the ids; every capability the process has, bounded by the full set). */
function writeCred(view: DataView, at: number, cred: Cred): void {
  for (const [field, value] of [
    [CRED.uid, cred.uid],
    [CRED.suid, cred.uid],
    [CRED.fsuid, cred.euid],
    [CRED.euid, cred.euid],
    [CRED.gid, cred.gid],
    [CRED.sgid, cred.gid],
    [CRED.fsgid, cred.egid],
    [CRED.egid, cred.egid],
  ] as const)
    view.setUint32(at + field + KUID.val, value, true);
  const caps = BigInt(cred.capEffective);
  view.setBigUint64(at + CRED.cap_permitted, caps, true);
  view.setBigUint64(at + CRED.cap_effective, caps, true);
  view.setBigUint64(at + CRED.cap_bounding, BigInt(CAP_FULL_SET), true);
}

/** A new mm_struct's fields (fixed when the address space is set up). */
function writeMm(view: DataView, at: number, mm: AddressSpace): void {
  view.setBigUint64(at + MM_STRUCT.mmap_base, BigInt(MMAP_BASE), true);
  view.setBigUint64(at + MM_STRUCT.task_size, BigInt(TASK_SIZE), true);
  view.setInt32(at + MM_STRUCT.mm_count + ATOMIC.counter, 1, true);
  view.setBigUint64(at + MM_STRUCT.start_brk, BigInt(mm.brkStart), true);
  view.setBigUint64(at + MM_STRUCT.start_stack, BigInt(STACK_TOP), true);
}
