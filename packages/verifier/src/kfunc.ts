/**
 * Kfunc calls (BPF_CALL with src_reg BPF_PSEUDO_KFUNC_CALL, imm the kernel BTF id of a FUNC), as Linux's
 * add_kfunc_call (before the walk) and check_kfunc_call / check_kfunc_args (at each call on each path) check
 * them. The kfuncs, their KF_* flags, argument and return types and the program types allowed to call them
 * arrive as data through `VerifierRegistry.kfunc` (the bpf subsystem reads them from its BTF and kfunc sets).
 */
import type { RawInsn } from '@ebpf-sim/isa';
import { checkSrc, type Env } from './env.js';
import { checkSubprogMemArg, forEachReg } from './calls.js';
import { iterArg, iterDestroy, iterNew, iterNext } from './iter.js';
import { LoopPoint } from './iter-state.js';
import type { Reg } from './reg.js';
import { RegFlag, RegType, markNotInit, markPointer, markUnknown, regTypeName } from './reg.js';
import { KF, type KfuncArg, type KfuncLookup, type KfuncProto, type VerifierRegistry } from './registry.js';
import { checkInitDynptr, checkUninitDynptr, markDynptrSlotsOfType, type DynptrArg } from './dynptr.js';
import { checkMemAccess } from './memory.js';
import { Reject } from './reject.js';
import { tnumIsConst } from './tnum.js';

/** BPF_JMP | BPF_CALL. */
const CALL_CODE = 0x85;
/** BPF_PSEUDO_KFUNC_CALL. */
const PSEUDO_KFUNC_CALL = 2;
/** EPROTO: Linux's answer to a module kfunc (offset > 0) without fd_array. */
const EPROTO = 71;

function isKfuncCall(raw: RawInsn): boolean {
  return raw.code === CALL_CODE && raw.src === PSEUDO_KFUNC_CALL;
}

/**
 * add_subprog_and_kfunc / add_kfunc_call, before the walk: every kfunc call (reachable or not) must name a FUNC
 * of the kernel's BTF, from a privileged, GPL-compatible program.
 */
export function checkKfuncCalls(slots: readonly RawInsn[], registry: VerifierRegistry, privileged: boolean, gpl: boolean): void {
  let first = true;
  for (let i = 0; i < slots.length; i++) {
    const raw = slots[i];
    if (!raw || !isKfuncCall(raw)) continue;
    if (i > 0 && slots[i - 1]?.code === 0x18) continue; // the second slot of an LD imm64
    if (!privileged) {
      throw new Reject('loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN', 'helper-type', { errno: 1, insn: i });
    }
    if (first) {
      // The kfunc table is made at the first call: the license is checked there (errno EINVAL).
      if (!gpl) throw new Reject('cannot call kernel function from non-GPL compatible program', 'gpl', { errno: 22, insn: i });
      first = false;
    }
    if (raw.off < 0) throw new Reject('negative offset disallowed for kernel module function call', 'helper-unknown', { errno: 22, insn: i });
    // A module's BTF is named by an fd_array index; no module BTF is modelled, so no fd_array entry is one.
    if (raw.off > 0) throw new Reject('kfunc offset > 0 without fd_array is invalid', 'helper-unknown', { errno: EPROTO, insn: i });
    if (registry.kfunc === undefined) {
      throw new Reject('calling kernel function is not supported without CONFIG_DEBUG_INFO_BTF', 'helper-unknown', { errno: 22, insn: i });
    }
    if (registry.kfunc(raw.imm, raw.off) === undefined) {
      throw new Reject(`kernel btf_id ${raw.imm >>> 0} is not a function`, 'helper-unknown', { errno: 22, insn: i });
    }
  }
}

/** Whether instruction `raw` is a loop head the verifier converges at (an iterator `_next()` call, may_goto). */
export function loopPointOf(raw: RawInsn, registry: VerifierRegistry): number {
  if (raw.code === 0xe5) return LoopPoint.MAY_GOTO;
  if (!isKfuncCall(raw)) return LoopPoint.NONE;
  const proto = registry.kfunc?.(raw.imm, raw.off)?.proto;
  return proto !== undefined && (proto.flags & KF.ITER_NEXT) !== 0 ? LoopPoint.ITER_NEXT : LoopPoint.NONE;
}

