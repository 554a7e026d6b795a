/**
 * The bpf(2) syscall (kernel/bpf/syscall.c): bpf_attr read from user memory, one handler per command in a
 * table keyed by the command number, and maps as anon-inode files `bpf-map` with a reference count and an id.
 *
 * The handler closes over the kernel services it uses ({@link BpfServices}); `registerBpf(kernel)` installs it
 * in the kernel's syscall table (the kernel does not import this package).
 *
 * Attributes are read in place from one preallocated block by the offsets of uapi's layouts (no decoding
 * object per call): the syscall path of a map operation allocates nothing but what the map itself does.
 */
import { registerSocketFilters } from '../attach/socket-filter.js';
import {
  hasCapability,
  HookPoint,
  releaseFile,
  type File,
  type FileOperations,
  type KernelServices,
  type NetDevice,
  type PerfEvents,
  type PerfEventBpfHost,
  type PerfOutputEvent,
  type SyscallHandler,
  type Task,
  type TracePipe,
  type UserCopy,
  type Cgroup,
  type CgroupHierarchy,
  type SecurityHooks,
} from '@ebpf-sim/kernel';
import {
  AT_FDCWD,
  BPF_ATTR_LAYOUTS,
  BPF_ATTR_SIZE,
  BPF_CMD,
  BPF_F_PATH_FD,
  BPF_MAP_F,
  BPF_MAP_INFO,
  BPF_UPDATE,
  CAP,
  Errno,
  O,
  PAGE_SIZE,
  PATH_MAX,
  attrFieldSize,
  type AttrLayout,
  type BpfAttrCmd,
} from '@ebpf-sim/uapi';
import { linkCreate } from '../attach/link-create.js';
import { taskFdQuery } from '../attach/task-fd-query.js';
import { progAttach, progDetach, progQuery } from '../attach/prog-attach.js';
import { perfEventBpfOps } from '../attach/perf-link.js';
import type { BpfHelper } from '../helpers/define.js';
import type { BpfMap, FdProgram, FdRef, MapCgroup, MapEnv, MapFdObjects, MapSocket, NetDevices } from '../maps/map.js';
import { createMap } from '../maps/registry.js';
import { ENOTSUPP, bpfMapMmap } from '../maps/map.js';
import { BpfRuntime } from '../runtime/runtime.js';
import { BtfSyscall, mapCheckBtf, type BtfObject } from './btf.js';
import { freeMapTimers, timerOffOf } from '../helpers/timer.js';
import { CyclicIdr } from './idr.js';
import { LinkSyscall, type BpfLink } from './link.js';
import { mapBatch } from './map-batch.js';
import type { MapObject } from './objects.js';
import { mapCreateDenied } from './permissions.js';
import { ProgSyscall, type ProgObject } from './prog.js';
import { progTestRun } from './prog-test-run.js';
import type { TestRunNetDevice } from '../test-run/index.js';
import { registerBpfSysctls, type BpfSysctls } from './sysctls.js';
import { publishVmlinuxBtf } from '../vmlinux/vmlinux-btf.js';
import { bindKfuncs } from '../kfuncs/index.js';
import { rawTracepointOpen } from '../attach/raw-tracepoint-open.js';
import { kernelBpfCalls } from './kernel-sys-bpf.js';
import { StructOpsTable } from '../struct-ops/registry.js';
import { BPF_MAP_TYPE } from '@ebpf-sim/uapi';
import { StructOpsMap } from '../maps/struct_ops.js';
import { registerCgroupBpf } from '../attach/cgroup-link.js';

export type { MapObject } from './objects.js';

/** What bpf() uses of the kernel. */
export type BpfServices = Pick<
  KernelServices,
  'userMemory' | 'fds' | 'phys' | 'random' | 'pinning' | 'sysctl' | 'clock' | 'current' | 'signals' | 'kallsyms'
> & {
  readonly hookArena: Pick<KernelServices['hookArena'], 'nrCpus'>;
  /** tracefs (bpf_trace_printk's trace_pipe), when the kernel has it. */
  readonly tracing?: TracePipe;
  /** The network devices: BPF_PROG_TEST_RUN and DEVMAP entries name them by ifindex (absent: none). */
  readonly devices?: { netByIndex(ifindex: number): TestRunNetDevice | undefined };
  /** perf events, whose fds PERF_EVENT_ARRAY values are (absent: no fd is one). */
  readonly perfEvents?: PerfEvents;
  /** Live tasks by pid (BPF_TASK_FD_QUERY looks its pid up here; absent: no pid is found). */
  readonly tasks?: ReadonlyMap<number, Task>;
  /** perf events as attach targets: SET_BPF and perf links (absent: no perf event takes a program). */
  readonly perfBpf?: PerfEventBpfHost;
  /** The socket behind a file (sock_from_file), for the socket maps' values (absent: no file is a socket). */
  readonly sockets?: { socketOf(file: File): FdRef<MapSocket> | undefined };
  /** The cgroup v2 directory behind a file (cgroup_get_from_file), for CGROUP_ARRAY values (absent: none is). */
  readonly cgroups?: { cgroupOf(file: File): FdRef<MapCgroup> | undefined };
  /** The hook points and sysfs: with both, registerBpf publishes the vmlinux BTF at /sys/kernel/btf/vmlinux. */
  readonly hooks?: KernelServices['hooks'];
  readonly sysfs?: KernelServices['sysfs'];
  /** The network stack: registerBpf gives it the SO_ATTACH_BPF provider (absent: no sockets). */
  readonly net?: KernelServices['net'];
  /** cgroupfs and its hierarchy: registerBpf plugs the cgroup programs' runner in (absent: no cgroups). */
  readonly cgroupfs?: { readonly cgroups: CgroupHierarchy };
  /** The LSM call sites: __sys_bpf asks security_bpf before every command (absent: no LSM). */
  readonly security?: Pick<SecurityHooks, 'bpf'>;
};

/** Program fds as fd-valued maps take them: the program subsystem's `progFromFd` (bpf_prog_get), with a reference. */
export interface ProgramFds {
  progFromFd(task: Task, fd: number): FdRef<FdProgram> | number;
}

/** What registerBpf may be given besides the kernel. */
export interface BpfOptions {
  /** The helpers whose implementations programs may call (default: every helper the subsystem defines). */
  readonly helpers?: ReadonlyMap<number, BpfHelper>;
  /** bpf_trace_printk's sink, when it is not the kernel's own tracefs (`kernel.tracing`). */
  readonly trace?: TracePipe;
}

