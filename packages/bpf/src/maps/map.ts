/**
 * The map object and the ops table of a map type, as Linux's `struct bpf_map` and `struct bpf_map_ops`
 * (include/linux/bpf.h).
 *
 * Linux's `bpf_map_ops` is split in two here: the type's table ({@link MapOps}: `map_alloc_check`,
 * `map_alloc`), which the registry keys by the uapi type number as `bpf_types.h` does, and the per-element ops
 * the allocated map carries ({@link BpfMap}'s methods: `map_lookup_elem`, `map_update_elem`, ...), which is
 * how JavaScript dispatches a vtable without a lookup per call.
 *
 * Values live in the kernel's linear memory ({@link KernelMemory}), so a program reads and writes them in
 * place: {@link BpfMap.lookup} returns the physical address of the value (0 for none). The program-side ops
 * take physical addresses; the syscall-side ops (`*Sys`, what the bpf() commands call after copying from user
 * memory) take byte arrays. Both reach one implementation that reads a key as (bytes, offset).
 */
import type { File, KernelMemory, KernelServices, PerfOutputEvent, PollTable, Task } from '@ebpf-sim/kernel';
import type { InsnPatch, MapDesc } from '@ebpf-sim/verifier';

export type { InsnPatch };
import { Class, Source, type RawInsn } from '@ebpf-sim/isa';
import { BPF_MAP_F, BPF_UPDATE, EPOLL, Errno, MAP, PROT, type BpfMapTypeName } from '@ebpf-sim/uapi';
import { mapDesc } from '../maps.js';
import type { TailCallTarget } from '../runtime/env.js';

import { ENOTSUPP } from '../errno.js';
import type { StructOpsTable } from '../struct-ops/registry.js';

export { ENOTSUPP };

/** PCPU_MIN_UNIT_SIZE (include/linux/percpu.h): the largest per-CPU value, 32 KiB. */
export const PCPU_MIN_UNIT_SIZE = 32 << 10;

/** KMALLOC_MAX_SIZE on x86_64 (1 << (PAGE_SHIFT + MAX_PAGE_ORDER), 4 MiB): a hash element must fit in it. */
export const KMALLOC_MAX_SIZE = 4 << 20;

/** sizeof(struct htab_elem) on x86_64 (kernel/bpf/hashtab.c), subtracted from KMALLOC_MAX_SIZE in htab_map_alloc_check. */
export const HTAB_ELEM_SIZE = 48;

/** BPF_ALU{,64}_IMM for the instructions of a map_gen_lookup. */
export const aluImm = (cls: number, op: number, dst: number, imm: number): RawInsn => ({ code: cls | op | Source.K, dst, src: 0, off: 0, imm });
/** BPF_JMP_IMM for the instructions of a map_gen_lookup. */
export const jmpImm = (op: number, dst: number, imm: number, off: number): RawInsn => ({ code: Class.JMP | op | Source.K, dst, src: 0, off, imm });

/** The largest allocation bpf_map_area_alloc makes: it refuses sizes >= U32_MAX - PAGE_SIZE (ENOMEM). */
export const MAP_AREA_MAX = 0xffffffff - 4096;

/** BPF_F_ACCESS_MASK (include/linux/bpf.h): the access flags every map type accepts. */
export const BPF_F_ACCESS_MASK = BPF_MAP_F.RDONLY | BPF_MAP_F.RDONLY_PROG | BPF_MAP_F.WRONLY | BPF_MAP_F.WRONLY_PROG;

/** The size of one value slot: values are 8-byte aligned in arrays, hash elements and per-CPU areas (round_up(value_size, 8)). */
export const round8 = (size: number): number => (size + 7) & ~7;

/** The little-endian u32 at `off` of a key or value copied from user space (the element commands' keys, fds, indexes). */
export const readU32 = (src: Uint8Array, off = 0): number => (src[off]! | (src[off + 1]! << 8) | (src[off + 2]! << 16) | (src[off + 3]! << 24)) >>> 0;