interface KfuncMeta {
  /** The reference an argument holds (the one a release kfunc drops, or an iterator's). */
  refObjId: number;
  /** The `__k` / `__szk` argument's value (Linux meta->arg_constant), -1 when none. */
  constValue: number;
  /** The initialised dynptr argument (Linux meta->initialized_dynptr), null when none. */
  dynptr: DynptrArg | null;
  /** The register a release kfunc releases, 0 when none. */
  releaseRegno: number;
  /** An iterator argument of `_next()`: its frame and slot. */
  iterFrame: number;
  iterSpi: number;
}

function isNullScalar(reg: Reg): boolean {
  return reg.type === RegType.SCALAR && tnumIsConst(reg.varOff) && reg.varOff.value === 0n;
}

/** is_trusted_reg: a referenced pointer, or one flagged trusted and not untrusted. */
function isTrustedReg(reg: Reg): boolean {
  if (reg.refObjId !== 0) return true;
  return (reg.flags & (RegFlag.TRUSTED | RegFlag.ALLOC)) !== 0 && (reg.flags & RegFlag.UNTRUSTED) === 0;
}

/** check_kfunc_args for a pointer to a kernel struct (KF_ARG_PTR_TO_BTF_ID). */
function checkBtfIdArg(env: Env, proto: KfuncProto, i: number, arg: KfuncArg & { kind: 'btf_id' }, reg: Reg): void {
  const regno = i + 1;
  if (reg.type !== RegType.PTR_TO_BTF_ID) {
    // get_kfunc_ptr_arg_type: not a BTF pointer, so the pointee must be plain data, which a kernel struct is not.
    throw new Reject(`arg#${i} pointer type STRUCT ${arg.btfName} must point to scalar, or struct with scalar`, 'helper-arg', { errno: 22 });
  }
  if ((proto.flags & (KF.TRUSTED_ARGS | KF.RCU)) !== 0 && !isTrustedReg(reg)) {
    if ((proto.flags & KF.RCU) === 0) throw new Reject(`R${regno} must be referenced or trusted`, 'helper-arg', { errno: 22 });
    if ((reg.flags & RegFlag.RCU) === 0) throw new Reject(`R${regno} must be a rcu pointer`, 'helper-arg', { errno: 22 });
  }
  // process_kf_arg_ptr_to_btf_id: a referenced or trusted argument must be the struct itself (strict match).
  if (reg.btfName !== arg.btfName && !structIdsMatch(env, proto, reg, arg.btfName)) {
    throw new Reject(
      `kernel function ${proto.name} args#${i} expected pointer to STRUCT ${arg.btfName} but R${regno} has a pointer to STRUCT ${reg.btfName}`,
      'helper-arg',
      { errno: 22 },
    );
  }
  // check_func_arg_reg_off: a released or trusted object is passed as it was given.
  if ((reg.off !== 0 || !tnumIsConst(reg.varOff) || reg.varOff.value !== 0n) && ((proto.flags & KF.RELEASE) !== 0 || reg.refObjId !== 0)) {
    throw new Reject(`R${regno} must have zero offset when passed to release func or trusted arg to kfunc`, 'ref-release', { errno: 22 });
  }
}

/** is_kfunc_arg_constant: a `__k` scalar (or a `__szk` size) must be a known constant, which the typing reads. */
function constArg(env: Env, regno: number, reg: Reg, meta: KfuncMeta): void {
  if (!tnumIsConst(reg.varOff)) throw new Reject(`R${regno} must be a known constant`, 'helper-arg', { errno: 22 });
  // The value decides R0's type: it is precise (mark_chain_precision).
  env.precision.mark(env.insnIdx, 1 << regno);
  meta.constValue = Number(BigInt.asUintN(32, reg.varOff.value));
}

/**
 * KF_ARG_PTR_TO_MEM_SIZE (check_kfunc_mem_size_reg): unless an optional buffer is NULL, the buffer must be memory
 * of the size register's bytes, read and written as check_mem_size_reg does.
 */
function checkMemSizeArg(env: Env, i: number, arg: KfuncArg & { kind: 'mem_size' }, reg: Reg, meta: KfuncMeta): void {
  const regno = i + 1;
  const size = checkSrc(env, regno + 1);
  if (!(arg.optional && isNullScalar(reg))) {
    try {
      if (size.type !== RegType.SCALAR) throw new Reject(`R${regno + 1} is not a scalar`, 'helper-arg', { errno: 22 });
      if (size.smin < 0n) throw new Reject(`R${regno + 1} min value is negative, either use unsigned or 'var &= const'`, 'helper-size');
      if (size.umax >= 1n << 29n) throw new Reject(`R${regno + 1} unbounded memory access, use 'var &= const' or 'if (var < const)'`, 'helper-size');
      checkSubprogMemArg(env, regno, Number(size.umax));
    } catch (e) {
      if (!(e instanceof Reject)) throw e;
      throw new Reject(e.line, e.hint, { errno: e.errno, more: [...e.more, `arg#${i} arg#${i + 1} memory, len pair leads to invalid memory access`] });
    }
  }
  if (arg.constSize) constArg(env, regno + 1, size, meta);
}