/**
 * Without tracefs there is no trace_pipe: bpf_trace_printk from a program stops it with a helper error that
 * says so (the kernel only lacks it when built without CONFIG_TRACING, where the helper does not exist).
 */
const NO_TRACEFS: TracePipe = {
  printk: () => {
    throw new Error('bpf_trace_printk: this kernel has no tracefs (trace_pipe); create it with the kernel or pass registerBpf a trace sink');
  },
};

/** FMODE_CAN_READ / FMODE_CAN_WRITE of a map fd, from its open access mode. */
const FMODE_READ = 1;
const FMODE_WRITE = 2;

/** BPF_OBJ_FLAG_MASK: the open flags OBJ_GET and *_GET_FD_BY_ID accept. */
const BPF_OBJ_FLAG_MASK = BPF_MAP_F.RDONLY | BPF_MAP_F.WRONLY;

/** INT_MAX: BPF_*_GET_NEXT_ID refuses a start id at or above it. */
const INT_MAX = 0x7fffffff;

/** bpf_get_file_flag: the access mode of an fd from BPF_F_RDONLY / BPF_F_WRONLY (both: EINVAL). */
function fileFlagOf(flags: number): number {
  const rdonly = (flags & BPF_MAP_F.RDONLY) !== 0;
  const wronly = (flags & BPF_MAP_F.WRONLY) !== 0;
  if (rdonly && wronly) return -Errno.EINVAL;
  return rdonly ? O.RDONLY : wronly ? O.WRONLY : O.RDWR;
}

/** One command: the last field it reads (Linux's <CMD>_LAST_FIELD, for CHECK_ATTR) and its handler. */
interface BpfCommand {
  readonly cmd: BpfAttrCmd;
  /** Byte offset just past the command's last field: every byte after it must be zero. */
  readonly end: number;
  readonly run: (task: Task, mm: UserCopy, uattr: number) => number;
}

const layoutEnd = (layout: AttrLayout, last: string): number => {
  const field = layout[last];
  if (field === undefined) throw new Error(`bpf(): no field ${last} in the attr layout`);
  return field.offset + attrFieldSize(field);
};

const L = BPF_ATTR_LAYOUTS;

/**
 * The bpf subsystem's syscall side: the map ids, the map file operations, and the command table. One per
 * kernel; `handler` is what the syscall table calls.
 */
export class BpfSyscall {
  /** Map ids (map_idr). */
  readonly maps = new CyclicIdr<MapObject>();
  /** bpf_map_fops: a map fd's last close, or its last pin going, drops a reference. */
  readonly mapFops: FileOperations;
  readonly handler: SyscallHandler;
  /** Program fds for PROG_ARRAY and DEVMAP values (default: this kernel's programs, {@link progFromFd}). */
  programs: ProgramFds;
  /** The runtime programs run on (its VMs, helper table and map addresses). */
  readonly runtime: BpfRuntime;
  /** Programs: ids, fds, PROG_LOAD. */
  readonly progs: ProgSyscall;
  /** BTF objects: ids, fds, BTF_LOAD. */
  readonly btfs: BtfSyscall;
  /** Links (link_idr, bpf_link_fops): the attach paths create them with `links.prime` and `links.settle`. */
  readonly links: LinkSyscall;
  /** The kernel's perf events as attach targets (perf links), when it has them. */
  /** The task with pid `pid` (find_vpid + get_pid_task), or undefined. */
  taskByPid(pid: number): Task | undefined {
    return this.k.tasks?.get(pid);
  }

  /** The file behind `fd` in `task`'s table (fget_task), or undefined. */
  fileOf(task: Task, fd: number): File | undefined {
    return this.k.fds.fdget(task, fd);
  }

  /** kallsyms_show_value(current_cred()): whether the task in the kernel now (the caller, the fdinfo reader) sees kernel addresses. */
  kernelAddressesShown(): boolean {
    return this.k.kallsyms.shownTo(this.k.current.currentTask());
  }

  get perfBpf(): PerfEventBpfHost | undefined {
    return this.k.perfBpf;
  }
  /** kernel.unprivileged_bpf_disabled, kernel.bpf_stats_enabled, net.core.bpf_jit_enable. */
  readonly sysctls: BpfSysctls;
  /** The attr block of the command in progress, zero-extended to what this kernel knows. */
  readonly attr = new Uint8Array(BPF_ATTR_SIZE);
  /** Bytes of bpf_attr user space passed to the command in progress. */
  attrSize = 0;
  /** How far the last copy into `attr` wrote: every byte past it is zero (nothing else writes the block). */
  private attrEnd = 0;

  private readonly view = new DataView(this.attr.buffer);
  private readonly scratch = new Uint8Array(PAGE_SIZE);
  private readonly info = new Uint8Array(BPF_MAP_INFO.size);
  private readonly infoView = new DataView(this.info.buffer);
  private readonly u32Out = new Uint8Array(4);
  private readonly u32OutView = new DataView(this.u32Out.buffer);
  private readonly commands: ReadonlyArray<BpfCommand | undefined>;
  /** The objects behind fds in map values, for the task of the call in progress (map_fd_get_ptr). */
  private readonly fdObjects: SyscallFdObjects;
  /** The map file the last {@link mapWithAccess} found. */
  private accessFile: File | null = null;

