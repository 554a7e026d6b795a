/**
 * Global functions (BTF_FUNC_GLOBAL subprograms), as Linux 6.18 verifies them: each is checked ONCE on its own,
 * after the main program, against the signature its BTF gives (btf_prepare_func_args in kernel/bpf/btf.c,
 * do_check_common / do_check_subprogs in kernel/bpf/verifier.c). At a call, the caller's registers are checked
 * against that signature (btf_check_func_arg_match) and the call is "assumed valid": no frame is pushed, the
 * caller-saved registers are cleared and R0 becomes an unknown scalar. Static subprograms stay verified in their
 * caller's context; their BTF is still read at each call (Linux does it too, and logs what it finds) but a
 * mismatch only marks their BTF unreliable.
 *
 * The subprograms' BTF arrives as data (SubprogBtfView): the bpf subsystem reads the program's BTF and the
 * kernel's, the verifier holds no BTF reader (layering.json).
 */
import type { Env } from './env.js';
import { checkSubprogMemArg, forEachReg } from './calls.js';
import type { Reg } from './reg.js';
import { RegFlag, RegType, isPacketType, markNotInit, markPointer, markUnknown, regTypeName } from './reg.js';
import { Reject } from './reject.js';
import type { SubprogLinkage } from './verifier.js';
import { FuncState } from './state.js';
import { tnumIsConst, tnumToString } from './tnum.js';

/** Linux MAX_BPF_FUNC_REG_ARGS. */
const MAX_REG_ARGS = 5;
const EINVAL = 22;
const EOPNOTSUPP = 95;
const EACCES = 13;

/** A kernel struct an `arg:trusted` pointer names (btf_get_ptr_to_btf_id's CO-RE candidate search in vmlinux). */
export type KernelTypeMatch = { readonly id: number; readonly name: string } | { readonly line: string; readonly errno: number };

/** A parameter's type after modifiers, as btf_prepare_func_args classifies it. */
export type ParamTypeView =
  /** INT or any ENUM. */
  | { readonly kind: 'scalar' }
  | {
      readonly kind: 'pointer';
      /** btf_is_prog_ctx_type: it points to the program type's context struct (by name, as Linux compares). */
      readonly ctx: boolean;
      /** btf_is_dynptr_ptr: it points to `struct bpf_dynptr`. */
      readonly dynptr: boolean;
      /** btf_resolve_size of the pointee (modifiers skipped): its size, or the errno (negative) when it has none. */
      readonly size: number;
      /** btf_type_str and the name of the pointee, as the log prints them. */
      readonly pointeeKind: string;
      readonly pointeeName: string;
      /** The kernel type for an `arg:trusted` pointer, resolved only when asked. */
      readonly kernelType: () => KernelTypeMatch;
    }
  /** Anything else: btf_type_str of it. */
  | { readonly kind: 'other'; readonly typeStr: string };

/** One FUNC_PROTO parameter with the `arg:` decl tags on it (btf_find_next_decl_tag order, without the prefix). */
export interface ParamView {
  readonly tags: readonly string[];
  readonly type: ParamTypeView;
}

/** A subprogram's func_info record: its FUNC's name and linkage and its FUNC_PROTO. */
export interface SubprogBtfView {
  readonly name: string;
  readonly linkage: SubprogLinkage;
  /** The return type after modifiers: INT/ENUM, void, or anything else. */
  readonly ret: 'scalar' | 'void' | 'other';
  readonly params: readonly ParamView[];
}

/** One argument as btf_prepare_func_args turns it into a verifier expectation (struct bpf_subprog_arg_info). */
export type SubprogArg =
  | { readonly kind: 'anything' }
  | { readonly kind: 'ctx' }
  | { readonly kind: 'dynptr' }
  | { readonly kind: 'arena' }
  | { readonly kind: 'mem'; readonly size: number; readonly maybeNull: boolean }
  | { readonly kind: 'btf_id'; readonly btfName: string; readonly maybeNull: boolean };

type Prepared = { readonly args: readonly SubprogArg[] } | { readonly errno: number; readonly lines: readonly string[] };

/** enum btf_arg_tag. */
const TAG = { ctx: 1, nonnull: 2, trusted: 4, nullable: 8, arena: 16 } as const;

