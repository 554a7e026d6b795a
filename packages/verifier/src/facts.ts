/**
 * Per-instruction facts the verifier proves, for the runtime: which context loads to rewrite into real loads
 * (Linux convert_ctx_access), which divisions never see a zero divisor, which memory accesses are in bounds
 * on every path. A fact holds only when it held on every verified path through the instruction.
 */
import type { CtxField, MapDesc } from './registry.js';

const UNSEEN = 0;
const PROVEN = 1;
const REFUTED = 2;

/** A context access to rewrite: the uapi field and where the runtime really reads it. */
export interface CtxAccessFact {
  readonly insn: number;
  readonly field: CtxField;
  /** Offset of the access inside the field (narrow loads). */
  readonly offsetInField: number;
  readonly size: number;
  readonly write: boolean;
  /**
   * The instruction also accessed memory other than the context on some path. Linux refuses such a program
   * ("same insn cannot be used with different pointers"); its context accesses cannot be rewritten.
   */
  readonly sharedWithOtherPointer?: boolean;
}

/** Bits of the pointer kinds an instruction accessed memory through. */
const BASE_CTX = 1;
const BASE_OTHER = 2;

/** What the verifier saw of one bpf_loop call (see InsnFacts.loopCalls). */
export interface LoopCallFact {
  /** Inline it: flags a known 0 and one callback on every visit (Linux loop_inline_state.fit_for_inline). */
  readonly fit: boolean;
  /** The callback's first slot. */
  readonly callbackStart: number;
  /** The subprogram the call is in (its stack gets the loop's three spill slots). */
  readonly caller: number;
}

/** An instruction do_misc_fixups rewrites with the BPF_REG_AX masking (Linux alu_state and alu_limit). */
export interface AluSanitizeFact {
  readonly insn: number;
  /** sanitize.ts AluSanitize bits. */
  readonly state: number;
  readonly limit: number;
}

/** sanitize.ts AluSanitize.NON_POINTER: scalars only, nothing to patch. */
const ALU_NON_POINTER = 1 << 3;

function indicesOfOne(arr: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < arr.length; i++) if (arr[i] === 1) out.push(i);
  return out;
}

export class InsnFacts {
  private readonly div: Uint8Array;
  private readonly mem: Uint8Array;
  private readonly base: Uint8Array;
  /** Per slot: the verifier reached it on some path (Linux insn_aux_data.seen). */
  private readonly seen: Uint8Array;
  readonly ctxAccesses = new Map<number, CtxAccessFact>();
  /**
   * Per helper call with a map argument: the map it was called with on every path, or null once two paths
   * passed different maps (Linux insn_aux_data.map_ptr_state, poisoned). do_misc_fixups inlines a lookup only
   * at a call that always sees the same map.
   */
  readonly callMaps = new Map<number, MapDesc | null>();
  /**
   * Per bpf_loop call (Linux insn_aux_data.loop_inline_state): whether every visit passed flags known to be 0
   * and the same callback, which optimize_bpf_loop then inlines; with the callback's first slot and the
   * subprogram the call is in.
   */
  readonly loopCalls = new Map<number, LoopCallFact>();
  /** The program stores into the packet directly (Linux seen_direct_write): its type's prologue is due. */
  seenDirectWrite = false;
  /** End of the furthest context byte accessed (Linux prog->aux->max_ctx_offset; raw_tp test runs need that much ctx_in). */
  maxCtxOffset = 0;

  /** Per slot: Linux insn_aux_data.alu_state (sanitize.ts AluSanitize bits), 0 for none. */
  private readonly aluState: Uint8Array;
  /** Per slot: Linux insn_aux_data.alu_limit. */
  private readonly aluLimit: Uint32Array;
  /** Per slot: a speculation barrier before the instruction (Linux insn_aux_data.nospec). */
  private readonly nospec: Uint8Array;
  /** Per slot: a speculation barrier after the instruction (Linux insn_aux_data.nospec_result). */
  private readonly nospecResult: Uint8Array;

  constructor(readonly length: number) {
    this.div = new Uint8Array(length);
    this.mem = new Uint8Array(length);
    this.base = new Uint8Array(length);
    this.seen = new Uint8Array(length);
    this.aluState = new Uint8Array(length);
    this.aluLimit = new Uint32Array(length);
    this.nospec = new Uint8Array(length);
    this.nospecResult = new Uint8Array(length);
  }

  /**
   * Linux update_alu_sanitation_state: the instruction at `insn` wants masking `state` with `limit`; false
   * when another path wanted another one.
   */
  recordAluSanitize(insn: number, state: number, limit: number): boolean {
    const prev = this.aluState[insn] ?? 0;
    if (prev !== 0 && (prev !== state || this.aluLimit[insn] !== limit)) return false;
    this.aluState[insn] = state;
    this.aluLimit[insn] = limit;
    return true;
  }