  constructor(
    private readonly k: BpfServices,
    options: BpfOptions = {},
  ) {
    this.mapFops = {
      name: 'bpf-map',
      release: (file: File) => {
        const object = file.privateData as MapObject;
        object.map.releaseFile(file);
        this.mapPut(object, true);
      },
      unpin: (object: unknown) => this.mapPut(object as MapObject, true),
      mmap: (file, pgoff, pages, prot, flags) => bpfMapMmap((file.privateData as MapObject).map, pgoff, pages, prot, flags),
      showFdinfo: (file: File) => showMapFdinfo((file.privateData as MapObject).map),
      poll: (file, table) => (file.privateData as MapObject).map.poll(table),
    };
    this.fdObjects = new SyscallFdObjects(this, k);
    const statsKey = { enabled: 0 };
    this.sysctls = registerBpfSysctls(k.sysctl, statsKey);
    this.runtime = new BpfRuntime(k, {
      trace: options.trace ?? k.tracing ?? NO_TRACEFS,
      ...(options.helpers === undefined ? {} : { helpers: options.helpers }),
      stats: statsKey,
      ...(k.tasks === undefined ? {} : { tasks: k.tasks }),
    });
    this.progs = new ProgSyscall(k, this, this.runtime, this.sysctls, statsKey);
    this.programs = { progFromFd: (task, fd) => this.progRef(task, fd) };
    this.btfs = new BtfSyscall(k, this);
    this.links = new LinkSyscall(k, {
      u32: (offset) => this.u32(offset),
      putU32: (mm, address, value) => this.putU32(mm, address, value),
      infoLen: (mm, uinfo, infoLen, size) => this.infoLen(mm, uinfo, infoLen, size),
      progFromFd: (task, fd) => this.progs.progFromFd(task, fd),
      progPut: (prog) => this.progs.put(prog),
    });
    const table: BpfCommand[] = [
      this.command('MAP_CREATE', 'map_extra', (task) => this.mapCreate(task)),
      this.command('MAP_LOOKUP_ELEM', 'flags', (task, mm) => this.mapLookup(task, mm, false)),
      this.command('MAP_UPDATE_ELEM', 'flags', (task, mm) => this.mapUpdate(task, mm)),
      this.command('MAP_DELETE_ELEM', 'key', (task, mm) => this.mapDelete(task, mm)),
      this.command('MAP_GET_NEXT_KEY', 'next_key', (task, mm) => this.mapGetNextKey(task, mm)),
      this.command('MAP_LOOKUP_AND_DELETE_ELEM', 'flags', (task, mm) => this.mapLookup(task, mm, true)),
      this.command('MAP_FREEZE', 'map_fd', (task) => this.mapFreeze(task)),
      this.command('OBJ_PIN', 'path_fd', (task, mm) => this.objPin(task, mm)),
      this.command('OBJ_GET', 'path_fd', (task, mm) => this.objGet(task, mm)),
      this.command('MAP_GET_NEXT_ID', 'next_id', (task, mm, uattr) => this.objGetNextId(this.maps, task, mm, uattr)),
      this.command('MAP_GET_FD_BY_ID', 'open_flags', (task) => this.mapGetFdById(task)),
      this.command('OBJ_GET_INFO_BY_FD', 'info', (task, mm, uattr) => this.objGetInfoByFd(task, mm, uattr)),
      this.command('PROG_LOAD', 'log_true_size', (task, mm, uattr) => this.progs.load(task, mm, uattr)),
      this.command('PROG_GET_NEXT_ID', 'next_id', (task, mm, uattr) => this.objGetNextId(this.progs.progs, task, mm, uattr)),
      this.command('PROG_GET_FD_BY_ID', 'id', (task) => this.progs.getFdById(task)),
      this.command('ENABLE_STATS', 'type', (task) => this.progs.enableStats(task)),
      this.command('PROG_TEST_RUN', 'batch_size', (task, mm, uattr) => progTestRun(this, this.k, task, mm, uattr)),
      this.command('MAP_LOOKUP_BATCH', 'flags', (task, mm, uattr) => mapBatch(this, 'lookup', task, mm, uattr)),
      this.command('MAP_LOOKUP_AND_DELETE_BATCH', 'flags', (task, mm, uattr) => mapBatch(this, 'lookup_and_delete', task, mm, uattr)),
      this.command('MAP_UPDATE_BATCH', 'flags', (task, mm, uattr) => mapBatch(this, 'update', task, mm, uattr)),
      this.command('MAP_DELETE_BATCH', 'flags', (task, mm, uattr) => mapBatch(this, 'delete', task, mm, uattr)),
      this.command('BTF_LOAD', 'btf_token_fd', (task, mm, uattr) => this.btfs.load(task, mm, uattr)),
      this.command('BTF_GET_NEXT_ID', 'next_id', (task, mm, uattr) => this.objGetNextId(this.btfs.ids, task, mm, uattr)),
      this.command('BTF_GET_FD_BY_ID', 'open_flags', (task) => this.btfs.getFdById(task)),
      this.command('LINK_CREATE', 'uprobe_multi_pid', (task, mm) => linkCreate(this, task, mm)),
      this.command('LINK_UPDATE', 'old_prog_fd', (task) => this.links.update(task)),
      this.command('LINK_GET_FD_BY_ID', 'id', (task) => this.links.getFdById(task)),
      this.command('LINK_GET_NEXT_ID', 'next_id', (task, mm, uattr) => this.objGetNextId(this.links.ids, task, mm, uattr)),
      this.command('LINK_DETACH', 'link_fd', (task) => this.links.detach(task)),
      this.command('TASK_FD_QUERY', 'probe_addr', (task, mm, uattr) => taskFdQuery(this, task, mm, uattr)),
      this.command('PROG_ATTACH', 'expected_revision', (task) => progAttach(this, task)),
      this.command('PROG_DETACH', 'expected_revision', (task) => progDetach(this, task)),
      this.command('PROG_QUERY', 'revision', (task, mm, uattr) => progQuery(this, task, mm, uattr)),
      this.command('RAW_TRACEPOINT_OPEN', 'cookie', (task, mm) => rawTracepointOpen(this, task, mm)),
    ];
    const commands: Array<BpfCommand | undefined> = [];
    for (const command of table) commands[BPF_CMD[command.cmd]] = command;
    this.commands = commands;
    this.handler = (task, cmd, uattr, size) => this.sys(task, cmd, uattr, size);
    this.runtime.kernelBpf = kernelBpfCalls(k, (task, cmd, attr, size, mm) => this.sys(task, cmd, attr, size, mm, true));
  }

  /**
   * The program behind `fd` of `task` (bpf_prog_get), for PROG_ARRAY updates: the program, or -EBADF / -EINVAL.
   * A holder takes a reference with `prog.refs++` and drops it with `progs.put(prog)`.
   */
  progFromFd(task: Task, fd: number): ProgObject | number {
    return this.progs.progFromFd(task, fd);
  }

  /** bpf_prog_get with a reference, as fd-valued maps hold programs (progs.put drops it). */
  private progRef(task: Task, fd: number): FdRef<FdProgram> | number {
    const prog = this.progFromFd(task, fd);
    if (typeof prog === 'number') return prog;
    prog.refs++;
    return {
      // xdp_has_frags (BPF_F_XDP_HAS_FRAGS) is not kept by PROG_LOAD yet: false.
      object: {
        progType: prog.progType,
        expectedAttachType: prog.expectedAttachType,
        jited: prog.jited,
        xdpHasFrags: prog.xdpHasFrags,
        target: prog,
        attachBtfId: prog.attachBtfId,
      },
      id: prog.id,
      put: () => this.progs.put(prog),
    };
  }

  private command(cmd: BpfAttrCmd, last: string, run: BpfCommand['run']): BpfCommand {
    return { cmd, end: layoutEnd(L[cmd], last), run };
  }