/** Copies of up to this many bytes go byte by byte: below it a loop is cheaper than the view `subarray` makes or a copyWithin call. */
export const SMALL_COPY = 32;

/** The fields of BPF_MAP_CREATE's bpf_attr a map type reads (the syscall decodes them with uapi's layouts). */
export interface MapAttr {
  readonly mapType: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly mapFlags: number;
  /** map_name, without the NUL (at most BPF_OBJ_NAME_LEN - 1 characters of [A-Za-z0-9_.]). */
  readonly name?: string;
  /** Only BLOOM_FILTER (and ARENA) may set it; 0 for every type here. */
  readonly mapExtra?: number;
  readonly numaNode?: number;
  /** Offset of the `struct bpf_spin_lock` in the value, when the value's BTF has one (map_check_btf finds it). */
  readonly spinLockOff?: number;
  /** Offset of the `struct bpf_timer` in the value, when the value's BTF has one (helpers/timer.ts timerOffOf). */
  readonly timerOff?: number;
  /** btf_key_type_id / btf_value_type_id, once a BTF object backs them (local storage maps require both). */
  readonly btfKeyTypeId?: number;
  readonly btfValueTypeId?: number;
  /** inner_map_fd: the template map of ARRAY_OF_MAPS / HASH_OF_MAPS (resolved through {@link MapEnv.mapOfFd}). */
  readonly innerMapFd?: number;
  /** btf_vmlinux_value_type_id: a STRUCT_OPS map's value, `struct bpf_struct_ops_<name>` of the kernel's BTF. */
  readonly btfVmlinuxValueTypeId?: number;
}

/** What a map needs from the kernel: its memory, randomness (the hash seed), the CPU count and the creator's capabilities. */
export interface MapEnv extends Pick<KernelServices, 'phys' | 'random'> {
  /** Simulated CPUs: one value slot each in per-CPU maps (num_possible_cpus). */
  readonly nrCpus: number;
  /** capable(cap) of the task creating the map (CAP numbers from @ebpf-sim/uapi). */
  capable(cap: number): boolean;
  /** The kernel's struct_ops types (STRUCT_OPS maps find their value type there; absent: none). */
  readonly structOps?: StructOpsTable;
  /** kernel.perf_event_max_stack (sysctl_perf_event_max_stack): bounds STACK_TRACE values; 127 when absent. */
  readonly perfEventMaxStack?: number;
  /**
   * The task a user-space TASK_STORAGE key names (Linux: a pidfd of the calling process, pidfd_get_pid), or
   * -errno (EBADF, ENOENT for a task that is gone). Absent: every key is EBADF.
   */
  readonly taskOfUserKey?: (key: number) => Task | number;
  /**
   * fdget in the task making the bpf() call: the file behind `fd`, or undefined for none (EBADF). The local
   * storages keyed by an fd (SK_STORAGE, INODE_STORAGE, CGRP_STORAGE) resolve user space's key through it;
   * absent, every key is EBADF.
   */
  readonly fileOfUserFd?: (fd: number) => File | undefined;
  /** cgroup_v1v2_get_from_file: the cgroup a cgroupfs directory file is (CGRP_STORAGE keys); absent, none is. */
  readonly cgroupOfFile?: (file: File) => object | undefined;
  /** The online cgroup whose struct cgroup is at `address` (what bpf_cgrp_storage_get's pointer names); absent, none. */
  readonly cgroupAt?: (address: number) => object | undefined;
  /** The live socket whose struct sock is at `address` (what bpf_sk_storage_get's pointer names); absent, none. */
  readonly sockAt?: (address: number) => object | undefined;
  /**
   * __bpf_map_get on the creator's fd (no reference taken): the map, -EBADF for no file, -EINVAL for a file that
   * is not a map. Only map-in-map creation asks (inner_map_fd); absent, every fd is bad.
   */
  mapOfFd?(fd: number): BpfMap | number;
  /** The kernel's network devices, for DEVMAP values (absent: no device exists). */
  readonly netDevices?: NetDevices;
  /** Virtual time, for the wake-ups a ring buffer defers with irq_work (absent: it wakes at once). */
  readonly clock?: Pick<KernelServices['clock'], 'now' | 'at'>;
}

