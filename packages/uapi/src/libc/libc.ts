import { REG_ARG0, REG_NR, TRAP_COMPUTE, TRAP_SYSCALL, type UserContext, type UserProgram } from '../abi.js';
import { AT_FDCWD, O } from '../fcntl.js';
import { Errno } from '../errno.js';
import { EPOLL_EVENT, KERNEL_SIGSET_SIZE } from '../epoll.js';
import { DIRENT64, RUSAGE, STAT, TIMESPEC } from '../layouts.js';
import { PROT, MAP } from '../mman.js';
import { PERF_EVENT_ATTR } from '../perf.js';
import { SIG } from '../signal.js';
import { SyscallNr as NR } from '../syscall-nr.js';
import { UserStack, utf8 } from './memory.js';
import type {
  BpfBtfInfo,
  BpfLinkInfo,
  BpfBtfLoadResult,
  BpfMapInfo,
  BpfProgInfo,
  BpfProgLoadResult,
  BpfProgLoadSpec,
  BpfTestRunResult,
  BpfTestRunSpec,
  Dirent,
  PerfEventAttrInput,
  Result,
  Rusage,
  Stat,
  Sys,
} from './types.js';
import {
  BPF_ATTR_LAYOUTS,
  BPF_BTF_INFO,
  BPF_FUNC_INFO,
  BPF_LINE_INFO,
  BPF_LINK_INFO,
  BPF_MAP_INFO,
  BPF_PROG_INFO,
  attrFieldSize,
  decodeBpfAttr,
  encodeBpfAttr,
  type BpfAttr,
  type BpfAttrInput,
  type BpfAttrCmd,
} from '../bpf/attr.js';
import { BPF_CMD, BPF_OBJ_NAME_LEN, BPF_STATS, BPF_TAG_SIZE } from '../bpf/constants.js';

/** The element commands' attr (map_fd, key, value or next_key, flags), as BPF_MAP_*_ELEM read it. */
const ELEM = BPF_ATTR_LAYOUTS.MAP_UPDATE_ELEM;
/** The element commands: the ELEM attr, or MAP_GET_NEXT_KEY's (key and next_key, no flags). */
type ElemCmd = 'MAP_LOOKUP_ELEM' | 'MAP_UPDATE_ELEM' | 'MAP_DELETE_ELEM' | 'MAP_LOOKUP_AND_DELETE_ELEM' | 'MAP_GET_NEXT_KEY';
const ELEM_NEXT_KEY = BPF_ATTR_LAYOUTS.MAP_GET_NEXT_KEY;
/** offsetofend(union bpf_attr, flags): the block libbpf's element wrappers pass. */
const ELEM_ATTR_SIZE = ELEM.flags.offset + attrFieldSize(ELEM.flags);

const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
/** Copy `src` into `dst` at `offset`: byte by byte when small (keys, values), where a loop beats the call. */
const copyInto = (dst: Uint8Array, offset: number, src: Uint8Array): void => {
  if (src.length <= 32) for (let i = 0; i < src.length; i++) dst[offset + i] = src[i] as number;
  else dst.set(src, offset);
};

/** A u64 field from a non-negative integer below 2^53 (`>>> 0` is its value mod 2^32, without a floating-point `%`). */
const setU64 = (view: DataView, offset: number, value: number): void => {
  const low = value >>> 0;
  view.setUint32(offset, low, true);
  view.setUint32(offset + 4, (value - low) / 0x1_0000_0000, true);
};

/** A C string's terminating NUL alone. */
const EMPTY_STRING = new Uint8Array(1);

/** Records of `size` bytes each, little-endian, written by `write` (func_info / line_info arrays for BPF_PROG_LOAD). */
function encodeRecords<T>(records: readonly T[], size: number, write: (view: DataView, at: number, record: T) => void): Uint8Array {
  const out = new Uint8Array(records.length * size);
  const view = new DataView(out.buffer);
  records.forEach((record, i) => write(view, i * size, record));
  return out;
}

/**
 * A small libc for simulated user programs: typed wrappers that marshal TypeScript values into the process's
 * memory (on its stack) and trap into the kernel. Like the kernel's nolibc, wrappers return the raw syscall
 * value: a negative number is `-errno`. Use every call with `yield*` from the program's generator:
 *
 * ```ts
 * const program: UserProgram = function* (ctx) {
 *   const libc = new Libc(ctx);
 *   const fd = yield* libc.open('/etc/motd', O.RDONLY);
 *   ...
 * };
 * ```
 */
export class Libc {
  readonly stack: UserStack;
  /** The element commands' block (attr, key, value), reused by every call: built here, then copied to the stack. */
  private elemBlock = new Uint8Array(64);
  private elemView = new DataView(this.elemBlock.buffer);
  /** Where the element command in progress put its key and its value (or out buffer) on the stack; 0 for none. */
  private elemKeyAddress = 0;
  private elemValueAddress = 0;
  private readonly regs: Float64Array;

  /** An mmap'd buffer for transfers too big for the stack (grown on demand). */
  private heap = 0;
  private heapSize = 0;

  constructor(readonly ctx: UserContext) {
    this.stack = new UserStack(ctx);
    this.regs = ctx.regs;
  }

  /** Transfers up to this size go through the stack; larger ones through an mmap'd buffer. */
  static readonly STACK_TRANSFER_MAX = 16 * 1024;

  /** A user buffer of `size` bytes: on the stack when small, else in the mmap'd transfer buffer. -errno if mmap fails. */
  private *transferBuffer(size: number): Sys<number> {
    if (size <= Libc.STACK_TRANSFER_MAX) return this.stack.alloca(size);
    if (size > this.heapSize) {
      if (this.heap !== 0) yield* this.munmap(this.heap, this.heapSize);
      const length = Math.ceil(size / 65536) * 65536;
      const address = yield* this.mmapAnonymous(length);
      if (address < 0) {
        this.heap = 0;
        this.heapSize = 0;
        return address;
      }
      this.heap = address;
      this.heapSize = length;
    }
    return this.heap;
  }

  /** The raw syscall instruction: number and up to six register arguments. */
  *syscall(nr: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0): Sys<number> {
    const regs = this.regs;
    regs[REG_NR] = nr;
    regs[REG_ARG0] = a0;
    regs[REG_ARG0 + 1] = a1;
    regs[REG_ARG0 + 2] = a2;
    regs[REG_ARG0 + 3] = a3;
    regs[REG_ARG0 + 4] = a4;
    regs[REG_ARG0 + 5] = a5;
    return yield TRAP_SYSCALL;
  }

  /** Spend `ns` nanoseconds of CPU time in user mode (a loop, a computation). */
  *compute(ns: number): Sys<void> {
    this.regs[0] = ns;
    yield TRAP_COMPUTE;
  }

  // ---- process identity -------------------------------------------------------------------------------
  *getpid(): Sys<number> {
    this.regs[REG_NR] = NR.getpid;
    return yield TRAP_SYSCALL;
  }
  *getppid(): Sys<number> {
    return yield* this.syscall(NR.getppid);
  }
  *gettid(): Sys<number> {
    return yield* this.syscall(NR.gettid);
  }
  *getuid(): Sys<number> {
    return yield* this.syscall(NR.getuid);
  }

  // ---- processes -----------------------------------------------------------------------------------------
  /** fork(2): the child runs `child` (see UserContext.cloneEntry); returns the child's pid in the parent. */
  *fork(child: UserProgram): Sys<number> {
    this.ctx.cloneEntry = child;
    try {
      return yield* this.syscall(NR.fork);
    } finally {
      this.ctx.cloneEntry = undefined;
    }
  }

  /** clone(2) with explicit flags (threads: CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_FILES ...). */
  *clone(flags: number, child: UserProgram): Sys<number> {
    this.ctx.cloneEntry = child;
    try {
      return yield* this.syscall(NR.clone, flags, 0, 0, 0, 0);
    } finally {
      this.ctx.cloneEntry = undefined;
    }
  }

  /** execve(2): only returns on failure (-errno). */
  *execve(path: string, argv: readonly string[] = [path], envp: readonly string[] = []): Sys<number> {
    const mark = this.stack.mark();
    try {
      const pathAddress = this.stack.pushString(path);
      const argvAddress = this.stack.pushPointerArray(argv.map((arg) => this.stack.pushString(arg)));
      const envpAddress = this.stack.pushPointerArray(envp.map((env) => this.stack.pushString(env)));
      return yield* this.syscall(NR.execve, pathAddress, argvAddress, envpAddress);
    } finally {
      this.stack.release(mark);
    }
  }

  *exit(code: number): Sys<number> {
    return yield* this.syscall(NR.exit_group, code);
  }