  /** __sys_bpf: the attr block (tail check, zero extension, copy), then the command's CHECK_ATTR and handler. */
  private sys(task: Task, cmd: number, uattr: number, rawSize: number, mm: UserCopy = this.k.userMemory.of(task), kernel = false): number {
    let size = rawSize >>> 0;
    // bpf_check_uarg_tail_zero: bytes past what this kernel knows must be zero, and at most a page.
    this.attrSize = size;
    if (size > BPF_ATTR_SIZE) {
      if (size > PAGE_SIZE) return -Errno.E2BIG;
      const rest = size - BPF_ATTR_SIZE;
      if (!mm.copyFromUser(uattr + BPF_ATTR_SIZE, this.scratch, 0, rest)) return -Errno.EFAULT;
      for (let i = 0; i < rest; i++) if (this.scratch[i] !== 0) return -Errno.E2BIG;
      size = BPF_ATTR_SIZE;
    }
    // A smaller block reads as zero-extended: the copy fills [0, size), and what an earlier, longer block left
    // past it is cleared (bytes past `attrEnd` are zero already).
    const copied = mm.copyFromUser(uattr, this.attr, 0, size);
    if (this.attrEnd > size) this.attr.fill(0, size, this.attrEnd);
    this.attrEnd = size;
    if (!copied) return -Errno.EFAULT;
    // security_bpf, as Linux asks it: after the copy, before the command is even looked up.
    const security = this.k.security;
    if (security !== undefined) {
      const denied = security.bpf(task, cmd, this.attr, size, kernel);
      if (denied < 0) return denied;
    }
    // Linux's switch: a command this kernel does not know is EINVAL.
    const command = cmd >= 0 ? this.commands[cmd] : undefined;
    if (command === undefined) return -Errno.EINVAL;
    // CHECK_ATTR: the fields past the command's own are zero.
    // Bytes past `size` are zero already.
    for (let i = command.end; i < size; i++) if (this.attr[i] !== 0) return -Errno.EINVAL;
    return command.run(task, mm, uattr);
  }

  /** The kernel's hook points, where the attach paths attach programs (undefined: a kernel built without them). */
  get hookPoints(): BpfServices['hooks'] {
    return this.k.hooks;
  }

  // ---- reading the attr block in place (the command handlers, here and in map-batch.ts) ----

  u32(offset: number): number {
    return this.view.getUint32(offset, true);
  }
  s32(offset: number): number {
    return this.view.getInt32(offset, true);
  }
  u64(offset: number): number {
    return this.view.getUint32(offset, true) + this.view.getUint32(offset + 4, true) * 0x1_0000_0000;
  }
  u64High(offset: number): number {
    return this.view.getUint32(offset + 4, true);
  }
  private name(offset: number): string {
    let text = '';
    for (let i = 0; i < 16; i++) {
      const byte = this.attr[offset + i] ?? 0;
      if (byte === 0) return text;
      text += String.fromCharCode(byte);
    }
    // No NUL in char[BPF_OBJ_NAME_LEN]: bpf_obj_name_cpy answers EINVAL (the registry's name check refuses 16 characters).
    return text;
  }

  // ---- map references ----

  /**
   * bpf_map_put: drop a reference; the last frees the map and its id. `uref` for a file or pin
   * (bpf_map_put_with_uref): the last of those runs map_release_uref.
   */
  mapPut(object: MapObject, uref = false): void {
    if (uref && --object.urefs === 0) object.map.releaseUref();
    // map_release_uref: a map's timers go with the last user-space reference (bpf_timer_cancel_and_free).
    if (uref && object.urefs === 0) freeMapTimers(this.runtime, object.map);
    object.refs--;
    if (object.refs > 0) return;
    this.maps.remove(object.map.id);
    this.runtime.unplaceMap(object.map);
    this.freeMap(object);
  }

  /** bpf_map_free: the map's memory and its reference on its BTF. */
  private freeMap(object: MapObject): void {
    object.map.free();
    if (object.btf !== undefined) this.btfs.put(object.btf.object);
  }

  /** bpf_map_new_fd: a new `anon_inode:bpf-map` fd holding one reference (taken by the caller). */
  private mapNewFd(task: Task, object: MapObject, accessMode: number): number {
    const fd = this.k.fds.installFd(task, 'bpf-map', this.mapFops, object, accessMode | O.CLOEXEC);
    if (fd < 0) this.mapPut(object, true);
    return fd;
  }

  /** btf_get_by_fd for BPF_PROG_LOAD's prog_btf_fd (MapAccess). */
  btfGet(task: Task, fd: number): BtfObject | number {
    return this.btfs.get(task, fd);
  }

  btfPut(object: BtfObject): void {
    this.btfs.put(object);
  }

  /** fdget + __bpf_map_get: the open map file behind `fd`, -EBADF for no file, -EINVAL for a file that is not a map. */
  mapFile(task: Task, fd: number): File | number {
    const file = this.k.fds.fdget(task, fd);
    if (file === undefined) return -Errno.EBADF;
    if (file.ops !== this.mapFops) return -Errno.EINVAL;
    return file;
  }

  /** fdget + __bpf_map_get + map_get_sys_perms for a command that needs `need`: the map, or -EBADF / -EINVAL / -EPERM. */
  mapWithAccess(task: Task, fdOffset: number, need: number): MapObject | number {
    const file = this.mapFile(task, this.u32(fdOffset));
    if (typeof file === 'number') return file;
    const object = file.privateData as MapObject;
    this.accessFile = file;
    return (this.perms(file, object) & need) === need ? object : -Errno.EPERM;
  }

  /** map_get_sys_perms: the fd's access mode, with writes taken away from a frozen map. */
  private perms(file: File, object: MapObject): number {
    const mode = file.flags & O.ACCMODE;
    let perms = mode === O.RDONLY ? FMODE_READ : mode === O.WRONLY ? FMODE_WRITE : FMODE_READ | FMODE_WRITE;
    if (object.map.frozen) perms &= ~FMODE_WRITE;
    return perms;
  }

  /** __bpf_copy_key: the key from user memory into the map's key buffer; a zero-size key takes no pointer. */
  private copyKey(mm: UserCopy, address: number, into: Uint8Array): number {
    if (into.length === 0) return address === 0 ? 0 : -Errno.EINVAL;
    return mm.copyFromUser(address, into, 0, into.length) ? 0 : -Errno.EFAULT;
  }

  // ---- the commands ----