/** The network devices a DEVMAP entry may name (dev_get_by_index in the map creator's namespace). */
export interface NetDevices {
  /** The device with `ifindex`, or undefined. */
  byIndex(ifindex: number): { readonly ifindex: number } | undefined;
}

/**
 * A counted reference to a kernel object a map slot holds (what map_fd_get_ptr returns, with its reference
 * taken): `put` is map_fd_put_ptr, `id` what map_fd_sys_lookup_elem reports to user space (prog id, map id).
 */
export interface FdRef<T> {
  readonly object: T;
  readonly id: number;
  put(): void;
}

/** A loaded program as fd-valued maps see it: what bpf_prog_map_compatible and a tail call read. */
export interface FdProgram {
  readonly progType: number;
  readonly expectedAttachType: number;
  /** prog->jited: a PROG_ARRAY takes programs of one JIT-ness only. */
  readonly jited: boolean;
  /** BPF_F_XDP_HAS_FRAGS was set at load (aux->xdp_has_frags), which must match too. */
  readonly xdpHasFrags: boolean;
  /** What the runtime's tail-call hook continues with. */
  readonly target: TailCallTarget;
  /** prog->aux->attach_btf_id (a STRUCT_OPS program's ops struct, which a struct_ops map checks). */
  readonly attachBtfId?: number;
}

/**
 * A map's program owner (map->owner, __bpf_prog_map_compatible): the first program a PROG_ARRAY or DEVMAP takes
 * (or that is loaded using it) fixes the type, JIT-ness and xdp_has_frags every later one must have. (Linux also
 * compares the attach function of BTF-attached tracing programs, which this kernel does not load.)
 */
export class ProgMapOwner {
  private progType = -1;
  private jited = false;
  private xdpHasFrags = false;

  /** bpf_prog_map_compatible: record the first program, compare the others. */
  compatible(prog: Pick<FdProgram, 'progType' | 'jited' | 'xdpHasFrags'>): boolean {
    if (this.progType < 0) {
      this.progType = prog.progType;
      this.jited = prog.jited;
      this.xdpHasFrags = prog.xdpHasFrags;
      return true;
    }
    return this.progType === prog.progType && this.jited === prog.jited && this.xdpHasFrags === prog.xdpHasFrags;
  }

  /** map->owner once a program has claimed the map (fdinfo's owner_prog_type / owner_jited), else undefined. */
  get claimedBy(): { readonly progType: number; readonly jited: boolean } | undefined {
    return this.progType < 0 ? undefined : { progType: this.progType, jited: this.jited };
  }
}

/**
 * A cgroup as a CGROUP_ARRAY slot holds it (cgroup_get_from_fd's reference): its id (the kernfs node id,
 * bpf_get_current_cgroup_id's answer) and the hierarchy test the cgroup helpers make (cgroup_is_descendant).
 */
export interface MapCgroup {
  readonly id: bigint;
  /** cgroup_is_descendant(cgroup `id`, this): `id` is this cgroup or below it. */
  isAncestorOf(id: bigint): boolean;
}

/**
 * A socket as the socket maps hold it (SOCKMAP, SOCKHASH, REUSEPORT_SOCKARRAY, XSKMAP): what a user-space
 * lookup reports (its cookie, sock_gen_cookie) and what the maps check before taking it.
 */