/** KF_ARG_PTR_TO_DYNPTR (process_dynptr_func): a dynptr the call makes (`__uninit`) or an initialised one. */
function checkDynptrKfuncArg(env: Env, i: number, arg: KfuncArg & { kind: 'dynptr' }, reg: Reg, meta: KfuncMeta): void {
  const regno = i + 1;
  if (reg.type !== RegType.PTR_TO_STACK && reg.type !== RegType.CONST_PTR_TO_DYNPTR) {
    throw new Reject(`arg#${i} expected pointer to stack or const struct bpf_dynptr`, 'helper-arg', { errno: 22 });
  }
  if (!arg.uninit) {
    meta.dynptr = checkInitDynptr(env, regno, i, reg, 'ptr_to_dynptr');
    return;
  }
  checkUninitDynptr(env, reg);
  // process_dynptr_func: the 16 bytes are written as two 8-byte stores first (check_mem_access).
  for (let o = 0; o < 16; o += 8) checkMemAccess(env, regno, o, 8, 'write', -1, null, null);
  markDynptrSlotsOfType(env, reg, arg.dynptrType ?? '');
}

/** KF_ARG_PTR_TO_CTX: the program's own context, unmodified (check_func_arg_reg_off). */
function checkCtxArg(i: number, reg: Reg): void {
  if (reg.type !== RegType.PTR_TO_CTX) {
    throw new Reject(`arg#${i} expected pointer to ctx, but got ${regTypeName(reg)}`, 'helper-arg', { errno: 22 });
  }
  if (reg.off !== 0) throw new Reject(`dereference of modified ctx ptr R${i + 1} off=${reg.off} disallowed`, 'ctx-modified');
}

/**
 * btf_struct_ids_match without strict_type_match (Linux 6.18: strict only for acquiring kfuncs and releasing a
 * referenced pointer): a pointer at offset 0 of a struct whose first member is, nested, the expected struct
 * passes (a `struct tcp_sock *` for `struct sock *`).
 */
function structIdsMatch(env: Env, proto: KfuncProto, reg: Reg, want: string): boolean {
  if ((proto.flags & KF.ACQUIRE) !== 0 || ((proto.flags & KF.RELEASE) !== 0 && reg.refObjId !== 0)) return false;
  if (reg.off !== 0 || !tnumIsConst(reg.varOff) || reg.varOff.value !== 0n) return false;
  const view = env.registry.kernelBtf;
  let name: string | undefined = reg.btfName;
  for (let depth = 0; name !== undefined && depth < 8; depth++) {
    if (name === want) return true;
    name = view?.firstMemberStruct?.(name);
  }
  return false;
}

function checkArgs(env: Env, proto: KfuncProto, meta: KfuncMeta): void {
  for (let i = 0; i < proto.args.length; i++) {
    const arg = proto.args[i];
    if (!arg) continue;
    const regno = i + 1;
    // is_kfunc_arg_ignore: a `__ign` parameter is not even read.
    if (arg.kind === 'ignore') continue;
    const reg = checkSrc(env, regno);
    if (arg.kind === 'scalar' || arg.kind === 'const') {
      if (reg.type !== RegType.SCALAR) throw new Reject(`R${regno} is not a scalar`, 'helper-arg', { errno: 22 });
      if (arg.kind === 'const') constArg(env, regno, reg, meta);
      continue;
    }
    if (arg.kind === 'ctx') {
      checkCtxArg(i, reg);
      continue;
    }
    if (arg.kind === 'dynptr') {
      checkDynptrKfuncArg(env, i, arg, reg, meta);
      continue;
    }
    if (arg.kind === 'mem_size') {
      checkMemSizeArg(env, i, arg, reg, meta);
      // The size parameter after the buffer is consumed with it.
      i++;
      continue;
    }
    const nullable = arg.kind === 'btf_id' && arg.nullable === true;
    if ((isNullScalar(reg) || (reg.flags & RegFlag.MAYBE_NULL) !== 0) && !nullable) {
      throw new Reject(`Possibly NULL pointer passed to trusted arg${i}`, 'null-deref');
    }
    if (reg.refObjId !== 0) {
      meta.refObjId = reg.refObjId;
      if ((proto.flags & KF.RELEASE) !== 0) meta.releaseRegno = regno;
    }
    if (arg.kind === 'btf_id') {
      if (nullable && isNullScalar(reg)) continue;
      checkBtfIdArg(env, proto, i, arg, reg);
      continue;
    }
    // KF_ARG_PTR_TO_ITER (process_iter_arg).
    if ((proto.flags & KF.ITER_NEW) !== 0) {
      iterNew(env, regno, arg.iter);
      continue;
    }
    const it = iterArg(env, regno, arg.iter);
    meta.refObjId = it.st.refObjId;
    if ((proto.flags & KF.ITER_DESTROY) !== 0) {
      releaseRef(env, it.st.refObjId);
      iterDestroy(env, it.frame, it.spi);
    } else {
      meta.iterFrame = it.frame.frameno;
      meta.iterSpi = it.spi;
    }
  }
}