  /** map_create. */
  private mapCreate(task: Task): number {
    const C = L.MAP_CREATE;
    const denied = mapCreateDenied(task, this.u32(C.map_type.offset), this.sysctls.unprivBpfDisabled.value);
    if (denied !== 0) return denied;
    const btfKeyTypeId = this.u32(C.btf_key_type_id.offset);
    const btfValueTypeId = this.u32(C.btf_value_type_id.offset);
    // map_create: a kernel value type (btf_vmlinux_value_type_id) only for STRUCT_OPS maps, without the map's own type ids.
    const vmlinuxValueTypeId = this.u32(C.btf_vmlinux_value_type_id.offset);
    if (vmlinuxValueTypeId !== 0 && (this.u32(C.map_type.offset) !== BPF_MAP_TYPE.STRUCT_OPS || btfKeyTypeId !== 0 || btfValueTypeId !== 0))
      return -Errno.EINVAL;
    // map_create: a key type without a value type is EINVAL before anything else.
    if (btfKeyTypeId !== 0 && btfValueTypeId === 0) return -Errno.EINVAL;
    // map_ifindex asks for a device-offloaded map; no simulated NIC offloads maps (bpf_map_offload_map_alloc: EINVAL).
    if (this.u32(C.map_ifindex.offset) !== 0) return -Errno.EINVAL;
    const mapFlags = this.u32(C.map_flags.offset);
    const accessMode = fileFlagOf(mapFlags);
    if (accessMode < 0) return accessMode;
    const devices = this.k.devices;
    const netDevices: NetDevices | undefined = devices === undefined ? undefined : { byIndex: (ifindex) => devices.netByIndex(ifindex) };
    const env: MapEnv = {
      phys: this.k.phys,
      random: this.k.random,
      nrCpus: this.k.hookArena.nrCpus,
      clock: this.k.clock,
      capable: (cap) => hasCapability(task.group.cred, cap),
      // The local storages' user-space keys are fds of the task making each later call, not of the creator.
      fileOfUserFd: (fd) => {
        const caller = this.k.current.currentTask();
        return caller === undefined ? undefined : this.k.fds.fdget(caller, fd);
      },
      cgroupOfFile: (file) => this.cgroupHierarchy?.fromFile(file),
      cgroupAt: (address) => this.cgroupHierarchy?.atAddress(address),
      sockAt: (address) => this.k.net?.socketAt?.(address),
      mapOfFd: (fd) => {
        const file = this.mapFile(task, fd);
        return typeof file === 'number' ? file : (file.privateData as MapObject).map;
      },
      ...(netDevices === undefined ? {} : { netDevices }),
      ...(this.progs.structOps === undefined ? {} : { structOps: this.progs.structOps }),
    };
    const shape = {
      mapType: this.u32(C.map_type.offset),
      keySize: this.u32(C.key_size.offset),
      valueSize: this.u32(C.value_size.offset),
      maxEntries: this.u32(C.max_entries.offset),
    };
    // map_create: btf_get_by_fd and map_check_btf when type ids are given. Linux runs them after the map is
    // allocated, so an allocation error wins over a BTF one: the map is created first here too, then dropped.
    let btf: BtfObject | number | undefined;
    let spinLockOff = -1;
    let timerOff = -1;
    // A struct_ops map needs a BTF object too (its value type is the kernel's, but map_create takes btf_fd).
    if (btfKeyTypeId !== 0 || btfValueTypeId !== 0 || vmlinuxValueTypeId !== 0) {
      btf = this.btfs.get(task, this.u32(C.btf_fd.offset));
      if (typeof btf !== 'number' && btfValueTypeId !== 0) {
        spinLockOff = mapCheckBtf(btf.btf, btfKeyTypeId, btfValueTypeId, shape);
        timerOff = spinLockOff < -1 ? -1 : timerOffOf(btf.btf, btfValueTypeId, shape.mapType);
        if (timerOff < -1) spinLockOff = timerOff;
        if (spinLockOff < -1) {
          this.btfs.put(btf);
          btf = spinLockOff;
          spinLockOff = -1;
        }
      }
    }
    const map = createMap(
      {
        ...shape,
        mapFlags,
        name: this.name(C.map_name.offset),
        mapExtra: this.u64(C.map_extra.offset),
        numaNode: this.u32(C.numa_node.offset),
        innerMapFd: this.u32(C.inner_map_fd.offset),
        btfKeyTypeId,
        btfValueTypeId,
        btfVmlinuxValueTypeId: vmlinuxValueTypeId,
        ...(spinLockOff >= 0 ? { spinLockOff } : {}),
        ...(timerOff >= 0 ? { timerOff } : {}),
      },
      env,
    );
    if (typeof map === 'number' || typeof btf === 'number') {
      if (typeof btf === 'object') this.btfs.put(btf);
      if (typeof map === 'number') return map;
      map.free();
      return btf as number;
    }
    const object: MapObject = {
      map,
      refs: 1,
      urefs: 1,
      key: new Uint8Array(map.keySize),
      nextKey: new Uint8Array(map.keySize),
      value: new Uint8Array(map.userValueSize),
      ...(btf === undefined ? {} : { btf: { object: btf, keyTypeId: btfKeyTypeId, valueTypeId: btfValueTypeId } }),
    };
    const placed = this.runtime.placeMap(map);
    if (placed < 0) {
      this.freeMap(object);
      return placed;
    }
    const id = this.maps.alloc(object);
    if (id < 0) {
      this.runtime.unplaceMap(map);
      this.freeMap(object);
      return id;
    }
    map.id = id;
    return this.mapNewFd(task, object, accessMode);
  }

  /**
   * map_lookup_elem, and map_lookup_and_delete_elem with `andDelete` (which needs write access too); both
   * read the same ELEM attr fields.
   */
  private mapLookup(task: Task, mm: UserCopy, andDelete: boolean): number {
    const E = L.MAP_LOOKUP_ELEM;
    const flags = this.u32(E.flags.offset);
    if ((flags & ~BPF_UPDATE.F_LOCK) !== 0 || this.u64High(E.flags.offset) !== 0) return -Errno.EINVAL;
    const object = this.mapWithAccess(task, E.map_fd.offset, andDelete ? FMODE_READ | FMODE_WRITE : FMODE_READ);
    if (typeof object === 'number') return object;
    if ((flags & BPF_UPDATE.F_LOCK) !== 0 && object.map.spinLockOff < 0) return -Errno.EINVAL;
    const bad = this.copyKey(mm, this.u64(E.key.offset), object.key);
    if (bad !== 0) return bad;
    if (!andDelete && object.map.lookupTestsValue) {
      // The value is the question, not the answer: copied in, tested, and nothing copied back.
      if (!mm.copyFromUser(this.u64(E.value.offset), object.value, 0, object.value.length)) return -Errno.EFAULT;
      return object.map.lookupSys(object.key, object.value, flags);
    }
    const ret = andDelete ? object.map.lookupAndDeleteSys(object.key, object.value, flags) : object.map.lookupSys(object.key, object.value, flags);
    if (ret !== 0) return ret;
    return mm.copyToUser(this.u64(E.value.offset), object.value, 0, object.value.length) ? 0 : -Errno.EFAULT;
  }

