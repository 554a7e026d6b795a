/**
 * The bpf runtime of one kernel: the VMs programs run on (over the kernel's own WebAssembly.Memory, so a
 * program reads and writes map values, contexts and packets in place), the helper table built from every
 * helper implementation, the map-address table behind `mapAt`, the tail-call hook, and the run accounting of
 * BPF_ENABLE_STATS (run_cnt, run_time_ns).
 *
 * Two VMs share the memory, one per engine (net.core.bpf_jit_enable chooses at load time, as Linux's
 * bpf_prog_select_runtime does), each with its own call-frame stack kmalloc'd from the kernel: the stack is
 * the one range a VM does not map as a region, so a program cannot reach its own frames except through r10.
 */
import { STACK_FRAME_SIZE } from '@ebpf-sim/isa';
import type { HookPoint, KernelMemory, KernelServices, TracePipe } from '@ebpf-sim/kernel';
import { HelperTable, LinearMemory, MAX_CALL_FRAMES, NULL_GUARD, Perm, Vm, formatFault, type HelperContext, type Program, type WasmCall } from '@ebpf-sim/vm';
import { bindHelpers, type BpfHelper } from '../helpers/define.js';
import { HELPERS } from '../helpers/index.js';
import { freeMapTimers } from '../helpers/timer.js';
import { HTAB_LOOKUP_ELEM_CALL, HTAB_LOOKUP_ELEM_NAME } from '../maps/hashtab.js';
import { htabLookupFor } from '../maps/htab-lookup-wasm.js';
import type { BpfMap } from '../maps/map.js';
import { idleRunState, type HelperEnv, type RunState, type TailCallTarget } from './env.js';
import type { KernelBpfCalls } from './env.js';

/** Bytes of one VM's call-frame stack (MAX_CALL_FRAMES frames of 512 bytes). */

/**
 * Bytes of the kernel object that stands for a map (Linux's `struct bpf_map`, whose address an LD imm64 of a
 * map fd becomes). Only its address matters here (the map's state is the BpfMap), so it is one cache line.
 */
const MAP_STRUCT_BYTES = 64;

/** Bytes behind a callback's kernel address (only the address matters: it names the callback's VM program). */
const CALLBACK_STRUCT_BYTES = 8;

/** Bytes of a callback's key scratch per nesting level (an array's u32 index, 8-aligned). */
const CALLBACK_KEY_BYTES = 8;

/** How a run at a hook ended: normally, in a VM fault, or by an error that escaped the VM. */
const enum HookRunStatus {
  Ok,
  Fault,
  Threw,
}

/** Lines of {@link BpfRuntime.hookFaultLog} kept (the oldest go first). */
const HOOK_FAULT_LOG_LINES = 16;

/** The memory owner the runtime's own allocations (VM stacks, map structs) are charged to. */
export const RUNTIME_OWNER = 'bpf-runtime';

/**
 * What a PROG_ARRAY map offers the tail-call hook: the program in slot `index`, or undefined for an empty
 * slot or an index past max_entries. The PROG_ARRAY map type implements it (h-maps).
 */
export interface ProgramSlots {
  programAt(index: number): TailCallTarget | undefined;
}

function hasProgramSlots(map: BpfMap): map is BpfMap & ProgramSlots {
  return typeof (map as Partial<ProgramSlots>).programAt === 'function';
}

/** A program the runtime runs: its VM program, whether it is JIT-compiled, and its run statistics. */
export interface RunnableProgram {
  readonly program: Program;
  /** BPF_PROG_TYPE of the program (RunState.progType while it runs). */
  readonly progType: number;
  /** Run on the JIT VM (net.core.bpf_jit_enable was non-zero at load). */
  readonly jited: boolean;
  /** Runs and their total time while stats were enabled (bpf_prog_stats: cnt, nsecs). */
  runCnt: number;
  runTimeNs: number;
}

/** The kernel services the runtime uses. */
export type RuntimeServices = Pick<KernelServices, 'current' | 'userMemory' | 'clock' | 'random' | 'phys' | 'signals'>;

export interface RuntimeOptions {
  /** bpf_trace_printk's sink (the kernel's tracefs, `kernel.tracing`). */
  readonly trace: TracePipe;
  /** The helpers whose implementations make the helper table (default: every helper the subsystem defines). */
  readonly helpers?: ReadonlyMap<number, BpfHelper>;
  /** kernel.bpf_stats_enabled's static key: run accounting is on while it is non-zero. */
  readonly stats: { readonly enabled: number };
  /** Live tasks by pid (bpf_task_from_pid finds them here; absent: no pid is found). */
  readonly tasks?: ReadonlyMap<number, { readonly kernelAddress: number }>;
}