export interface MapSocket {
  /** sock_gen_cookie: the socket's cookie, what a lookup from user space copies out (a u64). */
  readonly cookie: bigint;
  /** sk->sk_family (AF_INET, AF_INET6, AF_UNIX, AF_XDP, ...). */
  readonly family: number;
  /** The struct sock's kernel address: what a program's lookup in a socket map returns. */
  readonly address: number;
  /**
   * SOCKMAP / SOCKHASH take it: sock_map_sk_is_suitable (TCP, UDP, AF_UNIX, vsock) and sock_map_sk_state_allowed
   * (a TCP socket established or listening, ...). Otherwise EOPNOTSUPP.
   */
  readonly sockMapSuitable: boolean;
  /** REUSEPORT_SOCKARRAY takes it: a TCP or UDP socket in a SO_REUSEPORT group (reuseport_array_update_check). */
  readonly inReuseportGroup: boolean;
  /** An AF_XDP socket bound to a device queue (XSK_BOUND), which XSKMAP takes (EOPNOTSUPP otherwise). */
  readonly xskBound: boolean;
}

/**
 * The objects behind the fds user space writes into fd-valued maps (the `map_fd_get_ptr` side): the syscall
 * implements it for the task making the call and hands it to {@link BpfMap.updateWithFds}. Each returns the
 * object with a reference taken, or -errno (Linux's errno for the fd: EBADF for no file, EINVAL for a file of
 * the wrong kind as bpf_map_get / bpf_prog_get answer; EBADF for anything but a perf event, as perf_event_get).
 */
export interface MapFdObjects {
  /** The map file user space called through (bpf_event_entry's map_file: PERF_EVENT_ARRAY drops its entries on its release). */
  readonly mapFile: File | null;
  mapFromFd(fd: number): FdRef<BpfMap> | number;
  progFromFd(fd: number): FdRef<FdProgram> | number;
  perfEventFromFd(fd: number): FdRef<PerfOutputEvent> | number;
  /** cgroup_get_from_fd: a cgroup v2 directory, or -EBADF (no file, or a file that is not a cgroup2 directory). */
  cgroupFromFd(fd: number): FdRef<MapCgroup> | number;
  /** sockfd_lookup: the socket, or -EBADF (no file) / -ENOTSOCK (a file that is not a socket). */
  socketFromFd(fd: number): FdRef<MapSocket> | number;
}

/** A map type's table (the allocation half of Linux's bpf_map_ops), keyed in the registry by its uapi number. */
export interface MapOps {
  /** The uapi type number (`BPF_MAP_TYPE.*`). */
  readonly type: number;
  /** The lower-case uapi name (`hash`, `percpu_array`, ...), as map specs and the verifier's MapDesc name it. */
  readonly name: Lowercase<BpfMapTypeName>;
  /** The value may hold a `struct bpf_spin_lock` (map_check_btf; other types give EOPNOTSUPP). */
  readonly spinLock: boolean;
  /** map_alloc_check: 0 or -errno, before any memory is taken. */
  allocCheck(attr: MapAttr, env: MapEnv): number;
  /** map_alloc: the map, or -errno (ENOMEM, E2BIG); memory is charged to `owner`. */
  alloc(attr: MapAttr, env: MapEnv, owner: string): BpfMap | number;
}

/** A type's ops table from its allocation functions (the type's own table is `this` inside `alloc`). */
export function defineMapOps(
  type: number,
  name: MapOps['name'],
  spinLock: boolean,
  allocCheck: MapOps['allocCheck'],
  alloc: (ops: MapOps, attr: MapAttr, env: MapEnv, owner: string) => BpfMap | number,
): MapOps {
  const ops: MapOps = { type, name, spinLock, allocCheck, alloc: (attr, env, owner) => alloc(ops, attr, env, owner) };
  return ops;
}

/** bpf_map_flags_access_ok: a map may not be both read-only and write-only for programs. */
export function mapFlagsAccessOk(flags: number): boolean {
  const both = BPF_MAP_F.RDONLY_PROG | BPF_MAP_F.WRONLY_PROG;
  return (flags & both) !== both;
}