  /** map_update_elem. */
  private mapUpdate(task: Task, mm: UserCopy): number {
    const E = L.MAP_UPDATE_ELEM;
    const object = this.mapWithAccess(task, E.map_fd.offset, FMODE_WRITE);
    if (typeof object === 'number') return object;
    const flags = this.u32(E.flags.offset);
    if ((flags & BPF_UPDATE.F_LOCK) !== 0 && object.map.spinLockOff < 0) return -Errno.EINVAL;
    const bad = this.copyKey(mm, this.u64(E.key.offset), object.key);
    if (bad !== 0) return bad;
    if (!mm.copyFromUser(this.u64(E.value.offset), object.value, 0, object.value.length)) return -Errno.EFAULT;
    // Every map type refuses update flags above BPF_EXIST (| BPF_F_LOCK); flags are 64 bits in bpf_attr.
    if (this.u64High(E.flags.offset) !== 0) return -Errno.EINVAL;
    return object.map.updateWithFds(object.key, object.value, flags, this.fdObjectsFor(task));
  }

  /** The fd resolver for a map update by `task` through the file {@link mapWithAccess} found. */
  fdObjectsFor(task: Task): MapFdObjects {
    this.fdObjects.task = task;
    this.fdObjects.mapFile = this.accessFile;
    return this.fdObjects;
  }

  /** map_delete_elem. */
  private mapDelete(task: Task, mm: UserCopy): number {
    const E = L.MAP_DELETE_ELEM;
    const object = this.mapWithAccess(task, E.map_fd.offset, FMODE_WRITE);
    if (typeof object === 'number') return object;
    const bad = this.copyKey(mm, this.u64(E.key.offset), object.key);
    if (bad !== 0) return bad;
    return object.map.deleteSys(object.key);
  }

  /** map_get_next_key: a null key pointer asks for the first key. */
  private mapGetNextKey(task: Task, mm: UserCopy): number {
    const E = L.MAP_GET_NEXT_KEY;
    const object = this.mapWithAccess(task, E.map_fd.offset, FMODE_READ);
    if (typeof object === 'number') return object;
    const keyAddress = this.u64(E.key.offset);
    if (keyAddress !== 0) {
      const bad = this.copyKey(mm, keyAddress, object.key);
      if (bad !== 0) return bad;
    }
    const ret = object.map.getNextKey(keyAddress === 0 ? null : object.key, object.nextKey);
    if (ret !== 0) return ret;
    return mm.copyToUser(this.u64(E.next_key.offset), object.nextKey, 0, object.nextKey.length) ? 0 : -Errno.EFAULT;
  }

  /** map_freeze: user space can no longer write the map (programs still can, unless BPF_F_RDONLY_PROG). */
  private mapFreeze(task: Task): number {
    const file = this.mapFile(task, this.u32(L.MAP_FREEZE.map_fd.offset));
    if (typeof file === 'number') return file;
    const object = file.privateData as MapObject;
    // A value with special fields (a spin lock: map->record) cannot be frozen.
    if (object.map.spinLockOff >= 0) return -ENOTSUPP;
    // map_get_sys_perms already drops write for a frozen map, so freezing twice is EPERM, as in Linux.
    if ((this.perms(file, object) & FMODE_WRITE) === 0) return -Errno.EPERM;
    if (object.map.frozen) return -Errno.EBUSY;
    object.map.frozen = true;
    return 0;
  }

  /** The path of OBJ_PIN / OBJ_GET: BPF_F_PATH_FD only with AT_FDCWD (the pinning service resolves from the cwd). */
  private objPath(mm: UserCopy, fileFlags: number): string | number {
    const O_ = L.OBJ_PIN;
    const pathFd = this.s32(O_.path_fd.offset);
    if ((fileFlags & BPF_F_PATH_FD) === 0 ? pathFd !== 0 : pathFd !== AT_FDCWD) return -Errno.EINVAL;
    return mm.readCString(this.u64(O_.pathname.offset), PATH_MAX);
  }

  /** bpf_obj_pin: the pin holds its own reference on the map. */
  private objPin(task: Task, mm: UserCopy): number {
    const fileFlags = this.u32(L.OBJ_PIN.file_flags.offset);
    if ((fileFlags & ~BPF_F_PATH_FD) !== 0) return -Errno.EINVAL;
    const path = this.objPath(mm, fileFlags);
    if (typeof path === 'number') return path;
    const fd = this.u32(L.OBJ_PIN.bpf_fd.offset);
    const prog = this.progs.progFromFd(task, fd);
    if (typeof prog !== 'number') {
      prog.refs++;
      const ret = this.k.pinning.pin(task, path, prog, this.progs.fops);
      if (ret < 0) this.progs.put(prog);
      return ret;
    }
    // bpf_fd_probe_obj: a program, else a map, else a link.
    const link = this.links.fromFd(task, fd);
    if (typeof link !== 'number') {
      link.refs++;
      const ret = this.k.pinning.pin(task, path, link, this.links.fops);
      if (ret < 0) this.links.put(link);
      return ret;
    }
    const file = this.mapFile(task, fd);
    if (typeof file === 'number') return file;
    const object = file.privateData as MapObject;
    object.refs++;
    object.urefs++;
    const ret = this.k.pinning.pin(task, path, object, this.mapFops);
    if (ret < 0) this.mapPut(object, true);
    return ret;
  }

  /** bpf_obj_get: a new fd on the pinned map, with the access BPF_F_RDONLY / BPF_F_WRONLY ask for. */
  private objGet(task: Task, mm: UserCopy): number {
    const fileFlags = this.u32(L.OBJ_GET.file_flags.offset);
    if (this.u32(L.OBJ_GET.bpf_fd.offset) !== 0 || (fileFlags & ~(BPF_OBJ_FLAG_MASK | BPF_F_PATH_FD)) !== 0) return -Errno.EINVAL;
    const accessMode = fileFlagOf(fileFlags);
    if (accessMode < 0) return accessMode;
    const path = this.objPath(mm, fileFlags);
    if (typeof path === 'number') return path;
    const inode = this.k.pinning.get(task, path, accessMode);
    if (typeof inode === 'number') return inode;
    if (inode.fops === this.progs.fops) {
      // bpf_obj_get: a program fd is always read-write; asking for less is EINVAL.
      if (accessMode !== O.RDWR) return -Errno.EINVAL;
      const prog = inode.privateData as ProgObject;
      prog.refs++;
      return this.progs.newFd(task, prog);
    }
    if (inode.fops === this.links.fops) {
      // bpf_obj_get_user: a link fd is read-write only (f_flags != O_RDWR is EINVAL).
      if (accessMode !== O.RDWR) return -Errno.EINVAL;
      const link = inode.privateData as BpfLink;
      link.refs++;
      return this.links.newFd(task, link);
    }
    if (inode.fops !== this.mapFops) return -Errno.EINVAL;
    const object = inode.privateData as MapObject;
    object.refs++;
    object.urefs++;
    return this.mapNewFd(task, object, accessMode);
  }

