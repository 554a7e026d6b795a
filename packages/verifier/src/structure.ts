/**
 * Structural checks before abstract interpretation, in the order Linux makes them: opcodes and LD imm64
 * (resolve_pseudo_ldimm64), subprogram boundaries and jump ranges (check_subprogs), the control-flow graph
 * (check_cfg: unreachable instructions, back-edges for unprivileged programs, jumps into LD imm64), and a
 * static register liveness used for state pruning (compute_live_registers).
 */
import { isKnownOpcode, lookupForm, type OpcodeForm, type RawInsn } from '@ebpf-sim/isa';
import { Reject } from './reject.js';

export interface Program {
  /** One entry per 8-byte slot; the second slot of LD imm64 has form null. */
  readonly slots: readonly RawInsn[];
  readonly forms: ReadonlyArray<OpcodeForm | null>;
  /** Per slot: the kernel's message for a malformed instruction, reported when the slot is verified. */
  readonly malformed: ReadonlyArray<string | null>;
  /** Start slot of every subprogram, ascending; subprogram 0 starts at 0. */
  readonly subprogStarts: readonly number[];
  /** Per slot: registers live before it (bit n = rn). */
  readonly liveIn: Uint16Array;
  /** Per slot: states are remembered here for pruning. */
  readonly prunePoint: Uint8Array;
  /** Per slot: the subprogram it belongs to. */
  readonly subprogOf: Int32Array;
}

function reservedMessage(code: number): string {
  const cls = code & 7;
  if (cls === 0) return 'BPF_LD_[ABS|IND] uses reserved fields';
  if (cls === 1) return 'BPF_LDX uses reserved fields';
  if (cls === 2) return 'BPF_ST uses reserved fields';
  if (cls === 3) return 'BPF_STX uses reserved fields';
  if (cls === 4 || cls === 7) {
    const op = code & 0xf0;
    if (op === 0x80) return 'BPF_NEG uses reserved fields';
    if (op === 0xd0) return 'BPF_END uses reserved fields';
    if (op === 0xb0) return 'BPF_MOV uses reserved fields';
    return 'BPF_ALU uses reserved fields';
  }
  const op = code & 0xf0;
  if (op === 0x80) return 'BPF_CALL uses reserved fields';
  if (op === 0x00) return 'BPF_JA uses reserved fields';
  if (op === 0x90) return 'BPF_EXIT uses reserved fields';
  return 'BPF_JMP/JMP32 uses reserved fields';
}

/** Fields a form reserves that hold a non-zero value, or a register above r10. */
function fieldProblem(raw: RawInsn, form: OpcodeForm): 'reserved' | { reg: number } | null {
  const f = form.fields;
  for (const [use, value] of [
    [f.dst, raw.dst],
    [f.src, raw.src],
    [f.off, raw.off],
    [f.imm, raw.imm],
  ] as const) {
    if (use === 'zero' && value !== 0) return 'reserved';
  }
  if (f.dst === 'reg' && raw.dst > 10) return { reg: raw.dst };
  if (f.src === 'reg' && raw.src > 10) return { reg: raw.src };
  return null;
}