/** The update flags every map type refuses: anything above BPF_EXIST (with BPF_F_LOCK allowed where `lock` is). */
export function updateFlagsInvalid(flags: number, lock: boolean): boolean {
  return (lock ? flags & ~BPF_UPDATE.F_LOCK : flags) >>> 0 > BPF_UPDATE.EXIST;
}

/**
 * A map: Linux's `struct bpf_map` with its element ops. `id` is the caller's (bpf() allocates ids); `frozen` is
 * BPF_MAP_FREEZE's flag, which the syscall checks before a user-space write.
 */
export abstract class BpfMap {
  readonly type: number;
  readonly typeName: Lowercase<BpfMapTypeName>;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly mapFlags: number;
  readonly name: string;
  /** map_extra at create (a bloom filter's hash count; 0 for the other types). */
  readonly mapExtra: number;
  /** The memory owner this map's allocations are charged to (`bpf-map:<name>`). */
  readonly owner: string;
  /** Offset of the value's spin lock, or -1 when it has none. */
  readonly spinLockOff: number;
  /** Offset of the value's bpf_timer, or -1 when it has none. */
  readonly timerOff: number;
  /** Bytes of one value as user space copies it: value_size, or round_up(value_size, 8) × nr_cpus for per-CPU maps. */
  readonly userValueSize: number;
  /** nr_cpu_ids: the simulated CPUs (per-CPU maps hold one slot each; map_lookup_percpu_elem checks its cpu against it). */
  readonly nrCpuIds: number;
  id = 0;
  /**
   * The map's kernel address (Linux's `struct bpf_map *`): what a program holds after its BPF_PSEUDO_MAP_FD
   * LD imm64 is fixed up, and what an ARRAY_OF_MAPS slot stores. 0 until the syscall places the map.
   */
  address = 0;
  frozen = false;
  /** The type has a map_mmap op (ARRAY, RINGBUF): mmap of its fd reaches {@link mmap}. */
  readonly hasMmap: boolean = false;
  /**
   * MAP_LOOKUP_ELEM tests the value user space passes instead of returning one: the syscall copies the value
   * in and nothing back (a bloom filter, Linux map_lookup_elem's BPF_MAP_TYPE_BLOOM_FILTER case).
   */
  readonly lookupTestsValue: boolean = false;
  protected readonly mem: KernelMemory;
  protected readonly bytes: Uint8Array;

  protected constructor(ops: MapOps, attr: MapAttr, env: MapEnv, owner: string, maxEntries: number, percpu: boolean) {
    this.type = ops.type;
    this.typeName = ops.name;
    this.keySize = attr.keySize;
    this.valueSize = attr.valueSize;
    this.maxEntries = maxEntries;
    this.mapFlags = attr.mapFlags;
    this.name = attr.name ?? '';
    this.mapExtra = attr.mapExtra ?? 0;
    this.owner = owner;
    this.spinLockOff = attr.spinLockOff ?? -1;
    this.timerOff = attr.timerOff ?? -1;
    this.userValueSize = percpu ? round8(attr.valueSize) * env.nrCpus : attr.valueSize;
    this.nrCpuIds = env.nrCpus;
    this.mem = env.phys;
    this.bytes = env.phys.bytes;
  }

  /**
   * bpf_map_poll: the map type's map_poll (ring buffers), else EPOLLERR, as Linux answers for the others (a
   * map fd can always be added to an epoll set).
   */
  poll(_table: PollTable | null): number {
    return EPOLL.ERR;
  }