/** The subprograms' BTF for one verification, with Linux's per-subprogram bookkeeping (func_info_aux, subprog_info). */
export class SubprogBtf {
  private readonly cached: Array<readonly SubprogArg[] | undefined>;
  /** func_info_aux[].unreliable: a call did not match the BTF; later calls skip the check. */
  private readonly unreliable: boolean[];
  /** func_info_aux[].called / .verified for global subprograms. */
  readonly called: boolean[];
  readonly verified: boolean[];

  constructor(private readonly views: readonly SubprogBtfView[]) {
    this.cached = views.map(() => undefined);
    this.unreliable = views.map(() => false);
    this.called = views.map(() => false);
    this.verified = views.map(() => false);
  }

  get count(): number {
    return this.views.length;
  }

  isGlobal(subprog: number): boolean {
    return this.views[subprog]?.linkage === 'global';
  }

  name(subprog: number): string {
    return this.views[subprog]?.name ?? '';
  }

  /** btf_prepare_func_args: the arguments' expectations (cached once they are known), or the refusal and its log lines. */
  prepare(subprog: number): Prepared {
    const known = this.cached[subprog];
    if (known) return { args: known };
    const view = this.views[subprog];
    if (!view) return { errno: EINVAL, lines: [] };
    const result = prepareArgs(view);
    if ('args' in result) this.cached[subprog] = result.args;
    return result;
  }

  /** The main program's BTF is read too (do_check_common): its lines are logged, the outcome only marks it unreliable. */
  prepareMain(): readonly string[] {
    if (this.views.length === 0) return [];
    const result = this.prepare(0);
    if ('lines' in result) {
      this.unreliable[0] = true;
      return result.lines;
    }
    const only = result.args[0];
    if (result.args.length !== 1 || only?.kind !== 'ctx') this.unreliable[0] = true;
    return [];
  }

  /**
   * Linux's subprog_info[].changes_pkt_data (check_cfg: a call of a helper that changes packet data, merged from
   * callees into their callers): after a call of such a global function the caller's packet pointers are invalid.
   */
  changesPktData(env: Pick<Env, 'prog' | 'registry'>, subprog: number): boolean {
    this.pktData ??= subprogsChangingPktData(env);
    return this.pktData[subprog] === true;
  }

  private pktData: boolean[] | undefined;

  isUnreliable(subprog: number): boolean {
    return this.unreliable[subprog] === true;
  }

  markUnreliable(subprog: number): void {
    this.unreliable[subprog] = true;
  }
}

/** Per subprogram: it calls a helper that changes packet data, itself or through the subprograms it calls. */
function subprogsChangingPktData(env: Pick<Env, 'prog' | 'registry'>): boolean[] {
  const { slots, forms, subprogOf, subprogStarts } = env.prog;
  const changes = subprogStarts.map(() => false);
  const callees: number[][] = subprogStarts.map(() => []);
  slots.forEach((raw, i) => {
    if (forms[i]?.kind !== 'call') return;
    const from = subprogOf[i] ?? 0;
    if (raw.src === 0 && env.registry.helper(raw.imm)?.changesPktData === true) changes[from] = true;
    if (raw.src === 1) callees[from]?.push(subprogOf[i + raw.imm + 1] ?? 0);
  });
  // Until nothing changes: a caller of a subprogram that changes packet data changes it too.
  for (let again = true; again;) {
    again = false;
    callees.forEach((list, from) => {
      if (changes[from] !== true && list.some((to) => changes[to] === true)) {
        changes[from] = true;
        again = true;
      }
    });
  }
  return changes;
}