/** Decode slots, recording malformed ones with the kernel's message; throws for what Linux rejects up front. */
export function decodeSlots(slots: readonly RawInsn[]): { forms: Array<OpcodeForm | null>; malformed: Array<string | null>; fatal: Reject | null } {
  const forms: Array<OpcodeForm | null> = [];
  const malformed: Array<string | null> = [];
  let fatal: Reject | null = null;
  for (let i = 0; i < slots.length; i++) {
    const raw = slots[i];
    if (!raw) break;
    // resolve_pseudo_ldimm64 checks every LDX, reached or not, before the opcode table (a probe of Linux 6.18:
    // an LDX with a non-zero imm on a dead path is refused, a reserved field of any other class is not).
    const mode = raw.code & 0xe0;
    if ((raw.code & 7) === 1 && ((mode !== 0x60 && mode !== 0x80) || raw.imm !== 0)) {
      fatal ??= new Reject('BPF_LDX uses reserved fields', 'reserved', { errno: 22, insn: i });
      forms.push(null);
      malformed.push('BPF_LDX uses reserved fields');
      continue;
    }
    // Linux has no callx (BPF_JMP | BPF_CALL | BPF_X) in its instruction table.
    if (!isKnownOpcode(raw.code) || raw.code === 0x8d) {
      fatal ??= new Reject(`unknown opcode ${raw.code.toString(16).padStart(2, '0')}`, 'unknown-opcode', { errno: 22, insn: i });
      forms.push(null);
      malformed.push('unknown opcode');
      continue;
    }
    if (raw.code === 0x18) {
      const tail = slots[i + 1];
      if (!tail || tail.code !== 0 || tail.dst !== 0 || tail.src !== 0 || tail.off !== 0 || raw.off !== 0) {
        fatal ??= new Reject('invalid bpf_ld_imm64 insn', 'ld-imm64', { errno: 22, insn: i });
        forms.push(null);
        malformed.push('invalid bpf_ld_imm64 insn');
        continue;
      }
      const form = lookupForm(raw.code, raw.src, raw.off, raw.imm);
      if (!form) {
        fatal ??= new Reject('unrecognized bpf_ld_imm64 insn', 'ld-imm64', { errno: 22, insn: i });
        forms.push(null, null);
        malformed.push('unrecognized bpf_ld_imm64 insn', null);
        i++;
        continue;
      }
      forms.push(form, null);
      malformed.push(raw.dst > 10 ? `R${raw.dst} is invalid` : null, null);
      i++;
      continue;
    }
    const form = lookupForm(raw.code, raw.src, raw.off, raw.imm);
    if (!form) {
      if ((raw.code & 7) === 3 && (raw.code & 0xe0) === 0xc0) {
        malformed.push(`BPF_ATOMIC uses invalid atomic opcode ${(raw.imm & 0xff).toString(16).padStart(2, '0')}`);
      } else {
        malformed.push(reservedMessage(raw.code));
      }
      forms.push(null);
      continue;
    }
    const problem = fieldProblem(raw, form);
    forms.push(form);
    if (problem === 'reserved') malformed.push(reservedMessage(raw.code));
    else if (problem) malformed.push(`R${problem.reg} is invalid`);
    else malformed.push(null);
  }
  return { forms, malformed, fatal };
}

function jumpTarget(i: number, raw: RawInsn, form: OpcodeForm): number {
  if (form.kind === 'ja' && form.cls === 'jmp32') return i + raw.imm + 1;
  return i + raw.off + 1;
}

/** Build the program: subprograms, jump ranges, CFG, liveness. Throws a {@link Reject} on a structural error. */
export function analyseStructure(slots: readonly RawInsn[], privileged: boolean): Program {
  const n = slots.length;
  const { forms, malformed, fatal } = decodeSlots(slots);
  // Subprograms: every local call target and every BPF_PSEUDO_FUNC address.
  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    const raw = slots[i];
    const form = forms[i];
    if (!raw || !form) continue;
    const isLocalCall = form.kind === 'call' && raw.src === 1;
    const isFuncAddr = form.kind === 'ld_imm64' && raw.src === 4;
    if (isLocalCall || isFuncAddr) {
      const t = i + raw.imm + 1;
      if (t < 0 || t >= n) throw new Reject('call to invalid destination', 'bad-call', { errno: 22, insn: i });
      starts.add(t);
    }
  }
  const subprogStarts = [...starts].sort((a, b) => a - b);
  const subprogOf = new Int32Array(n);
  for (let s = 0; s < subprogStarts.length; s++) {
    const start = subprogStarts[s] ?? 0;
    const end = subprogStarts[s + 1] ?? n;
    for (let i = start; i < end; i++) subprogOf[i] = s;
    for (let i = start; i < end; i++) {
      const raw = slots[i];
      const form = forms[i];
      if (!raw || !form) continue;
      if (form.kind === 'ja' || form.kind === 'jmp' || form.kind === 'jcond') {
        const t = jumpTarget(i, raw, form);
        if (t < start || t >= end) throw new Reject(`jump out of range from insn ${i} to ${t}`, 'jump-range', { errno: 22, insn: i });
      }
    }
    // Linux looks at the raw opcode here (check_subprogs runs before opcodes are validated).
    const lastCode = slots[end - 1]?.code;
    const lastOk = lastCode === 0x95 || lastCode === 0x05;
    if (!lastOk) throw new Reject('last insn is not an exit or jmp', 'fall-off', { errno: 22, insn: end - 1 });
  }

  // Opcodes and LD imm64 are validated after the subprogram checks, as resolve_pseudo_ldimm64 runs later.
  if (fatal) throw fatal;
  const prunePoint = new Uint8Array(n);
  cfg(slots, forms, n, privileged, prunePoint);
  const liveIn = liveness(slots, forms, n);
  return { slots, forms, malformed, subprogStarts, liveIn, prunePoint, subprogOf };
}