  /** The verifier's view of this map (packages/verifier MapDesc), through {@link mapDesc}. */
  desc(): MapDesc {
    const inner = this.innerMapDesc();
    const valueBase = this.directValueBase();
    // bpf_map_is_rdonly: read-only to programs and frozen (writable mmaps of a frozen map are refused, so none is left).
    const rdonly = valueBase >= 0 && this.frozen && (this.mapFlags & BPF_MAP_F.RDONLY_PROG) !== 0;
    return {
      ...mapDesc({
        name: this.name,
        type: this.typeName,
        keySize: this.keySize,
        valueSize: this.valueSize,
        maxEntries: this.maxEntries,
        ...(this.spinLockOff >= 0 ? { spinLockOff: this.spinLockOff } : {}),
        ...(this.timerOff >= 0 ? { timerOff: this.timerOff } : {}),
        ...((this.mapFlags & BPF_MAP_F.RDONLY_PROG) !== 0 ? { readOnly: true } : {}),
      }),
      // Linux's inner_map_meta has no name, and the verifier log prints none for it.
      ...(inner === null ? {} : { innerMap: { ...inner, name: '' } }),
      ...(rdonly ? { readOnlyValue: (off: number, size: number) => this.readValueBytes(valueBase + off, size) } : {}),
    };
  }

  /**
   * The kernel address of element 0's value when programs may address it directly (BPF_PSEUDO_MAP_VALUE:
   * array_map_direct_value_addr), else -1.
   */
  directValueBase(): number {
    return -1;
  }

  /**
   * The address of the map's struct in its own allocation (an array's struct bpf_array, before its values), which
   * then is the map's kernel address; -1 for a map whose struct the runtime allocates on its own.
   */
  kernelStruct(): number {
    return -1;
  }

  /**
   * map->ops->map_gen_lookup: bpf_map_lookup_elem as instructions (r1 the map, r2 the key; r0 the value or NULL),
   * which do_misc_fixups puts in place of the call in a JIT-compiled program; null for a type without one.
   */
  genLookup(): InsnPatch | null {
    return null;
  }

  /** `size` bytes (1, 2, 4, 8) of kernel memory at `address` as an unsigned little-endian number (bpf_map_direct_read). */
  private readValueBytes(address: number, size: number): bigint {
    let value = 0n;
    for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(this.bytes[address + i] ?? 0);
    return value;
  }

  // --- program side (helpers): keys and values are physical addresses ---

  /** map_lookup_elem from a program on `cpu`: the physical address of the value (this CPU's slot for per-CPU maps), or 0. */
  abstract lookup(keyAddr: number, cpu: number): number;
  /**
   * map_for_each_callback (bpf_for_each_map_elem): `visit(keyAddr, valueAddr)` for each element in Linux's
   * order, with this CPU's value of a per-CPU map, until it returns true; the number of elements visited (the
   * one that stopped the walk included). A type whose key is not stored in the map writes it at `keyScratch`
   * (Linux: a u32 on the kernel stack). Types without the op (Linux: no map_for_each_callback) answer
   * -ENOTSUPP; the verifier refuses a program that would get there.
   */
  forEachElem(_cpu: number, _keyScratch: number, _visit: (keyAddr: number, valueAddr: number) => boolean): number {
    return -ENOTSUPP;
  }
  /** map_update_elem from a program on `cpu`: 0 or -errno. */
  update(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    return this.updateElem(this.bytes, keyAddr, this.bytes, valueAddr, flags, cpu, false);
  }
  /** map_delete_elem: 0 or -errno. */
  delete(keyAddr: number): number {
    return this.deleteElem(this.bytes, keyAddr);
  }

  // --- syscall side: keys and values are kernel copies of user memory ---