  /** wait4(2): the reaped pid (or -errno), its status word, and with `withRusage` the child's struct rusage. */
  *wait4(pid = -1, options = 0, withRusage = false): Sys<{ pid: number; status: number; rusage?: Rusage }> {
    const mark = this.stack.mark();
    try {
      const statusAddress = this.stack.alloca(4);
      const rusageAddress = withRusage ? this.stack.alloca(RUSAGE.size) : 0;
      const ret = yield* this.syscall(NR.wait4, pid, statusAddress, options, rusageAddress);
      const status = ret > 0 ? this.stack.readView(statusAddress, 4).getInt32(0, true) : 0;
      if (!withRusage || ret <= 0) return { pid: ret, status };
      const view = this.stack.readView(rusageAddress, RUSAGE.size);
      const long = (offset: number): number => Number(view.getBigInt64(offset, true));
      return {
        pid: ret,
        status,
        rusage: {
          utimeUs: long(RUSAGE.ru_utime) * 1e6 + long(RUSAGE.ru_utime + 8),
          maxrssKb: long(RUSAGE.ru_maxrss),
          minorFaults: long(RUSAGE.ru_minflt),
          voluntarySwitches: long(RUSAGE.ru_nvcsw),
          involuntarySwitches: long(RUSAGE.ru_nivcsw),
        },
      };
    } finally {
      this.stack.release(mark);
    }
  }

  *kill(pid: number, sig: number = SIG.SIGTERM): Sys<number> {
    return yield* this.syscall(NR.kill, pid, sig);
  }

  *schedYield(): Sys<number> {
    return yield* this.syscall(NR.sched_yield);
  }

  /** nanosleep(2) for `ns` nanoseconds. */
  *nanosleep(ns: number): Sys<number> {
    const mark = this.stack.mark();
    try {
      const buffer = new Uint8Array(TIMESPEC.size);
      const view = new DataView(buffer.buffer);
      view.setBigInt64(TIMESPEC.tv_sec, BigInt(Math.floor(ns / 1e9)), true);
      view.setBigInt64(TIMESPEC.tv_nsec, BigInt(ns % 1e9), true);
      return yield* this.syscall(NR.nanosleep, this.stack.pushBytes(buffer), 0);
    } finally {
      this.stack.release(mark);
    }
  }

  /** clock_gettime(2) in nanoseconds (or -errno). */
  *clockGettime(clock = 1): Sys<number> {
    const mark = this.stack.mark();
    try {
      const address = this.stack.alloca(TIMESPEC.size);
      const ret = yield* this.syscall(NR.clock_gettime, clock, address);
      if (ret < 0) return ret;
      const view = this.stack.readView(address, TIMESPEC.size);
      return Number(view.getBigInt64(TIMESPEC.tv_sec, true)) * 1e9 + Number(view.getBigInt64(TIMESPEC.tv_nsec, true));
    } finally {
      this.stack.release(mark);
    }
  }

  // ---- files ---------------------------------------------------------------------------------------------
  *open(path: string, flags: number = O.RDONLY, mode = 0o644): Sys<number> {
    return yield* this.openat(AT_FDCWD, path, flags, mode);
  }

  *openat(dirfd: number, path: string, flags: number = O.RDONLY, mode = 0o644): Sys<number> {
    const mark = this.stack.mark();
    try {
      return yield* this.syscall(NR.openat, dirfd, this.stack.pushString(path), flags, mode);
    } finally {
      this.stack.release(mark);
    }
  }

  *close(fd: number): Sys<number> {
    return yield* this.syscall(NR.close, fd);
  }

  /** ioctl(2): `request` on `fd` with its argument register `arg` (a value or a user pointer); the result or -errno. */
  *ioctl(fd: number, request: number, arg = 0): Sys<number> {
    return yield* this.syscall(NR.ioctl, fd, request, arg);
  }

  /** read(2) up to `count` bytes: the raw return and the bytes read. */
  *read(fd: number, count: number): Sys<{ ret: number; data: Uint8Array }> {
    const mark = this.stack.mark();
    try {
      const address = yield* this.transferBuffer(count);
      if (address < 0) return { ret: address, data: new Uint8Array(0) };
      const ret = yield* this.syscall(NR.read, fd, address, count);
      return { ret, data: ret > 0 ? this.stack.readBytes(address, ret) : new Uint8Array(0) };
    } finally {
      this.stack.release(mark);
    }
  }