function prepareArgs(view: SubprogBtfView): Prepared {
  const global = view.linkage === 'global';
  const fail = (errno: number, line?: string): Prepared => ({ errno, lines: global && line !== undefined ? [line] : [] });
  const nargs = view.params.length;
  if (nargs > MAX_REG_ARGS) return fail(EINVAL, `Global function ${view.name}() with ${nargs} > ${MAX_REG_ARGS} args. Buggy compiler.`);
  // Linux 6.18 wants an int-like return even for a global function returning void.
  if (view.ret !== 'scalar') return fail(EINVAL, `Global function ${view.name}() doesn't return scalar. Only those are supported.`);
  const args: SubprogArg[] = [];
  for (let i = 0; i < nargs; i++) {
    const param = view.params[i];
    if (!param) return fail(EINVAL);
    let tags = 0;
    for (const tag of param.tags) {
      // Tags on a static function are refused with a line even though the refusal is not fatal there.
      if (!global) return { errno: EOPNOTSUPP, lines: [`arg#${i} type tag is not supported in static functions`] };
      const bit = (TAG as Record<string, number | undefined>)[tag];
      if (bit === undefined) return fail(EOPNOTSUPP, `arg#${i} has unsupported set of tags`);
      tags |= bit;
    }
    const t = param.type;
    if (t.kind === 'pointer') {
      const arg = pointerArg(i, t, tags, global);
      if ('errno' in arg) return arg;
      if (arg.arg !== null) {
        args.push(arg.arg);
        continue;
      }
    }
    // skip_pointer
    if (tags !== 0) return fail(EINVAL, `arg#${i} has pointer tag, but is not a pointer type`);
    if (t.kind === 'scalar') {
      args.push({ kind: 'anything' });
      continue;
    }
    return fail(EINVAL, `Arg#${i} type ${t.kind === 'other' ? t.typeStr : 'PTR'} in ${view.name}() is not supported yet.`);
  }
  return { args };
}

/** The pointer branches of btf_prepare_func_args; `arg: null` falls through to skip_pointer (a static function's plain pointer). */
function pointerArg(
  i: number,
  t: Extract<ParamTypeView, { kind: 'pointer' }>,
  tags: number,
  global: boolean,
): { readonly arg: SubprogArg | null } | { readonly errno: number; readonly lines: readonly string[] } {
  const invalid = { errno: EINVAL, lines: [`arg#${i} has invalid combination of tags`] };
  if (tags & TAG.ctx || t.ctx) {
    if (tags & ~TAG.ctx) return invalid;
    return { arg: { kind: 'ctx' } };
  }
  if (t.dynptr) {
    if (tags !== 0) return invalid;
    return { arg: { kind: 'dynptr' } };
  }
  if (tags & TAG.trusted) {
    if (tags & TAG.nonnull) return invalid;
    const kern = t.kernelType();
    if ('line' in kern) return { errno: kern.errno, lines: [kern.line] };
    return { arg: { kind: 'btf_id', btfName: kern.name, maybeNull: (tags & TAG.nullable) !== 0 } };
  }
  if (tags & TAG.arena) {
    if (tags & ~TAG.arena) return { errno: EINVAL, lines: [`arg#${i} arena cannot be combined with any other tags`] };
    return { arg: { kind: 'arena' } };
  }
  if (!global) return { arg: null };
  // A generic pointer to memory of the pointee's size, NULL allowed unless tagged arg:nonnull.
  if (tags & TAG.nullable) return invalid;
  if (t.size < 0) {
    return { errno: EINVAL, lines: [`arg#${i} reference type('${t.pointeeKind} ${t.pointeeName}') size cannot be determined: ${t.size}`] };
  }
  return { arg: { kind: 'mem', size: t.size, maybeNull: (tags & TAG.nonnull) === 0 } };
}

/** register_is_null: a scalar known to be 0. */
function isNull(reg: Reg): boolean {
  return reg.type === RegType.SCALAR && tnumIsConst(reg.varOff) && reg.varOff.value === 0n;
}

/** __check_ptr_off_reg: a pointer passed on must point at its object's start (a fixed offset only where allowed). */
function checkPtrOff(reg: Reg, regno: number, fixedOffOk: boolean): void {
  if (!fixedOffOk && reg.off !== 0) {
    throw new Reject(`dereference of modified ${regTypeName(reg)} ptr R${regno} off=${reg.off} disallowed`, 'ctx-modified', { errno: EACCES });
  }
  if (!tnumIsConst(reg.varOff) || reg.varOff.value !== 0n) {
    throw new Reject(`variable ${regTypeName(reg)} access var_off=${tnumToString(reg.varOff)} disallowed`, 'ctx-modified', { errno: EACCES });
  }
}

/** check_func_arg_reg_off with ARG_DONTCARE: pointers to memory may carry offsets, other pointers may not. */
function checkArgRegOff(reg: Reg, regno: number): void {
  switch (reg.type) {
    case RegType.SCALAR:
    case RegType.PTR_TO_STACK:
    case RegType.PTR_TO_MAP_KEY:
    case RegType.PTR_TO_MAP_VALUE:
    case RegType.PTR_TO_MEM:
      return;
    case RegType.PTR_TO_BTF_ID:
      checkPtrOff(reg, regno, true);
      return;
    default:
      if (isPacketType(reg.type)) return;
      checkPtrOff(reg, regno, false);
  }
}