/** Bytes of one VM's call-frame stack in kernel memory. */
export const VM_STACK_BYTES = MAX_CALL_FRAMES * STACK_FRAME_SIZE;

/**
 * A VM over the kernel's memory with its own stack at `stack` (VM_STACK_BYTES of kernel memory): everything
 * else above the null guard is read-write, so programs use physical addresses directly.
 */
export function kernelVm(
  memory: Pick<KernelMemory, 'memory'>,
  stack: number,
  options: {
    readonly helpers?: HelperTable;
    readonly tailCall?: (ctx: HelperContext) => Program | null;
    readonly jit?: boolean;
    /** Kfuncs by BTF id (filled once the kernel's BTF gives the ids). */
    readonly kfuncs?: HelperTable;
  } = {},
): Vm {
  const size = memory.memory.buffer.byteLength;
  const mem = new LinearMemory({ memory: memory.memory });
  mem.mapRegion(NULL_GUARD, stack - NULL_GUARD, Perm.RW, 'kernel memory below the bpf stack');
  mem.mapRegion(stack + VM_STACK_BYTES, size - stack - VM_STACK_BYTES, Perm.RW, 'kernel memory above the bpf stack');
  return new Vm({
    memory: mem,
    stackAddr: stack,
    engine: options.jit === true ? 'jit' : 'interp',
    prime: false,
    ...(options.helpers === undefined ? {} : { helpers: options.helpers }),
    ...(options.tailCall === undefined ? {} : { tailCall: options.tailCall }),
    ...(options.kfuncs === undefined ? {} : { kfuncs: options.kfuncs }),
  });
}

export class BpfRuntime implements HelperEnv {
  readonly k: RuntimeServices;
  readonly trace: TracePipe;
  readonly run: RunState = idleRunState();
  /** The helper ids that have an implementation (what PROG_LOAD binds a call to). */
  readonly helpers: HelperTable;
  /** The kfuncs programs call, by their BTF ids (bound by kfuncs/index.ts bindKfuncs once the vmlinux BTF exists). */
  readonly kfuncs = new HelperTable();
  /** Live tasks by pid, for the task kfuncs. */
  readonly tasks: ReadonlyMap<number, { readonly kernelAddress: number }>;
  /**
   * Kernel functions a map's map_gen_lookup calls (`call __htab_map_lookup_elem`), as WebAssembly over kernel
   * memory: the JIT calls them directly (LoadOptions.wasmCalls); the interpreter finds them in {@link helpers}.
   */
  readonly wasmCalls: ReadonlyMap<number, WasmCall>;
  private readonly interpVm: Vm;
  private readonly jitVm: Vm;
  private readonly stacks: number;
  private readonly maps = new Map<number, BpfMap>();
  /** Callbacks by kernel address (what a BPF_PSEUDO_FUNC LD imm64 holds at run time): their VM programs. */
  private readonly callbacks = new Map<number, Program | null>();
  /** The VM of the run in progress (a callback runs on it, nested), null between runs. */
  private activeVm: Vm | null = null;
  /** Callbacks running now, one inside another (each nesting level has its own scratch bytes). */
  private callbackNesting = 0;
  /** Kernel memory for callback keys (Linux: a u32 on the helper's stack), 8 bytes per nesting level. */
  private readonly callbackKeys: number;
  /** r1..r4 of a callback run, reused. */
  private readonly callbackArgs: number[] = [0, 0, 0, 0];
  /** The map {@link mapAt} found last (still placed: unplacing it forgets it). */
  private lastMap: BpfMap | null = null;
  private readonly stats: { readonly enabled: number };
  /** bpf() for kernel callers (bpf_sys_bpf, bpf_sys_close), set by the syscall that owns this runtime. */
  kernelBpf?: KernelBpfCalls;