  /** A speculative path could not go through `insn` safely: a barrier goes before it, and no masking. */
  markNospec(insn: number): void {
    this.nospec[insn] = 1;
    this.aluState[insn] = 0;
  }

  nospecAt(insn: number): boolean {
    return this.nospec[insn] === 1;
  }

  /** The store at `insn` needs a barrier after it (Linux nospec_result, Spectre v4). */
  markNospecResult(insn: number): void {
    this.nospecResult[insn] = 1;
  }

  nospecResultAt(insn: number): boolean {
    return this.nospecResult[insn] === 1;
  }

  /** The instructions do_misc_fixups masks (alu_state set, not NON_POINTER), with their state and limit. */
  aluSanitized(): AluSanitizeFact[] {
    const out: AluSanitizeFact[] = [];
    for (let i = 0; i < this.length; i++) {
      const state = this.aluState[i] ?? 0;
      if (state !== 0 && state !== ALU_NON_POINTER) out.push({ insn: i, state, limit: this.aluLimit[i] ?? 0 });
    }
    return out;
  }

  /** Slots with a barrier before them (`before`) or after them. */
  nospecSlots(before: boolean): number[] {
    return indicesOfOne(before ? this.nospec : this.nospecResult);
  }

  /** The verifier reached the instruction at `insn` (both slots of an LD imm64: Linux sanitize_mark_insn_seen). */
  markSeen(insn: number, slots: number): void {
    this.seen[insn] = 1;
    if (slots === 2) this.seen[insn + 1] = 1;
  }

  /** Slots no verified path reached (dead code), ascending. */
  unreached(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.seen.length; i++) if (this.seen[i] === 0) out.push(i);
    return out;
  }

  /** The call at `insn` was reached with `map` as its map argument (Linux record_func_map). */
  recordCallMap(insn: number, map: MapDesc): void {
    const prev = this.callMaps.get(insn);
    if (prev === undefined) this.callMaps.set(insn, map);
    else if (prev !== map) this.callMaps.set(insn, null);
  }

  /** A bpf_loop call at `insn` was reached (Linux update_loop_inline_state). */
  recordLoopCall(insn: number, flagsZero: boolean, callbackStart: number, caller: number): void {
    const prev = this.loopCalls.get(insn);
    const fit = prev === undefined ? flagsZero : prev.fit && flagsZero && prev.callbackStart === callbackStart;
    this.loopCalls.set(insn, { fit, callbackStart: prev?.callbackStart ?? callbackStart, caller });
  }

  /** A load or store at `insn` went through the context pointer (or through another pointer). */
  recordAccessBase(insn: number, ctx: boolean): void {
    this.base[insn] = (this.base[insn] ?? 0) | (ctx ? BASE_CTX : BASE_OTHER);
  }

  /** The context accesses, each marked when its instruction also accessed other memory. */
  ctxAccessFacts(): CtxAccessFact[] {
    const out: CtxAccessFact[] = [];
    for (const fact of this.ctxAccesses.values()) {
      out.push((this.base[fact.insn] ?? 0) & BASE_OTHER ? { ...fact, sharedWithOtherPointer: true } : fact);
    }
    return out;
  }

  private static record(arr: Uint8Array, insn: number, ok: boolean): void {
    const prev = arr[insn] ?? UNSEEN;
    if (prev === REFUTED) return;
    arr[insn] = ok ? PROVEN : REFUTED;
  }

  /** A division or modulo at `insn` was reached with a divisor that is (or is not) provably non-zero. */
  recordDivisor(insn: number, nonZero: boolean): void {
    InsnFacts.record(this.div, insn, nonZero);
  }

  /** A load/store at `insn` was proven in bounds of its region (or could not be). */
  recordMemory(insn: number, inBounds: boolean): void {
    InsnFacts.record(this.mem, insn, inBounds);
  }

  /** Loads through a BTF pointer: the runtime reads 0 where they fault (Linux BPF_PROBE_MEM). */
  private readonly probe = new Set<number>();

  /** The load at `insn` went through PTR_TO_BTF_ID on some path (Linux convert_ctx_accesses makes it BPF_PROBE_MEM). */
  recordProbeLoad(insn: number): void {
    this.probe.add(insn);
    // Kernel memory a BTF pointer names is never proven in bounds: the runtime checks every such access.
    InsnFacts.record(this.mem, insn, false);
  }

  /** The probe loads, ascending. */
  probeLoads(): number[] {
    return [...this.probe].sort((a, b) => a - b);
  }

  /** Divisions that need no run-time zero check. */
  divisionsWithoutZeroCheck(): number[] {
    return indices(this.div);
  }

  /** Memory accesses whose bounds check the runtime may drop. */
  memoryProvenInBounds(): number[] {
    return indices(this.mem);
  }
}

function indices(arr: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < arr.length; i++) if (arr[i] === PROVEN) out.push(i);
  return out;
}