/** A failure of btf_check_func_arg_match: its log line and errno (the caller adds "Caller passes invalid args"). */
class ArgMismatch extends Error {
  override readonly name = 'ArgMismatch';
  constructor(
    readonly errno: number,
    readonly lines: readonly string[],
  ) {
    super(lines.join('\n'));
  }
}

/** btf_check_func_arg_match: the caller's R1..R5 against the subprogram's prepared arguments. */
function checkArgMatch(env: Env, args: readonly SubprogArg[]): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const regno = i + 1;
    const reg = env.reg(regno);
    if (!arg) continue;
    switch (arg.kind) {
      case 'anything':
        if (reg.type !== RegType.SCALAR) throw new ArgMismatch(EINVAL, [`R${regno} is not a scalar`]);
        break;
      case 'ctx':
        checkArgRegOff(reg, regno);
        if (reg.type !== RegType.PTR_TO_CTX) throw new ArgMismatch(EINVAL, [`arg#${i} expects pointer to ctx`]);
        break;
      case 'mem':
        checkArgRegOff(reg, regno);
        try {
          checkSubprogMemArg(env, regno, arg.size);
        } catch (e) {
          if (e instanceof Reject) throw new ArgMismatch(EINVAL, [e.line, ...e.more]);
          throw e;
        }
        if (!arg.maybeNull && reg.flags & RegFlag.MAYBE_NULL) throw new ArgMismatch(EINVAL, [`arg#${i} is expected to be non-NULL`]);
        break;
      case 'arena':
        // The simulator has no arena maps: only the scalar half of Linux's "PTR_TO_ARENA or scalar".
        if (reg.type !== RegType.SCALAR) throw new ArgMismatch(EINVAL, [`R${regno} is not a pointer to arena or scalar.`]);
        break;
      case 'dynptr':
        // process_dynptr_func for a read-only dynptr: the kernel's own (CONST_PTR_TO_DYNPTR) is the one this
        // simulator can hand on; a stack dynptr is checked as a helper's dynptr argument would be.
        if (reg.type !== RegType.CONST_PTR_TO_DYNPTR) throw new ArgMismatch(EINVAL, [`Expected an initialized dynptr as arg #${i}`]);
        break;
      case 'btf_id':
        if (isNull(reg) && arg.maybeNull) break;
        // check_reg_type for ARG_PTR_TO_BTF_ID | PTR_TRUSTED: a trusted (or RCU) pointer to the same struct.
        if (reg.type !== RegType.PTR_TO_BTF_ID || (reg.flags & RegFlag.MAYBE_NULL && !arg.maybeNull)) {
          throw new ArgMismatch(EACCES, [`R${regno} type=${regTypeName(reg)} expected=ptr_, trusted_ptr_, rcu_ptr_`]);
        }
        if (!(reg.flags & (RegFlag.TRUSTED | RegFlag.RCU))) throw new ArgMismatch(EACCES, [`R${regno} must be referenced or trusted`]);
        if (reg.btfName !== arg.btfName) {
          throw new ArgMismatch(EACCES, [`R${regno} is of type ${reg.btfName} but ${arg.btfName} is expected`]);
        }
        checkPtrOff(reg, regno, true);
        break;
    }
  }
}

/**
 * btf_check_subprog_call: the subprogram's BTF and the caller's arguments. 0 when they match, else the errno,
 * with Linux's log lines noted; a mismatch marks the subprogram's BTF unreliable.
 */
function checkSubprogCall(env: Env, btf: SubprogBtf, subprog: number): number {
  if (btf.isUnreliable(subprog)) return EINVAL;
  const prepared = btf.prepare(subprog);
  let errno = 0;
  if ('lines' in prepared) {
    for (const line of prepared.lines) env.note(line);
    errno = prepared.errno;
  } else {
    try {
      checkArgMatch(env, prepared.args);
    } catch (e) {
      if (!(e instanceof ArgMismatch)) throw e;
      for (const line of e.lines) env.note(line);
      errno = e.errno;
    }
  }
  if (errno !== 0) btf.markUnreliable(subprog);
  return errno;
}

/**
 * The BTF side of check_func_call for a call to `subprog`: true when the callee is global and the call is done
 * (assumed valid; verified on its own later), false when the caller goes on into the callee's frame.
 */
