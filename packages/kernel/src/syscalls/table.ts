import {
  Errno,
  PT_REGS,
  PT_REGS_SYSCALL_ARGS,
  SYSCALL_SPECS,
  SyscallNr,
  TRACE_ENTRY,
  TRACE_RAW_SYS_ENTER,
  TRACE_RAW_SYS_EXIT,
  TRACE_SYSCALL_ENTER,
  TRACE_SYSCALL_EXIT,
  type SyscallName,
  type SyscallSpec,
} from '@ebpf-sim/uapi';
import type { HookPoint } from '../hooks/hook.js';
import { storeU64Words } from '../hooks/context-writer.js';
import { overriddenReturn } from '../hooks/error-injection.js';
import { fireRawTracepoint, fireTrampoline } from '../hooks/raw-tracepoints.js';
import { fentryHookName, fexitHookName, fmodRetHookName, rawTracepointHookName } from '../hooks/registry.js';
import type { Cpu } from '../sched/cpu.js';
import { BLOCKED, NO_RETURN } from '../sched/wait.js';
import type { KernelInternals } from '../services.js';
import type { Task } from '../task/task.js';

/**
 * raw_syscalls:sys_enter's record (struct trace_event_raw_sys_enter: the trace_entry header with flags and
 * preempt count 0, the syscall number, the six argument registers), every byte of it. The hottest context
 * the kernel builds (every syscall while a program counts them), so it is one small function of word stores
 * that TurboFan compiles on its own (argument registers often hold user addresses past 2^32, which DataView
 * stores convert slowly; see ContextWriter.words).
 */
function writeRawSysEnter(words: Int32Array, ctx: number, type: number, pid: number, nr: number, regs: Float64Array): void {
  // common_type (u16), then common_flags and common_preempt_count (u8, both 0): one little-endian word.
  words[(ctx + TRACE_ENTRY.common_type) >>> 2] = type & 0xffff;
  words[(ctx + TRACE_ENTRY.common_pid) >>> 2] = pid;
  storeU64Words(words, ctx + TRACE_RAW_SYS_ENTER.id, nr);
  const args = ctx + TRACE_RAW_SYS_ENTER.args;
  storeU64Words(words, args, regs[1] as number);
  storeU64Words(words, args + 8, regs[2] as number);
  storeU64Words(words, args + 16, regs[3] as number);
  storeU64Words(words, args + 24, regs[4] as number);
  storeU64Words(words, args + 32, regs[5] as number);
  storeU64Words(words, args + 40, regs[6] as number);
}

/**
 * A syscall implementation: the caller and its six argument registers; returns the result, -errno, or
 * BLOCKED / NO_RETURN. A handler reaches the services it uses through its own closure (the bpf subsystem
 * registers one built over `Pick<KernelServices, ...>`), never through the table.
 */
export type SyscallHandler = (task: Task, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number) => number;

/** What the syscall entry uses: the hooks it fires, the clock and trace for syscall tracing, the counters. */
export type SyscallEntryServices = Pick<KernelInternals, 'hooks' | 'hookArena' | 'clock' | 'trace' | 'stats' | 'phys'>;

/** Highest syscall number the table holds (x86_64 has fewer than 512). */
export const NR_SYSCALLS = 512;

/** One row of the table: the handler, the argument checks derived from the uapi schema, and its hooks. */
export interface SyscallEntry {
  readonly nr: number;
  readonly name: string;
  readonly spec: SyscallSpec | undefined;
  handler: SyscallHandler;
  readonly argCount: number;
  readonly min: Float64Array;
  readonly max: Float64Array;
  /** Flag mask per argument, or -1 when the argument has none (checked with `&`, 32-bit). */
  readonly mask: Int32Array;
  readonly errno: Int32Array;
  readonly enter: HookPoint | undefined;
  readonly exit: HookPoint | undefined;
  readonly kprobe: HookPoint | undefined;
  readonly kretprobe: HookPoint | undefined;
  /** The BPF trampoline of `__x64_sys_<name>` (one argument: the saved user pt_regs). */
  readonly fentry: HookPoint | undefined;
  readonly fexit: HookPoint | undefined;
  /** Its fmod_ret programs (BPF_MODIFY_RETURN: a non-zero return skips the syscall and is its result). */
  readonly fmodRet: HookPoint | undefined;
  calls: number;
}