/** Successors of an instruction in the control-flow graph (a local call also enters the callee). */
function successors(i: number, raw: RawInsn, form: OpcodeForm | null): number[] {
  if (!form) return [i + 1];
  switch (form.kind) {
    case 'exit':
      return [];
    case 'ja':
      return [jumpTarget(i, raw, form)];
    case 'jmp':
    case 'jcond':
      return [i + 1, jumpTarget(i, raw, form)];
    case 'call':
      return raw.src === 1 ? [i + 1, i + raw.imm + 1] : [i + 1];
    case 'ld_imm64':
      // An LD imm64 of a function also reaches the function (Linux visit_func_call_insn for BPF_PSEUDO_FUNC).
      return raw.src === 4 ? [i + 2, i + raw.imm + 1] : [i + 2];
    default:
      return [i + 1];
  }
}

function cfg(slots: readonly RawInsn[], forms: ReadonlyArray<OpcodeForm | null>, n: number, privileged: boolean, prune: Uint8Array): void {
  // Iterative DFS with explicit colours, so back-edges are found as Linux's check_cfg finds them.
  const state = new Uint8Array(n); // 0 = unseen, 1 = on stack, 2 = done
  const stack: Array<{ insn: number; next: number; succ: number[] }> = [];
  const push = (from: number, w: number): void => {
    if (w < 0 || w >= n) throw new Reject(`jump out of range from insn ${from} to ${w}`, 'jump-range', { errno: 22, insn: from });
    if (forms[w] === null && slots[w - 1]?.code === 0x18)
      throw new Reject(`jump into the middle of ldimm64 insn ${w - 1}`, 'ld-imm64', { errno: 22, insn: from });
    if (state[w] === 1) {
      if (!privileged) throw new Reject(`back-edge from insn ${from} to ${w}`, 'back-edge', { errno: 22, insn: from });
      prune[w] = 1;
      return;
    }
    if (state[w] === 2) return;
    state[w] = 1;
    const raw = slots[w];
    stack.push({ insn: w, next: 0, succ: raw ? successors(w, raw, forms[w] ?? null) : [] });
  };
  state[0] = 1;
  const raw0 = slots[0];
  if (raw0) stack.push({ insn: 0, next: 0, succ: successors(0, raw0, forms[0] ?? null) });
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (!top) break;
    if (top.next < top.succ.length) {
      const w = top.succ[top.next++] ?? 0;
      const form = forms[top.insn];
      if (form && (form.kind === 'jmp' || form.kind === 'ja' || form.kind === 'jcond') && w !== top.insn + 1) prune[w] = 1;
      if (form && (form.kind === 'jmp' || form.kind === 'jcond')) prune[top.insn] = 1;
      if (form && form.kind === 'call') prune[top.insn + 1 < n ? top.insn + 1 : top.insn] = 1;
      push(top.insn, w);
    } else {
      state[top.insn] = 2;
      stack.pop();
    }
  }
  for (let i = 0; i < n; i++) {
    if (state[i] === 0 && forms[i] !== null) throw new Reject(`unreachable insn ${i}`, 'unreachable', { errno: 22, insn: i });
    if (state[i] === 0 && forms[i] === null && slots[i - 1]?.code !== 0x18) throw new Reject(`unreachable insn ${i}`, 'unreachable', { errno: 22, insn: i });
  }
}