  constructor(k: RuntimeServices, options: RuntimeOptions) {
    this.k = k;
    this.trace = options.trace;
    this.stats = options.stats;
    this.tasks = options.tasks ?? new Map();
    const helpers = bindHelpers(this, options.helpers ?? HELPERS);
    const htabLookup = htabLookupFor(k.phys.memory);
    helpers.add({ id: HTAB_LOOKUP_ELEM_CALL, name: HTAB_LOOKUP_ELEM_NAME, fn: (ctx) => htabLookup(ctx.argNumber(1), ctx.argNumber(2)) });
    this.wasmCalls = new Map([[HTAB_LOOKUP_ELEM_CALL, htabLookup]]);
    this.helpers = helpers;
    this.stacks = k.phys.kmalloc(2 * VM_STACK_BYTES + CALLBACK_KEY_BYTES * MAX_CALL_FRAMES, RUNTIME_OWNER);
    if (this.stacks < 0) throw new Error('bpf runtime: no kernel memory for the VM stacks (give the kernel more memoryBytes)');
    this.callbackKeys = this.stacks + 2 * VM_STACK_BYTES;
    const tailCall = (ctx: HelperContext): Program | null => {
      const map = this.maps.get(ctx.argNumber(2));
      if (map === undefined || !hasProgramSlots(map)) return null;
      return map.programAt(ctx.argU32(3))?.program ?? null;
    };
    this.interpVm = kernelVm(k.phys, this.stacks, { helpers, tailCall, jit: false, kfuncs: this.kfuncs });
    this.jitVm = kernelVm(k.phys, this.stacks + VM_STACK_BYTES, { helpers, tailCall, jit: true, kfuncs: this.kfuncs });
  }

  /** The map at a kernel address (what a fixed-up LD imm64 holds), or undefined. */
  mapAt(address: number): BpfMap | undefined {
    // Programs mostly name the same map call after call: the last one found answers without a hash lookup.
    if (address === this.lastMap?.address) return this.lastMap;
    const map = this.maps.get(address);
    if (map !== undefined) this.lastMap = map;
    return map;
  }

  /** Give `map` its kernel address (its own struct, or a small kmalloc charged to the map's owner): 0, or -ENOMEM (12). */
  placeMap(map: BpfMap): number {
    const own = map.kernelStruct();
    const address = own >= 0 ? own : this.k.phys.kmalloc(MAP_STRUCT_BYTES, map.owner);
    if (address < 0) return -12;
    map.address = address;
    this.maps.set(address, map);
    return 0;
  }

  /** Forget `map`'s address and free it (bpf_map_free). */
  unplaceMap(map: BpfMap): void {
    if (map.address === 0) return;
    freeMapTimers(this, map);
    if (this.lastMap === map) this.lastMap = null;
    this.maps.delete(map.address);
    if (map.kernelStruct() < 0) this.k.phys.kfree(map.address);
    map.address = 0;
  }

  /**
   * A kernel address for a callback of a program being loaded (Linux: the address of the JITed function), bound
   * to its VM program by {@link bindCallback}: the address, or -ENOMEM (-12).
   */
  placeCallback(): number {
    const address = this.k.phys.kmalloc(CALLBACK_STRUCT_BYTES, RUNTIME_OWNER);
    if (address < 0) return -12;
    this.callbacks.set(address, null);
    return address;
  }

  bindCallback(address: number, program: Program): void {
    this.callbacks.set(address, program);
  }

  /** Forget a callback's address and free it (its program is being freed). */
  unplaceCallback(address: number): void {
    if (!this.callbacks.delete(address)) return;
    this.k.phys.kfree(address);
  }

  /**
   * Run the callback at `fn` with r1..r4 on the VM of the program that calls the helper: a nested run, whose
   * entry frame is below the caller's frames, as Linux calls a callback on the same stack. Its r0; a fault in
   * the callback (or an address that is no callback) throws, and the calling program faults in the helper.
   */
  runCallback(fn: number, r1: number, r2: number, r3: number, r4: number): number {
    const program = this.callbacks.get(fn);
    const vm = this.activeVm;
    if (program === undefined || program === null || vm === null) throw new Error(`0x${fn.toString(16)} is not the address of a loaded program's callback`);
    const args = this.callbackArgs;
    args[0] = r1;
    args[1] = r2;
    args[2] = r3;
    args[3] = r4;
    this.callbackNesting++;
    const ok = vm.runArgs(program, args);
    this.callbackNesting--;
    const fault = vm.fault;
    if (!ok && fault !== null) throw new Error(`the callback faulted: ${formatFault(fault)}`);
    // r0 as a number (a verified callback returns 0 or 1).
    const R = vm.regs;
    return ((R[0] ?? 0) >>> 0) + ((R[1] ?? 0) >>> 0) * 0x1_0000_0000;
  }

  get runningJited(): boolean {
    return this.activeVm === this.jitVm;
  }