/**
 * The syscall table (sys_call_table) and the entry path. Registration takes a name from the uapi ABI; the
 * entry checks the registers with fast checks derived from that name's zod schema (range, integer-ness,
 * flag bits, each with its errno), fires the syscall hooks only when something is attached, and calls the
 * handler. Unknown numbers get -ENOSYS.
 */
export class SyscallTable {
  private readonly entries: Array<SyscallEntry | undefined> = new Array<SyscallEntry | undefined>(NR_SYSCALLS).fill(undefined);
  private readonly rawEnter: HookPoint;
  private readonly rawExit: HookPoint;
  /** The raw tracepoints sys_enter(regs, id) and sys_exit(regs, ret) (BPF_RAW_TRACEPOINT_OPEN "sys_enter"). */
  private readonly rawTpEnter: HookPoint;
  private readonly rawTpExit: HookPoint;

  constructor(private readonly k: SyscallEntryServices) {
    this.rawEnter = k.hooks.require('raw_syscalls:sys_enter');
    this.rawExit = k.hooks.require('raw_syscalls:sys_exit');
    this.rawTpEnter = k.hooks.require(rawTracepointHookName('sys_enter'));
    this.rawTpExit = k.hooks.require(rawTracepointHookName('sys_exit'));
  }

  /** Install the handler of an ABI syscall (the bpf subsystem registers 'bpf' this way). Replaces any previous. */
  register(name: SyscallName, handler: SyscallHandler): void {
    const nr = SyscallNr[name];
    const spec = SYSCALL_SPECS.get(nr);
    const checks = spec?.args ?? [];
    const entry: SyscallEntry = {
      nr,
      name,
      spec,
      handler,
      argCount: checks.length,
      min: Float64Array.from(checks.map((c) => c.min)),
      max: Float64Array.from(checks.map((c) => c.max)),
      mask: Int32Array.from(checks.map((c) => (c.mask === undefined ? -1 : c.mask | 0))),
      errno: Int32Array.from(checks.map((c) => c.errno)),
      enter: this.k.hooks.get(`syscalls:sys_enter_${name}`),
      exit: this.k.hooks.get(`syscalls:sys_exit_${name}`),
      kprobe: this.k.hooks.get(`kprobe:__x64_sys_${name}`),
      kretprobe: this.k.hooks.get(`kretprobe:__x64_sys_${name}`),
      fentry: this.k.hooks.get(fentryHookName(`__x64_sys_${name}`)),
      fexit: this.k.hooks.get(fexitHookName(`__x64_sys_${name}`)),
      fmodRet: this.k.hooks.get(fmodRetHookName(`__x64_sys_${name}`)),
      calls: 0,
    };
    this.entries[nr] = entry;
  }

  get(nr: number): SyscallEntry | undefined {
    return nr >= 0 && nr < NR_SYSCALLS ? this.entries[nr] : undefined;
  }

  /** Registered syscalls in number order. */
  list(): SyscallEntry[] {
    return this.entries.filter((e): e is SyscallEntry => e !== undefined);
  }

  /** Check registers against an entry's argument checks: 0 or -errno. */
  static checkArgs(entry: SyscallEntry, regs: Float64Array): number {
    const { min, max, mask, errno } = entry;
    for (let index = 0; index < entry.argCount; index++) {
      const value = regs[index + 1] as number;
      if (!(value >= (min[index] as number) && value <= (max[index] as number) && value === Math.floor(value))) return -(errno[index] as number);
      const bits = mask[index] as number;
      if (bits !== -1 && (value & ~bits) !== 0) return -(errno[index] as number);
    }
    return 0;
  }

  /** The syscall instruction: dispatch `task.regs`. Returns the result, BLOCKED or NO_RETURN. */
  enter(cpu: Cpu, task: Task): number {
    const k = this.k;
    const regs = task.regs;
    const nr = regs[0] as number;
    task.syscalls++;
    k.stats.syscalls++;
    const entry = nr >= 0 && nr < NR_SYSCALLS && nr === Math.floor(nr) ? this.entries[nr] : undefined;
    const override = k.hooks.syscallHandlers !== 0 ? this.fireEnter(cpu, task, nr, entry) : undefined;
    if (k.trace.syscalls)
      k.trace.emit(
        k.clock.now,
        cpu.id,
        `sys_enter ${task.comm}:${task.pid} ${entry?.name ?? `nr${nr}`}(${Array.from(regs.subarray(1, 1 + (entry?.argCount ?? 6))).join(', ')})`,
      );
    if (entry === undefined) return this.finish(cpu, task, -Errno.ENOSYS);
    // A kprobe program's bpf_override_return on __x64_sys_<name>: the function is not run and returns its value.
    if (override !== undefined) return this.finish(cpu, task, override);
    entry.calls++;
    const bad = SyscallTable.checkArgs(entry, regs);
    if (bad !== 0) return this.finish(cpu, task, bad);
    const ret = entry.handler(task, regs[1] as number, regs[2] as number, regs[3] as number, regs[4] as number, regs[5] as number, regs[6] as number);
    if (ret === BLOCKED || ret === NO_RETURN) return ret;
    return this.finish(cpu, task, ret);
  }