  /**
   * BPF_MAP_LOOKUP_ELEM (bpf_map_copy_value): copy the value into `out` ({@link userValueSize} bytes; every
   * CPU's slot for per-CPU maps), 0 or -errno. A spin lock in the value reads as zero.
   */
  lookupSys(key: Uint8Array, out: Uint8Array, flags: number): number {
    const bad = this.lookupFlagsCheck(flags);
    if (bad !== 0) return bad;
    return this.copyOut(key, out);
  }
  /** BPF_MAP_UPDATE_ELEM with `value` of {@link userValueSize} bytes, made on `cpu` (the LRU list a per-CPU LRU uses): 0 or -errno. */
  updateSys(key: Uint8Array, value: Uint8Array, flags: number, cpu = 0): number {
    return this.updateElem(key, 0, value, 0, flags, cpu, true);
  }
  /**
   * BPF_MAP_UPDATE_ELEM as the syscall calls it: with the objects behind fds for maps whose values are fds
   * (fd arrays, map-in-map, a DEVMAP's program), which override this; others ignore them.
   */
  updateWithFds(key: Uint8Array, value: Uint8Array, flags: number, _fds: MapFdObjects): number {
    return this.updateSys(key, value, flags);
  }
  /** map_release_uref: the last user-space reference (fd or pin) went (a PROG_ARRAY drops its programs). */
  releaseUref(): void {}
  /** map_release: a file of this map was closed (a PERF_EVENT_ARRAY drops the entries written through it). */
  releaseFile(_file: File): void {}
  /**
   * __bpf_prog_map_compatible, for the maps that hold programs (map_type_contains_progs: PROG_ARRAY, DEVMAP):
   * the first program fixes the type, JIT-ness and xdp_has_frags the others must share. Other maps take any.
   */
  progCompatible(_prog: Pick<FdProgram, 'progType' | 'jited' | 'xdpHasFrags'>): boolean {
    return true;
  }
  /** The inner map template of a map-in-map (bpf_map_meta_alloc's copy), as the verifier sees it; null otherwise. */
  innerMapDesc(): MapDesc | null {
    return null;
  }
  /** BPF_MAP_DELETE_ELEM: 0 or -errno. */
  deleteSys(key: Uint8Array): number {
    return this.deleteElem(key, 0);
  }
  /** BPF_MAP_GET_NEXT_KEY: the key after `key` into `next`; a null or absent key gives the first key; -ENOENT after the last. */
  abstract getNextKey(key: Uint8Array | null, next: Uint8Array): number;
  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM: copy out then delete, 0 or -errno; -ENOTSUPP for types without it (as the syscall answers). */
  lookupAndDeleteSys(_key: Uint8Array, _out: Uint8Array, _flags: number): number {
    return -ENOTSUPP;
  }
  /**
   * map_push_elem (bpf_map_push_elem; QUEUE and STACK): push the value at `valueAddr`, 0 or -errno. Other types
   * have no push op; the verifier keeps the helper from them (check_map_func_compatibility), so this answers
   * what a missing op would mean.
   */
  push(_valueAddr: number, _flags: number): number {
    return -Errno.EOPNOTSUPP;
  }
  /** map_pop_elem (bpf_map_pop_elem; QUEUE and STACK): take the next value into `valueAddr`, 0 or -errno. */
  pop(_valueAddr: number): number {
    return -Errno.EOPNOTSUPP;
  }
  /** map_peek_elem (bpf_map_peek_elem; QUEUE and STACK): copy the next value to `valueAddr` without taking it, 0 or -errno. */
  peek(_valueAddr: number): number {
    return -Errno.EOPNOTSUPP;
  }
  /**
   * map_mmap: the physical pages backing `pages` pages of the map from page offset `pgoff`, or -errno. Called
   * through {@link bpfMapMmap}, which has made the checks every map shares. Types without the op: ENOTSUPP.
   */
  mmap(_pgoff: number, _pages: number, _prot: number, _flags: number): readonly number[] | number {
    return -ENOTSUPP;
  }
  /**
   * map_mem_usage: the bytes Linux 6.18 accounts to a map of this shape and contents (fdinfo's `memlock`), by its
   * type's formula and the kernel's struct sizes (mem-usage.ts), whatever this kernel's own layout takes.
   */
  abstract memUsage(): number;
  /** The program type (and JIT) a map holding programs was claimed by (map->owner), or undefined. */
  progOwner(): { readonly progType: number; readonly jited: boolean } | undefined {
    return undefined;
  }
  /** map_free: give every byte back to the kernel. The map must not be used afterwards. */
  abstract free(): void;

  // --- the one implementation both sides reach ---