export function checkGlobalCall(env: Env, subprog: number): boolean {
  const btf = env.subprogBtf;
  if (!btf) return false;
  const errno = checkSubprogCall(env, btf, subprog);
  if (!btf.isGlobal(subprog)) return false;
  const name = btf.name(subprog);
  if (env.state.activeLock) {
    throw new Reject('global function calls are not allowed while holding a lock,', 'lock', { errno: EINVAL, more: ['use static function instead'] });
  }
  if (errno !== 0) throw new Reject(`Caller passes invalid args into func#${subprog} ('${name}')`, 'global-func', { errno });
  env.note(`Func#${subprog} ('${name}') is global and assumed valid.`);
  btf.called[subprog] = true;
  // clear_caller_saved_regs, then every global function returns a 64-bit scalar.
  const regs = env.state.cur.regs;
  for (let r = 1; r <= 5; r++) {
    const reg = regs[r];
    if (reg) markNotInit(reg);
    env.scratchRegs |= 1 << r;
  }
  const r0 = regs[0];
  if (r0) markUnknown(r0);
  env.scratchRegs |= 1;
  // clear_all_pkt_pointers: mark_reg_invalid of every packet pointer of every frame.
  if (btf.changesPktData(env, subprog)) {
    forEachReg(env.state, (r) => {
      if (!isPacketType(r.type) && r.type !== RegType.PTR_TO_PACKET_END) return;
      if (env.privileged) markUnknown(r);
      else markNotInit(r);
    });
  }
  return true;
}

/**
 * The first frame of a global subprogram's own pass (do_check_common): its argument registers set from the BTF
 * signature. Refusals of the signature come back as a Reject with Linux's line.
 */
export function globalEntryFrame(env: Pick<Env, 'newId'>, btf: SubprogBtf, subprog: number): FuncState {
  const prepared = btf.prepare(subprog);
  if ('lines' in prepared) throw new Reject(prepared.lines[0] ?? '', 'global-func', { errno: prepared.errno, more: prepared.lines.slice(1) });
  const frame = FuncState.create(0, -1, subprog);
  prepared.args.forEach((arg, i) => {
    const reg = frame.regs[i + 1];
    if (!reg) return;
    switch (arg.kind) {
      case 'ctx':
        markPointer(reg, RegType.PTR_TO_CTX);
        return;
      case 'anything':
      case 'arena':
        markUnknown(reg);
        return;
      case 'dynptr':
        // An unspecified LOCAL dynptr (__mark_dynptr_reg).
        markPointer(reg, RegType.CONST_PTR_TO_DYNPTR);
        reg.dynptrType = 'local';
        reg.id = env.newId();
        return;
      case 'mem':
        markPointer(reg, RegType.PTR_TO_MEM, arg.maybeNull ? RegFlag.MAYBE_NULL : 0);
        reg.memSize = arg.size;
        if (arg.maybeNull) reg.id = env.newId();
        return;
      case 'btf_id':
        markPointer(reg, RegType.PTR_TO_BTF_ID, RegFlag.TRUSTED | (arg.maybeNull ? RegFlag.MAYBE_NULL : 0));
        reg.btfName = arg.btfName;
        reg.id = env.newId();
        return;
    }
  });
  return frame;
}

/**
 * BPF_EXIT of a global subprogram's own pass (frame 0 of a subprogram other than main): references and locks as
 * for the main program, then check_return_code's subprogram rule: R0 must be a scalar.
 */
export function checkGlobalExit(env: Env): void {
  const r0 = env.reg(0);
  env.scratchRegs |= 1;
  if (r0.type === RegType.NOT_INIT) throw new Reject('R0 !read_ok', 'uninit-reg');
  if (env.state.activeLock) throw new Reject('BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region', 'lock', { errno: EINVAL });
  const leaked = env.state.refs[0];
  if (leaked) {
    throw new Reject(`Unreleased reference id=${leaked.id} alloc_insn=${leaked.insn}`, 'ref-leak', {
      errno: EINVAL,
      more: ['BPF_EXIT instruction in main prog would lead to reference leak'],
    });
  }
  if (r0.type !== RegType.SCALAR && !env.privileged) throw new Reject('R0 leaks addr as return value', 'ptr-leak');
  if (r0.type !== RegType.SCALAR) {
    throw new Reject(`At subprogram exit the register R0 is not a scalar value (${regTypeName(r0)})`, 'return-code', { errno: EINVAL });
  }
}