const CALLER_SAVED = 0b111111; // r0-r5

function useDef(raw: RawInsn, form: OpcodeForm | null): { use: number; def: number } {
  if (!form) return { use: 0, def: 0 };
  const d = 1 << raw.dst;
  const s = 1 << raw.src;
  switch (form.kind) {
    case 'alu':
      if (form.op === 0xb0) return { use: form.source === 'X' ? s : 0, def: d };
      return { use: d | (form.source === 'X' ? s : 0), def: d };
    case 'movsx':
      return { use: s, def: d };
    case 'neg':
    case 'end':
      return { use: d, def: d };
    case 'jmp':
      return { use: d | (form.source === 'X' ? s : 0), def: 0 };
    case 'call':
      return { use: 0b111110, def: CALLER_SAVED };
    case 'callx':
      return { use: 0b111110 | d, def: CALLER_SAVED };
    case 'exit':
      return { use: 1, def: 0 };
    case 'ld_imm64':
      return { use: 0, def: d };
    case 'ld_abs':
      return { use: 1 << 6, def: CALLER_SAVED };
    case 'ld_ind':
      return { use: (1 << 6) | s, def: CALLER_SAVED };
    case 'ldx':
    case 'ldxsx':
      return { use: s, def: d };
    case 'st':
      return { use: d, def: 0 };
    case 'stx':
      return { use: d | s, def: 0 };
    case 'atomic': {
      const fetch = (raw.imm & 1) === 1 || raw.imm === 0xe1 || raw.imm === 0xf1;
      if (raw.imm === 0xf1) return { use: d | s | 1, def: 1 };
      return { use: d | s, def: fetch ? s : 0 };
    }
    default:
      return { use: 0, def: 0 };
  }
}

/** Registers live before each instruction, by backward dataflow to a fixed point (r10 is always live). */
function liveness(slots: readonly RawInsn[], forms: ReadonlyArray<OpcodeForm | null>, n: number): Uint16Array {
  const liveIn = new Uint16Array(n);
  const uses = new Uint16Array(n);
  const defs = new Uint16Array(n);
  // At most two successors per instruction, -1 for none: flat arrays instead of an array per instruction.
  const succA = new Int32Array(n).fill(-1);
  const succB = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const raw = slots[i];
    const form = forms[i] ?? null;
    if (!raw || form === null) continue;
    const ud = useDef(raw, form);
    uses[i] = ud.use;
    defs[i] = ud.def;
    // A local call's successor for liveness is the return point; the callee's own liveness is separate.
    const localCall = (form.kind === 'call' && raw.src === 1) || (form.kind === 'ld_imm64' && raw.src === 4);
    const next = form.kind === 'ld_imm64' ? i + 2 : i + 1;
    let k = 0;
    for (const t of successors(i, raw, form)) {
      if (t < 0 || t >= n || (localCall && t !== next)) continue;
      if (k === 0) succA[i] = t;
      else succB[i] = t;
      k++;
    }
  }
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      const a = succA[i] ?? -1;
      const b = succB[i] ?? -1;
      const out = (a >= 0 ? (liveIn[a] ?? 0) : 0) | (b >= 0 ? (liveIn[b] ?? 0) : 0);
      const v = (uses[i] ?? 0) | (out & ~(defs[i] ?? 0)) | (1 << 10);
      if (v !== liveIn[i]) {
        liveIn[i] = v;
        changed = true;
      }
    }
  }
  return liveIn;
}