/** release_reference: the reference goes, and every register holding it (or memory derived from it) is invalid. */
function releaseRef(env: Env, ref: number): boolean {
  const idx = env.state.refs.findIndex((r) => r.id === ref);
  if (idx < 0) return false;
  env.state.refs.splice(idx, 1);
  forEachReg(env.state, (r) => {
    if (r.refObjId === ref && r.type !== RegType.PTR_TO_STACK) {
      if (env.privileged) markUnknown(r);
      else markNotInit(r);
    }
  });
  return true;
}

/** check_kfunc_call: a call of the kfunc `insn.imm` on the current path. */
export function checkKfuncCall(env: Env, insn: RawInsn): void {
  const look = env.registry.kfunc?.(insn.imm, insn.off);
  if (look === undefined) throw new Reject(`kernel btf_id ${insn.imm >>> 0} is not a function`, 'helper-unknown', { errno: 22 });
  const proto = look.proto;
  // fetch_kfunc_meta: the program type's kfunc sets (btf_kfunc_id_set_contains) must hold it.
  if (proto === undefined || !look.allowed) throw new Reject(`calling kernel function ${look.name} is not allowed`, 'helper-type');
  if (env.state.activeLock) throw new Reject('function calls are not allowed while holding a lock', 'lock', { errno: 22 });
  // KF_SLEEPABLE kfuncs, as sleepable helpers, only from sleepable programs.
  const sleepable = (proto.flags & KF.SLEEPABLE) !== 0;
  if (sleepable && !env.sleepable) throw new Reject(`program must be sleepable to call sleepable kfunc ${look.name}`, 'helper-type');
  const meta: KfuncMeta = { refObjId: 0, constValue: -1, dynptr: null, releaseRegno: 0, iterFrame: -1, iterSpi: -1 };
  checkArgs(env, proto, meta);
  if ((proto.flags & KF.RELEASE) !== 0) {
    if (meta.releaseRegno === 0) throw new Reject(`release kernel function ${proto.name} expects refcounted PTR_TO_BTF_ID`, 'ref-release', { errno: 22 });
    if (!releaseRef(env, env.reg(meta.releaseRegno).refObjId)) {
      throw new Reject(`kfunc ${proto.name}#${insn.imm} reference has not been acquired before`, 'ref-release', { errno: 22 });
    }
  }
  if (proto.rcu === 'lock') {
    if (env.state.activeRcu) throw new Reject(`nested rcu read lock (kernel function ${proto.name})`, 'lock', { errno: 22 });
    env.state.activeRcu = true;
  } else if (proto.rcu === 'unlock') {
    if (!env.state.activeRcu) throw new Reject(`unmatched rcu read unlock (kernel function ${proto.name})`, 'lock', { errno: 22 });
    env.state.activeRcu = false;
    // Pointers that were safe only inside the section are no longer trusted (Linux: MEM_RCU becomes PTR_UNTRUSTED).
    forEachReg(env.state, (r) => {
      if ((r.flags & RegFlag.RCU) !== 0) r.flags = (r.flags & ~(RegFlag.RCU | RegFlag.MAYBE_NULL)) | RegFlag.UNTRUSTED;
    });
  } else if (sleepable && env.state.activeRcu) {
    throw new Reject(`kernel func ${look.name} is sleepable within rcu_read_lock region`, 'lock');
  }
  // Caller-saved registers are clobbered.
  for (let r = 0; r <= 5; r++) {
    markNotInit(env.reg(r));
    env.scratchRegs |= 1 << r;
  }
  const r0 = env.reg(0);
  const ret = proto.ret;
  switch (ret.kind) {
    case 'void':
      break;
    case 'scalar':
      markUnknown(r0);
      break;
    case 'btf_id':
      markPointer(r0, RegType.PTR_TO_BTF_ID);
      r0.btfName = ret.btfName;
      break;
    case 'mem':
      markPointer(r0, RegType.PTR_TO_MEM, RegFlag.RDONLY);
      r0.memSize = ret.size;
      // Memory handed out from a referenced object dies with it (an iterator's element with its iterator).
      r0.refObjId = meta.refObjId;
      break;
    case 'kern_ctx':
      // get_kern_ctx_btf_id: a trusted pointer to the kernel's own context struct (sk_buff for __sk_buff).
      if (look.kernCtx === undefined) throw new Reject(`kernel context of program type ${env.progType.name} is not modelled`, 'unsupported', { errno: 22 });
      markPointer(r0, RegType.PTR_TO_BTF_ID, RegFlag.TRUSTED);
      r0.btfName = look.kernCtx;
      break;
    case 'rdonly_cast':
      rdonlyCastRet(env, look, meta.constValue, r0);
      break;
    case 'dynptr_slice':
      dynptrSliceRet(env, ret.rdwr, meta, r0);
      break;
  }
  if (ret.kind === 'btf_id' || ret.kind === 'mem' || ret.kind === 'dynptr_slice') {
    if ((proto.flags & KF.RET_NULL) !== 0) {
      r0.flags |= RegFlag.MAYBE_NULL;
      r0.id = env.newId();
    }
    if ((proto.flags & KF.ACQUIRE) !== 0) {
      const ref = env.newId();
      env.state.refs.push({ id: ref, insn: env.insnIdx });
      if ((proto.flags & KF.RET_NULL) !== 0) r0.id = ref;
      r0.refObjId = ref;
    }
  }
  if ((proto.flags & KF.ITER_NEXT) !== 0 && meta.iterSpi >= 0) {
    iterNext(env, meta.iterFrame, meta.iterSpi, (queuedR0) => {
      queuedR0.flags &= ~RegFlag.MAYBE_NULL;
    });
  }
}