  /** Re-run a blocked syscall after its task was woken. */
  restart(cpu: Cpu, task: Task): number {
    const regs = task.regs;
    const entry = this.entries[regs[0] as number];
    if (entry === undefined) return this.finish(cpu, task, -Errno.ENOSYS);
    const ret = entry.handler(task, regs[1] as number, regs[2] as number, regs[3] as number, regs[4] as number, regs[5] as number, regs[6] as number);
    if (ret === BLOCKED || ret === NO_RETURN) return ret;
    return this.finish(cpu, task, ret);
  }

  private finish(cpu: Cpu, task: Task, ret: number): number {
    const k = this.k;
    if (k.hooks.syscallExitHandlers !== 0) this.fireExit(cpu, task, task.regs[0] as number, this.get(task.regs[0] as number), ret);
    if (k.trace.syscalls) k.trace.emit(k.clock.now, cpu.id, `sys_exit ${task.comm}:${task.pid} = ${ret}`);
    return ret;
  }

  /**
   * The entry hooks of a syscall. Returns the value a kprobe program on `__x64_sys_<name>` forced with
   * bpf_override_return (the probe's pt_regs left at just_return_func), or undefined to run the syscall.
   */
  private fireEnter(cpu: Cpu, task: Task, nr: number, entry: SyscallEntry | undefined): number | undefined {
    const arena = this.k.hookArena;
    const w = arena.write;
    const regs = task.regs;
    const id = cpu.id;
    const raw = this.rawEnter;
    if (raw.programs.length !== 0) {
      // writeRawSysEnter writes every byte of the record: no zeroing first.
      const ctx = arena.reserve(id, TRACE_RAW_SYS_ENTER.size);
      writeRawSysEnter(w.words, ctx, raw.id, task.pid, nr, regs);
      arena.fire(raw, ctx, id, task);
      arena.end(id, TRACE_RAW_SYS_ENTER.size);
    }
    const rawTp = this.rawTpEnter;
    if (rawTp.programs.length !== 0) {
      // trace_sys_enter(regs, id): the saved user registers, as the syscall entry left them.
      const saved = arena.begin(id, PT_REGS.size);
      this.writeUserRegs(saved, task, nr);
      fireRawTracepoint(arena, rawTp, id, task, saved, nr);
      arena.end(id, PT_REGS.size);
    }
    if (entry === undefined) return undefined;
    const enter = entry.enter;
    if (enter !== undefined && enter.programs.length !== 0) {
      const ctx = arena.begin(id, enter.ctxSize);
      w.traceEntry(ctx, enter.id, task.pid);
      w.i32(ctx + TRACE_SYSCALL_ENTER.__syscall_nr, nr);
      for (let index = 0; index < entry.argCount; index++) w.u64(ctx + TRACE_SYSCALL_ENTER.args + 8 * index, regs[index + 1] as number);
      arena.fire(enter, ctx, id, task);
      arena.end(id, enter.ctxSize);
    }
    let override: number | undefined;
    const kprobe = entry.kprobe;
    if (kprobe !== undefined && kprobe.programs.length !== 0) {
      // __x64_sys_<name>(const struct pt_regs *regs): di points at the user registers saved at entry.
      const saved = arena.begin(id, PT_REGS.size);
      this.writeUserRegs(saved, task, nr);
      const ctx = arena.begin(id, PT_REGS.size);
      w.u64(ctx + PT_REGS.di, saved);
      w.u64(ctx + PT_REGS.orig_ax, nr);
      arena.fire(kprobe, ctx, id, task);
      override = overriddenReturn(this.k.phys.view, ctx);
      arena.end(id, PT_REGS.size);
      arena.end(id, PT_REGS.size);
    }
    const fentry = entry.fentry;
    if (fentry !== undefined && fentry.programs.length !== 0) {
      const saved = arena.begin(id, PT_REGS.size);
      this.writeUserRegs(saved, task, nr);
      fireTrampoline(arena, fentry, id, task, 1, 0, saved, 0, 0, 0, 0, 0);
      arena.end(id, PT_REGS.size);
    }
    const fmodRet = entry.fmodRet;
    if (fmodRet !== undefined && fmodRet.programs.length !== 0) {
      // The trampoline's fmod_ret programs, after fentry (invoke_bpf_mod_ret): the arguments and a return slot of
      // 0; the first non-zero return (the low 32 bits, sign-extended: errnos) skips the syscall and is its result.
      const saved = arena.begin(id, PT_REGS.size);
      this.writeUserRegs(saved, task, nr);
      const ctx = arena.begin(id, fmodRet.ctxSize);
      w.u64(ctx, saved);
      w.u64(ctx + 8, 0);
      const ret = arena.fire(fmodRet, ctx, id, task);
      arena.end(id, fmodRet.ctxSize);
      arena.end(id, PT_REGS.size);
      if (ret !== 0 && override === undefined) override = ret;
    }
    return override;
  }