  runAsyncCallback(fn: number, jited: boolean, progType: number, cpu: number, r1: number, r2: number, r3: number): boolean {
    const program = this.callbacks.get(fn);
    if (program === undefined || program === null) return false;
    const run = this.run;
    const savedCpu = run.cpu;
    const savedCtx = run.ctx;
    const savedType = run.progType;
    const savedVm = this.activeVm;
    const vm = jited ? this.jitVm : this.interpVm;
    run.cpu = cpu;
    run.ctx = 0;
    run.progType = progType;
    this.activeVm = vm;
    const args = this.callbackArgs;
    args[0] = r1;
    args[1] = r2;
    args[2] = r3;
    args[3] = 0;
    let ok = false;
    try {
      ok = vm.runArgs(program, args);
      if (!ok) this.hookFaults++;
    } catch {
      this.hookFaults++;
    } finally {
      run.cpu = savedCpu;
      run.ctx = savedCtx;
      run.progType = savedType;
      this.activeVm = savedVm;
    }
    return ok;
  }

  /** 8 bytes of kernel memory for the key a helper hands the callback it is about to run (its nesting level's own). */
  callbackScratch(): number {
    return this.callbackKeys + CALLBACK_KEY_BYTES * Math.min(this.callbackNesting, MAX_CALL_FRAMES - 1);
  }

  /** Run accounting is on (kernel.bpf_stats_enabled, or an ENABLE_STATS fd open): every run is counted. */
  get statsEnabled(): boolean {
    return this.stats.enabled !== 0;
  }

  /** Maps placed now (for tests of the address table). */
  get placedMaps(): number {
    return this.maps.size;
  }

  /**
   * Run `prog` with r1 = `ctx` on `cpu` (what hooks and BPF_PROG_TEST_RUN call): the RunState is set for the
   * run and restored after it (a run nested in a helper leaves the outer one's state intact), the run is
   * counted when stats are enabled, and r0 is returned (a fault stops the program with r0 = 0, as the kernel's
   * exception tables leave it; the VM's `fault` says why).
   */
  runProgram(prog: RunnableProgram, ctx: number, cpu: number): bigint {
    return this.runOn(prog, ctx, cpu, 1) ? this.vmOf(prog).r0 : 0n;
  }

  /**
   * Run `prog` at a hook: as {@link runProgram}, with the attachment's bpf_cookie in the RunState
   * (bpf_get_attach_cookie) and the hook running it (`hook`: the stack helpers read it; null leaves the outer
   * one), both restored after the run, returning r0's low 32 bits as a signed number (the XDP or TC action, an
   * LSM program's errno) without making a bigint; 0 at a hook whose site ignores results (tracing hooks). A fault stops the program with r0 = 0 and sets
   * {@link lastRunFaulted}.
   */
  runAtHook(prog: RunnableProgram, ctx: number, cpu: number, cookie: bigint, hook: HookPoint | null = null): number {
    // The path of every hook firing: one small frame (TurboFan inlines it into the attachment's handler) of
    // plain field saves and restores around Vm.run; run accounting and an escaped error take other methods.
    if (this.stats.enabled !== 0) return this.runAtHookCounted(prog, ctx, cpu, cookie, hook);
    const run = this.run;
    const savedCookie = run.cookie;
    const savedHook = run.hook;
    const savedCpu = run.cpu;
    const savedCtx = run.ctx;
    const savedType = run.progType;
    const savedVm = this.activeVm;
    const vm = prog.jited ? this.jitVm : this.interpVm;
    run.cookie = cookie;
    if (hook !== null) run.hook = hook;
    run.cpu = cpu;
    run.ctx = ctx;
    run.progType = prog.progType;
    this.activeVm = vm;
    let status: HookRunStatus;
    try {
      status = vm.run(prog.program, ctx) ? HookRunStatus.Ok : HookRunStatus.Fault;
    } catch (error) {
      status = HookRunStatus.Threw;
      this.hookRunThrew(prog, error);
    } finally {
      run.cookie = savedCookie;
      run.hook = savedHook;
      run.cpu = savedCpu;
      run.ctx = savedCtx;
      run.progType = savedType;
      this.activeVm = savedVm;
    }
    return this.hookRunResult(prog, vm, status, hook);
  }

  /** {@link runAtHook} while run accounting is on: the same run, timed and counted (bpf_prog_stats). */
  private runAtHookCounted(prog: RunnableProgram, ctx: number, cpu: number, cookie: bigint, hook: HookPoint | null): number {
    const run = this.run;
    const savedCookie = run.cookie;
    const savedHook = run.hook;
    run.cookie = cookie;
    if (hook !== null) run.hook = hook;
    let status: HookRunStatus;
    try {
      status = this.runOn(prog, ctx, cpu, 1) ? HookRunStatus.Ok : HookRunStatus.Fault;
    } catch (error) {
      status = HookRunStatus.Threw;
      this.hookRunThrew(prog, error);
    } finally {
      run.cookie = savedCookie;
      run.hook = savedHook;
    }
    return this.hookRunResult(prog, this.vmOf(prog), status, hook);
  }