/**
 * check_kfunc_call for bpf_rdonly_cast: the `__k` argument names a kernel BTF type; a struct gives an untrusted
 * pointer to it (PTR_TO_BTF_ID | PTR_UNTRUSTED: its loads are probe loads), void (id 0) read-only memory of size 0
 * (PTR_TO_MEM | MEM_RDONLY | PTR_UNTRUSTED).
 */
function rdonlyCastRet(env: Env, look: KfuncLookup, id: number, r0: Reg): void {
  const t = look.typeOf?.(id);
  if (t === undefined) throw new Reject('kfunc bpf_rdonly_cast type ID argument must be of a struct or void', 'helper-arg', { errno: 22 });
  if (t.kind === 'void') {
    markPointer(r0, RegType.PTR_TO_MEM, RegFlag.RDONLY | RegFlag.UNTRUSTED);
    r0.memSize = 0;
    return;
  }
  markPointer(r0, RegType.PTR_TO_BTF_ID, RegFlag.UNTRUSTED);
  r0.btfName = t.name;
}

/**
 * check_kfunc_call for bpf_dynptr_slice(_rdwr): memory of the constant buffer size (`__szk`), tied to the dynptr
 * (dynptr_id: it dies with it) and not counted (slices hold no reference). The rdwr slice needs a program type
 * that may write packet data (may_access_direct_pkt_data), whatever the dynptr's type, as Linux does.
 */
function dynptrSliceRet(env: Env, rdwr: boolean, meta: KfuncMeta, r0: Reg): void {
  if (rdwr && env.progType.directPacketWrite !== true) throw new Reject('the prog does not allow writes to packet data', 'helper-type', { errno: 22 });
  markPointer(r0, RegType.PTR_TO_MEM, rdwr ? 0 : RegFlag.RDONLY);
  r0.memSize = meta.constValue < 0 ? 0 : meta.constValue;
  r0.dynptrId = meta.dynptr?.id ?? 0;
  // Linux keeps the dynptr's type in R0's type flags (get_dynptr_type_flag): packet slices die with packet changes.
  r0.dynptrType = meta.dynptr?.type ?? '';
}
