/**
 * What helper implementations see of the kernel and of the run they are called from (the contract between
 * the runtime, which runs programs, and the helpers, implemented next to their prototypes in ../helpers/).
 *
 * A helper implementation is a factory: given the {@link HelperEnv} once, when the runtime builds its helper
 * table, it returns the `HelperFn` the VM calls. The function reads its arguments from the VM's
 * `HelperContext`, the per-run facts (CPU, context, running program) from `env.run`, which the runtime
 * updates in place before each run (no allocation per run or per call), and the kernel through `env.k`.
 */
import type { HookPoint, KernelServices, TracePipe } from '@ebpf-sim/kernel';
import type { HelperFn, Program } from '@ebpf-sim/vm';
import type { BpfMap } from '../maps/map.js';
import type { CgroupStorage } from '../maps/local_storage.js';

/**
 * The facts of the run in progress, as Linux keeps them per CPU (smp_processor_id, the bpf_redirect_info of
 * the CPU). One object per runtime, written by the runtime before a program runs; a nested run (a program
 * started from a helper or a hook firing inside a program) saves and restores what it changes.
 */
export interface RunState {
  /** The CPU the program runs on (bpf_get_smp_processor_id). */
  cpu: number;
  /** The context address the program was started with (its r1 at entry: xdp_buff, sk_buff, pt_regs, ...). */
  ctx: number;
  /**
   * The running program's type (BPF_PROG_TYPE): a helper whose Linux func_proto differs by program type
   * (bpf_redirect is bpf_xdp_redirect for XDP) picks its variant by it.
   */
  progType: number;
  /** bpf_redirect / bpf_redirect_map's target (struct bpf_redirect_info: tgt_index, flags, map id); 0 when none. */
  redirectIfindex: number;
  redirectFlags: number;
  redirectMapId: number;
  /**
   * The cgroup storages of the attachment being run, by storage type (0 shared: CGROUP_STORAGE, 1 per-CPU:
   * PERCPU_CGROUP_STORAGE), what bpf_get_local_storage returns (Linux's bpf_cg_run_ctx->prog_item->
   * cgroup_storage[stype]); null outside a cgroup hook or test run. The runner sets and restores them in place.
   */
  readonly cgroupStorages: [CgroupStorage | null, CgroupStorage | null];
  /**
   * The socket bpf_sk_redirect_map/hash, bpf_msg_redirect_map/hash or bpf_sk_select_reuseport chose (its struct
   * sock address: skb_bpf_set_redir, msg->sk_redir, reuse_kern->selected_sk); 0 when none.
   */
  redirectSocket: number;
  /** The bpf_cookie of the attachment being run (bpf_get_attach_cookie: the link's or perf event's cookie); 0n otherwise. */
  cookie: bigint;
  /**
   * The hook point whose programs run now (set by BpfAttachment around each run; null in test runs): the stack
   * helpers read its call chain and probed function from it, as Linux's read the probe's regs and kprobe.
   */
  hook: HookPoint | null;
}

/** The RunState before any run: CPU 0, no context, no program type, no redirect. */
export function idleRunState(): RunState {
  return {
    cpu: 0,
    ctx: 0,
    progType: 0,
    redirectIfindex: 0,
    redirectFlags: 0,
    redirectMapId: 0,
    redirectSocket: 0,
    cgroupStorages: [null, null],
    cookie: 0n,
    hook: null,
  };
}

/** A program as a PROG_ARRAY slot holds it: the VM program a tail call continues with, and its uapi type. */
export interface TailCallTarget {
  readonly program: Program;
  readonly progType: number;
}

/** bpf() as kernel code calls it: what a SYSCALL program's bpf_sys_bpf and bpf_sys_close reach. */
export interface KernelBpfCalls {
  /** __sys_bpf(cmd, KERNEL_BPFPTR(attr), size) for the current task: its result, or -errno. */
  sysBpf(cmd: number, attr: number, size: number): number;
  /** close_fd(fd) in the current task's fd table: 0 or -EBADF. */
  closeFd(fd: number): number;
}

/** What helper implementations use: kernel services, the run in progress and the maps programs name by address. */
export interface HelperEnv {
  /** The bpf() syscall for kernel callers (absent: no bpf() here, as for a helper test rig). */
  readonly kernelBpf?: KernelBpfCalls;
  readonly k: Pick<KernelServices, 'current' | 'userMemory' | 'clock' | 'random' | 'phys' | 'signals'>;
  readonly run: RunState;
  /** bpf_trace_printk's sink (tracefs trace_pipe). */
  readonly trace: TracePipe;
  /**
   * The map whose kernel address a program holds (what BPF_PSEUDO_MAP_FD's LD imm64 became at load time,
   * Linux's `struct bpf_map *`), or undefined for an address that is not a map.
   */
  mapAt(address: number): BpfMap | undefined;
  /**
   * Call the callback whose kernel address a program passed (a BPF_PSEUDO_FUNC LD imm64, fixed up at load)
   * with r1..r4, on the VM the calling program runs on, below its frames; the callback's r0. Throws when the
   * address is no callback or the callback faults, so the calling program faults in the helper.
   */
  runCallback(fn: number, r1: number, r2: number, r3: number, r4: number): number;
  /** 8 bytes of kernel memory for a key the helper hands to the callback it runs next (per nesting level). */
  callbackScratch(): number;
  /** The program calling the helper runs on the JIT VM (an async callback it arms runs there too). */
  readonly runningJited: boolean;
  /**
   * Run the callback at `fn` outside any program (an async callback: bpf_timer's at expiry, from the kernel's
   * timer softirq) with r1..r3 on `cpu`, on the JIT VM or the interpreter, as a run of a program of type
   * `progType`. False when it did not end normally (it faulted: counted as a hook fault).
   */
  runAsyncCallback(fn: number, jited: boolean, progType: number, cpu: number, r1: number, r2: number, r3: number): boolean;
}

/** A helper implementation: the VM's helper function, built once per runtime from its environment. */
export type HelperImpl = (env: HelperEnv) => HelperFn;