  /**
   * What a run at a hook answers: r0's low 32 bits (not read back at a tracing hook, whose site ignores the
   * verdict: HookPoint.resultUsed), or 0 after a fault, which is counted and logged. {@link lastRunFaulted}
   * says which.
   */
  private hookRunResult(prog: RunnableProgram, vm: Vm, status: HookRunStatus, hook: HookPoint | null): number {
    if (status === HookRunStatus.Ok) {
      this.lastRunFaulted = false;
      return hook === null || hook.resultUsed ? vm.r0Low : 0;
    }
    // (An error that escaped was logged where it was caught.)
    if (status === HookRunStatus.Fault) this.hookRunFaulted(prog, vm);
    return 0;
  }

  /**
   * An error that escaped the VM (the VM turns a helper's exception into a `helper-error` fault, so this is the
   * engine's own): nothing a program does may take the kernel down, so it stops the program like a fault.
   */
  private hookRunThrew(prog: RunnableProgram, error: unknown): void {
    this.lastRunFaulted = true;
    this.noteHookFault(prog, error instanceof Error ? error.message : String(error));
  }

  /** A run at a hook that faulted: stopped with r0 = 0, counted and logged. */
  private hookRunFaulted(prog: RunnableProgram, vm: Vm): void {
    const fault = vm.fault;
    this.lastRunFaulted = true;
    this.noteHookFault(prog, fault === null ? 'stopped' : formatFault(fault));
  }

  /** Whether the last {@link runAtHook} ended abnormally (a fault or an escaped error): the attachment counts it. */
  lastRunFaulted = false;

  /**
   * Runs at hooks that ended abnormally (a helper threw, the instruction budget ran out, an access faulted): the
   * program was stopped with r0 = 0 and the hook went on, as Linux's exception tables and the run-time checks
   * leave it. Counted here for the whole kernel (and per attachment in BpfAttachment.faults); `hookFaultLog`
   * keeps the last few reasons, as the kernel log would show them.
   */
  hookFaults = 0;
  readonly hookFaultLog: string[] = [];

  private noteHookFault(prog: RunnableProgram, reason: string): void {
    this.hookFaults++;
    if (this.hookFaultLog.length >= HOOK_FAULT_LOG_LINES) this.hookFaultLog.shift();
    const name = (prog as { readonly name?: string }).name ?? '';
    this.hookFaultLog.push(`bpf: program ${name === '' ? 'bpf_prog' : name} stopped at a hook: ${reason}`);
  }

  /**
   * BPF_PROG_TEST_RUN's loop (bpf_test_run): `repeat` runs of `prog` on the same context, the RunState set and
   * restored as {@link runProgram} does, each run counted when stats are enabled (bpf_prog_run updates
   * bpf_prog_stats in test runs too). True when every run ended normally; r0 of the last is `vmOf(prog).r0`.
   */
  runRepeat(prog: RunnableProgram, ctx: number, cpu: number, repeat: number): boolean {
    return this.runOn(prog, ctx, cpu, repeat);
  }

  /** `repeat` runs (one: Vm.run, the hook path) with the RunState set and restored, counted while stats are on. */
  private runOn(prog: RunnableProgram, ctx: number, cpu: number, repeat: number): boolean {
    const run = this.run;
    const savedCpu = run.cpu;
    const savedCtx = run.ctx;
    const savedType = run.progType;
    run.cpu = cpu;
    run.ctx = ctx;
    run.progType = prog.progType;
    const vm = prog.jited ? this.jitVm : this.interpVm;
    const savedVm = this.activeVm;
    this.activeVm = vm;
    const counting = this.stats.enabled !== 0;
    const start = counting ? performance.now() : 0;
    const ok = repeat === 1 ? vm.run(prog.program, ctx) : vm.runRepeat(prog.program, ctx, 0, repeat);
    if (counting) {
      prog.runTimeNs += Math.round((performance.now() - start) * 1e6);
      prog.runCnt += repeat === 1 ? 1 : ok ? repeat : vm.runs;
    }
    run.cpu = savedCpu;
    run.ctx = savedCtx;
    run.progType = savedType;
    this.activeVm = savedVm;
    return ok;
  }

  /** The VM a program runs on (for BPF_PROG_TEST_RUN's repeat loop and for reading a fault). */
  vmOf(prog: RunnableProgram): Vm {
    return prog.jited ? this.jitVm : this.interpVm;
  }

  /** Give the runtime's own memory back (the kernel is being torn down). */
  free(): void {
    this.k.phys.kfree(this.stacks);
  }
}
