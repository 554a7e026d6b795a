/**
 * What each checker (ALU, memory, calls, branches) sees of the verifier run: the current state, the
 * program, the registry data and the per-instruction facts it records for the runtime.
 */
import type { ProgramTypeDesc, VerifierRegistry } from './registry.js';
import type { Program } from './structure.js';
import type { VState } from './state.js';
import type { InsnFacts } from './facts.js';
import type { Precision } from './precision.js';
import type { Reg } from './reg.js';
import { RegType } from './reg.js';
import { Reject } from './reject.js';
import type { SubprogBtf } from './global-func.js';

export interface Env {
  readonly prog: Program;
  readonly progType: ProgramTypeDesc;
  readonly registry: VerifierRegistry;
  /** CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN: bounded loops, pointer leaks, uninitialised stack reads. */
  readonly privileged: boolean;
  /**
   * CAP_PERFMON (Linux bypass_spec_v1/bypass_spec_v4, allow_ptr_leaks): without it pointer arithmetic is
   * sanitised, decided branches get speculative paths and stack stores a barrier (sanitize.ts).
   */
  readonly bypassSpec: boolean;
  /** A sanitised variable offset was seen: pruning compares scalars exactly (Linux explore_alu_limits). */
  exploreAluLimits: boolean;
  readonly gpl: boolean;
  /** BPF_F_SLEEPABLE (Linux in_sleepable): sleepable helpers allowed; RCU read-side sections only where the program opens them. */
  readonly sleepable: boolean;
  readonly facts: InsnFacts;
  /** Scalars whose exact value matters (marked at decisions, used by pruning). */
  readonly precision: Precision;
  state: VState;
  insnIdx: number;
  newId(): number;
  /** Registers of the current frame the instruction touched, for the level-2 log. */
  scratchRegs: number;
  scratchSlots: Set<number>;
  /** Deepest stack use of each subprogram, in bytes. */
  readonly stackDepth: number[];
  /** Subprograms a helper runs later as async callbacks (bpf_timer_set_callback: Linux subprog_info.is_async_cb). */
  readonly asyncCallbacks: Set<number>;
  /** A line Linux's bpf_log prints while checking the current instruction (after its text, before its state). */
  note(line: string): void;
  /** Pointer to the state of a register of the current frame. */
  reg(n: number): Reg;
  /** Explore `state` from instruction `insn` later (Linux push_stack): a callback's visit. */
  pushBranch(state: VState, insn: number): void;
  /** A line of the level-2 log. */
  logDetail(line: string): void;
  /** The subprograms' BTF signatures (from func_info), null without func_info: every subprogram is then static. */
  readonly subprogBtf: SubprogBtf | null;
  /**
   * Linux widen_imprecise_scalars for a loop iteration queued at the current instruction (an iterator's `_next()`,
   * may_goto): against the state this path had at the same instruction before, imprecise scalars that changed
   * become unknown, so that the loop converges.
   */
  widenLoop?(queued: VState): void;
}

/**
 * Linux in_rcu_cs: inside an RCU read-side section, which a non-sleepable program always is (it runs under
 * rcu_read_lock); a sleepable one only between bpf_rcu_read_lock and bpf_rcu_read_unlock or holding a lock.
 */
export function inRcuCs(env: Env): boolean {
  return env.state.activeRcu || env.state.activeLock !== 0 || !env.sleepable;
}

/** Linux check_reg_arg(SRC_OP): the register must have been written on this path. */
export function checkSrc(env: Env, n: number): Reg {
  const r = env.reg(n);
  env.scratchRegs |= 1 << n;
  if (r.type === RegType.NOT_INIT) throw new Reject(`R${n} !read_ok`, 'uninit-reg');
  return r;
}

/** Linux check_reg_arg(DST_OP): r10 is read-only. */
export function checkDst(env: Env, n: number): Reg {
  if (n === 10) throw new Reject('frame pointer is read only', 'fp-readonly');
  env.scratchRegs |= 1 << n;
  return env.reg(n);
}