  /** Read until end of file; a negative errno if a read fails. */
  *readAll(fd: number, chunk = 4096): Sys<Result<Uint8Array>> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { ret, data } = yield* this.read(fd, chunk);
      if (ret < 0) return { ok: false, errno: -ret };
      if (ret === 0) break;
      parts.push(data);
      total += ret;
    }
    const all = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.length;
    }
    return { ok: true, value: all };
  }

  /** write(2) a string (UTF-8) or bytes. */
  *write(fd: number, data: string | Uint8Array): Sys<number> {
    const bytes = typeof data === 'string' ? utf8.encode(data) : data;
    const mark = this.stack.mark();
    try {
      const address = yield* this.transferBuffer(bytes.length);
      if (address < 0) return address;
      this.ctx.mem.write(address, bytes);
      return yield* this.syscall(NR.write, fd, address, bytes.length);
    } finally {
      this.stack.release(mark);
    }
  }

  *lseek(fd: number, offset: number, whence: number): Sys<number> {
    return yield* this.syscall(NR.lseek, fd, offset, whence);
  }

  *dup(fd: number): Sys<number> {
    return yield* this.syscall(NR.dup, fd);
  }

  *dup3(oldfd: number, newfd: number, flags = 0): Sys<number> {
    return yield* this.syscall(NR.dup3, oldfd, newfd, flags);
  }

  /** pipe2(2): [read end, write end] or -errno. */
  *pipe(flags = 0): Sys<Result<[number, number]>> {
    const mark = this.stack.mark();
    try {
      const address = this.stack.alloca(8);
      const ret = yield* this.syscall(NR.pipe2, address, flags);
      if (ret < 0) return { ok: false, errno: -ret };
      const view = this.stack.readView(address, 8);
      return { ok: true, value: [view.getInt32(0, true), view.getInt32(4, true)] };
    } finally {
      this.stack.release(mark);
    }
  }

  // ---- epoll -------------------------------------------------------------------------------------------
  /** epoll_create1(2): the epoll fd or -errno (flags: EPOLL_CLOEXEC). */
  *epollCreate1(flags = 0): Sys<number> {
    return yield* this.syscall(NR.epoll_create1, flags);
  }

  /** epoll_create(2): the old form; `size` is only checked to be positive. */
  *epollCreate(size: number): Sys<number> {
    return yield* this.syscall(NR.epoll_create, size);
  }

  /**
   * epoll_ctl(2): `op` (EPOLL_CTL.*) on `fd` in `epfd` with the event mask and the u64 user data given back
   * with each event (struct epoll_event, 12 bytes packed on x86_64). With `event` null, a NULL pointer is passed.
   */
  *epollCtl(epfd: number, op: number, fd: number, event: { events: number; data: bigint } | null): Sys<number> {
    const mark = this.stack.mark();
    try {
      let address = 0;
      if (event !== null) {
        const bytes = new Uint8Array(EPOLL_EVENT.size);
        const view = new DataView(bytes.buffer);
        view.setUint32(EPOLL_EVENT.events, event.events >>> 0, true);
        view.setBigUint64(EPOLL_EVENT.data, BigInt.asUintN(64, event.data), true);
        address = this.stack.pushBytes(bytes);
      }
      return yield* this.syscall(NR.epoll_ctl, epfd, op, fd, address);
    } finally {
      this.stack.release(mark);
    }
  }

  /**
   * epoll_wait(2) (or epoll_pwait(2) with `sigmask`, a 64-bit signal set): up to `maxEvents` ready events,
   * waiting `timeoutMs` ms of virtual time (-1: until one is ready, 0: no wait). The raw return and the events.
   */
  *epollWait(epfd: number, maxEvents: number, timeoutMs: number, sigmask?: bigint): Sys<{ ret: number; events: Array<{ events: number; data: bigint }> }> {
    const mark = this.stack.mark();
    try {
      const size = Math.max(0, maxEvents) * EPOLL_EVENT.size;
      const address = yield* this.transferBuffer(size);
      if (address < 0) return { ret: address, events: [] };
      let ret: number;
      if (sigmask === undefined) ret = yield* this.syscall(NR.epoll_wait, epfd, address, maxEvents, timeoutMs);
      else {
        const set = new Uint8Array(KERNEL_SIGSET_SIZE);
        new DataView(set.buffer).setBigUint64(0, BigInt.asUintN(64, sigmask), true);
        ret = yield* this.syscall(NR.epoll_pwait, epfd, address, maxEvents, timeoutMs, this.stack.pushBytes(set), KERNEL_SIGSET_SIZE);
      }
      const events: Array<{ events: number; data: bigint }> = [];
      if (ret > 0) {
        const view = this.stack.readView(address, ret * EPOLL_EVENT.size);
        for (let index = 0; index < ret; index++) {
          const at = index * EPOLL_EVENT.size;
          events.push({ events: view.getUint32(at + EPOLL_EVENT.events, true), data: view.getBigUint64(at + EPOLL_EVENT.data, true) });
        }
      }
      return { ret, events };
    } finally {
      this.stack.release(mark);
    }
  }

  // ---- sockets ---------------------------------------------------------------------------------------------
  /** socket(2): an fd or -errno. */
  *socket(family: number, type: number, protocol = 0): Sys<number> {
    return yield* this.syscall(NR.socket, family, type, protocol);
  }

  /** A syscall taking (fd, sockaddr bytes, length): bind, connect. */
  private *withSockaddr(nr: number, fd: number, addr: Uint8Array): Sys<number> {
    const mark = this.stack.mark();
    try {
      return yield* this.syscall(nr, fd, this.stack.pushBytes(addr), addr.length);
    } finally {
      this.stack.release(mark);
    }
  }

  /** bind(2) to a struct sockaddr (see sockaddrIn, sockaddrLl). */
  *bind(fd: number, addr: Uint8Array): Sys<number> {
    return yield* this.withSockaddr(NR.bind, fd, addr);
  }

  /** connect(2) to a struct sockaddr. */
  *connect(fd: number, addr: Uint8Array): Sys<number> {
    return yield* this.withSockaddr(NR.connect, fd, addr);
  }

  *listen(fd: number, backlog: number): Sys<number> {
    return yield* this.syscall(NR.listen, fd, backlog);
  }

  /** accept4(2): the new fd and the peer's address (the bytes the kernel wrote), or -errno in `fd`. */
  *accept(fd: number, flags = 0): Sys<{ fd: number; addr: Uint8Array }> {
    const mark = this.stack.mark();
    try {
      const addr = this.stack.alloca(128);
      const len = this.stack.alloca(4);
      this.ctx.mem.write(len, new Uint8Array([128, 0, 0, 0]));
      const ret = yield* this.syscall(NR.accept4, fd, addr, len, flags);
      if (ret < 0) return { fd: ret, addr: new Uint8Array(0) };
      const n = this.stack.readView(len, 4).getInt32(0, true);
      return { fd: ret, addr: this.stack.readBytes(addr, Math.min(n, 128)) };
    } finally {
      this.stack.release(mark);
    }
  }

  /** sendto(2): `data` to `addr` (none: the connected peer). */
  *sendto(fd: number, data: string | Uint8Array, flags = 0, addr?: Uint8Array): Sys<number> {
    const bytes = typeof data === 'string' ? utf8.encode(data) : data;
    const mark = this.stack.mark();
    try {
      const buffer = yield* this.transferBuffer(bytes.length);
      if (buffer < 0) return buffer;
      this.ctx.mem.write(buffer, bytes);
      const addrAddress = addr === undefined ? 0 : this.stack.pushBytes(addr);
      return yield* this.syscall(NR.sendto, fd, buffer, bytes.length, flags, addrAddress, addr?.length ?? 0);
    } finally {
      this.stack.release(mark);
    }
  }

  /** recvfrom(2): up to `count` bytes and the sender's address (empty when the kernel wrote none). */
  *recvfrom(fd: number, count: number, flags = 0): Sys<{ ret: number; data: Uint8Array; addr: Uint8Array }> {
    const mark = this.stack.mark();
    try {
      const addr = this.stack.alloca(128);
      const len = this.stack.alloca(4);
      this.ctx.mem.write(len, new Uint8Array([128, 0, 0, 0]));
      const buffer = yield* this.transferBuffer(count);
      if (buffer < 0) return { ret: buffer, data: new Uint8Array(0), addr: new Uint8Array(0) };
      const ret = yield* this.syscall(NR.recvfrom, fd, buffer, count, flags, addr, len);
      if (ret < 0) return { ret, data: new Uint8Array(0), addr: new Uint8Array(0) };
      const n = Math.min(this.stack.readView(len, 4).getInt32(0, true), 128);
      return { ret, data: this.stack.readBytes(buffer, Math.min(ret, count)), addr: n > 0 ? this.stack.readBytes(addr, n) : new Uint8Array(0) };
    } finally {
      this.stack.release(mark);
    }
  }

  *shutdown(fd: number, how: number): Sys<number> {
    return yield* this.syscall(NR.shutdown, fd, how);
  }

  /** getsockname(2) / getpeername(2): the address bytes or -errno. */
  *sockname(fd: number, peer = false): Sys<Result<Uint8Array>> {
    const mark = this.stack.mark();
    try {
      const addr = this.stack.alloca(128);
      const len = this.stack.alloca(4);
      this.ctx.mem.write(len, new Uint8Array([128, 0, 0, 0]));
      const ret = yield* this.syscall(peer ? NR.getpeername : NR.getsockname, fd, addr, len);
      if (ret < 0) return { ok: false, errno: -ret };
      return { ok: true, value: this.stack.readBytes(addr, Math.min(this.stack.readView(len, 4).getInt32(0, true), 128)) };
    } finally {
      this.stack.release(mark);
    }
  }

  /** setsockopt(2) with an int option value (SO_ATTACH_BPF takes the program fd this way). */
  *setsockoptInt(fd: number, level: number, optname: number, value: number): Sys<number> {
    const mark = this.stack.mark();
    try {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setInt32(0, value, true);
      return yield* this.syscall(NR.setsockopt, fd, level, optname, this.stack.pushBytes(bytes), 4);
    } finally {
      this.stack.release(mark);
    }
  }

  /** getsockopt(2) of an int option: the value, or -errno. */
  *getsockoptInt(fd: number, level: number, optname: number): Sys<Result<number>> {
    const mark = this.stack.mark();
    try {
      const value = this.stack.alloca(4);
      const len = this.stack.alloca(4);
      this.ctx.mem.write(len, new Uint8Array([4, 0, 0, 0]));
      const ret = yield* this.syscall(NR.getsockopt, fd, level, optname, value, len);
      if (ret < 0) return { ok: false, errno: -ret };
      return { ok: true, value: this.stack.readView(value, 4).getInt32(0, true) };
    } finally {
      this.stack.release(mark);
    }
  }

  /** setsockopt(2) with a byte-string option value (TCP_CONGESTION takes a name this way). */
  *setsockoptBytes(fd: number, level: number, optname: number, value: Uint8Array): Sys<number> {
    const mark = this.stack.mark();
    try {
      return yield* this.syscall(NR.setsockopt, fd, level, optname, this.stack.pushBytes(value), value.length);
    } finally {
      this.stack.release(mark);
    }
  }

  /** getsockopt(2) of a byte-string option of at most `max` bytes: the bytes the kernel gave, or -errno. */
  *getsockoptBytes(fd: number, level: number, optname: number, max: number): Sys<Result<Uint8Array>> {
    const mark = this.stack.mark();
    try {
      const value = this.stack.alloca(Math.max(max, 1));
      const len = this.stack.alloca(4);
      const lenBytes = new Uint8Array(4);
      new DataView(lenBytes.buffer).setInt32(0, max, true);
      this.ctx.mem.write(len, lenBytes);
      const ret = yield* this.syscall(NR.getsockopt, fd, level, optname, value, len);
      if (ret < 0) return { ok: false, errno: -ret };
      return { ok: true, value: this.stack.readBytes(value, this.stack.readView(len, 4).getInt32(0, true)) };
    } finally {
      this.stack.release(mark);
    }
  }

  *mkdir(path: string, mode = 0o755): Sys<number> {
    const mark = this.stack.mark();
    try {
      return yield* this.syscall(NR.mkdirat, AT_FDCWD, this.stack.pushString(path), mode);
    } finally {
      this.stack.release(mark);
    }
  }

  *unlink(path: string, flags = 0): Sys<number> {
    const mark = this.stack.mark();
    try {
      return yield* this.syscall(NR.unlinkat, AT_FDCWD, this.stack.pushString(path), flags);
    } finally {
      this.stack.release(mark);
    }
  }

  *chdir(path: string): Sys<number> {
    const mark = this.stack.mark();
    try {
      return yield* this.syscall(NR.chdir, this.stack.pushString(path));
    } finally {
      this.stack.release(mark);
    }
  }

  /** newfstatat(2) on a path (or fstat when `path` is a number). */
  *stat(path: string | number): Sys<Result<Stat>> {
    const mark = this.stack.mark();
    try {
      const address = this.stack.alloca(STAT.size);
      const ret =
        typeof path === 'number'
          ? yield* this.syscall(NR.fstat, path, address)
          : yield* this.syscall(NR.newfstatat, AT_FDCWD, this.stack.pushString(path), address, 0);
      if (ret < 0) return { ok: false, errno: -ret };
      const view = this.stack.readView(address, STAT.size);
      const u64 = (offset: number): number => Number(view.getBigUint64(offset, true));
      return {
        ok: true,
        value: {
          dev: u64(STAT.st_dev),
          ino: u64(STAT.st_ino),
          nlink: u64(STAT.st_nlink),
          mode: view.getUint32(STAT.st_mode, true),
          uid: view.getUint32(STAT.st_uid, true),
          gid: view.getUint32(STAT.st_gid, true),
          rdev: u64(STAT.st_rdev),
          size: u64(STAT.st_size),
          blksize: u64(STAT.st_blksize),
          blocks: u64(STAT.st_blocks),
          mtimeNs: u64(STAT.st_mtime) * 1e9 + u64(STAT.st_mtime_nsec),
        },
      };
    } finally {
      this.stack.release(mark);
    }
  }

  /** getdents64(2) until the directory is exhausted. */
  *readdir(fd: number, bufferSize = 1024): Sys<Result<Dirent[]>> {
    const entries: Dirent[] = [];
    const mark = this.stack.mark();
    try {
      const address = this.stack.alloca(bufferSize);
      for (;;) {
        const ret = yield* this.syscall(NR.getdents64, fd, address, bufferSize);
        if (ret < 0) return { ok: false, errno: -ret };
        if (ret === 0) return { ok: true, value: entries };
        const bytes = this.stack.readBytes(address, ret);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let offset = 0; offset < ret;) {
          const reclen = view.getUint16(offset + DIRENT64.d_reclen, true);
          const nameStart = offset + DIRENT64.d_name;
          let nameEnd = nameStart;
          while (nameEnd < offset + reclen && bytes[nameEnd] !== 0) nameEnd++;
          entries.push({
            ino: Number(view.getBigUint64(offset + DIRENT64.d_ino, true)),
            off: Number(view.getBigInt64(offset + DIRENT64.d_off, true)),
            type: view.getUint8(offset + DIRENT64.d_type),
            name: utf8.decode(bytes.subarray(nameStart, nameEnd)),
          });
          offset += reclen;
        }
      }
    } finally {
      this.stack.release(mark);
    }
  }

  // ---- memory ------------------------------------------------------------------------------------------
  /** Anonymous private mmap(2) of `length` bytes: the address or -errno. */
  *mmapAnonymous(length: number, prot: number = PROT.READ | PROT.WRITE): Sys<number> {
    return yield* this.syscall(NR.mmap, 0, length, prot, MAP.PRIVATE | MAP.ANONYMOUS, 2 ** 64 - 1, 0);
  }

  *munmap(address: number, length: number): Sys<number> {
    return yield* this.syscall(NR.munmap, address, length);
  }

  *brk(address: number): Sys<number> {
    return yield* this.syscall(NR.brk, address);
  }

  /** getrandom(2): `count` bytes from the kernel's seeded generator. */
  *getrandom(count: number): Sys<Result<Uint8Array>> {
    const mark = this.stack.mark();
    try {
      const address = this.stack.alloca(count);
      const ret = yield* this.syscall(NR.getrandom, address, count, 0);
      if (ret < 0) return { ok: false, errno: -ret };
      return { ok: true, value: this.stack.readBytes(address, ret) };
    } finally {
      this.stack.release(mark);
    }
  }

  /**
   * bpf(2): copy the attribute block (build it with encodeBpfAttr) onto the stack and call bpf(cmd, attr,
   * size). Returns the raw result and the block as the kernel left it (some commands write results back).
   */
  *bpf(cmd: number, attr: Uint8Array): Sys<{ ret: number; attr: Uint8Array }> {
    const mark = this.stack.mark();
    try {
      const address = this.stack.pushBytes(attr);
      const ret = yield* this.syscall(NR.bpf, cmd, address, attr.length);
      return { ret, attr: this.stack.readBytes(address, attr.length) };
    } finally {
      this.stack.release(mark);
    }
  }

  /**
   * bpf(2) with the attribute block of `cmd` encoded from typed values (fields left out are zero; pointers are
   * user addresses): the raw result and the block decoded as the kernel left it.
   */
  *bpfAttr<C extends BpfAttrCmd>(cmd: C, values: Partial<BpfAttrInput<C>>): Sys<{ ret: number; attr: BpfAttr<C> }> {
    const { ret, attr } = yield* this.bpf(BPF_CMD[cmd], encodeBpfAttr(cmd, values));
    return { ret, attr: decodeBpfAttr(cmd, attr) };
  }

  /** BPF_MAP_CREATE: the map fd or -errno. */
  *bpfMapCreate(values: Partial<BpfAttr<'MAP_CREATE'>>): Sys<number> {
    return (yield* this.bpfAttr('MAP_CREATE', values)).ret;
  }

  /**
   * Lay out one element command as a C caller's locals would be: the attr block (offsetofend(union bpf_attr,
   * flags) bytes, as libbpf's element wrappers pass it), the key, then the value copied in (`value`) or
   * `outSize` bytes for the kernel to fill. The block is built in a reused buffer and written to the stack
   * with one copy; the addresses of the key and the value (0 for none) are left in `elemKeyAddress` and
   * `elemValueAddress`. When `fd` and `flags` are u32 (every real call) the registers are set for
   * bpf(cmd, attr, size) (`cmd` the command's number) and the caller traps at once; else false, and the caller takes {@link elemChecked}.
   */
  private elemSetup(cmd: number, fd: number, key: Uint8Array | null, value: Uint8Array | null, outSize: number, flags: number): boolean {
    const keySlot = key === null ? 0 : Math.ceil(key.length / 8) * 8;
    const valueSize = value === null ? outSize : value.length;
    const written = ELEM_ATTR_SIZE + keySlot + (value === null ? 0 : value.length);
    const base = this.stack.alloca(ELEM_ATTR_SIZE + keySlot + valueSize);
    this.elemKeyAddress = key === null ? 0 : base + ELEM_ATTR_SIZE;
    this.elemValueAddress = value === null && outSize === 0 ? 0 : base + ELEM_ATTR_SIZE + keySlot;
    if (written > this.elemBlock.length) {
      this.elemBlock = new Uint8Array(2 ** Math.ceil(Math.log2(written)));
      this.elemView = new DataView(this.elemBlock.buffer);
    }
    const block = this.elemBlock;
    const fast = isU32(fd) && isU32(flags);
    if (fast) {
      const view = this.elemView;
      view.setUint32(ELEM.map_fd.offset, fd, true);
      view.setUint32(ELEM.map_fd.offset + 4, 0, true);
      setU64(view, ELEM.key.offset, this.elemKeyAddress);
      if (cmd === BPF_CMD.MAP_GET_NEXT_KEY) {
        // next_key, and no flags: the bytes where the other commands have them stay zero for CHECK_ATTR.
        setU64(view, ELEM_NEXT_KEY.next_key.offset, this.elemValueAddress);
        setU64(view, ELEM.flags.offset, 0);
      } else {
        setU64(view, ELEM.value.offset, this.elemValueAddress);
        setU64(view, ELEM.flags.offset, flags);
      }
    }
    if (key !== null) copyInto(block, ELEM_ATTR_SIZE, key);
    if (value !== null) copyInto(block, ELEM_ATTR_SIZE + keySlot, value);
    this.ctx.mem.writeFrom(base, block, 0, written);
    if (!fast) return false;
    const regs = this.regs;
    regs[REG_NR] = NR.bpf;
    regs[REG_ARG0] = cmd;
    regs[REG_ARG0 + 1] = base;
    regs[REG_ARG0 + 2] = ELEM_ATTR_SIZE;
    regs[REG_ARG0 + 3] = 0;
    regs[REG_ARG0 + 4] = 0;
    regs[REG_ARG0 + 5] = 0;
    return true;
  }

  /** An element command whose fd or flags are out of u32 range: the attr encoded through its schema, whose check names the field. */
  private *elemChecked(cmd: ElemCmd, fd: number, flags: number): Sys<number> {
    const key = this.elemKeyAddress;
    const value = this.elemValueAddress;
    const { ret } =
      cmd === 'MAP_GET_NEXT_KEY' ? yield* this.bpfAttr(cmd, { map_fd: fd, key, next_key: value }) : yield* this.bpfAttr(cmd, { map_fd: fd, key, value, flags });
    return ret;
  }

  /** What an element command that reads `outSize` bytes back answers: -errno, or the bytes the kernel wrote at `elemValueAddress`. */
  private elemResult(ret: number, outSize: number): Result<Uint8Array> {
    if (ret < 0) return { ok: false, errno: -ret };
    return { ok: true, value: outSize > 0 ? this.ctx.mem.read(this.elemValueAddress, outSize) : new Uint8Array(0) };
  }

  // The element commands trap from their own bodies (no nested generator between the caller and the trap):
  // they are the calls user space makes millions of times.

  /** BPF_MAP_LOOKUP_ELEM (`key` null: a NULL key, for keyless maps): `valueSize` bytes of the value (value_size, or round_up(value_size, 8) × CPUs for per-CPU maps). */
  *bpfMapLookup(fd: number, key: Uint8Array | null, valueSize: number, flags = 0): Sys<Result<Uint8Array>> {
    const mark = this.stack.mark();
    try {
      const ret = this.elemSetup(BPF_CMD.MAP_LOOKUP_ELEM, fd, key, null, valueSize, flags)
        ? yield TRAP_SYSCALL
        : yield* this.elemChecked('MAP_LOOKUP_ELEM', fd, flags);
      return this.elemResult(ret, valueSize);
    } finally {
      this.stack.release(mark);
    }
  }

  /**
   * BPF_MAP_LOOKUP_ELEM as libbpf's bpf_map_lookup_elem(fd, key, value) has it: the value (`value.length` bytes)
   * into the caller's buffer, 0 or -errno (the buffer is untouched then). Nothing is allocated per call.
   */
  *bpfMapLookupInto(fd: number, key: Uint8Array | null, value: Uint8Array, flags = 0): Sys<number> {
    const mark = this.stack.mark();
    try {
      const ret = this.elemSetup(BPF_CMD.MAP_LOOKUP_ELEM, fd, key, null, value.length, flags)
        ? yield TRAP_SYSCALL
        : yield* this.elemChecked('MAP_LOOKUP_ELEM', fd, flags);
      if (ret < 0) return ret;
      if (value.length > 0) this.ctx.mem.readInto(this.elemValueAddress, value, 0, value.length);
      return 0;
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_MAP_LOOKUP_ELEM on a bloom filter: 0 when `value` may be in the set, -ENOENT when it is not. */
  *bpfMapContains(fd: number, value: Uint8Array): Sys<number> {
    const mark = this.stack.mark();
    try {
      return this.elemSetup(BPF_CMD.MAP_LOOKUP_ELEM, fd, null, value, 0, 0) ? yield TRAP_SYSCALL : yield* this.elemChecked('MAP_LOOKUP_ELEM', fd, 0);
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_MAP_UPDATE_ELEM (`key` null for a queue, stack or bloom filter) with BPF_ANY / BPF_NOEXIST / BPF_EXIST (| BPF_F_LOCK): 0 or -errno. */
  *bpfMapUpdate(fd: number, key: Uint8Array | null, value: Uint8Array, flags = 0): Sys<number> {
    const mark = this.stack.mark();
    try {
      const ret = this.elemSetup(BPF_CMD.MAP_UPDATE_ELEM, fd, key, value, 0, flags)
        ? yield TRAP_SYSCALL
        : yield* this.elemChecked('MAP_UPDATE_ELEM', fd, flags);
      return ret < 0 ? ret : 0;
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_MAP_DELETE_ELEM (`key` null: a NULL key, for keyless maps): 0 or -errno. */
  *bpfMapDelete(fd: number, key: Uint8Array | null): Sys<number> {
    const mark = this.stack.mark();
    try {
      const ret = this.elemSetup(BPF_CMD.MAP_DELETE_ELEM, fd, key, null, 0, 0) ? yield TRAP_SYSCALL : yield* this.elemChecked('MAP_DELETE_ELEM', fd, 0);
      return ret < 0 ? ret : 0;
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_MAP_GET_NEXT_KEY: the key after `key` (null: the first key); ENOENT after the last. */
  *bpfMapGetNextKey(fd: number, key: Uint8Array | null, keySize: number): Sys<Result<Uint8Array>> {
    const mark = this.stack.mark();
    try {
      const ret = this.elemSetup(BPF_CMD.MAP_GET_NEXT_KEY, fd, key, null, keySize, 0) ? yield TRAP_SYSCALL : yield* this.elemChecked('MAP_GET_NEXT_KEY', fd, 0);
      return this.elemResult(ret, keySize);
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM: the value, and the element is gone. */
  *bpfMapLookupAndDelete(fd: number, key: Uint8Array | null, valueSize: number, flags = 0): Sys<Result<Uint8Array>> {
    const mark = this.stack.mark();
    try {
      const ret = this.elemSetup(BPF_CMD.MAP_LOOKUP_AND_DELETE_ELEM, fd, key, null, valueSize, flags)
        ? yield TRAP_SYSCALL
        : yield* this.elemChecked('MAP_LOOKUP_AND_DELETE_ELEM', fd, flags);
      return this.elemResult(ret, valueSize);
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_MAP_FREEZE: 0 or -errno. */
  *bpfMapFreeze(fd: number): Sys<number> {
    return (yield* this.bpfAttr('MAP_FREEZE', { map_fd: fd })).ret;
  }

  /** BPF_OBJ_PIN `fd` at `path` (on /sys/fs/bpf): 0 or -errno. */
  *bpfObjPin(fd: number, path: string): Sys<number> {
    const mark = this.stack.mark();
    try {
      return (yield* this.bpfAttr('OBJ_PIN', { bpf_fd: fd, pathname: this.stack.pushString(path) })).ret;
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_OBJ_GET: a new fd on the object pinned at `path` (`fileFlags` BPF_F_RDONLY / BPF_F_WRONLY), or -errno. */
  *bpfObjGet(path: string, fileFlags = 0): Sys<number> {
    const mark = this.stack.mark();
    try {
      return (yield* this.bpfAttr('OBJ_GET', { pathname: this.stack.pushString(path), file_flags: fileFlags })).ret;
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_OBJ_GET_INFO_BY_FD for a map: struct bpf_map_info, read with info_len = sizeof. */
  *bpfMapGetInfo(fd: number): Sys<Result<BpfMapInfo>> {
    const mark = this.stack.mark();
    try {
      // Zeroed: the kernel reads the caller's struct as in/out (a program fd's info reads pointers and lengths from it).
      const address = this.stack.pushBytes(new Uint8Array(BPF_MAP_INFO.size));
      const { ret, attr } = yield* this.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: fd, info_len: BPF_MAP_INFO.size, info: address });
      if (ret < 0) return { ok: false, errno: -ret };
      const bytes = this.stack.readBytes(address, attr.info_len);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const nameBytes = bytes.subarray(BPF_MAP_INFO.name, BPF_MAP_INFO.name + BPF_OBJ_NAME_LEN);
      const nul = nameBytes.indexOf(0);
      return {
        ok: true,
        value: {
          type: view.getUint32(BPF_MAP_INFO.type, true),
          id: view.getUint32(BPF_MAP_INFO.id, true),
          keySize: view.getUint32(BPF_MAP_INFO.key_size, true),
          valueSize: view.getUint32(BPF_MAP_INFO.value_size, true),
          maxEntries: view.getUint32(BPF_MAP_INFO.max_entries, true),
          mapFlags: view.getUint32(BPF_MAP_INFO.map_flags, true),
          name: utf8.decode(nameBytes.subarray(0, nul < 0 ? BPF_OBJ_NAME_LEN : nul)),
          infoLen: attr.info_len,
          btfVmlinuxValueTypeId: view.getUint32(BPF_MAP_INFO.btf_vmlinux_value_type_id, true),
        },
      };
    } finally {
      this.stack.release(mark);
    }
  }

  // ---- bpf(): BTF objects ----

  /** BPF_BTF_LOAD of `blob`, with a log buffer of `logSize` bytes at `logLevel` (0: none). */
  *bpfBtfLoad(blob: Uint8Array, logLevel = 0, logSize = 0): Sys<BpfBtfLoadResult> {
    const mark = this.stack.mark();
    try {
      const btf = this.stack.pushBytes(blob);
      const logBuf = logSize > 0 ? this.stack.alloca(logSize) : 0;
      const { ret, attr } = yield* this.bpfAttr('BTF_LOAD', {
        btf,
        btf_size: blob.length,
        btf_log_buf: logBuf,
        btf_log_size: logSize,
        btf_log_level: logLevel,
      });
      const logBytes = logSize > 0 ? this.stack.readBytes(logBuf, logSize) : new Uint8Array(0);
      const nul = logBytes.indexOf(0);
      return { fd: ret, log: utf8.decode(logBytes.subarray(0, nul < 0 ? logBytes.length : nul)), logTrueSize: attr.btf_log_true_size };
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_BTF_GET_FD_BY_ID: a new fd on BTF object `id`, or -errno. */
  *bpfBtfGetFdById(id: number): Sys<number> {
    return (yield* this.bpfAttr('BTF_GET_FD_BY_ID', { id })).ret;
  }

  /** BPF_OBJ_GET_INFO_BY_FD for a BTF fd: struct bpf_btf_info, with up to `bufferSize` bytes of the blob. */
  *bpfBtfGetInfo(fd: number, bufferSize: number): Sys<Result<BpfBtfInfo>> {
    const mark = this.stack.mark();
    try {
      const buffer = bufferSize > 0 ? this.stack.alloca(bufferSize) : 0;
      const info = new Uint8Array(BPF_BTF_INFO.size);
      const infoView = new DataView(info.buffer);
      setU64(infoView, BPF_BTF_INFO.btf, buffer);
      infoView.setUint32(BPF_BTF_INFO.btf_size, bufferSize, true);
      const address = this.stack.pushBytes(info);
      const { ret, attr } = yield* this.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: fd, info_len: BPF_BTF_INFO.size, info: address });
      if (ret < 0) return { ok: false, errno: -ret };
      const bytes = this.stack.readBytes(address, attr.info_len);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const btfSize = view.getUint32(BPF_BTF_INFO.btf_size, true);
      return {
        ok: true,
        value: {
          id: view.getUint32(BPF_BTF_INFO.id, true),
          btfSize,
          btf: buffer === 0 ? new Uint8Array(0) : this.stack.readBytes(buffer, Math.min(btfSize, bufferSize)),
          kernelBtf: view.getUint32(BPF_BTF_INFO.kernel_btf, true) !== 0,
        },
      };
    } finally {
      this.stack.release(mark);
    }
  }

  // ---- bpf(): programs (PROG_LOAD, program info, ids, ENABLE_STATS) ----

  /** BPF_PROG_LOAD: the program fd or -errno, with the verifier log (when a log size was given) and log_true_size. */
  *bpfProgLoad(spec: BpfProgLoadSpec): Sys<BpfProgLoadResult> {
    const mark = this.stack.mark();
    try {
      const logSize = spec.logSize ?? 0;
      // An empty string to start with, as libbpf sets log_buf[0] = 0: a load refused before the verifier runs
      // writes no log, and the stack below holds an earlier call's bytes.
      const logBuf = logSize > 0 ? this.stack.alloca(logSize) : 0;
      if (logBuf !== 0) this.ctx.mem.write(logBuf, EMPTY_STRING);
      let fdArray = 0;
      if (spec.fdArray !== undefined && spec.fdArray.length > 0) {
        const fds = new Uint8Array(4 * spec.fdArray.length);
        const view = new DataView(fds.buffer);
        spec.fdArray.forEach((fd, i) => view.setInt32(4 * i, fd, true));
        fdArray = this.stack.pushBytes(fds);
      }
      const funcInfo = spec.funcInfo ?? [];
      const lineInfo = spec.lineInfo ?? [];
      const btfInfo =
        funcInfo.length === 0 && lineInfo.length === 0
          ? {}
          : {
              prog_btf_fd: spec.progBtfFd ?? 0,
              ...(funcInfo.length === 0
                ? {}
                : {
                    func_info_rec_size: BPF_FUNC_INFO.size,
                    func_info: this.stack.pushBytes(
                      encodeRecords(funcInfo, BPF_FUNC_INFO.size, (v, at, r) => {
                        v.setUint32(at + BPF_FUNC_INFO.insn_off, r.insnOff, true);
                        v.setUint32(at + BPF_FUNC_INFO.type_id, r.typeId, true);
                      }),
                    ),
                    func_info_cnt: funcInfo.length,
                  }),
              ...(lineInfo.length === 0
                ? {}
                : {
                    line_info_rec_size: BPF_LINE_INFO.size,
                    line_info: this.stack.pushBytes(
                      encodeRecords(lineInfo, BPF_LINE_INFO.size, (v, at, r) => {
                        v.setUint32(at + BPF_LINE_INFO.insn_off, r.insnOff, true);
                        v.setUint32(at + BPF_LINE_INFO.file_name_off, r.fileNameOff, true);
                        v.setUint32(at + BPF_LINE_INFO.line_off, r.lineOff, true);
                        v.setUint32(at + BPF_LINE_INFO.line_col, r.lineCol, true);
                      }),
                    ),
                    line_info_cnt: lineInfo.length,
                  }),
            };
      const { ret, attr } = yield* this.bpfAttr('PROG_LOAD', {
        ...btfInfo,
        prog_type: spec.progType,
        insn_cnt: spec.insns.length / 8,
        insns: this.stack.pushBytes(spec.insns),
        license: this.stack.pushString(spec.license),
        log_level: spec.logLevel ?? 0,
        log_size: logSize,
        log_buf: logBuf,
        prog_flags: spec.progFlags ?? 0,
        prog_name: spec.name ?? '',
        expected_attach_type: spec.expectedAttachType ?? 0,
        fd_array: fdArray,
        attach_btf_id: spec.attachBtfId ?? 0,
      });
      let log = '';
      if (logBuf !== 0) {
        const bytes = this.stack.readBytes(logBuf, logSize);
        const nul = bytes.indexOf(0);
        log = utf8.decode(bytes.subarray(0, nul < 0 ? logSize : nul));
      }
      return { ret, log, logTrueSize: attr.log_true_size };
    } finally {
      this.stack.release(mark);
    }
  }

  /**
   * BPF_OBJ_GET_INFO_BY_FD for a program: struct bpf_prog_info with room for `maxMapIds` map ids and
   * `xlatedBytes` bytes of xlated instructions, `jitedBytes` of the JIT image, and `records.funcInfo` /
   * `records.lineInfo` func_info and line_info records (as a first call's nr_func_info / nr_line_info said).
   */
  *bpfProgGetInfo(
    fd: number,
    maxMapIds = 64,
    xlatedBytes = 0,
    jitedBytes = 0,
    records: { readonly funcInfo: number; readonly lineInfo: number } = { funcInfo: 0, lineInfo: 0 },
  ): Sys<Result<BpfProgInfo>> {
    const mark = this.stack.mark();
    try {
      const I = BPF_PROG_INFO;
      const request = new Uint8Array(I.size);
      const req = new DataView(request.buffer);
      const mapIds = maxMapIds > 0 ? this.stack.alloca(4 * maxMapIds) : 0;
      const xlated = xlatedBytes > 0 ? this.stack.alloca(xlatedBytes) : 0;
      const jited = jitedBytes > 0 ? this.stack.alloca(jitedBytes) : 0;
      req.setUint32(I.jited_prog_len, jitedBytes, true);
      req.setBigUint64(I.jited_prog_insns, BigInt(jited), true);
      const funcInfo = records.funcInfo > 0 ? this.stack.alloca(records.funcInfo * BPF_FUNC_INFO.size) : 0;
      const lineInfo = records.lineInfo > 0 ? this.stack.alloca(records.lineInfo * BPF_LINE_INFO.size) : 0;
      if (funcInfo !== 0) {
        req.setUint32(I.nr_func_info, records.funcInfo, true);
        req.setUint32(I.func_info_rec_size, BPF_FUNC_INFO.size, true);
        req.setBigUint64(I.func_info, BigInt(funcInfo), true);
      }
      if (lineInfo !== 0) {
        req.setUint32(I.nr_line_info, records.lineInfo, true);
        req.setUint32(I.line_info_rec_size, BPF_LINE_INFO.size, true);
        req.setBigUint64(I.line_info, BigInt(lineInfo), true);
      }
      req.setUint32(I.nr_map_ids, maxMapIds, true);
      req.setBigUint64(I.map_ids, BigInt(mapIds), true);
      req.setUint32(I.xlated_prog_len, xlatedBytes, true);
      req.setBigUint64(I.xlated_prog_insns, BigInt(xlated), true);
      const address = this.stack.pushBytes(request);
      const { ret, attr } = yield* this.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: fd, info_len: I.size, info: address });
      if (ret < 0) return { ok: false, errno: -ret };
      const bytes = this.stack.readBytes(address, I.size);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const u64 = (off: number): number => Number(view.getBigUint64(off, true));
      const nameBytes = bytes.subarray(I.name, I.name + BPF_OBJ_NAME_LEN);
      const nul = nameBytes.indexOf(0);
      const nrMapIds = Math.min(view.getUint32(I.nr_map_ids, true), maxMapIds);
      const ids = nrMapIds > 0 ? this.stack.readBytes(mapIds, 4 * nrMapIds) : new Uint8Array(0);
      const idsView = new DataView(ids.buffer, ids.byteOffset, ids.byteLength);
      const xlatedLen = view.getUint32(I.xlated_prog_len, true);
      const tag = Array.from(bytes.subarray(I.tag, I.tag + BPF_TAG_SIZE), (b) => b.toString(16).padStart(2, '0')).join('');
      return {
        ok: true,
        value: {
          type: view.getUint32(I.type, true),
          id: view.getUint32(I.id, true),
          tag,
          jitedProgLen: view.getUint32(I.jited_prog_len, true),
          // Empty when not asked for, or when the kernel left the pointer 0 (bpf_dump_raw_ok refused).
          jitedProgInsns:
            jited === 0 || view.getBigUint64(I.jited_prog_insns, true) === 0n
              ? new Uint8Array(0)
              : this.stack.readBytes(jited, Math.min(view.getUint32(I.jited_prog_len, true), jitedBytes)),
          xlatedProgLen: xlatedLen,
          btfId: view.getUint32(I.btf_id, true),
          nrFuncInfo: view.getUint32(I.nr_func_info, true),
          nrLineInfo: view.getUint32(I.nr_line_info, true),
          funcInfo:
            funcInfo === 0
              ? new Uint8Array(0)
              : this.stack.readBytes(funcInfo, Math.min(records.funcInfo, view.getUint32(I.nr_func_info, true)) * BPF_FUNC_INFO.size),
          lineInfo:
            lineInfo === 0
              ? new Uint8Array(0)
              : this.stack.readBytes(lineInfo, Math.min(records.lineInfo, view.getUint32(I.nr_line_info, true)) * BPF_LINE_INFO.size),
          xlatedProgInsns: xlated === 0 ? new Uint8Array(0) : this.stack.readBytes(xlated, Math.min(xlatedLen, xlatedBytes)),
          loadTime: u64(I.load_time),
          createdByUid: view.getUint32(I.created_by_uid, true),
          mapIds: Array.from({ length: nrMapIds }, (_, i) => idsView.getUint32(4 * i, true)),
          name: utf8.decode(nameBytes.subarray(0, nul < 0 ? BPF_OBJ_NAME_LEN : nul)),
          gplCompatible: (view.getUint32(I.gpl_compatible, true) & 1) !== 0,
          runTimeNs: u64(I.run_time_ns),
          runCnt: u64(I.run_cnt),
          verifiedInsns: view.getUint32(I.verified_insns, true),
          infoLen: attr.info_len,
        },
      };
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_PROG_GET_NEXT_ID: the first program id above `startId`, or -errno (ENOENT after the last). */
  *bpfProgGetNextId(startId: number): Sys<number> {
    const { ret, attr } = yield* this.bpfAttr('PROG_GET_NEXT_ID', { start_id: startId });
    return ret < 0 ? ret : attr.next_id;
  }

  /** BPF_PROG_GET_FD_BY_ID: a new fd on program `id`, or -errno. */
  *bpfProgGetFdById(id: number): Sys<number> {
    return (yield* this.bpfAttr('PROG_GET_FD_BY_ID', { id })).ret;
  }

  /** BPF_ENABLE_STATS (BPF_STATS_RUN_TIME by default): an fd that keeps run_cnt/run_time_ns counting while open, or -errno. */
  *bpfEnableStats(type: number = BPF_STATS.RUN_TIME): Sys<number> {
    return (yield* this.bpfAttr('ENABLE_STATS', { type })).ret;
  }

  // ---- bpf(): PROG_TEST_RUN ----

  /** BPF_PROG_TEST_RUN of program `progFd` (bpf_prog_test_run_opts): buffers on the stack, outputs read back. */
  *bpfProgTestRun(progFd: number, spec: BpfTestRunSpec = {}): Sys<BpfTestRunResult> {
    const mark = this.stack.mark();
    try {
      const dataOutSize = spec.dataOutSize ?? 0;
      const ctxOutSize = spec.ctxOutSize ?? 0;
      const dataOut = dataOutSize > 0 ? this.stack.alloca(dataOutSize) : 0;
      const ctxOut = ctxOutSize > 0 ? this.stack.alloca(ctxOutSize) : 0;
      const ctxIn = spec.ctx === undefined ? 0 : this.stack.pushBytes(spec.ctx);
      const { ret, attr } = yield* this.bpfAttr('PROG_TEST_RUN', {
        prog_fd: progFd,
        ...(spec.data === undefined ? {} : { data_in: this.stack.pushBytes(spec.data), data_size_in: spec.data.length }),
        ...(dataOut === 0 ? {} : { data_out: dataOut, data_size_out: spec.dataSizeOutHint ?? 0 }),
        ...(spec.ctx === undefined ? {} : { ctx_in: ctxIn, ctx_size_in: spec.ctx.length }),
        ...(ctxOut === 0 ? {} : { ctx_out: ctxOut, ctx_size_out: ctxOutSize }),
        repeat: spec.repeat ?? 0,
        flags: spec.flags ?? 0,
        cpu: spec.cpu ?? 0,
        batch_size: spec.batchSize ?? 0,
      });
      const copied = ret === 0 || ret === -Errno.ENOSPC;
      // What the kernel copied: the packet, clamped by a non-zero hint (ENOSPC) and by the room given.
      const hint = spec.dataSizeOutHint ?? 0;
      const dataShown = copied && dataOut !== 0 ? Math.min(attr.data_size_out, hint === 0 ? dataOutSize : hint, dataOutSize) : 0;
      const ctxShown = copied && ctxOut !== 0 ? Math.min(attr.ctx_size_out, ctxOutSize) : 0;
      return {
        ret,
        retval: attr.retval,
        duration: attr.duration,
        dataSizeOut: attr.data_size_out,
        dataOut: dataShown > 0 ? this.stack.readBytes(dataOut, dataShown) : new Uint8Array(0),
        ctxSizeOut: attr.ctx_size_out,
        ctxOut: ctxShown > 0 ? this.stack.readBytes(ctxOut, ctxShown) : new Uint8Array(0),
        ctxIn: spec.ctx === undefined || spec.ctx.length === 0 ? new Uint8Array(0) : this.stack.readBytes(ctxIn, spec.ctx.length),
      };
    } finally {
      this.stack.release(mark);
    }
  }

  // ---- bpf(): the batch map commands ----

  /**
   * BPF_MAP_LOOKUP_BATCH or BPF_MAP_LOOKUP_AND_DELETE_BATCH on map `fd`: up to `count` elements from the
   * position `inBatch` (null: the start; else the token a previous call gave, `tokenSize` bytes). `keys` and
   * `values` are the buffers' initial bytes (their lengths, their sizes); what the kernel wrote comes back,
   * with the count it wrote back and the out_batch token.
   */
  *bpfMapLookupBatch(
    fd: number,
    options: {
      inBatch: Uint8Array | null;
      count: number;
      keys: Uint8Array;
      values: Uint8Array;
      elemFlags?: number;
      flags?: number;
      andDelete?: boolean;
      tokenSize?: number;
    },
  ): Sys<{ ret: number; count: number; keys: Uint8Array; values: Uint8Array; outBatch: Uint8Array }> {
    const mark = this.stack.mark();
    try {
      const tokenSize = options.tokenSize ?? 8;
      const inBatch = options.inBatch === null ? 0 : this.stack.pushBytes(options.inBatch);
      const outBatch = this.stack.pushBytes(new Uint8Array(tokenSize));
      const keys = this.stack.pushBytes(options.keys);
      const values = this.stack.pushBytes(options.values);
      const { ret, attr } = yield* this.bpfAttr(options.andDelete === true ? 'MAP_LOOKUP_AND_DELETE_BATCH' : 'MAP_LOOKUP_BATCH', {
        in_batch: inBatch,
        out_batch: outBatch,
        keys,
        values,
        count: options.count,
        map_fd: fd,
        elem_flags: options.elemFlags ?? 0,
        flags: options.flags ?? 0,
      });
      return {
        ret,
        count: attr.count,
        keys: this.stack.readBytes(keys, options.keys.length),
        values: this.stack.readBytes(values, options.values.length),
        outBatch: this.stack.readBytes(outBatch, tokenSize),
      };
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_MAP_UPDATE_BATCH: `count` elements from the `keys` and `values` buffers; the result and the count written back. */
  *bpfMapUpdateBatch(fd: number, keys: Uint8Array, values: Uint8Array, count: number, elemFlags = 0, flags = 0): Sys<{ ret: number; count: number }> {
    const mark = this.stack.mark();
    try {
      const k = this.stack.pushBytes(keys);
      const v = this.stack.pushBytes(values);
      const { ret, attr } = yield* this.bpfAttr('MAP_UPDATE_BATCH', { keys: k, values: v, count, map_fd: fd, elem_flags: elemFlags, flags });
      return { ret, count: attr.count };
    } finally {
      this.stack.release(mark);
    }
  }

  /** BPF_MAP_DELETE_BATCH: the `count` keys in `keys`; the result and the count written back. */
  *bpfMapDeleteBatch(fd: number, keys: Uint8Array, count: number, elemFlags = 0, flags = 0): Sys<{ ret: number; count: number }> {
    const mark = this.stack.mark();
    try {
      const k = this.stack.pushBytes(keys);
      const { ret, attr } = yield* this.bpfAttr('MAP_DELETE_BATCH', { keys: k, count, map_fd: fd, elem_flags: elemFlags, flags });
      return { ret, count: attr.count };
    } finally {
      this.stack.release(mark);
    }
  }

  // ---- mmap of files (ring buffers, mmapable arrays) and perf_event_open ----

  /** mmap(2) of `length` bytes of the file behind `fd` from byte `offset` (MAP_SHARED or MAP_PRIVATE in `flags`): the address or -errno. */
  *mmapFile(fd: number, length: number, prot: number, flags: number, offset = 0): Sys<number> {
    return yield* this.syscall(NR.mmap, 0, length, prot, flags, fd, offset);
  }

  /**
   * perf_event_open(2) with a struct perf_event_attr built from `attr` (PERF_ATTR_SIZE_VER8 bytes unless
   * `attr.size` says otherwise; `attr.flags` is the word of one-bit fields): the fd or -errno.
   */
  *perfEventOpen(attr: PerfEventAttrInput, pid: number, cpu: number, groupFd = -1, flags = 0): Sys<number> {
    const mark = this.stack.mark();
    try {
      const bytes = new Uint8Array(Math.max(PERF_EVENT_ATTR.size, attr.size ?? 0));
      const view = new DataView(bytes.buffer);
      view.setUint32(PERF_EVENT_ATTR.type, attr.type, true);
      view.setUint32(PERF_EVENT_ATTR.size_field, attr.size ?? PERF_EVENT_ATTR.size, true);
      view.setBigUint64(PERF_EVENT_ATTR.config, BigInt(attr.config), true);
      view.setBigUint64(PERF_EVENT_ATTR.sample_period, BigInt(attr.samplePeriod ?? 0), true);
      view.setBigUint64(PERF_EVENT_ATTR.sample_type, BigInt(attr.sampleType ?? 0), true);
      view.setBigUint64(PERF_EVENT_ATTR.flags, attr.flags ?? 0n, true);
      view.setUint32(PERF_EVENT_ATTR.wakeup_events, attr.wakeupEvents ?? 0, true);
      view.setBigUint64(PERF_EVENT_ATTR.config1, BigInt(attr.config1 ?? 0), true);
      view.setBigUint64(PERF_EVENT_ATTR.config2, BigInt(attr.config2 ?? 0), true);
      const address = this.stack.pushBytes(bytes);
      return yield* this.syscall(NR.perf_event_open, address, pid, cpu, groupFd, flags);
    } finally {
      this.stack.release(mark);
    }
  }

  // ---- bpf(): links ----

  /** BPF_LINK_GET_NEXT_ID: the first link id above `startId`, or -errno (ENOENT after the last). */
  *bpfLinkGetNextId(startId: number): Sys<number> {
    const { ret, attr } = yield* this.bpfAttr('LINK_GET_NEXT_ID', { start_id: startId });
    return ret < 0 ? ret : attr.next_id;
  }

  /** BPF_LINK_GET_FD_BY_ID: a new fd on link `id`, or -errno. */
  *bpfLinkGetFdById(id: number, openFlags = 0): Sys<number> {
    return (yield* this.bpfAttr('LINK_GET_FD_BY_ID', { id, open_flags: openFlags })).ret;
  }

  /** BPF_LINK_DETACH: 0 or -errno (EOPNOTSUPP for a link type that cannot be detached). */
  *bpfLinkDetach(linkFd: number): Sys<number> {
    return (yield* this.bpfAttr('LINK_DETACH', { link_fd: linkFd })).ret;
  }

  /** BPF_LINK_UPDATE: run `newProgFd` in the link (with BPF_F_REPLACE, only if `oldProgFd` runs there now). */
  *bpfLinkUpdate(linkFd: number, newProgFd: number, flags = 0, oldProgFd = 0): Sys<number> {
    return (yield* this.bpfAttr('LINK_UPDATE', { link_fd: linkFd, new_prog_fd: newProgFd, flags, old_prog_fd: oldProgFd })).ret;
  }

  /** BPF_OBJ_GET_INFO_BY_FD for a link, into a zeroed struct bpf_link_info of `infoLen` bytes. */
  *bpfLinkGetInfo(fd: number, infoLen: number = BPF_LINK_INFO.size): Sys<Result<BpfLinkInfo>> {
    const mark = this.stack.mark();
    try {
      const address = this.stack.pushBytes(new Uint8Array(infoLen));
      const { ret, attr } = yield* this.bpfAttr('OBJ_GET_INFO_BY_FD', { bpf_fd: fd, info_len: infoLen, info: address });
      if (ret < 0) return { ok: false, errno: -ret };
      const bytes = this.stack.readBytes(address, infoLen);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const u32 = (offset: number): number => (offset + 4 <= infoLen ? view.getUint32(offset, true) : 0);
      return {
        ok: true,
        value: {
          type: u32(BPF_LINK_INFO.type),
          id: u32(BPF_LINK_INFO.id),
          progId: u32(BPF_LINK_INFO.prog_id),
          union: bytes.slice(Math.min(BPF_LINK_INFO.union, infoLen)),
          infoLen: attr.info_len,
        },
      };
    } finally {
      this.stack.release(mark);
    }
  }

  /**
   * BPF_PROG_ATTACH without a link (tcx: `target` is the ifindex), placed by `attachFlags` (BPF_F_ATTACH: BEFORE /
   * AFTER `relative` fd or id, REPLACE `replaceFd`) if nothing changed since `expectedRevision` (0: any). 0 or -errno.
   */
  *bpfProgAttach(
    target: number,
    progFd: number,
    attachType: number,
    opts: { attachFlags?: number; replaceFd?: number; relative?: number; expectedRevision?: number } = {},
  ): Sys<number> {
    return (yield* this.bpfAttr('PROG_ATTACH', {
      target_fd: target,
      attach_bpf_fd: progFd,
      attach_type: attachType,
      attach_flags: opts.attachFlags ?? 0,
      replace_bpf_fd: opts.replaceFd ?? 0,
      relative_fd: opts.relative ?? 0,
      expected_revision: opts.expectedRevision ?? 0,
    })).ret;
  }

  /** BPF_PROG_DETACH: `progFd` (0: the one the placement flags name) from `target`'s `attachType`. 0 or -errno. */
  *bpfProgDetach(
    target: number,
    progFd: number,
    attachType: number,
    opts: { attachFlags?: number; relative?: number; expectedRevision?: number } = {},
  ): Sys<number> {
    return (yield* this.bpfAttr('PROG_DETACH', {
      target_fd: target,
      attach_bpf_fd: progFd,
      attach_type: attachType,
      attach_flags: opts.attachFlags ?? 0,
      relative_fd: opts.relative ?? 0,
      expected_revision: opts.expectedRevision ?? 0,
    })).ret;
  }

  /**
   * BPF_PROG_QUERY of `target`'s `attachType` with room for `room` programs: the result (0, or -ENOSPC with the
   * first `room` ids, or -errno), the count and revision the kernel wrote back, and the program and link ids.
   */
  *bpfProgQuery(
    target: number,
    attachType: number,
    room: number,
  ): Sys<{ ret: number; count: number; revision: number; attachFlags: number; progIds: number[]; linkIds: number[] }> {
    const mark = this.stack.mark();
    try {
      const bytes = Math.max(4, room * 4);
      const progIds = this.stack.pushBytes(new Uint8Array(bytes));
      const linkIds = this.stack.pushBytes(new Uint8Array(bytes));
      const { ret, attr } = yield* this.bpfAttr('PROG_QUERY', {
        target_fd: target,
        attach_type: attachType,
        prog_ids: room === 0 ? 0 : progIds,
        link_ids: room === 0 ? 0 : linkIds,
        count: room,
      });
      const ids = (address: number): number[] => {
        const raw = this.stack.readBytes(address, bytes);
        const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        const shown = Math.min(room, attr.count);
        return Array.from({ length: ret < 0 && ret !== -Errno.ENOSPC ? 0 : shown }, (_, i) => view.getUint32(4 * i, true));
      };
      return { ret, count: attr.count, revision: attr.revision, attachFlags: attr.attach_flags, progIds: ids(progIds), linkIds: ids(linkIds) };
    } finally {
      this.stack.release(mark);
    }
  }

  /** Decode bytes as UTF-8 (for printing what was read). */
  decode(bytes: Uint8Array): string {
    return utf8.decode(bytes);
  }
}