  protected abstract updateElem(keySrc: Uint8Array, keyOff: number, valSrc: Uint8Array, valOff: number, flags: number, cpu: number, allCpus: boolean): number;
  protected abstract deleteElem(keySrc: Uint8Array, keyOff: number): number;
  /** Copy the value of `key` to user space's buffer (every CPU for per-CPU maps): 0 or -ENOENT. */
  protected abstract copyOut(key: Uint8Array, out: Uint8Array): number;

  /** The syscall's flag check for lookups (map_lookup_elem, map_lookup_and_delete_elem): only BPF_F_LOCK, and only with a lock. */
  protected lookupFlagsCheck(flags: number): number {
    if ((flags & ~BPF_UPDATE.F_LOCK) !== 0) return -Errno.EINVAL;
    if ((flags & BPF_UPDATE.F_LOCK) !== 0 && this.spinLockOff < 0) return -Errno.EINVAL;
    return 0;
  }

  /**
   * copy_map_value: `value_size` bytes from (src, srcOff) to the value at `dst` in kernel memory, leaving the
   * spin lock alone (Linux never copies special fields; with BPF_F_LOCK it also holds the lock, which a
   * single-threaded simulation need not take).
   */
  protected copyIn(dst: number, src: Uint8Array, srcOff: number, size: number): void {
    const lock = this.spinLockOff;
    if (lock < 0) {
      this.copyRange(dst, src, srcOff, size);
      return;
    }
    this.copyRange(dst, src, srcOff, lock);
    this.copyRange(dst + lock + 4, src, srcOff + lock + 4, size - lock - 4);
  }

  /**
   * Copy bytes into kernel memory; from kernel memory itself (a program's update) without making a view. A
   * small block from user space's copy (a bpf() key or value) goes byte by byte, cheaper than a view.
   */
  protected copyRange(dst: number, src: Uint8Array, srcOff: number, size: number): void {
    const bytes = this.bytes;
    if (src === bytes) bytes.copyWithin(dst, srcOff, srcOff + size);
    else if (size <= SMALL_COPY) for (let i = 0; i < size; i++) bytes[dst + i] = src[srcOff + i] as number;
    else bytes.set(src.subarray(srcOff, srcOff + size), dst);
  }

  /** copy_map_value then check_and_init_map_value: `size` bytes from kernel memory at `src` to `out`, the lock zeroed. */
  protected copyToUser(out: Uint8Array, outOff: number, src: number, size: number): void {
    const bytes = this.bytes;
    if (size <= SMALL_COPY) for (let i = 0; i < size; i++) out[outOff + i] = bytes[src + i] as number;
    else out.set(bytes.subarray(src, src + size), outOff);
    if (this.spinLockOff >= 0) out.fill(0, outOff + this.spinLockOff, outOff + this.spinLockOff + 4);
  }
}

/**
 * bpf_map_mmap (kernel/bpf/syscall.c), the `mmap` of a map fd: only shared mappings (EINVAL); a writable one
 * is EPERM once the map is frozen and EACCES for a map programs may only read (BPF_F_RDONLY_PROG), since the
 * verifier trusts those values not to change; then the type's map_mmap (ENOTSUPP for types without one).
 *
 * Not modelled: Linux also drops VM_MAYWRITE from a read-only mapping (so mprotect cannot make it writable
 * later; the kernel's mprotect must consult the protection the mapping was made with) and counts writable
 * mappings so MAP_FREEZE answers EBUSY while one exists, which needs munmap to tell the map.
 */
export function bpfMapMmap(map: BpfMap, pgoff: number, pages: number, prot: number, flags: number): readonly number[] | number {
  if (!map.hasMmap) return -ENOTSUPP;
  if ((flags & MAP.SHARED) === 0) return -Errno.EINVAL;
  if ((prot & PROT.WRITE) !== 0) {
    if (map.frozen) return -Errno.EPERM;
    if ((map.mapFlags & BPF_MAP_F.RDONLY_PROG) !== 0) return -Errno.EACCES;
  }
  return map.mmap(pgoff, pages, prot, flags);
}