  /**
   * bpf_obj_get_next_id over one idr (map_idr, prog_idr, btf_idr, link_idr; the four commands share the attr
   * layout): start_id at or above INT_MAX is EINVAL, then CAP_SYS_ADMIN, then the next id written to next_id or ENOENT.
   */
  private objGetNextId(ids: CyclicIdr<unknown>, task: Task, mm: UserCopy, uattr: number): number {
    const G = L.MAP_GET_NEXT_ID;
    const start = this.u32(G.start_id.offset);
    if (start >= INT_MAX) return -Errno.EINVAL;
    if (!hasCapability(task.group.cred, CAP.SYS_ADMIN)) return -Errno.EPERM;
    const next = ids.nextAfter(start);
    if (next === 0) return -Errno.ENOENT;
    return this.putU32(mm, uattr + G.next_id.offset, next);
  }

  /** bpf_map_get_fd_by_id. */
  private mapGetFdById(task: Task): number {
    const B = L.MAP_GET_FD_BY_ID;
    const openFlags = this.u32(B.open_flags.offset);
    if ((openFlags & ~BPF_OBJ_FLAG_MASK) !== 0) return -Errno.EINVAL;
    if (!hasCapability(task.group.cred, CAP.SYS_ADMIN)) return -Errno.EPERM;
    const accessMode = fileFlagOf(openFlags);
    if (accessMode < 0) return accessMode;
    const object = this.maps.find(this.u32(B.id.offset));
    if (object === undefined) return -Errno.ENOENT;
    object.refs++;
    object.urefs++;
    return this.mapNewFd(task, object, accessMode);
  }

  /** bpf_obj_get_info_by_fd for a map (bpf_map_get_info_by_fd): copy min(info_len, sizeof) and write info_len back. */
  private objGetInfoByFd(task: Task, mm: UserCopy, uattr: number): number {
    const I = L.OBJ_GET_INFO_BY_FD;
    const file = this.k.fds.fdget(task, this.u32(I.bpf_fd.offset));
    if (file === undefined) return -Errno.EBADF;
    if (file.ops === this.progs.fops) {
      return this.progs.getInfo(task, mm, file.privateData as ProgObject, this.u64(I.info.offset), this.u32(I.info_len.offset), uattr + I.info_len.offset);
    }
    if (file.ops === this.btfs.fops) {
      return this.btfs.getInfo(mm, file.privateData as BtfObject, this.u64(I.info.offset), this.u32(I.info_len.offset), uattr + I.info_len.offset);
    }
    if (file.ops === this.links.fops) {
      return this.links.getInfo(mm, file.privateData as BpfLink, this.u64(I.info.offset), this.u32(I.info_len.offset), uattr + I.info_len.offset);
    }
    if (file.ops !== this.mapFops) return -Errno.EINVAL;
    const map = (file.privateData as MapObject).map;
    const uinfo = this.u64(I.info.offset);
    const infoLen = this.infoLen(mm, uinfo, this.u32(I.info_len.offset), BPF_MAP_INFO.size);
    if (infoLen < 0) return infoLen;
    const info = this.info;
    const view = this.infoView;
    info.fill(0);
    view.setUint32(BPF_MAP_INFO.type, map.type, true);
    view.setUint32(BPF_MAP_INFO.id, map.id, true);
    view.setUint32(BPF_MAP_INFO.key_size, map.keySize, true);
    view.setUint32(BPF_MAP_INFO.value_size, map.valueSize, true);
    view.setUint32(BPF_MAP_INFO.max_entries, map.maxEntries, true);
    view.setUint32(BPF_MAP_INFO.map_flags, map.mapFlags, true);
    for (let i = 0; i < map.name.length; i++) info[BPF_MAP_INFO.name + i] = map.name.charCodeAt(i);
    const btf = (file.privateData as MapObject).btf;
    if (btf !== undefined) {
      view.setUint32(BPF_MAP_INFO.btf_id, btf.object.id, true);
      view.setUint32(BPF_MAP_INFO.btf_key_type_id, btf.keyTypeId, true);
      view.setUint32(BPF_MAP_INFO.btf_value_type_id, btf.valueTypeId, true);
    }
    // A struct_ops map's value type is the kernel's (btf_vmlinux_value_type_id).
    if (map instanceof StructOpsMap) view.setUint32(BPF_MAP_INFO.btf_vmlinux_value_type_id, map.st.valueId, true);
    if (!mm.copyToUser(uinfo, info, 0, infoLen)) return -Errno.EFAULT;
    return this.putU32(mm, uattr + I.info_len.offset, infoLen);
  }

  /**
   * bpf_check_uarg_tail_zero on OBJ_GET_INFO_BY_FD's user struct of `size` known bytes: a longer one must be zero
   * past them (at most a page); the length to copy, or -E2BIG / -EFAULT.
   */
  infoLen(mm: UserCopy, uinfo: number, infoLen: number, size: number): number {
    if (infoLen <= size) return infoLen;
    if (infoLen > PAGE_SIZE) return -Errno.E2BIG;
    const rest = infoLen - size;
    if (!mm.copyFromUser(uinfo + size, this.scratch, 0, rest)) return -Errno.EFAULT;
    for (let i = 0; i < rest; i++) if (this.scratch[i] !== 0) return -Errno.E2BIG;
    return size;
  }

  /**
   * dev_get_by_index for the attach paths (XDP, tcx): the kernel's network device with its hook points, or
   * undefined when there is none at `ifindex` (or the kernel's devices are test doubles without hooks).
   */
  netDevice(ifindex: number): NetDevice | undefined {
    const dev: Partial<NetDevice> | undefined = this.k.devices?.netByIndex(ifindex);
    return dev?.xdp instanceof HookPoint && dev.tcIngress instanceof HookPoint && dev.tcEgress instanceof HookPoint ? (dev as NetDevice) : undefined;
  }