  private fireExit(cpu: Cpu, task: Task, nr: number, entry: SyscallEntry | undefined, ret: number): void {
    const arena = this.k.hookArena;
    const w = arena.write;
    const id = cpu.id;
    if (entry !== undefined) {
      const kretprobe = entry.kretprobe;
      if (kretprobe !== undefined && kretprobe.programs.length !== 0) {
        const ctx = arena.begin(id, PT_REGS.size);
        w.u64(ctx + PT_REGS.ax, ret);
        arena.fire(kretprobe, ctx, id, task);
        arena.end(id, PT_REGS.size);
      }
      const fexit = entry.fexit;
      if (fexit !== undefined && fexit.programs.length !== 0) {
        const saved = arena.begin(id, PT_REGS.size);
        this.writeUserRegs(saved, task, nr);
        fireTrampoline(arena, fexit, id, task, 1, ret, saved, 0, 0, 0, 0, 0);
        arena.end(id, PT_REGS.size);
      }
      const exit = entry.exit;
      if (exit !== undefined && exit.programs.length !== 0) {
        const ctx = arena.begin(id, TRACE_SYSCALL_EXIT.size);
        w.traceEntry(ctx, exit.id, task.pid);
        w.i32(ctx + TRACE_SYSCALL_EXIT.__syscall_nr, nr);
        w.u64(ctx + TRACE_SYSCALL_EXIT.ret, ret);
        arena.fire(exit, ctx, id, task);
        arena.end(id, TRACE_SYSCALL_EXIT.size);
      }
    }
    const raw = this.rawExit;
    if (raw.programs.length !== 0) {
      const ctx = arena.begin(id, TRACE_RAW_SYS_EXIT.size);
      w.traceEntry(ctx, raw.id, task.pid);
      w.u64(ctx + TRACE_RAW_SYS_EXIT.id, nr);
      w.u64(ctx + TRACE_RAW_SYS_EXIT.ret, ret);
      arena.fire(raw, ctx, id, task);
      arena.end(id, TRACE_RAW_SYS_EXIT.size);
    }
    const rawTp = this.rawTpExit;
    if (rawTp.programs.length !== 0) {
      // trace_sys_exit(regs, ret): the user registers with the result in ax, as syscall_exit_work sees them.
      const saved = arena.begin(id, PT_REGS.size);
      this.writeUserRegs(saved, task, nr);
      w.u64(saved + PT_REGS.ax, ret);
      fireRawTracepoint(arena, rawTp, id, task, saved, ret);
      arena.end(id, PT_REGS.size);
    }
  }

  /** The user pt_regs at syscall entry: orig_ax = nr, arguments in di, si, dx, r10, r8, r9, sp = stack. */
  private writeUserRegs(address: number, task: Task, nr: number): void {
    const w = this.k.hookArena.write;
    const regs = task.regs;
    w.u64(address + PT_REGS.orig_ax, nr);
    w.u64(address + PT_REGS.ax, -Errno.ENOSYS);
    for (let index = 0; index < PT_REGS_SYSCALL_ARGS.length; index++) w.u64(address + (PT_REGS_SYSCALL_ARGS[index] as number), regs[index + 1] as number);
    w.u64(address + PT_REGS.sp, task.ctx?.stackTop ?? 0);
    w.u64(address + PT_REGS.cs, 0x33);
    w.u64(address + PT_REGS.ss, 0x2b);
  }
}