  /** The kernel's cgroup hierarchy (registerCgroupBpf sets it; absent: no fd names a cgroup). */
  cgroupHierarchy: CgroupHierarchy | undefined = undefined;

  /** cgroup_get_from_fd: the cgroup whose cgroupfs directory `fd` of `task` is open on, or -EBADF. */
  cgroupFromFd(task: Task, fd: number): Cgroup | number {
    const file = this.k.fds.fdget(task, fd);
    return (file === undefined ? undefined : this.cgroupHierarchy?.fromFile(file)) ?? -Errno.EBADF;
  }

  /** put_user of a u32 result into the attr block: 0 or -EFAULT. */
  putU32(mm: UserCopy, address: number, value: number): number {
    this.u32OutView.setUint32(0, value, true);
    return mm.copyToUser(address, this.u32Out, 0, 4) ? 0 : -Errno.EFAULT;
  }
}

/**
 * map_fd_get_ptr's lookups for the task of the call in progress: maps (__bpf_map_get + bpf_map_inc), programs
 * (through the program subsystem) and perf events (perf_event_get: fget, and EBADF for any other file).
 */
class SyscallFdObjects implements MapFdObjects {
  task: Task | null = null;
  mapFile: File | null = null;

  constructor(
    private readonly bpf: BpfSyscall,
    private readonly k: BpfServices,
  ) {}

  mapFromFd(fd: number): FdRef<BpfMap> | number {
    if (this.task === null) return -Errno.EBADF;
    const file = this.bpf.mapFile(this.task, fd);
    if (typeof file === 'number') return file;
    const object = file.privateData as MapObject;
    object.refs++;
    return { object: object.map, id: object.map.id, put: () => this.bpf.mapPut(object, false) };
  }

  progFromFd(fd: number): FdRef<FdProgram> | number {
    if (this.task === null) return -Errno.EBADF;
    if (this.bpf.programs !== null) return this.bpf.programs.progFromFd(this.task, fd);
    // No program subsystem: no file is a program (bpf_prog_get: EBADF for no file, EINVAL for another kind).
    return this.k.fds.fdget(this.task, fd) === undefined ? -Errno.EBADF : -Errno.EINVAL;
  }

  /** cgroup_get_from_fd: EBADF for no file and for a file that is not a cgroup v2 directory. */
  cgroupFromFd(fd: number): FdRef<MapCgroup> | number {
    if (this.task === null) return -Errno.EBADF;
    const file = this.k.fds.fdget(this.task, fd);
    return (file === undefined ? undefined : this.k.cgroups?.cgroupOf(file)) ?? -Errno.EBADF;
  }

  /** sockfd_lookup: EBADF for no file, ENOTSOCK for a file that is not a socket. */
  socketFromFd(fd: number): FdRef<MapSocket> | number {
    if (this.task === null) return -Errno.EBADF;
    const file = this.k.fds.fdget(this.task, fd);
    if (file === undefined) return -Errno.EBADF;
    return this.k.sockets?.socketOf(file) ?? -Errno.ENOTSOCK;
  }

  perfEventFromFd(fd: number): FdRef<PerfOutputEvent> | number {
    if (this.task === null) return -Errno.EBADF;
    const file = this.k.fds.fdget(this.task, fd);
    const event = file === undefined ? undefined : this.k.perfEvents?.bpfOutputOf(file);
    if (file === undefined || event === undefined) return -Errno.EBADF;
    // The entry holds the perf event's file (fget), released with its last reference (fput).
    file.refs++;
    return {
      object: event,
      id: 0,
      put: () => {
        if (--file.refs === 0) releaseFile(file);
      },
    };
  }
}

/** The kernel as registerBpf needs it: the services bpf() uses and the syscall table to install it in. */
export type BpfKernel = BpfServices & { readonly syscalls: { register(name: 'bpf', handler: SyscallHandler): void } };

/**
 * Install bpf(2) (x86_64 321) into `kernel`'s syscall table, with its sysctls and its runtime (whose kernel
 * memory is taken here, so accounting is back at what it is after this call once every object is gone);
 * returns the subsystem (its ids and runtime, for hooks, tests and tools).
 */
export function registerBpf(kernel: BpfKernel, options: BpfOptions = {}): BpfSyscall {
  const bpf = new BpfSyscall(kernel, options);
  kernel.syscalls.register('bpf', bpf.handler);
  kernel.perfBpf?.setBpfOps(perfEventBpfOps(bpf));
  if (kernel.net !== undefined) registerSocketFilters(bpf, kernel.net);
  if (kernel.cgroupfs !== undefined) registerCgroupBpf(bpf, kernel.cgroupfs.cgroups, kernel.current);
  if (kernel.hooks !== undefined && kernel.sysfs !== undefined) {
    const vmlinux = publishVmlinuxBtf({ hooks: kernel.hooks, sysfs: kernel.sysfs });
    bpf.progs.vmlinux = vmlinux.kernelBtf;
    bpf.progs.structOps = new StructOpsTable(vmlinux.kernelBtf, {
      runtime: bpf.runtime,
      k: kernel,
      ...(kernel.net?.congestion === undefined ? {} : { congestion: kernel.net.congestion }),
    });
    bindKfuncs(bpf.runtime.kfuncs, vmlinux.kernelBtf, bpf.runtime);
    // The vmlinux BTF is BTF object 1, as on Linux (a kernel out of memory here simply has no such object).
    const object = bpf.btfs.registerKernelBtf('vmlinux', vmlinux.kernelBtf.btf, vmlinux.blob);
    if (typeof object !== 'number') bpf.progs.vmlinuxObjectId = object.id;
  }
  return bpf;
}

/** bpf_map_show_fdinfo: the map's shape, memlock (map_mem_usage), id, frozen, and the owner of a map of programs. */
function showMapFdinfo(map: BpfMap): string {
  const owner = map.progOwner();
  return (
    `map_type:\t${map.type}\nkey_size:\t${map.keySize}\nvalue_size:\t${map.valueSize}\nmax_entries:\t${map.maxEntries}\n` +
    `map_flags:\t0x${map.mapFlags.toString(16)}\nmap_extra:\t0x${map.mapExtra.toString(16)}\nmemlock:\t${map.memUsage()}\n` +
    `map_id:\t${map.id}\nfrozen:\t${map.frozen ? 1 : 0}\n` +
    (owner === undefined ? '' : `owner_prog_type:\t${owner.progType}\nowner_jited:\t${owner.jited ? 1 : 0}\n`)
  );
}
